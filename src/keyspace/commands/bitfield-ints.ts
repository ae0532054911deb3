/**
 * Integer fields inside a bit string, as Redis's bitops.c reads and checks them: bit 0 is
 * the most significant bit of byte 0; fields are 1..64 bits, signed (two's complement) or
 * unsigned; overflow handling follows checkSignedBitfieldOverflow /
 * checkUnsignedBitfieldOverflow exactly, including their 64-bit wrapping comparisons.
 * Pure: no storage here (keyspace/commands/bitmaps.ts supplies the bytes).
 */

/** BITFIELD's OVERFLOW modes. */
export type Overflow = "wrap" | "sat" | "fail";

/** The unsigned field of `bits` at bit `offset` (getUnsignedBitfield). */
export function getField(byteAt: (i: number) => number, offset: number, bits: number): bigint {
  let v = 0n;
  for (let j = 0; j < bits; j++, offset++) v = (v << 1n) | BigInt((byteAt(Math.floor(offset / 8)) >> (7 - (offset % 8))) & 1);
  return v;
}

export function toSigned(u: bigint, bits: number): bigint {
  return BigInt.asIntN(bits, u);
}

/**
 * checkSignedBitfieldOverflow / checkUnsignedBitfieldOverflow with C's 64-bit wrapping
 * arithmetic, quirks included (e.g. SET i63 with -2^63 and OVERFLOW SAT gives the maximum).
 * Returns [overflowed, value to store when it did (WRAP/SAT)].
 */
export function checkOverflow(signed: boolean, value: bigint, incr: bigint, bits: number, ow: Overflow): [boolean, bigint] {
  const i64 = (x: bigint) => BigInt.asIntN(64, x);
  if (signed) {
    const max = bits === 64 ? (1n << 63n) - 1n : (1n << BigInt(bits - 1)) - 1n;
    const min = -max - 1n;
    const maxincr = i64(max - value);
    const minincr = i64(min - value);
    const wrap = () => {
      let c = BigInt.asUintN(64, value + incr);
      if (bits < 64) c = BigInt.asUintN(bits, c);
      return BigInt.asIntN(bits, c);
    };
    if (value > max || (bits !== 64 && incr > maxincr) || (value >= 0n && incr > 0n && incr > maxincr)) return [true, ow === "wrap" ? wrap() : max];
    if (value < min || (bits !== 64 && incr < minincr) || (value < 0n && incr < 0n && incr < minincr)) return [true, ow === "wrap" ? wrap() : min];
    return [false, 0n];
  }
  const max = (1n << BigInt(bits)) - 1n;
  const maxincr = i64(max - value);
  const minincr = i64(-value);
  const wrap = () => BigInt.asUintN(bits, value + incr);
  if (value > max || (incr > 0n && incr > maxincr)) return [true, ow === "wrap" ? wrap() : max];
  if (incr < 0n && incr < minincr) return [true, ow === "wrap" ? wrap() : 0n];
  return [false, 0n];
}

export function intReply(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}
