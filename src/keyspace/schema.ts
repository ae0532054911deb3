/**
 * The keyspace's SQLite schema. One row per key in kv_keys (metadata, and the value of a
 * string); one row per element of a collection, so a command on a collection of a million
 * elements touches O(log n + k) rows. A string longer than a row (`Keyspace.chunkBytes`) keeps
 * its first piece in kv_keys.val and the rest in kv_strchunk rows 1..nchunks; a row of zeros is
 * not stored (it reads as zeros), so a bitmap set far out costs the rows it has bits in.
 * `id` is the key's identity: RENAME moves the row, not the elements, and the snapshot walks
 * keys in id order (see replication/snapshot.ts); AUTOINCREMENT because a reused id would put
 * a key created after a snapshot's cut inside it.
 */
export const TYPE = { string: 0, list: 1, set: 2, zset: 3, hash: 4 } as const;
export type TypeCode = (typeof TYPE)[keyof typeof TYPE];
export const TYPE_NAMES = ["string", "list", "set", "zset", "hash"] as const;

/**
 * Keys, keys with a TTL and the sum of their expiry times per physical database, kept by
 * triggers on every insert, delete and change of database or expiry of a kv_keys row, so
 * DBSIZE, INFO keyspace and the admin status are O(1) (counting rows took ~30 ms for DBSIZE and
 * ~100 ms for INFO keyspace at 1M keys, and the status page asks every second). An upsert that
 * overwrites a string without a TTL changes neither column and fires nothing. A database made
 * before this table existed is counted once when it opens (`Keyspace`'s constructor).
 */
export const COUNTS_TABLE = "kv_counts";
const COUNT_IN = (row: "new" | "old", sign: "+" | "-") =>
  `keys = keys ${sign} 1, expires = expires ${sign} (${row}.expire_ms IS NOT NULL), expire_sum = expire_sum ${sign} coalesce(${row}.expire_ms, 0)`;
const ADD_NEW = `INSERT INTO kv_counts (db, keys, expires, expire_sum) VALUES (new.db, 1, new.expire_ms IS NOT NULL, coalesce(new.expire_ms, 0)) ON CONFLICT(db) DO UPDATE SET ${COUNT_IN("new", "+")};`;
const REMOVE_OLD = `UPDATE kv_counts SET ${COUNT_IN("old", "-")} WHERE db = old.db;`;
const COUNTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS kv_counts (db INTEGER PRIMARY KEY, keys INTEGER NOT NULL, expires INTEGER NOT NULL, expire_sum INTEGER NOT NULL);
CREATE TRIGGER IF NOT EXISTS kv_counts_insert AFTER INSERT ON kv_keys BEGIN ${ADD_NEW} END;
CREATE TRIGGER IF NOT EXISTS kv_counts_delete AFTER DELETE ON kv_keys BEGIN ${REMOVE_OLD} END;
CREATE TRIGGER IF NOT EXISTS kv_counts_update AFTER UPDATE OF db, expire_ms ON kv_keys
  WHEN old.db IS NOT new.db OR old.expire_ms IS NOT new.expire_ms BEGIN ${REMOVE_OLD} ${ADD_NEW} END;
`;
/** Fill kv_counts from the rows (a database created before the table: once, when it opens). */
export const COUNTS_FILL_SQL =
  "INSERT INTO kv_counts (db, keys, expires, expire_sum) SELECT db, count(*), count(expire_ms), coalesce(sum(expire_ms), 0) FROM kv_keys GROUP BY db";

export const KEYSPACE_SCHEMA = `
CREATE TABLE IF NOT EXISTS kv_keys (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  db INTEGER NOT NULL,
  key BLOB NOT NULL,
  type INTEGER NOT NULL,
  expire_ms INTEGER,
  val BLOB,
  card INTEGER NOT NULL DEFAULT 0,
  nchunks INTEGER NOT NULL DEFAULT 0,
  lhead INTEGER NOT NULL DEFAULT 0,
  ltail INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS kv_keys_dbkey ON kv_keys(db, key);
CREATE INDEX IF NOT EXISTS kv_keys_db_id ON kv_keys(db, id);
CREATE INDEX IF NOT EXISTS kv_keys_expire ON kv_keys(expire_ms) WHERE expire_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS kv_settings (name TEXT PRIMARY KEY, value NOT NULL);
CREATE TABLE IF NOT EXISTS kv_strchunk (kid INTEGER NOT NULL, idx INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (kid, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv_hash (kid INTEGER NOT NULL, field BLOB NOT NULL, value BLOB NOT NULL, PRIMARY KEY (kid, field)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv_set (kid INTEGER NOT NULL, member BLOB NOT NULL, PRIMARY KEY (kid, member)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv_zset (kid INTEGER NOT NULL, member BLOB NOT NULL, score REAL NOT NULL, PRIMARY KEY (kid, member)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_zset_score ON kv_zset(kid, score, member);
CREATE TABLE IF NOT EXISTS kv_list (kid INTEGER NOT NULL, pos INTEGER NOT NULL, value BLOB NOT NULL, PRIMARY KEY (kid, pos)) WITHOUT ROWID;
${COUNTS_SCHEMA}`;
