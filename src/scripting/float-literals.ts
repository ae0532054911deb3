/**
 * Redis embeds Lua 5.1, where every number is a double. Fengari is Lua 5.3 with 32-bit
 * integers that wrap around (2147483647 + 1 == -2147483648), which a script would observe
 * (`1000 * 3600 * 24 * 30`, millisecond timestamps). We keep Lua 5.3's integers out of
 * scripts: this pass rewrites every integer literal of the source as a float literal
 * (`30` → `30.0`, `0xff` → `255.0`); the host pushes numbers as floats and tonumber /
 * math.floor / math.ceil return floats (vm.ts). Strings and comments are left untouched,
 * and line numbers do not change.
 */

const isDigit = (c: number) => c >= 48 && c <= 57;
const isAlpha = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isAlnum = (c: number) => isDigit(c) || isAlpha(c);
const DOT = 46;
const enc = new TextEncoder();

/** Length of a long bracket opener `[==[` at i (its level + 2), or 0 when there is none. */
function longBracket(src: Uint8Array, i: number): number {
  if (src[i] !== 91) return 0;
  let j = i + 1;
  while (src[j] === 61) j++;
  return src[j] === 91 ? j - i + 1 : 0;
}

/** Index just after the closing `]==]` of a long bracket of `level` equal signs. */
function skipLong(src: Uint8Array, i: number, level: number): number {
  for (; i < src.length; i++) {
    if (src[i] !== 93) continue;
    let j = i + 1;
    let n = 0;
    while (src[j] === 61) (j++, n++);
    if (n === level && src[j] === 93) return j + 1;
  }
  return src.length;
}

/** The source with every integer literal rewritten as a float literal. */
export function floatLiterals(src: Uint8Array): Uint8Array {
  const out: Uint8Array[] = [];
  let copied = 0;
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === 45 && src[i + 1] === 45) {
      // A comment: long or to the end of the line.
      const lb = longBracket(src, i + 2);
      if (lb) i = skipLong(src, i + 2 + lb, lb - 2);
      else {
        while (i < src.length && src[i] !== 10) i++;
      }
    } else if (c === 91 && longBracket(src, i)) {
      const lb = longBracket(src, i);
      i = skipLong(src, i + lb, lb - 2);
    } else if (c === 34 || c === 39) {
      i++;
      while (i < src.length && src[i] !== c && src[i] !== 10) i += src[i] === 92 ? 2 : 1;
      i++;
    } else if (isAlpha(c)) {
      while (i < src.length && isAlnum(src[i]!)) i++;
    } else if (isDigit(c) || (c === DOT && isDigit(src[i + 1] ?? 0))) {
      const start = i;
      const hex = c === 48 && (src[i + 1] === 120 || src[i + 1] === 88);
      const expChars = hex ? [112, 80] : [101, 69];
      if (hex) i += 2;
      let float = false;
      while (i < src.length) {
        const d = src[i]!;
        if (expChars.includes(d) && (src[i + 1] === 43 || src[i + 1] === 45)) {
          float = true;
          i += 2;
        } else if (isAlnum(d) || d === DOT) {
          if (d === DOT || expChars.includes(d)) float = true;
          i++;
        } else break;
      }
      if (!float) {
        const text = new TextDecoder().decode(src.subarray(start, i));
        let repl: string | null = null;
        if (hex) {
          if (/^0[xX][0-9a-fA-F]+$/.test(text)) repl = floatText(Number(BigInt(text)));
        } else if (/^[0-9]+$/.test(text)) {
          repl = floatText(Number(text));
        }
        if (repl !== null) {
          out.push(src.subarray(copied, start), enc.encode(repl));
          copied = i;
        }
      }
    } else {
      i++;
    }
  }
  if (copied === 0) return src;
  out.push(src.subarray(copied));
  let n = 0;
  for (const p of out) n += p.length;
  const r = new Uint8Array(n);
  let o = 0;
  for (const p of out) (r.set(p, o), (o += p.length));
  return r;
}

function floatText(v: number): string {
  const s = String(v);
  return /[.e]/.test(s) ? s : `${s}.0`;
}
