/**
 * Intset decoding (Redis `src/intset.h`), the RDB type 11 set of integers:
 * encoding u32 LE (2, 4 or 8 bytes per element), length u32 LE, sorted LE signed integers.
 */
import { RdbError, decimalBytes } from "./format.ts";

/** Decodes an intset blob into its members as decimal string bytes. */
export function decodeIntset(blob: Uint8Array): Uint8Array[] {
  if (blob.length < 8) throw new RdbError("intset: shorter than its header");
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.length);
  const width = dv.getUint32(0, true);
  const count = dv.getUint32(4, true);
  if (width !== 2 && width !== 4 && width !== 8) {
    throw new RdbError(`intset: bad encoding ${width}`);
  }
  if (blob.length !== 8 + width * count) throw new RdbError("intset: length mismatch");
  const out: Uint8Array[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const at = 8 + i * width;
    out[i] = decimalBytes(
      width === 2
        ? dv.getInt16(at, true)
        : width === 4
          ? dv.getInt32(at, true)
          : dv.getBigInt64(at, true),
    );
  }
  return out;
}
