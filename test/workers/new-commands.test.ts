/**
 * Issue 11 item 2: the commands added on existing types, their replies and error texts
 * (recorded from redis-server 7.0.15), their replication forms in the stream, and a replica
 * that converges on all of them.
 */
import { describe, expect, it } from "vitest";
import { newSession } from "../../src/keyspace/command.ts";
import { RespMap, Verbatim } from "../../src/protocol/reply.ts";
import { utf8 } from "../../src/util/bytes.ts";
import { run, stream, withEngine } from "./harness.ts";
import { attach, cmd, converged, freshDb, pipeline } from "./nodes.ts";

describe("sorted-set algebra", () => {
  it("ZUNION/ZINTER/ZDIFF with weights, aggregates and set sources; errors in Redis's order", async () => {
    await withEngine((h) => {
      run(h, "zadd", "a", "1", "x", "2", "y", "3", "z");
      run(h, "zadd", "b", "10", "y", "20", "z", "30", "w");
      run(h, "sadd", "s", "z", "q");
      expect(run(h, "zunion", "2", "a", "b", "withscores")).toEqual(["x", 1, "y", 12, "z", 23, "w", 30]);
      expect(run(h, "zinter", "2", "a", "b", "weights", "2", "1", "aggregate", "max", "withscores")).toEqual(["y", 10, "z", 20]);
      expect(run(h, "zinter", "3", "a", "b", "s", "withscores")).toEqual(["z", 24]);
      expect(run(h, "zdiff", "2", "a", "b", "withscores")).toEqual(["x", 1]);
      expect(run(h, "zunion", "1", "a", "weights", "-1", "withscores")).toEqual(["z", -3, "y", -2, "x", -1]);
      expect(run(h, "zunion", "2", "a", "nokey")).toEqual(["x", "y", "z"]);
      expect(run(h, "zintercard", "2", "a", "b")).toBe(2);
      expect(run(h, "zintercard", "2", "a", "b", "limit", "1")).toBe(1);
      run(h, "set", "str", "v");
      expect(run(h, "zunion", "0", "a")).toEqual({ err: "ERR at least 1 input key is needed for 'zunion' command" });
      expect(run(h, "zunion", "3", "a")).toEqual({ err: "ERR syntax error" });
      expect(run(h, "zunion", "x", "a")).toEqual({ err: "ERR value is not an integer or out of range" });
      expect(run(h, "zunion", "2", "str", "a", "foo")).toEqual({ err: "WRONGTYPE Operation against a key holding the wrong kind of value" });
      expect(run(h, "zinter", "1", "a", "weights", "x")).toEqual({ err: "ERR weight value is not a float" });
      expect(run(h, "zinter", "1", "a", "aggregate", "avg")).toEqual({ err: "ERR syntax error" });
      expect(run(h, "zdiff", "1", "a", "weights", "1")).toEqual({ err: "ERR syntax error" });
      expect(run(h, "zintercard", "1", "a", "limit", "-1")).toEqual({ err: "ERR LIMIT can't be negative" });
      expect(run(h, "zintercard", "0", "a")).toEqual({ err: "ERR at least 1 input key is needed for 'zintercard' command" });
    });
  });

  it("ZUNIONSTORE/ZINTERSTORE/ZDIFFSTORE replace the destination, delete it on an empty result, propagate verbatim", async () => {
    await withEngine((h) => {
      run(h, "zadd", "a", "1", "x", "2", "y");
      run(h, "set", "dst", "string");
      run(h, "expire", "dst", "1000");
      expect(run(h, "zunionstore", "dst", "2", "a", "a", "aggregate", "sum")).toBe(2);
      expect(run(h, "zrange", "dst", "0", "-1", "withscores")).toEqual(["x", 2, "y", 4]);
      expect(run(h, "ttl", "dst")).toBe(-1);
      expect(run(h, "zinterstore", "dst", "2", "a", "nokey")).toBe(0);
      expect(run(h, "exists", "dst")).toBe(0);
      expect(run(h, "zdiffstore", "dst", "1", "a")).toBe(2);
      expect(run(h, "zunionstore", "dst", "1", "a", "withscores")).toEqual({ err: "ERR syntax error" });
      const s = stream(h).filter((c) => c[0] !== "SELECT");
      expect(s.slice(-3)).toEqual([
        ["zunionstore", "dst", "2", "a", "a", "aggregate", "sum"],
        ["zinterstore", "dst", "2", "a", "nokey"],
        ["zdiffstore", "dst", "1", "a"],
      ]);
    });
  });
});

describe("more sorted-set commands", () => {
  it("ZRANGESTORE, ZLEXCOUNT, ZREMRANGEBYLEX", async () => {
    await withEngine((h) => {
      run(h, "zadd", "z", "0", "a", "0", "b", "0", "c", "0", "d");
      expect(run(h, "zlexcount", "z", "[b", "(d")).toBe(2);
      expect(run(h, "zlexcount", "z", "-", "+")).toBe(4);
      expect(run(h, "zlexcount", "z", "b", "d")).toEqual({ err: "ERR min or max not valid string range item" });
      expect(run(h, "zrangestore", "dst", "z", "[b", "+", "bylex", "limit", "0", "2")).toBe(2);
      expect(run(h, "zrange", "dst", "0", "-1")).toEqual(["b", "c"]);
      expect(run(h, "zrangestore", "dst", "z", "0", "-1", "withscores")).toEqual({ err: "ERR syntax error" });
      expect(run(h, "zrangestore", "dst", "nokey", "0", "-1")).toBe(0);
      expect(run(h, "exists", "dst")).toBe(0);
      expect(run(h, "zremrangebylex", "z", "-", "(c")).toBe(2);
      expect(run(h, "zrange", "z", "0", "-1")).toEqual(["c", "d"]);
    });
  });

  it("ZMPOP pops from the first non-empty set, replicated as ZPOPMIN/ZPOPMAX key count", async () => {
    await withEngine((h) => {
      run(h, "zadd", "z2", "1", "a", "2", "b", "3", "c");
      expect(run(h, "zmpop", "2", "z1", "z2", "max", "count", "2")).toEqual(["z2", [["c", 3], ["b", 2]]]);
      expect(run(h, "zmpop", "1", "z2", "min", "count", "10")).toEqual(["z2", [["a", 1]]]);
      expect(run(h, "zmpop", "1", "z2", "min")).toBe("(nil array)");
      expect(run(h, "zmpop", "0", "z2", "min")).toEqual({ err: "ERR numkeys should be greater than 0" });
      expect(run(h, "zmpop", "1", "z2", "mid")).toEqual({ err: "ERR syntax error" });
      expect(run(h, "zmpop", "1", "z2", "min", "count", "0")).toEqual({ err: "ERR count should be greater than 0" });
      expect(stream(h).filter((c) => c[0] !== "SELECT").slice(-2)).toEqual([
        ["ZPOPMAX", "z2", "2"],
        ["ZPOPMIN", "z2", "1"],
      ]);
    });
  });

  it("ZRANDMEMBER: distinct for a positive count, repeats for a negative one, scores with WITHSCORES", async () => {
    await withEngine((h) => {
      const members = Array.from({ length: 300 }, (_, i) => `m${i}`);
      run(h, "zadd", "z", ...members.flatMap((m, i) => [String(i), m]));
      const picked = run(h, "zrandmember", "z", "50") as string[];
      expect(new Set(picked).size).toBe(50);
      for (const m of picked) expect(members).toContain(m);
      expect((run(h, "zrandmember", "z", "-500") as string[]).length).toBe(500);
      const pairs = run(h, "zrandmember", "z", "3", "withscores") as string[];
      for (let i = 0; i < pairs.length; i += 2) expect(pairs[i]).toBe(`m${String(pairs[i + 1])}`);
      expect(members).toContain(run(h, "zrandmember", "z"));
      expect(run(h, "zrandmember", "nokey")).toBe(null);
      expect(run(h, "zrandmember", "z", "1", "foo")).toEqual({ err: "ERR syntax error" });
      expect(run(h, "zrandmember", "z", "9223372036854775807", "withscores")).toEqual({ err: "ERR value is out of range" });
    });
  });
});

describe("lists, sets, strings, keys", () => {
  it("LMPOP and SINTERCARD", async () => {
    await withEngine((h) => {
      run(h, "rpush", "l2", "a", "b", "c");
      expect(run(h, "lmpop", "2", "l1", "l2", "right", "count", "2")).toEqual(["l2", ["c", "b"]]);
      expect(run(h, "lmpop", "1", "l1", "left")).toBe("(nil array)");
      expect(run(h, "lmpop", "1", "l2", "up")).toEqual({ err: "ERR syntax error" });
      expect(stream(h).filter((c) => c[0] !== "SELECT").slice(-1)).toEqual([["RPOP", "l2", "2"]]);
      run(h, "sadd", "s1", "a", "b", "c");
      run(h, "sadd", "s2", "b", "c", "d");
      expect(run(h, "sintercard", "2", "s1", "s2")).toBe(2);
      expect(run(h, "sintercard", "2", "s1", "s2", "limit", "1")).toBe(1);
      expect(run(h, "sintercard", "3", "s1", "s2")).toEqual({ err: "ERR Number of keys can't be greater than number of args" });
      expect(run(h, "sintercard", "0", "s1")).toEqual({ err: "ERR numkeys should be greater than 0" });
    });
  });

  it("LCS, SUBSTR, TOUCH", async () => {
    await withEngine((h) => {
      run(h, "set", "a", "ohmytext");
      run(h, "set", "b", "mynewtext");
      expect(run(h, "lcs", "a", "b")).toBe("mytext");
      expect(run(h, "lcs", "a", "b", "len")).toBe(6);
      const idx = h.run("lcs", "a", "b", "idx", "minmatchlen", "4", "withmatchlen") as RespMap;
      expect(idx).toBeInstanceOf(RespMap);
      expect(JSON.stringify(idx.entries.map(([k, v]) => [new TextDecoder().decode(k as Uint8Array), v]))).toBe(
        JSON.stringify([["matches", [[[4, 7], [5, 8], 4]]], ["len", 6]]),
      );
      expect(run(h, "lcs", "a", "b", "len", "idx")).toEqual({ err: "ERR If you want both the length and indexes, please just use IDX." });
      run(h, "rpush", "l", "x");
      expect(run(h, "lcs", "a", "l")).toEqual({ err: "ERR The specified keys must contain string values" });
      expect(run(h, "substr", "a", "2", "3")).toBe("my");
      expect(run(h, "touch", "a", "b", "a", "nokey")).toBe(3);
    });
  });

  it("SWAPDB exchanges databases, invalidates WATCH only on keys that exist, propagates verbatim", async () => {
    await withEngine((h) => {
      run(h, "set", "k", "zero");
      const other = newSession({ db: 1 });
      h.engine.execute(other, ["set", "k1", "one"].map(utf8));
      h.run("watch", "missing");
      expect(run(h, "swapdb", "0", "1")).toBe("+OK");
      expect(run(h, "get", "k1")).toBe("one");
      expect(run(h, "get", "k")).toBe(null);
      h.run("multi");
      h.run("ping");
      expect(run(h, "exec")).toEqual(["+PONG"]);
      h.run("watch", "k1");
      expect(run(h, "swapdb", "1", "0")).toBe("+OK");
      h.run("multi");
      h.run("ping");
      expect(run(h, "exec")).toBe("(nil array)");
      expect(run(h, "get", "k")).toBe("zero");
      expect(run(h, "swapdb", "a", "1")).toEqual({ err: "ERR invalid first DB index" });
      expect(run(h, "swapdb", "1", "a")).toEqual({ err: "ERR invalid second DB index" });
      expect(run(h, "swapdb", "1", "16")).toEqual({ err: "ERR DB index is out of range" });
      expect(stream(h).filter((c) => c[0] === "swapdb")).toEqual([
        ["swapdb", "0", "1"],
        ["swapdb", "1", "0"],
      ]);
    });
  });

  it("OBJECT and MEMORY USAGE answer for our storage", async () => {
    await withEngine((h) => {
      run(h, "set", "i", "12345");
      run(h, "set", "e", "short");
      run(h, "set", "r", "x".repeat(45));
      run(h, "rpush", "l", "a");
      run(h, "sadd", "si", "1", "2");
      run(h, "sadd", "sh", "a");
      run(h, "hset", "h", "f", "v");
      run(h, "zadd", "z", "1", "m");
      const enc = (k: string) => run(h, "object", "encoding", k);
      expect(["i", "e", "r", "l", "si", "sh", "h", "z"].map(enc)).toEqual(["int", "embstr", "raw", "quicklist", "intset", "hashtable", "listpack", "listpack"]);
      expect(enc("nokey")).toBe(null);
      expect(run(h, "object", "refcount", "e")).toBe(1);
      expect(run(h, "object", "idletime", "e")).toBe(0);
      expect(run(h, "object", "freq", "e")).toEqual({
        err: "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
      });
      expect(run(h, "object", "encoding")).toEqual({ err: "ERR wrong number of arguments for 'object|encoding' command" });
      expect(run(h, "object", "foo", "x")).toEqual({ err: "ERR unknown subcommand 'foo'. Try OBJECT HELP." });
      const small = run(h, "memory", "usage", "e") as number;
      const big = run(h, "memory", "usage", "r") as number;
      expect(big - small).toBe(40);
      expect(run(h, "memory", "usage", "nokey")).toBe(null);
      expect(run(h, "memory", "usage", "e", "samples", "-1")).toEqual({ err: "ERR syntax error" });
    });
  });

  it("CLIENT INFO/LIST in Redis's format; NO-EVICT checks its argument", async () => {
    await withEngine((h) => {
      const line = (h.run("client", "info") as Verbatim).text;
      expect(line).toMatch(/^id=\d+ addr=\S+ laddr= fd=-1 name= age=0 idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 .* cmd=client\|info user=default redir=-1 resp=2\n$/);
      expect((h.run("client", "list", "type", "master") as Verbatim).text).toBe("");
      expect(run(h, "client", "no-evict", "maybe")).toEqual({ err: "ERR syntax error" });
      expect(run(h, "client", "no-evict", "on")).toBe("+OK");
    });
  });
});

describe("a replica converges on every new write command", () => {
  it("ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZRANGESTORE ZMPOP ZREMRANGEBYLEX LMPOP SWAPDB", async () => {
    const db = freshDb("newcmds");
    await attach(db, "r1");
    await pipeline(db, "master", [
      ["ZADD", "a", "1", "x", "2", "y", "3", "z"],
      ["ZADD", "b", "0.5", "y", "4", "w"],
      ["SADD", "s", "x", "w"],
      ["ZUNIONSTORE", "u", "3", "a", "b", "s", "WEIGHTS", "1", "2", "0.5", "AGGREGATE", "MAX"],
      ["ZINTERSTORE", "i", "2", "a", "b"],
      ["ZDIFFSTORE", "d", "2", "a", "b"],
      ["ZRANGESTORE", "r", "a", "(1", "+inf", "BYSCORE"],
      ["ZMPOP", "2", "nokey", "a", "MAX", "COUNT", "2"],
      ["ZADD", "lex", "0", "a", "0", "b", "0", "c"],
      ["ZREMRANGEBYLEX", "lex", "[b", "+"],
      ["RPUSH", "l", "1", "2", "3"],
      ["LMPOP", "1", "l", "LEFT", "COUNT", "2"],
      ["SELECT", "3"],
      ["SET", "in3", "v"],
      ["SWAPDB", "3", "0"],
    ]);
    await converged(db, ["r1"]);
    expect(await cmd(db, "r1", "GET", "in3")).toBe("v");
    expect(await cmd(db, "master", "GET", "in3")).toBe("v");
  });
});

describe("CONFIG: Redis's encoding-tuning parameters", () => {
  it("are stored, listed under their alias too, validated with Redis's texts, and judge OBJECT ENCODING", async () => {
    const db = freshDb("enc");
    expect(await cmd(db, "master", "CONFIG", "GET", "hash-max-*")).toEqual([
      "hash-max-listpack-entries",
      "512",
      "hash-max-ziplist-entries",
      "512",
      "hash-max-listpack-value",
      "64",
      "hash-max-ziplist-value",
      "64",
    ]);
    expect(await cmd(db, "master", "CONFIG", "SET", "zset-max-ziplist-entries", "1")).toBe("OK");
    expect(await cmd(db, "master", "CONFIG", "GET", "zset-max-listpack-entries")).toEqual(["zset-max-listpack-entries", "1"]);
    expect(await cmd(db, "master", "CONFIG", "SET", "hash-max-listpack-value", "1kb")).toBe("OK");
    expect(await cmd(db, "master", "CONFIG", "GET", "hash-max-listpack-value")).toEqual(["hash-max-listpack-value", "1024"]);
    await expect(cmd(db, "master", "CONFIG", "SET", "hash-max-listpack-entries", "-1")).rejects.toThrow(
      "ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-entries') - argument must be between 0 and 9223372036854775807 inclusive",
    );
    await pipeline(db, "master", [["ZADD", "z", "1", "a"], ["ZADD", "z2", "1", "a", "2", "b"]]);
    expect(await cmd(db, "master", "OBJECT", "ENCODING", "z")).toBe("listpack");
    expect(await cmd(db, "master", "OBJECT", "ENCODING", "z2")).toBe("skiplist");
  });
});

describe("DUMP/RESTORE", () => {
  it("round-trips every type; RESTORE checks in Redis's order; a relative TTL propagates as absolute + ABSTTL", async () => {
    await withEngine((h) => {
      h.setNow(1_700_000_000_000);
      run(h, "set", "s", "v");
      run(h, "rpush", "l", "a", "b");
      run(h, "sadd", "t", "x");
      run(h, "hset", "h", "f", "v");
      run(h, "zadd", "z", "1.5", "m");
      for (const k of ["s", "l", "t", "h", "z"]) {
        const payload = h.run("dump", k) as Uint8Array;
        // RDB version 10 little-endian before the 8-byte CRC.
        expect([payload[payload.length - 10], payload[payload.length - 9]]).toEqual([10, 0]);
        expect(run(h, "restore", `${k}2`, "0", payload as unknown as string)).toBe("+OK");
        expect(run(h, "debug", "digest-value", k, `${k}2`)).toEqual((() => {
          const d = run(h, "debug", "digest-value", k) as string[];
          return [d[0], d[0]];
        })());
      }
      const p = h.run("dump", "s") as Uint8Array;
      expect(run(h, "restore", "s2", "0", p as unknown as string)).toEqual({ err: "BUSYKEY Target key name already exists." });
      expect(run(h, "restore", "n", "-1", p as unknown as string)).toEqual({ err: "ERR Invalid TTL value, must be >= 0" });
      expect(run(h, "restore", "n", "0", "garbage")).toEqual({ err: "ERR DUMP payload version or checksum are wrong" });
      expect(run(h, "restore", "n", "0", p as unknown as string, "freq", "300")).toEqual({ err: "ERR Invalid FREQ value, must be >= 0 and <= 255" });
      expect(run(h, "dump", "nokey")).toBe(null);
      expect(run(h, "restore", "s2", "5000", p as unknown as string, "replace")).toBe("+OK");
      expect(run(h, "pttl", "s2")).toBe(5000);
      const last = stream(h).filter((c) => c[0] === "restore").pop()!;
      expect([last[1], last[2], last[4], last[5]]).toEqual(["s2", String(1_700_000_005_000), "replace", "ABSTTL"]);
    });
  });
});

describe("SORT / SORT_RO", () => {
  it("numeric, ALPHA, BY, GET, LIMIT, STORE as redis-server 7.0.15 answers", async () => {
    await withEngine((h) => {
      run(h, "rpush", "l", "3", "1", "2", "10");
      expect(run(h, "sort", "l")).toEqual(["1", "2", "3", "10"]);
      expect(run(h, "sort", "l", "alpha", "desc")).toEqual(["3", "2", "10", "1"]);
      expect(run(h, "sort", "l", "limit", "1", "2")).toEqual(["2", "3"]);
      run(h, "mset", "w_1", "40", "w_2", "30", "w_3", "20", "w_10", "10", "o_1", "one");
      run(h, "hset", "h_2", "f", "two");
      expect(run(h, "sort", "l", "by", "w_*")).toEqual(["10", "3", "2", "1"]);
      expect(run(h, "sort", "l", "by", "nosort", "desc")).toEqual(["10", "2", "1", "3"]);
      expect(run(h, "sort", "l", "get", "#", "get", "o_*", "get", "h_*->f")).toEqual(["1", "one", null, "2", null, "two", "3", null, null, "10", null, null]);
      expect(run(h, "sort", "l", "by", "w_*", "store", "dst")).toBe(4);
      expect(run(h, "lrange", "dst", "0", "-1")).toEqual(["10", "3", "2", "1"]);
      expect(run(h, "sort_ro", "l", "store", "dst")).toEqual({ err: "ERR syntax error" });
      run(h, "rpush", "bad", "1", "x");
      expect(run(h, "sort", "bad")).toEqual({ err: "ERR One or more scores can't be converted into double" });
      expect(run(h, "sort", "bad", "alpha")).toEqual(["1", "x"]);
      run(h, "hset", "hash", "f", "v");
      expect(run(h, "sort", "hash")).toEqual({ err: "WRONGTYPE Operation against a key holding the wrong kind of value" });
      expect(run(h, "sort", "l", "limit", "x", "1")).toEqual({ err: "ERR value is not an integer or out of range" });
      expect(run(h, "sort", "nokey", "store", "dst")).toBe(0);
      expect(run(h, "exists", "dst")).toBe(0);
    });
  });
});
