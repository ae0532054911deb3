/**
 * Sorted-set commands over kv_zset(kid, member, score): the PRIMARY KEY (kid, member) finds a
 * member in O(log n); the index kv_zset_score (kid, score, member) gives Redis's order (score,
 * then member bytes: SQLite compares BLOBs with memcmp, as Redis compares equal-score members).
 *
 * Costs: ZADD/ZSCORE/ZINCRBY/ZREM are O(log n) per member. Score and lex ranges are an index
 * range scan, O(log n + offset + k). Rank access has no counted B-tree under it, so a rank
 * costs O(rank) in SQLite: ZRANK counts the rows before the member, and ZRANGE by index
 * walks OFFSET rows from whichever end of the set is nearer (ZRANGE 0 10 and ZRANGE -10 -1
 * are both O(log n + k)). ZCOUNT counts the rows in its range, O(log n + count).
 */
import { type CommandSpec, type Ctx, cmd } from "../command.ts";
import { checkElement, floatArg, longArg, mpopArgs, opt, readKey, writeKey, normRange } from "../args.ts";
import { checkRandomReply, randomCountArg, randomRows, ZSET_ROWS } from "./blob-order.ts";
import { E, fail } from "../errors.ts";
import { compileGlob } from "../glob.ts";
import { TYPE } from "../schema.ts";
import type { KeyMeta, Keyspace } from "../store.ts";
import { NIL_ARRAY, type Reply, RespDouble } from "../../protocol/reply.ts";
import { bkey, blob, own, utf8 } from "../../util/bytes.ts";
import { formatG17, parseDouble } from "../../util/numbers.ts";

const NOT_POSITIVE = "ERR value is out of range, must be positive";
/** Redis keeps a sorted set this small as a listpack, and ZSCAN returns it whole (zset-max-listpack-entries). */
const ZSCAN_WHOLE_MAX = 128;
/** Largest ZSCAN COUNT honoured (SQLite refuses LIMIT values past 2^63 bound as doubles). */
const ZSCAN_COUNT_MAX = 1_000_000_000;
/** Forces the (kid, score, member) index for ordered walks, so LIMIT stops early instead of sorting. */
const BY_SCORE = "kv_zset INDEXED BY kv_zset_score";

export type Entry = [member: Uint8Array, score: number];

// --- helpers -------------------------------------------------------------------------------


export const readZ = (ctx: Ctx, key: Uint8Array): KeyMeta | null => readKey(ctx, key, TYPE.zset);
const writeZ = (ctx: Ctx, key: Uint8Array): KeyMeta | null => writeKey(ctx, key, TYPE.zset);

export function getScore(sql: SqlStorage, kid: number, member: Uint8Array): number | null {
  const rows = sql.exec("SELECT score FROM kv_zset WHERE kid = ? AND member = ?", kid, own(member)).toArray();
  return rows.length ? (rows[0]!.score as number) : null;
}

function toEntries(ks: Keyspace, rows: Record<string, SqlStorageValue>[]): Entry[] {
  return rows.map((r) => [ks.charged(blob(r.member)), r.score as number]);
}

/** Members, or members with scores: flat in RESP2, [member, score] pairs in RESP3. */
export function entriesReply(ctx: Ctx, rows: Entry[], withScores: boolean, nested = ctx.session.resp > 2): Reply {
  if (!withScores) return rows.map((r) => r[0]);
  if (nested) return rows.map((r) => [r[0], new RespDouble(r[1])]);
  const out: Reply[] = [];
  for (const [m, s] of rows) out.push(m, new RespDouble(s));
  return out;
}

/** strtod as zslParseRange uses it: leading spaces, hex integers, and "" (= 0) are accepted. */
function strtod(b: Uint8Array): number | null {
  let i = 0;
  while (i < b.length && (b[i] === 0x20 || (b[i]! >= 0x09 && b[i]! <= 0x0d))) i++;
  const rest = b.subarray(i);
  if (rest.length === 0) return 0;
  const v = parseDouble(rest);
  if (v !== null) return v;
  if (rest.length > 64) return null;
  const hex = /^([+-]?)0[xX]([0-9a-fA-F]+)$/.exec(bkey(rest));
  return hex ? (hex[1] === "-" ? -1 : 1) * parseInt(hex[2]!, 16) : null;
}

interface ScoreRange {
  min: number;
  max: number;
  minex: boolean;
  maxex: boolean;
}

function parseScoreBound(b: Uint8Array): [number, boolean] {
  const ex = b[0] === 0x28; /* ( */
  const v = strtod(ex ? b.subarray(1) : b);
  if (v === null) fail(E.zsetNotFloat);
  return [v, ex];
}

function parseScoreRange(minArg: Uint8Array, maxArg: Uint8Array): ScoreRange {
  const [min, minex] = parseScoreBound(minArg);
  const [max, maxex] = parseScoreBound(maxArg);
  return { min, max, minex, maxex };
}

/** SQL condition and bindings for a score range (±inf bind as SQLite REAL infinities). */
function scoreWhere(r: ScoreRange): [string, number[]] {
  return [`score ${r.minex ? ">" : ">="} ? AND score ${r.maxex ? "<" : "<="} ?`, [r.min, r.max]];
}

/** A lex range bound: "-" (-inf), "+" (+inf), "[x" inclusive, "(x" exclusive. */
interface LexBound {
  inf: -1 | 0 | 1;
  v: Uint8Array;
  ex: boolean;
}

function parseLexBound(b: Uint8Array): LexBound {
  const c = b[0];
  if ((c === 0x2b /* + */ || c === 0x2d) /* - */ && b.length === 1) return { inf: c === 0x2b ? 1 : -1, v: b, ex: true };
  if (c === 0x28 /* ( */ || c === 0x5b /* [ */) return { inf: 0, v: b.subarray(1), ex: c === 0x28 };
  fail(E.lexRange);
}

/** SQL condition and bindings for a lex range, or null when it is empty by construction. */
function lexWhere(min: LexBound, max: LexBound): [string, Uint8Array[]] | null {
  if (min.inf === 1 || max.inf === -1) return null;
  const conds: string[] = [];
  const args: Uint8Array[] = [];
  if (min.inf === 0) {
    conds.push(`member ${min.ex ? ">" : ">="} ?`);
    args.push(own(min.v));
  }
  if (max.inf === 0) {
    conds.push(`member ${max.ex ? "<" : "<="} ?`);
    args.push(own(max.v));
  }
  return [conds.length ? conds.join(" AND ") : "1", args];
}


/** Entries of ascending ranks a..b, ascending. OFFSET is O(rank), so walk from the nearer end. */
function rankSlice(ks: Keyspace, m: KeyMeta, a: number, b: number): Entry[] {
  const sql = ks.sql;
  const n = b - a + 1;
  if (a <= m.card - 1 - b) {
    return toEntries(
      ks,
      sql.exec(`SELECT member, score FROM ${BY_SCORE} WHERE kid = ? ORDER BY score, member LIMIT ? OFFSET ?`, m.id, n, a).toArray(),
    );
  }
  return toEntries(
    ks,
    sql
      .exec(`SELECT member, score FROM ${BY_SCORE} WHERE kid = ? ORDER BY score DESC, member DESC LIMIT ? OFFSET ?`, m.id, n, m.card - 1 - b)
      .toArray(),
  ).reverse();
}

/** Number of members ordered before (score, member): O(rank) rows counted on the index. */
function rankOf(sql: SqlStorage, kid: number, score: number, member: Uint8Array): number {
  const r = sql
    .exec(
      `SELECT (SELECT count(*) FROM ${BY_SCORE} WHERE kid = ? AND score < ?) + (SELECT count(*) FROM ${BY_SCORE} WHERE kid = ? AND score = ? AND member < ?) AS n`,
      kid,
      score,
      kid,
      score,
      own(member),
    )
    .one();
  return r.n as number;
}

// --- ZADD / ZINCRBY -------------------------------------------------------------------------

/** ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member ...; ZINCRBY is ZADD INCR (zaddGenericCommand). */
export function zaddGeneric(ctx: Ctx, incrCmd: boolean, argv: Uint8Array[] = ctx.argv): Reply {
  let nx = false;
  let xx = false;
  let gt = false;
  let lt = false;
  let ch = false;
  let incr = incrCmd;
  let idx = 2;
  for (; idx < argv.length; idx++) {
    const o = opt(argv[idx]!);
    if (o === "nx") nx = true;
    else if (o === "xx") xx = true;
    else if (o === "ch") ch = true;
    else if (o === "incr") incr = true;
    else if (o === "gt") gt = true;
    else if (o === "lt") lt = true;
    else break;
  }
  const elements = argv.length - idx;
  if (elements % 2 || !elements) fail(E.syntax);
  if (nx && xx) fail("ERR XX and NX options at the same time are not compatible");
  if ((gt && nx) || (lt && nx) || (gt && lt)) fail("ERR GT, LT, and/or NX options at the same time are not compatible");
  if (incr && elements > 2) fail("ERR INCR option supports a single increment-element pair");
  const pairs: Entry[] = [];
  for (let j = idx; j < argv.length; j += 2) pairs.push([argv[j + 1]!, floatArg(argv[j]!)]);
  for (const [member] of pairs) checkElement(member);

  const existing = writeZ(ctx, argv[1]!);
  if (!existing && xx) return incr ? null : 0;
  const m = existing ?? ctx.ks.create(ctx.db, argv[1]!, TYPE.zset);
  const sql = ctx.ks.sql;
  let added = 0;
  let updated = 0;
  let processed = 0;
  let last = 0;
  for (const [member, input] of pairs) {
    let score = input + 0; // -0 → 0, as Redis 7.0 replies for small sets
    const cur = getScore(sql, m.id, member);
    if (cur !== null) {
      if (nx) continue;
      if (incr) {
        score = cur + score + 0;
        if (Number.isNaN(score)) fail(E.zsetNaN); // INCR has a single pair: nothing changed yet
      }
      if ((lt && score >= cur) || (gt && score <= cur)) continue;
      if (score !== cur) {
        sql.exec("UPDATE kv_zset SET score = ? WHERE kid = ? AND member = ?", score, m.id, own(member));
        updated++;
      }
    } else {
      if (xx) continue;
      sql.exec("INSERT INTO kv_zset (kid, member, score) VALUES (?, ?, ?)", m.id, own(member), score);
      added++;
    }
    processed++;
    last = score;
  }
  m.card += added;
  if (added || !existing) ctx.ks.saveCollection(m);
  ctx.dirty += added + updated;
  if (incr) return processed ? new RespDouble(last) : null;
  return ch ? added + updated : added;
}

// --- reads ----------------------------------------------------------------------------------

function zscore(ctx: Ctx): Reply {
  const m = readZ(ctx, ctx.argv[1]!);
  if (!m) return null;
  const s = getScore(ctx.ks.sql, m.id, ctx.argv[2]!);
  return s === null ? null : new RespDouble(s);
}

function zmscore(ctx: Ctx): Reply {
  const m = readZ(ctx, ctx.argv[1]!);
  return ctx.argv.slice(2).map((member) => {
    const s = m ? getScore(ctx.ks.sql, m.id, member) : null;
    return s === null ? null : new RespDouble(s);
  });
}

function zcount(ctx: Ctx): Reply {
  const r = parseScoreRange(ctx.argv[2]!, ctx.argv[3]!);
  const m = readZ(ctx, ctx.argv[1]!);
  if (!m) return 0;
  const [where, args] = scoreWhere(r);
  return ctx.ks.sql.exec(`SELECT count(*) AS n FROM ${BY_SCORE} WHERE kid = ? AND ${where}`, m.id, ...args).one().n as number;
}

function zrank(reverse: boolean) {
  return (ctx: Ctx): Reply => {
    const m = readZ(ctx, ctx.argv[1]!);
    if (!m) return null;
    const member = ctx.argv[2]!;
    const s = getScore(ctx.ks.sql, m.id, member);
    if (s === null) return null;
    const r = rankOf(ctx.ks.sql, m.id, s, member);
    return reverse ? m.card - 1 - r : r;
  };
}

/**
 * LIMIT and OFFSET bindings for a range of `m`: SQLite refuses integers past 2^63 bound as
 * doubles (SQLITE_MISMATCH), and anything past the set's size means the same as its size.
 */
function limitOffset(m: KeyMeta, limit: number, offset: number): [number, number] {
  return [limit < 0 ? -1 : Math.min(limit, m.card), Math.min(offset, m.card)];
}

type RangeType = "auto" | "rank" | "score" | "lex";
type Direction = "auto" | "forward" | "reverse";

/**
 * ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES], and the older
 * commands that preset the range type and direction (zrangeGenericCommand).
 */
function zrangeGeneric(ctx: Ctx, type0: RangeType, dir0: Direction, store = false): Reply {
  const argv = ctx.argv;
  // ZRANGESTORE dst src min max …: every position one further, no WITHSCORES.
  const base = store ? 2 : 1;
  const done = (rows: Entry[], withScores: boolean, lex = false): Reply =>
    store ? storeEntries(ctx, argv[1]!, rows) : lex ? rows.map((r) => r[0]) : entriesReply(ctx, rows, withScores);
  let type = type0;
  let dir = dir0;
  let withScores = false;
  let offset = 0;
  let limit = -1;
  for (let j = base + 3; j < argv.length; j++) {
    const left = argv.length - j - 1;
    const o = opt(argv[j]!);
    if (o === "withscores" && !store) withScores = true;
    else if (o === "limit" && left >= 2) {
      offset = longArg(argv[j + 1]!);
      limit = longArg(argv[j + 2]!);
      j += 2;
    } else if (dir === "auto" && o === "rev") dir = "reverse";
    else if (type === "auto" && o === "bylex") type = "lex";
    else if (type === "auto" && o === "byscore") type = "score";
    else fail(E.syntax);
  }
  if (dir === "auto") dir = "forward";
  if (type === "auto") type = "rank";
  if (limit !== -1 && type === "rank") fail("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
  if (withScores && type === "lex") fail("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
  const rev = dir === "reverse";
  let minArg = argv[base + 1]!;
  let maxArg = argv[base + 2]!;
  if (rev && type !== "rank") [minArg, maxArg] = [maxArg, minArg];

  const sql = ctx.ks.sql;
  switch (type) {
    case "rank": {
      const start = longArg(minArg);
      const end = longArg(maxArg);
      const m = readZ(ctx, argv[base]!);
      if (!m) return done([], withScores);
      const r = normRange(start, end, m.card);
      if (!r) return done([], withScores);
      // Reverse ranks count from the highest score.
      const rows = rev ? rankSlice(ctx.ks, m, m.card - 1 - r[1], m.card - 1 - r[0]).reverse() : rankSlice(ctx.ks, m, r[0], r[1]);
      return done(rows, withScores);
    }
    case "score": {
      const range = parseScoreRange(minArg, maxArg);
      const m = readZ(ctx, argv[base]!);
      if (!m || offset < 0) return done([], withScores);
      const [where, args] = scoreWhere(range);
      const order = rev ? "score DESC, member DESC" : "score, member";
      const rows = sql
        .exec(
          `SELECT member, score FROM ${BY_SCORE} WHERE kid = ? AND ${where} ORDER BY ${order} LIMIT ? OFFSET ?`,
          m.id,
          ...args,
          ...limitOffset(m, limit, offset),
        )
        .toArray();
      return done(toEntries(ctx.ks, rows), withScores);
    }
    case "lex": {
      const lex = lexWhere(parseLexBound(minArg), parseLexBound(maxArg));
      const m = readZ(ctx, argv[base]!);
      if (!m || offset < 0 || !lex) return done([], false, true);
      const [where, args] = lex;
      // Lex ranges assume equal scores (as Redis documents); member order is then the set's order.
      const rows = sql
        .exec(
          `SELECT member, score FROM kv_zset WHERE kid = ? AND ${where} ORDER BY member ${rev ? "DESC" : "ASC"} LIMIT ? OFFSET ?`,
          m.id,
          ...args,
          ...limitOffset(m, limit, offset),
        )
        .toArray();
      return done(toEntries(ctx.ks, rows), false, true);
    }
  }
}

/**
 * Replace `dst` (of any type, its TTL dropped) by a sorted set of `rows`, or delete it when
 * there are none (ZRANGESTORE, ZUNIONSTORE…: Redis's setKey / dbDelete). Returns the size.
 */
export function storeEntries(ctx: Ctx, dst: Uint8Array, rows: Entry[]): number {
  // Only the destination changes (ZRANGESTORE's source is a key argument too).
  ctx.signalsOwnKeys();
  const old = ctx.ks.lookupWrite(ctx.db, dst);
  if (old && rows.length) ctx.blocking.overwritten(ctx.db, dst);
  if (old || rows.length) ctx.touched(ctx.db, dst);
  if (old) {
    ctx.ks.deleteKey(old);
    ctx.dirty++;
  }
  if (!rows.length) return 0;
  const m = ctx.ks.create(ctx.db, dst, TYPE.zset);
  // + 0: a -0 (a weight of -1 times 0) is stored as 0, as redis-server's listpack stores it.
  for (const [member, score] of rows) ctx.ks.sql.exec("INSERT INTO kv_zset (kid, member, score) VALUES (?, ?, ?)", m.id, own(member), score + 0);
  m.card = rows.length;
  ctx.ks.saveCollection(m);
  ctx.dirty++;
  return rows.length;
}

/** ZLEXCOUNT key min max: counted on the primary key's member order, O(log n + count). */
function zlexcount(ctx: Ctx): Reply {
  const lex = lexWhere(parseLexBound(ctx.argv[2]!), parseLexBound(ctx.argv[3]!));
  const m = readZ(ctx, ctx.argv[1]!);
  if (!m || !lex) return 0;
  const [where, args] = lex;
  return ctx.ks.sql.exec(`SELECT count(*) AS n FROM kv_zset WHERE kid = ? AND ${where}`, m.id, ...args).one().n as number;
}

/** ZREMRANGEBYLEX key min max. */
function zremrangebylex(ctx: Ctx): Reply {
  const lex = lexWhere(parseLexBound(ctx.argv[2]!), parseLexBound(ctx.argv[3]!));
  const m = writeZ(ctx, ctx.argv[1]!);
  if (!m || !lex) return 0;
  return removeWhere(ctx, m, lex);
}

/** ZREMRANGEBYSCORE/BYLEX: delete the members matching `where`, answer how many went. */
function removeWhere(ctx: Ctx, m: KeyMeta, [where, args]: [string, (number | Uint8Array)[]]): number {
  const n = ctx.ks.sql.exec(`DELETE FROM kv_zset WHERE kid = ? AND ${where} RETURNING 1`, m.id, ...args).toArray().length;
  if (!n) return 0;
  m.card -= n;
  ctx.ks.saveCollection(m);
  ctx.dirty += n;
  return n;
}

/** Pop `count` entries from the min or max end of `m` (ZPOPMIN/ZPOPMAX/ZMPOP). */
function popEntries(ctx: Ctx, m: KeyMeta, max: boolean, count: number): Entry[] {
  const sql = ctx.ks.sql;
  const order = max ? "score DESC, member DESC" : "score, member";
  const rows = toEntries(ctx.ks, sql.exec(`SELECT member, score FROM ${BY_SCORE} WHERE kid = ? ORDER BY ${order} LIMIT ?`, m.id, Math.min(count, m.card)).toArray());
  for (const [member] of rows) sql.exec("DELETE FROM kv_zset WHERE kid = ? AND member = ?", m.id, own(member));
  m.card -= rows.length;
  ctx.ks.saveCollection(m);
  ctx.dirty += rows.length;
  return rows;
}

/**
 * ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]: pop from the first non-empty sorted
 * set; replicated as ZPOPMIN/ZPOPMAX key count, as Redis does. Keys are movable: the
 * popped key is signalled to WATCH here.
 */
export function zmpop(ctx: Ctx): Reply {
  const argv = ctx.argv;
  const { firstKey, endKey, where, count } = mpopArgs(argv, (b) => {
    const w = opt(b);
    if (w !== "min" && w !== "max") fail(E.syntax);
    return w;
  });
  for (let j = firstKey; j < endKey; j++) {
    const key = argv[j]!;
    const m = writeZ(ctx, key);
    if (!m || m.card === 0) continue;
    const n = Math.min(count, m.card);
    const rows = popEntries(ctx, m, where === "max", n);
    ctx.touched(ctx.db, key);
    ctx.rewrite([where === "max" ? "ZPOPMAX" : "ZPOPMIN", key, String(n)]);
    return [key, entriesReply(ctx, rows, true, true)];
  }
  return NIL_ARRAY;
}

/**
 * ZRANDMEMBER key [count [WITHSCORES]]: random members picked on the member index with
 * blob-order.ts's random picks, O(count) whatever the set's size.
 */
function zrandmember(ctx: Ctx): Reply {
  const argv = ctx.argv;
  if (argv.length === 2) {
    const m = readZ(ctx, argv[1]!);
    if (!m) return null;
    return randomRows(ctx.ks.sql, ZSET_ROWS, m.id, m.card, 1, true)[0]?.key ?? null;
  }
  const count = randomCountArg(argv[2]!);
  if (argv.length > 4 || (argv.length === 4 && opt(argv[3]!) !== "withscores")) fail(E.syntax);
  const withScores = argv.length === 4;
  const half = (1n << 62n) - 1n; // LONG_MAX / 2
  if (withScores && (count < -half || count > half)) fail("ERR value is out of range");
  const m = readZ(ctx, argv[1]!);
  if (!m || count === 0n) return [];
  const distinct = count > 0n;
  const n = distinct ? (count >= BigInt(m.card) ? m.card : Number(count)) : checkRandomReply(-count);
  const rows = randomRows(ctx.ks.sql, ZSET_ROWS, m.id, m.card, n, distinct);
  return entriesReply(
    ctx,
    rows.map((r): Entry => [r.key, r.score!]),
    withScores,
  );
}

// --- removals -------------------------------------------------------------------------------

function zrem(ctx: Ctx): Reply {
  const m = writeZ(ctx, ctx.argv[1]!);
  if (!m) return 0;
  let removed = 0;
  for (const member of ctx.argv.slice(2)) {
    removed += ctx.ks.sql.exec("DELETE FROM kv_zset WHERE kid = ? AND member = ? RETURNING 1", m.id, own(member)).toArray().length;
    if (removed === m.card) break;
  }
  if (!removed) return 0;
  m.card -= removed;
  ctx.ks.saveCollection(m);
  ctx.dirty += removed;
  return removed;
}

export function zpop(max: boolean) {
  return (ctx: Ctx): Reply => {
    if (ctx.argv.length > 3) fail(E.syntax);
    const hasCount = ctx.argv.length === 3;
    const count = hasCount ? longArg(ctx.argv[2]!, NOT_POSITIVE) : 1;
    if (count < 0) fail(NOT_POSITIVE);
    const m = writeZ(ctx, ctx.argv[1]!);
    if (!m || count === 0) return [];
    const sql = ctx.ks.sql;
    const order = max ? "score DESC, member DESC" : "score, member";
    const rows = toEntries(
      ctx.ks,
      sql.exec(`SELECT member, score FROM ${BY_SCORE} WHERE kid = ? ORDER BY ${order} LIMIT ?`, m.id, Math.min(count, m.card)).toArray(),
    );
    for (const [member] of rows) sql.exec("DELETE FROM kv_zset WHERE kid = ? AND member = ?", m.id, own(member));
    m.card -= rows.length;
    ctx.ks.saveCollection(m);
    ctx.dirty += rows.length;
    // RESP3 nests [member, score] pairs only when a count was given (zpopMinMaxCommand).
    return entriesReply(ctx, rows, true, hasCount && ctx.session.resp > 2);
  };
}

function zremrangebyrank(ctx: Ctx): Reply {
  const start = longArg(ctx.argv[2]!);
  const end = longArg(ctx.argv[3]!);
  const m = writeZ(ctx, ctx.argv[1]!);
  if (!m) return 0;
  const r = normRange(start, end, m.card);
  if (!r) return 0;
  const n = r[1] - r[0] + 1;
  // Walk OFFSET from the nearer end (O(rank)), then delete the selected members by key.
  const [order, off] = r[0] <= m.card - 1 - r[1] ? ["score, member", r[0]] : ["score DESC, member DESC", m.card - 1 - r[1]];
  ctx.ks.sql.exec(
    `DELETE FROM kv_zset WHERE kid = ? AND member IN (SELECT member FROM ${BY_SCORE} WHERE kid = ? ORDER BY ${order} LIMIT ? OFFSET ?)`,
    m.id,
    m.id,
    n,
    off,
  );
  m.card -= n;
  ctx.ks.saveCollection(m);
  ctx.dirty += n;
  return n;
}

function zremrangebyscore(ctx: Ctx): Reply {
  const range = parseScoreRange(ctx.argv[2]!, ctx.argv[3]!);
  const m = writeZ(ctx, ctx.argv[1]!);
  if (!m) return 0;
  return removeWhere(ctx, m, scoreWhere(range));
}

// --- ZSCAN ----------------------------------------------------------------------------------

/*
 * ZSCAN cursors. A set of at most ZSCAN_WHOLE_MAX members is returned whole with cursor 0,
 * in score order, as Redis does for its listpack encoding. A bigger set is walked in member
 * order and the cursor names the next member to return: "1" followed by each byte as three
 * decimal digits. It is self-contained (any node, master or replica, can resume it), never
 * repeats or skips a member that stays in the set, and costs O(log n + count) per call. A
 * cursor fits Redis's 64-bit cursor space while the next member is at most 6 bytes long;
 * past that it is a longer decimal string, which clients that keep cursors as strings (most
 * do) pass back unchanged.
 */

function encodeCursor(member: Uint8Array): string {
  let s = "1";
  for (const b of member) s += b < 10 ? `00${b}` : b < 100 ? `0${b}` : `${b}`;
  return s;
}

/** The member a cursor resumes at; null when the cursor is not one of ours (the scan ends). */
function decodeCursor(s: string): Uint8Array | null {
  if (/^[+-]?0+$/.test(s)) return new Uint8Array(0);
  if (s[0] !== "1" || (s.length - 1) % 3 !== 0) return null;
  const out = new Uint8Array((s.length - 1) / 3);
  for (let i = 0; i < out.length; i++) {
    const v = Number(s.slice(1 + i * 3, 4 + i * 3));
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

function zscan(ctx: Ctx): Reply {
  const cursor = bkey(ctx.argv[2]!);
  if (!/^[+-]?\d+$/.test(cursor)) fail("ERR invalid cursor");
  const m = readZ(ctx, ctx.argv[1]!);
  if (!m) return [utf8("0"), []];
  let count = 10;
  let pattern: Uint8Array | null = null;
  for (let i = 3; i < ctx.argv.length; i += 2) {
    const o = opt(ctx.argv[i]!);
    const more = i + 1 < ctx.argv.length;
    if (o === "count" && more) {
      count = longArg(ctx.argv[i + 1]!);
      if (count < 1) fail(E.syntax);
      count = Math.min(count, ZSCAN_COUNT_MAX); // a bigger COUNT only bounds the page
    } else if (o === "match" && more) {
      pattern = ctx.argv[i + 1]!;
      if (pattern.length === 1 && pattern[0] === 0x2a) pattern = null;
    } else {
      fail(E.syntax);
    }
  }
  const sql = ctx.ks.sql;
  let rows: Entry[];
  let next = "0";
  if (m.card <= ZSCAN_WHOLE_MAX) {
    rows = toEntries(ctx.ks, sql.exec(`SELECT member, score FROM ${BY_SCORE} WHERE kid = ? ORDER BY score, member`, m.id).toArray());
  } else {
    const from = decodeCursor(cursor);
    if (from === null) return [utf8("0"), []];
    rows = toEntries(
      ctx.ks,
      sql.exec("SELECT member, score FROM kv_zset WHERE kid = ? AND member >= ? ORDER BY member LIMIT ?", m.id, own(from), count + 1).toArray(),
    );
    if (rows.length > count) next = encodeCursor(rows.pop()![0]);
  }
  const out: Reply[] = [];
  const glob = pattern ? compileGlob(pattern) : null;
  for (const [member, score] of rows) {
    if (glob && !glob.match(member)) continue;
    out.push(member, utf8(formatG17(score)));
  }
  return [utf8(next), out];
}

// --- the table ------------------------------------------------------------------------------

export const zsetCommands: CommandSpec[] = [
  cmd("zadd", -4, ["write", "denyoom", "fast"], [1, 1, 1], (ctx) => zaddGeneric(ctx, false)),
  cmd("zincrby", 4, ["write", "denyoom", "fast"], [1, 1, 1], (ctx) => zaddGeneric(ctx, true)),
  cmd("zrem", -3, ["write", "fast"], [1, 1, 1], zrem),
  cmd("zscore", 3, ["readonly", "fast"], [1, 1, 1], zscore),
  cmd("zmscore", -3, ["readonly", "fast"], [1, 1, 1], zmscore),
  cmd("zcard", 2, ["readonly", "fast"], [1, 1, 1], (ctx) => readZ(ctx, ctx.argv[1]!)?.card ?? 0),
  cmd("zcount", 4, ["readonly", "fast"], [1, 1, 1], zcount),
  cmd("zrange", -4, ["readonly"], [1, 1, 1], (ctx) => zrangeGeneric(ctx, "auto", "auto")),
  cmd("zrangebyscore", -4, ["readonly"], [1, 1, 1], (ctx) => zrangeGeneric(ctx, "score", "forward")),
  cmd("zrevrange", -4, ["readonly"], [1, 1, 1], (ctx) => zrangeGeneric(ctx, "rank", "reverse")),
  cmd("zrevrangebyscore", -4, ["readonly"], [1, 1, 1], (ctx) => zrangeGeneric(ctx, "score", "reverse")),
  cmd("zrangebylex", -4, ["readonly"], [1, 1, 1], (ctx) => zrangeGeneric(ctx, "lex", "forward")),
  cmd("zrevrangebylex", -4, ["readonly"], [1, 1, 1], (ctx) => zrangeGeneric(ctx, "lex", "reverse")),
  cmd("zrank", 3, ["readonly", "fast"], [1, 1, 1], zrank(false)),
  cmd("zrevrank", 3, ["readonly", "fast"], [1, 1, 1], zrank(true)),
  cmd("zpopmin", -2, ["write", "fast"], [1, 1, 1], zpop(false)),
  cmd("zpopmax", -2, ["write", "fast"], [1, 1, 1], zpop(true)),
  cmd("zremrangebyrank", 4, ["write"], [1, 1, 1], zremrangebyrank),
  cmd("zremrangebyscore", 4, ["write"], [1, 1, 1], zremrangebyscore),
  cmd("zscan", -3, ["readonly"], [1, 1, 1], zscan),
  cmd("zrangestore", -5, ["write", "denyoom"], [1, 2, 1], (ctx) => zrangeGeneric(ctx, "auto", "auto", true)),
  cmd("zlexcount", 4, ["readonly", "fast"], [1, 1, 1], zlexcount),
  cmd("zremrangebylex", 4, ["write"], [1, 1, 1], zremrangebylex),
  cmd("zmpop", -4, ["write"], [0, 0, 0], zmpop),
  cmd("zrandmember", -2, ["readonly"], [1, 1, 1], zrandmember),
];
