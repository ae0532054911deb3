/**
 * The keyspace over SQLite: key metadata, expiry, strings (split into rows of `chunkBytes`,
 * STRING_CHUNK_BYTES in a new database) and generic element access for the collection types. Plain
 * TypeScript over the `SqlStorage` interface: no Durable Object in here.
 *
 * Every mutation of an existing key goes through `lookupWrite` (or `deleteKey`), which
 * calls `hooks.beforeWrite` first: the snapshot writer uses it to serialize a key
 * that it has not dumped yet before the key changes (serialize-before-mutate).
 */
import { DATABASES, LEGACY_STRING_CHUNK_BYTES, OUTPUT_BYTES_MAX, STRING_CHUNK_BYTES } from "../limits.ts";
import { RedisError } from "../protocol/reply.ts";
import { firstByteNot } from "../util/bits.ts";
import { bkey, blob, own } from "../util/bytes.ts";
import { DbMap } from "./generations.ts";
import { COUNTS_FILL_SQL, COUNTS_TABLE, KEYSPACE_SCHEMA, TYPE, type TypeCode } from "./schema.ts";

export interface KeyMeta {
  id: number;
  db: number;
  key: Uint8Array;
  type: TypeCode;
  /** Absolute unix time in ms, or null when the key has no TTL. */
  expireMs: number | null;
  /** Strings: byte length. Collections: number of elements. */
  card: number;
  /** Strings: extra chunk rows after `val`. */
  nchunks: number;
  /** Lists: position of the first element and one past the last. */
  lhead: number;
  ltail: number;
  /**
   * Strings held in one row: the value, read together with the metadata so a GET is one
   * statement. Undefined when not read (or after the value changed through other means).
   */
  val?: Uint8Array;
}

/** How lookups treat a key whose TTL has passed (Redis db.c expireIfNeeded). */
export type ExpiryMode =
  /** A master deletes it on access and propagates a DEL. */
  | "master"
  /** A replica answering its clients reports it missing and keeps it (the master's DEL will come). */
  | "replica"
  /** A replica applying its master's stream sees every key as it is stored. */
  | "stream";

export interface KeyspaceHooks {
  /** Called before an existing key is changed or deleted. */
  beforeWrite?(meta: KeyMeta): void;
  /** Called when a master deletes an expired key (propagate `DEL key` in `db`). */
  expired?(db: number, key: Uint8Array): void;
  /** Called when a key gets a TTL (the node schedules active expiry). */
  expireSet?(expireMs: number): void;
  /** Rows became garbage (a flush, a swap, a big key deleted): the node runs `collectGarbage` from its cron. */
  garbage?(): void;
  /** Whether `beforeWrite` must see every change now (a snapshot is being written). */
  writesWatched?(): boolean;
  /**
   * A key came into existence under a name (Redis dbAdd: created, restored, copied, renamed or
   * moved there): clients blocked on it may be served (keyspace/blocked-clients.ts).
   */
  added?(db: number, key: Uint8Array, type: TypeCode): void;
}

type Row = Record<string, SqlStorageValue>;

/** A kv_keys row as KeyMeta; `db` is the logical database of the row's physical number. */
function toMeta(r: Row, db: number): KeyMeta {
  return {
    id: r.id as number,
    db,
    key: blob(r.key),
    type: r.type as TypeCode,
    expireMs: (r.expire_ms as number | null) ?? null,
    card: r.card as number,
    nchunks: r.nchunks as number,
    lhead: r.lhead as number,
    ltail: r.ltail as number,
    val: r.val === null || r.val === undefined ? undefined : blob(r.val),
  };
}

/**
 * KeyMeta from a row read as an array: `at` is where its `type, expire_ms, card, nchunks,
 * lhead, ltail, val` columns start (PEEK_SQL and META_COLS place them differently).
 */
function rawMeta(r: SqlStorageValue[], id: number, db: number, key: Uint8Array, at: number): KeyMeta {
  const val = r[at + 6];
  return {
    id,
    db,
    key,
    type: r[at] as TypeCode,
    expireMs: (r[at + 1] as number | null) ?? null,
    card: r[at + 2] as number,
    nchunks: r[at + 3] as number,
    lhead: r[at + 4] as number,
    ltail: r[at + 5] as number,
    val: val === null || val === undefined ? undefined : blob(val),
  };
}

/** Metadata columns; a one-row string's value comes along (values past one row never do). */
const META_COLS = "id, db, key, type, expire_ms, card, nchunks, lhead, ltail, CASE WHEN type = 0 AND nchunks = 0 THEN val END AS val";
const PEEK_SQL = "SELECT id, type, expire_ms, card, nchunks, lhead, ltail, CASE WHEN type = 0 AND nchunks = 0 THEN val END FROM kv_keys WHERE db = ? AND key = ?";
/**
 * Rows per multi-row upsert of `setPlainStrings` (2 bound parameters each, and one for the
 * expiry condition, within the 100 a Durable Object's SQLite allows).
 */
export const SET_ROWS_PER_STATEMENT = 49;
/** Keys per statement of `peekMany` (one bound parameter each, within the same 100). */
export const PEEK_KEYS_PER_STATEMENT = 99;
/** Bytes of keys and values bound to one such statement (a row with a bigger value goes alone). */
const SET_STATEMENT_BYTES_MAX = 1024 * 1024;
const manyRowsSqls = new Map<string, string>();
/** A statement text per (kind, physical database, rows), built once: `phys` is a database number we chose, inlined as a literal like the loader does. */
function manyRowsSql(kind: "set" | "peek", phys: number, n: number): string {
  const k = `${kind}:${phys}:${n}`;
  let sql = manyRowsSqls.get(k);
  if (sql === undefined) {
    sql =
      kind === "set"
        ? // Insert, or overwrite a live one-row string (the upsert's WHERE leaves anything else
          // untouched), `n` rows; the last parameter is the expiry condition's time.
          `INSERT INTO kv_keys (db, key, type, expire_ms, val, card, nchunks, lhead, ltail) SELECT ${phys}, column1, 0, NULL, column2, length(column2), 0, 0, 0 ` +
          `FROM (VALUES ${Array(n).fill("(?, ?)").join(", ")}) WHERE true ` + // WHERE: SQLite's parsing of an upsert after a SELECT
          "ON CONFLICT(db, key) DO UPDATE SET val = excluded.val, card = excluded.card, expire_ms = NULL " +
          "WHERE type = 0 AND nchunks = 0 AND (expire_ms IS NULL OR expire_ms > ?)"
        : // Each row names the position it answers (a key asked twice gets two rows).
          `SELECT q.column1, k.id, k.type, k.expire_ms, k.card, k.nchunks, k.lhead, k.ltail, CASE WHEN k.type = 0 AND k.nchunks = 0 THEN k.val END ` +
          `FROM (VALUES ${Array.from({ length: n }, (_, i) => `(${i}, ?)`).join(", ")}) AS q CROSS JOIN kv_keys AS k ON k.db = ${phys} AND k.key = q.column2`;
    if (manyRowsSqls.size < 4096) manyRowsSqls.set(k, sql);
  }
  return sql;
}

/**
 * A key with more element rows than this (collection elements, or chunks of a long string) is
 * freed in the background when deleted (`deleteKey`): deleting rows costs ~0.25 µs each hot
 * (a 200k-field hash took 46 ms), far more cold, so this bounds a DEL's own work to ~1 ms.
 */
export const LAZYFREE_ROWS = 4096;

/** Rows of garbage databases deleted per step of `collectGarbage` at most (bounds the step's work). */
export const GC_ROWS_PER_STEP = 4000;
/**
 * And the step's time: 4,000 cold rows (a replaced 1M-key dataset, pages not cached) took
 * 100–160 ms in one event; rows go in statements of GC_ROWS_PER_STATEMENT until this is spent.
 */
export const GC_STEP_MS = 10;
const GC_ROWS_PER_STATEMENT = 500;
/** Keys with elements looked at per query while collecting garbage. */
const GC_KEYS_PER_QUERY = 32;

const ELEMENT_TABLES: Partial<Record<TypeCode, { table: string; pk: string }>> = {
  [TYPE.list]: { table: "kv_list", pk: "pos" },
  [TYPE.set]: { table: "kv_set", pk: "member" },
  [TYPE.zset]: { table: "kv_zset", pk: "member" },
  [TYPE.hash]: { table: "kv_hash", pk: "field" },
};

export class Keyspace {
  expiryMode: ExpiryMode = "master";
  /**
   * Bytes of values the client command running now may still read into its reply
   * (OUTPUT_BYTES_MAX less what its session has not sent yet; set by the engine), Infinity
   * for everything else (the replication stream, snapshots, internal reads).
   */
  outputLeft = Number.POSITIVE_INFINITY;

  /** Count `n` bytes read for a reply; refuses the command (before it writes) past `outputLeft`. */
  charge(n: number): void {
    if (n > this.outputLeft) throw new RedisError(`ERR reply exceeds the output limit of ${OUTPUT_BYTES_MAX} bytes (values not yet sent to the client)`);
    this.outputLeft -= n;
  }

  /** `b`, charged (see `charge`). */
  charged(b: Uint8Array): Uint8Array {
    this.charge(b.length);
    return b;
  }
  /** Wall clock in ms; the engine fixes it once per command (Redis's cached mstime). */
  now = Date.now();
  /** Logical → physical databases (see generations.ts). */
  readonly dbs: DbMap;
  /** Whether garbage rows may exist (checked once after a restart). */
  private garbageMaybe = true;
  /** `+db IN (…)` over the live physical databases, and its arguments. */
  private liveIn = "";

  /**
   * Bytes per row of a string in this database (STRING_CHUNK_BYTES, or LEGACY_STRING_CHUNK_BYTES
   * for a database created before): chosen once, when the database is created, and kept.
   */
  readonly chunkBytes: number;

  constructor(
    readonly sql: SqlStorage,
    readonly hooks: KeyspaceHooks = {},
  ) {
    const table = (name: string) => sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", name).toArray().length > 0;
    const counted = table(COUNTS_TABLE);
    const existed = table("kv_keys");
    sql.exec(KEYSPACE_SCHEMA);
    const chunk = sql.exec("SELECT value FROM kv_settings WHERE name = 'string_chunk_bytes'").toArray()[0]?.value as number | undefined;
    this.chunkBytes = chunk ?? (existed ? LEGACY_STRING_CHUNK_BYTES : STRING_CHUNK_BYTES);
    if (chunk === undefined) sql.exec("INSERT INTO kv_settings (name, value) VALUES ('string_chunk_bytes', ?)", this.chunkBytes);
    if (!counted) sql.exec(COUNTS_FILL_SQL); // same event as the triggers' creation: nothing written in between
    this.dbs = new DbMap(sql);
    this.mapChanged();
  }

  private mapChanged(): void {
    // The unary + keeps SQLite off the (db, …) indexes where the caller wants id or expire order.
    this.liveIn = `+db IN (${this.dbs.phys.join(", ")})`;
  }

  /** The physical database of logical database `db`. */
  physDb(db: number): number {
    return this.dbs.phys[db] ?? db;
  }

  private meta(r: Row): KeyMeta {
    return toMeta(r, this.dbs.logicalOf(r.db as number) ?? (r.db as number));
  }

  /** Metadata of a key as stored, ignoring expiry. One statement; rows as arrays (cheaper than objects). */
  peek(db: number, key: Uint8Array): KeyMeta | null {
    for (const r of this.sql.exec(PEEK_SQL, this.physDb(db), own(key)).raw()) return rawMeta(r, r[0] as number, db, key, 1);
    return null;
  }

  /**
   * SET key value with no option, as one statement: insert the key, or overwrite a one-row
   * string in place (its id and row stay). Returns false, having changed nothing, when the
   * general path must run instead: another type or a chunked value is there, the key is
   * logically expired on a master (its DEL must be propagated first), or a snapshot is
   * being written (serialize-before-mutate needs the old value first).
   */
  setPlainString(db: number, key: Uint8Array, value: Uint8Array): boolean {
    if (value.length > STRING_CHUNK_BYTES || this.hooks.writesWatched?.()) return false;
    if (this.expiryMode === "replica") return false;
    // A replica applying its master's stream overwrites expired keys as they are stored.
    const aliveAfter = this.expiryMode === "master" ? this.now : Number.MIN_SAFE_INTEGER;
    return this.setPlainStrings(db, [key], [value], aliveAfter).length === 0;
  }

  /**
   * SET key value for a run of pairs of one database, as multi-row upserts of
   * SET_ROWS_PER_STATEMENT rows, each row behaving exactly as `setPlainString`'s upsert in
   * order (a key twice in a run ends with its last value). `aliveAfter`: keys expiring at or
   * before it are left alone (a master passes its clock: their DEL must be propagated first);
   * a replica applying its master's stream passes Number.MIN_SAFE_INTEGER (keys as stored).
   * Returns the indexes of the pairs left untouched because another type, a chunked value or
   * an expired key is there: the caller runs the general path for those (their keys are
   * untouched by the rest of the run). Callers check `writesWatched` first and keep values
   * within STRING_CHUNK_BYTES.
   */
  setPlainStrings(db: number, keys: readonly Uint8Array[], values: readonly Uint8Array[], aliveAfter: number): number[] {
    const phys = this.physDb(db);
    const skipped: number[] = [];
    for (let from = 0; from < keys.length; ) {
      let to = from;
      let bytes = 0;
      while (to < keys.length && to - from < SET_ROWS_PER_STATEMENT && (to === from || bytes + keys[to]!.length + values[to]!.length <= SET_STATEMENT_BYTES_MAX)) {
        bytes += keys[to]!.length + values[to]!.length;
        to++;
      }
      const n = to - from;
      const args: (Uint8Array | number)[] = new Array(2 * n + 1);
      // Views are bound as they are (a parser's subarrays): own()'s `.buffer` check costs more than it saves here.
      for (let i = 0; i < n; i++) {
        args[2 * i] = keys[from + i]!;
        args[2 * i + 1] = values[from + i]!;
      }
      args[2 * n] = aliveAfter;
      this.sql.exec(manyRowsSql("set", phys, n), ...args);
      let changed = 0;
      for (const r of this.sql.exec("SELECT changes()").raw()) changed = r[0] as number;
      if (changed !== n) {
        // Some keys hold another type, a chunked value or an expired key (the upsert left them as they were).
        const held = new Set<string>();
        const sql = `SELECT key FROM kv_keys WHERE db = ${phys} AND key IN (${Array(n).fill("?").join(", ")}) AND NOT (type = 0 AND nchunks = 0 AND (expire_ms IS NULL OR expire_ms > ?))`;
        for (const r of this.sql.exec(sql, ...keys.slice(from, to), aliveAfter).raw()) held.add(bkey(blob(r[0])));
        for (let i = from; i < to; i++) if (held.has(bkey(keys[i]!))) skipped.push(i);
      }
      from = to;
    }
    return skipped;
  }

  /**
   * Metadata of several keys of one database as stored, ignoring expiry (`peek` for each, in
   * order; a key asked twice gets the same answer), PEEK_KEYS_PER_STATEMENT keys per statement.
   */
  peekMany(db: number, keys: readonly Uint8Array[]): (KeyMeta | null)[] {
    const phys = this.physDb(db);
    const out: (KeyMeta | null)[] = new Array(keys.length).fill(null);
    for (let from = 0; from < keys.length; from += PEEK_KEYS_PER_STATEMENT) {
      const to = Math.min(keys.length, from + PEEK_KEYS_PER_STATEMENT);
      for (const r of this.sql.exec(manyRowsSql("peek", phys, to - from), ...keys.slice(from, to)).raw()) {
        const i = from + (r[0] as number);
        out[i] = rawMeta(r, r[1] as number, db, keys[i]!, 2);
      }
    }
    return out;
  }

  byId(id: number): KeyMeta | null {
    const rows = this.sql.exec(`SELECT ${META_COLS} FROM kv_keys WHERE id = ?`, id).toArray();
    return rows.length ? this.meta(rows[0]!) : null;
  }

  isExpired(m: KeyMeta): boolean {
    return m.expireMs !== null && m.expireMs <= this.now;
  }

  /** Apply expiry rules; returns the key if it is logically alive. */
  private live(m: KeyMeta | null): KeyMeta | null {
    if (!m || !this.isExpired(m)) return m;
    switch (this.expiryMode) {
      case "stream":
        return m;
      case "replica":
        return null;
      case "master":
        this.deleteKey(m);
        this.hooks.expired?.(m.db, m.key);
        return null;
    }
  }

  /** Read lookups that found a live key / found none (INFO keyspace_hits / keyspace_misses). */
  hits = 0;
  misses = 0;
  /** Keys of dropped data deleted by `collectGarbage` (INFO lazyfreed_objects). */
  lazyfreed = 0;

  /** Keys of dropped data still waiting for `collectGarbage` (INFO lazyfree_pending_objects): O(databases). */
  lazyfreePending(): number {
    let n = 0;
    for (const r of this.sql.exec("SELECT db, keys FROM kv_counts WHERE keys > 0").raw()) if (this.dbs.isGarbage(r[0] as number)) n += r[1] as number;
    return n;
  }

  /**
   * A key for reading, counted as a keyspace hit or miss; `stats = false` for lookups a
   * command does not ask for (a walk deleting an expired key it met, the blocked clients'
   * ready check), as Redis's LOOKUP_NOSTATS.
   */
  lookupRead(db: number, key: Uint8Array, stats = true): KeyMeta | null {
    const m = this.live(this.peek(db, key));
    if (stats) {
      if (m) this.hits++;
      else this.misses++;
    }
    return m;
  }

  /** A key about to be changed: the snapshot hook runs first. */
  lookupWrite(db: number, key: Uint8Array): KeyMeta | null {
    const m = this.live(this.peek(db, key));
    if (m) this.hooks.beforeWrite?.(m);
    return m;
  }

  /** Create an empty key of a type. The caller makes sure it does not exist. */
  create(db: number, key: Uint8Array, type: TypeCode, expireMs: number | null = null): KeyMeta {
    const m = this.createIn(this.physDb(db), key, type, expireMs);
    m.db = db;
    this.hooks.added?.(db, key, type);
    return m;
  }

  /** `create` in a physical database (a snapshot loading into staging databases). */
  createIn(physical: number, key: Uint8Array, type: TypeCode, expireMs: number | null): KeyMeta {
    const db = physical;
    const r = this.sql
      .exec(
        `INSERT INTO kv_keys (db, key, type, expire_ms, val, card, nchunks, lhead, ltail) VALUES (?, ?, ?, ?, NULL, 0, 0, 0, 0) RETURNING id`,
        db,
        own(key),
        type,
        expireMs,
      )
      .one();
    if (expireMs !== null) this.hooks.expireSet?.(expireMs);
    return { id: r.id as number, db, key, type, expireMs, card: 0, nchunks: 0, lhead: 0, ltail: 0 };
  }

  /** Create a string key with its value (one statement when the value fits one row). */
  createString(db: number, key: Uint8Array, value: Uint8Array, expireMs: number | null): KeyMeta {
    if (value.length > this.chunkBytes) {
      const m = this.create(db, key, TYPE.string, expireMs);
      this.writeString(m, value);
      return m;
    }
    const r = this.sql
      .exec(
        `INSERT INTO kv_keys (db, key, type, expire_ms, val, card, nchunks, lhead, ltail) VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0) RETURNING id`,
        this.physDb(db),
        own(key),
        TYPE.string,
        expireMs,
        own(value),
        value.length,
      )
      .one();
    if (expireMs !== null) this.hooks.expireSet?.(expireMs);
    return { id: r.id as number, db, key, type: TYPE.string, expireMs, card: value.length, nchunks: 0, lhead: 0, ltail: 0, val: value };
  }

  /**
   * Remove a key and all its elements. A key with more than LAZYFREE_ROWS element rows is gone
   * at once but freed in the background (Redis's lazy free): its row moves to the trash
   * number (generations.ts), whose rows the cron deletes in bounded steps, so no DEL,
   * overwrite or expiry of a big collection costs its size in one event.
   */
  deleteKey(m: KeyMeta): void {
    this.hooks.beforeWrite?.(m);
    if ((m.type === TYPE.string ? m.nchunks : m.card) > LAZYFREE_ROWS) {
      // The id as the key keeps (db, key) unique in the trash; no expiry, so active expiry never looks at it.
      this.sql.exec("UPDATE kv_keys SET db = ?, key = id, expire_ms = NULL WHERE id = ?", this.dbs.trash(), m.id);
      this.garbageAdded();
      return;
    }
    this.dropElements(m);
    this.sql.exec("DELETE FROM kv_keys WHERE id = ?", m.id);
  }

  /** Remove the elements of a key, keeping its row. */
  private dropElements(m: KeyMeta): void {
    switch (m.type) {
      case TYPE.string:
        if (m.nchunks > 0) this.sql.exec("DELETE FROM kv_strchunk WHERE kid = ?", m.id);
        break;
      case TYPE.list:
        this.sql.exec("DELETE FROM kv_list WHERE kid = ?", m.id);
        break;
      case TYPE.set:
        this.sql.exec("DELETE FROM kv_set WHERE kid = ?", m.id);
        break;
      case TYPE.zset:
        this.sql.exec("DELETE FROM kv_zset WHERE kid = ?", m.id);
        break;
      case TYPE.hash:
        this.sql.exec("DELETE FROM kv_hash WHERE kid = ?", m.id);
        break;
    }
  }

  /** Persist card/lhead/ltail after a collection changed; delete the key when it became empty. */
  saveCollection(m: KeyMeta): void {
    if (m.type !== TYPE.string && m.card <= 0) {
      this.deleteKey(m);
      return;
    }
    this.sql.exec("UPDATE kv_keys SET card = ?, lhead = ?, ltail = ? WHERE id = ?", m.card, m.lhead, m.ltail, m.id);
  }

  setExpire(m: KeyMeta, expireMs: number | null): void {
    m.expireMs = expireMs;
    this.sql.exec("UPDATE kv_keys SET expire_ms = ? WHERE id = ?", expireMs, m.id);
    if (expireMs !== null) this.hooks.expireSet?.(expireMs);
  }

  /** Move a key to another name/db (RENAME, MOVE): O(1), elements stay attached to the id. */
  renameKey(m: KeyMeta, db: number, key: Uint8Array): void {
    this.sql.exec("UPDATE kv_keys SET db = ?, key = ? WHERE id = ?", this.physDb(db), own(key), m.id);
    m.db = db;
    m.key = key;
    this.hooks.added?.(db, key, m.type);
  }

  // --- strings -------------------------------------------------------------------------

  /** The whole value of a string key for a reply (charged first: refused before it is read). */
  replyString(m: KeyMeta): Uint8Array {
    this.charge(m.card);
    return this.getString(m);
  }

  /** The whole value of a string key. */
  getString(m: KeyMeta): Uint8Array {
    if (m.val !== undefined && m.nchunks === 0) return m.val;
    const first = blob(this.sql.exec("SELECT val FROM kv_keys WHERE id = ?", m.id).one().val);
    if (m.nchunks === 0) return first;
    const out = new Uint8Array(m.card);
    out.set(first, 0);
    // A missing row is zeros (`writeString`, `patchString`): `out` starts zeroed.
    for (const r of this.sql.exec("SELECT idx, data FROM kv_strchunk WHERE kid = ?", m.id)) out.set(blob(r.data), (r.idx as number) * this.chunkBytes);
    return out;
  }

  /** Bytes [start, end) of a string key, reading only the rows that hold them. */
  getStringRange(m: KeyMeta, start: number, end: number): Uint8Array {
    // A value in one row (often cached in `m.val`); a chunked value reads only the rows in range.
    if (m.nchunks === 0) return this.getString(m).subarray(start, end);
    const out = new Uint8Array(Math.max(0, end - start));
    const c0 = Math.floor(start / this.chunkBytes);
    const c1 = Math.floor((end - 1) / this.chunkBytes);
    for (let c = c0; c <= c1; c++) {
      const base = c * this.chunkBytes;
      const from = Math.max(start, base) - base;
      const len = Math.min(end, base + this.chunkBytes) - base - from;
      // substr() hands over only the bytes asked for, not the whole row; a missing row is zeros.
      const d =
        c === 0
          ? blob(this.sql.exec("SELECT substr(val, ?, ?) AS val FROM kv_keys WHERE id = ?", from + 1, len, m.id).one().val)
          : this.sql.exec("SELECT substr(data, ?, ?) AS data FROM kv_strchunk WHERE kid = ? AND idx = ?", from + 1, len, m.id, c).toArray()[0]?.data;
      if (d !== undefined) out.set(blob(d), base + from - start);
    }
    return out;
  }

  /** Write a string value into an existing string key row (replacing it). */
  writeString(m: KeyMeta, value: Uint8Array): void {
    if (m.nchunks > 0) this.sql.exec("DELETE FROM kv_strchunk WHERE kid = ?", m.id);
    const n = value.length <= this.chunkBytes ? 0 : Math.ceil(value.length / this.chunkBytes) - 1;
    this.sql.exec(
      "UPDATE kv_keys SET val = ?, card = ?, nchunks = ? WHERE id = ?",
      own(value.subarray(0, this.chunkBytes)),
      value.length,
      n,
      m.id,
    );
    for (let c = 1; c <= n; c++) {
      const piece = value.subarray(c * this.chunkBytes, (c + 1) * this.chunkBytes);
      // Rows of zeros are not stored: a bitmap set far out (SETBIT k 100000000 1) is mostly zeros.
      if (firstByteNot(piece, 0) === piece.length) continue;
      this.sql.exec("INSERT INTO kv_strchunk (kid, idx, data) VALUES (?, ?, ?)", m.id, c, own(piece));
    }
    m.card = value.length;
    m.nchunks = n;
    m.val = n === 0 ? value : undefined;
  }

  /**
   * Write `data` at byte `offset` of a string key, growing it with zero bytes as needed
   * (SETRANGE, APPEND). Rewrites only the rows that change.
   */
  patchString(m: KeyMeta, offset: number, data: Uint8Array): void {
    const newLen = Math.max(m.card, offset + data.length);
    // One row; or one row longer than this database's rows (the fast paths bound values by
    // STRING_CHUNK_BYTES, but keep the rule here): rewritten whole, which also splits it into rows.
    if (m.nchunks === 0 && (newLen <= this.chunkBytes || m.card > this.chunkBytes)) {
      const cur = this.getString(m);
      const out = new Uint8Array(newLen);
      out.set(cur, 0);
      out.set(data, offset);
      this.writeString(m, out);
      return;
    }
    m.val = undefined; // chunk 0 is rewritten below; read it from its row from now on
    const lastChunk = Math.ceil(newLen / this.chunkBytes) - 1;
    const grows = newLen > m.card;
    // The rows that change: those `data` covers, plus (when the value grows) the old last
    // row if partial and every new row up to the end. Rows past the patch stay as they are,
    // so a one-byte SETBIT/SETRANGE inside a 16 MiB value rewrites one row (64 KiB).
    const firstTouched = Math.floor(Math.min(offset, m.card) / this.chunkBytes);
    const lastTouched = grows ? lastChunk : Math.floor((offset + data.length - 1) / this.chunkBytes);
    for (let c = firstTouched; c <= lastTouched; c++) {
      const base = c * this.chunkBytes;
      const size = Math.min(this.chunkBytes, newLen - base);
      const chunk = new Uint8Array(size);
      const covered = offset <= base && offset + data.length >= base + size;
      if (base < m.card && !covered) chunk.set(this.getStringRange(m, base, Math.min(m.card, base + size)), 0);
      const from = Math.max(offset, base);
      const to = Math.min(offset + data.length, base + size);
      if (from < to) chunk.set(data.subarray(from - offset, to - offset), from - base);
      if (c === 0) this.sql.exec("UPDATE kv_keys SET val = ? WHERE id = ?", chunk, m.id);
      else if (firstByteNot(chunk, 0) < chunk.length) this.sql.exec("INSERT OR REPLACE INTO kv_strchunk (kid, idx, data) VALUES (?, ?, ?)", m.id, c, chunk);
      else if (base < m.card) this.sql.exec("DELETE FROM kv_strchunk WHERE kid = ? AND idx = ?", m.id, c); // now all zeros: no row
    }
    if (!grows) return;
    m.card = newLen;
    m.nchunks = lastChunk;
    this.sql.exec("UPDATE kv_keys SET card = ?, nchunks = ? WHERE id = ?", m.card, m.nchunks, m.id);
  }

  // --- iteration -----------------------------------------------------------------------

  /**
   * Keys of the physical databases `phys` (logical database i at `phys[i]`, as a snapshot's
   * cut saw them) in id order, `limit` at a time after `afterId`, with ids up to `maxId`.
   */
  scanPhysical(phys: readonly number[], afterId: number, maxId: number, limit: number): KeyMeta[] {
    const cur = this.sql.exec(
      `SELECT ${META_COLS} FROM kv_keys WHERE id > ? AND id <= ? AND +db IN (${phys.join(", ")}) ORDER BY id LIMIT ?`,
      afterId,
      maxId,
      limit,
    );
    const out: KeyMeta[] = [];
    for (const r of cur.raw()) out.push(rawMeta(r, r[0] as number, phys.indexOf(r[1] as number), blob(r[2]), 3));
    return out;
  }

  /** Pin (or with null release) physical databases a snapshot reads: not garbage while pinned. */
  pin(phys: readonly number[] | null): void {
    this.dbs.pinned = phys;
    if (phys === null) this.dropped();
  }

  /** Keys of a database in id order, `limit` at a time after `afterId` (SCAN, KEYS, snapshot). */
  scanKeys(db: number | null, afterId: number, limit: number): KeyMeta[] {
    // Rows as arrays: the snapshot writer and DEBUG DIGEST walk every key through here.
    const cur =
      db === null
        ? this.sql.exec(`SELECT ${META_COLS} FROM kv_keys WHERE id > ? AND ${this.liveIn} ORDER BY id LIMIT ?`, afterId, limit)
        : this.sql.exec(`SELECT ${META_COLS} FROM kv_keys WHERE db = ? AND id > ? ORDER BY id LIMIT ?`, this.physDb(db), afterId, limit);
    const out: KeyMeta[] = [];
    for (const r of cur.raw()) {
      out.push(rawMeta(r, r[0] as number, db ?? this.dbs.logicalOf(r[1] as number) ?? (r[1] as number), blob(r[2]), 3));
    }
    return out;
  }

  /**
   * Elements of a collection in batches of at most `batch`, in the type's natural order
   * (list: head→tail; zset: by score then member; set and hash: by member/field bytes).
   * list/set yield Uint8Array; hash yields [field, value]; zset yields [member, score].
   */
  *elements(m: KeyMeta, batch = 1024): Generator<Uint8Array | [Uint8Array, Uint8Array] | [Uint8Array, number]> {
    switch (m.type) {
      case TYPE.list: {
        let pos = m.lhead - 1;
        while (true) {
          const rows = this.sql.exec("SELECT pos, value FROM kv_list WHERE kid = ? AND pos > ? ORDER BY pos LIMIT ?", m.id, pos, batch).toArray();
          for (const r of rows) yield blob(r.value);
          if (rows.length < batch) return;
          pos = rows[rows.length - 1]!.pos as number;
        }
      }
      case TYPE.set: {
        let first = true;
        let after: Uint8Array = new Uint8Array(0);
        while (true) {
          const rows = (
            first
              ? this.sql.exec("SELECT member FROM kv_set WHERE kid = ? ORDER BY member LIMIT ?", m.id, batch)
              : this.sql.exec("SELECT member FROM kv_set WHERE kid = ? AND member > ? ORDER BY member LIMIT ?", m.id, after, batch)
          ).toArray();
          first = false;
          for (const r of rows) yield blob(r.member);
          if (rows.length < batch) return;
          after = blob(rows[rows.length - 1]!.member);
        }
      }
      case TYPE.hash: {
        let first = true;
        let after: Uint8Array = new Uint8Array(0);
        while (true) {
          const rows = (
            first
              ? this.sql.exec("SELECT field, value FROM kv_hash WHERE kid = ? ORDER BY field LIMIT ?", m.id, batch)
              : this.sql.exec("SELECT field, value FROM kv_hash WHERE kid = ? AND field > ? ORDER BY field LIMIT ?", m.id, after, batch)
          ).toArray();
          first = false;
          for (const r of rows) yield [blob(r.field), blob(r.value)] as [Uint8Array, Uint8Array];
          if (rows.length < batch) return;
          after = blob(rows[rows.length - 1]!.field);
        }
      }
      case TYPE.zset: {
        let first = true;
        let afterScore = 0;
        let afterMember: Uint8Array = new Uint8Array(0);
        while (true) {
          const rows = (
            first
              ? this.sql.exec("SELECT member, score FROM kv_zset WHERE kid = ? ORDER BY score, member LIMIT ?", m.id, batch)
              : this.sql.exec(
                  "SELECT member, score FROM kv_zset WHERE kid = ? AND (score > ? OR (score = ? AND member > ?)) ORDER BY score, member LIMIT ?",
                  m.id,
                  afterScore,
                  afterScore,
                  afterMember,
                  batch,
                )
          ).toArray();
          first = false;
          for (const r of rows) yield [blob(r.member), r.score as number] as [Uint8Array, number];
          if (rows.length < batch) return;
          const last = rows[rows.length - 1]!;
          afterScore = last.score as number;
          afterMember = blob(last.member);
        }
      }
      default:
        return;
    }
  }

  /** Copy all elements of `src` into the (new, empty) key `dst` of the same type (COPY). */
  copyElements(src: KeyMeta, dst: KeyMeta): void {
    switch (src.type) {
      case TYPE.string:
        this.writeString(dst, this.getString(src));
        return;
      case TYPE.list:
        this.sql.exec("INSERT INTO kv_list (kid, pos, value) SELECT ?, pos, value FROM kv_list WHERE kid = ?", dst.id, src.id);
        break;
      case TYPE.set:
        this.sql.exec("INSERT INTO kv_set (kid, member) SELECT ?, member FROM kv_set WHERE kid = ?", dst.id, src.id);
        break;
      case TYPE.zset:
        this.sql.exec("INSERT INTO kv_zset (kid, member, score) SELECT ?, member, score FROM kv_zset WHERE kid = ?", dst.id, src.id);
        break;
      case TYPE.hash:
        this.sql.exec("INSERT INTO kv_hash (kid, field, value) SELECT ?, field, value FROM kv_hash WHERE kid = ?", dst.id, src.id);
        break;
    }
    dst.card = src.card;
    dst.lhead = src.lhead;
    dst.ltail = src.ltail;
    this.saveCollection(dst);
  }

  // --- whole databases -------------------------------------------------------------------

  /** DBSIZE: keys stored in `db`, logically expired ones included (as Redis's). O(1): kv_counts. */
  dbSize(db: number): number {
    for (const r of this.sql.exec("SELECT keys FROM kv_counts WHERE db = ?", this.physDb(db)).raw()) return r[0] as number;
    return 0;
  }

  /**
   * Databases that hold at least one key, with key and expires counts and the sum of the
   * expiry times (INFO keyspace, the admin status, DEBUG DIGEST's walk). O(1): kv_counts.
   */
  dbStats(): { db: number; keys: number; expires: number; expireSum: number }[] {
    const byPhys = new Map<number, { keys: number; expires: number; expireSum: number }>();
    for (const r of this.sql.exec("SELECT db, keys, expires, expire_sum FROM kv_counts WHERE keys > 0").raw()) {
      byPhys.set(r[0] as number, { keys: r[1] as number, expires: r[2] as number, expireSum: r[3] as number });
    }
    const out: { db: number; keys: number; expires: number; expireSum: number }[] = [];
    for (let db = 0; db < DATABASES; db++) {
      const c = byPhys.get(this.physDb(db));
      if (c) out.push({ db, ...c });
    }
    return out;
  }

  /**
   * FLUSHDB (db) or FLUSHALL (null): O(1) whatever the size. The databases get fresh, empty
   * physical numbers and the old rows are garbage, deleted in the background (Redis's
   * FLUSHALL ASYNC; SYNC looks the same to every client). A snapshot being written reads
   * the numbers of its cut (pinned) to its end, so it needs nothing serialized first.
   */
  flush(db: number | null): void {
    if (db === null) for (let l = 0; l < DATABASES; l++) this.dbs.renew(l);
    else this.dbs.renew(db);
    this.dropped();
  }

  /**
   * SWAPDB: databases `a` and `b` exchange their keys by exchanging their physical numbers
   * (generations.ts): O(1). A snapshot being written reads the numbers of its cut, so its
   * keys keep their old databases in it.
   */
  swapDatabases(a: number, b: number): void {
    this.dbs.swap(a, b);
    this.mapChanged();
  }

  /** The live databases' physical numbers changed; the old rows are garbage. */
  dropped(): void {
    this.mapChanged();
    this.garbageAdded();
  }

  private garbageAdded(): void {
    this.garbageMaybe = true;
    this.hooks.garbage?.();
  }

  /** Keys whose TTL has passed, oldest first (active expiry). */
  expiredKeys(limit: number): KeyMeta[] {
    return this.sql
      .exec(`SELECT ${META_COLS} FROM kv_keys WHERE expire_ms IS NOT NULL AND expire_ms <= ? AND ${this.liveIn} ORDER BY expire_ms LIMIT ?`, this.now, limit)
      .toArray()
      .map((r) => this.meta(r));
  }

  /** Earliest expiry time in the keyspace, for scheduling the alarm. */
  nextExpiry(): number | null {
    const r = this.sql.exec(`SELECT expire_ms AS t FROM kv_keys WHERE expire_ms IS NOT NULL AND ${this.liveIn} ORDER BY expire_ms LIMIT 1`).toArray()[0];
    return (r?.t as number | null | undefined) ?? null;
  }

  // --- garbage (rows of databases no longer live) -------------------------------------------

  /** The smallest physical database number holding garbage rows, or null (index skip-scan). */
  private garbageDb(): number | null {
    let after = -1;
    while (true) {
      const r = this.sql.exec("SELECT db FROM kv_keys WHERE db > ? ORDER BY db LIMIT 1", after).toArray()[0];
      if (!r) return null;
      const p = r.db as number;
      if (this.dbs.isGarbage(p)) return p;
      after = p;
    }
  }

  /** Whether rows of dropped databases are waiting to be deleted. */
  hasGarbage(): boolean {
    if (this.garbageMaybe && this.garbageDb() === null) this.garbageMaybe = false;
    return this.garbageMaybe;
  }

  /**
   * Delete up to about `rowsMax` rows of garbage databases, for about `msMax` at most (one
   * bounded step; the node's cron passes GC_STEP_MS). Returns true while garbage remains.
   * Elements go before their key row, so nothing is orphaned.
   */
  collectGarbage(rowsMax = GC_ROWS_PER_STEP, msMax = Number.POSITIVE_INFINITY): boolean {
    if (!this.garbageMaybe) return false;
    let budget = rowsMax;
    const deadline = Date.now() + msMax;
    while (budget > 0 && Date.now() < deadline) {
      const p = this.garbageDb();
      if (p === null) {
        // Counts of emptied databases (a missing row counts zero): one row per flush otherwise.
        this.sql.exec("DELETE FROM kv_counts WHERE keys = 0");
        this.garbageMaybe = false;
        return false;
      }
      // One-row strings, the common case, in bulk.
      const want = Math.min(budget, GC_ROWS_PER_STATEMENT);
      this.sql.exec("DELETE FROM kv_keys WHERE id IN (SELECT id FROM kv_keys WHERE db = ? AND type = 0 AND nchunks = 0 LIMIT ?)", p, want);
      // changes(): the rows this statement deleted (rowsWritten would add kv_counts' trigger writes).
      const n = this.sql.exec("SELECT changes() AS n").one().n as number;
      budget -= n;
      this.lazyfreed += n;
      if (n === want) continue; // more strings may follow
      const rows = this.sql.exec("SELECT id, type, nchunks FROM kv_keys WHERE db = ? LIMIT ?", p, GC_KEYS_PER_QUERY).toArray();
      for (const r of rows) {
        const id = r.id as number;
        const el = ELEMENT_TABLES[r.type as TypeCode];
        if (el) {
          const limit = Math.min(budget, GC_ROWS_PER_STATEMENT);
          const n = this.sql.exec(
            `DELETE FROM ${el.table} WHERE kid = ? AND ${el.pk} IN (SELECT ${el.pk} FROM ${el.table} WHERE kid = ? LIMIT ?)`,
            id,
            id,
            limit,
          ).rowsWritten;
          budget -= n;
          if (n >= limit) break; // elements may be left: the key row stays for the next step
        } else if ((r.nchunks as number) > 0) {
          budget -= this.sql.exec("DELETE FROM kv_strchunk WHERE kid = ?", id).rowsWritten;
        }
        this.sql.exec("DELETE FROM kv_keys WHERE id = ?", id);
        budget--;
        this.lazyfreed++;
        if (budget <= 0 || Date.now() >= deadline) break;
      }
    }
    return true;
  }

  /** Largest key id, the upper bound of a snapshot's cut. */
  maxKeyId(): number {
    return (this.sql.exec("SELECT max(id) AS m FROM kv_keys").one().m as number | null) ?? 0;
  }
}
