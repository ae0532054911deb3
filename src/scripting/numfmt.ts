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
  // The exponent after rounding to p significant digits decides the style (C99 7.19.6.1).
  const exp = v.toExponential(p - 1);
  const e = Number(exp.slice(exp.indexOf("e") + 1));
  if (e < -4 || e >= p) {
    const [mant, ex] = exp.split("e") as [string, string];
    const m = stripZeros(mant);
    const sign = ex[0] === "-" ? "-" : "+";
    const digits = ex.replace(/^[+-]/, "");
    return `${m}e${sign}${digits.length < 2 ? "0" + digits : digits}`;
  }
  return stripZeros(v.toFixed(p - 1 - e));
}

function stripZeros(s: string): string {
  if (!s.includes(".")) return s;
  return s.replace(/\.?0+$/, "");
}

/** Lua 5.1's tostring() of a number (LUA_NUMBER_FMT "%.14g"). */
export function luaNumberToString(v: number): string {
  return formatG(v, 14);
}
