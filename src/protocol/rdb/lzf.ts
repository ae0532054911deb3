/**
 * LZF decompression (the format of Redis `src/lzf_d.c`), for strings Redis saved with
 * `rdbcompression yes` (its default: every string longer than 20 bytes that shrinks).
 *
 * The stream is a series of runs, each starting with a control byte `ctrl`:
 *   ctrl < 32   a literal: the next ctrl+1 bytes are copied as they are;
 *   otherwise   a back reference: length ctrl>>5 (7 means "7 + next byte"), plus 2;
 *               distance ((ctrl & 31) << 8) + next byte + 1 back into the output.
 *               The source may overlap the destination (run-length repeats).
 */
import { RdbError } from "./format.ts";

/** Most output per input byte: a 3-byte back reference yields at most 264 bytes. */
const LZF_EXPANSION_MAX = 88;

/** Decompresses `input` into exactly `outLen` bytes; throws RdbError on malformed input. */
export function lzfDecompress(input: Uint8Array, outLen: number): Uint8Array {
  // Check before allocating, so a corrupt length cannot make us reserve a huge buffer.
  if (outLen > input.length * LZF_EXPANSION_MAX) {
    throw new RdbError(`lzf: ${input.length} bytes cannot expand to ${outLen}`);
  }
  const out = new Uint8Array(outLen);
  const inLen = input.length;
  let ip = 0;
  let op = 0;
  while (ip < inLen) {
    const ctrl = input[ip++]!;
    if (ctrl < 32) {
      const len = ctrl + 1;
      if (ip + len > inLen) throw new RdbError("lzf: literal run past the end of the input");
      if (op + len > outLen) throw new RdbError("lzf: output longer than announced");
      out.set(input.subarray(ip, ip + len), op);
      ip += len;
      op += len;
      continue;
    }
    let len = ctrl >>> 5;
    if (len === 7) {
      if (ip >= inLen) throw new RdbError("lzf: truncated back reference");
      len += input[ip++]!;
    }
    if (ip >= inLen) throw new RdbError("lzf: truncated back reference");
    let ref = op - ((ctrl & 0x1f) << 8) - 1 - input[ip++]!;
    len += 2;
    if (ref < 0) throw new RdbError("lzf: back reference before the start of the output");
    if (op + len > outLen) throw new RdbError("lzf: output longer than announced");
    if (op - ref >= len) {
      out.copyWithin(op, ref, ref + len);
      op += len;
    } else {
      // Overlapping copy: byte by byte, so a short pattern repeats.
      for (let k = 0; k < len; k++) out[op++] = out[ref++]!;
    }
  }
  if (op !== outLen) throw new RdbError(`lzf: decompressed ${op} bytes, expected ${outLen}`);
  return out;
}
