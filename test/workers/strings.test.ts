import { describe, expect, it } from "vitest";
import { TYPE } from "../../src/keyspace/schema.ts";
import { Keyspace } from "../../src/keyspace/store.ts";
import { LEGACY_STRING_CHUNK_BYTES, STRING_CHUNK_BYTES, VALUE_BYTES_MAX } from "../../src/limits.ts";
import { NilArray, RedisError, type Reply, RespDouble, Simple } from "../../src/protocol/reply.ts";
import { equal, str, utf8 } from "../../src/util/bytes.ts";
import { type EngineHarness, withEngine, norm, run, stream } from "./harness.ts";




/** Run commands and return what they propagated. */
function propagated(h: EngineHarness, ...cmds: (string | number)[][]): string[][] {
  const before = stream(h).length;
  for (const c of cmds) h.run(...c);
  return stream(h).slice(before).filter((c) => c[0] !== "SELECT");
}

function makeSet(h: EngineHarness, key: string): void {
  const ks = h.engine.ks;
  const m = ks.create(0, utf8(key), TYPE.set);
  ks.sql.exec("INSERT INTO kv_set (kid, member) VALUES (?, ?)", m.id, utf8("x"));
  m.card = 1;
  ks.saveCollection(m);
}

const T0 = 1_700_000_000_000;
const WRONGTYPE = { err: "WRONGTYPE Operation against a key holding the wrong kind of value" };

describe("strings: SET", () => {
  it("options: NX XX GET KEEPTTL and expire forms", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      expect(run(h, "set", "k", "v1")).toBe("+OK");
      expect(run(h, "get", "k")).toBe("v1");
      expect(run(h, "set", "k", "v2", "nx")).toBe(null);
      expect(run(h, "set", "k", "v2", "xx")).toBe("+OK");
      expect(run(h, "set", "n", "v", "xx")).toBe(null);
      expect(run(h, "exists", "n")).toBe(0);
      expect(run(h, "set", "k", "v3", "nx", "get")).toBe("v2");
      expect(run(h, "set", "k", "v3", "get")).toBe("v2");
      expect(run(h, "set", "n", "v", "get")).toBe(null);
      expect(run(h, "set", "n2", "v", "xx", "get")).toBe(null);
      expect(run(h, "exists", "n2")).toBe(0);
      expect(run(h, "set", "k", "v", "ex", 10)).toBe("+OK");
      expect(run(h, "pttl", "k")).toBe(10_000);
      expect(run(h, "set", "k", "v", "px", 1234)).toBe("+OK");
      expect(run(h, "pttl", "k")).toBe(1234);
      expect(run(h, "set", "k", "v", "keepttl")).toBe("+OK");
      expect(run(h, "pttl", "k")).toBe(1234);
      expect(run(h, "set", "k", "v")).toBe("+OK");
      expect(run(h, "pttl", "k")).toBe(-1); // SET drops the TTL
      expect(run(h, "set", "k", "v", "exat", T0 / 1000 + 20)).toBe("+OK");
      expect(run(h, "ttl", "k")).toBe(20);
      expect(run(h, "set", "k", "v", "pxat", T0 + 500)).toBe("+OK");
      expect(run(h, "pttl", "k")).toBe(500);
      expect(run(h, "set", "k", "v", "ex", 10, "ex", 20)).toBe("+OK"); // the same option twice: last wins
      expect(run(h, "ttl", "k")).toBe(20);
      expect(run(h, "set", "k", "v", "exat", 1)).toBe("+OK"); // already past: gone on next access
      expect(run(h, "exists", "k")).toBe(0);
    });
  });

  it("syntax and expire errors change nothing", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      run(h, "set", "k", "old");
      const cases: [(string | number)[], string][] = [
        [["set", "k", "v", "nx", "xx"], "ERR syntax error"],
        [["set", "k", "v", "xx", "nx"], "ERR syntax error"],
        [["set", "k", "v", "keepttl", "ex", "1"], "ERR syntax error"],
        [["set", "k", "v", "ex", "1", "keepttl"], "ERR syntax error"],
        [["set", "k", "v", "ex", "10", "px", "10"], "ERR syntax error"],
        [["set", "k", "v", "exat", "10", "pxat", "10"], "ERR syntax error"],
        [["set", "k", "v", "get", "ex"], "ERR syntax error"],
        [["set", "k", "v", "persist"], "ERR syntax error"],
        [["set", "k", "v", "foo"], "ERR syntax error"],
        [["set", "k", "v", "ex", "abc", "nx", "xx"], "ERR syntax error"],
        [["set", "k", "v", "ex", "abc"], "ERR value is not an integer or out of range"],
        [["set", "k", "v", "ex", "0"], "ERR invalid expire time in 'set' command"],
        [["set", "k", "v", "px", "-1"], "ERR invalid expire time in 'set' command"],
        [["set", "k", "v", "exat", "0"], "ERR invalid expire time in 'set' command"],
        [["set", "k", "v", "ex", "9223372036854776"], "ERR invalid expire time in 'set' command"],
        [["set", "k", "v", "px", "9223372036854775807"], "ERR invalid expire time in 'set' command"],
        [["set", "k"], "ERR wrong number of arguments for 'set' command"],
        [["setex", "k", "0", "v"], "ERR invalid expire time in 'setex' command"],
        [["setex", "k", "abc", "v"], "ERR value is not an integer or out of range"],
        [["psetex", "k", "-5", "v"], "ERR invalid expire time in 'psetex' command"],
      ];
      for (const [args, msg] of cases) expect([args, run(h, ...args)]).toEqual([args, { err: msg }]);
      expect(run(h, "get", "k")).toBe("old");
      expect(run(h, "ttl", "k")).toBe(-1);
      expect(stream(h)).toHaveLength(2);
    });
  });

  it("keeps the row of a string, replaces a key of another type", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      run(h, "set", "k", "a");
      const id = h.engine.ks.peek(0, utf8("k"))!.id;
      run(h, "set", "k", "b");
      run(h, "incr", "n");
      run(h, "append", "k", "c");
      expect(h.engine.ks.peek(0, utf8("k"))!.id).toBe(id);
      makeSet(h, "s");
      h.engine.ks.setExpire(h.engine.ks.peek(0, utf8("s"))!, T0 + 9000);
      expect(run(h, "set", "s", "v", "get")).toEqual(WRONGTYPE);
      expect(run(h, "type", "s")).toBe("+set");
      expect(run(h, "set", "s", "v", "keepttl")).toBe("+OK");
      expect(run(h, "get", "s")).toBe("v");
      expect(run(h, "pttl", "s")).toBe(9000);
      expect(h.engine.ks.sql.exec("SELECT count(*) AS n FROM kv_set").one().n).toBe(0);
    });
  });

  it("propagation: relative expire → PXAT, GET dropped, failed NX not propagated", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      expect(propagated(h, ["set", "k", "v", "ex", 10])).toEqual([["SET", "k", "v", "PXAT", String(T0 + 10_000)]]);
      expect(propagated(h, ["set", "k", "v", "px", 10, "nx"])).toEqual([]);
      expect(propagated(h, ["set", "k", "v", "PX", 10, "xx"])).toEqual([["SET", "k", "v", "PXAT", String(T0 + 10)]]);
      expect(propagated(h, ["set", "k", "v", "exat", 1_800_000_000])).toEqual([["SET", "k", "v", "PXAT", "1800000000000"]]);
      expect(propagated(h, ["set", "k", "v", "pxat", T0 + 5])).toEqual([["set", "k", "v", "pxat", String(T0 + 5)]]);
      expect(propagated(h, ["set", "k", "v2", "GET", "keepttl", "get"])).toEqual([["set", "k", "v2", "keepttl"]]);
      expect(propagated(h, ["set", "k", "v2", "get", "px", 100])).toEqual([["SET", "k", "v2", "PXAT", String(T0 + 100)]]);
      expect(propagated(h, ["setex", "k", 5, "x"])).toEqual([["SET", "k", "x", "PXAT", String(T0 + 5000)]]);
      expect(propagated(h, ["psetex", "k", 5, "x"])).toEqual([["SET", "k", "x", "PXAT", String(T0 + 5)]]);
      expect(run(h, "get", "k")).toBe("x");
    });
  });

  it("binary values and 16 MiB limit", async () => {
    await withEngine((h) => {
      const bin = new Uint8Array([0, 255, 13, 10, 0xc3]);
      h.run("set", "b", bin);
      expect(h.run("get", "b")).toEqual(bin);
      const big = new Uint8Array(VALUE_BYTES_MAX + 1);
      expect(norm(h.run("set", "big", big))).toEqual({ err: `ERR value exceeds the limit of ${VALUE_BYTES_MAX} bytes` });
      expect(norm(h.run("mset", "a", "1", "big", big))).toEqual({ err: `ERR value exceeds the limit of ${VALUE_BYTES_MAX} bytes` });
      expect(run(h, "exists", "a", "big")).toBe(0);
    });
  });
});

describe("strings: SETNX SETEX MGET MSET MSETNX GETSET GETDEL GETEX", () => {
  it("SETNX and MSETNX", async () => {
    await withEngine((h) => {
      expect(run(h, "setnx", "a", "1")).toBe(1);
      expect(run(h, "setnx", "a", "2")).toBe(0);
      expect(run(h, "msetnx", "a", "3", "b", "3")).toBe(0);
      expect(run(h, "exists", "b")).toBe(0);
      expect(run(h, "msetnx", "b", "1", "c", "2", "b", "3")).toBe(1);
      expect(run(h, "mget", "a", "b", "c")).toEqual(["1", "3", "2"]);
      expect(run(h, "msetnx", "x", "1", "y")).toEqual({ err: "ERR wrong number of arguments for 'msetnx' command" });
      expect(stream(h).slice(1)).toEqual([
        ["setnx", "a", "1"],
        ["msetnx", "b", "1", "c", "2", "b", "3"],
      ]);
    });
  });

  it("MSET and MGET (nil for missing and other types)", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      run(h, "set", "a", "old", "ex", 100);
      expect(run(h, "mset", "a", "1", "b", "2", "a", "3")).toBe("+OK");
      expect(run(h, "ttl", "a")).toBe(-1);
      makeSet(h, "s");
      expect(run(h, "mget", "a", "b", "nope", "s")).toEqual(["3", "2", null, null]);
      expect(run(h, "mset", "a", "1", "b")).toEqual({ err: "ERR wrong number of arguments for 'mset' command" });
      expect(run(h, "mset", "a")).toEqual({ err: "ERR wrong number of arguments for 'mset' command" });
      expect(run(h, "mset", "s", "now-a-string")).toBe("+OK");
      expect(run(h, "get", "s")).toBe("now-a-string");
    });
  });

  it("GETSET → SET, removes the TTL", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      run(h, "set", "k", "a", "ex", 100);
      expect(run(h, "getset", "k", "b")).toBe("a");
      expect(run(h, "ttl", "k")).toBe(-1);
      expect(run(h, "getset", "n", "x")).toBe(null);
      makeSet(h, "s");
      expect(run(h, "getset", "s", "x")).toEqual(WRONGTYPE);
      expect(stream(h).slice(-2)).toEqual([
        ["SET", "k", "b"],
        ["SET", "n", "x"],
      ]);
    });
  });

  it("GETDEL → DEL", async () => {
    await withEngine((h) => {
      run(h, "set", "k", "v");
      expect(run(h, "getdel", "k")).toBe("v");
      expect(run(h, "getdel", "k")).toBe(null);
      expect(run(h, "exists", "k")).toBe(0);
      makeSet(h, "s");
      expect(run(h, "getdel", "s")).toEqual(WRONGTYPE);
      expect(run(h, "exists", "s")).toBe(1);
      expect(stream(h).slice(-1)).toEqual([["DEL", "k"]]);
    });
  });

  it("GETEX: options, rewrites and errors", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      run(h, "set", "k", "v");
      expect(propagated(h, ["getex", "k"])).toEqual([]);
      expect(propagated(h, ["getex", "k", "persist"])).toEqual([]); // no TTL to remove
      expect(propagated(h, ["getex", "k", "ex", 10])).toEqual([["PEXPIREAT", "k", String(T0 + 10_000)]]);
      expect(run(h, "ttl", "k")).toBe(10);
      expect(propagated(h, ["getex", "k", "px", 10])).toEqual([["PEXPIREAT", "k", String(T0 + 10)]]);
      expect(propagated(h, ["getex", "k", "exat", 1_800_000_000])).toEqual([["PEXPIREAT", "k", "1800000000000"]]);
      expect(propagated(h, ["getex", "k", "pxat", T0 + 77])).toEqual([["PEXPIREAT", "k", String(T0 + 77)]]);
      expect(propagated(h, ["getex", "k", "persist"])).toEqual([["PERSIST", "k"]]);
      expect(run(h, "ttl", "k")).toBe(-1);
      expect(run(h, "getex", "k", "pxat", T0 - 1)).toBe("v");
      expect(run(h, "exists", "k")).toBe(0);
      expect(stream(h).at(-1)).toEqual(["DEL", "k"]);
      expect(run(h, "getex", "missing", "ex", "abc")).toBe(null);
      run(h, "set", "k", "v");
      const cases: [(string | number)[], string][] = [
        [["getex", "k", "persist", "ex", "1"], "ERR syntax error"],
        [["getex", "k", "ex", "1", "persist"], "ERR syntax error"],
        [["getex", "k", "keepttl"], "ERR syntax error"],
        [["getex", "k", "nx"], "ERR syntax error"],
        [["getex", "missing", "foo"], "ERR syntax error"],
        [["getex", "k", "ex", "abc"], "ERR value is not an integer or out of range"],
        [["getex", "k", "ex", "0"], "ERR invalid expire time in 'getex' command"],
        [["getex", "k", "ex"], "ERR syntax error"],
      ];
      for (const [args, msg] of cases) expect([args, run(h, ...args)]).toEqual([args, { err: msg }]);
      expect(run(h, "ttl", "k")).toBe(-1);
      makeSet(h, "s");
      expect(run(h, "getex", "s", "persist")).toEqual(WRONGTYPE);
    });
  });
});

describe("strings: counters", () => {
  it("INCR DECR INCRBY DECRBY keep the TTL and the int64 range", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      expect(run(h, "incr", "n")).toBe(1);
      expect(run(h, "incrby", "n", 41)).toBe(42);
      expect(run(h, "decr", "n")).toBe(41);
      expect(run(h, "decrby", "n", -9)).toBe(50);
      run(h, "expire", "n", 100);
      expect(run(h, "incr", "n")).toBe(51);
      expect(run(h, "ttl", "n")).toBe(100);
      run(h, "set", "big", "9223372036854775806");
      expect(run(h, "incr", "big")).toBe(9223372036854775807n);
      expect(run(h, "incr", "big")).toEqual({ err: "ERR increment or decrement would overflow" });
      expect(run(h, "get", "big")).toBe("9223372036854775807");
      run(h, "set", "small", "-9223372036854775807");
      expect(run(h, "decr", "small")).toBe(-9223372036854775808n);
      expect(run(h, "decr", "small")).toEqual({ err: "ERR increment or decrement would overflow" });
      expect(run(h, "decrby", "n", "-9223372036854775808")).toEqual({ err: "ERR decrement would overflow" });
      expect(run(h, "incrby", "n", "9223372036854775808")).toEqual({ err: "ERR value is not an integer or out of range" });
      expect(run(h, "incrby", "n", "1.5")).toEqual({ err: "ERR value is not an integer or out of range" });
      for (const bad of [" 1", "01", "1 ", "abc", "", "+1", "1".repeat(21)]) {
        run(h, "set", "s", bad);
        expect([bad, run(h, "incr", "s")]).toEqual([bad, { err: "ERR value is not an integer or out of range" }]);
      }
      makeSet(h, "set");
      expect(run(h, "incr", "set")).toEqual(WRONGTYPE);
      expect(stream(h).slice(1, 5)).toEqual([
        ["incr", "n"],
        ["incrby", "n", "41"],
        ["decr", "n"],
        ["decrby", "n", "-9"],
      ]);
    });
  });

  it("INCRBYFLOAT → SET k final KEEPTTL", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      expect(run(h, "incrbyfloat", "f", "1.5")).toBe("1.5");
      run(h, "expire", "f", 100);
      expect(run(h, "incrbyfloat", "f", "2")).toBe("3.5");
      expect(run(h, "ttl", "f")).toBe(100);
      expect(run(h, "incrbyfloat", "f", "-3.5")).toBe("0");
      run(h, "set", "g", "5.0e3");
      expect(run(h, "incrbyfloat", "g", "2.0e2")).toBe("5200");
      expect(run(h, "incrbyfloat", "g", "inf")).toEqual({ err: "ERR increment would produce NaN or Infinity" });
      expect(run(h, "incrbyfloat", "g", "1e5000")).toEqual({ err: "ERR value is not a valid float" });
      expect(run(h, "incrbyfloat", "g", "abc")).toEqual({ err: "ERR value is not a valid float" });
      expect(run(h, "incrbyfloat", "g", "nan")).toEqual({ err: "ERR value is not a valid float" });
      run(h, "set", "s", " 1.5");
      expect(run(h, "incrbyfloat", "s", "1")).toEqual({ err: "ERR value is not a valid float" });
      makeSet(h, "set");
      expect(run(h, "incrbyfloat", "set", "1")).toEqual(WRONGTYPE);
      expect(run(h, "get", "g")).toBe("5200");
      // Long double arithmetic and "%.17Lf", as recorded from redis-server 7.0.15 (x86-64).
      const recorded: [string, string, string][] = [
        ["10.50", "0.1", "10.6"],
        ["0.1", "0.2", "0.3"],
        ["3.3", "3.3", "6.6"],
        ["1000000.1", "0.1", "1000000.20000000000004547"],
        ["123456789.123", "0.001", "123456789.12399999999615829"],
        ["5e30", "0", "4999999999999999999917321879552"],
        ["1e20", "0.5", "100000000000000000000"],
        ["1.23456789012345678901", "0", "1.23456789012345679"],
        ["0.000000000000000015", "0", "0.00000000000000002"],
        ["-1e-18", "0", "0"],
        ["0.1", "-0.1", "0"],
        ["-0.3", "0.1", "-0.2"],
        ["-5.0e-3", "0", "-0.005"],
        ["9007199254740993", "0", "9007199254740993"],
      ];
      for (const [a, b, want] of recorded) {
        run(h, "set", "r", a);
        expect([a, b, run(h, "incrbyfloat", "r", b)]).toEqual([a, b, want]);
      }
      expect((run(h, "incrbyfloat", "r", "1e400") as string).length).toBe(401); // in long double range
      const sets = stream(h).filter((c) => c[0] === "SET");
      expect(sets.slice(0, 4)).toEqual([
        ["SET", "f", "1.5", "KEEPTTL"],
        ["SET", "f", "3.5", "KEEPTTL"],
        ["SET", "f", "0", "KEEPTTL"],
        ["SET", "g", "5200", "KEEPTTL"],
      ]);
    });
  });
});

describe("strings: APPEND STRLEN GETRANGE SETRANGE", () => {
  it("APPEND and STRLEN", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      expect(run(h, "append", "k", "")).toBe(0);
      expect(run(h, "exists", "k")).toBe(1); // APPEND creates the key even with nothing
      expect(run(h, "append", "k", "hello")).toBe(5);
      run(h, "expire", "k", 100);
      expect(run(h, "append", "k", " world")).toBe(11);
      expect(run(h, "get", "k")).toBe("hello world");
      expect(run(h, "ttl", "k")).toBe(100);
      expect(run(h, "strlen", "k")).toBe(11);
      expect(run(h, "strlen", "nope")).toBe(0);
      makeSet(h, "s");
      expect(run(h, "append", "s", "x")).toEqual(WRONGTYPE);
      expect(run(h, "strlen", "s")).toEqual(WRONGTYPE);
    });
  });

  it("GETRANGE index rules", async () => {
    await withEngine((h) => {
      run(h, "set", "s", "hello");
      const cases: [string, string, string][] = [
        ["0", "-1", "hello"],
        ["-3", "-1", "llo"],
        ["-1", "-3", ""],
        ["3", "1", ""],
        ["-100", "100", "hello"],
        ["0", "9223372036854775807", "hello"],
        ["-9223372036854775808", "1", "he"],
        ["4", "4", "o"],
        ["5", "10", ""],
        ["1", "-100", ""],
      ];
      for (const [a, b, want] of cases) expect([a, b, run(h, "getrange", "s", a, b)]).toEqual([a, b, want]);
      expect(run(h, "getrange", "nope", 0, 1)).toBe("");
      run(h, "set", "e", "");
      expect(run(h, "getrange", "e", 0, -1)).toBe("");
      expect(run(h, "getrange", "s", 0, "99999999999999999999")).toEqual({ err: "ERR value is not an integer or out of range" });
      makeSet(h, "set");
      expect(run(h, "getrange", "set", 0, 1)).toEqual(WRONGTYPE);
    });
  });

  it("SETRANGE pads with zeros, refuses bad offsets and oversize results", async () => {
    await withEngine((h) => {
      expect(run(h, "setrange", "n", 0, "")).toBe(0);
      expect(run(h, "exists", "n")).toBe(0);
      expect(run(h, "setrange", "n", 2, "ab")).toBe(4);
      expect(h.run("get", "n")).toEqual(new Uint8Array([0, 0, 97, 98]));
      run(h, "set", "s", "Hello World");
      expect(run(h, "setrange", "s", 6, "Redis")).toBe(11);
      expect(run(h, "get", "s")).toBe("Hello Redis");
      expect(run(h, "setrange", "s", 100, "")).toBe(11);
      expect(run(h, "setrange", "s", -1, "x")).toEqual({ err: "ERR offset is out of range" });
      expect(run(h, "setrange", "s", "x", "x")).toEqual({ err: "ERR value is not an integer or out of range" });
      expect(run(h, "setrange", "s", VALUE_BYTES_MAX, "x")).toEqual({ err: "ERR string exceeds maximum allowed size (proto-max-bulk-len)" });
      expect(run(h, "setrange", "n2", VALUE_BYTES_MAX - 1, "xy")).toEqual({ err: "ERR string exceeds maximum allowed size (proto-max-bulk-len)" });
      expect(run(h, "exists", "n2")).toBe(0);
      makeSet(h, "set");
      expect(run(h, "setrange", "set", 0, "x")).toEqual(WRONGTYPE);
      expect(stream(h).slice(1)).toEqual([
        ["setrange", "n", "2", "ab"],
        ["set", "s", "Hello World"],
        ["setrange", "s", "6", "Redis"],
      ]);
    });
  });

  it("values spanning chunk rows: SETRANGE, APPEND and GETRANGE touch only the rows involved", async () => {
    await withEngine((h) => {
      const len = STRING_CHUNK_BYTES * 2 + 100;
      const v = new Uint8Array(len);
      for (let i = 0; i < len; i++) v[i] = i % 251;
      h.run("set", "big", v);
      expect(h.run("strlen", "big")).toBe(len);
      const id = h.engine.ks.peek(0, utf8("big"))!.id;
      // Across the boundary between rows 0 and 1.
      const at = STRING_CHUNK_BYTES - 2;
      expect(h.run("setrange", "big", at, "WXYZ")).toBe(len);
      v.set(utf8("WXYZ"), at);
      expect(h.run("getrange", "big", at - 1, at + 4)).toEqual(v.subarray(at - 1, at + 5));
      expect(h.run("append", "big", "tail")).toBe(len + 4);
      expect(h.run("getrange", "big", -6, -1)).toEqual(new Uint8Array([...v.subarray(len - 2), ...utf8("tail")]));
      const whole = h.run("get", "big") as Uint8Array;
      expect(whole.length).toBe(len + 4);
      expect(equal(whole.subarray(0, len), v)).toBe(true); // (toEqual on MiBs is very slow)
      expect(h.engine.ks.peek(0, utf8("big"))!.id).toBe(id);
      // Growing a missing key past one row.
      expect(h.run("setrange", "fresh", STRING_CHUNK_BYTES + 10, "z")).toBe(STRING_CHUNK_BYTES + 11);
      expect(h.run("getrange", "fresh", STRING_CHUNK_BYTES + 9, -1)).toEqual(new Uint8Array([0, 122]));
    });
  });

  it("row size: 64 KiB in a new database, kept when it reopens; a database made before keeps its 1 MiB rows and reads them", async () => {
    await withEngine((h) => {
      const sql = h.engine.ks.sql;
      expect(h.engine.ks.chunkBytes).toBe(STRING_CHUNK_BYTES);
      expect(new Keyspace(sql).chunkBytes).toBe(STRING_CHUNK_BYTES);
      // As an older version left a database: no kv_settings, a 1 MiB + 5 byte value in two 1 MiB rows.
      sql.exec("DROP TABLE kv_settings");
      const v = new Uint8Array(LEGACY_STRING_CHUNK_BYTES + 5);
      for (let i = 0; i < v.length; i++) v[i] = i % 253;
      const id = sql
        .exec("INSERT INTO kv_keys (db, key, type, val, card, nchunks) VALUES (0, ?, 0, ?, ?, 1) RETURNING id", utf8("old"), v.subarray(0, LEGACY_STRING_CHUNK_BYTES), v.length)
        .one().id;
      sql.exec("INSERT INTO kv_strchunk (kid, idx, data) VALUES (?, 1, ?)", id, v.subarray(LEGACY_STRING_CHUNK_BYTES));
      const ks = new Keyspace(sql);
      expect(ks.chunkBytes).toBe(LEGACY_STRING_CHUNK_BYTES);
      expect(new Keyspace(sql).chunkBytes).toBe(LEGACY_STRING_CHUNK_BYTES);
      const m = ks.lookupRead(0, utf8("old"))!;
      expect(equal(ks.getString(m), v)).toBe(true);
      expect(ks.getStringRange(m, LEGACY_STRING_CHUNK_BYTES - 2, LEGACY_STRING_CHUNK_BYTES + 3)).toEqual(v.subarray(LEGACY_STRING_CHUNK_BYTES - 2, LEGACY_STRING_CHUNK_BYTES + 3));
      // A patch across the 1 MiB boundary rewrites those two rows, as rows of that database.
      ks.patchString(ks.lookupWrite(0, utf8("old"))!, LEGACY_STRING_CHUNK_BYTES - 1, utf8("AB"));
      v.set(utf8("AB"), LEGACY_STRING_CHUNK_BYTES - 1);
      expect(equal(ks.getString(ks.lookupRead(0, utf8("old"))!), v)).toBe(true);
      expect(sql.exec("SELECT count(*) AS n FROM kv_strchunk WHERE kid = ?", id).one().n).toBe(1);
    });
  });

  it("a one-row value longer than the database's rows is split into rows by its first patch", async () => {
    await withEngine((h) => {
      const ks = h.engine.ks;
      // The fast paths bound one-row values by STRING_CHUNK_BYTES; a longer one in one row is split whole.
      const v = new Uint8Array(ks.chunkBytes * 3);
      for (let i = 0; i < v.length; i++) v[i] = i % 241;
      ks.sql.exec("INSERT INTO kv_keys (db, key, type, val, card, nchunks) VALUES (0, ?, 0, ?, ?, 0)", utf8("wide"), v, v.length);
      expect(h.run("setrange", "wide", 5, "Z")).toBe(v.length);
      v[5] = 90;
      expect(equal(h.run("get", "wide") as Uint8Array, v)).toBe(true);
      expect(ks.peek(0, utf8("wide"))!.nchunks).toBe(2);
    });
  });
});
