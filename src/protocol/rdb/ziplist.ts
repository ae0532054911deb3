/**
 * Ziplist decoding (Redis ≤ 6.2 `src/ziplist.c`), for the RDB types 10 (list), 12 (zset),
 * 13 (hash) and 14 (quicklist nodes) that old dumps contain and Redis 7 still loads.
 *
 * Layout: zlbytes u32 LE, zltail u32 LE, zllen u16 LE (65535 = "count them"), entries, 0xFF.
 * Each entry is <prevlen: 1 byte, or 0xFE + u32 LE><encoding><data>. String lengths in the
 * encoding are big-endian; integers are little-endian; 0xF1…0xFD hold 0…12 in the byte.
 */
import { RdbError, decimalBytes } from "./format.ts";

const HEADER_BYTES = 10;
const COUNT_UNKNOWN = 65535;

/** Decodes a ziplist blob into its elements, in order. Throws RdbError when malformed. */
export function decodeZiplist(zl: Uint8Array): Uint8Array[] {
  const n = zl.length;
  if (n < HEADER_BYTES + 1) throw new RdbError("ziplist: shorter than its header");
  const dv = new DataView(zl.buffer, zl.byteOffset, n);
  if (dv.getUint32(0, true) !== n) throw new RdbError("ziplist: total bytes mismatch");
  const count = dv.getUint16(8, true);
  const out: Uint8Array[] = [];
  let p = HEADER_BYTES;
  const need = (k: number): void => {
    if (p + k > n - 1) throw new RdbError("ziplist: entry past the end");
  };
  for (;;) {
    if (p >= n) throw new RdbError("ziplist: missing end byte");
    if (zl[p] === 0xff) break;
    // prevlen: only needed to walk backwards.
    if (zl[p] === 0xfe) p += 5;
    else p += 1;
    need(1);
    const e = zl[p]!;
    switch (e & 0xc0) {
      case 0x00: {
        const len = e & 0x3f;
        need(1 + len);
        out.push(zl.subarray(p + 1, p + 1 + len));
        p += 1 + len;
        continue;
      }
      case 0x40: {
        need(2);
        const len = ((e & 0x3f) << 8) | zl[p + 1]!;
        need(2 + len);
        out.push(zl.subarray(p + 2, p + 2 + len));
        p += 2 + len;
        continue;
      }
      case 0x80: {
        need(5);
        const len = dv.getUint32(p + 1, false);
        need(5 + len);
        out.push(zl.subarray(p + 5, p + 5 + len));
        p += 5 + len;
        continue;
      }
    }
    let size: number;
    switch (e) {
      case 0xc0:
        size = 2;
        need(1 + size);
        out.push(decimalBytes(dv.getInt16(p + 1, true)));
        break;
      case 0xd0:
        size = 4;
        need(1 + size);
        out.push(decimalBytes(dv.getInt32(p + 1, true)));
        break;
      case 0xe0:
        size = 8;
        need(1 + size);
        out.push(decimalBytes(dv.getBigInt64(p + 1, true)));
        break;
      case 0xf0: {
        size = 3;
        need(1 + size);
        const u = zl[p + 1]! | (zl[p + 2]! << 8) | (zl[p + 3]! << 16);
        out.push(decimalBytes(u >= 0x800000 ? u - 0x1000000 : u));
        break;
      }
      case 0xfe:
        size = 1;
        need(1 + size);
        out.push(decimalBytes(dv.getInt8(p + 1)));
        break;
      default:
        if (e >= 0xf1 && e <= 0xfd) {
          size = 0;
          out.push(decimalBytes((e & 0x0f) - 1));
          break;
        }
        throw new RdbError(`ziplist: unknown encoding byte 0x${e.toString(16)}`);
    }
    p += 1 + size;
  }
  if (p !== n - 1) throw new RdbError("ziplist: bytes after the end byte");
  if (count !== COUNT_UNKNOWN && count !== out.length) {
    throw new RdbError(`ziplist: header says ${count} elements, found ${out.length}`);
  }
  return out;
}
