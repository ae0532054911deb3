/**
 * The pure parts of scripting: C's %.Ng formatting (Lua 5.1 tostring), the integer →
 * float literal rewrite, shebang parsing (Redis 7.0 texts), rand48 (Redis's math.random),
 * and the rewrite of Lua 5.3 error texts into Lua 5.1's.
 */
import { describe, expect, it } from "vitest";
import { floatLiterals } from "../../src/scripting/float-literals.ts";
import { formatG, luaNumberToString } from "../../src/scripting/numfmt.ts";
import { Lrand48 } from "../../src/scripting/rand48.ts";
import { parseShebang, scriptRequestIsRead } from "../../src/scripting/shebang.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const rewrite = (s: string) => dec.decode(floatLiterals(enc.encode(s)));

describe("formatG (C printf %.Ng)", () => {
  it.each([
    [3, "3"],
    [0.1, "0.1"],
    [1 / 3, "0.33333333333333"],
    [1e14, "1e+14"],
    [123456789012345, "1.2345678901234e+14"],
    [1e20, "1e+20"],
    [1e-5, "1e-05"],
    [0.0001, "0.0001"],
    [2 ** 53, "9.007199254741e+15"],
    [-0.5, "-0.5"],
    [1e300, "1e+300"],
    [Infinity, "inf"],
    [-Infinity, "-inf"],
    [NaN, "-nan"],
    [100, "100"],
    [-0, "-0"],
  ])("%.14g of %s is %s", (v, want) => {
    expect(luaNumberToString(v)).toBe(want);
  });
  it("%.17g", () => {
    expect(formatG(0.1, 17)).toBe("0.10000000000000001");
    expect(formatG(3.5, 17)).toBe("3.5");
    expect(formatG(1e21, 17)).toBe("1e+21");
  });
});

describe("float literals", () => {
  it("rewrites integer literals, leaves floats, strings, comments and names alone", () => {
    expect(rewrite("return 1 + 2")).toBe("return 1.0 + 2.0");
    expect(rewrite("return 0xff, 0x10")).toBe("return 255.0, 16.0");
    expect(rewrite("return 1.5, 1e3, 2E-2, .5")).toBe("return 1.5, 1e3, 2E-2, .5");
    expect(rewrite("local x1 = 'a 1' .. \"2\" -- 3\nreturn x1, [[4]], [==[5]==]")).toBe("local x1 = 'a 1' .. \"2\" -- 3\nreturn x1, [[4]], [==[5]==]");
    expect(rewrite("--[[ 1\n2 ]] return 7")).toBe("--[[ 1\n2 ]] return 7.0");
    expect(rewrite("return 'it\\'s 1', 9")).toBe("return 'it\\'s 1', 9.0");
    expect(rewrite("return t[1]")).toBe("return t[1.0]");
    expect(rewrite("return 99999999999999999999")).toBe("return 100000000000000000000.0");
  });
  it("keeps the same bytes when there is nothing to rewrite", () => {
    const b = enc.encode("return 'x'");
    expect(floatLiterals(b)).toBe(b);
  });
});

describe("shebang", () => {
  const p = (s: string) => parseShebang(enc.encode(s));
  it("accepts Redis 7.0's flags and Upstash's allow-key-locking", () => {
    expect(p("return 1")).toEqual({ compat: true, flags: new Set(), length: 0 });
    const r = p("#!lua flags=no-writes,allow-key-locking\nreturn 1");
    expect(typeof r).toBe("object");
    expect(r).toMatchObject({ compat: false, length: 39 });
    expect([...(r as { flags: Set<string> }).flags]).toEqual(["no-writes", "allow-key-locking"]);
    expect(p("#!lua flags=\nreturn 1")).toMatchObject({ compat: false });
  });
  it("refuses what Redis 7.0 refuses, with its texts", () => {
    expect(p("#!lua")).toBe("Invalid script shebang");
    expect(p("#!python\n")).toBe("Unexpected engine in script shebang: #!python");
    expect(p("#!lua flags=bogus\n")).toBe("Unexpected flag in script shebang: bogus");
    expect(p("#!lua name=x\n")).toBe("Unknown lua shebang option: name=x");
  });
});

describe("scriptRequestIsRead (router)", () => {
  it("EVAL_RO, EVALSHA_RO and EVAL with no-writes are reads; the rest go to the master", () => {
    expect(scriptRequestIsRead("EVAL_RO", enc.encode("return 1"))).toBe(true);
    expect(scriptRequestIsRead("evalsha_ro", enc.encode("abc"))).toBe(true);
    expect(scriptRequestIsRead("eval", enc.encode("#!lua flags=no-writes\nreturn 1"))).toBe(true);
    expect(scriptRequestIsRead("eval", enc.encode("#!lua flags=allow-key-locking\nreturn 1"))).toBe(false);
    expect(scriptRequestIsRead("eval", enc.encode("return redis.call('get', 'k')"))).toBe(false);
    expect(scriptRequestIsRead("evalsha", enc.encode("0".repeat(40)))).toBe(false);
  });
});

describe("rand48", () => {
  it("is Redis's generator: the same sequence for a seed", () => {
    const a = new Lrand48();
    const b = new Lrand48();
    a.seed(42);
    b.seed(42);
    const xs = [a.next(), a.next(), a.next()];
    expect([b.next(), b.next(), b.next()]).toEqual(xs);
    for (const x of xs) expect(x).toBeLessThan(2 ** 31);
    b.seed(43);
    expect(b.next()).not.toBe(xs[0]);
  });
});
