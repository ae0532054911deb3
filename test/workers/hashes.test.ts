import { describe, expect, it } from "vitest";
import { RedisError, RespMap, Simple, type Reply } from "../../src/protocol/reply.ts";
import { str, utf8 } from "../../src/util/bytes.ts";
import { withEngine, type EngineHarness, stream } from "./harness.ts";

/** Replies with bulk strings as text; maps as sorted [field, value] lists. */
function t(r: Reply): unknown {
  if (r instanceof Uint8Array) return str(r);
  if (r instanceof RedisError) return { err: r.msg };
  if (r instanceof Simple) return `+${r.s}`;
  if (r instanceof RespMap) return { map: r.entries.map(([k, v]) => [t(k), t(v)]).sort() };
  if (Array.isArray(r)) return r.map(t);
  if (typeof r === "bigint") return Number(r);
  return r;
}


const WRONGTYPE = { err: "WRONGTYPE Operation against a key holding the wrong kind of value" };

function makeString(h: EngineHarness, key: string): void {
  const m = h.engine.ks.create(0, utf8(key), 0);
  h.engine.ks.writeString(m, utf8("x"));
}

describe("hashes: field commands", () => {
  it("HSET/HMSET/HSETNX/HGET/HMGET/HEXISTS/HLEN/HSTRLEN/HDEL", async () => {
    await withEngine((h) => {
      expect(h.run("hset", "h", "a", "1", "b", "2", "a", "3")).toBe(2);
      expect(h.run("hset", "h", "b", "22", "c", "")).toBe(1);
      expect(t(h.run("hmset", "h", "d", "4"))).toBe("+OK");
      expect(h.run("hsetnx", "h", "a", "x")).toBe(0);
      expect(h.run("hsetnx", "h", "e", "5")).toBe(1);
      expect(h.run("hsetnx", "h2", "f", "v")).toBe(1);
      expect(t(h.run("hget", "h", "a"))).toBe("3");
      expect(t(h.run("hget", "h", "c"))).toBe("");
      expect(h.run("hget", "h", "zz")).toBeNull();
      expect(h.run("hget", "nokey", "a")).toBeNull();
      expect(t(h.run("hmget", "h", "a", "zz", "b"))).toEqual(["3", null, "22"]);
      expect(t(h.run("hmget", "nokey", "a", "b"))).toEqual([null, null]);
      expect(h.run("hexists", "h", "b")).toBe(1);
      expect(h.run("hexists", "h", "zz")).toBe(0);
      expect(h.run("hexists", "nokey", "a")).toBe(0);
      expect(h.run("hlen", "h")).toBe(5);
      expect(h.run("hlen", "nokey")).toBe(0);
      expect(h.run("hstrlen", "h", "b")).toBe(2);
      expect(h.run("hstrlen", "h", "zz")).toBe(0);
      expect(h.run("hstrlen", "nokey", "a")).toBe(0);
      expect(h.run("hdel", "h", "a", "zz", "a")).toBe(1);
      expect(h.run("hdel", "h", "zz")).toBe(0);
      expect(h.run("hdel", "nokey", "a")).toBe(0);
      expect(h.run("hdel", "h2", "f")).toBe(1);
      expect(h.engine.ks.peek(0, utf8("h2"))).toBeNull();
      expect(stream(h)).toEqual([
        ["SELECT", "0"],
        ["hset", "h", "a", "1", "b", "2", "a", "3"],
        ["hset", "h", "b", "22", "c", ""],
        ["hmset", "h", "d", "4"],
        ["hsetnx", "h", "e", "5"],
        ["hsetnx", "h2", "f", "v"],
        ["hdel", "h", "a", "zz", "a"],
        ["hdel", "h2", "f"],
      ]);
    });
  });

  it("HKEYS/HVALS/HGETALL in RESP2 and RESP3", async () => {
    await withEngine((h) => {
      h.run("hset", "h", "a", "1", "b", "2");
      expect((t(h.run("hkeys", "h")) as string[]).sort()).toEqual(["a", "b"]);
      expect((t(h.run("hvals", "h")) as string[]).sort()).toEqual(["1", "2"]);
      expect(t(h.run("hgetall", "h"))).toEqual({ map: [["a", "1"], ["b", "2"]] });
      expect(t(h.run("hkeys", "nokey"))).toEqual([]);
      expect(t(h.run("hvals", "nokey"))).toEqual([]);
      expect(t(h.run("hgetall", "nokey"))).toEqual({ map: [] });
    });
  });

  it("binary fields and values survive", async () => {
    await withEngine((h) => {
      const f = new Uint8Array([0, 255, 13, 10]);
      const v = new Uint8Array([0xc3, 0, 1]);
      expect(h.run("hset", "h", f, v)).toBe(1);
      expect([...(h.run("hget", "h", f) as Uint8Array)]).toEqual([...v]);
      expect(h.run("hstrlen", "h", f)).toBe(3);
    });
  });

  it("WRONGTYPE, arity and bad input change nothing", async () => {
    await withEngine((h) => {
      makeString(h, "str");
      h.run("hset", "h", "a", "1");
      for (const c of [
        ["hset", "str", "a", "1"],
        ["hsetnx", "str", "a", "1"],
        ["hget", "str", "a"],
        ["hmget", "str", "a"],
        ["hmset", "str", "a", "1"],
        ["hdel", "str", "a"],
        ["hexists", "str", "a"],
        ["hlen", "str"],
        ["hkeys", "str"],
        ["hvals", "str"],
        ["hgetall", "str"],
        ["hincrby", "str", "a", "1"],
        ["hincrbyfloat", "str", "a", "1"],
        ["hstrlen", "str", "a"],
        ["hscan", "str", "0"],
        ["hrandfield", "str"],
        ["hrandfield", "str", "1"],
      ]) {
        expect(t(h.run(...c)), c.join(" ")).toEqual(WRONGTYPE);
      }
      for (const c of [
        ["hset", "h", "a"],
        ["hset", "h", "a", "1", "b"],
        ["hmset", "h", "a", "1", "b"],
        ["hsetnx", "h", "a"],
        ["hget", "h"],
        ["hmget", "h"],
        ["hdel", "h"],
        ["hlen"],
        ["hincrby", "h", "a"],
        ["hscan", "h"],
        ["hrandfield"],
      ]) {
        expect(t(h.run(...c)), c.join(" ")).toEqual({ err: `ERR wrong number of arguments for '${c[0]}' command` });
      }
      const big = new Uint8Array(1024 * 1024 + 1);
      expect(t(h.run("hset", "h", "b", "2", "c", big))).toEqual({ err: "ERR element exceeds the limit of 1048576 bytes" });
      expect(h.run("hexists", "h", "b")).toBe(0);
      expect(t(h.run("hgetall", "h"))).toEqual({ map: [["a", "1"]] });
      expect(stream(h)).toEqual([["SELECT", "0"], ["hset", "h", "a", "1"]]);
    });
  });
});

describe("hashes: HINCRBY and HINCRBYFLOAT", () => {
  it("HINCRBY: int64 math, errors", async () => {
    await withEngine((h) => {
      expect(t(h.run("hincrby", "h", "n", "5"))).toBe(5);
      expect(t(h.run("hincrby", "h", "n", "-7"))).toBe(-2);
      h.run("hset", "h", "big", "9223372036854775806", "s", "abc", "lead", "010", "sp", " 1");
      expect(h.run("hincrby", "h", "big", "1")).toBe(9223372036854775807n);
      expect(t(h.run("hincrby", "h", "big", "1"))).toEqual({ err: "ERR increment or decrement would overflow" });
      h.run("hset", "h", "min", "-9223372036854775808");
      expect(t(h.run("hincrby", "h", "min", "-1"))).toEqual({ err: "ERR increment or decrement would overflow" });
      expect(h.run("hincrby", "h", "min", "9223372036854775807")).toBe(-1n);
      for (const f of ["s", "lead", "sp"]) expect(t(h.run("hincrby", "h", f, "1"))).toEqual({ err: "ERR hash value is not an integer" });
      expect(t(h.run("hincrby", "h", "n", "1.5"))).toEqual({ err: "ERR value is not an integer or out of range" });
      expect(t(h.run("hincrby", "h", "n", "9223372036854775808"))).toEqual({ err: "ERR value is not an integer or out of range" });
      expect(t(h.run("hincrby", "nokey", "n", "x"))).toEqual({ err: "ERR value is not an integer or out of range" });
      expect(h.engine.ks.peek(0, utf8("nokey"))).toBeNull();
      expect(t(h.run("hget", "h", "big"))).toBe("9223372036854775807");
      const cmds = stream(h);
      expect(cmds.filter((c) => c[0] === "hincrby").length).toBe(4);
    });
  });

  it("HINCRBYFLOAT: formatting, errors, propagated as HSET with the result", async () => {
    await withEngine((h) => {
      expect(t(h.run("hincrbyfloat", "h", "f", "1.5"))).toBe("1.5");
      expect(t(h.run("hincrbyfloat", "h", "g", "0.1"))).toBe("0.1");
      expect(t(h.run("hincrbyfloat", "h", "g", "0.2"))).toBe("0.3");
      expect(t(h.run("hincrbyfloat", "h", "f", "-1.5"))).toBe("0");
      expect(t(h.run("hincrbyfloat", "h", "e", "1e3"))).toBe("1000");
      h.run("hset", "h", "hex", "0x10", "sp", " 1", "word", "abc", "inf", "inf", "int", "7");
      expect(t(h.run("hincrbyfloat", "h", "hex", "1"))).toBe("17");
      expect(t(h.run("hincrbyfloat", "h", "int", "0.5"))).toBe("7.5");
      expect(t(h.run("hincrbyfloat", "h", "sp", "1"))).toEqual({ err: "ERR hash value is not a float" });
      expect(t(h.run("hincrbyfloat", "h", "word", "1"))).toEqual({ err: "ERR hash value is not a float" });
      expect(t(h.run("hincrbyfloat", "h", "inf", "1"))).toEqual({ err: "ERR increment would produce NaN or Infinity" });
      expect(t(h.run("hincrbyfloat", "h", "f", "inf"))).toEqual({ err: "ERR value is NaN or Infinity" });
      expect(t(h.run("hincrbyfloat", "h", "f", "abc"))).toEqual({ err: "ERR value is not a valid float" });
      expect(t(h.run("hincrbyfloat", "nokey", "f", "nan"))).toEqual({ err: "ERR value is not a valid float" });
      expect(h.engine.ks.peek(0, utf8("nokey"))).toBeNull();
      const cmds = stream(h).filter((c) => c[0] !== "hset");
      expect(cmds).toEqual([
        ["SELECT", "0"],
        ["HSET", "h", "f", "1.5"],
        ["HSET", "h", "g", "0.1"],
        ["HSET", "h", "g", "0.3"],
        ["HSET", "h", "f", "0"],
        ["HSET", "h", "e", "1000"],
        ["HSET", "h", "hex", "17"],
        ["HSET", "h", "int", "7.5"],
      ]);
    });
  });
});

/** Field, increment, and redis-server 7.0.15's reply (long double arithmetic, "%.17Lf"). */
const INCRBYFLOAT_CASES: [string, string, string][] = [
  ["a", "100000.1", "100000.10000000000000142"],
  ["a", "0.1", "100000.20000000000000284"],
  ["b", "0.1", "0.1"],
  ["b", "0.2", "0.3"],
  [
    "c",
    "1e400",
    "10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880",
  ],
  ["c", "-1e400", "0"],
  ["d", "1.1e-20", "0"],
  ["d", "3", "3"],
  ["e", "0x1p-3", "0.125"],
  [
    "f",
    "1e308",
    "99999999999999999996685879655845645660560099847415567207797047994921734868838061872100126921888539320446747225054013223152134749593960583597420814430196418767959100019603190778663109604507106667939153395788938914560543563061268364901618630217086589253444881623791300855757318142424510452728255046343928578048",
  ],
  [
    "f",
    "1e308",
    "199999999999999999993371759311691291321120199694831134415594095989843469737676123744200253843777078640893494450108026446304269499187921167194841628860392837535918200039206381557326219209014213335878306791577877829121087126122536729803237260434173178506889763247582601711514636284849020905456510092687857156096",
  ],
  ["g", "10.5", "10.5"],
  ["g", "-0.00001", "10.49999"],
  ["h", "3.0e3", "3000"],
  ["i", "123456789.123456789", "123456789.12345678899873747"],
  ["i", "0.000000001", "123456789.12345678999554366"],
  ["j", "5", "5"],
  ["j", "-5", "0"],
  ["k", "-1.5", "-1.5"],
];

describe("hashes: HINCRBYFLOAT matches redis-server's long double text", () => {
  it("table from redis-server 7.0.15", async () => {
    await withEngine((h) => {
      for (const [f, incr, want] of INCRBYFLOAT_CASES) expect(t(h.run("hincrbyfloat", "z", f, incr)), `${f} += ${incr}`).toBe(want);
      const sets = stream(h).slice(1);
      expect(sets.map((c) => c[3])).toEqual(INCRBYFLOAT_CASES.map((c) => c[2]));
      expect(str(h.run("hincrbyfloat", "z", "y", "1.18e4932") as Uint8Array).slice(0, 30)).toBe("118000000000000000000065281291");
      expect(t(h.run("hincrbyfloat", "z", "y", "1.18e4932"))).toEqual({ err: "ERR increment would produce NaN or Infinity" });
      for (const x of ["1e5000", "1.19e4932", "1e-5000", "0x1p16384"]) {
        expect(t(h.run("hincrbyfloat", "z", "x", x)), x).toEqual({ err: "ERR value is not a valid float" });
      }
      expect(str(h.run("hincrbyfloat", "z", "x", "0x1p16383") as Uint8Array).slice(0, 30)).toBe("594865747678615882542879663314");
      expect(t(h.run("hincrbyfloat", "z", "w", "1e-4940"))).toBe("0");
    });
  });
});

describe("hashes: HRANDFIELD", () => {
  it("counts, WITHVALUES in RESP2 and RESP3, errors", async () => {
    await withEngine((h) => {
      h.run("hset", "h", "a", "1", "b", "2", "c", "3");
      const vals: Record<string, string> = { a: "1", b: "2", c: "3" };
      expect(h.run("hrandfield", "nokey")).toBeNull();
      expect(t(h.run("hrandfield", "nokey", "3"))).toEqual([]);
      expect(t(h.run("hrandfield", "nokey", "-3", "withvalues"))).toEqual([]);
      expect(Object.keys(vals)).toContain(t(h.run("hrandfield", "h")));
      expect(t(h.run("hrandfield", "h", "0"))).toEqual([]);
      expect((t(h.run("hrandfield", "h", "9")) as string[]).sort()).toEqual(["a", "b", "c"]);
      const two = t(h.run("hrandfield", "h", "2")) as string[];
      expect(new Set(two).size).toBe(2);
      const flat = t(h.run("hrandfield", "h", "-5", "WITHVALUES")) as string[];
      expect(flat.length).toBe(10);
      for (let i = 0; i < flat.length; i += 2) expect(vals[flat[i]!]).toBe(flat[i + 1]);
      h.session.resp = 3;
      const pairs = t(h.run("hrandfield", "h", "2", "withvalues")) as [string, string][];
      expect(pairs.length).toBe(2);
      for (const [f, v] of pairs) expect(vals[f]).toBe(v);
      expect((t(h.run("hrandfield", "h", "5", "withvalues")) as [string, string][]).sort()).toEqual([
        ["a", "1"],
        ["b", "2"],
        ["c", "3"],
      ]);
      h.session.resp = 2;
      expect(t(h.run("hrandfield", "h", "1", "withvalue"))).toEqual({ err: "ERR syntax error" });
      expect(t(h.run("hrandfield", "nokey", "1", "withvalues", "x"))).toEqual({ err: "ERR syntax error" });
      expect(t(h.run("hrandfield", "h", "x"))).toEqual({ err: "ERR value is not an integer or out of range" });
      expect(t(h.run("hrandfield", "str", "x"))).toEqual({ err: "ERR value is not an integer or out of range" });
      expect(t(h.run("hrandfield", "h", "-9223372036854775808"))).toEqual({
        err: "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
      });
      expect(t(h.run("hrandfield", "h", "-4611686018427387904", "withvalues"))).toEqual({ err: "ERR value is out of range" });
      expect(t(h.run("hrandfield", "h", "9223372036854775807", "withvalues"))).toEqual({ err: "ERR value is out of range" });
      expect(t(h.run("hrandfield", "h", "-2000000"))).toEqual({ err: "ERR count exceeds the limit of 1000000 elements" });
      expect(stream(h).length).toBe(2);
    });
  });

  it("big hash: distinct picks with matching values", async () => {
    await withEngine((h) => {
      for (let i = 0; i < 1500; i += 500) h.run("hset", "h", ...Array.from({ length: 500 }, (_, j) => [`f${i + j}`, `v${i + j}`]).flat());
      const flat = t(h.run("hrandfield", "h", "100", "withvalues")) as string[];
      expect(flat.length).toBe(200);
      const fields = new Set<string>();
      for (let i = 0; i < flat.length; i += 2) {
        expect(flat[i + 1]).toBe(`v${flat[i]!.slice(1)}`);
        fields.add(flat[i]!);
      }
      expect(fields.size).toBe(100);
      const seen = new Set<string>();
      for (let i = 0; i < 100; i++) seen.add(t(h.run("hrandfield", "h")) as string);
      expect(seen.size).toBeGreaterThan(50);
    });
  });
});

describe("hashes: HSCAN", () => {
  it("errors, missing key, MATCH, NOVALUES is not 7.0", async () => {
    await withEngine((h) => {
      h.run("hset", "h", "a1", "1", "a2", "2", "b1", "3");
      expect(t(h.run("hscan", "h", "x"))).toEqual({ err: "ERR invalid cursor" });
      expect(t(h.run("hscan", "h", "0", "count", "0"))).toEqual({ err: "ERR syntax error" });
      expect(t(h.run("hscan", "h", "0", "novalues"))).toEqual({ err: "ERR syntax error" });
      expect(t(h.run("hscan", "nokey", "0"))).toEqual(["0", []]);
      expect(t(h.run("hscan", "h", "0", "match", "a*"))).toEqual(["0", ["a1", "1", "a2", "2"]]);
    });
  });

  it("a full iteration with small COUNT returns every field once with its value", async () => {
    await withEngine((h) => {
      const n = 700;
      for (let i = 0; i < n; i += 350) h.run("hset", "h", ...Array.from({ length: 350 }, (_, j) => [`field:${String(i + j).padStart(7, "0")}`, `${i + j}`]).flat());
      for (const count of [3, 100]) {
        const got = new Map<string, string>();
        let cursor = "0";
        let calls = 0;
        do {
          const [c, items] = t(h.run("hscan", "h", cursor, "COUNT", String(count))) as [string, string[]];
          for (let i = 0; i < items.length; i += 2) {
            expect(got.has(items[i]!)).toBe(false);
            got.set(items[i]!, items[i + 1]!);
          }
          cursor = c;
          expect(++calls).toBeLessThan(1000);
        } while (cursor !== "0");
        expect(got.size).toBe(n);
        for (const [f, v] of got) expect(String(Number(f.slice(6)))).toBe(v);
      }
    });
  });
});
