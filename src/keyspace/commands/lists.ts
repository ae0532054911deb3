/**
 * List commands over kv_list(kid, pos, value).
 *
 * Layout invariant: the elements of a list occupy the dense positions lhead..ltail-1 (kept
 * in the key's meta), so card = ltail - lhead, element i is at lhead + i, and LINDEX/LSET
 * are one indexed row. Pushes extend either end (lhead-1, ltail). A middle insertion or
 * removal (LINSERT, LREM) renumbers the shorter side only.
 *
 * Renumbering must not trip the (kid, pos) PRIMARY KEY: `UPDATE … SET pos = pos + 1` checks
 * uniqueness row by row in an unspecified order and can collide with a neighbour that has not
 * moved yet. So a shift goes through a parking range: first `pos + delta + PARK`, far above
 * every real position, then `- PARK`. Real positions stay within ±PARK/2: they start at 0
 * and move by one per push, so reaching 2^49 would take 2^49 pushes.
 */
import { type CommandSpec, type Ctx, cmd } from "../command.ts";
import { checkElement, longArg, mpopArgs, opt, readKey, writeKey, normRange } from "../args.ts";
import { E, fail } from "../errors.ts";
import { TYPE } from "../schema.ts";
import type { KeyMeta, Keyspace } from "../store.ts";
import { NIL_ARRAY, OK, type Reply } from "../../protocol/reply.ts";
import { blob, equal, own } from "../../util/bytes.ts";

/** Offset of the parking range used while renumbering positions (see the header). */
const PARK = 2 ** 50;

const NOT_POSITIVE = "ERR value is out of range, must be positive";

export type End = "left" | "right";

// --- helpers -------------------------------------------------------------------------------


/** A non-negative long (getPositiveLongFromObjectOrReply): the message covers both bad forms. */
function positiveArg(b: Uint8Array, msg: string): number {
  const v = longArg(b, msg);
  if (v < 0) fail(msg);
  return v;
}

const readList = (ctx: Ctx, key: Uint8Array): KeyMeta | null => readKey(ctx, key, TYPE.list);
const writeList = (ctx: Ctx, key: Uint8Array): KeyMeta | null => writeKey(ctx, key, TYPE.list);

export function parseEnd(b: Uint8Array): End {
  const s = opt(b);
  if (s === "left") return "left";
  if (s === "right") return "right";
  fail(E.syntax);
}


/** Shift positions [from, to] of a list by `delta` through the parking range. */
function shiftRange(sql: SqlStorage, kid: number, from: number, to: number, delta: number): void {
  if (from > to || delta === 0) return;
  sql.exec("UPDATE kv_list SET pos = pos + ? WHERE kid = ? AND pos >= ? AND pos <= ?", delta + PARK, kid, from, to);
  unpark(sql, kid);
}

/** Bring every parked row of a list back down by PARK. */
function unpark(sql: SqlStorage, kid: number): void {
  sql.exec("UPDATE kv_list SET pos = pos - ? WHERE kid = ? AND pos >= ?", PARK, kid, PARK / 2);
}

function pushAt(sql: SqlStorage, m: KeyMeta, end: End, values: Uint8Array[]): void {
  for (const v of values) {
    const pos = end === "left" ? --m.lhead : m.ltail++;
    sql.exec("INSERT INTO kv_list (kid, pos, value) VALUES (?, ?, ?)", m.id, pos, own(v));
  }
  m.card = m.ltail - m.lhead;
}

/** Remove and return up to `n` elements from one end, in pop order. */
function popAt(ks: Keyspace, m: KeyMeta, end: End, n: number): Uint8Array[] {
  const sql = ks.sql;
  n = Math.min(n, m.card);
  if (n <= 0) return [];
  const [lo, hi] = end === "left" ? [m.lhead, m.lhead + n - 1] : [m.ltail - n, m.ltail - 1];
  const order = end === "left" ? "ASC" : "DESC";
  const out = sql
    .exec(`SELECT value FROM kv_list WHERE kid = ? AND pos >= ? AND pos <= ? ORDER BY pos ${order}`, m.id, lo, hi)
    .toArray()
    .map((r) => ks.charged(blob(r.value)));
  sql.exec("DELETE FROM kv_list WHERE kid = ? AND pos >= ? AND pos <= ?", m.id, lo, hi);
  if (end === "left") m.lhead += n;
  else m.ltail -= n;
  m.card = m.ltail - m.lhead;
  return out;
}

// --- push / pop -------------------------------------------------------------------------------

function push(end: End, onlyExisting: boolean) {
  return (ctx: Ctx): Reply => {
    const key = ctx.argv[1]!;
    const values = ctx.argv.slice(2);
    for (const v of values) checkElement(v);
    let m = writeList(ctx, key);
    if (!m) {
      if (onlyExisting) return 0;
      m = ctx.ks.create(ctx.db, key, TYPE.list);
    }
    pushAt(ctx.ks.sql, m, end, values);
    ctx.ks.saveCollection(m);
    ctx.dirty += values.length;
    return m.card;
  };
}

export function pop(end: End) {
  return (ctx: Ctx): Reply => {
    if (ctx.argv.length > 3) fail(E.arity(ctx.name));
    const hasCount = ctx.argv.length === 3;
    const count = hasCount ? positiveArg(ctx.argv[2]!, NOT_POSITIVE) : 1;
    const m = writeList(ctx, ctx.argv[1]!);
    if (!m) return hasCount ? NIL_ARRAY : null;
    if (hasCount && count === 0) return [];
    const out = popAt(ctx.ks, m, end, count);
    ctx.ks.saveCollection(m);
    ctx.dirty += out.length;
    return hasCount ? out : out[0]!;
  };
}

/**
 * LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: pop from the first non-empty list.
 * Replicated as [LR]POP key count (Redis's mpopGenericCommand); keys are movable, so the
 * popped key is signalled to WATCH here.
 */
export function lmpop(ctx: Ctx): Reply {
  const argv = ctx.argv;
  const { firstKey, endKey, where: end, count } = mpopArgs(argv, parseEnd);
  for (let j = firstKey; j < endKey; j++) {
    const key = argv[j]!;
    const m = writeList(ctx, key);
    if (!m || m.card === 0) continue;
    const n = Math.min(count, m.card);
    const out = popAt(ctx.ks, m, end, n);
    ctx.ks.saveCollection(m);
    ctx.dirty += out.length;
    ctx.touched(ctx.db, key);
    ctx.rewrite([end === "left" ? "LPOP" : "RPOP", key, String(n)]);
    return [key, out];
  }
  return NIL_ARRAY;
}

/** LMOVE/RPOPLPUSH: pop from one end of `src`, push onto an end of `dst` (may be the same key). */
export function move(ctx: Ctx, from: End, to: End): Reply {
  const srcKey = ctx.argv[1]!;
  const dstKey = ctx.argv[2]!;
  const src = writeList(ctx, srcKey);
  if (!src) return null;
  const sameKey = equal(srcKey, dstKey);
  let dst = sameKey ? src : writeList(ctx, dstKey);
  const [value] = popAt(ctx.ks, src, from, 1);
  if (!dst) dst = ctx.ks.create(ctx.db, dstKey, TYPE.list);
  pushAt(ctx.ks.sql, dst, to, [value!]);
  if (!sameKey) ctx.ks.saveCollection(src);
  ctx.ks.saveCollection(dst);
  // Both keys changed; the engine only touches argv[1..2] for this command (keys 1..2).
  ctx.dirty++;
  return value!;
}

// --- reads ----------------------------------------------------------------------------------

function lrange(ctx: Ctx): Reply {
  const start = longArg(ctx.argv[2]!);
  const end = longArg(ctx.argv[3]!);
  const m = readList(ctx, ctx.argv[1]!);
  if (!m) return [];
  const r = normRange(start, end, m.card);
  if (!r) return [];
  return ctx.ks.sql
    .exec("SELECT value FROM kv_list WHERE kid = ? AND pos >= ? AND pos <= ? ORDER BY pos", m.id, m.lhead + r[0], m.lhead + r[1])
    .toArray()
    .map((row) => ctx.ks.charged(blob(row.value)));
}

function lindex(ctx: Ctx): Reply {
  const m = readList(ctx, ctx.argv[1]!);
  if (!m) return null;
  let i = longArg(ctx.argv[2]!);
  if (i < 0) i += m.card;
  if (i < 0 || i >= m.card) return null;
  const rows = ctx.ks.sql.exec("SELECT value FROM kv_list WHERE kid = ? AND pos = ?", m.id, m.lhead + i).toArray();
  return rows.length ? ctx.ks.charged(blob(rows[0]!.value)) : null;
}

/** LPOS key element [RANK rank] [COUNT num] [MAXLEN len]: a scan of the key's rows, as in Redis O(n). */
function lpos(ctx: Ctx): Reply {
  const ele = ctx.argv[2]!;
  let rank = 1;
  let count = -1; // -1: option not given
  let maxlen = 0;
  for (let j = 3; j < ctx.argv.length; j++) {
    const o = opt(ctx.argv[j]!);
    const more = j < ctx.argv.length - 1;
    if (o === "rank" && more) {
      rank = longArg(ctx.argv[++j]!);
      if (rank === 0) {
        fail(
          "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
        );
      }
    } else if (o === "count" && more) {
      count = positiveArg(ctx.argv[++j]!, "ERR COUNT can't be negative");
    } else if (o === "maxlen" && more) {
      maxlen = positiveArg(ctx.argv[++j]!, "ERR MAXLEN can't be negative");
    } else {
      fail(E.syntax);
    }
  }
  const fromTail = rank < 0;
  if (fromTail) rank = -rank;
  const m = readList(ctx, ctx.argv[1]!);
  if (!m) return count === -1 ? null : [];
  let lo = m.lhead;
  let hi = m.ltail - 1;
  if (maxlen > 0) {
    if (fromTail) lo = Math.max(lo, m.ltail - maxlen);
    else hi = Math.min(hi, m.lhead + maxlen - 1);
  }
  // Bind only values SQLite takes as integers: a RANK or COUNT past the list's length means the same as its length.
  const limit = count === -1 ? 1 : count === 0 ? -1 : Math.min(count, m.card);
  const skip = Math.min(rank - 1, m.card);
  const rows = ctx.ks.sql
    .exec(
      `SELECT pos FROM kv_list WHERE kid = ? AND pos >= ? AND pos <= ? AND value = ? ORDER BY pos ${fromTail ? "DESC" : "ASC"} LIMIT ? OFFSET ?`,
      m.id,
      lo,
      hi,
      own(ele),
      limit,
      skip,
    )
    .toArray()
    .map((r) => (r.pos as number) - m.lhead);
  if (count === -1) return rows.length ? rows[0]! : null;
  return rows;
}

// --- in-place writes ----------------------------------------------------------------------------

function lset(ctx: Ctx): Reply {
  const m = writeList(ctx, ctx.argv[1]!);
  if (!m) fail(E.noSuchKey);
  let i = longArg(ctx.argv[2]!);
  const value = checkElement(ctx.argv[3]!);
  if (i < 0) i += m.card;
  if (i < 0 || i >= m.card) fail(E.outOfRange);
  ctx.ks.sql.exec("UPDATE kv_list SET value = ? WHERE kid = ? AND pos = ?", own(value), m.id, m.lhead + i);
  ctx.dirty++;
  return OK;
}

/** LTRIM: one DELETE per trimmed side. */
function ltrim(ctx: Ctx): Reply {
  const start = longArg(ctx.argv[2]!);
  const end = longArg(ctx.argv[3]!);
  const m = writeList(ctx, ctx.argv[1]!);
  if (!m) return OK;
  const r = normRange(start, end, m.card);
  const [keepFrom, keepTo] = r ? [m.lhead + r[0], m.lhead + r[1]] : [m.ltail, m.ltail - 1];
  const removed = m.card - (r ? r[1] - r[0] + 1 : 0);
  if (keepFrom > m.lhead) ctx.ks.sql.exec("DELETE FROM kv_list WHERE kid = ? AND pos < ?", m.id, keepFrom);
  if (r && keepTo < m.ltail - 1) ctx.ks.sql.exec("DELETE FROM kv_list WHERE kid = ? AND pos > ?", m.id, keepTo);
  if (r) {
    m.lhead = keepFrom;
    m.ltail = keepTo + 1;
  } else {
    m.lhead = m.ltail;
  }
  m.card = m.ltail - m.lhead;
  ctx.ks.saveCollection(m);
  ctx.dirty += removed;
  // Redis signals the key as modified (WATCH) even when nothing was trimmed.
  if (removed === 0) ctx.touched(ctx.db, m.key);
  return OK;
}

/**
 * LINSERT: find the pivot from the head (O(n) as in Redis), then open a hole next to it by
 * shifting the shorter side by one.
 */
function linsert(ctx: Ctx): Reply {
  const where = opt(ctx.argv[2]!);
  if (where !== "before" && where !== "after") fail(E.syntax);
  const pivot = ctx.argv[3]!;
  const value = checkElement(ctx.argv[4]!);
  const m = writeList(ctx, ctx.argv[1]!);
  if (!m) return 0;
  const sql = ctx.ks.sql;
  const rows = sql.exec("SELECT pos FROM kv_list WHERE kid = ? AND value = ? ORDER BY pos LIMIT 1", m.id, own(pivot)).toArray();
  if (!rows.length) return -1;
  const p = rows[0]!.pos as number;
  // i: number of elements before the new one.
  const i = p - m.lhead + (where === "after" ? 1 : 0);
  let at: number;
  if (i < m.card - i) {
    shiftRange(sql, m.id, m.lhead, m.lhead + i - 1, -1);
    m.lhead--;
    at = m.lhead + i;
  } else {
    shiftRange(sql, m.id, m.lhead + i, m.ltail - 1, 1);
    m.ltail++;
    at = m.lhead + i;
  }
  sql.exec("INSERT INTO kv_list (kid, pos, value) VALUES (?, ?, ?)", m.id, at, own(value));
  m.card = m.ltail - m.lhead;
  ctx.ks.saveCollection(m);
  ctx.dirty++;
  return m.card;
}

/**
 * LREM: collect the positions to remove (O(n) scan, as in Redis), delete them with one
 * statement, then close the gaps from the shorter side: each run of survivors between two
 * removed positions moves by the number of removed positions on its side.
 */
function lrem(ctx: Ctx): Reply {
  const toRemove = longArg(ctx.argv[2]!);
  const ele = ctx.argv[3]!;
  const m = writeList(ctx, ctx.argv[1]!);
  if (!m) return 0;
  const sql = ctx.ks.sql;
  const order = toRemove < 0 ? "DESC" : "ASC";
  // Bind only values SQLite takes as integers: a count past the list's length means its length.
  const limit = toRemove === 0 ? -1 : Math.min(Math.abs(toRemove), m.card);
  const r = sql
    .exec(`SELECT pos FROM kv_list WHERE kid = ? AND value = ? ORDER BY pos ${order} LIMIT ?`, m.id, own(ele), limit)
    .toArray()
    .map((row) => row.pos as number);
  const k = r.length;
  if (k === 0) return 0;
  if (toRemove < 0) r.reverse();
  const first = r[0]!;
  const last = r[k - 1]!;
  // Every match inside [first, last] is one of the selected ones.
  sql.exec("DELETE FROM kv_list WHERE kid = ? AND pos >= ? AND pos <= ? AND value = ?", m.id, first, last, own(ele));
  const headMoves = last - m.lhead - (k - 1);
  const tailMoves = m.ltail - 1 - first - (k - 1);
  let parked = false;
  const park = (from: number, to: number, delta: number): void => {
    if (from > to) return;
    sql.exec("UPDATE kv_list SET pos = pos + ? WHERE kid = ? AND pos >= ? AND pos <= ?", delta + PARK, m.id, from, to);
    parked = true;
  };
  if (headMoves <= tailMoves) {
    // Survivors before r[j] move toward the tail by the number of removed positions after them.
    let prev = m.lhead - 1;
    for (let j = 0; j < k; j++) {
      park(prev + 1, r[j]! - 1, k - j);
      prev = r[j]!;
    }
    m.lhead += k;
  } else {
    // Survivors after r[j] move toward the head by the number of removed positions before them.
    for (let j = 0; j < k; j++) {
      const next = j + 1 < k ? r[j + 1]! : m.ltail;
      park(r[j]! + 1, next - 1, -(j + 1));
    }
    m.ltail -= k;
  }
  if (parked) unpark(sql, m.id);
  m.card = m.ltail - m.lhead;
  ctx.ks.saveCollection(m);
  ctx.dirty += k;
  return k;
}

// --- the table ------------------------------------------------------------------------------

export const listCommands: CommandSpec[] = [
  cmd("lpush", -3, ["write", "denyoom", "fast"], [1, 1, 1], push("left", false)),
  cmd("rpush", -3, ["write", "denyoom", "fast"], [1, 1, 1], push("right", false)),
  cmd("lpushx", -3, ["write", "denyoom", "fast"], [1, 1, 1], push("left", true)),
  cmd("rpushx", -3, ["write", "denyoom", "fast"], [1, 1, 1], push("right", true)),
  cmd("lpop", -2, ["write", "fast"], [1, 1, 1], pop("left")),
  cmd("rpop", -2, ["write", "fast"], [1, 1, 1], pop("right")),
  cmd("lmpop", -4, ["write"], [0, 0, 0], lmpop),
  cmd("llen", 2, ["readonly", "fast"], [1, 1, 1], (ctx) => readList(ctx, ctx.argv[1]!)?.card ?? 0),
  cmd("lrange", 4, ["readonly"], [1, 1, 1], lrange),
  cmd("lindex", 3, ["readonly"], [1, 1, 1], lindex),
  cmd("lset", 4, ["write", "denyoom"], [1, 1, 1], lset),
  cmd("lrem", 4, ["write"], [1, 1, 1], lrem),
  cmd("ltrim", 4, ["write"], [1, 1, 1], ltrim),
  cmd("linsert", 5, ["write", "denyoom"], [1, 1, 1], linsert),
  cmd("lpos", -3, ["readonly"], [1, 1, 1], lpos),
  cmd("lmove", 5, ["write", "denyoom"], [1, 2, 1], (ctx) => {
    const from = parseEnd(ctx.argv[3]!);
    const to = parseEnd(ctx.argv[4]!);
    return move(ctx, from, to);
  }),
  cmd("rpoplpush", 3, ["write", "denyoom"], [1, 2, 1], (ctx) => move(ctx, "right", "left")),
];
