/**
 * x87 80-bit long double arithmetic, just enough for HINCRBYFLOAT (and INCRBYFLOAT):
 * Redis parses both operands with strtold, adds them in long double and prints the sum
 * with "%.17Lf" minus trailing zeros (util.c ld2string, LD_STR_HUMAN). Doing that in
 * double gives other text ("0.10000000000000001" instead of "0.1"), so we emulate it
 * exactly with BigInt: a value is sign · m · 2^e with a 64-bit significand m (the x87
 * format), every operation rounds half-to-even, and printing is exact.
 * Not modelled: subnormals (values below ~3.4e-4932 become 0).
 */

/** A finite long double; m = 0 for zero, else 2^63 <= m < 2^64. */
export interface LongDouble {
  neg: boolean;
  m: bigint;
  e: number;
}

/** Largest binary exponent of a finite x87 value (m · 2^e < 2^16384). */
const EXP_MAX = 16384 - 64;
const EXP_MIN = -16382 - 63;
/** Strings longer than this are refused, as string2ld's buffer (MAX_LONG_DOUBLE_CHARS). */
export const LONG_DOUBLE_CHARS_MAX = 5 * 1024;

const TWO63 = 1n << 63n;
const TWO64 = 1n << 64n;
const ZERO: LongDouble = { neg: false, m: 0n, e: 0 };

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** num/den (both > 0) rounded half-to-even to 64 significant bits; null when beyond the range. */
function fromRatio(neg: boolean, num: bigint, den: bigint, exp2 = 0): LongDouble | null {
  if (num === 0n) return { neg, m: 0n, e: 0 };
  let k = bitLength(num) - bitLength(den) - 64;
  for (;;) {
    const n = k >= 0 ? num : num << BigInt(-k);
    const d = k >= 0 ? den << BigInt(k) : den;
    let q = n / d;
    if (q < TWO63) {
      k--;
      continue;
    }
    if (q >= TWO64) {
      k++;
      continue;
    }
    const r2 = (n - q * d) * 2n;
    if (r2 > d || (r2 === d && (q & 1n) === 1n)) q++;
    let e = k + exp2;
    if (q === TWO64) {
      q = TWO63;
      e++;
    }
    if (e > EXP_MAX) return null;
    if (e < EXP_MIN) return { neg, m: 0n, e: 0 };
    return { neg, m: q, e };
  }
}

const DEC_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const HEX_RE = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/;

/**
 * string2ld: the whole string must be a strtold number (decimal or hex float); no spaces.
 * Returns a finite value, "inf" for a literal ±inf/infinity, or null: not a number, NaN, or
 * out of range (strtold's ERANGE: overflow, or underflow below the smallest subnormal).
 */
export function parseLongDouble(b: Uint8Array): LongDouble | "inf" | null {
  if (b.length === 0 || b.length >= LONG_DOUBLE_CHARS_MAX) return null;
  const s = String.fromCharCode(...b);
  const body = s.replace(/^[+-]/, "").toLowerCase();
  if (body === "inf" || body === "infinity") return "inf";
  let m = HEX_RE.exec(s);
  if (m) {
    const [, sign, int = "", frac = "", p = "0"] = m;
    if (!int && !frac) return null;
    const mant = BigInt("0x0" + int + frac);
    const exp = Number(p) - 4 * frac.length;
    if (mant === 0n) return { ...ZERO, neg: sign === "-" };
    if (Math.abs(exp) > 100_000) return null;
    return fromRatio(sign === "-", mant, 1n, exp);
  }
  m = DEC_RE.exec(s);
  if (!m) return null;
  const [, sign, int = "", frac = "", x = "0"] = m;
  if (!int && !frac) return null;
  const digits = BigInt(int + frac || "0");
  const exp10 = Number(x) - frac.length;
  const neg = sign === "-";
  if (digits === 0n) return { neg, m: 0n, e: 0 };
  const mag = exp10 + (int + frac).replace(/^0+/, "").length;
  if (mag > 4940 || mag < -4950) return null;
  const r = exp10 >= 0 ? fromRatio(neg, digits * 10n ** BigInt(exp10), 1n) : fromRatio(neg, digits, 10n ** BigInt(-exp10));
  return r;
}

/** a + b rounded to long double; null on overflow (Redis: "would produce NaN or Infinity"). */
export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble | null {
  if (a.m === 0n) return b.m === 0n ? { neg: a.neg && b.neg, m: 0n, e: 0 } : b;
  if (b.m === 0n) return a;
  const e = Math.min(a.e, b.e);
  const va = (a.neg ? -a.m : a.m) << BigInt(a.e - e);
  const vb = (b.neg ? -b.m : b.m) << BigInt(b.e - e);
  const sum = va + vb;
  if (sum === 0n) return ZERO;
  return fromRatio(sum < 0n, sum < 0n ? -sum : sum, 1n, e);
}

/** ld2string(LD_STR_HUMAN): "%.17Lf" with trailing zeros (and a bare '.') removed; "-0" → "0". */
export function formatLongDouble(v: LongDouble): string {
  const scale = 10n ** 17n;
  let n: bigint;
  if (v.e >= 0) n = (v.m << BigInt(v.e)) * scale;
  else {
    const num = v.m * scale;
    const sh = BigInt(-v.e);
    n = num >> sh;
    const r2 = (num - (n << sh)) * 2n;
    const half = 1n << sh;
    if (r2 > half || (r2 === half && (n & 1n) === 1n)) n++;
  }
  const digits = n.toString().padStart(18, "0");
  const int = digits.slice(0, -17);
  const frac = digits.slice(-17).replace(/0+$/, "");
  const out = (v.neg ? "-" : "") + int + (frac ? "." + frac : "");
  return out === "-0" ? "0" : out;
}
