/**
 * CRC-64/Jones as Redis computes it (`src/crc64.c`): reflected, polynomial
 * 0xad93d23594c935a9, init 0, no final xor. `crc64("123456789") = 0xe9c6d914c4b8d9ca`.
 *
 * The idea: slice-by-8. Eight 256-entry tables let us fold eight input bytes per step.
 * JavaScript has no fast 64-bit integer, so every 64-bit value is kept as two uint32
 * halves (hi, lo) and each table as a pair of Uint32Arrays; BigInt appears only in
 * `digest()`.
 */

/** The reflected polynomial, split in halves: 0x95ac9329_ac4bc9b5. */
const POLY_HI = 0x95ac9329;
const POLY_LO = 0xac4bc9b5;

/** Tables T0…T7, table k at [k*256, k*256+256). T0 is the classic byte table. */
const TLO = new Uint32Array(8 * 256);
const THI = new Uint32Array(8 * 256);

(function buildTables(): void {
  for (let i = 0; i < 256; i++) {
    let lo = i;
    let hi = 0;
    for (let b = 0; b < 8; b++) {
      const carry = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi = hi >>> 1;
      if (carry) {
        lo = (lo ^ POLY_LO) >>> 0;
        hi = (hi ^ POLY_HI) >>> 0;
      }
    }
    TLO[i] = lo;
    THI[i] = hi;
  }
  // T(k)[i] = T(k-1)[i] >> 8 ^ T0[T(k-1)[i] & 0xff]: the CRC of byte i followed by k zeros.
  for (let k = 1; k < 8; k++) {
    for (let i = 0; i < 256; i++) {
      const plo = TLO[(k - 1) * 256 + i]!;
      const phi = THI[(k - 1) * 256 + i]!;
      const idx = plo & 0xff;
      TLO[k * 256 + i] = (((plo >>> 8) | (phi << 24)) ^ TLO[idx]!) >>> 0;
      THI[k * 256 + i] = ((phi >>> 8) ^ THI[idx]!) >>> 0;
    }
  }
})();

/** An incremental CRC64 (Jones, as Redis). */
export class Crc64 {
  private lo: number;
  private hi: number;

  /** Starts from `initial` (Redis starts from 0). */
  constructor(initial = 0n) {
    this.lo = Number(initial & 0xffffffffn);
    this.hi = Number((initial >> 32n) & 0xffffffffn);
  }

  /** Feeds bytes; returns `this` so calls can be chained. */
  update(data: Uint8Array): this {
    let lo = this.lo;
    let hi = this.hi;
    const n = data.length;
    let i = 0;
    const end8 = n - (n % 8);
    for (; i < end8; i += 8) {
      const xl = lo ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
      const xh =
        hi ^ (data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24));
      const a = 7 * 256 + (xl & 0xff);
      const b = 6 * 256 + ((xl >>> 8) & 0xff);
      const c = 5 * 256 + ((xl >>> 16) & 0xff);
      const d = 4 * 256 + (xl >>> 24);
      const e = 3 * 256 + (xh & 0xff);
      const f = 2 * 256 + ((xh >>> 8) & 0xff);
      const g = 256 + ((xh >>> 16) & 0xff);
      const h = xh >>> 24;
      lo = TLO[a]! ^ TLO[b]! ^ TLO[c]! ^ TLO[d]! ^ TLO[e]! ^ TLO[f]! ^ TLO[g]! ^ TLO[h]!;
      hi = THI[a]! ^ THI[b]! ^ THI[c]! ^ THI[d]! ^ THI[e]! ^ THI[f]! ^ THI[g]! ^ THI[h]!;
    }
    for (; i < n; i++) {
      const idx = (lo ^ data[i]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ TLO[idx]!;
      hi = (hi >>> 8) ^ THI[idx]!;
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    return this;
  }

  /** The CRC so far as an unsigned 64-bit bigint. */
  digest(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** The CRC so far as 16 lowercase hex digits. */
  hex(): string {
    return this.hi.toString(16).padStart(8, "0") + this.lo.toString(16).padStart(8, "0");
  }

  /** The CRC so far as 8 bytes little-endian, as the RDB trailer stores it. */
  bytesLE(): Uint8Array {
    const out = new Uint8Array(8);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, this.lo, true);
    dv.setUint32(4, this.hi, true);
    return out;
  }

  /** True when `trailer` (8 bytes LE) equals the CRC so far. */
  matchesLE(trailer: Uint8Array): boolean {
    const dv = new DataView(trailer.buffer, trailer.byteOffset, 8);
    return dv.getUint32(0, true) === this.lo && dv.getUint32(4, true) === this.hi;
  }
}

/** One-shot helper: the CRC64 of `data`, continuing from `crc` (0n to start). */
export function crc64(crc: bigint, data: Uint8Array): bigint {
  return new Crc64(crc).update(data).digest();
}
