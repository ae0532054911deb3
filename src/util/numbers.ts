/**
 * Redis's number parsing and formatting rules (util.c string2ll, string2d, ld2string and
 * the "%.17g" doubles of Redis 7.0's RESP2 replies), so replies match redis-server byte for byte.
 */

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
export const I64_MIN = INT64_MIN;
export const I64_MAX = INT64_MAX;

/** string2ll: optional '-', digits, no leading zeros, no spaces, no '+', within int64. */
export function parseI64(b: Uint8Array): bigint | null {
  const n = b.length;
  if (n === 0 || n > 20) return null;
  let i = 0;
  let neg = false;
  if (b[0] === 0x2d) {
    neg = true;
    i = 1;
    if (n === 1) return null;
  }
  if (b[i] === 0x30) return n === i + 1 && !neg ? 0n : null;
  let v = 0n;
  let small = 0;
  const fast = n - i <= 15;
  for (; i < n; i++) {
    const c = b[i]! - 0x30;
    if (c < 0 || c > 9) return null;
    if (fast) small = small * 10 + c;
    else v = v * 10n + BigInt(c);
  }
  if (fast) v = BigInt(small);
  if (neg) v = -v;
  if (v < INT64_MIN || v > INT64_MAX) return null;
  return v;
}

/** parseI64 as a JS number when it is safe; null when not an integer or out of safe range. */
export function parseSafeInt(b: Uint8Array): number | null {
  const v = parseI64(b);
  if (v === null) return null;
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) return null;
  return Number(v);
}

const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const HEX_FLOAT_RE = /^[+-]?0[xX]/;

/**
 * strtod as Redis uses it (string2d / getDoubleFromObject): the whole string must parse,
 * no leading space, "inf"/"infinity" in any case with a sign, NaN refused.
 */
export function parseDouble(b: Uint8Array): number | null {
  if (b.length === 0 || b.length > 5000) return null;
  const s = String.fromCharCode(...(b.length <= 512 ? b : b.subarray(0, 512)));
  if (b.length > 512) return null;
  const lower = s.toLowerCase();
  const body = lower[0] === "+" || lower[0] === "-" ? lower.slice(1) : lower;
  if (body === "inf" || body === "infinity") return lower[0] === "-" ? -Infinity : Infinity;
  if (HEX_FLOAT_RE.test(s)) return null;
  if (!FLOAT_RE.test(s)) return null;
  const v = Number(s);
  if (Number.isNaN(v)) return null;
  return v;
}

/** "%.17g" as C's printf writes it (Redis 7.0's addReplyDouble and DEBUG DIGEST for zsets). */
export function formatG17(x: number): string {
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (Number.isNaN(x)) return "nan";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const exp = Math.floor(Math.log10(Math.abs(x)));
  // Use toExponential to learn the true exponent after rounding to 17 significant digits.
  const e = x.toExponential(16); // d.dddddddddddddddde±X
  const m = /^(-?)(\d)\.(\d+)e([+-]\d+)$/.exec(e);
  if (!m) return String(x);
  const [, sign, d0, frac, es] = m;
  const X = parseInt(es!, 10);
  void exp;
  if (X < -4 || X >= 17) {
    let f = frac!.replace(/0+$/, "");
    const ex = Math.abs(X) < 10 ? `0${Math.abs(X)}` : `${Math.abs(X)}`;
    return `${sign}${d0}${f ? "." + f : ""}e${X < 0 ? "-" : "+"}${ex}`;
  }
  const digits = d0! + frac!;
  let intPart: string;
  let fracPart: string;
  if (X >= 0) {
    intPart = digits.slice(0, X + 1);
    fracPart = digits.slice(X + 1);
  } else {
    intPart = "0";
    fracPart = "0".repeat(-X - 1) + digits;
  }
  fracPart = fracPart.replace(/0+$/, "");
  return `${sign}${intPart}${fracPart ? "." + fracPart : ""}`;
}

/**
 * ld2string(LD_STR_HUMAN) as INCRBYFLOAT/HINCRBYFLOAT write their result: "%.17Lf" with
 * trailing zeros removed. Redis computes in long double; we compute in double, which gives
 * the same text whenever the result is exactly representable (documented in the README).
 */
export function formatHumanDouble(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e21) return BigInt(x).toString();
  let s = Math.abs(x) < 1e21 ? x.toFixed(17) : formatG17(x);
  if (s.includes(".") && !s.includes("e")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  if (s === "-0") s = "0";
  return s;
}
