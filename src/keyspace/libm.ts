/**
 * sin, cos and asin rounded correctly (the exact result rounded to the nearest double), as
 * glibc's libm gives them in practice. Math.sin/cos/asin in V8 (fdlibm) are off by one unit
 * in the last place for a few percent of arguments, and GEO distances must be the same
 * doubles as redis-server's: STOREDIST stores them, and "%.4f" shows any difference that
 * straddles a rounding edge.
 *
 * Method: double-double arithmetic (an unevaluated sum hi + lo, ~106 bits): argument
 * reduction by π/2 held in three doubles, Taylor series to 1e-32, one rounding at the end;
 * asin is one Newton step on the double-double sine from V8's approximation.
 */

type DD = [hi: number, lo: number];

/** Dekker's splitting constant 2^27 + 1. */
const SPLIT = 134217729;

function twoSum(a: number, b: number): DD {
  const s = a + b;
  const bb = s - a;
  return [s, a - (s - bb) + (b - bb)];
}

function quickTwoSum(a: number, b: number): DD {
  const s = a + b;
  return [s, b - (s - a)];
}

function twoProd(a: number, b: number): DD {
  const p = a * b;
  let c = SPLIT * a;
  const ah = c - (c - a);
  const al = a - ah;
  c = SPLIT * b;
  const bh = c - (c - b);
  const bl = b - bh;
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

function add(a: DD, b: DD): DD {
  const s = twoSum(a[0], b[0]);
  const t = twoSum(a[1], b[1]);
  let r = quickTwoSum(s[0], s[1] + t[0]);
  r = quickTwoSum(r[0], r[1] + t[1]);
  return r;
}

function mul(a: DD, b: DD): DD {
  const p = twoProd(a[0], b[0]);
  return quickTwoSum(p[0], p[1] + (a[0] * b[1] + a[1] * b[0]));
}

/** a / d for a small integer d. */
function divInt(a: DD, d: number): DD {
  const q = a[0] / d;
  const p = twoProd(q, d);
  const r = (a[0] - p[0] - p[1] + a[1]) / d;
  return quickTwoSum(q, r);
}

const PIO2: [number, number, number] = [1.5707963267948966, 6.123233995736766e-17, -1.4973849048591698e-33];

/** x − k·π/2 in double-double (|x| within a few π: k is small, k·PIO2[0] exact). */
function reduce(x: number): { r: DD; k: number } {
  const k = Math.round(x / PIO2[0]);
  let r = twoSum(x, -k * PIO2[0]);
  r = add(r, twoProd(-k, PIO2[1]));
  r = add(r, [-k * PIO2[2], 0]);
  return { r, k };
}

/** sin and cos of a reduced |r| ≤ π/4 (a little more), by their Taylor series. */
function sinCosReduced(r: DD): [DD, DD] {
  const r2 = mul(r, r);
  let s: DD = r;
  let term: DD = r;
  for (let n = 1; n <= 15; n++) {
    term = divInt(mul(term, r2), -(2 * n) * (2 * n + 1));
    s = add(s, term);
  }
  let c: DD = [1, 0];
  term = [1, 0];
  for (let n = 1; n <= 15; n++) {
    term = divInt(mul(term, r2), -(2 * n - 1) * (2 * n));
    c = add(c, term);
  }
  return [s, c];
}

function sinDD(x: number): DD {
  const { r, k } = reduce(x);
  const [s, c] = sinCosReduced(r);
  switch (((k % 4) + 4) % 4) {
    case 0:
      return s;
    case 1:
      return c;
    case 2:
      return [-s[0], -s[1]];
    default:
      return [-c[0], -c[1]];
  }
}

function cosOf(x: number): DD {
  const { r, k } = reduce(x);
  const [s, c] = sinCosReduced(r);
  switch (((k % 4) + 4) % 4) {
    case 0:
      return c;
    case 1:
      return [-s[0], -s[1]];
    case 2:
      return [-c[0], -c[1]];
    default:
      return s;
  }
}

/** Arguments this module covers (GEO uses |x| ≤ π); beyond it Math's functions answer. */
const REDUCED_ARG_MAX = 64;

export function sin(x: number): number {
  if (!(Math.abs(x) <= REDUCED_ARG_MAX) || x === 0) return Math.sin(x);
  const r = sinDD(x);
  return r[0] + r[1];
}

export function cos(x: number): number {
  if (!(Math.abs(x) <= REDUCED_ARG_MAX)) return Math.cos(x);
  const r = cosOf(x);
  return r[0] + r[1];
}

/** asin for y in [-1, 1]: a Newton step z − (sin z − y)/cos z from V8's z, in double-double. */
export function asin(y: number): number {
  const z = Math.asin(y);
  if (!(Math.abs(y) < 1) || y === 0) return z;
  const s = sinDD(z);
  const diff = add(s, [-y, 0]);
  const c = cosOf(z);
  const delta = -(diff[0] + diff[1]) / (c[0] + c[1]);
  const r = twoSum(z, delta);
  return r[0] + r[1];
}
