/**
 * Generic key commands: DEL UNLINK EXISTS TYPE, the EXPIRE family and TTL readers, KEYS
 * SCAN RANDOMKEY, RENAME RENAMENX COPY MOVE, SELECT DBSIZE FLUSHDB FLUSHALL.
 *
 * Expire times are absolute unix ms (int64 arithmetic in BigInt, as Redis checks overflow
 * on it, then stored as a JS number). Walks over the keyspace (SCAN, RANDOMKEY) go by
 * kv_keys.id, so each call costs O(COUNT) rows, never the size of the database.
 */
import { DATABASES } from "../../limits.ts";
import { OK, type Reply, Simple } from "../../protocol/reply.ts";
import { blob, equal, own, str, utf8 } from "../../util/bytes.ts";
import { I64_MAX, I64_MIN } from "../../util/numbers.ts";
import { i64Arg, intArg, longArg, opt } from "../args.ts";
import { compileGlob } from "../glob.ts";
import { type CommandSpec, type Ctx, cmd } from "../command.ts";
import { E, fail } from "../errors.ts";
import { TYPE_NAMES, type TypeCode } from "../schema.ts";

const SAME_OBJECT = "ERR source and destination objects are the same";
/** Rows read per batch by KEYS. */
const KEYS_BATCH_ROWS = 1024;
/** RANDOMKEY on a replica whose picks are all logically expired gives up after this many (Redis: 100). */
const RANDOMKEY_TRIES_MAX = 100;
/** Largest SCAN COUNT honoured (a bigger one reads at most this many keys per call). */
const SCAN_COUNT_MAX = 1_000_000_000;

// --- helpers ---------------------------------------------------------------------------

/** A database index argument (SELECT, COPY DB, MOVE): a C int, then 0..DATABASES-1. */
export function dbArg(b: Uint8Array): number {
  const v = intArg(b);
  if (v < -2147483648 || v > 2147483647) fail(E.notInt);
  if (v < 0 || v >= DATABASES) fail(E.dbIndex);
  return v;
}

/** What SCAN/KEYS/RANDOMKEY need of a key row. */
interface KeyRow {
  id: number;
  key: Uint8Array;
  type: TypeCode;
  expireMs: number | null;
}

function toKeyRow(r: Record<string, SqlStorageValue>): KeyRow {
  return { id: r.id as number, key: blob(r.key), type: r.type as TypeCode, expireMs: (r.expire_ms as number | null) ?? null };
}

function expired(ctx: Ctx, r: KeyRow): boolean {
  return r.expireMs !== null && r.expireMs <= ctx.now;
}

/**
 * Keys of `db` after id `afterId`, in id order. `+db` keeps SQLite on the rowid: with the
 * (db, key) index it would collect and sort the whole database to honour ORDER BY id.
 * Rows of other databases in between are skipped by the filter.
 */
function keysAfterId(ctx: Ctx, db: number, afterId: number, limit: number): KeyRow[] {
  return ctx.ks.sql
    .exec("SELECT id, key, type, expire_ms FROM kv_keys WHERE +db = ? AND id > ? ORDER BY id LIMIT ?", ctx.ks.physDb(db), afterId, limit)
    .toArray()
    .map(toKeyRow);
}

/** A logically expired key met while walking: a master deletes it (and propagates DEL). */
function expireMet(ctx: Ctx, db: number, r: KeyRow): void {
  if (ctx.ks.expiryMode === "master") ctx.ks.lookupRead(db, r.key, false);
}

/** The literal bytes a glob pattern starts with (before any * ? [ or \). */
function literalPrefix(p: Uint8Array): Uint8Array {
  let i = 0;
  while (i < p.length && p[i] !== 0x2a && p[i] !== 0x3f && p[i] !== 0x5b && p[i] !== 0x5c) i++;
  return p.subarray(0, i);
}

function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  if (b.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  return true;
}

// --- DEL EXISTS TYPE -------------------------------------------------------------------

function del(ctx: Ctx): Reply {
  let n = 0;
  for (let i = 1; i < ctx.argv.length; i++) {
    const m = ctx.ks.lookupWrite(ctx.db, ctx.argv[i]!);
    if (!m) continue;
    ctx.ks.deleteKey(m);
    n++;
  }
  ctx.dirty += n;
  return n;
}

function exists(ctx: Ctx): Reply {
  let n = 0;
  for (let i = 1; i < ctx.argv.length; i++) if (ctx.ks.lookupRead(ctx.db, ctx.argv[i]!)) n++;
  return n;
}

function type(ctx: Ctx): Reply {
  const m = ctx.ks.lookupRead(ctx.db, ctx.argv[1]!);
  return new Simple(m ? TYPE_NAMES[m.type] : "none");
}

// --- expiry ----------------------------------------------------------------------------

const EXPIRE_NX = 1;
const EXPIRE_XX = 2;
const EXPIRE_GT = 4;
const EXPIRE_LT = 8;

function expireFlags(ctx: Ctx): number {
  let f = 0;
  for (let i = 3; i < ctx.argv.length; i++) {
    switch (opt(ctx.argv[i]!)) {
      case "nx":
        f |= EXPIRE_NX;
        break;
      case "xx":
        f |= EXPIRE_XX;
        break;
      case "gt":
        f |= EXPIRE_GT;
        break;
      case "lt":
        f |= EXPIRE_LT;
        break;
      default:
        fail(`ERR Unsupported option ${str(ctx.argv[i]!)}`);
    }
  }
  if (f & EXPIRE_NX && f & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT)) fail("ERR NX and XX, GT or LT options at the same time are not compatible");
  if (f & EXPIRE_GT && f & EXPIRE_LT) fail("ERR GT and LT options at the same time are not compatible");
  return f;
}

/** EXPIRE PEXPIRE EXPIREAT PEXPIREAT (Redis expireGenericCommand). */
function expireGeneric(unitSeconds: boolean, absolute: boolean) {
  return (ctx: Ctx): Reply => {
    const key = ctx.argv[1]!;
    const flags = expireFlags(ctx);
    let when = i64Arg(ctx.argv[2]!);
    if (unitSeconds) {
      if (when > I64_MAX / 1000n || when < I64_MIN / 1000n) fail(E.invalidExpire(ctx.name));
      when *= 1000n;
    }
    const base = absolute ? 0n : BigInt(ctx.now);
    if (when > I64_MAX - base) fail(E.invalidExpire(ctx.name));
    when += base;
    const whenMs = Number(when);

    const m = ctx.ks.lookupWrite(ctx.db, key);
    if (!m) return 0;
    const cur = m.expireMs;
    if (flags & EXPIRE_NX && cur !== null) return 0;
    if (flags & EXPIRE_XX && cur === null) return 0;
    if (flags & EXPIRE_GT && (cur === null || whenMs <= cur)) return 0;
    if (flags & EXPIRE_LT && cur !== null && whenMs >= cur) return 0;

    ctx.dirty++;
    // A time already past deletes the key, but only on a master: a replica applying the
    // stream keeps it until its master's DEL arrives (Redis checkAlreadyExpired).
    if (whenMs <= ctx.now && ctx.ks.expiryMode === "master") {
      ctx.ks.deleteKey(m);
      ctx.rewrite(["DEL", key]);
      return 1;
    }
    ctx.ks.setExpire(m, whenMs);
    if (ctx.name !== "pexpireat") ctx.rewrite(["PEXPIREAT", key, String(when)]);
    return 1;
  };
}

/** TTL PTTL EXPIRETIME PEXPIRETIME. */
function ttlGeneric(ms: boolean, absolute: boolean) {
  return (ctx: Ctx): Reply => {
    const m = ctx.ks.lookupRead(ctx.db, ctx.argv[1]!);
    if (!m) return -2;
    if (m.expireMs === null) return -1;
    const t = Math.max(0, absolute ? m.expireMs : m.expireMs - ctx.now);
    const v = ms ? t : Math.floor((t + 500) / 1000);
    // Times past 2^53 ms are stored as doubles: never answer more than int64 allows.
    return Number.isSafeInteger(v) ? v : BigInt(v) > I64_MAX ? I64_MAX : BigInt(v);
  };
}

function persist(ctx: Ctx): Reply {
  const m = ctx.ks.lookupWrite(ctx.db, ctx.argv[1]!);
  if (!m || m.expireMs === null) return 0;
  ctx.ks.setExpire(m, null);
  ctx.dirty++;
  return 1;
}

// --- KEYS SCAN RANDOMKEY ---------------------------------------------------------------

/**
 * KEYS pattern: O(keys in the database) as in Redis, walked in key order over the (db, key)
 * index, and only over the range of the pattern's literal prefix. Logically expired keys
 * are skipped, not deleted (Redis 7.0 keysCommand).
 */
function keys(ctx: Ctx): Reply {
  const pattern = ctx.argv[1]!;
  const glob = compileGlob(pattern);
  const prefix = literalPrefix(pattern);
  const out: Uint8Array[] = [];
  let after: Uint8Array | null = null;
  while (true) {
    const rows: KeyRow[] = (
      after === null
        ? ctx.ks.sql.exec("SELECT id, key, type, expire_ms FROM kv_keys WHERE db = ? AND key >= ? ORDER BY key LIMIT ?", ctx.ks.physDb(ctx.db), own(prefix), KEYS_BATCH_ROWS)
        : ctx.ks.sql.exec("SELECT id, key, type, expire_ms FROM kv_keys WHERE db = ? AND key > ? ORDER BY key LIMIT ?", ctx.ks.physDb(ctx.db), own(after), KEYS_BATCH_ROWS)
    )
      .toArray()
      .map(toKeyRow);
    for (const r of rows) {
      if (!startsWith(r.key, prefix)) return out;
      if (expired(ctx, r)) continue;
      if (glob.match(r.key)) out.push(r.key);
    }
    if (rows.length < KEYS_BATCH_ROWS) return out;
    after = rows[rows.length - 1]!.key;
  }
}

/**
 * SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. The cursor is the id of the last
 * key examined; ids only grow, so a key present for the whole iteration is returned exactly
 * once, and a call reads COUNT (+1 to know whether more follow) rows.
 */
function scan(ctx: Ctx): Reply {
  const cursorText = str(ctx.argv[1]!);
  if (!/^[0-9]+$/.test(cursorText) || BigInt(cursorText) > 0xffffffffffffffffn) fail("ERR invalid cursor");
  const cursor = Number(cursorText);
  let count = 10;
  let pattern: Uint8Array | null = null;
  let typeName: string | null = null;
  for (let i = 2; i < ctx.argv.length; i += 2) {
    const o = opt(ctx.argv[i]!);
    const more = i + 1 < ctx.argv.length;
    if (o === "count" && more) {
      // Any C long (Redis: getLongFromObjectOrReply); a count past SCAN_COUNT_MAX only bounds the page.
      count = Math.min(longArg(ctx.argv[i + 1]!), SCAN_COUNT_MAX);
      if (count < 1) fail(E.syntax);
    } else if (o === "match" && more) {
      pattern = ctx.argv[i + 1]!;
    } else if (o === "type" && more) {
      typeName = opt(ctx.argv[i + 1]!);
    } else {
      fail(E.syntax);
    }
  }
  const glob = pattern === null ? null : compileGlob(pattern);

  const rows = keysAfterId(ctx, ctx.db, cursor, count + 1);
  const page = rows.length > count ? rows.slice(0, count) : rows;
  const next = rows.length > count ? page[page.length - 1]!.id : 0;
  const out: Uint8Array[] = [];
  for (const r of page) {
    if (glob && !glob.match(r.key)) continue;
    if (expired(ctx, r)) {
      expireMet(ctx, ctx.db, r);
      continue;
    }
    if (typeName !== null && TYPE_NAMES[r.type] !== typeName) continue;
    out.push(r.key);
  }
  return [utf8(String(next)), out];
}

/**
 * RANDOMKEY: a random id between the smallest and largest id, then the first key of this
 * database at or after it (wrapping around). O(log n) when the databases are not
 * interleaved; ids left by deleted keys make the choice less than uniform.
 */
function randomKey(ctx: Ctx): Reply {
  const sql = ctx.ks.sql;
  for (let tries = 0; ; tries++) {
    if (sql.exec("SELECT 1 FROM kv_keys WHERE db = ? LIMIT 1", ctx.ks.physDb(ctx.db)).toArray().length === 0) return null;
    const lo = sql.exec("SELECT id FROM kv_keys ORDER BY id LIMIT 1").one().id as number;
    const hi = sql.exec("SELECT id FROM kv_keys ORDER BY id DESC LIMIT 1").one().id as number;
    const pick = lo + Math.floor(Math.random() * (hi - lo + 1));
    const r = keysAfterId(ctx, ctx.db, pick - 1, 1)[0] ?? keysAfterId(ctx, ctx.db, 0, 1)[0];
    if (!r) return null;
    if (!expired(ctx, r)) return r.key;
    if (ctx.ks.expiryMode === "master") {
      ctx.ks.lookupRead(ctx.db, r.key, false); // deletes it (and propagates DEL); try again
    } else if (tries + 1 >= RANDOMKEY_TRIES_MAX) {
      return r.key; // a replica whose keys are all logically expired: Redis gives one anyway
    }
  }
}

// --- RENAME COPY MOVE ------------------------------------------------------------------

function renameGeneric(nx: boolean) {
  return (ctx: Ctx): Reply => {
    const src = ctx.argv[1]!;
    const dst = ctx.argv[2]!;
    const m = ctx.ks.lookupWrite(ctx.db, src);
    if (!m) fail(E.noSuchKey);
    if (equal(src, dst)) return nx ? 0 : OK;
    const d = ctx.ks.lookupWrite(ctx.db, dst);
    if (d) {
      if (nx) return 0;
      ctx.ks.deleteKey(d);
    }
    ctx.ks.renameKey(m, ctx.db, dst);
    ctx.dirty++;
    return nx ? 1 : OK;
  };
}

/** COPY source destination [DB destination-db] [REPLACE]. */
function copy(ctx: Ctx): Reply {
  const src = ctx.argv[1]!;
  const dst = ctx.argv[2]!;
  let dstDb = ctx.db;
  let replace = false;
  for (let i = 3; i < ctx.argv.length; i++) {
    const o = opt(ctx.argv[i]!);
    if (o === "replace") replace = true;
    else if (o === "db" && i + 1 < ctx.argv.length) dstDb = dbArg(ctx.argv[++i]!);
    else fail(E.syntax);
  }
  if (dstDb === ctx.db && equal(src, dst)) fail(SAME_OBJECT);
  const m = ctx.ks.lookupRead(ctx.db, src);
  if (!m) return 0;
  const d = ctx.ks.lookupWrite(dstDb, dst);
  if (d) {
    if (!replace) return 0;
    ctx.ks.deleteKey(d);
  }
  const n = ctx.ks.create(dstDb, dst, m.type, m.expireMs);
  ctx.ks.copyElements(m, n);
  ctx.dirty++;
  if (dstDb !== ctx.db) ctx.touched(dstDb, dst);
  return 1;
}

/** MOVE key db: the row changes database, O(1). */
function move(ctx: Ctx): Reply {
  const key = ctx.argv[1]!;
  const dstDb = dbArg(ctx.argv[2]!);
  if (dstDb === ctx.db) fail(SAME_OBJECT);
  const m = ctx.ks.lookupWrite(ctx.db, key);
  if (!m) return 0;
  if (ctx.ks.lookupWrite(dstDb, key)) return 0;
  ctx.ks.renameKey(m, dstDb, key);
  ctx.dirty++;
  ctx.touched(dstDb, key);
  return 1;
}

// --- databases -------------------------------------------------------------------------

function select(ctx: Ctx): Reply {
  ctx.session.db = dbArg(ctx.argv[1]!);
  return OK;
}

/** FLUSHDB/FLUSHALL [ASYNC|SYNC]: both modes are O(1), the rows deleted in the background (Keyspace.flush). */
function flushMode(ctx: Ctx): void {
  if (ctx.argv.length > 2) fail(E.syntax);
  if (ctx.argv.length === 2) {
    const o = opt(ctx.argv[1]!);
    if (o !== "sync" && o !== "async") fail(E.syntax);
  }
}

function flushdb(ctx: Ctx): Reply {
  flushMode(ctx);
  ctx.touchedAll(ctx.db);
  ctx.ks.flush(ctx.db);
  ctx.dirty++; // propagated even when the database was empty (Redis forceCommandPropagation)
  return OK;
}

function flushall(ctx: Ctx): Reply {
  flushMode(ctx);
  ctx.touchedAll(null);
  ctx.ks.flush(null);
  ctx.dirty++;
  // Not tied to a database: no SELECT before it in the stream.
  ctx.preventPropagation();
  ctx.alsoPropagate(ctx.argv, -1);
  return OK;
}

export const keyCommands: CommandSpec[] = [
  cmd("del", -2, ["write"], [1, -1, 1], del),
  cmd("unlink", -2, ["write", "fast"], [1, -1, 1], del),
  cmd("exists", -2, ["readonly", "fast"], [1, -1, 1], exists),
  cmd("type", 2, ["readonly", "fast"], [1, 1, 1], type),
  cmd("expire", -3, ["write", "fast"], [1, 1, 1], expireGeneric(true, false)),
  cmd("pexpire", -3, ["write", "fast"], [1, 1, 1], expireGeneric(false, false)),
  cmd("expireat", -3, ["write", "fast"], [1, 1, 1], expireGeneric(true, true)),
  cmd("pexpireat", -3, ["write", "fast"], [1, 1, 1], expireGeneric(false, true)),
  cmd("ttl", 2, ["readonly", "fast"], [1, 1, 1], ttlGeneric(false, false)),
  cmd("pttl", 2, ["readonly", "fast"], [1, 1, 1], ttlGeneric(true, false)),
  cmd("expiretime", 2, ["readonly", "fast"], [1, 1, 1], ttlGeneric(false, true)),
  cmd("pexpiretime", 2, ["readonly", "fast"], [1, 1, 1], ttlGeneric(true, true)),
  cmd("persist", 2, ["write", "fast"], [1, 1, 1], persist),
  cmd("keys", 2, ["readonly"], [0, 0, 0], keys),
  cmd("scan", -2, ["readonly"], [0, 0, 0], scan),
  cmd("randomkey", 1, ["readonly"], [0, 0, 0], randomKey),
  cmd("rename", 3, ["write"], [1, 2, 1], renameGeneric(false)),
  cmd("renamenx", 3, ["write", "fast"], [1, 2, 1], renameGeneric(true)),
  cmd("copy", -3, ["write", "denyoom"], [1, 2, 1], copy),
  cmd("move", 3, ["write", "fast"], [1, 1, 1], move),
  cmd("select", 2, ["stale", "fast"], [0, 0, 0], select, ["connection"]),
  cmd("dbsize", 1, ["readonly", "fast"], [0, 0, 0], (ctx) => ctx.ks.dbSize(ctx.db)),
  cmd("flushdb", -1, ["write"], [0, 0, 0], flushdb),
  cmd("flushall", -1, ["write"], [0, 0, 0], flushall),
];
