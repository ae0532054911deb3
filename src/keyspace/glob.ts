/**
 * Redis's glob patterns (KEYS, SCAN/HSCAN/SSCAN/ZSCAN MATCH, CONFIG GET) on bytes, with the
 * exact semantics of Redis 7.0's `stringmatchlen` (util.c) but linear cost.
 *
 * The idea: every pattern element except `*` consumes exactly one byte of the subject (`?`, a
 * literal, an escaped literal, a `[...]` class), so the pattern compiles to a list of tokens
 * and the match is the classic iterative one that, on a mismatch, only returns to the most
 * recent `*` and lets it swallow one more byte. An earlier `*` never needs to be revisited
 * (whatever an earlier star could swallow, the later one can too), so the work is at most
 * (subject bytes + 1) × (pattern bytes + 1) steps, instead of Redis's recursion, which is
 * exponential in the number of stars without its "skipLongerMatches" guard and which we do
 * not want to depend on.
 *
 * Redis's quirks reproduced (each checked against redis-server 7.0.15):
 * - an empty subject matches only the empty pattern (`**` does not match ""), but the
 *   pattern that is exactly `*` matches everything, because every caller in Redis
 *   short-cuts it before matching;
 * - `\x` is a literal x; a `\` at the end of the pattern is a literal backslash;
 * - `[` ... `]` classes: `^` first negates, `\x` inside is a literal compared case-sensitively
 *   even when matching without case, `a-z` is a range whose ends are swapped when given in
 *   reverse and compared as C's signed chars (so `[a-\xff]` is the range -1..97), a `-` range
 *   takes the next byte even if it is `]`, and an unterminated class runs to the end of the
 *   pattern (`[^` matches any one byte, `[` matches nothing);
 * - without case: ASCII only (C's tolower in the C locale).
 */

type Token =
  | { kind: "star" }
  | { kind: "any" }
  | { kind: "byte"; c: number; fold: boolean }
  | { kind: "class"; not: boolean; items: ClassItem[]; fold: boolean };

/** One member of a class: the signed-char range lo..hi (a single byte has lo === hi). */
interface ClassItem {
  lo: number;
  hi: number;
  /** Compare with the subject byte lowered (no for an escaped byte, Redis compares it as is). */
  fold: boolean;
}

/** A compiled pattern; `match` may be called for many subjects. */
export interface Glob {
  /** True when the pattern is exactly `*` (matches every subject, even the empty one). */
  readonly all: boolean;
  match(subject: Uint8Array): boolean;
}

/** Work done by matches since the last reset (one step per token tried); for tests. */
export const globStats = { steps: 0 };

const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const BACKSLASH = 0x5c;
const CARET = 0x5e;
const DASH = 0x2d;

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** A byte as C's (signed) `char` on the platforms Redis is built for. */
function signed(c: number): number {
  return c >= 128 ? c - 256 : c;
}

function tokenize(p: Uint8Array, nocase: boolean): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < p.length) {
    const c = p[i]!;
    if (c === STAR) {
      // Consecutive stars are one star.
      if (tokens[tokens.length - 1]?.kind !== "star") tokens.push({ kind: "star" });
      i++;
    } else if (c === QUESTION) {
      tokens.push({ kind: "any" });
      i++;
    } else if (c === OPEN) {
      i++;
      const not = p[i] === CARET;
      if (not) i++;
      const items: ClassItem[] = [];
      while (true) {
        const rest = p.length - i;
        if (p[i] === BACKSLASH && rest >= 2) {
          const x = signed(p[i + 1]!);
          items.push({ lo: x, hi: x, fold: false });
          i += 2;
        } else if (rest === 0) {
          break; // unterminated: the class runs to the end of the pattern
        } else if (p[i] === CLOSE) {
          i++;
          break;
        } else if (rest >= 3 && p[i + 1] === DASH) {
          let lo = signed(p[i]!);
          let hi = signed(p[i + 2]!);
          if (lo > hi) [lo, hi] = [hi, lo];
          if (nocase) [lo, hi] = [lower(lo), lower(hi)];
          items.push({ lo, hi, fold: nocase });
          i += 3;
        } else {
          const x = signed(nocase ? lower(p[i]!) : p[i]!);
          items.push({ lo: x, hi: x, fold: nocase });
          i++;
        }
      }
      tokens.push({ kind: "class", not, items, fold: nocase });
    } else if (c === BACKSLASH && i + 1 < p.length) {
      tokens.push({ kind: "byte", c: nocase ? lower(p[i + 1]!) : p[i + 1]!, fold: nocase });
      i += 2;
    } else {
      tokens.push({ kind: "byte", c: nocase ? lower(c) : c, fold: nocase });
      i++;
    }
  }
  return tokens;
}

/** Whether a one-byte token accepts byte `b`. */
function accepts(t: Token, b: number): boolean {
  switch (t.kind) {
    case "any":
      return true;
    case "byte":
      return (t.fold ? lower(b) : b) === t.c;
    case "class": {
      const raw = signed(b);
      const low = signed(lower(b));
      let hit = false;
      for (const it of t.items) {
        globStats.steps++;
        const x = it.fold ? low : raw;
        if (x >= it.lo && x <= it.hi) {
          hit = true;
          break;
        }
      }
      return hit !== t.not;
    }
    case "star":
      return false;
  }
}

function run(tokens: Token[], minLength: number, s: Uint8Array): boolean {
  if (s.length === 0) return tokens.length === 0;
  // Every token but `*` consumes one byte: a shorter subject cannot match.
  if (s.length < minLength) return false;
  let ti = 0;
  let si = 0;
  // Position of the last star seen and of the subject byte it would swallow next.
  let starTi = -1;
  let starSi = 0;
  while (si < s.length) {
    globStats.steps++;
    const t = tokens[ti];
    if (t?.kind === "star") {
      starTi = ti;
      starSi = si;
      ti++;
    } else if (t !== undefined && accepts(t, s[si]!)) {
      ti++;
      si++;
    } else if (starTi >= 0) {
      ti = starTi + 1;
      si = ++starSi;
    } else {
      return false;
    }
  }
  while (tokens[ti]?.kind === "star") ti++;
  return ti === tokens.length;
}

/** Compile `pattern` once for many subjects. */
export function compileGlob(pattern: Uint8Array, nocase = false): Glob {
  const all = pattern.length === 1 && pattern[0] === STAR;
  const tokens = tokenize(pattern, nocase);
  const minLength = tokens.filter((t) => t.kind !== "star").length;
  return { all, match: (s) => all || run(tokens, minLength, s) };
}

/** One Redis glob match of `subject` against `pattern`. */
export function globMatch(pattern: Uint8Array, subject: Uint8Array, nocase = false): boolean {
  return compileGlob(pattern, nocase).match(subject);
}
