/**
 * The backlog over many small rows (one per event): reads from any position return exactly the
 * bytes from there on, trimming keeps exactly the configured history, and neither walks the
 * whole table (both are ranges of the primary key).
 */
import { describe, expect, it } from "vitest";
import { Backlog, READ_SQL, TRIM_SQL } from "../../src/replication/backlog.ts";
import { concat } from "../../src/util/bytes.ts";
import { withEngine } from "./harness.ts";

/** Row `i` is `i % 7 + 1` bytes of the value i & 0xff. */
function rowBytes(i: number): Uint8Array {
  return new Uint8Array(i % 7 + 1).fill(i & 0xff);
}

describe("backlog", () => {
  it("reads from any position and trims to its size over thousands of small rows", async () => {
    await withEngine((h) => {
      const sql = h.engine.ks.sql;
      const b = new Backlog(sql, 1 << 30);
      const all: Uint8Array[] = [];
      for (let i = 0; i < 5000; i++) {
        const r = rowBytes(i);
        all.push(r);
        b.append(r);
        b.flush();
      }
      const stream = concat(all);
      expect(b.offset).toBe(stream.length);
      const rows = sql.exec("SELECT count(*) AS n FROM repl_backlog").one().n as number;
      expect(rows).toBeGreaterThanOrEqual(5000);
      for (const from of [0, 1, 2, 3, 7, 100, 4999, stream.length - 3, stream.length - 1, stream.length]) {
        expect(concat([...b.readFrom(from)])).toEqual(stream.subarray(from));
      }
      // Trim to 1,000 bytes: the first byte falls inside a row; what is read is still exact.
      b.sizeBytes = 1000;
      b.append(rowBytes(5000));
      b.flush();
      const after = concat([stream, rowBytes(5000)]);
      expect(b.firstByte).toBe(after.length - 1000);
      expect(b.covers(b.firstByte)).toBe(true);
      expect(b.covers(b.firstByte - 1)).toBe(false);
      expect(concat([...b.readFrom(b.firstByte)])).toEqual(after.subarray(b.firstByte));
      // Rows wholly before the first byte are gone, the one holding it stays.
      const first = sql.exec("SELECT min(start) AS s FROM repl_backlog").one().s as number;
      expect(first).toBeLessThanOrEqual(b.firstByte);
      expect(first).toBeGreaterThan(b.firstByte - 8);
      // Both statements are ranges of the primary key, not scans of every row.
      const plan = (q: string) =>
        sql
          .exec(`EXPLAIN QUERY PLAN ${q}`, 5)
          .toArray()
          .map((r) => String(r.detail))
          .join(" ");
      for (const q of [TRIM_SQL, READ_SQL]) {
        expect(plan(q)).toMatch(/PRIMARY KEY/);
        expect(plan(q)).not.toMatch(/SCAN/);
      }
    });
  });
});
