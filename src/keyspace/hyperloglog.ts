/**
 * HyperLogLog with Redis 7.0's exact representation (hyperloglog.c), so that an HLL value is
 * the same string as redis-server's, byte for byte: GET, DUMP, RDB and DEBUG DIGEST agree.
 *
 * Layout: a 16-byte header — "HYLL", encoding (0 dense, 1 sparse), 3 zero bytes, the cached
 * cardinality as a little-endian uint64 whose top bit set means "stale" — then the registers:
 * - dense: 16384 registers of 6 bits packed from the least significant bit of each byte
 *   (12,288 bytes; the value is always HLL_DENSE_BYTES long);
 * - sparse: run-length opcodes, ZERO `00xxxxxx` (1..64 zero registers), XZERO `01xxxxxx
 *   yyyyyyyy` (1..16384 zero registers), VAL `1vvvvvxx` (1..4 registers of value 1..32).
 * A sparse value is promoted to dense when a register needs a value above 32 or when an
 * insertion would make it longer than `hll-sparse-max-bytes`.
 *
 * Elements are hashed with MurmurHash64A (seed 0xadc83b19): the low 14 bits pick a register,
 * the run of zero bits above them (plus one) is the value offered to it. The estimate is
 * Otmar Ertl's improved estimator (hllTau/hllSigma), computed with the same double
 * operations in the same order as Redis so that the cached value is the same.
 *
 * Corrupt sparse values: an opcode whose run passes register 16383, or opcodes covering fewer
 * than 16384 registers, make a value invalid when it is counted, merged or promoted. This is
 * redis-server 7.0.15 as shipped today (Debian's 7.0.15-1~deb12u10 carries the
 * CVE-2025-32023 fix, which checks every opcode; 7.0.15's source checked VAL runs only).
 * Out-of-range reads return 0, as Redis reads the sds terminator past the last byte.
 */

export const HLL_P = 14;
export const HLL_Q = 64 - HLL_P;
export const HLL_REGISTERS = 1 << HLL_P;
const HLL_P_MASK = HLL_REGISTERS - 1;
const HLL_BITS = 6;
const HLL_REGISTER_MAX = (1 << HLL_BITS) - 1;
export const HLL_HDR_BYTES = 16;
/** A dense HLL's exact length: header plus 16384 six-bit registers. */
export const HLL_DENSE_BYTES = HLL_HDR_BYTES + Math.floor((HLL_REGISTERS * HLL_BITS + 7) / 8);
export const HLL_DENSE = 0;
export const HLL_SPARSE = 1;
const HLL_MAX_ENCODING = 1;
const SPARSE_VAL_MAX_VALUE = 32;
const SPARSE_VAL_MAX_LEN = 4;
const SPARSE_ZERO_MAX_LEN = 64;
const SPARSE_XZERO_MAX_LEN = 16384;
/** 0.5 / ln(2), Redis's HLL_ALPHA_INF. */
const HLL_ALPHA_INF = 0.72134752044448170368;
const HASH_SEED = 0xadc83b19;

/**
 * The longest prefix of a value that counting, merging or promoting can read: every opcode
 * covers at least one register, so the walk meets an overflow by the 16,385th opcode, and
 * an opcode is at most 2 bytes. A longer value is corrupt; its tail is never looked at.
 */
export const HLL_READ_BYTES_MAX = HLL_HDR_BYTES + 2 * HLL_REGISTERS + 2;

/** Redis's default `hll-sparse-max-bytes`. */
export const HLL_SPARSE_MAX_BYTES_DEFAULT = 3000;

// --- MurmurHash64A on 32-bit halves -------------------------------------------------------

const M_HI = 0xc6a4a793;
const M_LO = 0x5bd1e995;

// The running 64-bit values as two uint32 halves, kept in module state to avoid allocation.
let hHi = 0;
let hLo = 0;
let kHi = 0;
let kLo = 0;
let pHi = 0;
let pLo = 0;

/** (aHi:aLo) × (M_HI:M_LO) mod 2^64 into pHi:pLo. */
function mulM(aHi: number, aLo: number): void {
  const a0 = aLo & 0xffff;
  const a1 = aLo >>> 16;
  const b0 = M_LO & 0xffff;
  const b1 = M_LO >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  pLo = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  const carry = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
  pHi = (carry + Math.imul(aHi, M_LO) + Math.imul(aLo, M_HI)) >>> 0;
}

function murmurCore(data: Uint8Array, seed: number): void {
  const len = data.length;
  // h = seed ^ (len * m): len < 2^32, so split len × m as a 64-bit product.
  mulM(0, len);
  hHi = pHi;
  hLo = (pLo ^ seed) >>> 0;
  const blocks = len - (len & 7);
  let i = 0;
  for (; i < blocks; i += 8) {
    kLo = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0;
    kHi = (data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24)) >>> 0;
    mulM(kHi, kLo);
    kHi = pHi;
    kLo = (pLo ^ (pHi >>> 15)) >>> 0; // k ^= k >> 47
    mulM(kHi, kLo);
    hHi = (hHi ^ pHi) >>> 0;
    hLo = (hLo ^ pLo) >>> 0;
    mulM(hHi, hLo);
    hHi = pHi;
    hLo = pLo;
  }
  const rest = len & 7;
  if (rest > 0) {
    for (let j = rest - 1; j >= 0; j--) {
      const b = data[i + j]!;
      if (j >= 4) hHi = (hHi ^ (b << ((j - 4) * 8))) >>> 0;
      else hLo = (hLo ^ (b << (j * 8))) >>> 0;
    }
    mulM(hHi, hLo);
    hHi = pHi;
    hLo = pLo;
  }
  hLo = (hLo ^ (hHi >>> 15)) >>> 0;
  mulM(hHi, hLo);
  hHi = pHi;
  hLo = (pLo ^ (pHi >>> 15)) >>> 0;
}

/** Redis's MurmurHash64A (endian-neutral), as a BigInt (for tests and tools). */
export function murmurHash64A(data: Uint8Array, seed: number): bigint {
  murmurCore(data, seed >>> 0);
  return (BigInt(hHi) << 32n) | BigInt(hLo);
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/**
 * hllPatLen: the register an element hashes to and the length of its "000…1" pattern
 * (1..Q+1), packed as index * 64 + count.
 */
export function patLen(ele: Uint8Array): number {
  murmurCore(ele, HASH_SEED);
  const index = hLo & HLL_P_MASK;
  // hash >> 14 with bit Q forced, so the count stays <= Q + 1.
  const lo = ((hLo >>> HLL_P) | (hHi << (32 - HLL_P))) >>> 0;
  const hi = (hHi >>> HLL_P) | (1 << (HLL_Q - 32));
  const count = lo !== 0 ? ctz32(lo) + 1 : 32 + ctz32(hi) + 1;
  return index * 64 + count;
}

// --- the value ------------------------------------------------------------------------------

/**
 * An HLL string being read or changed: `b` holds `len` bytes (and spare capacity, always zero
 * past `len` so that reads past the end see Redis's terminator).
 */
export class HllValue {
  b: Uint8Array;
  len: number;

  constructor(bytes: Uint8Array, spare = 0) {
    this.b = new Uint8Array(bytes.length + spare + 8);
    this.b.set(bytes);
    this.len = bytes.length;
  }

  /** A new empty HLL: sparse, one XZERO covering every register, cache 0 (createHLLObject). */
  static empty(): HllValue {
    const v = new HllValue(new Uint8Array(HLL_HDR_BYTES + 2), 64);
    v.b.set([0x48, 0x59, 0x4c, 0x4c], 0); // "HYLL"
    v.b[4] = HLL_SPARSE;
    xzeroSet(v.b, HLL_HDR_BYTES, HLL_REGISTERS);
    return v;
  }

  bytes(): Uint8Array {
    return this.b.slice(0, this.len);
  }

  get encoding(): number {
    return this.b[4]!;
  }

  at(i: number): number {
    return i < this.len ? this.b[i]! : 0;
  }

  /** Make room for `extra` bytes past len. */
  reserve(extra: number): void {
    if (this.len + extra + 8 <= this.b.length) return;
    const nb = new Uint8Array(Math.max(this.b.length * 2, this.len + extra + 8));
    nb.set(this.b.subarray(0, this.len));
    this.b = nb;
  }

  /** Change the length by `delta` (bytes past the end are zeroed). */
  incrLen(delta: number): void {
    if (delta < 0) this.b.fill(0, this.len + delta, this.len);
    this.len += delta;
  }

  validCache(): boolean {
    return (this.b[15]! & 0x80) === 0;
  }

  invalidateCache(): void {
    this.b[15]! |= 0x80;
  }

  /** The cached cardinality (meaningful when validCache()). */
  cachedCard(): bigint {
    let v = 0n;
    for (let i = 15; i >= 8; i--) v = (v << 8n) | BigInt(this.b[i]!);
    return v;
  }

  setCachedCard(card: number): void {
    let v = BigInt(card);
    for (let i = 8; i < 16; i++) {
      this.b[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
}

/**
 * isHLLObjectOrReply's checks on a string value: at least a header, the magic, a known
 * encoding, and a dense value of exactly HLL_DENSE_BYTES. `value` may be a prefix (at least
 * the header) of a value `length` bytes long.
 */
export function isHll(value: Uint8Array, length = value.length): boolean {
  if (length < HLL_HDR_BYTES) return false;
  if (value[0] !== 0x48 || value[1] !== 0x59 || value[2] !== 0x4c || value[3] !== 0x4c) return false;
  const enc = value[4]!;
  if (enc > HLL_MAX_ENCODING) return false;
  if (enc === HLL_DENSE && length !== HLL_DENSE_BYTES) return false;
  return true;
}

// --- dense registers ------------------------------------------------------------------------

function denseGet(b: Uint8Array, base: number, regnum: number): number {
  const byte = base + ((regnum * HLL_BITS) >>> 3);
  const fb = (regnum * HLL_BITS) & 7;
  const b0 = b[byte]!;
  const b1 = b[byte + 1] ?? 0;
  return ((b0 >>> fb) | (b1 << (8 - fb))) & HLL_REGISTER_MAX;
}

function denseSet(b: Uint8Array, base: number, regnum: number, val: number): void {
  const byte = base + ((regnum * HLL_BITS) >>> 3);
  const fb = (regnum * HLL_BITS) & 7;
  const fb8 = 8 - fb;
  b[byte] = (b[byte]! & ~(HLL_REGISTER_MAX << fb)) | (val << fb);
  // The last register's second byte is Redis's terminator: nothing of it changes.
  if (byte + 1 < b.length) b[byte + 1] = (b[byte + 1]! & ~(HLL_REGISTER_MAX >>> fb8)) | (val >>> fb8);
}

/** hllDenseSet: raise register `index` to `count`; 1 when it changed. */
function denseRaise(v: HllValue, index: number, count: number): 0 | 1 {
  if (count > denseGet(v.b, HLL_HDR_BYTES, index)) {
    denseSet(v.b, HLL_HDR_BYTES, index, count);
    return 1;
  }
  return 0;
}

// --- sparse opcodes -------------------------------------------------------------------------

const isZero = (op: number): boolean => (op & 0xc0) === 0;
const isXzero = (op: number): boolean => (op & 0xc0) === 0x40;
const isVal = (op: number): boolean => (op & 0x80) !== 0;
const zeroLen = (op: number): number => (op & 0x3f) + 1;
const xzeroLen = (op: number, next: number): number => (((op & 0x3f) << 8) | next) + 1;
const valValue = (op: number): number => ((op >>> 2) & 0x1f) + 1;
const valLen = (op: number): number => (op & 0x3) + 1;
const valOp = (val: number, len: number): number => (((val - 1) << 2) | (len - 1) | 0x80) & 0xff;

/** Registers covered by the opcode at `p`. */
function opSpan(v: HllValue, p: number): number {
  const op = v.b[p]!;
  return isZero(op) ? zeroLen(op) : isXzero(op) ? xzeroLen(op, v.at(p + 1)) : valLen(op);
}

function xzeroSet(b: Uint8Array, at: number, len: number): void {
  const l = len - 1;
  b[at] = (l >>> 8) | 0x40;
  b[at + 1] = l & 0xff;
}

/** hllSparseToDense: false (and `v` unchanged) when the opcodes do not cover exactly 16384 registers. */
export function sparseToDense(v: HllValue): boolean {
  if (v.encoding === HLL_DENSE) return true;
  const dense = new Uint8Array(HLL_DENSE_BYTES + 8);
  dense.set(v.b.subarray(0, HLL_HDR_BYTES));
  dense[4] = HLL_DENSE;
  let idx = 0;
  let p = HLL_HDR_BYTES;
  const end = v.len;
  const regs = dense.subarray(0, HLL_DENSE_BYTES);
  while (p < end) {
    const op = v.b[p]!;
    let runlen = opSpan(v, p);
    if (runlen + idx > HLL_REGISTERS) return false; // overflow
    if (isVal(op)) {
      const regval = valValue(op);
      while (runlen--) denseSet(regs, HLL_HDR_BYTES, idx++, regval);
    } else idx += runlen;
    p += isXzero(op) ? 2 : 1;
  }
  if (idx !== HLL_REGISTERS) return false;
  v.b = dense;
  v.len = HLL_DENSE_BYTES;
  return true;
}

/**
 * hllSparseSet: raise register `index` to `count` in a sparse value, in place. Returns 1 when
 * it changed (possibly after promoting to dense), 0 when not, -1 when the value is corrupt.
 */
function sparseRaise(v: HllValue, index: number, count: number, sparseMaxBytes: number): -1 | 0 | 1 {
  if (count > SPARSE_VAL_MAX_VALUE) return promote(v, index, count);
  v.reserve(3);
  const b = v.b;
  const sparse = HLL_HDR_BYTES;
  let p = sparse;
  let end = v.len;
  let first = 0;
  let prev = -1;
  let span = 0;
  // Step 1: find the opcode covering `index`.
  while (p < end) {
    const op = b[p]!;
    let oplen = 1;
    if (isZero(op)) span = zeroLen(op);
    else if (isVal(op)) span = valLen(op);
    else {
      span = xzeroLen(op, v.at(p + 1));
      oplen = 2;
    }
    if (index <= first + span - 1) break;
    prev = p;
    p += oplen;
    first += span;
  }
  if (span === 0 || p >= end) return -1;
  const op = b[p]!;
  let next = isXzero(op) ? p + 2 : p + 1;
  if (next >= end) next = -1;
  const opIsZero = isZero(op);
  const opIsXzero = isXzero(op);
  const runlen = opIsZero ? zeroLen(op) : opIsXzero ? xzeroLen(op, v.at(p + 1)) : valLen(op);

  let updated = false;
  if (!opIsZero && !opIsXzero) {
    if (valValue(op) >= count) return 0; // case A
    if (runlen === 1) {
      b[p] = valOp(count, 1); // case B
      updated = true;
    }
  }
  if (!updated && opIsZero && runlen === 1) {
    b[p] = valOp(count, 1); // case C
    updated = true;
  }
  if (!updated) {
    // Case D: split the opcode into up to three (at most 5 bytes).
    const seq: number[] = [];
    const last = first + span - 1;
    const zeros = (len: number): void => {
      if (len > SPARSE_ZERO_MAX_LEN) {
        const l = len - 1;
        seq.push((l >>> 8) | 0x40, l & 0xff);
      } else seq.push(len - 1);
    };
    if (opIsZero || opIsXzero) {
      if (index !== first) zeros(index - first);
      seq.push(valOp(count, 1));
      if (index !== last) zeros(last - index);
    } else {
      const curval = valValue(op);
      if (index !== first) seq.push(valOp(curval, index - first));
      seq.push(valOp(count, 1));
      if (index !== last) seq.push(valOp(curval, last - index));
    }
    // Step 3: put the sequence in place of the opcode.
    const oldlen = opIsXzero ? 2 : 1;
    const deltalen = seq.length - oldlen;
    if (deltalen > 0 && v.len + deltalen > sparseMaxBytes) return promote(v, index, count);
    if (deltalen !== 0 && next !== -1) b.copyWithin(next + deltalen, next, end);
    v.incrLen(deltalen);
    for (let i = 0; i < seq.length; i++) b[p + i] = seq[i]!;
    end += deltalen;
  }
  // Step 4: merge adjacent VAL opcodes of equal value, scanning up to 5 opcodes from prev.
  p = prev !== -1 ? prev : sparse;
  let scanlen = 5;
  while (p < end && scanlen--) {
    const o = b[p]!;
    if (isXzero(o)) {
      p += 2;
      continue;
    } else if (isZero(o)) {
      p++;
      continue;
    }
    if (p + 1 < end && isVal(b[p + 1]!)) {
      const v1 = valValue(o);
      const v2 = valValue(b[p + 1]!);
      if (v1 === v2) {
        const len = valLen(o) + valLen(b[p + 1]!);
        if (len <= SPARSE_VAL_MAX_LEN) {
          b[p + 1] = valOp(v1, len);
          b.copyWithin(p, p + 1, end);
          v.incrLen(-1);
          end--;
          continue;
        }
      }
    }
    p++;
  }
  v.invalidateCache();
  return 1;
}

function promote(v: HllValue, index: number, count: number): -1 | 1 {
  if (!sparseToDense(v)) return -1;
  const r = denseRaise(v, index, count);
  if (r !== 1) throw new Error("HLL promotion without a register change");
  return 1;
}

/** hllAdd: 1 when a register changed, 0 when not, -1 when the value is corrupt. */
export function hllAdd(v: HllValue, ele: Uint8Array, sparseMaxBytes: number): -1 | 0 | 1 {
  const pl = patLen(ele);
  const index = Math.floor(pl / 64);
  const count = pl % 64;
  switch (v.encoding) {
    case HLL_DENSE:
      return denseRaise(v, index, count);
    case HLL_SPARSE:
      return sparseRaise(v, index, count, sparseMaxBytes);
    default:
      return -1;
  }
}

// --- counting -------------------------------------------------------------------------------

function hllSigma(x: number): number {
  if (x === 1) return Infinity;
  let zPrime: number;
  let y = 1;
  let z = x;
  do {
    x *= x;
    zPrime = z;
    z += x * y;
    y += y;
  } while (zPrime !== z);
  return z;
}

function hllTau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let zPrime: number;
  let y = 1.0;
  let z = 1 - x;
  do {
    x = Math.sqrt(x);
    zPrime = z;
    y *= 0.5;
    const d = 1 - x;
    z -= d * d * y; // pow(1 - x, 2) is exact-rounded: the same double as d * d
  } while (zPrime !== z);
  return z / 3;
}

/** The estimate from a register histogram (hllCount after the histogram). */
function estimate(reghisto: Int32Array | Float64Array): number {
  const m = HLL_REGISTERS;
  let z = m * hllTau((m - reghisto[HLL_Q + 1]!) / m);
  for (let j = HLL_Q; j >= 1; --j) {
    z += reghisto[j]!;
    z *= 0.5;
  }
  z += m * hllSigma(reghisto[0]! / m);
  // llroundl: halves away from zero; the operand is positive (or +inf/NaN for m/0).
  return Math.round((HLL_ALPHA_INF * m * m) / z);
}

/**
 * hllCount on a value: the estimate, or null when a sparse value does not cover exactly
 * 16384 registers (Redis's `invalid`).
 */
export function hllCount(v: HllValue): number | null {
  const reghisto = new Int32Array(64);
  if (v.encoding === HLL_DENSE) {
    for (let j = 0; j < HLL_REGISTERS; j++) reghisto[denseGet(v.b, HLL_HDR_BYTES, j)]!++;
  } else {
    let idx = 0;
    let p = HLL_HDR_BYTES;
    const end = v.len;
    while (p < end) {
      const op = v.b[p]!;
      const r = opSpan(v, p);
      if (r + idx > HLL_REGISTERS) return null; // overflow
      idx += r;
      reghisto[isVal(op) ? valValue(op) : 0]! += r;
      p += isXzero(op) ? 2 : 1;
    }
    if (idx !== HLL_REGISTERS) return null;
  }
  return estimate(reghisto);
}

/** The estimate of raw registers (one byte each): PFCOUNT of several keys. */
export function hllCountRegisters(max: Uint8Array): number {
  const reghisto = new Int32Array(64);
  for (let j = 0; j < HLL_REGISTERS; j++) reghisto[max[j]!]!++;
  return estimate(reghisto);
}

/**
 * hllMerge: max[i] = MAX(max[i], register i of `v`). False when a sparse value is corrupt
 * (`max` may then be partly updated, as in Redis; callers drop it).
 */
export function hllMerge(max: Uint8Array, v: HllValue): boolean {
  if (v.encoding === HLL_DENSE) {
    for (let i = 0; i < HLL_REGISTERS; i++) {
      const val = denseGet(v.b, HLL_HDR_BYTES, i);
      if (val > max[i]!) max[i] = val;
    }
    return true;
  }
  let i = 0;
  let p = HLL_HDR_BYTES;
  const end = v.len;
  while (p < end) {
    const op = v.b[p]!;
    let runlen = opSpan(v, p);
    if (runlen + i > HLL_REGISTERS) return false; // overflow
    if (isVal(op)) {
      const regval = valValue(op);
      while (runlen--) {
        if (regval > max[i]!) max[i] = regval;
        i++;
      }
    } else i += runlen;
    p += isXzero(op) ? 2 : 1;
  }
  return i === HLL_REGISTERS;
}

/**
 * PFMERGE's write of the merged registers into the destination `v` (already validated):
 * dense when `useDense`, then every non-zero register raised in order. False when the
 * destination is corrupt.
 */
export function hllStoreRegisters(v: HllValue, max: Uint8Array, useDense: boolean, sparseMaxBytes: number): boolean {
  if (useDense && !sparseToDense(v)) return false;
  for (let j = 0; j < HLL_REGISTERS; j++) {
    if (max[j] === 0) continue;
    if (v.encoding === HLL_DENSE) denseRaise(v, j, max[j]!);
    else sparseRaise(v, j, max[j]!, sparseMaxBytes);
  }
  v.invalidateCache();
  return true;
}
