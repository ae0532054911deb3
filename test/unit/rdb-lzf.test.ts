import { describe, expect, it } from "vitest";
import { RdbError } from "../../src/protocol/rdb/format.ts";
import { lzfDecompress } from "../../src/protocol/rdb/lzf.ts";
import { str, utf8 } from "../../src/util/bytes.ts";

const h = (...xs: number[]) => Uint8Array.from(xs);

describe("lzf decompression", () => {
  it("copies a literal run", () => {
    expect(str(lzfDecompress(h(0x02, 0x61, 0x62, 0x63), 3))).toBe("abc");
  });

  it("follows a short back reference", () => {
    // "abcd" literal, then length 4 (ctrl 2<<5) from distance 4 (offset byte 3).
    expect(str(lzfDecompress(h(0x03, 0x61, 0x62, 0x63, 0x64, 0x40, 0x03), 8))).toBe("abcdabcd");
  });

  it("follows an overlapping reference with an extended length", () => {
    // "abc", then 9 bytes (7 + ext 0, +2) from distance 3: the pattern repeats.
    expect(str(lzfDecompress(h(0x02, 0x61, 0x62, 0x63, 0xe0, 0x00, 0x02), 12))).toBe("abcabcabcabc");
    // "a", then 199 bytes (7 + 190 + 2) from distance 1: a run.
    expect(str(lzfDecompress(h(0x00, 0x61, 0xe0, 190, 0x00), 200))).toBe("a".repeat(200));
    // The longest reference: 7 + 255 + 2 = 264 bytes.
    expect(str(lzfDecompress(h(0x00, 0x61, 0xe0, 0xff, 0x00), 265))).toBe("a".repeat(265));
  });

  it("uses the high distance bits of the control byte", () => {
    const lit = utf8("x".repeat(32) + "0123456789abcdefghijklmnopqrstuvwxyz".repeat(8)); // 320 bytes
    const parts: number[] = [];
    for (let i = 0; i < lit.length; i += 32) parts.push(31, ...lit.subarray(i, i + 32));
    // copy 5 bytes from distance 300 → offset 299 = (1 << 8) | 43
    parts.push((3 << 5) | 1, 43);
    const out = lzfDecompress(Uint8Array.from(parts), 325);
    expect(str(out.subarray(320))).toBe(str(lit.subarray(20, 25)));
  });

  it("refuses malformed input with RdbError", () => {
    expect(() => lzfDecompress(h(0x05, 0x61), 6)).toThrow(RdbError); // literal past the end
    expect(() => lzfDecompress(h(0x00, 0x61, 0x20, 0x05), 4)).toThrow(/before the start/);
    expect(() => lzfDecompress(h(0x02, 0x61, 0x62, 0x63), 2)).toThrow(/longer than announced/);
    expect(() => lzfDecompress(h(0x02, 0x61, 0x62, 0x63), 5)).toThrow(/expected 5/);
    expect(() => lzfDecompress(h(0x00, 0x61, 0xe0), 10)).toThrow(/truncated/);
    expect(() => lzfDecompress(h(0x00, 0x61, 0xe0, 0xff, 0x00), 2 ** 30)).toThrow(/cannot expand/);
  });
});
