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
/** An int64 as the nearest safe number (counts and timeouts past 2^53 mean "all" or "for ever" anyway). */
export function clampToSafe(v: bigint): number {
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  return Number(v > max ? max : v < -max ? -max : v);
}

export function parseSafeInt(b: Uint8Array): number | null {
  const v = parseI64(b);
  if (v === null) return null;
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) return null;
  return Number(v);
}

const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const HEX_FLOAT_RE = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/;

/** A C99 hexadecimal float ("0x10", "0x1.8p3"), as strtod reads it; null when malformed. */
function parseHexFloat(s: string): number | null {
  const m = HEX_FLOAT_RE.exec(s);
  if (!m) return null;
  const [, sign, int = "", frac = "", exp = "0"] = m;
  if (int.length + frac.length === 0) return null;
  let v = 0;
  for (const c of int) v = v * 16 + parseInt(c, 16);
  let scale = 1 / 16;
  for (const c of frac) {
    v += parseInt(c, 16) * scale;
    scale /= 16;
  }
  v *= 2 ** Number(exp);
  return sign === "-" ? -v : v;
}

/**
 * strtod as Redis uses it (string2d / getDoubleFromObject): the whole string must parse,
 * no leading space, "inf"/"infinity" in any case with a sign, hexadecimal floats, NaN
 * refused, and out-of-range values refused (strtod's ERANGE: overflow to ±inf, or a
 * non-zero value that underflows to 0).
 */
export function parseDouble(b: Uint8Array, opts: { checkRange?: boolean } = {}): number | null {
  if (b.length === 0 || b.length > 512) return null;
  const s = String.fromCharCode(...b);
  const lower = s.toLowerCase();
  const body = lower[0] === "+" || lower[0] === "-" ? lower.slice(1) : lower;
  if (body === "inf" || body === "infinity") return lower[0] === "-" ? -Infinity : Infinity;
  let v: number | null;
  if (body.startsWith("0x")) v = parseHexFloat(s);
  else v = FLOAT_RE.test(s) ? Number(s) : null;
  if (v === null || Number.isNaN(v)) return null;
  if (opts.checkRange === false) return v; // a syntax check (INCRBYFLOAT reads long doubles)
  if (!Number.isFinite(v)) return null; // overflow (ERANGE)
  if (v === 0 && /[1-9]/.test(body.split(/[ep]/)[0]!.replace(/^0x/, ""))) return null; // underflow (ERANGE)
  return v;
}

/**
 * The 17 significant decimal digits of |x| (finite, non-zero), correctly rounded half to even
 * from the exact binary value as C's printf does, and the decimal exponent of the first.
 */
function digits17(x: number): { digits: string; exp: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  const mant = biased === 0 ? frac : frac | (1n << 52n);
  const e2 = (biased === 0 ? 1 : biased) - 1075;
  // value = num / den exactly
  let num = e2 >= 0 ? mant << BigInt(e2) : mant;
  let den = e2 >= 0 ? 1n : 1n << BigInt(-e2);
  let d = Math.floor(Math.log10(Math.abs(x)));
  // Make 10^d <= value < 10^(d+1) exact (log10 can be off by one near powers of ten).
  const pow10 = (k: number) => 10n ** BigInt(k);
  const ge = (k: number) => (k >= 0 ? num >= den * pow10(k) : num * pow10(-k) >= den);
  while (!ge(d)) d--;
  while (ge(d + 1)) d++;
  const shift = d - 16;
  if (shift >= 0) den *= pow10(shift);
  else num *= pow10(-shift);
  let q = num / den;
  const r2 = (num % den) * 2n;
  if (r2 > den || (r2 === den && q % 2n === 1n)) q += 1n;
  if (q === pow10(17)) {
    q = pow10(16);
    d += 1;
  }
  return { digits: q.toString(), exp: d };
}

/** "%.17g" as C's printf writes it (Redis 7.0's addReplyDouble and DEBUG DIGEST for zsets). */
export function formatG17(x: number): string {
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (Number.isNaN(x)) return "nan";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const sign = x < 0 ? "-" : "";
  const { digits, exp: X } = digits17(x);
  return gStyle(sign, digits, X, 17);
}

/**
 * C's `%.<p>g` from the significant digits already rounded to `p` and the decimal exponent
 * of the first one: exponent style when it is below -4 or at least `p` (C99 7.19.6.1),
 * trailing zeros dropped either way.
 */
export function gStyle(sign: string, digits: string, e: number, p: number): string {
  if (e < -4 || e >= p) {
    const frac = digits.slice(1).replace(/0+$/, "");
    const ex = Math.abs(e) < 10 ? `0${Math.abs(e)}` : `${Math.abs(e)}`;
    return `${sign}${digits[0]}${frac ? "." + frac : ""}e${e < 0 ? "-" : "+"}${ex}`;
  }
  const int = e >= 0 ? digits.slice(0, e + 1) : "0";
  const frac = (e >= 0 ? digits.slice(e + 1) : "0".repeat(-e - 1) + digits).replace(/0+$/, "");
  return `${sign}${int}${frac ? "." + frac : ""}`;
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
