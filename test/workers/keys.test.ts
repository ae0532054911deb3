import { describe, expect, it } from "vitest";
import { NilArray, RedisError, type Reply, RespDouble, Simple } from "../../src/protocol/reply.ts";
import { TYPE } from "../../src/keyspace/schema.ts";
import { newSession } from "../../src/keyspace/command.ts";
import { str, utf8 } from "../../src/util/bytes.ts";
import { type EngineHarness, withEngine, norm, run, stream } from "./harness.ts";




/** A set key built directly in storage (the set commands live elsewhere). */
function makeSet(h: EngineHarness, key: string, members: string[], db = 0): void {
  const ks = h.engine.ks;
  const m = ks.create(db, utf8(key), TYPE.set);
  for (const x of members) ks.sql.exec("INSERT INTO kv_set (kid, member) VALUES (?, ?)", m.id, utf8(x));
  m.card = members.length;
  ks.saveCollection(m);
}

const T0 = 1_700_000_000_000;

describe("keys: DEL UNLINK EXISTS TYPE", () => {
  it("counts existing keys and propagates only when something was deleted", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      run(h, "set", "a", "1");
      run(h, "set", "b", "2");
      expect(run(h, "exists", "a", "b", "c", "a")).toBe(3);
      expect(run(h, "del", "nope")).toBe(0);
      expect(run(h, "del", "a", "nope", "a")).toBe(1);
      expect(run(h, "unlink", "b")).toBe(1);
      expect(run(h, "exists", "a", "b")).toBe(0);
      expect(run(h, "del")).toEqual({ err: "ERR wrong number of arguments for 'del' command" });
      expect(stream(h).slice(3)).toEqual([
        ["del", "a", "nope", "a"],
        ["unlink", "b"],
      ]);
    });
  });

  it("TYPE names every type, none for a missing key", async () => {
    await withEngine((h) => {
      run(h, "set", "s", "v");
      makeSet(h, "set", ["x"]);
      expect(run(h, "type", "s")).toBe("+string");
      expect(run(h, "type", "set")).toBe("+set");
      expect(run(h, "type", "zz")).toBe("+none");
    });
  });
});

describe("keys: expiry", () => {
  it("EXPIRE family sets absolute times and propagates PEXPIREAT", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      run(h, "set", "k", "v");
      expect(run(h, "expire", "k", 100)).toBe(1);
      expect(run(h, "pttl", "k")).toBe(100_000);
      expect(run(h, "pexpire", "k", 1500)).toBe(1);
      expect(run(h, "ttl", "k")).toBe(2); // (1500 + 500) / 1000
      h.setNow(T0 + 1001);
      expect(run(h, "ttl", "k")).toBe(0); // 499 ms left rounds to 0
      expect(run(h, "pttl", "k")).toBe(499);
      expect(run(h, "expireat", "k", T0 / 1000 + 50)).toBe(1);
      expect(run(h, "pexpireat", "k", T0 + 60_000)).toBe(1);
      expect(run(h, "expiretime", "k")).toBe(T0 / 1000 + 60);
      expect(run(h, "pexpiretime", "k")).toBe(T0 + 60_000);
      expect(run(h, "expire", "missing", 10)).toBe(0);
      expect(stream(h).slice(2)).toEqual([
        ["PEXPIREAT", "k", String(T0 + 100_000)],
        ["PEXPIREAT", "k", String(T0 + 1500)],
        ["PEXPIREAT", "k", String(T0 + 50_000)],
        ["pexpireat", "k", String(T0 + 60_000)],
      ]);
    });
  });

  it("TTL/PTTL/EXPIRETIME: -2 missing, -1 without TTL, -2 once logically expired", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      run(h, "set", "k", "v");
      for (const c of ["ttl", "pttl", "expiretime", "pexpiretime"]) {
        expect(run(h, c, "k")).toBe(-1);
        expect(run(h, c, "nope")).toBe(-2);
      }
      run(h, "pexpire", "k", 10);
      h.setNow(T0 + 10);
      expect(run(h, "ttl", "k")).toBe(-2);
      expect(run(h, "exists", "k")).toBe(0);
      // The lazy expiry propagated a DEL.
      expect(stream(h).at(-1)).toEqual(["DEL", "k"]);
    });
  });

  it("a time in the past deletes the key and propagates DEL", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      run(h, "set", "k", "v");
      run(h, "set", "j", "v");
      expect(run(h, "expire", "k", -1)).toBe(1);
      expect(run(h, "pexpireat", "j", T0)).toBe(1);
      expect(run(h, "exists", "k", "j")).toBe(0);
      expect(stream(h).slice(3)).toEqual([
        ["DEL", "k"],
        ["DEL", "j"],
      ]);
    });
  });

  it("NX XX GT LT", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      run(h, "set", "k", "v");
      const cases: [string[], number][] = [
        [["100", "xx"], 0], // no TTL yet
        [["100", "gt"], 0], // no TTL counts as infinite
        [["100", "nx"], 1],
        [["200", "nx"], 0],
        [["50", "gt"], 0],
        [["150", "gt"], 1],
        [["150", "gt"], 0], // equal is not greater
        [["200", "lt"], 0],
        [["120", "lt"], 1],
        [["130", "xx"], 1],
        [["140", "XX", "GT"], 1],
      ];
      for (const [args, want] of cases) expect([args, run(h, "expire", "k", ...args)]).toEqual([args, want]);
      expect(run(h, "ttl", "k")).toBe(140);
      run(h, "persist", "k");
      expect(run(h, "expire", "k", "10", "lt")).toBe(1); // no TTL: LT always sets
    });
  });

  it("option and number errors, checked before the key, change nothing", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      run(h, "set", "k", "v");
      const cases: [string[], string][] = [
        [["expire", "k", "abc", "foo"], "ERR Unsupported option foo"],
        [["expire", "k", "10", "nx", "xx"], "ERR NX and XX, GT or LT options at the same time are not compatible"],
        [["expire", "k", "10", "nx", "gt"], "ERR NX and XX, GT or LT options at the same time are not compatible"],
        [["expire", "k", "10", "gt", "lt"], "ERR GT and LT options at the same time are not compatible"],
        [["expire", "k", "abc"], "ERR value is not an integer or out of range"],
        [["expire", "k", "1.5"], "ERR value is not an integer or out of range"],
        [["expire", "k", "99999999999999999"], "ERR invalid expire time in 'expire' command"],
        [["expireat", "k", "-99999999999999999"], "ERR invalid expire time in 'expireat' command"],
        [["pexpire", "k", "9223372036854775807"], "ERR invalid expire time in 'pexpire' command"],
        [["pexpire", "missing", "9223372036854775807"], "ERR invalid expire time in 'pexpire' command"],
        [["expire", "k"], "ERR wrong number of arguments for 'expire' command"],
      ];
      for (const [args, msg] of cases) expect([args, run(h, ...args)]).toEqual([args, { err: msg }]);
      expect(run(h, "ttl", "k")).toBe(-1);
      expect(stream(h)).toHaveLength(2); // SELECT + SET
    });
  });

  it("times beyond 2^53 ms are accepted and answered within int64", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      run(h, "set", "k", "v");
      expect(run(h, "pexpireat", "k", "9223372036854775807")).toBe(1);
      expect(run(h, "pexpiretime", "k")).toBe(9223372036854775807n);
      expect(typeof run(h, "pttl", "k")).toBe("bigint");
      expect(stream(h).at(-1)).toEqual(["pexpireat", "k", "9223372036854775807"]);
    });
  });

  it("a replica applying the stream keeps a key whose PEXPIREAT is already past", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      const link = newSession({ isMasterLink: true });
      const apply = (...a: string[]) => norm(h.engine.applyFromMaster(link, a.map(utf8)));
      apply("SET", "k", "v");
      expect(apply("PEXPIREAT", "k", String(T0 - 1000))).toBe(1);
      expect(h.engine.ks.peek(0, utf8("k"))?.expireMs).toBe(T0 - 1000);
      expect(apply("DEL", "k")).toBe(1);
    });
  });

  it("PERSIST removes a TTL once", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      run(h, "set", "k", "v", "ex", 100);
      expect(run(h, "persist", "k")).toBe(1);
      expect(run(h, "persist", "k")).toBe(0);
      expect(run(h, "persist", "nope")).toBe(0);
      expect(run(h, "ttl", "k")).toBe(-1);
      expect(stream(h).slice(2)).toEqual([["persist", "k"]]);
    });
  });
});

describe("keys: KEYS SCAN RANDOMKEY DBSIZE", () => {
  it("KEYS matches globs and skips expired keys", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      for (const k of ["hello", "hallo", "hxllo", "hllo", "heeeello", "other", "h*"]) run(h, "set", k, "1");
      run(h, "set", "hexp", "1", "px", 5);
      h.setNow(T0 + 10);
      const sorted = (p: string) => (run(h, "keys", p) as string[]).sort();
      expect(sorted("h?llo")).toEqual(["hallo", "hello", "hxllo"]);
      expect(sorted("h*llo")).toEqual(["hallo", "heeeello", "hello", "hllo", "hxllo"]);
      expect(sorted("h[ae]llo")).toEqual(["hallo", "hello"]);
      expect(sorted("h[^e]llo")).toEqual(["hallo", "hxllo"]);
      expect(sorted("he*")).toEqual(["heeeello", "hello"]);
      expect(sorted("h\\*")).toEqual(["h*"]);
      expect(sorted("*")).toHaveLength(7);
      expect(sorted("nomatch*")).toEqual([]);
      run(h, "select", 1);
      expect(sorted("*")).toEqual([]);
    });
  });

  it("SCAN walks every key once with a key-id cursor, ending at 0", async () => {
    await withEngine((h) => {
      const names = Array.from({ length: 25 }, (_, i) => `key:${i}`);
      for (const k of names) run(h, "set", k, "v");
      run(h, "select", 1);
      run(h, "set", "elsewhere", "v");
      run(h, "select", 0);
      const seen: string[] = [];
      let cursor = "0";
      let calls = 0;
      do {
        const [next, keys] = run(h, "scan", cursor, "count", 7) as [string, string[]];
        expect(keys.length).toBeLessThanOrEqual(7);
        seen.push(...keys);
        cursor = next;
        calls++;
      } while (cursor !== "0");
      expect(calls).toBe(4);
      expect(seen.sort()).toEqual([...names].sort());
      const [c, first] = run(h, "scan", 0) as [string, string[]];
      expect(first).toHaveLength(10);
      expect(Number(c)).toBeGreaterThan(0);
      expect(run(h, "scan", 0, "count", 100)).toEqual(["0", names]);
      expect(run(h, "scan", "99999999", "count", 100)).toEqual(["0", []]);
    });
  });

  it("SCAN MATCH and TYPE filter, and expired keys are not returned", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      run(h, "set", "a1", "v");
      run(h, "set", "a2", "v", "px", 5);
      run(h, "set", "b1", "v");
      makeSet(h, "a3", ["x"]);
      h.setNow(T0 + 10);
      expect(run(h, "scan", 0, "match", "a*", "count", 100)).toEqual(["0", ["a1", "a3"]]);
      expect(run(h, "scan", 0, "type", "SET")).toEqual(["0", ["a3"]]);
      expect(run(h, "scan", 0, "type", "string", "match", "*1")).toEqual(["0", ["a1", "b1"]]);
      expect(run(h, "scan", 0, "type", "nosuchtype")).toEqual(["0", []]);
      expect(stream(h).at(-1)).toEqual(["DEL", "a2"]);
    });
  });

  it("SCAN errors", async () => {
    await withEngine((h) => {
      const cases: [(string | number)[], string][] = [
        [["scan", "x"], "ERR invalid cursor"],
        [["scan", "-1"], "ERR invalid cursor"],
        [["scan", "0", "count", "0"], "ERR syntax error"],
        [["scan", "0", "count", "x"], "ERR value is not an integer or out of range"],
        [["scan", "0", "match"], "ERR syntax error"],
        [["scan", "0", "foo", "bar"], "ERR syntax error"],
      ];
      for (const [args, msg] of cases) expect([args, run(h, ...args)]).toEqual([args, { err: msg }]);
    });
  });

  it("RANDOMKEY: nil when empty, a live key otherwise, expired keys deleted on the way", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      expect(run(h, "randomkey")).toBe(null);
      run(h, "set", "x", "1", "px", 5);
      run(h, "set", "y", "1", "px", 5);
      run(h, "select", 2);
      run(h, "set", "other", "1");
      run(h, "select", 0);
      h.setNow(T0 + 10);
      expect(run(h, "randomkey")).toBe(null);
      expect(run(h, "dbsize")).toBe(0);
      for (const k of ["a", "b", "c"]) run(h, "set", k, "1");
      const got = new Set<unknown>();
      for (let i = 0; i < 60; i++) got.add(run(h, "randomkey"));
      expect([...got].sort()).toEqual(["a", "b", "c"]);
    });
  });

  it("DBSIZE counts the selected database", async () => {
    await withEngine((h) => {
      run(h, "mset", "a", "1", "b", "2");
      expect(run(h, "dbsize")).toBe(2);
      run(h, "select", 3);
      expect(run(h, "dbsize")).toBe(0);
    });
  });
});

describe("keys: RENAME RENAMENX COPY MOVE", () => {
  it("RENAME keeps the row and its TTL, replaces the destination", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      run(h, "set", "a", "va", "ex", 100);
      makeSet(h, "b", ["x", "y"]);
      const id = h.engine.ks.peek(0, utf8("a"))!.id;
      expect(run(h, "rename", "a", "b")).toBe("+OK");
      expect(run(h, "get", "b")).toBe("va");
      expect(run(h, "ttl", "b")).toBe(100);
      expect(run(h, "exists", "a")).toBe(0);
      expect(h.engine.ks.peek(0, utf8("b"))!.id).toBe(id);
      expect(h.engine.ks.sql.exec("SELECT count(*) AS n FROM kv_set").one().n).toBe(0);
      expect(run(h, "rename", "nope", "x")).toEqual({ err: "ERR no such key" });
      expect(run(h, "rename", "nope", "nope")).toEqual({ err: "ERR no such key" });
      expect(run(h, "rename", "b", "b")).toBe("+OK");
      expect(stream(h).slice(2)).toEqual([["rename", "a", "b"]]);
    });
  });

  it("RENAMENX", async () => {
    await withEngine((h) => {
      run(h, "set", "a", "1");
      run(h, "set", "b", "2");
      expect(run(h, "renamenx", "a", "b")).toBe(0);
      expect(run(h, "renamenx", "a", "a")).toBe(0);
      expect(run(h, "renamenx", "a", "c")).toBe(1);
      expect(run(h, "mget", "a", "b", "c")).toEqual([null, "2", "1"]);
      expect(run(h, "renamenx", "zz", "q")).toEqual({ err: "ERR no such key" });
      expect(stream(h).slice(-1)).toEqual([["renamenx", "a", "c"]]);
    });
  });

  it("COPY with DB and REPLACE copies value and TTL", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      run(h, "set", "s", "v", "px", 5000);
      makeSet(h, "set", ["a", "b", "c"]);
      expect(run(h, "copy", "s", "s2")).toBe(1);
      expect(run(h, "pttl", "s2")).toBe(5000);
      expect(run(h, "copy", "s", "s2")).toBe(0);
      expect(run(h, "copy", "set", "s2", "replace")).toBe(1);
      expect(run(h, "type", "s2")).toBe("+set");
      expect(run(h, "pttl", "s2")).toBe(-1);
      expect(h.engine.ks.peek(0, utf8("s2"))!.card).toBe(3);
      expect(run(h, "copy", "s", "s", "db", 1)).toBe(1);
      run(h, "select", 1);
      expect(run(h, "get", "s")).toBe("v");
      run(h, "select", 0);
      expect(run(h, "copy", "nope", "x")).toBe(0);
      const cases: [(string | number)[], string][] = [
        [["copy", "s", "s"], "ERR source and destination objects are the same"],
        [["copy", "s", "x", "db", 16], "ERR DB index is out of range"],
        [["copy", "s", "x", "db", -1], "ERR DB index is out of range"],
        [["copy", "s", "x", "db", "x"], "ERR value is not an integer or out of range"],
        [["copy", "s", "x", "db"], "ERR syntax error"],
        [["copy", "s", "x", "foo"], "ERR syntax error"],
      ];
      for (const [args, msg] of cases) expect([args, run(h, ...args)]).toEqual([args, { err: msg }]);
      expect(run(h, "exists", "x")).toBe(0);
    });
  });

  it("MOVE to another database", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      run(h, "set", "k", "v", "ex", 10);
      expect(run(h, "move", "k", 0)).toEqual({ err: "ERR source and destination objects are the same" });
      expect(run(h, "move", "k", 16)).toEqual({ err: "ERR DB index is out of range" });
      expect(run(h, "move", "k", 1)).toBe(1);
      expect(run(h, "move", "k", 1)).toBe(0);
      run(h, "select", 1);
      expect(run(h, "ttl", "k")).toBe(10);
      run(h, "set", "j", "v");
      run(h, "select", 0);
      run(h, "set", "j", "v0");
      expect(run(h, "move", "j", 1)).toBe(0);
    });
  });
});

describe("keys: SELECT FLUSHDB FLUSHALL", () => {
  it("SELECT switches databases; the stream gets SELECT before writes", async () => {
    await withEngine((h) => {
      expect(run(h, "select", 16)).toEqual({ err: "ERR DB index is out of range" });
      expect(run(h, "select", -1)).toEqual({ err: "ERR DB index is out of range" });
      expect(run(h, "select", "x")).toEqual({ err: "ERR value is not an integer or out of range" });
      expect(run(h, "select", "99999999999")).toEqual({ err: "ERR value is not an integer or out of range" });
      run(h, "set", "k", "0");
      expect(run(h, "select", 5)).toBe("+OK");
      expect(h.session.db).toBe(5);
      expect(run(h, "get", "k")).toBe(null);
      run(h, "set", "k", "5");
      expect(stream(h)).toEqual([
        ["SELECT", "0"],
        ["set", "k", "0"],
        ["SELECT", "5"],
        ["set", "k", "5"],
      ]);
    });
  });

  it("FLUSHDB empties one database and always propagates", async () => {
    await withEngine((h) => {
      run(h, "set", "a", "1");
      makeSet(h, "s", ["x"]);
      run(h, "select", 1);
      run(h, "set", "b", "1");
      run(h, "select", 0);
      expect(run(h, "flushdb")).toBe("+OK");
      expect(run(h, "dbsize")).toBe(0);
      expect(run(h, "exists", "a", "s")).toBe(0);
      // O(1): the rows are garbage, deleted by the cron's bounded steps.
      expect(h.engine.ks.sql.exec("SELECT count(*) AS n FROM kv_set").one().n).toBe(1);
      while (h.engine.ks.collectGarbage()) {}
      expect(h.engine.ks.sql.exec("SELECT count(*) AS n FROM kv_set").one().n).toBe(0);
      expect(h.engine.ks.sql.exec("SELECT count(*) AS n FROM kv_keys").one().n).toBe(1);
      expect(run(h, "flushdb", "async")).toBe("+OK");
      expect(run(h, "flushdb", "foo")).toEqual({ err: "ERR syntax error" });
      expect(run(h, "flushdb", "sync", "async")).toEqual({ err: "ERR syntax error" });
      run(h, "select", 1);
      expect(run(h, "dbsize")).toBe(1);
      expect(stream(h).slice(-2)).toEqual([["flushdb"], ["flushdb", "async"]]);
    });
  });

  it("FLUSHALL empties every database, propagates without SELECT", async () => {
    await withEngine((h) => {
      run(h, "set", "a", "1");
      run(h, "select", 1);
      run(h, "set", "b", "1");
      run(h, "select", 4);
      expect(run(h, "flushall", "SYNC")).toBe("+OK");
      expect(run(h, "dbsize")).toBe(0);
      run(h, "select", 1);
      expect(run(h, "get", "b")).toBe(null);
      while (h.engine.ks.collectGarbage()) {}
      expect(h.engine.ks.sql.exec("SELECT count(*) AS n FROM kv_keys").one().n).toBe(0);
      expect(run(h, "flushall", "x")).toEqual({ err: "ERR syntax error" });
      expect(stream(h).slice(-1)).toEqual([["flushall", "SYNC"]]);
      expect(stream(h).filter((c) => c[0] === "SELECT")).toHaveLength(2);
    });
  });

  it("FLUSHDB and FLUSHALL invalidate WATCH", async () => {
    await withEngine((h) => {
      const other = newSession();
      run(h, "set", "k", "1");
      h.run("watch", "k");
      h.engine.execute(other, [utf8("flushdb")]);
      h.run("multi");
      h.run("set", "k", "2");
      expect(run(h, "exec")).toBe("(nil array)");
      run(h, "set", "k", "1"); // FLUSHALL invalidates only keys that exist (Redis 7.0)
      h.run("watch", "k");
      h.engine.execute(other, [utf8("flushall")]);
      h.run("multi");
      h.run("set", "k", "2");
      expect(run(h, "exec")).toBe("(nil array)");
      h.run("watch", "k");
      h.run("multi");
      h.run("set", "k", "3");
      expect(run(h, "exec")).toEqual(["+OK"]);
    });
  });
});

describe("keys: glob patterns cost pattern × key, not exponential", () => {
  it("KEYS, SCAN MATCH, SSCAN/HSCAN/ZSCAN MATCH with 20 stars against 40-byte names answer", async () => {
    await withEngine((h) => {
      const name = "a".repeat(40);
      const hit = `${name}b`;
      const pattern = `${"a*".repeat(20)}b`;
      run(h, "set", name, "1");
      run(h, "set", hit, "1");
      run(h, "sadd", "s", name, hit);
      run(h, "hset", "h", name, "1", hit, "2");
      run(h, "zadd", "z", "1", name, "2", hit);
      expect(run(h, "keys", pattern)).toEqual([hit]);
      expect(run(h, "scan", "0", "match", pattern, "count", "100")).toEqual(["0", [hit]]);
      expect(run(h, "sscan", "s", "0", "match", pattern)).toEqual(["0", [hit]]);
      expect(run(h, "hscan", "h", "0", "match", pattern)).toEqual(["0", [hit, "2"]]);
      expect(run(h, "zscan", "z", "0", "match", pattern)).toEqual(["0", [hit, "2"]]);
    });
  });
});
