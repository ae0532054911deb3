/**
 * HyperLogLog representation and estimate (keyspace/hyperloglog.ts) against golden values
 * recorded from redis-server 7.0.15 (Debian 7.0.15-1~deb12u10) with redis-cli / a RESP client:
 * the bytes GET returns after PFADD/PFMERGE/PFCOUNT, PFCOUNT's answers for 1..100,000 elements
 * of a seeded generator, and the replies to crafted (corrupt) values.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  HLL_DENSE_BYTES,
  HLL_READ_BYTES_MAX,
  HLL_REGISTERS,
  HllValue,
  hllAdd,
  hllCount,
  hllCountRegisters,
  hllMerge,
  hllStoreRegisters,
  isHll,
  murmurHash64A,
  patLen,
} from "../../src/keyspace/hyperloglog.ts";

const enc = new TextEncoder();
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const sha1 = (b: Uint8Array) => createHash("sha1").update(b).digest("hex");
const SPARSE_MAX = 3000;

/** PFADD's effect on a value (PFADD invalidates the cache when anything changed). */
function pfadd(v: HllValue, els: string[], max = SPARSE_MAX): number {
  let updated = 0;
  for (const e of els) {
    const r = hllAdd(v, enc.encode(e), max);
    expect(r).not.toBe(-1);
    updated += r;
  }
  if (updated) v.invalidateCache();
  return updated;
}

/** The generator the golden counts were recorded with: `el:<hex of an LCG>`. */
function* elements(): Generator<string> {
  let seed = 1;
  for (;;) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    yield `el:${seed.toString(16)}`;
  }
}

/** PFMERGE's effect: union of the sources into a new destination. */
function pfmerge(sources: HllValue[], max = SPARSE_MAX): HllValue {
  const regs = new Uint8Array(HLL_REGISTERS);
  let dense = false;
  for (const s of sources) {
    if (s.encoding === 0) dense = true;
    expect(hllMerge(regs, s)).toBe(true);
  }
  const d = HllValue.empty();
  expect(hllStoreRegisters(d, regs, dense, max)).toBe(true);
  return d;
}

const header = (enc: number, card7 = 0x80) => [0x48, 0x59, 0x4c, 0x4c, enc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, card7];
const value = (...xs: number[]) => new HllValue(Uint8Array.from(xs));

describe("hashing (MurmurHash64A, seed 0xadc83b19, as hllPatLen uses it)", () => {
  it("matches the 64-bit reference on every tail length", () => {
    // A direct BigInt transcription of MurmurHash64A, checked against the fast 32-bit version.
    const M = 0xc6a4a7935bd1e995n;
    const mask = (1n << 64n) - 1n;
    const ref = (d: Uint8Array, seed: bigint): bigint => {
      let h = (seed ^ (BigInt(d.length) * M)) & mask;
      const blocks = d.length - (d.length & 7);
      for (let i = 0; i < blocks; i += 8) {
        let k = 0n;
        for (let j = 7; j >= 0; j--) k = (k << 8n) | BigInt(d[i + j]!);
        k = (k * M) & mask;
        k ^= k >> 47n;
        k = (k * M) & mask;
        h ^= k;
        h = (h * M) & mask;
      }
      const rest = d.length & 7;
      if (rest) {
        for (let j = rest - 1; j >= 0; j--) h ^= BigInt(d[blocks + j]!) << BigInt(8 * j);
        h = (h * M) & mask;
      }
      h ^= h >> 47n;
      h = (h * M) & mask;
      h ^= h >> 47n;
      return h;
    };
    for (let n = 0; n < 40; n++) {
      const d = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n * 11 + 200) & 0xff);
      expect(murmurHash64A(d, 0xadc83b19)).toBe(ref(d, 0xadc83b19n));
    }
  });

  it("patLen: a register below 16384 and a run of 1..51", () => {
    const gen = elements();
    for (let i = 0; i < 2000; i++) {
      const pl = patLen(enc.encode(gen.next().value!));
      expect(Math.floor(pl / 64)).toBeLessThan(HLL_REGISTERS);
      expect(pl % 64).toBeGreaterThanOrEqual(1);
      expect(pl % 64).toBeLessThanOrEqual(51);
    }
  });
});

describe("representation (GET after PFADD / PFCOUNT, golden bytes from redis-server)", () => {
  it("PFADD k (no element): an empty sparse HLL, one XZERO, stale cache", () => {
    const v = HllValue.empty();
    v.invalidateCache();
    expect(hex(v.bytes())).toBe("48594c4c0100000000000000000000807fff");
  });

  it("PFADD k a b c, then PFCOUNT k stores the cardinality 3 in the header", () => {
    const v = HllValue.empty();
    expect(pfadd(v, ["a", "b", "c"])).toBe(3);
    expect(hex(v.bytes())).toBe("48594c4c01000000000000000000008060f38050b1844bfb80425a");
    expect(v.validCache()).toBe(false);
    const card = hllCount(v);
    expect(card).toBe(3);
    v.setCachedCard(card!);
    expect(hex(v.bytes())).toBe("48594c4c01000000030000000000000060f38050b1844bfb80425a");
    expect(v.validCache()).toBe(true);
    expect(v.cachedCard()).toBe(3n);
  });

  it("PFCOUNT of 1..100,000 elements, the sparse value at 1,000 and the dense one at 100,000", () => {
    const want: [number, number][] = [
      [1, 1], [2, 2], [10, 10], [100, 100], [200, 199], [500, 500], [1000, 1001], [2000, 2014],
      [5000, 5030], [10000, 10013], [20000, 20066], [50000, 50390], [100000, 99660],
    ];
    const v = HllValue.empty();
    const gen = elements();
    let n = 0;
    for (const [at, count] of want) {
      const batch: string[] = [];
      while (n < at) {
        batch.push(gen.next().value!);
        n++;
      }
      pfadd(v, batch);
      expect([at, hllCount(v)]).toEqual([at, count]);
      // PFCOUNT stores it; the next PFADD only sets the stale bit, the old bytes stay.
      v.setCachedCard(count);
      if (at === 1000) expect([v.len, sha1(v.bytes())]).toEqual([1889, "961b4447b3c5303be58ee1803b2439a7dcd27a41"]);
    }
    expect(v.encoding).toBe(0);
    expect([v.len, sha1(v.bytes())]).toEqual([HLL_DENSE_BYTES, "7388cf620e581cf401324fdc44bf3e42b0ecea17"]);
    expect(isHll(v.bytes())).toBe(true);
  });

  it("hll-sparse-max-bytes 200: 100 elements promote to dense, 30 stay sparse", () => {
    const many = Array.from({ length: 100 }, (_, i) => `m${i}`);
    const a = HllValue.empty();
    pfadd(a, many, 200);
    expect([a.len, sha1(a.bytes())]).toEqual([12304, "5835d8e78dd02df01ed4549520911ecbedaa983d"]);
    const b = HllValue.empty();
    pfadd(b, many.slice(0, 30), 200);
    expect([b.len, sha1(b.bytes())]).toEqual([104, "15b02e60ea366a0a0742b813dbc1383abb5cf68b"]);
  });

  it("PFADD of an element already counted changes nothing", () => {
    const v = HllValue.empty();
    pfadd(v, ["a", "b", "c"]);
    const before = v.bytes();
    expect(pfadd(v, ["a", "c"])).toBe(0);
    expect(v.bytes()).toEqual(before);
  });
});

describe("merging (PFMERGE, PFCOUNT of several keys)", () => {
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `m${from + i}`);

  it("two sparse sources merge into a sparse destination", () => {
    const a = HllValue.empty();
    const b = HllValue.empty();
    pfadd(a, range(0, 100));
    pfadd(b, range(50, 200));
    const m = pfmerge([a, b]);
    expect([m.len, sha1(m.bytes())]).toEqual([504, "1cb2c5b049d3fbd89f8731232e74e4517ddc45a8"]);
    expect(hllCount(m)).toBe(201);
    const regs = new Uint8Array(HLL_REGISTERS);
    hllMerge(regs, a);
    hllMerge(regs, b);
    expect(hllCountRegisters(regs)).toBe(201);
  });

  it("a dense source makes the destination dense", () => {
    const a = HllValue.empty();
    pfadd(a, range(0, 100));
    const big = HllValue.empty();
    const gen = elements();
    pfadd(big, Array.from({ length: 100_000 }, () => gen.next().value!));
    const m = pfmerge([a, big]);
    expect([m.len, sha1(m.bytes())]).toEqual([12304, "d1c593632a6c505e63f31b4bc544f561f4f5b4b2"]);
    expect(hllCount(m)).toBe(99718);
  });
});

describe("validation (replies of redis-server to crafted strings)", () => {
  it.each([
    ["a short dense value", value(...header(0), 0), false],
    ["an unknown encoding", value(...header(2), 0x7f, 0xff), false],
    ["a wrong magic", value(0x48, 0x59, 0x4c, 0x58, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x7f, 0xff), false],
    ["a value shorter than a header", value(0x48, 0x59, 0x4c, 0x4c, 1), false],
    ["a sparse header with no opcodes", value(...header(1)), true],
  ] as const)("%s → valid HLL string: %s (else WRONGTYPE Key is not a valid HyperLogLog string value.)", (_, v, ok) => {
    expect(isHll(v.bytes())).toBe(ok);
  });

  it.each([
    // [what, value, PFADD foo answers 1 (else INVALIDOBJ)]
    ["no opcodes", value(...header(1)), false],
    ["a VAL past register 16383", value(...header(1), 0x7f, 0xff, 0x88), true],
    ["a ZERO past register 16383", value(...header(1), 0x7f, 0xff, 0x00), true],
    ["an XZERO of 8000 registers only", value(...header(1), 0x5f, 0x3f), true],
    ["a cut XZERO", value(...header(1), 0x7f), true],
    // Longer than hll-sparse-max-bytes: the split promotes it, and promotion finds the overflow.
    ["40,000 VALs past register 16383", value(...header(1), 0x7f, 0xff, ...new Array<number>(40_000).fill(0x84)), false],
  ] as const)("sparse with %s: PFCOUNT and PFMERGE answer INVALIDOBJ", (_, v, addOk) => {
    expect(hllCount(v)).toBeNull();
    expect(hllMerge(new Uint8Array(HLL_REGISTERS), v)).toBe(false);
    // The commands read at most HLL_READ_BYTES_MAX bytes to count or merge: same verdict.
    const head = new HllValue(v.bytes().subarray(0, HLL_READ_BYTES_MAX));
    expect(hllCount(head)).toBeNull();
    expect(hllMerge(new Uint8Array(HLL_REGISTERS), head)).toBe(false);
    // "foo" lands in register 7,348: covered by every value above but the one with no opcodes.
    expect(hllAdd(v, enc.encode("foo"), SPARSE_MAX)).toBe(addOk ? 1 : -1);
  });
});
