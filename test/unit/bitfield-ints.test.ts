/**
 * BITFIELD's integer arithmetic (keyspace/commands/bitfield-ints.ts). The overflow cases are
 * the ones redis-server 7.0.15 answered (recorded with redis-cli), quirks included: an
 * unsigned SET of a negative number with OVERFLOW SAT stores the maximum, and SET i63 of
 * -2^63 counts as an overflow upwards (C's wrapping `max - value`).
 */
import { describe, expect, it } from "vitest";
import { checkOverflow, getField, toSigned } from "../../src/keyspace/commands/bitfield-ints.ts";
import { combineInto, firstByteNot, invert, popcount, POPCOUNT } from "../../src/util/bits.ts";

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

describe("checkOverflow (Redis's checks, 64-bit wrapping)", () => {
  it.each([
    // [signed, value, incr, bits, mode, overflowed, stored]
    [false, 2n ** 64n - 1n, 0n, 8, "sat", true, 255n], // SET u8 -1 with SAT → 255
    [false, 2n ** 64n - 1n, 0n, 8, "wrap", true, 255n], // SET u8 -1 with WRAP → 255
    [true, I64_MIN, 0n, 63, "sat", true, 2n ** 62n - 1n], // SET i63 -2^63 with SAT → max
    [true, I64_MIN, 0n, 63, "wrap", true, 0n], // … with WRAP → 0
    [true, 127n, 1n, 8, "wrap", true, -128n],
    [true, -128n, -1n, 8, "sat", true, -128n],
    [false, 255n, 1n, 8, "wrap", true, 0n],
    [false, 0n, -1n, 8, "sat", true, 0n],
    [true, I64_MAX, 1n, 64, "wrap", true, I64_MIN],
    [true, I64_MIN, I64_MIN, 64, "sat", true, I64_MIN],
    [false, I64_MAX, I64_MIN, 63, "wrap", true, I64_MAX],
    [true, 5n, 3n, 8, "sat", false, 0n],
    [false, 100n, -100n, 7, "fail", false, 0n],
  ] as const)("signed=%s value=%s incr=%s bits=%s %s", (signed, value, incr, bits, mode, overflowed, stored) => {
    const [o, v] = checkOverflow(signed, value, incr, bits, mode);
    expect(o).toBe(overflowed);
    if (o && mode !== "fail") expect(v).toBe(stored);
  });

  it("SET u3 at bit 1 of -5 with WRAP stores 3 (the low bits), and i5 reads it back signed", () => {
    const [o, v] = checkOverflow(false, BigInt.asUintN(64, -5n), 0n, 3, "wrap");
    expect([o, v]).toEqual([true, 3n]);
    expect(toSigned(0b11011n, 5)).toBe(-5n);
  });
});

describe("getField: bit 0 is the top bit of byte 0", () => {
  const bytes = new Uint8Array([0b1010_0000, 0xff, 0x01]);
  const at = (i: number) => bytes[i] ?? 0;
  it.each([
    [0, 1, 1n],
    [1, 1, 0n],
    [0, 3, 0b101n],
    [4, 8, 0b0000_1111n],
    [16, 8, 1n],
    [20, 8, 0b0001_0000n], // past the end reads zeros
    [0, 24, 0xa0ff01n],
  ])("offset %i, %i bits", (offset, bits, want) => {
    expect(getField(at, offset, bits)).toBe(want);
  });
  it("POPCOUNT counts set bits", () => {
    expect([POPCOUNT[0], POPCOUNT[1], POPCOUNT[0xff], POPCOUNT[0xa5]]).toEqual([0, 1, 8, 4]);
  });

  it("popcount and firstByteNot agree with a byte-by-byte scan at every alignment", () => {
    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
    const buf = new Uint8Array(300);
    for (let i = 0; i < buf.length; i++) buf[i] = rnd() < 200 ? 0 : rnd();
    const ones = new Uint8Array(300).fill(0xff);
    ones[257] = 0xfe;
    for (let off = 0; off < 8; off++) {
      for (const len of [0, 1, 3, 4, 5, 17, 64, 250]) {
        for (const src of [buf, ones]) {
          const b = src.subarray(off, off + len);
          let n = 0;
          for (const x of b) n += POPCOUNT[x]!;
          expect(popcount(b)).toBe(n);
          for (const skip of [0, 0xff] as const) {
            for (const from of [0, 2, 9]) {
              let want = Math.min(from, b.length);
              while (want < b.length && b[want] === skip) want++;
              expect(firstByteNot(b, skip, from)).toBe(want);
            }
          }
        }
      }
    }
  });

  it("combineInto and invert agree with byte-by-byte BITOP at every alignment and length", () => {
    let seed = 11;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
    const base = Uint8Array.from({ length: 80 }, rnd);
    const other = Uint8Array.from({ length: 80 }, rnd);
    for (const op of ["and", "or", "xor"] as const) {
      for (const [doff, soff] of [[0, 0], [0, 1], [4, 8], [3, 0]]) {
        for (const [dlen, slen] of [[40, 40], [40, 13], [13, 40], [0, 5], [37, 37]]) {
          const dst = new Uint8Array(base.subarray(0, doff + dlen)).subarray(doff);
          const src = other.subarray(soff, soff + slen);
          const want = Array.from(dst, (d, i) => (i < src.length ? (op === "and" ? d & src[i]! : op === "or" ? d | src[i]! : d ^ src[i]!) : op === "and" ? 0 : d));
          combineInto(op, dst, src);
          expect([op, doff, soff, dlen, slen, Array.from(dst)]).toEqual([op, doff, soff, dlen, slen, want]);
        }
      }
    }
    for (const off of [0, 1, 4]) {
      const dst = new Uint8Array(base).subarray(off, off + 23);
      const want = Array.from(dst, (d) => ~d & 0xff);
      invert(dst);
      expect(Array.from(dst)).toEqual(want);
    }
  });
});
