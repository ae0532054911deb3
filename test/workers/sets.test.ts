import { describe, expect, it } from "vitest";
import { RedisError, RespSet, type Reply } from "../../src/protocol/reply.ts";
import { RespParser } from "../../src/protocol/resp.ts";
import { str, utf8 } from "../../src/util/bytes.ts";
import { withEngine, type EngineHarness, stream } from "./harness.ts";

/** Replies with bulk strings as text; RespSet items sorted (set order is Redis's own). */
function t(r: Reply): unknown {
  if (r instanceof Uint8Array) return str(r);
  if (r instanceof RespSet) return { set: r.items.map(t).sort() };
  if (r instanceof RedisError) return { err: r.msg };
  if (Array.isArray(r)) return r.map(t);
  return r;
}

function sorted(r: Reply): string[] {
  const items = r instanceof RespSet ? r.items : (r as Reply[]);
  return items.map((x) => str(x as Uint8Array)).sort();
}


/** Every set in db 0, members sorted (for comparing a master with its replica). */
function dump(h: EngineHarness): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const m of h.engine.ks.scanKeys(0, 0, 1000)) out[str(m.key)] = [...h.engine.ks.elements(m)].map((x) => str(x as Uint8Array)).sort();
  return out;
}

const WRONGTYPE = { err: "WRONGTYPE Operation against a key holding the wrong kind of value" };

function makeString(h: EngineHarness, key: string): void {
  const ks = h.engine.ks;
  const m = ks.create(0, utf8(key), 0);
  ks.writeString(m, utf8("x"));
}

describe("sets: basic commands", () => {
  it("SADD/SREM/SCARD/SISMEMBER/SMISMEMBER/SMEMBERS", async () => {
    await withEngine((h) => {
      expect(h.run("sadd", "s", "a", "b", "a", "")).toBe(3);
      expect(h.run("sadd", "s", "b", "c")).toBe(1);
      expect(h.run("scard", "s")).toBe(4);
      expect(t(h.run("smembers", "s"))).toEqual({ set: ["", "a", "b", "c"] });
      expect(h.run("sismember", "s", "")).toBe(1);
      expect(h.run("sismember", "s", "z")).toBe(0);
      expect(h.run("sismember", "nokey", "a")).toBe(0);
      expect(t(h.run("smismember", "s", "a", "z", "c"))).toEqual([1, 0, 1]);
      expect(t(h.run("smismember", "nokey", "a"))).toEqual([0]);
      expect(h.run("srem", "s", "a", "z", "a")).toBe(1);
      expect(h.run("srem", "s", "zz")).toBe(0);
      expect(h.run("srem", "nokey", "a")).toBe(0);
      expect(h.run("scard", "nokey")).toBe(0);
      expect(t(h.run("smembers", "nokey"))).toEqual({ set: [] });
      expect(h.run("srem", "s", "", "b", "c")).toBe(3);
      expect(h.engine.ks.peek(0, utf8("s"))).toBeNull();
      expect(stream(h)).toEqual([
        ["SELECT", "0"],
        ["sadd", "s", "a", "b", "a", ""],
        ["sadd", "s", "b", "c"],
        ["srem", "s", "a", "z", "a"],
        ["srem", "s", "", "b", "c"],
      ]);
    });
  });

  it("binary members survive", async () => {
    await withEngine((h) => {
      const bin = new Uint8Array([0, 255, 13, 10, 0xc3]);
      expect(h.run("sadd", "s", bin)).toBe(1);
      const r = h.run("smembers", "s") as RespSet;
      expect([...(r.items[0] as Uint8Array)]).toEqual([...bin]);
      expect(h.run("sismember", "s", bin)).toBe(1);
    });
  });

  it("WRONGTYPE and arity errors change nothing", async () => {
    await withEngine((h) => {
      makeString(h, "str");
      h.run("sadd", "s", "a");
      for (const c of [
        ["sadd", "str", "a"],
        ["srem", "str", "a"],
        ["smembers", "str"],
        ["sismember", "str", "a"],
        ["smismember", "str", "a"],
        ["scard", "str"],
        ["spop", "str"],
        ["spop", "str", "1"],
        ["srandmember", "str"],
        ["srandmember", "str", "1"],
        ["smove", "str", "s", "a"],
        ["smove", "s", "str", "a"],
        ["sunion", "s", "str"],
        ["sinter", "nokey", "str"],
        ["sdiff", "nokey", "str"],
        ["sunionstore", "d", "s", "str"],
        ["sscan", "str", "0"],
      ]) {
        expect(t(h.run(...c)), c.join(" ")).toEqual(WRONGTYPE);
      }
      for (const [c, n] of [
        ["sadd", 3],
        ["srem", 3],
        ["smembers", 2],
        ["sismember", 3],
        ["smismember", 3],
        ["scard", 2],
        ["spop", 2],
        ["srandmember", 2],
        ["smove", 4],
        ["sunion", 2],
        ["sunionstore", 3],
        ["sscan", 3],
      ] as const) {
        expect(t(h.run(c, ...Array(n - 2).fill("s"))), c).toEqual({ err: `ERR wrong number of arguments for '${c}' command` });
      }
      expect(t(h.run("sismember", "s", "a", "b"))).toEqual({ err: "ERR wrong number of arguments for 'sismember' command" });
      expect(t(h.run("smembers", "s"))).toEqual({ set: ["a"] });
      expect(stream(h)).toEqual([["SELECT", "0"], ["sadd", "s", "a"]]);
    });
  });

  it("an oversized member is refused before anything is written", async () => {
    await withEngine((h) => {
      const big = new Uint8Array(1024 * 1024 + 1);
      expect(t(h.run("sadd", "s", "a", big))).toEqual({ err: "ERR element exceeds the limit of 1048576 bytes" });
      expect(h.engine.ks.peek(0, utf8("s"))).toBeNull();
      expect(h.stream().length).toBe(0);
    });
  });
});

describe("sets: SPOP and SRANDMEMBER", () => {
  it("SPOP without count propagates SREM of the popped member", async () => {
    await withEngine((h) => {
      h.run("sadd", "s", "a", "b", "c");
      const m = str(h.run("spop", "s") as Uint8Array);
      expect(["a", "b", "c"]).toContain(m);
      expect(h.run("scard", "s")).toBe(2);
      expect(h.run("sismember", "s", m)).toBe(0);
      expect(h.run("spop", "nokey")).toBeNull();
      expect(stream(h).slice(2)).toEqual([["SREM", "s", m]]);
    });
  });

  it("SPOP count: errors, zero, partial (SREM), all (DEL)", async () => {
    await withEngine((h) => {
      h.run("sadd", "s", "a", "b", "c", "d", "e");
      expect(t(h.run("spop", "s", "-1"))).toEqual({ err: "ERR value is out of range, must be positive" });
      expect(t(h.run("spop", "s", "abc"))).toEqual({ err: "ERR value is out of range, must be positive" });
      expect(t(h.run("spop", "s", "1", "2"))).toEqual({ err: "ERR syntax error" });
      expect(t(h.run("spop", "s", "0"))).toEqual({ set: [] });
      expect(t(h.run("spop", "nokey", "3"))).toEqual({ set: [] });
      const popped = sorted(h.run("spop", "s", "2"));
      expect(popped.length).toBe(2);
      expect(new Set(popped).size).toBe(2);
      expect(h.run("scard", "s")).toBe(3);
      const rest = sorted(h.run("smembers", "s"));
      expect([...popped, ...rest].sort()).toEqual(["a", "b", "c", "d", "e"]);
      expect(sorted(h.run("spop", "s", "10"))).toEqual(rest);
      expect(h.engine.ks.peek(0, utf8("s"))).toBeNull();
      const cmds = stream(h).slice(2);
      expect(cmds[0]![0]).toBe("SREM");
      expect(cmds[0]!.slice(2).sort()).toEqual(popped);
      expect(cmds[1]).toEqual(["DEL", "s"]);
      expect(cmds.length).toBe(2);
    });
  });

  it("SPOP count on a big set: distinct members, SREM batches of 1024 in MULTI/EXEC, replica ends equal", async () => {
    let master: Record<string, string[]> = {};
    let bytes: Uint8Array = new Uint8Array(0);
    await withEngine((h) => {
      for (let i = 0; i < 3000; i += 500) h.run("sadd", "s", ...Array.from({ length: 500 }, (_, j) => `m:${i + j}`));
      const popped = sorted(h.run("spop", "s", "1500"));
      expect(new Set(popped).size).toBe(1500);
      expect(h.run("scard", "s")).toBe(1500);
      const one = str(h.run("spop", "s") as Uint8Array);
      expect(popped).not.toContain(one);
      const cmds = stream(h);
      const unit = cmds.slice(7);
      expect(unit[0]).toEqual(["MULTI"]);
      expect(unit.slice(1, 3).map((c) => c.length - 2)).toEqual([1024, 476]);
      expect(unit[3]).toEqual(["EXEC"]);
      expect(unit[4]).toEqual(["SREM", "s", one]);
      master = dump(h);
      bytes = h.stream();
    });
    await withEngine((r) => {
      const p = new RespParser("request");
      p.push(bytes);
      for (let v = p.next(); v !== undefined; v = p.next()) r.engine.applyFromMaster(r.session, v as Uint8Array[]);
      expect(dump(r)).toEqual(master);
    });
  });

  it("SRANDMEMBER: nil/empty on missing key, count rules, errors, never propagated", async () => {
    await withEngine((h) => {
      h.run("sadd", "s", "a", "b", "c");
      expect(h.run("srandmember", "nokey")).toBeNull();
      expect(t(h.run("srandmember", "nokey", "3"))).toEqual([]);
      expect(t(h.run("srandmember", "nokey", "-3"))).toEqual([]);
      expect(["a", "b", "c"]).toContain(str(h.run("srandmember", "s") as Uint8Array));
      expect(t(h.run("srandmember", "s", "0"))).toEqual([]);
      expect(sorted(h.run("srandmember", "s", "5"))).toEqual(["a", "b", "c"]);
      const two = sorted(h.run("srandmember", "s", "2"));
      expect(new Set(two).size).toBe(2);
      const neg = sorted(h.run("srandmember", "s", "-7"));
      expect(neg.length).toBe(7);
      for (const x of neg) expect(["a", "b", "c"]).toContain(x);
      expect(t(h.run("srandmember", "s", "abc"))).toEqual({ err: "ERR value is not an integer or out of range" });
      expect(t(h.run("srandmember", "s", "-9223372036854775808"))).toEqual({
        err: "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
      });
      expect(t(h.run("srandmember", "s", "1", "2"))).toEqual({ err: "ERR syntax error" });
      expect(stream(h).length).toBe(2);
    });
  });

  it("random picks over a big set reach many different members", async () => {
    await withEngine((h) => {
      for (let i = 0; i < 2000; i += 500) h.run("sadd", "s", ...Array.from({ length: 500 }, (_, j) => `member:${String(i + j).padStart(6, "0")}`));
      const seen = new Set<string>();
      for (let i = 0; i < 200; i++) seen.add(str(h.run("srandmember", "s") as Uint8Array));
      expect(seen.size).toBeGreaterThan(100);
      const uniq = sorted(h.run("srandmember", "s", "300"));
      expect(new Set(uniq).size).toBe(300);
      expect(sorted(h.run("srandmember", "s", "-50")).length).toBe(50);
    });
  });
});

describe("sets: SMOVE", () => {
  it("moves, no-ops and creates", async () => {
    await withEngine((h) => {
      h.run("sadd", "src", "a", "b");
      h.run("sadd", "dst", "b");
      expect(h.run("smove", "nokey", "dst", "a")).toBe(0);
      expect(h.run("smove", "src", "dst", "z")).toBe(0);
      expect(h.run("smove", "src", "src", "a")).toBe(1);
      expect(h.run("smove", "src", "src", "z")).toBe(0);
      expect(h.run("smove", "src", "dst", "b")).toBe(1); // already in dst
      expect(t(h.run("smembers", "dst"))).toEqual({ set: ["b"] });
      expect(h.run("smove", "src", "new", "a")).toBe(1);
      expect(h.engine.ks.peek(0, utf8("src"))).toBeNull();
      expect(t(h.run("smembers", "new"))).toEqual({ set: ["a"] });
      makeString(h, "str");
      expect(h.run("smove", "nokey", "str", "a")).toBe(0);
      expect(stream(h).slice(3)).toEqual([
        ["smove", "src", "dst", "b"],
        ["smove", "src", "new", "a"],
      ]);
    });
  });
});

describe("sets: SUNION/SINTER/SDIFF and STORE variants", () => {
  it("read variants", async () => {
    await withEngine((h) => {
      h.run("sadd", "a", "1", "2", "3", "4");
      h.run("sadd", "b", "3", "4", "5");
      h.run("sadd", "c", "4", "6");
      const cases: [string[], string[]][] = [
        [["sunion", "a", "b", "c"], ["1", "2", "3", "4", "5", "6"]],
        [["sunion", "a", "nokey", "a"], ["1", "2", "3", "4"]],
        [["sunion", "nokey"], []],
        [["sinter", "a", "b"], ["3", "4"]],
        [["sinter", "a", "b", "c"], ["4"]],
        [["sinter", "a", "a"], ["1", "2", "3", "4"]],
        [["sinter", "a", "nokey"], []],
        [["sdiff", "a", "b"], ["1", "2"]],
        [["sdiff", "a", "b", "c"], ["1", "2"]],
        [["sdiff", "a", "nokey"], ["1", "2", "3", "4"]],
        [["sdiff", "nokey", "a"], []],
        [["sdiff", "a", "a"], []],
        [["sdiff", "c", "b", "c"], []],
      ];
      for (const [c, want] of cases) expect(t(h.run(...c)), c.join(" ")).toEqual({ set: want });
      expect(stream(h).length).toBe(4);
    });
  });

  it("SINTER/SDIFF over more sources than one SQL statement binds", async () => {
    await withEngine((h) => {
      const keys = Array.from({ length: 120 }, (_, i) => `k${i}`);
      for (const k of keys) h.run("sadd", k, "common", `only-${k}`);
      h.run("sadd", "k119", "x");
      h.run("sadd", "base", "common", "x", "y");
      expect(t(h.run("sinter", ...keys))).toEqual({ set: ["common"] });
      expect(t(h.run("sdiff", "base", ...keys))).toEqual({ set: ["y"] });
      expect(h.run("sinterstore", "d", ...keys)).toBe(1);
      expect(h.run("sdiffstore", "d2", "base", ...keys)).toBe(1);
      expect(t(h.run("smembers", "d2"))).toEqual({ set: ["y"] });
    });
  });

  it("STORE variants replace the destination, delete it on an empty result, propagate verbatim", async () => {
    await withEngine((h) => {
      h.run("sadd", "a", "1", "2", "3");
      h.run("sadd", "b", "3", "4");
      makeString(h, "str");
      h.engine.ks.setExpire(h.engine.ks.peek(0, utf8("str"))!, Date.now() + 100_000);
      expect(h.run("sunionstore", "str", "a", "b")).toBe(4);
      const m = h.engine.ks.peek(0, utf8("str"))!;
      expect(m.type).toBe(2);
      expect(m.expireMs).toBeNull();
      expect(m.card).toBe(4);
      expect(t(h.run("smembers", "str"))).toEqual({ set: ["1", "2", "3", "4"] });
      expect(h.run("sinterstore", "a", "a", "b")).toBe(1); // destination is a source
      expect(t(h.run("smembers", "a"))).toEqual({ set: ["3"] });
      expect(h.run("sdiffstore", "d", "b", "a")).toBe(1);
      expect(t(h.run("smembers", "d"))).toEqual({ set: ["4"] });
      expect(h.run("sinterstore", "d", "a", "nokey")).toBe(0);
      expect(h.engine.ks.peek(0, utf8("d"))).toBeNull();
      expect(h.run("sdiffstore", "missing", "a", "a")).toBe(0); // nothing existed: not propagated
      expect(h.run("sunionstore", "b2", "b")).toBe(2);
      expect(t(h.run("sunionstore", "x", "b", "str2", "a"))).toEqual(2);
      expect(stream(h).slice(3)).toEqual([
        ["sunionstore", "str", "a", "b"],
        ["sinterstore", "a", "a", "b"],
        ["sdiffstore", "d", "b", "a"],
        ["sinterstore", "d", "a", "nokey"],
        ["sunionstore", "b2", "b"],
        ["sunionstore", "x", "b", "str2", "a"],
      ]);
      expect(h.engine.ks.sql.exec("SELECT count(*) AS n FROM kv_set WHERE kid < 0").one().n).toBe(0);
    });
  });

  it("STORE with a WRONGTYPE source changes nothing", async () => {
    await withEngine((h) => {
      h.run("sadd", "a", "1");
      h.run("sadd", "d", "keep");
      makeString(h, "str");
      expect(t(h.run("sinterstore", "d", "a", "str"))).toEqual(WRONGTYPE);
      expect(t(h.run("smembers", "d"))).toEqual({ set: ["keep"] });
      expect(stream(h).length).toBe(3);
    });
  });
});

describe("sets: SSCAN", () => {
  it("errors, missing key, MATCH", async () => {
    await withEngine((h) => {
      h.run("sadd", "s", "a1", "a2", "b1");
      expect(t(h.run("sscan", "s", "abc"))).toEqual({ err: "ERR invalid cursor" });
      expect(t(h.run("sscan", "s", "18446744073709551616"))).toEqual({ err: "ERR invalid cursor" });
      expect(t(h.run("sscan", "s", "0", "count", "0"))).toEqual({ err: "ERR syntax error" });
      expect(t(h.run("sscan", "s", "0", "count", "x"))).toEqual({ err: "ERR value is not an integer or out of range" });
      expect(t(h.run("sscan", "s", "0", "match"))).toEqual({ err: "ERR syntax error" });
      expect(t(h.run("sscan", "s", "0", "novalues"))).toEqual({ err: "ERR syntax error" });
      expect(t(h.run("sscan", "nokey", "0"))).toEqual(["0", []]);
      const r = t(h.run("sscan", "s", "0", "MATCH", "a*")) as [string, string[]];
      expect(r[0]).toBe("0");
      expect(r[1].sort()).toEqual(["a1", "a2"]);
    });
  });

  async function fullScan(h: EngineHarness, count: number, between?: (i: number) => void): Promise<string[]> {
    const got: string[] = [];
    let cursor = "0";
    let calls = 0;
    do {
      const [c, items] = t(h.run("sscan", "s", cursor, "count", String(count))) as [string, string[]];
      expect(items.length).toBeLessThanOrEqual(count);
      got.push(...items);
      cursor = c;
      between?.(calls);
      calls++;
      expect(calls).toBeLessThan(10_000);
    } while (cursor !== "0");
    return got;
  }

  it("a full iteration returns every member exactly once when nothing changes", async () => {
    await withEngine(async (h) => {
      // Members sharing long prefixes, short members, binary-looking ones.
      const members = [
        ...Array.from({ length: 400 }, (_, i) => `member:${String(i).padStart(6, "0")}`),
        ...Array.from({ length: 100 }, (_, i) => `k${i}`),
        "",
        "a",
        "ab",
        "abc",
      ];
      h.run("sadd", "s", ...members);
      for (const count of [1, 7, 50, 1000]) {
        const got = await fullScan(h, count);
        expect(got.length, `count ${count}`).toBe(members.length);
        expect(got.sort()).toEqual([...members].sort());
      }
    });
  });

  it("members present during the whole iteration are returned despite deletes and adds", async () => {
    await withEngine(async (h) => {
      const members = Array.from({ length: 300 }, (_, i) => `user:${String(i).padStart(4, "0")}`);
      h.run("sadd", "s", ...members);
      const removed = new Set<string>();
      const got = await fullScan(h, 10, (i) => {
        // Delete a member that was probably already returned, and add one.
        const victim = members[i * 7]!;
        if (victim && i % 2 === 0) {
          h.run("srem", "s", victim);
          removed.add(victim);
        }
        h.run("sadd", "s", `user:${String(i).padStart(4, "0")}x`);
      });
      const gotSet = new Set(got);
      for (const m of members) if (!removed.has(m)) expect(gotSet.has(m), m).toBe(true);
    });
  });
});
