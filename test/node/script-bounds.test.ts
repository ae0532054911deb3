/**
 * What a script may cost (SPEC §6), through the deployed bundle, where the string bound is in
 * force for every way of making a string (src/scripting/string-bounds.ts; the Workers test
 * pool loads Fengari's modules separately). Found by an audit: one EVAL_RO from the read-only
 * token, doubling a string 28 times, took the whole local runtime down; table.concat,
 * string.format and gsub built strings of 256 MiB–1 GiB; a script's reply was not counted
 * against the output limit; a read-only token could cache 114 MB of script bodies.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker, type TestWorker } from "./support/worker.ts";

let w: TestWorker;

beforeAll(async () => {
  w = await startWorker();
});
afterAll(async () => {
  await w?.dispose();
});

async function rest(argv: (string | number)[], token = w.token, db = "bounds"): Promise<{ status: number; result?: unknown; error?: string }> {
  const res = await fetch(`${w.url}/db/${db}`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(argv) });
  return { status: res.status, ...((await res.json()) as { result?: unknown; error?: string }) };
}

describe("script bounds", () => {
  it("a string past 16 MiB cannot be made, however it is built; the node keeps serving", async () => {
    const ro = w.readonlyToken;
    const doubling = await rest(["EVAL_RO", "local s = 'x' for i = 1, 28 do s = s .. s end return #s", "0"], ro);
    expect(doubling.status).toBe(400);
    expect(doubling.error).toMatch(/string length overflow/);
    const builders: [string, RegExp][] = [
      ["local s = string.rep('x', 2^20) local t = {} for i = 1, 1000 do t[i] = s end return #table.concat(t)", /resulting string too large/],
      ["local s = string.rep('x', 2^20) return #string.format(string.rep('%s', 20), " + Array(20).fill("s").join(", ") + ")", /resulting string too large/],
      ["return #string.gsub(string.rep('x', 2^20), '.', '%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0')", /resulting string too large/],
      ["local s = string.rep('x', 2^20) return #string.gsub(string.rep('y', 100), '.', function() return s end)", /resulting string too large/],
      ["local s = string.rep('x', 2^20) return #string.gsub(string.rep('y', 100), '.', {y = s})", /resulting string too large/],
      ["local s = string.rep('x', 2^24) return #(s .. 'y')", /string length overflow/],
      ["local s = string.rep('x', 2^23) return #string.upper(s .. s .. 'z')", /string length overflow/],
    ];
    for (const [script, why] of builders) {
      const r = await rest(["EVAL_RO", script, "0"], ro);
      expect(r.error, script).toMatch(why);
    }
    // Within the bounds the same functions work as in Redis.
    expect((await rest(["EVAL_RO", "local s = string.rep('ab', 2^19) return #table.concat({s, s}, '-')", "0"], ro)).result).toBe(2 ** 21 + 1);
    expect((await rest(["EVAL_RO", "return (string.gsub('hello world', '(o)', '[%1%0]'))", "0"], ro)).result).toBe("hell[oo] w[oo]rld");
    expect((await rest(["EVAL_RO", "return (string.gsub('abc', '%w', {a = 1, b = false}))", "0"], ro)).result).toBe("1bc");
    expect((await rest(["EVAL_RO", "return (string.gsub('abc', '%w', {b = true}))", "0"], ro)).error).toMatch(/invalid replacement value \(a boolean\)/);
    expect((await rest(["EVAL_RO", "return string.format('%q|%5.2f', 'a\\nb', 3.14159)", "0"], ro)).result).toBe('"a\\\nb"| 3.14');
    expect((await rest(["EVAL_RO", "local s = string.rep('x', 2^24) return #s", "0"], ro)).result).toBe(2 ** 24);
    expect((await rest(["PING"], ro)).result).toBe("PONG");
    expect((await rest(["PING"], ro, "another-db")).result).toBe("PONG");
  });

  it("the bounded functions answer as Redis's own: results near the bound, and their errors' texts (redis-server 7.0.15)", async () => {
    const run = async (script: string) => {
      const r = await rest(["EVAL", script, "0"]);
      return r.error !== undefined ? r.error.replace(/ script: [0-9a-f]{40}, on @user_script:\d+\.$/, "") : r.result;
    };
    expect(await run("local s=string.rep('x',5*1024*1024) return #string.format('%s',s)")).toBe(5 * 1024 * 1024);
    expect(await run("local s=string.rep('x',9*1024*1024) return #string.gsub(s,'x+',function(c) return c end)")).toBe(9 * 1024 * 1024);
    expect(await run("return table.concat({1,{},3})")).toBe("ERR user_script:1: invalid value (table) at index 2 in table for 'concat'");
    expect(await run("return string.format('%d','x')")).toBe("ERR user_script:1: bad argument #2 to 'format' (number expected, got string)");
    expect(await run("return string.gsub('x','[','y')")).toBe("ERR user_script:1: malformed pattern (missing ']')");
    expect(await run("return string.format()")).toBe("ERR user_script:1: bad argument #1 to 'format' (string expected, got no value)");
    expect(await run("return string.gsub('abc')")).toBe("ERR user_script:1: bad argument #2 to 'gsub' (string expected, got no value)");
    expect(await run("return table.concat(nil)")).toBe("ERR user_script:1: bad argument #1 to 'concat' (table expected, got nil)");
    expect(await run("local ok, e = pcall(string.gsub, 'abc', 'b', '%2') return e")).toMatch(/^invalid capture index/);
    expect(await run("return (string.gsub('abc', '(b)', '[%1]'))")).toBe("a[b]c");
    expect(await run("return (string.gsub('abc', 'b', function() error('boom') end))")).toMatch(/^ERR user_script:1: boom/);
  });

  it("a script's reply counts against the output limit", async () => {
    const r = await rest(["EVAL_RO", "local s = string.rep('x', 2^23) return {s, s, s, s}", "0"], w.readonlyToken);
    expect(r.error).toBe("ERR reply exceeds the output limit of 25165824 bytes (values not yet sent to the client)");
    const ok = await rest(["EVAL_RO", "local s = string.rep('x', 2^23) return {#s, s}", "0"], w.readonlyToken);
    expect((ok.result as unknown[])[0]).toBe(2 ** 23);
  });

  it("script bodies are bounded one by one and together; the oldest are evicted", async () => {
    const db = "bodies";
    const big = await rest(["EVAL", `return 1 --${"-".repeat(1_100_000)}`, "0"], w.token, db);
    expect(big.error).toBe("ERR script exceeds the limit of 1048576 bytes");
    expect((await rest(["SCRIPT", "LOAD", "return 'first'"], w.token, db)).status).toBe(200);
    for (let i = 0; i < 12; i++) {
      const r = await rest(["EVAL_RO", `return ${i} --${"-".repeat(1_000_000)}`, "0"], w.readonlyToken, db);
      expect(r.result).toBe(i);
    }
    const info = String((await rest(["INFO", "memory"], w.token, db)).result);
    const bytes = Number(/used_memory_scripts:(\d+)/.exec(info)![1]);
    const count = Number(/number_of_cached_scripts:(\d+)/.exec(info)![1]);
    expect(bytes).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect(count).toBeLessThan(12);
    // The oldest went first; EVALSHA of an evicted script answers NOSCRIPT, as after SCRIPT FLUSH.
    const sha = (await rest(["SCRIPT", "LOAD", "return 'first'"], w.token, db)).result as string;
    expect((await rest(["EVALSHA", sha, "0"], w.token, db)).result).toBe("first");
  });
});
