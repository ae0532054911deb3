/**
 * Zipmap decoding (Redis ≤ 2.4 `src/zipmap.c`), the RDB type 9 small hash:
 * <zmlen u8> then per pair <len>field<len><free u8>value<free bytes>, then 0xFF, where
 * <len> is one byte below 254, or 254 + u32 LE.
 */
import { RdbError } from "./format.ts";

/** Decodes a zipmap blob into [field, value, field, value, …]. */
export function decodeZipmap(zm: Uint8Array): Uint8Array[] {
  const n = zm.length;
  const dv = new DataView(zm.buffer, zm.byteOffset, n);
  const out: Uint8Array[] = [];
  let p = 1;
  const len = (): number => {
    if (p >= n) throw new RdbError("zipmap: entry past the end");
    const b = zm[p]!;
    if (b < 254) {
      p += 1;
      return b;
    }
    if (b === 254 && p + 5 <= n) {
      const v = dv.getUint32(p + 1, true);
      p += 5;
      return v;
    }
    throw new RdbError("zipmap: bad length");
  };
  const take = (k: number): Uint8Array => {
    if (p + k > n) throw new RdbError("zipmap: entry past the end");
    const v = zm.subarray(p, p + k);
    p += k;
    return v;
  };
  if (n < 2) throw new RdbError("zipmap: too short");
  for (;;) {
    if (p >= n) throw new RdbError("zipmap: missing end byte");
    if (zm[p] === 0xff) break;
    out.push(take(len()));
    const vlen = len();
    const free = take(1)[0]!;
    out.push(take(vlen));
    take(free);
  }
  if (p !== n - 1) throw new RdbError("zipmap: bytes after the end byte");
  return out;
}
