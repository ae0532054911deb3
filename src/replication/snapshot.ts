/**
 * Full-resync snapshots: an RDB of the keyspace as of an exact stream offset, written to R2
 * while writes continue, without a fork and without holding the keyspace in memory.
 *
 * The cut (Dragonfly's serialize-before-mutate, conservative variant): at offset O the job
 * records the largest key id M. It then walks keys with id ≤ M in id order (`cursor`), a
 * batch per step, yielding to other events between steps. Before any write changes or
 * deletes a key that the walk has not reached yet (id in (cursor, M]), the keyspace's
 * `beforeWrite` hook serializes that key first and remembers it (`preDumped`); the walk then
 * skips it. Keys created after the cut get ids > M (kv_keys ids are AUTOINCREMENT, never
 * reused) and are not in the snapshot; their creation is in the stream after O. So the file
 * is exactly the keyspace at O, and a write never waits for more than the keys it touches.
 *
 * The walk reads the physical databases that were live at the cut, pinned until it ends
 * (keyspace/generations.ts): a loaded snapshot swapped in, a SWAPDB or a FLUSHDB/FLUSHALL
 * meanwhile changes which numbers are live, not what the walk reads, so none serializes
 * anything first (before pins, a replica's swap or a flush during a snapshot serialized every
 * remaining key in one event).
 *
 * Output: the RDB goes to R2 as a sequence of SNAPSHOT_PIECE_BYTES objects (snapshot-objects.ts).
 * A full piece is put while the walk goes on (at most one put in flight: memory stays bounded by
 * about two pieces whatever the keyspace size; in production the walk overlaps R2's latency).
 *
 * Time: the walk runs SNAPSHOT_KEYS_PER_STEP keys per query, steps back to back until
 * SNAPSHOT_SLICE_MS have passed or SNAPSHOT_SLICE_KEYS_MAX keys were written, then yields, so
 * client commands wait about one slice at most. The key bound matters where the clock stands
 * still while JavaScript runs (deployed Workers advance it only at I/O).
 */
import type { KeyMeta, Keyspace } from "../keyspace/store.ts";
import { TYPE } from "../keyspace/schema.ts";
import { RdbWriter } from "../protocol/rdb/writer.ts";
import type { FaultyBucket } from "./faults.ts";
import { log } from "../util/log.ts";
import { SNAPSHOT_PIECE_BYTES } from "./snapshot-objects.ts";
import { yieldToOtherEvents } from "../util/yield.ts";

/** Keys serialized per step of the walk (one query); steps run back to back for SNAPSHOT_SLICE_MS, then yield. */
export const SNAPSHOT_KEYS_PER_STEP = 256;
/** Longest run of the walk in one event: client commands wait at most about this long. */
export const SNAPSHOT_SLICE_MS = 10;
/** Most keys written in one slice whatever the clock says (~3.5 µs each: ~7 ms). */
export const SNAPSHOT_SLICE_KEYS_MAX = 2048;
/** Attempts per R2 call before the snapshot is declared failed. */
export const R2_ATTEMPTS = 4;

export interface Snapshot {
  id: number;
  key: string;
  replid: string;
  /** Stream offset of the cut: the snapshot holds every byte of the stream before it. */
  offset: number;
  /** Database the stream had selected at the cut (-1: none; the next command selects). */
  streamDb: number;
  size: number;
  /** CRC64 of the whole file, 16 hex digits. */
  crc: string;
  state: "writing" | "ready" | "failed";
  createdMs: number;
}

export interface SnapshotHost {
  db: string;
  name: string;
  master: { snapshotDone(s: Snapshot, error: string | null): void; snapshotsInUse(): Set<number> };
  backlog: { firstByte: number };
  meta: { replid: string };
  scheduleCron(inMs: number): void;
  /** Function libraries' code, written into the snapshot (FUNCTION LOAD data). */
  functionCodes?(): Uint8Array[];
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS snapshots (
  id INTEGER PRIMARY KEY AUTOINCREMENT, r2key TEXT NOT NULL, replid TEXT NOT NULL, offset INTEGER NOT NULL,
  stream_db INTEGER NOT NULL, size INTEGER NOT NULL DEFAULT 0, crc TEXT NOT NULL DEFAULT '', state TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
DROP TABLE IF EXISTS snap_stage;
`;
// snap_stage held a multipart upload's parts in SQLite before snapshots became pieces: dropped.

function rowToSnapshot(r: Record<string, SqlStorageValue>): Snapshot {
  return {
    id: r.id as number,
    key: r.r2key as string,
    replid: r.replid as string,
    offset: r.offset as number,
    streamDb: r.stream_db as number,
    size: r.size as number,
    crc: r.crc as string,
    state: r.state as Snapshot["state"],
    createdMs: r.created_ms as number,
  };
}

async function retry<T>(what: string, f: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let i = 0; i < R2_ATTEMPTS; i++) {
    try {
      return await f();
    } catch (e) {
      last = e;
      log(`snapshot: R2 ${what} failed (attempt ${i + 1}/${R2_ATTEMPTS}): ${String(e)}`);
      await new Promise((r) => setTimeout(r, 50 * 4 ** i));
    }
  }
  throw last;
}

export class SnapshotManager {
  private job: SnapshotJob | null = null;
  /** Snapshots made by this object since it started (tests assert sharing). */
  made = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly ks: Keyspace,
    private readonly bucket: FaultyBucket,
    private readonly host: SnapshotHost,
  ) {
    sql.exec(SCHEMA);
    // A snapshot being written when the object stopped cannot be finished: drop it.
    sql.exec("UPDATE snapshots SET state = 'failed' WHERE state = 'writing'");
    ks.hooks.beforeWrite = (m) => this.job?.beforeWrite(m);
    ks.hooks.writesWatched = () => this.job !== null;
  }

  /** Every snapshot row (newest first). */
  list(): Snapshot[] {
    return this.sql.exec("SELECT * FROM snapshots ORDER BY id DESC").toArray().map(rowToSnapshot);
  }

  /**
   * The snapshot a replica needing a full resync uses: the one being written, else the
   * newest ready one whose offset the backlog still covers, else a new one cut now.
   */
  forReplica(replid: string, backlogFirstByte: number, cut: () => { offset: number; streamDb: number }): Snapshot {
    if (this.job) return this.job.snap;
    const ready = this.list().find((s) => s.state === "ready" && s.replid === replid && s.offset >= backlogFirstByte);
    if (ready) return ready;
    return this.cutNew(replid, cut);
  }

  /**
   * A snapshot as of now, for a download (a backup must be current, while a replica can
   * replay the backlog after an older one): the newest snapshot if nothing was written
   * since it, else a new cut once any snapshot in progress has finished.
   */
  async current(replid: string, offsetNow: () => number, cut: () => { offset: number; streamDb: number }): Promise<Snapshot> {
    while (this.job) {
      const running = this.job.snap;
      if (running.replid === replid && running.offset === offsetNow()) return running;
      await this.whenDone(running);
    }
    const ready = this.list().find((s) => s.state === "ready" && s.replid === replid && s.offset === offsetNow());
    return ready ?? this.cutNew(replid, cut);
  }

  private cutNew(replid: string, cut: () => { offset: number; streamDb: number }): Snapshot {
    const { offset, streamDb } = cut();
    const createdMs = Date.now();
    // A trailing "/": the snapshot is a sequence of piece objects under this prefix.
    const key = `snapshots/${this.host.db}/${this.host.name}/${replid}-${offset}-${createdMs}.rdb/`;
    const id = this.sql
      .exec(
        "INSERT INTO snapshots (r2key, replid, offset, stream_db, state, created_ms) VALUES (?, ?, ?, ?, 'writing', ?) RETURNING id",
        key,
        replid,
        offset,
        streamDb,
        createdMs,
      )
      .one().id as number;
    const snap: Snapshot = { id, key, replid, offset, streamDb, size: 0, crc: "", state: "writing", createdMs };
    this.made++;
    this.job = new SnapshotJob(this.sql, this.ks, this.bucket, snap, this.host.functionCodes?.() ?? []);
    log(`snapshot: #${id} cut at offset ${offset} (keys up to id ${this.job.maxId})`);
    void this.job.run().then(
      () => this.finish(snap, null),
      (e) => this.finish(snap, String(e instanceof Error ? e.message : e)),
    );
    return snap;
  }

  private readonly doneWaiters = new Map<number, ((s: Snapshot) => void)[]>();

  /** Resolves when the snapshot is ready or failed. */
  whenDone(snap: Snapshot): Promise<Snapshot> {
    if (snap.state !== "writing") return Promise.resolve(snap);
    return new Promise((resolve) => {
      const list = this.doneWaiters.get(snap.id) ?? [];
      list.push(resolve);
      this.doneWaiters.set(snap.id, list);
    });
  }

  private finish(snap: Snapshot, error: string | null): void {
    this.job = null;
    this.ks.pin(null);
    if (error) {
      snap.state = "failed";
      this.sql.exec("UPDATE snapshots SET state = 'failed' WHERE id = ?", snap.id);
      log(`snapshot: #${snap.id} failed: ${error}`);
    } else {
      snap.state = "ready";
      this.sql.exec("UPDATE snapshots SET state = 'ready', size = ?, crc = ? WHERE id = ?", snap.size, snap.crc, snap.id);
      log(`snapshot: #${snap.id} ready: ${snap.size} bytes, crc ${snap.crc}`);
    }
    this.host.master.snapshotDone(snap, error);
    for (const w of this.doneWaiters.get(snap.id) ?? []) w(snap);
    this.doneWaiters.delete(snap.id);
    this.host.scheduleCron(0);
  }

  /** Whether a snapshot is being written. */
  get busy(): boolean {
    return this.job !== null;
  }

  /**
   * Delete snapshots no longer usable: failed ones, ones of another replid or whose offset
   * the backlog no longer covers, and ready ones superseded by a newer ready one — unless a
   * syncing replica still reads it.
   */
  async cron(_now: number): Promise<number | null> {
    const inUse = this.host.master.snapshotsInUse();
    let newestReady = true;
    for (const s of this.list()) {
      if (s.state === "writing") continue;
      let usable = s.state === "ready" && s.replid === this.host.meta.replid && s.offset >= this.host.backlog.firstByte && newestReady;
      if (s.state === "ready" && usable) newestReady = false;
      if (usable || inUse.has(s.id)) continue;
      try {
        await this.bucket.deleteSnapshot(s.key);
        this.sql.exec("DELETE FROM snapshots WHERE id = ?", s.id);
        log(`snapshot: #${s.id} deleted (${s.state})`);
      } catch (e) {
        log(`snapshot: deleting #${s.id} failed: ${String(e)}`);
        return 5000;
      }
    }
    return this.job ? 1000 : null;
  }
}

/** One snapshot being written. */
class SnapshotJob {
  readonly maxId: number;
  /** Physical database of each logical database at the cut (pinned while the job runs). */
  private readonly phys: readonly number[];
  /** The logical database (at the cut) of each of those physical numbers. */
  private readonly cutDb = new Map<number, number>();
  private cursor = 0;
  private readonly preDumped = new Set<number>();
  private readonly writer: RdbWriter;
  private lastDb = -1;
  /** RDB bytes not yet cut into a piece. */
  private tail: Uint8Array[] = [];
  private tailBytes = 0;
  /** Number of the next piece to put. */
  private nextPiece = 0;
  /** The piece being put (at most one at a time). */
  private inFlight: Promise<void> | null = null;
  /** Set when the walk is done and the trailer written. */
  private done = false;

  constructor(
    private readonly sql: SqlStorage,
    private readonly ks: Keyspace,
    private readonly bucket: FaultyBucket,
    readonly snap: Snapshot,
    functions: Uint8Array[] = [],
  ) {
    this.maxId = ks.maxKeyId();
    this.phys = [...ks.dbs.phys];
    this.phys.forEach((p, l) => this.cutDb.set(p, l));
    ks.pin(this.phys);
    // Function libraries need RDB 10 (redis-server 7.0 loads it); without them RDB 9 loads everywhere.
    this.writer = new RdbWriter({ write: (b) => this.buffer(b) }, { version: functions.length > 0 ? 10 : 9 });
    const aux: Record<string, string | number> = {
      "redis-ver": "7.0.15",
      "redis-bits": 64,
      ctime: Math.floor(Date.now() / 1000),
      "used-mem": 0,
    };
    if (snap.streamDb >= 0) aux["repl-stream-db"] = snap.streamDb;
    aux["repl-id"] = snap.replid;
    aux["repl-offset"] = snap.offset;
    aux["aof-base"] = 0;
    this.writer.header(aux);
    for (const code of functions) this.writer.functionLibrary(code);
  }

  // --- the write hook --------------------------------------------------------------------

  /** `m` (in the live mapping) is about to change: dump it first if the walk has yet to reach it. */
  beforeWrite(m: KeyMeta): void {
    if (this.done || m.id <= this.cursor || m.id > this.maxId || this.preDumped.has(m.id)) return;
    // Its database at the cut; none: the key lives in a generation loaded since (not in this file).
    const db = this.cutDb.get(this.ks.physDb(m.db));
    if (db === undefined) return;
    this.dump(db === m.db ? m : { ...m, db });
    this.preDumped.add(m.id);
  }

  // --- the walk ----------------------------------------------------------------------------

  async run(): Promise<void> {
    let sliceStart = Date.now();
    let sliceKeys = 0;
    while (!this.step()) {
      sliceKeys += SNAPSHOT_KEYS_PER_STEP;
      if (this.tailBytes >= SNAPSHOT_PIECE_BYTES) await this.shipFullPieces();
      if (Date.now() - sliceStart >= SNAPSHOT_SLICE_MS || sliceKeys >= SNAPSHOT_SLICE_KEYS_MAX) {
        await yieldToOtherEvents(); // let client writes in between slices
        sliceStart = Date.now();
        sliceKeys = 0;
      }
    }
    this.snap.crc = this.writer.end();
    this.snap.size = this.writer.bytesWritten;
    await this.shipFullPieces();
    if (this.tailBytes > 0) await this.ship(this.cut(this.tailBytes));
    await this.inFlight;
  }

  /** Serialize the next batch of keys; true when the walk is over. */
  private step(): boolean {
    const keys = this.ks.scanPhysical(this.phys, this.cursor, this.maxId, SNAPSHOT_KEYS_PER_STEP);
    for (const m of keys) {
      this.cursor = m.id;
      if (this.preDumped.delete(m.id)) continue;
      this.dump(m);
      // A piece is ready: put it before serializing more (memory stays bounded).
      if (this.tailBytes >= SNAPSHOT_PIECE_BYTES && m.id < this.maxId) return false;
    }
    const last = keys[keys.length - 1];
    if (keys.length < SNAPSHOT_KEYS_PER_STEP || !last || last.id >= this.maxId) {
      this.cursor = this.maxId;
      this.done = true;
      this.preDumped.clear();
      return true;
    }
    return false;
  }

  private dump(m: KeyMeta): void {
    const w = this.writer;
    if (m.db !== this.lastDb) {
      w.selectDb(m.db);
      this.lastDb = m.db;
    }
    switch (m.type) {
      case TYPE.string:
        w.stringKey(m.key, this.ks.getString(m), m.expireMs);
        return;
      case TYPE.list:
        w.beginList(m.key, m.card, m.expireMs);
        for (const v of this.ks.elements(m)) w.listItem(v as Uint8Array);
        break;
      case TYPE.set:
        w.beginSet(m.key, m.card, m.expireMs);
        for (const v of this.ks.elements(m)) w.setMember(v as Uint8Array);
        break;
      case TYPE.zset:
        w.beginZset(m.key, m.card, m.expireMs);
        for (const v of this.ks.elements(m)) {
          const [member, score] = v as [Uint8Array, number];
          w.zsetMember(member, score);
        }
        break;
      case TYPE.hash:
        w.beginHash(m.key, m.card, m.expireMs);
        for (const v of this.ks.elements(m)) {
          const [f, val] = v as [Uint8Array, Uint8Array];
          w.hashField(f, val);
        }
        break;
    }
    w.endKey();
  }

  // --- pieces ------------------------------------------------------------------------------

  private buffer(b: Uint8Array): void {
    this.tail.push(b);
    this.tailBytes += b.length;
  }

  /** The first `n` buffered bytes as one array (the rest stays buffered). */
  private cut(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const b = this.tail[0]!;
      const take = Math.min(b.length, n - o);
      out.set(take === b.length ? b : b.subarray(0, take), o);
      o += take;
      if (take === b.length) this.tail.shift();
      else this.tail[0] = b.subarray(take);
    }
    this.tailBytes -= n;
    return out;
  }

  /** Put every full piece buffered (each waits for the put before it). */
  private async shipFullPieces(): Promise<void> {
    while (this.tailBytes >= SNAPSHOT_PIECE_BYTES) await this.ship(this.cut(SNAPSHOT_PIECE_BYTES));
  }

  /** Start putting a piece once the previous put is done; returns without waiting for this one. */
  private async ship(piece: Uint8Array): Promise<void> {
    await this.inFlight;
    const i = this.nextPiece++;
    const meta = { replid: this.snap.replid, offset: String(this.snap.offset), piece: String(i) };
    const put = retry(`put piece ${i}`, () => this.bucket.putPiece(this.snap.key, i, piece, meta));
    // A failure surfaces at the next await of inFlight (the next piece or the end).
    this.inFlight = put;
    put.catch(() => {});
  }
}
