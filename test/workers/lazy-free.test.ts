/**
 * Lazy free (keyspace/store.ts `deleteKey`): a key with more than LAZYFREE_ROWS element rows
 * is gone at once when deleted, overwritten or expired, and its rows are deleted later by the
 * garbage collector's bounded steps. FLUSHDB/FLUSHALL give databases fresh physical numbers
 * (generations.ts), whatever their size.
 */
import { describe, expect, it } from "vitest";
import { LAZYFREE_ROWS } from "../../src/keyspace/store.ts";
import { type EngineHarness, withEngine, run, stream } from "./harness.ts";

const BIG = LAZYFREE_ROWS + 1;

function rows(h: EngineHarness, table: string): number {
  return h.engine.ks.sql.exec(`SELECT count(*) AS n FROM ${table}`).one().n as number;
}

function fill(h: EngineHarness, type: "hash" | "set" | "zset" | "list", key: string, n: number, tag = ""): void {
  const items = Array.from({ length: n }, (_, i) => `${tag}${i}`);
  switch (type) {
    case "hash":
      run(h, "HSET", key, ...items.flatMap((m) => [m, "v"]));
      break;
    case "set":
      run(h, "SADD", key, ...items);
      break;
    case "zset":
      run(h, "ZADD", key, ...items.flatMap((m, i) => [i, m]));
      break;
    case "list":
      run(h, "RPUSH", key, ...items);
      break;
  }
}

/** Run the collector's steps to the end; returns how many steps it took. */
function collect(h: EngineHarness): number {
  let steps = 1;
  while (h.engine.ks.collectGarbage(1000)) steps++;
  return steps;
}

describe("lazy free", () => {
  it("DEL / UNLINK of a big collection: gone at once, a new key of the name sees none of the old elements, rows freed in bounded steps", async () => {
    await withEngine((h) => {
      for (const [type, table] of [
        ["hash", "kv_hash"],
        ["set", "kv_set"],
        ["zset", "kv_zset"],
        ["list", "kv_list"],
      ] as const) {
        fill(h, type, "big", BIG);
        fill(h, type, "small", 3);
        expect(rows(h, table)).toBe(BIG + 3);
        expect(run(h, type === "list" ? "UNLINK" : "DEL", "big", "small")).toBe(2);
        // The small one went at once; the big one's rows wait for the collector.
        expect(rows(h, table)).toBe(BIG);
        expect(run(h, "EXISTS", "big")).toBe(0);
        expect(run(h, "DBSIZE")).toBe(0);
        expect(run(h, "SCAN", "0")).toEqual(["0", []]);
        fill(h, type, "big", 2, "new");
        expect(run(h, "TYPE", "big")).toBe(`+${type}`);
        expect(rows(h, table)).toBe(BIG + 2);
        // 1,000 rows per step at most: more than one step.
        expect(collect(h)).toBeGreaterThan(BIG / 1000);
        expect(rows(h, table)).toBe(2);
        expect(run(h, "DBSIZE")).toBe(1);
        run(h, "DEL", "big");
        expect(rows(h, table)).toBe(0);
      }
      expect(rows(h, "kv_keys")).toBe(0);
      expect(h.engine.ks.hasGarbage()).toBe(false);
    });
  });

  it("an overwrite (SET, RENAME, SUNIONSTORE) and the expiry of a big collection free it in the background too", async () => {
    await withEngine((h) => {
      fill(h, "set", "s1", BIG);
      expect(run(h, "SET", "s1", "now a string")).toBe("+OK");
      expect(run(h, "GET", "s1")).toBe("now a string");
      fill(h, "zset", "z1", BIG);
      fill(h, "zset", "z2", 2);
      expect(run(h, "RENAME", "z2", "z1")).toBe("+OK");
      expect(run(h, "ZCARD", "z1")).toBe(2);
      fill(h, "set", "s2", BIG);
      run(h, "SADD", "src", "a");
      expect(run(h, "SUNIONSTORE", "s2", "src")).toBe(1);
      fill(h, "hash", "hx", BIG);
      h.setNow(Date.now());
      run(h, "PEXPIRE", "hx", 10);
      h.setNow(Date.now() + 1000);
      expect(h.engine.activeExpire(10)).toBe(1);
      expect(run(h, "EXISTS", "hx")).toBe(0);
      // Garbage: two sets, a zset and a hash of BIG each; live: s2 {a}, src {a}, z1 of 2.
      expect(rows(h, "kv_set") + rows(h, "kv_zset") + rows(h, "kv_hash")).toBe(4 * BIG + 4);
      expect(h.engine.ks.hasGarbage()).toBe(true);
      collect(h);
      expect([rows(h, "kv_set"), rows(h, "kv_zset"), rows(h, "kv_hash")]).toEqual([2, 2, 0]);
      expect(run(h, "DBSIZE")).toBe(4);
    });
  });

  it("a collection at the bound is deleted in place, and DEL is propagated either way", async () => {
    await withEngine((h) => {
      fill(h, "set", "edge", LAZYFREE_ROWS);
      run(h, "DEL", "edge");
      expect(rows(h, "kv_set")).toBe(0);
      expect(h.engine.ks.hasGarbage()).toBe(false);
      fill(h, "set", "big", BIG);
      run(h, "DEL", "big");
      expect(h.engine.ks.hasGarbage()).toBe(true);
      expect(stream(h).filter((c) => c[0]?.toUpperCase() === "DEL")).toEqual([
        ["DEL", "edge"],
        ["DEL", "big"],
      ]);
      collect(h);
      expect(h.engine.ks.sql.exec("SELECT count(*) AS n FROM kv_counts").one().n).toBe(0);
    });
  });

  it("INFO memory: lazyfree_pending_objects counts the keys waiting, lazyfreed_objects those freed; a stats reset zeroes the latter", async () => {
    await withEngine((h) => {
      const mem = () => {
        const text = (h.run("INFO", "memory") as { text: string }).text;
        return [Number(/lazyfree_pending_objects:(\d+)/.exec(text)?.[1]), Number(/lazyfreed_objects:(\d+)/.exec(text)?.[1])];
      };
      expect(mem()).toEqual([0, 0]);
      fill(h, "set", "big", BIG);
      run(h, "MSET", "a", "1", "b", "2");
      run(h, "DEL", "big");
      expect(mem()).toEqual([1, 0]);
      collect(h);
      expect(mem()).toEqual([0, 1]);
      run(h, "FLUSHALL");
      expect(mem()).toEqual([2, 1]);
      collect(h);
      expect(mem()).toEqual([0, 3]);
      h.engine.resetStats(); // what CONFIG RESETSTAT runs in a node (info-stats.test.ts)
      expect(mem()).toEqual([0, 0]);
    });
  });
});
