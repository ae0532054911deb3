/**
 * Sorted-set commands in the Workers runtime. The scenario table's replies were recorded from
 * redis-server 7.0.15 (RESP2; bulk strings and doubles shown as text, errors as {err}),
 * each scenario starting from an empty keyspace.
 */
import { describe, expect, it } from "vitest";
import { NilArray, RedisError, type Reply, RespDouble, Simple } from "../../src/protocol/reply.ts";
import { RespParser } from "../../src/protocol/resp.ts";
import { formatG17 } from "../../src/util/numbers.ts";
import { type EngineHarness, withEngine } from "./harness.ts";

/** Replies as plain values: bulk → string, double → its RESP2 text, error → {err}, nil array → "*-1". */
function norm(r: Reply): unknown {
  if (r instanceof Uint8Array) return new TextDecoder().decode(r);
  if (r instanceof RespDouble) return formatG17(r.v);
  if (r instanceof RedisError) return { err: r.msg };
  if (r instanceof Simple) return r.s;
  if (r instanceof NilArray) return "*-1";
  if (Array.isArray(r)) return r.map(norm);
  return r;
}

type Scenario = [name: string, steps: [argv: string[], reply: unknown][]];

// prettier-ignore
const SCENARIOS: Scenario[] = [
  [
    "zadd options",
    [
      [["zadd", "z", "1", "a", "2", "b"], 2],
      [["zadd", "z", "3", "a", "4", "c"], 1],
      [["zrange", "z", "0", "-1", "withscores"], ["b", "2", "a", "3", "c", "4"]],
      [["zadd", "z", "nx", "10", "a", "5", "d"], 1],
      [["zadd", "z", "xx", "10", "a", "6", "e"], 0],
      [["zadd", "z", "xx", "ch", "11", "a", "6", "e"], 1],
      [["zadd", "z", "ch", "11", "a", "12", "b", "7", "f"], 2],
      [["zadd", "z", "gt", "ch", "1", "a", "20", "b"], 1],
      [["zadd", "z", "lt", "ch", "1", "a", "30", "b"], 1],
      [["zadd", "z", "gt", "8", "g"], 1],
      [["zadd", "z", "incr", "5", "a"], "6"],
      [["zadd", "z", "incr", "nx", "5", "a"], null],
      [["zadd", "z", "incr", "xx", "5", "nope"], null],
      [["zadd", "z", "incr", "gt", "-1", "a"], null],
      [["zadd", "z", "incr", "lt", "-1", "a"], "5"],
      [["zadd", "z", "incr", "5", "new"], "5"],
      [["zrange", "z", "0", "-1", "withscores"], ["c", "4", "a", "5", "d", "5", "new", "5", "f", "7", "g", "8", "b", "20"]],
      [["zadd", "z", "1.5", "x", "-0", "y", "1e3", "w", "0.1", "v"], 4],
      [["zscore", "z", "x"], "1.5"],
      [["zscore", "z", "y"], "0"],
      [["zscore", "z", "w"], "1000"],
      [["zscore", "z", "v"], "0.10000000000000001"],
      [["zadd", "z", "1", "a", "1", "a"], 0],
      [["zadd", "z", "ch", "2", "dup", "3", "dup"], 2],
      [["zscore", "z", "dup"], "3"],
      [["zcard", "z"], 12],
    ],
  ],
  [
    "zadd errors",
    [
      [["zadd", "z", "nx", "xx", "1", "a"], {"err": "ERR XX and NX options at the same time are not compatible"}],
      [["zadd", "z", "gt", "lt", "1", "a"], {"err": "ERR GT, LT, and/or NX options at the same time are not compatible"}],
      [["zadd", "z", "gt", "nx", "1", "a"], {"err": "ERR GT, LT, and/or NX options at the same time are not compatible"}],
      [["zadd", "z", "incr", "1", "a", "2", "b"], {"err": "ERR INCR option supports a single increment-element pair"}],
      [["zadd", "z", "1"], {"err": "ERR wrong number of arguments for 'zadd' command"}],
      [["zadd", "z", "nx"], {"err": "ERR wrong number of arguments for 'zadd' command"}],
      [["zadd", "z", "1", "a", "2"], {"err": "ERR syntax error"}],
      [["zadd", "z", "x", "a"], {"err": "ERR value is not a valid float"}],
      [["zadd", "z", "nan", "a"], {"err": "ERR value is not a valid float"}],
      [["zadd", "z", "1", "a", "bad", "b"], {"err": "ERR value is not a valid float"}],
      [["zcard", "z"], 0],
      [["zadd", "z", "xx", "1", "a"], 0],
      [["zadd", "z", "xx", "incr", "1", "a"], null],
      [["zcard", "z"], 0],
      [["zadd", "z", "inf", "a"], 1],
      [["zadd", "z", "incr", "-inf", "a"], {"err": "ERR resulting score is not a number (NaN)"}],
      [["zscore", "z", "a"], "inf"],
      [["zincrby", "z", "+inf", "a"], "inf"],
      [["zincrby", "z", "1", "b"], "1"],
      [["zincrby", "z", "x", "b"], {"err": "ERR value is not a valid float"}],
      [["zincrby", "z", "nx", "b"], {"err": "ERR syntax error"}],
      [["zscore", "z", "b"], "1"],
    ],
  ],
  [
    "zscore zmscore zincrby zcard",
    [
      [["zscore", "missing", "a"], null],
      [["zmscore", "missing", "a", "b"], [null, null]],
      [["zcard", "missing"], 0],
      [["zadd", "z", "1", "a", "2.5", "b"], 2],
      [["zscore", "z", "b"], "2.5"],
      [["zscore", "z", "zz"], null],
      [["zmscore", "z", "a", "zz", "b"], ["1", null, "2.5"]],
      [["zincrby", "z", "1.5", "a"], "2.5"],
      [["zincrby", "z", "-10", "new"], "-10"],
      [["zincrby", "z", "0.1", "b"], "2.6000000000000001"],
      [["zcard", "z"], 3],
      [["zadd", "z", "1e300", "big"], 1],
      [["zincrby", "z", "1e300", "big"], "2.0000000000000001e+300"],
      [["zscore", "z", "big"], "2.0000000000000001e+300"],
    ],
  ],
  [
    "zrange by rank",
    [
      [["zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"], 5],
      [["zrange", "z", "0", "-1"], ["a", "b", "c", "d", "e"]],
      [["zrange", "z", "1", "2", "withscores"], ["b", "2", "c", "3"]],
      [["zrange", "z", "-2", "-1"], ["d", "e"]],
      [["zrange", "z", "-100", "100"], ["a", "b", "c", "d", "e"]],
      [["zrange", "z", "3", "1"], []],
      [["zrange", "z", "10", "20"], []],
      [["zrange", "z", "0", "-1", "rev"], ["e", "d", "c", "b", "a"]],
      [["zrange", "z", "0", "1", "rev", "withscores"], ["e", "5", "d", "4"]],
      [["zrevrange", "z", "0", "1"], ["e", "d"]],
      [["zrevrange", "z", "-2", "-1", "withscores"], ["b", "2", "a", "1"]],
      [["zrevrange", "z", "0", "0", "rev"], {"err": "ERR syntax error"}],
      [["zrange", "z", "0", "-1", "limit", "0", "2"], {"err": "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"}],
      [["zrange", "z", "0", "-1", "limit", "0", "-1"], ["a", "b", "c", "d", "e"]],
      [["zrange", "z", "x", "1"], {"err": "ERR value is not an integer or out of range"}],
      [["zrange", "missing", "0", "-1"], []],
      [["zrange", "z", "0", "-1", "foo"], {"err": "ERR syntax error"}],
      [["zrange", "z", "0", "-1", "withscores", "withscores"], ["a", "1", "b", "2", "c", "3", "d", "4", "e", "5"]],
    ],
  ],
  [
    "zrange by score",
    [
      [["zadd", "z", "1", "a", "2", "b", "2", "bb", "3", "c", "-1", "neg", "+inf", "top", "-inf", "bottom"], 7],
      [["zrange", "z", "-inf", "+inf", "byscore", "withscores"], ["bottom", "-inf", "neg", "-1", "a", "1", "b", "2", "bb", "2", "c", "3", "top", "inf"]],
      [["zrange", "z", "(1", "3", "byscore"], ["b", "bb", "c"]],
      [["zrange", "z", "1", "(3", "byscore"], ["a", "b", "bb"]],
      [["zrange", "z", "(2", "(3", "byscore"], []],
      [["zrange", "z", "2", "2", "byscore"], ["b", "bb"]],
      [["zrange", "z", "(2", "2", "byscore"], []],
      [["zrange", "z", "3", "1", "byscore"], []],
      [["zrange", "z", "3", "1", "byscore", "rev"], ["c", "bb", "b", "a"]],
      [["zrange", "z", "(3", "-inf", "byscore", "rev", "withscores"], ["bb", "2", "b", "2", "a", "1", "neg", "-1", "bottom", "-inf"]],
      [["zrange", "z", "-inf", "+inf", "byscore", "limit", "1", "2"], ["neg", "a"]],
      [["zrange", "z", "-inf", "+inf", "byscore", "limit", "1", "-1"], ["neg", "a", "b", "bb", "c", "top"]],
      [["zrange", "z", "-inf", "+inf", "byscore", "limit", "-1", "2"], []],
      [["zrange", "z", "-inf", "+inf", "byscore", "limit", "2", "0"], []],
      [["zrange", "z", "-inf", "+inf", "byscore", "limit", "100", "2"], []],
      [["zrange", "z", "-inf", "+inf", "byscore", "rev", "limit", "0", "3"], []],
      [["zrangebyscore", "z", "1", "2"], ["a", "b", "bb"]],
      [["zrangebyscore", "z", "(1", "+inf", "withscores", "limit", "0", "2"], ["b", "2", "bb", "2"]],
      [["zrangebyscore", "z", "-inf", "+inf", "limit", "2", "2", "withscores"], ["a", "1", "b", "2"]],
      [["zrevrangebyscore", "z", "2", "1"], ["bb", "b", "a"]],
      [["zrevrangebyscore", "z", "+inf", "(2", "withscores"], ["top", "inf", "c", "3"]],
      [["zrevrangebyscore", "z", "+inf", "-inf", "limit", "1", "1"], ["c"]],
      [["zrangebyscore", "z", "a", "1"], {"err": "ERR min or max is not a float"}],
      [["zrangebyscore", "z", "1", "(x"], {"err": "ERR min or max is not a float"}],
      [["zrangebyscore", "z", "[1", "2"], {"err": "ERR min or max is not a float"}],
      [["zrangebyscore", "z", "", " 2"], ["a", "b", "bb"]],
      [["zrangebyscore", "z", "(", "0x2"], ["a", "b", "bb"]],
      [["zrangebyscore", "z", "(-inf", "(+inf"], ["neg", "a", "b", "bb", "c"]],
      [["zrangebyscore", "z", "1", "2", "byscore"], {"err": "ERR syntax error"}],
      [["zrevrangebyscore", "z", "2", "1", "rev"], {"err": "ERR syntax error"}],
      [["zrangebyscore", "z", "1", "2", "limit", "0"], {"err": "ERR syntax error"}],
      [["zrangebyscore", "z", "1", "2", "limit", "a", "1"], {"err": "ERR value is not an integer or out of range"}],
      [["zrangebyscore", "missing", "1", "2"], []],
      [["zrange", "z", "nan", "1", "byscore"], {"err": "ERR min or max is not a float"}],
      [["zrange", "z", "1", "2", "byscore", "bylex"], {"err": "ERR syntax error"}],
    ],
  ],
  [
    "zrange by lex",
    [
      [["zadd", "z", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", ""], 6],
      [["zrange", "z", "-", "+", "bylex"], ["", "a", "b", "c", "d", "e"]],
      [["zrange", "z", "[b", "(d", "bylex"], ["b", "c"]],
      [["zrange", "z", "(a", "[c", "bylex"], ["b", "c"]],
      [["zrange", "z", "+", "-", "bylex"], []],
      [["zrange", "z", "+", "-", "bylex", "rev"], ["e", "d", "c", "b", "a", ""]],
      [["zrange", "z", "[d", "(b", "bylex", "rev"], ["d", "c"]],
      [["zrange", "z", "-", "+", "bylex", "limit", "1", "2"], ["a", "b"]],
      [["zrange", "z", "-", "+", "bylex", "rev", "limit", "0", "2"], []],
      [["zrange", "z", "[", "+", "bylex"], ["", "a", "b", "c", "d", "e"]],
      [["zrange", "z", "(", "+", "bylex"], ["a", "b", "c", "d", "e"]],
      [["zrange", "z", "a", "+", "bylex"], {"err": "ERR min or max not valid string range item"}],
      [["zrange", "z", "-", "+", "bylex", "withscores"], {"err": "ERR syntax error, WITHSCORES not supported in combination with BYLEX"}],
      [["zrange", "z", "--", "+", "bylex"], {"err": "ERR min or max not valid string range item"}],
      [["zrangebylex", "z", "[b", "[c"], ["b", "c"]],
      [["zrevrangebylex", "z", "[c", "[b"], ["c", "b"]],
      [["zrange", "z", "[e", "[a", "bylex"], []],
    ],
  ],
  [
    "zrank zrevrank zcount",
    [
      [["zadd", "z", "1", "a", "2", "b", "2", "c", "3", "d"], 4],
      [["zrank", "z", "a"], 0],
      [["zrank", "z", "c"], 2],
      [["zrank", "z", "d"], 3],
      [["zrevrank", "z", "a"], 3],
      [["zrevrank", "z", "c"], 1],
      [["zrank", "z", "zz"], null],
      [["zrank", "missing", "a"], null],
      [["zrevrank", "missing", "a"], null],
      [["zcount", "z", "-inf", "+inf"], 4],
      [["zcount", "z", "(1", "2"], 2],
      [["zcount", "z", "2", "(3"], 2],
      [["zcount", "z", "3", "1"], 0],
      [["zcount", "missing", "0", "1"], 0],
      [["zcount", "z", "x", "1"], {"err": "ERR min or max is not a float"}],
    ],
  ],
  [
    "zrem zpopmin zpopmax",
    [
      [["zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"], 5],
      [["zrem", "z", "a", "zz", "a"], 1],
      [["zrem", "missing", "a"], 0],
      [["zpopmin", "z"], ["b", "2"]],
      [["zpopmax", "z"], ["e", "5"]],
      [["zpopmin", "z", "0"], []],
      [["zpopmin", "z", "-1"], {"err": "ERR value is out of range, must be positive"}],
      [["zpopmin", "z", "x"], {"err": "ERR value is out of range, must be positive"}],
      [["zpopmin", "z", "1", "2"], {"err": "ERR syntax error"}],
      [["zpopmax", "z", "5"], ["d", "4", "c", "3"]],
      [["zcard", "z"], 0],
      [["zpopmin", "z"], []],
      [["zpopmin", "missing", "2"], []],
      [["zadd", "y", "1", "a", "1", "b", "1", "c"], 3],
      [["zpopmin", "y", "2"], ["a", "1", "b", "1"]],
      [["zpopmax", "y", "1"], ["c", "1"]],
      [["zcard", "y"], 0],
      [["zrem", "y", "zz"], 0],
    ],
  ],
  [
    "zremrangebyrank zremrangebyscore",
    [
      [["zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f"], 6],
      [["zremrangebyrank", "z", "0", "0"], 1],
      [["zrange", "z", "0", "-1"], ["b", "c", "d", "e", "f"]],
      [["zremrangebyrank", "z", "-2", "-1"], 2],
      [["zrange", "z", "0", "-1"], ["b", "c", "d"]],
      [["zremrangebyrank", "z", "5", "10"], 0],
      [["zremrangebyrank", "z", "2", "1"], 0],
      [["zremrangebyrank", "z", "x", "1"], {"err": "ERR value is not an integer or out of range"}],
      [["zremrangebyrank", "missing", "0", "1"], 0],
      [["zremrangebyscore", "z", "(2", "3"], 1],
      [["zrange", "z", "0", "-1", "withscores"], ["b", "2", "d", "4"]],
      [["zremrangebyscore", "z", "10", "20"], 0],
      [["zremrangebyscore", "z", "x", "1"], {"err": "ERR min or max is not a float"}],
      [["zremrangebyscore", "z", "-inf", "+inf"], 2],
      [["zcard", "z"], 0],
      [["zremrangebyscore", "missing", "0", "1"], 0],
    ],
  ],
  [
    "zscan small set",
    [
      [["zadd", "z", "3", "c", "1", "a", "2", "b", "1.5", "x"], 4],
      [["zscan", "z", "0"], ["0", ["a", "1", "x", "1.5", "b", "2", "c", "3"]]],
      [["zscan", "z", "0", "match", "*"], ["0", ["a", "1", "x", "1.5", "b", "2", "c", "3"]]],
      [["zscan", "z", "0", "match", "[ab]"], ["0", ["a", "1", "b", "2"]]],
      [["zscan", "z", "0", "count", "1"], ["0", ["a", "1", "x", "1.5", "b", "2", "c", "3"]]],
      [["zscan", "z", "0", "count", "0"], {"err": "ERR syntax error"}],
      [["zscan", "z", "abc"], {"err": "ERR invalid cursor"}],
      [["zscan", "z", "0", "foo"], {"err": "ERR syntax error"}],
      [["zscan", "z", "0", "count"], {"err": "ERR syntax error"}],
      [["zscan", "missing", "0"], ["0", []]],
      [["zscan", "missing", "0", "foo"], ["0", []]],
    ],
  ],
  [
    "wrong type and arity",
    [
      [["rpush", "l", "a"], 1],
      [["zadd", "l", "1", "a"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["zincrby", "l", "1", "a"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["zrem", "l", "a"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["zscore", "l", "a"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["zmscore", "l", "a"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["zcard", "l"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["zcount", "l", "0", "1"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["zrange", "l", "0", "1"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["zrangebyscore", "l", "0", "1"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["zrank", "l", "a"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["zpopmin", "l"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["zremrangebyrank", "l", "0", "1"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["zremrangebyscore", "l", "0", "1"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["zscan", "l", "0"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["llen", "l"], 1],
      [["zadd", "z", "1"], {"err": "ERR wrong number of arguments for 'zadd' command"}],
      [["zscore", "z"], {"err": "ERR wrong number of arguments for 'zscore' command"}],
      [["zmscore", "z"], {"err": "ERR wrong number of arguments for 'zmscore' command"}],
      [["zincrby", "z", "1"], {"err": "ERR wrong number of arguments for 'zincrby' command"}],
      [["zcard"], {"err": "ERR wrong number of arguments for 'zcard' command"}],
      [["zcount", "z", "0"], {"err": "ERR wrong number of arguments for 'zcount' command"}],
      [["zrange", "z", "0"], {"err": "ERR wrong number of arguments for 'zrange' command"}],
      [["zrangebyscore", "z", "0"], {"err": "ERR wrong number of arguments for 'zrangebyscore' command"}],
      [["zrank", "z"], {"err": "ERR wrong number of arguments for 'zrank' command"}],
      [["zpopmin"], {"err": "ERR wrong number of arguments for 'zpopmin' command"}],
      [["zremrangebyrank", "z", "0"], {"err": "ERR wrong number of arguments for 'zremrangebyrank' command"}],
      [["zscan", "z"], {"err": "ERR wrong number of arguments for 'zscan' command"}],
    ],
  ],
];

describe("zsets: replies match redis-server 7.0", () => {
  for (const [name, steps] of SCENARIOS) {
    it(name, async () => {
      await withEngine((h) => {
        for (const [argv, want] of steps) expect([argv, norm(h.run(...argv))]).toEqual([argv, want]);
      });
    });
  }
});

/** The propagated stream as commands of text arguments. */
function streamed(h: EngineHarness): string[][] {
  const p = new RespParser("request");
  p.push(h.stream());
  const out: string[][] = [];
  for (let v = p.next(); v !== undefined; v = p.next()) out.push((v as Uint8Array[]).map((a) => new TextDecoder().decode(a)));
  return out;
}

const memcmp = (a: string, b: string) => {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
};

describe("zsets: replies", () => {
  it("scores are RespDouble; RESP3 nests WITHSCORES pairs and counted pops", async () => {
    await withEngine((h) => {
      h.run("zadd", "z", "1", "a", "2.5", "b", "3", "c");
      expect(h.run("zscore", "z", "b")).toEqual(new RespDouble(2.5));
      expect(h.run("zincrby", "z", "1", "a")).toEqual(new RespDouble(2));
      h.session.resp = 3;
      expect(norm(h.run("zrange", "z", "0", "1", "withscores"))).toEqual([
        ["a", "2"],
        ["b", "2.5"],
      ]);
      expect(norm(h.run("zrangebyscore", "z", "3", "3", "withscores"))).toEqual([["c", "3"]]);
      expect(norm(h.run("zpopmax", "z"))).toEqual(["c", "3"]);
      expect(norm(h.run("zpopmin", "z", "1"))).toEqual([["a", "2"]]);
      h.session.resp = 2;
      expect(norm(h.run("zpopmin", "z", "1"))).toEqual(["b", "2.5"]);
    });
  });
});

describe("zsets: propagation and atomicity", () => {
  it("propagates changes verbatim and no-ops not at all", async () => {
    await withEngine((h) => {
      h.run("zadd", "z", "1", "a", "2", "b");
      h.run("zadd", "z", "nx", "5", "a"); // no-op
      h.run("zadd", "z", "1", "a"); // same score: no-op
      h.run("zadd", "z", "gt", "0", "b"); // no-op
      h.run("zrem", "z", "nope"); // no-op
      h.run("zremrangebyscore", "z", "10", "20"); // no-op
      h.run("zpopmin", "missing"); // no-op
      h.run("zincrby", "z", "1.5", "a");
      h.run("zpopmax", "z");
      h.run("zrem", "z", "b");
      expect(streamed(h)).toEqual([
        ["SELECT", "0"],
        ["zadd", "z", "1", "a", "2", "b"],
        ["zincrby", "z", "1.5", "a"],
        ["zpopmax", "z"],
        ["zrem", "z", "b"],
      ]);
      expect(h.run("zcard", "z")).toBe(0);
    });
  });

  it("a failing ZADD changes nothing", async () => {
    await withEngine((h) => {
      h.run("zadd", "z", "1", "a");
      const before = h.stream().length;
      expect(norm(h.run("zadd", "z", "2", "b", "x", "c"))).toEqual({ err: "ERR value is not a valid float" });
      expect(norm(h.run("zadd", "z", "2", "b", "3", new Uint8Array(1024 * 1024 + 1)))).toEqual({
        err: "ERR element exceeds the limit of 1048576 bytes",
      });
      h.run("zadd", "z", "inf", "i");
      const afterInf = h.stream().length;
      expect(norm(h.run("zincrby", "z", "-inf", "i"))).toEqual({ err: "ERR resulting score is not a number (NaN)" });
      expect(norm(h.run("zrange", "z", "0", "-1", "withscores"))).toEqual(["a", "1", "i", "inf"]);
      expect(afterInf).toBeGreaterThan(before);
      expect(h.stream().length).toBe(afterInf);
    });
  });
});

describe("zsets: bigger sets", () => {
  it("rank, range and removal by rank agree with a sorted model (ties ordered by member bytes)", async () => {
    await withEngine((h) => {
      let seed = 7;
      const rnd = (k: number) => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % k;
      };
      const model = new Map<string, number>();
      const args: string[] = [];
      for (let i = 0; i < 600; i++) {
        const m = `m${rnd(1000)}${i % 3 ? "" : "\u00e9"}`;
        const s = rnd(40) - 20;
        model.set(m, s);
        args.push(String(s), m);
      }
      h.run("zadd", "z", ...args);
      const sorted = () => [...model].sort((x, y) => x[1] - y[1] || memcmp(x[0], y[0]));
      let all = sorted();
      expect(h.run("zcard", "z")).toBe(all.length);
      expect(norm(h.run("zrange", "z", "0", "-1"))).toEqual(all.map((e) => e[0]));
      for (const i of [0, 1, 17, all.length - 5, all.length - 1]) {
        expect(h.run("zrank", "z", all[i]![0])).toBe(i);
        expect(h.run("zrevrank", "z", all[i]![0])).toBe(all.length - 1 - i);
      }
      // Near the tail the slice is read backwards from the end; both must agree.
      expect(norm(h.run("zrange", "z", "-7", "-3", "withscores"))).toEqual(
        all.slice(-7, -2).flatMap((e) => [e[0], String(e[1])]),
      );
      expect(norm(h.run("zrevrange", "z", "2", "4"))).toEqual(all.slice(-5, -2).reverse().map((e) => e[0]));
      expect(norm(h.run("zrevrange", "z", "-3", "-1"))).toEqual(all.slice(0, 3).reverse().map((e) => e[0]));
      expect(norm(h.run("zrangebyscore", "z", "(-3", "3", "limit", "2", "4"))).toEqual(
        all.filter((e) => e[1] > -3 && e[1] <= 3).slice(2, 6).map((e) => e[0]),
      );
      expect(h.run("zcount", "z", "0", "(5")).toBe(all.filter((e) => e[1] >= 0 && e[1] < 5).length);
      expect(h.run("zremrangebyrank", "z", "-10", "-2")).toBe(9);
      for (const e of all.slice(-10, -1)) model.delete(e[0]);
      expect(h.run("zremrangebyrank", "z", "3", "5")).toBe(3);
      for (const e of all.slice(3, 6)) model.delete(e[0]);
      all = sorted();
      expect(norm(h.run("zrange", "z", "0", "-1", "withscores"))).toEqual(all.flatMap((e) => [e[0], String(e[1])]));
    });
  });

  it("ZSCAN walks a big set exactly once with resumable cursors", async () => {
    await withEngine((h) => {
      const members: Uint8Array[] = [];
      for (let i = 0; i < 300; i++) members.push(new Uint8Array([i % 256, 0, 255, i >> 8]));
      members.push(new Uint8Array(0), new Uint8Array([0]), new TextEncoder().encode("a-long-member-name"));
      const args: (string | Uint8Array)[] = [];
      members.forEach((m, i) => args.push(String(i), m));
      expect(h.run("zadd", "z", ...args)).toBe(members.length);
      const seen = new Map<string, string>();
      let cursor = "0";
      let calls = 0;
      do {
        const r = h.run("zscan", "z", cursor, "count", "7") as [Uint8Array, Reply[]];
        cursor = new TextDecoder().decode(r[0]);
        expect(/^\d+$/.test(cursor)).toBe(true);
        expect(r[1].length).toBeLessThanOrEqual(14);
        for (let i = 0; i < r[1].length; i += 2) {
          const k = Array.from(r[1][i] as Uint8Array).join(",");
          expect(seen.has(k)).toBe(false);
          seen.set(k, new TextDecoder().decode(r[1][i + 1] as Uint8Array));
        }
        calls++;
      } while (cursor !== "0" && calls < 1000);
      expect(seen.size).toBe(members.length);
      members.forEach((m, i) => expect(seen.get(Array.from(m).join(","))).toBe(String(i)));
      // MATCH filters after the walk; a cursor that is not ours ends the scan.
      expect(norm(h.run("zscan", "z", "0", "count", "1000", "match", "a-*"))).toEqual(["0", ["a-long-member-name", "302"]]);
      expect(norm(h.run("zscan", "z", "17"))).toEqual(["0", []]);
    });
  });

  it("ordered walks use the (kid, score, member) index without sorting", async () => {
    await withEngine((h) => {
      h.run("zadd", "z", "1", "a");
      const plan = (q: string) =>
        h.engine.ks.sql
          .exec(`EXPLAIN QUERY PLAN ${q}`, ...Array.from(q.matchAll(/\?/g), () => 1))
          .toArray()
          .map((r) => String(r.detail))
          .join("; ");
      const byScore = "kv_zset INDEXED BY kv_zset_score";
      for (const q of [
        `SELECT member, score FROM ${byScore} WHERE kid = ? ORDER BY score, member LIMIT ? OFFSET ?`,
        `SELECT member, score FROM ${byScore} WHERE kid = ? ORDER BY score DESC, member DESC LIMIT ? OFFSET ?`,
        `SELECT member, score FROM ${byScore} WHERE kid = ? AND score >= ? AND score <= ? ORDER BY score, member LIMIT 1`,
        "SELECT member FROM kv_zset WHERE kid = ? AND member >= ? AND member < ? ORDER BY member DESC LIMIT ?",
      ]) {
        const p = plan(q);
        expect(p).toMatch(/SEARCH kv_zset/);
        expect(p).not.toMatch(/TEMP B-TREE/);
      }
    });
  });
});
