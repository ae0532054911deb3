/**
 * The keyspace's SQLite schema. One row per key in kv_keys (metadata, and the value of a
 * string); one row per element of a collection, so a command on a collection of a million
 * elements touches O(log n + k) rows. `id` is the key's identity: RENAME moves the row, not
 * the elements, and the snapshot walks keys in id order (see replication/snapshot.ts); AUTOINCREMENT
 * because a reused id would put a key created after a snapshot's cut inside it.
 */
export const TYPE = { string: 0, list: 1, set: 2, zset: 3, hash: 4 } as const;
export type TypeCode = (typeof TYPE)[keyof typeof TYPE];
export const TYPE_NAMES = ["string", "list", "set", "zset", "hash"] as const;

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
CREATE TABLE IF NOT EXISTS kv_strchunk (kid INTEGER NOT NULL, idx INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (kid, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv_hash (kid INTEGER NOT NULL, field BLOB NOT NULL, value BLOB NOT NULL, PRIMARY KEY (kid, field)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv_set (kid INTEGER NOT NULL, member BLOB NOT NULL, PRIMARY KEY (kid, member)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv_zset (kid INTEGER NOT NULL, member BLOB NOT NULL, score REAL NOT NULL, PRIMARY KEY (kid, member)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_zset_score ON kv_zset(kid, score, member);
CREATE TABLE IF NOT EXISTS kv_list (kid INTEGER NOT NULL, pos INTEGER NOT NULL, value BLOB NOT NULL, PRIMARY KEY (kid, pos)) WITHOUT ROWID;
`;
