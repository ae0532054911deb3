/**
 * C's `%.<P>g` for doubles, as glibc prints them: Lua 5.1 (Redis's Lua) turns numbers into
 * strings with `%.14g`, and redis.call() sends numeric arguments with `%.17g`.
 * JavaScript's own conversions differ (1e20 prints in full, 1e-5 as "0.00001", NaN and
 * Infinity spelled out), so scripts would observe them; this module matches C instead.
 */

/** Format `v` as C's printf("%.<precision>g"). NaN prints as glibc prints x86's default NaN (-nan). */
export function formatG(v: number, precision: number): string {
  if (Number.isNaN(v)) return "-nan";
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const p = precision === 0 ? 1 : precision;
  const sign = v < 0 ? "-" : "";
  const { digits, e } = roundedDigits(Math.abs(v), p);
  // The exponent after rounding to p significant digits decides the style (C99 7.19.6.1).
  if (e < -4 || e >= p) {
    const frac = digits.slice(1).replace(/0+$/, "");
    const ex = Math.abs(e) < 10 ? `0${Math.abs(e)}` : `${Math.abs(e)}`;
    return `${sign}${digits[0]}${frac ? "." + frac : ""}e${e < 0 ? "-" : "+"}${ex}`;
  }
  let int: string;
  let frac: string;
  if (e >= 0) {
    int = digits.slice(0, e + 1);
    frac = digits.slice(e + 1);
  } else {
    int = "0";
    frac = "0".repeat(-e - 1) + digits;
  }
  frac = frac.replace(/0+$/, "");
  return `${sign}${int}${frac ? "." + frac : ""}`;
}

/**
 * The p significant digits of x > 0 and its decimal exponent, rounded as glibc rounds:
 * to nearest, ties to even. JavaScript's toExponential rounds ties up, so an exact tie
 * (the exact expansion stops right after a 5) is detected and rounded to even here.
 */
function roundedDigits(x: number, p: number): { digits: string; e: number } {
  const parse = (s: string) => {
    const [m, ex] = s.split("e") as [string, string];
    return { digits: m.replace(".", ""), e: Number(ex) };
  };
  const r = parse(x.toExponential(p - 1));
  const long = parse(x.toExponential(Math.min(100, p + 24)));
  if (long.digits[p] === "5" && /^0*$/.test(long.digits.slice(p + 1)) && Number(long.digits[p - 1]) % 2 === 0) {
    return { digits: long.digits.slice(0, p), e: long.e };
  }
  return r;
}

/** Lua 5.1's tostring() of a number (LUA_NUMBER_FMT "%.14g"). */
export function luaNumberToString(v: number): string {
  return formatG(v, 14);
}
