/**
 * kv_counts (keyspace/schema.ts) keeps keys, keys with a TTL and the sum of their expiry
 * times per physical database through triggers, so DBSIZE, INFO keyspace and the admin status
 * are O(1). After every kind of write — runs of SETs, expiry set and cleared, deletes, renames,
 * moves between databases, SWAPDB, collections emptied, lazy expiry, RESTORE, FLUSHDB/ALL, a
 * replica's snapshot loads and the background deletion of the old data — the counts equal
 * counting the rows; a database made before the table existed is counted when it opens.
 */
import { describe, expect, it } from "vitest";
import { Keyspace } from "../../src/keyspace/store.ts";
import type { Verbatim } from "../../src/protocol/reply.ts";
import { utf8 } from "../../src/util/bytes.ts";
import { withEngine } from "./harness.ts";
import { attach, cmd, converged, freshDb, inNode, pipeline, write } from "./nodes.ts";

/** kv_counts against the rows themselves; returns the total number of keys. */
function expectCountsTrue(sql: SqlStorage): number {
  const rows = [...sql.exec("SELECT db, count(*), count(expire_ms), coalesce(sum(expire_ms), 0) FROM kv_keys GROUP BY db ORDER BY db").raw()];
  const kept = [...sql.exec("SELECT db, keys, expires, expire_sum FROM kv_counts WHERE keys != 0 OR expires != 0 OR expire_sum != 0 ORDER BY db").raw()];
  expect(kept).toEqual(rows);
  return rows.reduce((n, r) => n + (r[1] as number), 0);
}

describe("key counts (kv_counts)", () => {
  it("stay equal to the rows through every kind of write, and DBSIZE / INFO keyspace read them", async () => {
    await withEngine(async (h) => {
      const sql = h.engine.ks.sql;
      const t0 = Date.now();
      h.setNow(t0);
      h.run("SET", "a", "1");
      h.run("SET", "b", "2", "EX", "100");
      h.run("SET", "c", "3", "PX", "5000");
      expect(h.engine.executeRun(h.session, "set", [1, 2, 3, 4].map((i) => [utf8("SET"), utf8(`r${i}`), utf8("v")]))).not.toBeNull();
      // A run over keys with a TTL (b) and without (a): their TTLs go, no count of keys moves.
      expect(h.engine.executeRun(h.session, "set", ["a", "b", "r1"].map((k) => [utf8("SET"), utf8(k), utf8("w")]))).not.toBeNull();
      expectCountsTrue(sql);
      h.run("MSET", "m1", "1", "m2", "2");
      h.run("SETEX", "e1", "60", "x");
      h.run("EXPIRE", "a", "50");
      h.run("PEXPIREAT", "m1", String(t0 + 90_000));
      h.run("PERSIST", "e1");
      h.run("GETEX", "m2", "EX", "30");
      h.run("SET", "m2", "y", "KEEPTTL");
      h.run("INCR", "n");
      expectCountsTrue(sql);
      h.run("DEL", "r2", "nope");
      h.run("UNLINK", "r3");
      h.run("GETDEL", "r4");
      h.run("RENAME", "a", "c"); // over a key with a TTL, carrying its own
      h.run("RENAMENX", "m1", "renamed");
      h.run("MOVE", "m2", "1");
      h.run("COPY", "c", "copied", "DB", "2");
      expectCountsTrue(sql);
      h.run("SWAPDB", "0", "1");
      h.run("HSET", "h", "f", "v", "g", "w");
      h.run("HDEL", "h", "f", "g"); // emptied: the key goes
      h.run("RPUSH", "l", "x");
      h.run("LPOP", "l");
      h.run("SADD", "s", "m");
      h.run("ZADD", "z", "1", "m");
      h.run("ZREM", "z", "m");
      expectCountsTrue(sql);
      const dump = h.run("DUMP", "s") as Uint8Array;
      h.run("RESTORE", "s2", "0", dump);
      h.run("RESTORE", "s3", String(t0 + 1_000_000), dump, "ABSAT");
      h.run("RESTORE", "s2", "0", dump, "REPLACE");
      expectCountsTrue(sql);
      // Lazy expiry: past c's TTL a read deletes it.
      h.setNow(t0 + 10_000_000);
      h.run("SELECT", "1");
      expect(h.run("GET", "copied")).toBeNull();
      h.run("SELECT", "0");
      for (const k of ["c", "renamed", "s3", "m2"]) h.run("EXISTS", k);
      const total = expectCountsTrue(sql);
      let dbsize = 0;
      for (let db = 0; db < 3; db++) {
        h.run("SELECT", String(db));
        dbsize += h.run("DBSIZE") as number;
      }
      expect(dbsize).toBe(total);
      h.run("SELECT", "0");
      h.setNow(t0);
      h.run("SET", "ttl1", "x", "PX", "10000");
      h.run("SET", "ttl2", "x", "PX", "30000");
      // INFO reads the wall clock: a few ms have passed since t0.
      const keyspace = (h.run("INFO", "keyspace") as Verbatim).text;
      const avg = Number(/db0:keys=\d+,expires=2,avg_ttl=(\d+)/.exec(keyspace)?.[1]);
      expect(avg).toBeGreaterThan(19_000);
      expect(avg).toBeLessThanOrEqual(20_000);
      h.run("FLUSHDB");
      expectCountsTrue(sql);
      h.run("FLUSHALL");
      expect(h.run("DBSIZE")).toBe(0);
      // The flushed rows are garbage now, counted under their old numbers until collected.
      expect(expectCountsTrue(sql)).toBeGreaterThan(0);
      while (h.engine.ks.collectGarbage(3)) expectCountsTrue(sql);
      expect(expectCountsTrue(sql)).toBe(0);
      // Collected databases leave no count rows behind (one per flush otherwise).
      expect(sql.exec("SELECT count(*) AS n FROM kv_counts").one().n).toBe(0);
    });
  });

  it("a database made before kv_counts is counted when it opens", async () => {
    await withEngine(async (h) => {
      const sql = h.engine.ks.sql;
      for (let i = 0; i < 50; i++) h.run("SET", `k${i}`, "v", ...(i % 3 === 0 ? ["EX", "100"] : []));
      h.run("SELECT", "3");
      h.run("RPUSH", "list", "a", "b");
      // As an older version left it: no table, no triggers.
      for (const t of ["kv_counts_insert", "kv_counts_delete", "kv_counts_update"]) sql.exec(`DROP TRIGGER ${t}`);
      sql.exec("DROP TABLE kv_counts");
      const reopened = new Keyspace(sql);
      expect(reopened.dbSize(0)).toBe(50);
      expect(reopened.dbSize(3)).toBe(1);
      expect(reopened.dbStats().map((d) => [d.db, d.keys, d.expires])).toEqual([
        [0, 50, 17],
        [3, 1, 0],
      ]);
      expectCountsTrue(sql);
    });
  });

  it("on replicas: snapshot loads, the swap and the background deletion of the old data keep them true", async () => {
    const db = freshDb("counts");
    await write(db, 1);
    await pipeline(db, "master", [
      ["SET", "t1", "x", "EX", "1000"],
      ["SELECT", "4"],
      ["SET", "t4", "x", "PX", "900000"],
    ]);
    await attach(db, "r1");
    await write(db, 2);
    await converged(db, ["r1"]);
    // A second full sync into the replica that holds the data: its old rows are garbage now.
    expect(await cmd(db, "r1", "REPLICAOF", "NO", "ONE")).toBe("OK");
    await cmd(db, "r1", "SET", "only-on-r1", "x");
    await attach(db, "r1");
    await write(db, 3);
    await converged(db, ["r1"]);
    for (const node of ["master", "r1"]) {
      await inNode(db, node, async (n) => {
        while (n.engine.ks.collectGarbage()) {
          /* every garbage row, now */
        }
        expectCountsTrue(n.engine.ks.sql);
      });
    }
    expect(await cmd(db, "r1", "DBSIZE")).toBe(await cmd(db, "master", "DBSIZE"));
  });
});
