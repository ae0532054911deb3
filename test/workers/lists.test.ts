/**
 * List commands in the Workers runtime. The scenario table's replies were recorded from
 * redis-server 7.0.15 (RESP2; bulk strings shown as text, errors as {err}, the nil array as
 * "*-1"), each scenario starting from an empty keyspace.
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
    "push/pop basics",
    [
      [["rpush", "l", "a", "b", "c"], 3],
      [["lpush", "l", "x", "y"], 5],
      [["lrange", "l", "0", "-1"], ["y", "x", "a", "b", "c"]],
      [["llen", "l"], 5],
      [["lpop", "l"], "y"],
      [["rpop", "l"], "c"],
      [["lrange", "l", "0", "-1"], ["x", "a", "b"]],
      [["lpushx", "nokey", "a"], 0],
      [["rpushx", "nokey", "a"], 0],
      [["llen", "nokey"], 0],
      [["lpushx", "l", "p1", "p2"], 5],
      [["rpushx", "l", "t1"], 6],
      [["lrange", "l", "0", "-1"], ["p2", "p1", "x", "a", "b", "t1"]],
    ],
  ],
  [
    "pop with count (Redis 7 nil vs empty array)",
    [
      [["lpop", "missing"], null],
      [["lpop", "missing", "0"], "*-1"],
      [["lpop", "missing", "2"], "*-1"],
      [["rpush", "l", "a", "b", "c", "d"], 4],
      [["lpop", "l", "0"], []],
      [["lpop", "l", "2"], ["a", "b"]],
      [["rpop", "l", "1"], ["d"]],
      [["rpop", "l", "5"], ["c"]],
      [["llen", "l"], 0],
      [["rpop", "l"], null],
      [["rpop", "l", "1"], "*-1"],
      [["lpop", "l", "-1"], {"err": "ERR value is out of range, must be positive"}],
      [["lpop", "l", "abc"], {"err": "ERR value is out of range, must be positive"}],
      [["lpop", "l", "1", "2"], {"err": "ERR wrong number of arguments for 'lpop' command"}],
      [["rpush", "l", "z"], 1],
      [["rpop", "l", "-1"], {"err": "ERR value is out of range, must be positive"}],
    ],
  ],
  [
    "lrange and lindex indexes",
    [
      [["rpush", "l", "a", "b", "c", "d", "e"], 5],
      [["lrange", "l", "0", "0"], ["a"]],
      [["lrange", "l", "-2", "-1"], ["d", "e"]],
      [["lrange", "l", "-100", "100"], ["a", "b", "c", "d", "e"]],
      [["lrange", "l", "3", "1"], []],
      [["lrange", "l", "5", "10"], []],
      [["lrange", "l", "-1", "-5"], []],
      [["lrange", "l", "x", "1"], {"err": "ERR value is not an integer or out of range"}],
      [["lrange", "missing", "0", "-1"], []],
      [["lindex", "l", "0"], "a"],
      [["lindex", "l", "-1"], "e"],
      [["lindex", "l", "-5"], "a"],
      [["lindex", "l", "5"], null],
      [["lindex", "l", "-6"], null],
      [["lindex", "missing", "0"], null],
      [["lindex", "l", "x"], {"err": "ERR value is not an integer or out of range"}],
      [["lrange", "l", "0", "9223372036854775807"], ["a", "b", "c", "d", "e"]],
      [["lrange", "l", "-9223372036854775808", "1"], ["a", "b"]],
      [["lindex", "l", "9223372036854775807"], null],
    ],
  ],
  [
    "lset",
    [
      [["lset", "missing", "0", "x"], {"err": "ERR no such key"}],
      [["rpush", "l", "a", "b", "c"], 3],
      [["lset", "l", "1", "B"], "OK"],
      [["lset", "l", "-1", "C"], "OK"],
      [["lset", "l", "3", "x"], {"err": "ERR index out of range"}],
      [["lset", "l", "-4", "x"], {"err": "ERR index out of range"}],
      [["lset", "l", "x", "y"], {"err": "ERR value is not an integer or out of range"}],
      [["lrange", "l", "0", "-1"], ["a", "B", "C"]],
    ],
  ],
  [
    "ltrim",
    [
      [["rpush", "l", "a", "b", "c", "d", "e", "f"], 6],
      [["ltrim", "l", "1", "-2"], "OK"],
      [["lrange", "l", "0", "-1"], ["b", "c", "d", "e"]],
      [["ltrim", "l", "0", "100"], "OK"],
      [["lrange", "l", "0", "-1"], ["b", "c", "d", "e"]],
      [["ltrim", "l", "-2", "-1"], "OK"],
      [["lrange", "l", "0", "-1"], ["d", "e"]],
      [["ltrim", "l", "1", "0"], "OK"],
      [["llen", "l"], 0],
      [["ltrim", "missing", "0", "1"], "OK"],
      [["rpush", "m", "a", "b"], 2],
      [["ltrim", "m", "x", "1"], {"err": "ERR value is not an integer or out of range"}],
      [["ltrim", "m", "5", "10"], "OK"],
      [["llen", "m"], 0],
    ],
  ],
  [
    "linsert",
    [
      [["linsert", "missing", "before", "a", "x"], 0],
      [["rpush", "l", "a", "b", "c", "d", "e"], 5],
      [["linsert", "l", "before", "a", "h1"], 6],
      [["linsert", "l", "after", "e", "t1"], 7],
      [["linsert", "l", "before", "d", "m1"], 8],
      [["linsert", "l", "after", "b", "m2"], 9],
      [["linsert", "l", "BEFORE", "zz", "x"], -1],
      [["linsert", "l", "middle", "a", "x"], {"err": "ERR syntax error"}],
      [["lrange", "l", "0", "-1"], ["h1", "a", "b", "m2", "c", "m1", "d", "e", "t1"]],
      [["llen", "l"], 9],
      [["rpush", "d", "a", "a", "a"], 3],
      [["linsert", "d", "after", "a", "x"], 4],
      [["lrange", "d", "0", "-1"], ["a", "x", "a", "a"]],
    ],
  ],
  [
    "lrem",
    [
      [["rpush", "l", "a", "x", "b", "x", "c", "x", "d", "x", "x", "e"], 10],
      [["lrem", "l", "2", "x"], 2],
      [["lrange", "l", "0", "-1"], ["a", "b", "c", "x", "d", "x", "x", "e"]],
      [["lrem", "l", "-1", "x"], 1],
      [["lrange", "l", "0", "-1"], ["a", "b", "c", "x", "d", "x", "e"]],
      [["lrem", "l", "0", "x"], 2],
      [["lrange", "l", "0", "-1"], ["a", "b", "c", "d", "e"]],
      [["lrem", "l", "0", "nope"], 0],
      [["lrem", "l", "y", "a"], {"err": "ERR value is not an integer or out of range"}],
      [["lrem", "missing", "0", "a"], 0],
      [["rpush", "m", "x", "x"], 2],
      [["lrem", "m", "0", "x"], 2],
      [["llen", "m"], 0],
      [["rpush", "n", "x", "a", "b", "c", "d", "e", "f", "x", "x"], 9],
      [["lrem", "n", "-2", "x"], 2],
      [["lrange", "n", "0", "-1"], ["x", "a", "b", "c", "d", "e", "f"]],
      [["lindex", "n", "0"], "x"],
      [["lindex", "n", "-1"], "f"],
      [["rpush", "p", "a", "b", "x", "c", "d", "e", "f", "g", "h", "i", "x"], 11],
      [["lrem", "p", "0", "x"], 2],
      [["lrange", "p", "0", "-1"], ["a", "b", "c", "d", "e", "f", "g", "h", "i"]],
      [["lpush", "p", "h0"], 10],
      [["rpush", "p", "t0"], 11],
      [["lrange", "p", "0", "-1"], ["h0", "a", "b", "c", "d", "e", "f", "g", "h", "i", "t0"]],
    ],
  ],
  [
    "lpos",
    [
      [["rpush", "l", "a", "b", "c", "1", "2", "3", "c", "c"], 8],
      [["lpos", "l", "c"], 2],
      [["lpos", "l", "c", "rank", "2"], 6],
      [["lpos", "l", "c", "rank", "-1"], 7],
      [["lpos", "l", "c", "rank", "-2"], 6],
      [["lpos", "l", "c", "count", "0"], [2, 6, 7]],
      [["lpos", "l", "c", "count", "2"], [2, 6]],
      [["lpos", "l", "c", "count", "0", "rank", "-1"], [7, 6, 2]],
      [["lpos", "l", "c", "maxlen", "2"], null],
      [["lpos", "l", "c", "maxlen", "3"], 2],
      [["lpos", "l", "c", "count", "0", "maxlen", "7"], [2, 6]],
      [["lpos", "l", "c", "rank", "-1", "maxlen", "1"], 7],
      [["lpos", "l", "c", "rank", "-1", "maxlen", "2", "count", "0"], [7, 6]],
      [["lpos", "l", "zz"], null],
      [["lpos", "l", "zz", "count", "1"], []],
      [["lpos", "missing", "a"], null],
      [["lpos", "missing", "a", "count", "0"], []],
      [["lpos", "l", "c", "rank", "0"], {"err": "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"}],
      [["lpos", "l", "c", "count", "-1"], {"err": "ERR COUNT can't be negative"}],
      [["lpos", "l", "c", "maxlen", "-1"], {"err": "ERR MAXLEN can't be negative"}],
      [["lpos", "l", "c", "count", "abc"], {"err": "ERR COUNT can't be negative"}],
      [["lpos", "l", "c", "rank", "abc"], {"err": "ERR value is not an integer or out of range"}],
      [["lpos", "l", "c", "foo", "1"], {"err": "ERR syntax error"}],
      [["lpos", "l", "c", "rank"], {"err": "ERR syntax error"}],
      [["lpos", "l", "c", "rank", "10"], null],
    ],
  ],
  [
    "lmove and rpoplpush",
    [
      [["rpush", "s", "a", "b", "c"], 3],
      [["lmove", "s", "d", "left", "right"], "a"],
      [["lmove", "s", "d", "RIGHT", "LEFT"], "c"],
      [["lrange", "s", "0", "-1"], ["b"]],
      [["lrange", "d", "0", "-1"], ["c", "a"]],
      [["rpoplpush", "s", "d"], "b"],
      [["llen", "s"], 0],
      [["lrange", "d", "0", "-1"], ["b", "c", "a"]],
      [["rpoplpush", "s", "d"], null],
      [["lmove", "s", "d", "left", "up"], {"err": "ERR syntax error"}],
      [["rpush", "r", "1", "2", "3"], 3],
      [["rpoplpush", "r", "r"], "3"],
      [["lrange", "r", "0", "-1"], ["3", "1", "2"]],
      [["lmove", "r", "r", "left", "right"], "3"],
      [["lrange", "r", "0", "-1"], ["1", "2", "3"]],
      [["lmove", "r", "r", "left", "left"], "1"],
      [["lrange", "r", "0", "-1"], ["1", "2", "3"]],
      [["rpush", "one", "x"], 1],
      [["rpoplpush", "one", "one"], "x"],
      [["lrange", "one", "0", "-1"], ["x"]],
      [["zadd", "str", "1", "v"], 1],
      [["rpoplpush", "r", "str"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["lrange", "r", "0", "-1"], ["1", "2", "3"]],
      [["rpoplpush", "str", "r"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
    ],
  ],
  [
    "wrong type",
    [
      [["zadd", "s", "1", "v"], 1],
      [["lpush", "s", "a"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["rpushx", "s", "a"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["lpop", "s"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["llen", "s"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["lrange", "s", "0", "1"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["lindex", "s", "0"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["lset", "s", "0", "a"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["lrem", "s", "0", "a"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["ltrim", "s", "0", "1"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["linsert", "s", "before", "a", "b"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["lpos", "s", "a"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["lmove", "s", "d", "left", "left"], {"err": "WRONGTYPE Operation against a key holding the wrong kind of value"}],
      [["zcard", "s"], 1],
    ],
  ],
  [
    "arity",
    [
      [["lpush", "l"], {"err": "ERR wrong number of arguments for 'lpush' command"}],
      [["llen"], {"err": "ERR wrong number of arguments for 'llen' command"}],
      [["llen", "a", "b"], {"err": "ERR wrong number of arguments for 'llen' command"}],
      [["lrange", "l", "0"], {"err": "ERR wrong number of arguments for 'lrange' command"}],
      [["lindex", "l"], {"err": "ERR wrong number of arguments for 'lindex' command"}],
      [["lset", "l", "0"], {"err": "ERR wrong number of arguments for 'lset' command"}],
      [["lrem", "l", "0"], {"err": "ERR wrong number of arguments for 'lrem' command"}],
      [["ltrim", "l", "0"], {"err": "ERR wrong number of arguments for 'ltrim' command"}],
      [["linsert", "l", "before", "a"], {"err": "ERR wrong number of arguments for 'linsert' command"}],
      [["lpos", "l"], {"err": "ERR wrong number of arguments for 'lpos' command"}],
      [["lmove", "a", "b", "left"], {"err": "ERR wrong number of arguments for 'lmove' command"}],
      [["rpoplpush", "a"], {"err": "ERR wrong number of arguments for 'rpoplpush' command"}],
      [["lpop"], {"err": "ERR wrong number of arguments for 'lpop' command"}],
    ],
  ],
];

describe("lists: replies match redis-server 7.0", () => {
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

/** Positions of a list in SQLite, checked against the dense lhead..ltail-1 invariant. */
function checkDense(h: EngineHarness, key: string): void {
  const m = h.engine.ks.peek(0, new TextEncoder().encode(key));
  if (!m) return;
  const r = h.engine.ks.sql.exec("SELECT min(pos) AS lo, max(pos) AS hi, count(*) AS n FROM kv_list WHERE kid = ?", m.id).one();
  expect({ lo: r.lo, hi: r.hi, n: r.n }).toEqual({ lo: m.lhead, hi: m.ltail - 1, n: m.card });
}

describe("lists: propagation and atomicity", () => {
  it("propagates writes verbatim, and nothing for writes that changed nothing", async () => {
    await withEngine((h) => {
      h.run("rpush", "l", "a", "b", "c");
      h.run("lpushx", "missing", "x"); // no-op
      h.run("lpop", "missing"); // no-op
      h.run("lrem", "l", "0", "zz"); // no-op
      h.run("linsert", "l", "before", "zz", "x"); // no-op
      h.run("ltrim", "l", "0", "-1"); // no-op
      h.run("lpop", "l", "0"); // no-op
      h.run("lmove", "l", "l2", "left", "right");
      h.run("rpoplpush", "l", "l");
      h.run("ltrim", "l", "1", "1");
      h.run("lset", "l", "0", "z");
      expect(streamed(h)).toEqual([
        ["SELECT", "0"],
        ["rpush", "l", "a", "b", "c"],
        ["lmove", "l", "l2", "left", "right"],
        ["rpoplpush", "l", "l"],
        ["ltrim", "l", "1", "1"],
        ["lset", "l", "0", "z"],
      ]);
    });
  });

  it("a failing command changes nothing and propagates nothing", async () => {
    await withEngine((h) => {
      h.run("rpush", "l", "a", "b");
      const before = h.stream().length;
      const big = new Uint8Array(1024 * 1024 + 1);
      expect(norm(h.run("rpush", "l", "c", big))).toEqual({ err: "ERR element exceeds the limit of 1048576 bytes" });
      expect(norm(h.run("linsert", "l", "before", "a", big))).toEqual({ err: "ERR element exceeds the limit of 1048576 bytes" });
      expect(norm(h.run("lset", "l", "5", "x"))).toEqual({ err: "ERR index out of range" });
      expect(norm(h.run("lmove", "l", "l", "left", "sideways"))).toEqual({ err: "ERR syntax error" });
      h.run("zadd", "z", "1", "m");
      const afterZadd = h.stream().length;
      expect(norm(h.run("lmove", "l", "z", "left", "left"))).toEqual({
        err: "WRONGTYPE Operation against a key holding the wrong kind of value",
      });
      expect(norm(h.run("lrange", "l", "0", "-1"))).toEqual(["a", "b"]);
      expect(afterZadd).toBeGreaterThan(before);
      expect(h.stream().length).toBe(afterZadd);
    });
  });

  it("keeps values binary-safe", async () => {
    await withEngine((h) => {
      const v = new Uint8Array([0, 255, 13, 10, 0x80]);
      h.run("rpush", "l", v, "x");
      expect(h.run("lindex", "l", "0")).toEqual(v);
      expect(h.run("lpos", "l", v)).toBe(0);
      expect(h.run("lrem", "l", "1", v)).toBe(1);
      expect(norm(h.run("lrange", "l", "0", "-1"))).toEqual(["x"]);
    });
  });
});

describe("lists: positions", () => {
  it("LINSERT and LREM renumber only the shorter side", async () => {
    await withEngine((h) => {
      const n = 2000;
      const items = Array.from({ length: n }, (_, i) => `e${i}`);
      h.run("rpush", "l", ...items);
      const meta = () => h.engine.ks.peek(0, new TextEncoder().encode("l"))!;
      expect([meta().lhead, meta().ltail]).toEqual([0, n]);
      h.run("linsert", "l", "after", "e3", "near-head"); // 4 elements shift toward the head
      expect([meta().lhead, meta().ltail]).toEqual([-1, n]);
      h.run("linsert", "l", "before", "e1995", "near-tail"); // 5 elements shift toward the tail
      expect([meta().lhead, meta().ltail]).toEqual([-1, n + 1]);
      expect(h.run("lrem", "l", "0", "near-head")).toBe(1);
      expect([meta().lhead, meta().ltail]).toEqual([0, n + 1]);
      expect(h.run("lrem", "l", "-1", "near-tail")).toBe(1);
      expect([meta().lhead, meta().ltail]).toEqual([0, n]);
      expect(norm(h.run("lrange", "l", "0", "-1"))).toEqual(items);
      checkDense(h, "l");
    });
  });

  it("matches an array model under random operations", async () => {
    await withEngine((h) => {
      let seed = 12345;
      const rnd = (k: number) => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % k;
      };
      let model: string[] = [];
      const vals = ["a", "b", "c", "d"];
      for (let step = 0; step < 600; step++) {
        const v = vals[rnd(vals.length)]!;
        const op = rnd(9);
        const n = model.length;
        switch (op) {
          case 0:
            h.run("lpush", "l", v, v + "2");
            model.unshift(v + "2", v);
            break;
          case 1:
            h.run("rpush", "l", v);
            model.push(v);
            break;
          case 2: {
            const where = rnd(2) ? "before" : "after";
            const r = h.run("linsert", "l", where, v, "i");
            const at = model.indexOf(v);
            if (n === 0) expect(r).toBe(0);
            else if (at < 0) expect(r).toBe(-1);
            else {
              model.splice(where === "before" ? at : at + 1, 0, "i");
              expect(r).toBe(model.length);
            }
            break;
          }
          case 3: {
            const count = rnd(5) - 2;
            const r = h.run("lrem", "l", String(count), v);
            let removed = 0;
            if (count >= 0) {
              model = model.filter((x) => (x === v && (count === 0 || removed < count) ? (removed++, false) : true));
            } else {
              model = model.reverse().filter((x) => (x === v && removed < -count ? (removed++, false) : true)).reverse();
            }
            expect(r).toBe(removed);
            break;
          }
          case 4: {
            const a = rnd(n + 2) - 1;
            const b = rnd(n + 2) - 1;
            h.run("ltrim", "l", String(a), String(b));
            const s = a < 0 ? Math.max(0, n + a) : a;
            const e = b < 0 ? n + b : Math.min(b, n - 1);
            model = s > e || s >= n ? [] : model.slice(s, e + 1);
            break;
          }
          case 5:
            if (n) {
              const i = rnd(n);
              h.run("lset", "l", String(i), v);
              model[i] = v;
            }
            break;
          case 6:
            h.run(rnd(2) ? "lpop" : "rpop", "l", "0");
            break;
          case 7: {
            const c = rnd(3) + 1;
            const r = norm(h.run("rpop", "l", String(c)));
            const popped = model.splice(Math.max(0, n - c), c).reverse();
            expect(r).toEqual(n ? popped : "*-1");
            break;
          }
          case 8:
            h.run("lmove", "l", "l", "left", "right");
            if (n) model.push(model.shift()!);
            break;
        }
        if (step % 20 === 0 || step === 599) {
          expect(norm(h.run("lrange", "l", "0", "-1"))).toEqual(model);
          expect(h.run("llen", "l")).toBe(model.length);
          checkDense(h, "l");
        }
      }
    });
  });
});
