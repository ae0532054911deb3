import { describe, expect, it } from "vitest";
import { Crc64, crc64 } from "../../src/protocol/rdb/crc64.ts";
import { utf8 } from "../../src/util/bytes.ts";

/** Bit-at-a-time reference with BigInt, straight from the definition (reflected Jones). */
function reference(data: Uint8Array): bigint {
  const POLY = 0x95ac9329ac4bc9b5n;
  let c = 0n;
  for (const b of data) {
    c ^= BigInt(b);
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ POLY : c >> 1n;
  }
  return c;
}

function pseudoRandom(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe("crc64 (Jones, as Redis)", () => {
  it("gives the check value for 123456789", () => {
    const c = new Crc64().update(utf8("123456789"));
    expect(c.digest()).toBe(0xe9c6d914c4b8d9can);
    expect(c.hex()).toBe("e9c6d914c4b8d9ca");
    expect(Array.from(c.bytesLE())).toEqual([0xca, 0xd9, 0xb8, 0xc4, 0x14, 0xd9, 0xc6, 0xe9]);
    expect(c.matchesLE(c.bytesLE())).toBe(true);
    expect(crc64(0n, utf8("123456789"))).toBe(0xe9c6d914c4b8d9can);
  });

  it("is 0 for no input", () => {
    expect(new Crc64().hex()).toBe("0000000000000000");
  });

  it("matches the bitwise reference for every length 0..100 and any split", () => {
    const data = pseudoRandom(100, 7);
    for (let n = 0; n <= 100; n++) {
      const d = data.subarray(0, n);
      const want = reference(d);
      expect(new Crc64().update(d).digest()).toBe(want);
      const split = n >> 1;
      expect(crc64(crc64(0n, d.subarray(0, split)), d.subarray(split))).toBe(want);
      const c = new Crc64();
      for (let i = 0; i < n; i++) c.update(d.subarray(i, i + 1));
      expect(c.digest()).toBe(want);
    }
  });

  it("matches the reference on unaligned views of a larger buffer", () => {
    const data = pseudoRandom(5000, 99);
    for (const off of [0, 1, 3, 7, 13]) {
      const d = data.subarray(off, off + 4001);
      expect(new Crc64().update(d).digest()).toBe(reference(d));
    }
  });

  it("is fast: well over 100 MB/s", () => {
    const data = pseudoRandom(32 * 1024 * 1024, 3);
    new Crc64().update(data.subarray(0, 1 << 20)); // warm up
    let best = 0;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      new Crc64().update(data);
      const mbps = 32 / ((performance.now() - t0) / 1000);
      best = Math.max(best, mbps);
    }
    console.log(`crc64 throughput: ${best.toFixed(0)} MB/s`);
    expect(best).toBeGreaterThan(100);
  });
});
