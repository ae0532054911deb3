/**
 * Listpack decoding (Redis `src/listpack.c`; spec: antirez/listpack listpack.md), for the
 * RDB types 16 (hash), 17 (zset), 18 (quicklist-2 nodes) and 20 (set).
 *
 * Layout: total bytes u32 LE, element count u16 LE (65535 = "count them"), entries, 0xFF.
 * Each entry is <encoding+data><backlen>, where backlen (1–5 bytes) is the size of
 * encoding+data, only needed to walk backwards; we walk forwards and skip it.
 * Integers come back as their decimal string bytes, as Redis replies with them.
 */
import { RdbError, decimalBytes } from "./format.ts";

const HEADER_BYTES = 6;
const COUNT_UNKNOWN = 65535;

function backlenBytes(entryBytes: number): number {
  if (entryBytes <= 127) return 1;
  if (entryBytes < 16383) return 2;
  if (entryBytes < 2097151) return 3;
  if (entryBytes < 268435455) return 4;
  return 5;
}

/** Decodes a listpack blob into its elements, in order. Throws RdbError when malformed. */
export function decodeListpack(lp: Uint8Array): Uint8Array[] {
  const n = lp.length;
  if (n < HEADER_BYTES + 1) throw new RdbError("listpack: shorter than its header");
  const dv = new DataView(lp.buffer, lp.byteOffset, n);
  if (dv.getUint32(0, true) !== n) throw new RdbError("listpack: total bytes mismatch");
  const count = dv.getUint16(4, true);
  const out: Uint8Array[] = [];
  let p = HEADER_BYTES;
  const need = (k: number): void => {
    if (p + k > n - 1) throw new RdbError("listpack: entry past the end");
  };
  for (;;) {
    if (p >= n) throw new RdbError("listpack: missing end byte");
    const b = lp[p]!;
    if (b === 0xff) break;
    let size: number; // encoding + data
    if ((b & 0x80) === 0) {
      out.push(decimalBytes(b & 0x7f));
      size = 1;
    } else if ((b & 0xc0) === 0x80) {
      const len = b & 0x3f;
      size = 1 + len;
      need(size);
      out.push(lp.subarray(p + 1, p + size));
    } else if ((b & 0xe0) === 0xc0) {
      size = 2;
      need(size);
      const u = ((b & 0x1f) << 8) | lp[p + 1]!;
      out.push(decimalBytes(u >= 4096 ? u - 8192 : u));
    } else if ((b & 0xf0) === 0xe0) {
      need(2);
      const len = ((b & 0x0f) << 8) | lp[p + 1]!;
      size = 2 + len;
      need(size);
      out.push(lp.subarray(p + 2, p + size));
    } else {
      switch (b) {
        case 0xf0: {
          need(5);
          const len = dv.getUint32(p + 1, true);
          size = 5 + len;
          need(size);
          out.push(lp.subarray(p + 5, p + size));
          break;
        }
        case 0xf1:
          size = 3;
          need(size);
          out.push(decimalBytes(dv.getInt16(p + 1, true)));
          break;
        case 0xf2: {
          size = 4;
          need(size);
          const u = lp[p + 1]! | (lp[p + 2]! << 8) | (lp[p + 3]! << 16);
          out.push(decimalBytes(u >= 0x800000 ? u - 0x1000000 : u));
          break;
        }
        case 0xf3:
          size = 5;
          need(size);
          out.push(decimalBytes(dv.getInt32(p + 1, true)));
          break;
        case 0xf4:
          size = 9;
          need(size);
          out.push(decimalBytes(dv.getBigInt64(p + 1, true)));
          break;
        default:
          throw new RdbError(`listpack: unknown encoding byte 0x${b.toString(16)}`);
      }
    }
    p += size;
    need(0);
    p += backlenBytes(size);
  }
  if (p !== n - 1) throw new RdbError("listpack: bytes after the end byte");
  if (count !== COUNT_UNKNOWN && count !== out.length) {
    throw new RdbError(`listpack: header says ${count} elements, found ${out.length}`);
  }
  return out;
}
