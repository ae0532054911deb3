/**
 * Lua scripting in the Workers runtime (Fengari inside workerd): EVAL end to end, Redis
 * 7.0's replies and error texts, replication by effects, the replicated script cache, the
 * time limit with rollback, and checks made on redis.call.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newSession } from "../../src/keyspace/command.ts";
import { datasetDigest } from "../../src/keyspace/digest.ts";
import { Engine } from "../../src/keyspace/engine.ts";
import type { Reply } from "../../src/protocol/reply.ts";
import { encodeReply } from "../../src/protocol/resp.ts";
import { utf8 } from "../../src/util/bytes.ts";
import { norm, run, stream, stubServices, withEngine } from "./harness.ts";

describe("scripting", () => {
  it("EVAL 'return 1+1' runs in workerd", async () => {
    await withEngine((h) => {
      expect(run(h, "eval", "return 1+1", 0)).toBe(2);
    });
  });

  it("conversions: numbers truncated, false → nil, tables stop at the first nil, status and error tables", async () => {
    await withEngine((h) => {
      expect(run(h, "eval", "return {1,2,3.99,'a',false,nil,5}", 0)).toEqual([1, 2, 3, "a", null]);
      expect(run(h, "eval", "return 3.99", 0)).toBe(3);
      expect(run(h, "eval", "return -3.99", 0)).toBe(-3);
      expect(run(h, "eval", "return true", 0)).toBe(1);
      expect(run(h, "eval", "return false", 0)).toBe(null);
      expect(run(h, "eval", "return {ok='FINE'}", 0)).toBe("+FINE");
      expect(run(h, "eval", "return redis.error_reply('MY oops')", 0)).toEqual({ err: "MY oops" });
      expect(run(h, "eval", "return tostring(3)..' '..tostring(10/2)..' '..tostring(1e20)..' '..tostring(0.1)", 0)).toBe("3 5 1e+20 0.1");
      expect(run(h, "eval", "return 2147483647 + 1", 0)).toBe(2147483648);
      expect(run(h, "eval", "return {KEYS[1], ARGV[1], #KEYS, #ARGV}", 1, "k", "a", "b")).toEqual(["k", "a", 1, 2]);
    });
  });

  it("error texts are Redis 7.0's", async () => {
    await withEngine((h) => {
      const sha = (s: string) => run(h, "script", "load", s) as string;
      expect(run(h, "eval", "return x", 0)).toEqual({
        err: `ERR user_script:1: Script attempted to access nonexistent global variable 'x' script: ${sha("return x")}, on @user_script:1.`,
      });
      expect(run(h, "eval", "x = 1", 0)).toEqual({ err: `ERR user_script:1: Attempt to modify a readonly table script: ${sha("x = 1")}, on @user_script:1.` });
      expect(run(h, "eval", "return redis.call('nosuch')", 0)).toEqual({
        err: `ERR Unknown Redis command called from script script: ${sha("return redis.call('nosuch')")}, on @user_script:1.`,
      });
      expect(run(h, "eval", "return 1 +", 0)).toEqual({ err: "ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'" });
      expect(run(h, "evalsha", "0".repeat(40), 0)).toEqual({ err: "NOSCRIPT No matching script. Please use EVAL." });
      expect(run(h, "evalsha", "abc", 0)).toEqual({ err: "NOSCRIPT No matching script. Please use EVAL." });
      expect(run(h, "eval", "return 1", 2, "a")).toEqual({ err: "ERR Number of keys can't be greater than number of args" });
      expect(run(h, "eval", "return 1", -1)).toEqual({ err: "ERR Number of keys can't be negative" });
      expect(run(h, "eval", "return 1", "x")).toEqual({ err: "ERR value is not an integer or out of range" });
      expect(run(h, "eval", "#!lua flags=bogus\nreturn 1", 0)).toEqual({ err: "ERR Unexpected flag in script shebang: bogus" });
      expect(run(h, "eval", "#!python\nreturn 1", 0)).toEqual({ err: "ERR Unexpected engine in script shebang: #!python" });
      expect(run(h, "eval", "#!lua", 0)).toEqual({ err: "ERR Invalid script shebang" });
      expect(run(h, "set", "h", "v")).toBe("+OK");
      expect(run(h, "eval", "return redis.pcall('hset', 'h', 'f', 'v')", 0)).toEqual({ err: "WRONGTYPE Operation against a key holding the wrong kind of value" });
      expect(run(h, "eval", "local ok, e = pcall(redis.call, 'hset', 'h', 'f', 'v') return e", 0)).toBe(
        "WRONGTYPE Operation against a key holding the wrong kind of value",
      );
    });
  });

  it("error and status tables become protocol lines as redis-server 7.0.15 writes them (a leading '-' kept, line ends)", async () => {
    await withEngine((h) => {
      // Bytes recorded from redis-server 7.0.15 for the same EVALs.
      const cases: [string, string][] = [
        ["return {err='-X'}", "--X"],
        ["return {err='X'}", "-X"],
        ["return {err='\\n-X'}", "- -X"],
        ["return {err=''}", "-"],
        ["error({err='X'})", "-X script: 4fab0db337a2ae3e37d0970d9d0e563eeefba535, on @user_script:1."],
        ["error({err='-X'})", "--X script: 33a8e8dd83d21c047a6b3e4d58b60c7ba331e2aa, on @user_script:1."],
        ["error({err='X\\nY\\n'})", "-X Y  script: 2236cf9c4d388c89eba962bdd03861fec3f54d42, on @user_script:1."],
        ["error({err='-MY code'})", "--MY code script: 36b36c561fa7cc14cf5602e4a01606cf91dc9cbb, on @user_script:1."],
        ["return redis.error_reply('a\\nb')", "-ERR a b"],
        ["return redis.error_reply('\\nbad\\r\\nthing\\n')", "-ERR bad  thing"],
        ["return redis.status_reply('\\nok\\r\\n')", "+ ok  "],
        ["return {err='X\\n'}", "-X"],
      ];
      for (const [body, line] of cases) expect([body, new TextDecoder().decode(encodeReply(h.run("EVAL", body, "0")))]).toEqual([body, `${line}\r\n`]);
    });
  });

  it("EVAL_RO and no-writes refuse writes; SCRIPT LOAD/EXISTS/FLUSH", async () => {
    await withEngine((h) => {
      const body = "return redis.call('set', KEYS[1], ARGV[1])";
      const sha = run(h, "script", "load", body) as string;
      expect(sha).toMatch(/^[0-9a-f]{40}$/);
      expect(run(h, "script", "exists", sha, "0".repeat(40))).toEqual([1, 0]);
      expect(run(h, "evalsha_ro", sha, 1, "k", "v")).toEqual({ err: `ERR Write commands are not allowed from read-only scripts. script: ${sha}, on @user_script:1.` });
      expect(run(h, "evalsha", sha.toUpperCase(), 1, "k", "v")).toBe("+OK");
      expect(run(h, "eval", "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", 1, "k")).toBe("v");
      expect(run(h, "eval_ro", "#!lua\nreturn 1", 0)).toEqual({ err: "ERR Can not execute a script with write flag using *_ro command." });
      expect(run(h, "script", "flush", "bad")).toEqual({ err: "ERR SCRIPT FLUSH only support SYNC|ASYNC option" });
      expect(run(h, "script", "flush", "async")).toBe("+OK");
      expect(run(h, "evalsha", sha, 1, "k", "v")).toEqual({ err: "NOSCRIPT No matching script. Please use EVAL." });
      expect(run(h, "script", "kill")).toEqual({ err: "NOTBUSY No scripts in execution right now." });
    });
  });

  it("allow-key-locking (Upstash) is accepted and limits a script to its declared keys", async () => {
    await withEngine((h) => {
      expect(run(h, "eval", "#!lua flags=allow-key-locking\nreturn redis.call('incr', KEYS[1])", 1, "a")).toBe(1);
      const r = run(h, "eval", "#!lua flags=allow-key-locking\nreturn redis.call('incr', 'other')", 1, "a") as { err: string };
      expect(r.err).toMatch(/^ERR Dynamic keys are not allowed in Lua scripts when 'allow-key-locking' flag is set\. Key was: other script: /);
    });
  });

  it("a script's writes propagate as effects wrapped in MULTI/EXEC, after SCRIPT LOAD of the body", async () => {
    await withEngine((h) => {
      const body = "redis.call('set', KEYS[1], '1') redis.call('expire', KEYS[1], 100) return redis.call('incr', KEYS[1])";
      expect(run(h, "eval", body, 1, "k")).toBe(2);
      const s = stream(h);
      expect(s[0]).toEqual(["SELECT", "0"]);
      expect(s[1]).toEqual(["MULTI"]);
      expect(s[2]).toEqual(["SCRIPT", "LOAD", body]);
      expect(s[3]).toEqual(["set", "k", "1"]);
      expect(s[4]![0]).toBe("PEXPIREAT");
      expect(s[5]).toEqual(["incr", "k"]);
      expect(s[6]).toEqual(["EXEC"]);
      // The second run does not send the body again, and a read-only script sends nothing.
      const before = s.length;
      run(h, "eval", body, 1, "k");
      run(h, "eval", "return redis.call('get', KEYS[1])", 1, "k");
      const s2 = stream(h);
      expect(s2.slice(before).filter((c) => c[0] === "SCRIPT").map((c) => c[2])).toEqual(["return redis.call('get', KEYS[1])"]);
    });
  });

  it("EVAL inside MULTI: the transaction's effects and the script's are one MULTI/EXEC", async () => {
    await withEngine((h) => {
      expect(run(h, "multi")).toBe("+OK");
      expect(run(h, "set", "a", "1")).toBe("+QUEUED");
      expect(run(h, "eval", "return redis.call('incr', KEYS[1])", 1, "a")).toBe("+QUEUED");
      expect(run(h, "exec")).toEqual(["+OK", 2]);
      const s = stream(h);
      expect(s.filter((c) => c[0] === "MULTI").length).toBe(1);
      expect(s.slice(-5)).toEqual([["MULTI"], ["set", "a", "1"], ["SCRIPT", "LOAD", "return redis.call('incr', KEYS[1])"], ["incr", "a"], ["EXEC"]]);
    });
  });

  it("a runaway script is stopped, its writes rolled back, and the node serves again", async () => {
    const stub = env.NODES.get(env.NODES.idFromName(`script-runaway-${Date.now()}`));
    await runInDurableObject(stub, async (_obj: unknown, state: DurableObjectState) => {
      const engine = new Engine(state.storage.sql, { transaction: (fn) => state.storage.transactionSync(fn) });
      engine.node = { ...stubServices, configGet: (p) => (p === "busy-reply-threshold" ? [["busy-reply-threshold", "200"]] : []) };
      const s = newSession();
      const exec = (...a: (string | number)[]) => norm(engine.execute(s, a.map((x) => utf8(String(x)))) as Reply);
      expect(exec("set", "keep", "1")).toBe("+OK");
      const before = datasetDigest(engine.ks);
      const r = exec("eval", "redis.call('set', 'keep', '2') redis.call('set', 'new', 'x') while true do end", 0) as { err: string };
      expect(r.err).toMatch(/^ERR Script exceeded the time limit of 200 ms/);
      expect(exec("get", "keep")).toBe("1");
      expect(exec("exists", "new")).toBe(0);
      expect(datasetDigest(engine.ks)).toEqual(before);
      // pcall cannot swallow the stop.
      const r2 = exec("eval", "while true do pcall(function() while true do end end) end", 0) as { err: string };
      expect(r2.err).toMatch(/^ERR Script exceeded the time limit/);
      expect(exec("ping")).toBe("+PONG");
    });
  });
});
