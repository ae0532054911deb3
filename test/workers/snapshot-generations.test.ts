/**
 * A snapshot being written reads the physical databases of its cut (pinned): a loaded snapshot
 * swapped in, a SWAPDB or a FLUSHDB/FLUSHALL while it is written serializes nothing first and
 * changes nothing in the file; the pinned generation becomes garbage only when the snapshot is
 * done. A big collection deleted meanwhile (freed in the background) is serialized first.
 */
import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { RdbWriter } from "../../src/protocol/rdb/writer.ts";
import { SnapshotLoader } from "../../src/replication/loader.ts";
import { openObject } from "../../src/replication/snapshot-objects.ts";
import { LAZYFREE_ROWS } from "../../src/keyspace/store.ts";
import { utf8 } from "../../src/util/bytes.ts";
import { cmd, freshDb, inNode, pipeline } from "./nodes.ts";

const AUTH = { authorization: "Bearer test-token" };

/** An RDB of `n` string keys `new:<i>` in database 0. */
function rdbOf(n: number): Uint8Array {
  const parts: Uint8Array[] = [];
  const w = new RdbWriter({ write: (b) => parts.push(b) });
  w.header({ "redis-ver": "7.0.15" });
  w.selectDb(0);
  for (let i = 0; i < n; i++) w.stringKey(utf8(`new:${i}`), utf8(`fresh-${i}`), null);
  w.end();
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function bytesOf(key: string, size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let o = 0;
  for await (const piece of (await openObject(env.SNAPSHOTS, key, size))!) {
    out.set(piece, o);
    o += piece.length;
  }
  return out;
}

describe("snapshots and generations", () => {
  it("a swap and a SWAPDB while a snapshot is written: nothing serialized first, the file is the keyspace at the cut, the old generation is kept until the snapshot is done", async () => {
    const db = freshDb("pin");
    // More keys than one slice of the walk (SNAPSHOT_SLICE_KEYS_MAX), in two databases.
    await pipeline(db, "master", Array.from({ length: 60 }, (_, i) => ["MSET", ...Array.from({ length: 100 }, (_, j) => [`old:${i * 100 + j}`, `v${i * 100 + j}`]).flat()]));
    await pipeline(db, "master", [["SELECT", "5"], ["SET", "five", "5"], ["SADD", "set5", "a", "b", "c"]]);
    const before = await cmd(db, "master", "DEBUG", "DIGEST");
    const rdb = rdbOf(500);

    const r = await inNode(db, "master", async (n) => {
      const ks = n.engine.ks;
      // A load that starts before the cut: its staged keys get ids below the cut's largest id.
      const loader = new SnapshotLoader(ks);
      loader.push(rdb);
      loader.finishAny();
      // A key created after the staged ones, so the cut's largest id lies above them.
      ks.createString(0, utf8("late"), utf8("1"), null);
      ks.deleteKey(ks.lookupWrite(0, utf8("late"))!);
      const download = n.snapshotForDownload();
      const job = n.snapshots["job"]!;
      const oldPhys = [...ks.dbs.phys];
      const written = job["writer"].bytesWritten + job["tailBytes"];
      loader.swap();
      ks.swapDatabases(0, 5);
      // Writes to the new generation (a staged key with an id inside the cut's range, too).
      n.engine.ks.deleteKey(ks.lookupWrite(5, utf8("new:1"))!);
      ks.createString(0, utf8("after"), utf8("x"), null);
      const serializedBySwap = job["writer"].bytesWritten + job["tailBytes"] - written;
      const oldRows = () => ks.sql.exec(`SELECT count(*) AS c FROM kv_keys WHERE db IN (${oldPhys.join(", ")})`).one().c as number;
      ks.collectGarbage(1_000_000);
      const keptWhileWriting = oldRows();
      const snap = await download;
      ks.collectGarbage(1_000_000);
      return { serializedBySwap, keptWhileWriting, afterDone: oldRows(), snap };
    });
    expect(r.serializedBySwap).toBe(0);
    expect(r.keptWhileWriting).toBe(6002);
    expect(r.afterDone).toBe(0);
    // The live data is the loaded one (database 0 only), with the SWAPDB and the writes after it.
    expect(await pipeline(db, "master", [["SELECT", "5"], ["DBSIZE"], ["GET", "new:0"], ["SELECT", "0"], ["DBSIZE"], ["GET", "after"], ["GET", "five"]])).toEqual([
      "OK",
      499,
      "fresh-0",
      "OK",
      1,
      "x",
      null,
    ]);

    // The file is the keyspace as it was at the cut.
    const restored = freshDb("pin-restored");
    const res = await SELF.fetch(`https://example.com/db/${restored}/admin/restore`, { method: "PUT", headers: AUTH, body: await bytesOf(r.snap.key, r.snap.size) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { restored: number }).restored).toBe(6002);
    expect(await cmd(restored, "master", "DEBUG", "DIGEST")).toBe(before);
  });

  it("FLUSHDB, FLUSHALL and the DEL of a big collection while a snapshot is written: the file is the keyspace at the cut, flushes serialize nothing", async () => {
    const db = freshDb("pin-flush");
    await pipeline(db, "master", Array.from({ length: 60 }, (_, i) => ["MSET", ...Array.from({ length: 100 }, (_, j) => [`old:${i * 100 + j}`, `v${i * 100 + j}`]).flat()]));
    const fields = Array.from({ length: LAZYFREE_ROWS + 10 }, (_, i) => [`f${i}`, `${i}`]).flat();
    await pipeline(db, "master", [["HSET", "big", ...fields], ["SELECT", "5"], ["SET", "five", "5"], ["SADD", "set5", "a", "b", "c"]]);
    const before = await cmd(db, "master", "DEBUG", "DIGEST");

    const r = await inNode(db, "master", async (n) => {
      const ks = n.engine.ks;
      const download = n.snapshotForDownload();
      const job = n.snapshots["job"]!;
      const bytes = () => job["writer"].bytesWritten + job["tailBytes"];
      const oldPhys = [...ks.dbs.phys];
      let at = bytes();
      ks.flush(5);
      const serializedByFlushdb = bytes() - at;
      // The walk goes in id order and has not reached the hash (created last): it is dumped first.
      ks.deleteKey(ks.lookupWrite(0, utf8("big"))!);
      at = bytes();
      ks.flush(null);
      const serializedByFlushall = bytes() - at;
      ks.createString(0, utf8("after"), utf8("x"), null);
      const oldRows = () => ks.sql.exec(`SELECT count(*) AS c FROM kv_keys WHERE db IN (${oldPhys.join(", ")})`).one().c as number;
      ks.collectGarbage(1_000_000);
      const keptWhileWriting = oldRows();
      const snap = await download;
      while (ks.collectGarbage()) {}
      const hashRows = ks.sql.exec("SELECT count(*) AS c FROM kv_hash").one().c as number;
      return { serializedByFlushdb, serializedByFlushall, keptWhileWriting, afterDone: oldRows(), hashRows, snap };
    });
    expect(r.serializedByFlushdb).toBe(0);
    expect(r.serializedByFlushall).toBe(0);
    expect(r.keptWhileWriting).toBe(6002);
    expect(r.afterDone).toBe(0);
    expect(r.hashRows).toBe(0);
    expect(await pipeline(db, "master", [["DBSIZE"], ["GET", "after"], ["SELECT", "5"], ["DBSIZE"]])).toEqual([1, "x", "OK", 0]);

    const restored = freshDb("pin-flush-restored");
    const res = await SELF.fetch(`https://example.com/db/${restored}/admin/restore`, { method: "PUT", headers: AUTH, body: await bytesOf(r.snap.key, r.snap.size) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { restored: number }).restored).toBe(6003);
    expect(await cmd(restored, "master", "HLEN", "big")).toBe(LAZYFREE_ROWS + 10);
    expect(await cmd(restored, "master", "DEBUG", "DIGEST")).toBe(before);
  });
});
