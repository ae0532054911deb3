import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Sha1, sha1Of } from "../../src/util/sha1.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const ref = (parts: Uint8Array[]) => {
  const h = createHash("sha1");
  for (const p of parts) h.update(p);
  return h.digest("hex");
};

describe("sha1", () => {
  it("FIPS 180 examples", () => {
    expect(hex(sha1Of([new TextEncoder().encode("abc")]))).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
    expect(hex(sha1Of([]))).toBe("da39a3ee5e6b4b0d3255bfef95601890afd80709");
    expect(hex(sha1Of([new TextEncoder().encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")]))).toBe(
      "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
    );
  });

  it("equals node:crypto for every length around block edges and any split", () => {
    for (let n = 0; n <= 200; n++) {
      const data = new Uint8Array(randomBytes(n));
      expect(hex(sha1Of([data]))).toBe(ref([data]));
      const cut = Math.floor(n / 3);
      const parts = [data.subarray(0, cut), data.subarray(cut, 2 * cut), data.subarray(2 * cut)];
      expect(hex(sha1Of(parts))).toBe(ref(parts));
    }
    const big = new Uint8Array(randomBytes(100_000));
    const h = new Sha1();
    for (let i = 0; i < big.length; i += 777) h.update(big.subarray(i, i + 777));
    expect(hex(h.digest())).toBe(ref([big]));
  });
});
