/**
 * A loaded snapshot becomes live by switching the logical → physical database mapping
 * (O(1)); the replaced data is garbage, deleted by the cron in bounded steps.
 */
import { describe, expect, it } from "vitest";
import { attach, cmd, digest, freshDb, info, inNode, pipeline, until } from "./nodes.ts";

const rows = (db: string, node: string) =>
  inNode(db, node, (n) => ({
    keys: n.sql.exec("SELECT count(*) AS c FROM kv_keys").one().c as number,
    sets: n.sql.exec("SELECT count(*) AS c FROM kv_set").one().c as number,
    phys: [...n.engine.ks.dbs.phys],
  }));

describe("generation switch", () => {
  it("a full sync swaps the loaded snapshot in by remapping; the old rows are collected in the background", async () => {
    const db = freshDb("gen");
    await pipeline(db, "master", Array.from({ length: 300 }, (_, i) => ["SET", `a${i}`, "v"]));
    await cmd(db, "master", "SADD", "big", ...Array.from({ length: 500 }, (_, i) => `m${i}`));
    await cmd(db, "m2", "SET", "other", "1");
    await cmd(db, "m2", "SELECT", 3).catch(() => {});
    await attach(db, "r1");
    await until("r1 caught up", async () => (await info(db, "r1")).master_repl_offset === (await info(db, "master")).master_repl_offset);
    expect(await digest(db, "r1")).toBe(await digest(db, "master"));
    const before = await rows(db, "r1");
    expect(before.keys).toBe(301);
    expect(before.sets).toBe(500);

    // Another master with other data: a full sync replaces everything.
    expect(await cmd(db, "r1", "REPLICAOF", "m2")).toBe("OK");
    await until("r1 synced with m2", async () => {
      const i = await info(db, "r1");
      return i.master_host === "m2" && i.master_link_status === "up";
    });
    expect(await digest(db, "r1")).toBe(await digest(db, "m2"));
    const after = await rows(db, "r1");
    expect(after.phys).not.toEqual(before.phys);
    for (const p of after.phys) expect(before.phys).not.toContain(p);
    await until("garbage collected", async () => !(await inNode(db, "r1", (n) => n.engine.ks.hasGarbage())));
    const clean = await rows(db, "r1");
    expect(clean.keys).toBe(1);
    expect(clean.sets).toBe(0);
    expect(await cmd(db, "r1", "DBSIZE")).toBe(1);
    expect(await cmd(db, "r1", "GET", "other")).toBe("1");
  });

  it("collectGarbage also stops at its time budget (the node's cron passes GC_STEP_MS)", async () => {
    const db = freshDb("gct");
    const r = await inNode(db, "master", (n) => {
      const ks = n.engine.ks;
      const dead = 1_000_001;
      ks.sql.exec(`WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 59999) INSERT INTO kv_keys (db, key, type, val, card) SELECT ${dead}, 'k' || i, 0, 'x', 1 FROM c`);
      ks.dropped();
      const left = () => ks.sql.exec("SELECT count(*) AS c FROM kv_keys WHERE db = ?", dead).one().c as number;
      const steps: number[] = [];
      let before = left();
      let more = true;
      while (more) {
        more = ks.collectGarbage(1_000_000, 1);
        steps.push(before - left());
        before = left();
      }
      return { steps, left: left() };
    });
    expect(r.left).toBe(0);
    // 60,000 rows take well over 1 ms: several steps, none of them everything.
    expect(r.steps.length).toBeGreaterThan(1);
    expect(Math.max(...r.steps)).toBeLessThan(60_000);
    expect(r.steps.reduce((a, b) => a + b, 0)).toBe(60_000);
  });

  it("collectGarbage deletes at most its budget of rows per step, elements before their key", async () => {
    const db = freshDb("gc");
    await cmd(db, "master", "SET", "live", "1");
    const r = await inNode(db, "master", (n) => {
      const ks = n.engine.ks;
      // Rows in a physical database no logical one maps to: what a swap leaves behind.
      const dead = 1_000_000;
      for (let i = 0; i < 2500; i++) ks.sql.exec("INSERT INTO kv_keys (db, key, type, val, card) VALUES (?, ?, 0, 'x', 1)", dead, `s${i}`);
      const big = ks.createIn(dead, new TextEncoder().encode("bigset"), 2, null);
      for (let i = 0; i < 3000; i++) ks.sql.exec("INSERT INTO kv_set (kid, member) VALUES (?, ?)", big.id, `m${i}`);
      ks.dropped();
      const total = () =>
        (ks.sql.exec("SELECT count(*) AS c FROM kv_keys WHERE db = ?", dead).one().c as number) +
        (ks.sql.exec("SELECT count(*) AS c FROM kv_set WHERE kid = ?", big.id).one().c as number);
      const steps: number[] = [];
      let left = total();
      let more = true;
      while (more) {
        more = ks.collectGarbage(1000);
        const now = total();
        steps.push(left - now);
        left = now;
        // The key row outlives its elements only while elements remain.
        const keyRow = ks.sql.exec("SELECT count(*) AS c FROM kv_keys WHERE id = ?", big.id).one().c as number;
        const elements = ks.sql.exec("SELECT count(*) AS c FROM kv_set WHERE kid = ?", big.id).one().c as number;
        if (elements > 0) expect(keyRow).toBe(1);
      }
      return { steps, left, live: ks.dbSize(0) };
    });
    expect(r.left).toBe(0);
    expect(r.live).toBe(1);
    expect(Math.max(...r.steps)).toBeLessThanOrEqual(1001);
    expect(r.steps.reduce((a, b) => a + b, 0)).toBe(2500 + 1 + 3000);
    expect(r.steps.length).toBeGreaterThanOrEqual(6);
    expect(await cmd(db, "master", "GET", "live")).toBe("1");
  });
});
