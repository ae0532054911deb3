/**
 * Set commands over kv_set(kid, member): one row per member, so membership, SADD/SREM and
 * SMOVE are index seeks. SUNION/SINTER/SDIFF are O(total) as in Redis and are computed in
 * SQL; their STORE variants build the result under a staging kid and re-home it, so the
 * destination can also be a source. Random picks and SSCAN cursors: see blob-order.ts.
 */
import { RespSet, type Reply } from "../../protocol/reply.ts";
import { blob, bkey, equal, own } from "../../util/bytes.ts";
import { parseI64 } from "../../util/numbers.ts";
import { atLeastOneArg, checkElement, nonNegativeArg, opt } from "../args.ts";
import { compileGlob } from "../glob.ts";
import { cmd, type CommandSpec, type Ctx } from "../command.ts";
import { E, fail } from "../errors.ts";
import { TYPE } from "../schema.ts";
import type { KeyMeta } from "../store.ts";
import { checkRandomReply, cursorArg, randomCountArg, randomRows, scanOptions, scanPage, scanReply, SET_ROWS } from "./blob-order.ts";

/** kid under which SUNIONSTORE & co. build their result before it gets the destination's id. */
const STAGING_KID = -1;
/** SPOP with a count propagates its SREMs in batches of this many members (as Redis 7.0). */
const SPOP_PROPAGATE_BATCH = 1024;
/** Most keys one SQL statement of SINTER/SDIFF names (Durable Object SQLite binds at most 100 parameters). */
const SQL_KEYS_MAX = 90;

function asSet(m: KeyMeta | null): KeyMeta | null {
  if (m && m.type !== TYPE.set) fail(E.wrongType);
  return m;
}

function readSet(ctx: Ctx, key: Uint8Array): KeyMeta | null {
  return asSet(ctx.ks.lookupRead(ctx.db, key));
}

function writeSet(ctx: Ctx, key: Uint8Array): KeyMeta | null {
  return asSet(ctx.ks.lookupWrite(ctx.db, key));
}

function isMember(ctx: Ctx, kid: number, member: Uint8Array): boolean {
  return ctx.ks.sql.exec("SELECT 1 FROM kv_set WHERE kid = ? AND member = ?", kid, own(member)).toArray().length > 0;
}

function insertMember(ctx: Ctx, kid: number, member: Uint8Array): boolean {
  return ctx.ks.sql.exec("INSERT INTO kv_set (kid, member) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING 1", kid, own(member)).toArray().length > 0;
}

function deleteMember(ctx: Ctx, kid: number, member: Uint8Array): boolean {
  return ctx.ks.sql.exec("DELETE FROM kv_set WHERE kid = ? AND member = ? RETURNING 1", kid, own(member)).toArray().length > 0;
}

function allMembers(ctx: Ctx, kid: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const r of ctx.ks.sql.exec("SELECT member FROM kv_set WHERE kid = ?", kid)) out.push(ctx.ks.charged(blob(r.member)));
  return out;
}

function sadd(ctx: Ctx): Reply {
  const [, key, ...members] = ctx.argv as [Uint8Array, Uint8Array, ...Uint8Array[]];
  for (const x of members) checkElement(x);
  const m = writeSet(ctx, key) ?? ctx.ks.create(ctx.db, key, TYPE.set);
  let added = 0;
  for (const x of members) if (insertMember(ctx, m.id, x)) added++;
  m.card += added;
  ctx.ks.saveCollection(m);
  ctx.dirty += added;
  return added;
}

function srem(ctx: Ctx): Reply {
  const [, key, ...members] = ctx.argv as [Uint8Array, Uint8Array, ...Uint8Array[]];
  const m = writeSet(ctx, key);
  if (!m) return 0;
  let removed = 0;
  for (const x of members) if (deleteMember(ctx, m.id, x)) removed++;
  if (removed === 0) return 0;
  m.card -= removed;
  ctx.ks.saveCollection(m);
  ctx.dirty += removed;
  return removed;
}

function smembers(ctx: Ctx): Reply {
  const m = readSet(ctx, ctx.argv[1]!);
  return new RespSet(m ? allMembers(ctx, m.id) : []);
}

function sismember(ctx: Ctx): Reply {
  const m = readSet(ctx, ctx.argv[1]!);
  return m && isMember(ctx, m.id, ctx.argv[2]!) ? 1 : 0;
}

function smismember(ctx: Ctx): Reply {
  const m = readSet(ctx, ctx.argv[1]!);
  return ctx.argv.slice(2).map((x) => (m && isMember(ctx, m.id, x) ? 1 : 0));
}

function scard(ctx: Ctx): Reply {
  return readSet(ctx, ctx.argv[1]!)?.card ?? 0;
}

/** SPOP key [count]: propagated as SREM of the members it took, or DEL when it took them all. */
function spop(ctx: Ctx): Reply {
  const key = ctx.argv[1]!;
  if (ctx.argv.length > 3) fail(E.syntax);
  if (ctx.argv.length === 2) {
    const m = writeSet(ctx, key);
    if (!m) return null;
    const [row] = randomRows(ctx.ks.sql, SET_ROWS, m.id, m.card, 1, false);
    deleteMember(ctx, m.id, row!.key);
    m.card--;
    ctx.ks.saveCollection(m);
    ctx.dirty++;
    ctx.rewrite(["SREM", key, row!.key]);
    return row!.key;
  }
  const count = parseI64(ctx.argv[2]!);
  if (count === null || count < 0n) fail("ERR value is out of range, must be positive");
  const m = writeSet(ctx, key);
  if (!m || count === 0n) return new RespSet([]);
  if (count >= BigInt(m.card)) {
    const all = allMembers(ctx, m.id);
    ctx.ks.deleteKey(m);
    ctx.dirty++;
    ctx.rewrite(["DEL", key]);
    return new RespSet(all);
  }
  const n = Number(count);
  const picked = randomRows(ctx.ks.sql, SET_ROWS, m.id, m.card, n, true).map((r) => r.key);
  for (const x of picked) deleteMember(ctx, m.id, x);
  m.card -= picked.length;
  ctx.ks.saveCollection(m);
  ctx.dirty += picked.length;
  ctx.preventPropagation();
  for (let i = 0; i < picked.length; i += SPOP_PROPAGATE_BATCH) {
    ctx.alsoPropagate(["SREM", key, ...picked.slice(i, i + SPOP_PROPAGATE_BATCH)]);
  }
  return new RespSet(picked);
}

function srandmember(ctx: Ctx): Reply {
  if (ctx.argv.length > 3) fail(E.syntax);
  if (ctx.argv.length === 2) {
    const m = readSet(ctx, ctx.argv[1]!);
    if (!m) return null;
    return randomRows(ctx.ks.sql, SET_ROWS, m.id, m.card, 1, false)[0]!.key;
  }
  const count = randomCountArg(ctx.argv[2]!);
  const m = readSet(ctx, ctx.argv[1]!);
  if (!m || count === 0n) return [];
  if (count < 0n) return randomRows(ctx.ks.sql, SET_ROWS, m.id, m.card, checkRandomReply(-count), false).map((r) => r.key);
  if (count >= BigInt(m.card)) return allMembers(ctx, m.id);
  return randomRows(ctx.ks.sql, SET_ROWS, m.id, m.card, Number(count), true).map((r) => r.key);
}

function smove(ctx: Ctx): Reply {
  const [, src, dst, member] = ctx.argv as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  checkElement(member);
  const sm = ctx.ks.lookupWrite(ctx.db, src);
  const dm = ctx.ks.lookupWrite(ctx.db, dst);
  if (!sm) return 0;
  asSet(sm);
  asSet(dm);
  if (equal(src, dst)) return isMember(ctx, sm.id, member) ? 1 : 0;
  if (!deleteMember(ctx, sm.id, member)) return 0;
  sm.card--;
  ctx.ks.saveCollection(sm);
  ctx.dirty++;
  // Redis signals the destination only when the member was added to it (smoveCommand).
  ctx.signalsOwnKeys();
  ctx.touched(ctx.db, src);
  const target = dm ?? ctx.ks.create(ctx.db, dst, TYPE.set);
  if (insertMember(ctx, target.id, member)) {
    target.card++;
    ctx.dirty++;
    ctx.touched(ctx.db, dst);
  }
  ctx.ks.saveCollection(target);
  return 1;
}

// --- SUNION / SINTER / SDIFF ----------------------------------------------------------------

type SetOp = "union" | "inter" | "diff";

/** The source sets (null for a missing key), every key type-checked as Redis 7.0 does. */
function sources(ctx: Ctx, keys: Uint8Array[]): (KeyMeta | null)[] {
  return keys.map((k) => readSet(ctx, k));
}

/**
 * The result of `op` as a SELECT over kv_set, or null when it is empty without looking.
 * Sources beyond SQL_KEYS_MAX are returned as `rest`, for a per-member check.
 */
function plan(op: SetOp, sets: (KeyMeta | null)[]): { select: string; params: number[]; rest: KeyMeta[]; keep: boolean } | null {
  const live = sets.filter((s): s is KeyMeta => s !== null);
  const uniq = [...new Map(live.map((s) => [s.id, s])).values()];
  switch (op) {
    case "union":
      if (!uniq.length) return null;
      return { select: "", params: uniq.map((s) => s.id), rest: [], keep: true };
    case "inter": {
      if (live.length < sets.length) return null;
      uniq.sort((a, b) => a.card - b.card);
      const [first, ...others] = uniq as [KeyMeta, ...KeyMeta[]];
      const inSql = others.slice(0, SQL_KEYS_MAX);
      const where = inSql.map(() => " AND EXISTS (SELECT 1 FROM kv_set b WHERE b.kid = ? AND b.member = a.member)").join("");
      return { select: `SELECT a.member AS member FROM kv_set a WHERE a.kid = ?${where}`, params: [first.id, ...inSql.map((s) => s.id)], rest: others.slice(SQL_KEYS_MAX), keep: true };
    }
    case "diff": {
      const first = sets[0];
      if (!first) return null;
      if (sets.slice(1).some((s) => s?.id === first.id)) return null; // SDIFF a … a …: empty
      const others = uniq.filter((s) => s.id !== first.id);
      const inSql = others.slice(0, SQL_KEYS_MAX);
      const where = inSql.length ? ` AND NOT EXISTS (SELECT 1 FROM kv_set b WHERE b.kid IN (${inSql.map(() => "?").join(", ")}) AND b.member = a.member)` : "";
      return { select: `SELECT a.member AS member FROM kv_set a WHERE a.kid = ?${where}`, params: [first.id, ...inSql.map((s) => s.id)], rest: others.slice(SQL_KEYS_MAX), keep: false };
    }
  }
}

/** Whether a member from the SQL part survives the sources past SQL_KEYS_MAX. */
function survives(ctx: Ctx, p: { rest: KeyMeta[]; keep: boolean }, member: Uint8Array): boolean {
  for (const s of p.rest) if (isMember(ctx, s.id, member) !== p.keep) return false;
  return true;
}

function computeSetOp(ctx: Ctx, op: SetOp, keys: Uint8Array[]): Uint8Array[] {
  const p = plan(op, sources(ctx, keys));
  if (!p) return [];
  if (op === "union") {
    if (p.params.length === 1) return allMembers(ctx, p.params[0]!);
    const seen = new Map<string, Uint8Array>();
    for (const id of p.params) {
      for (const r of ctx.ks.sql.exec("SELECT member FROM kv_set WHERE kid = ?", id)) {
        const x = blob(r.member);
        seen.set(bkey(x), x);
      }
    }
    return [...seen.values()];
  }
  const out: Uint8Array[] = [];
  for (const r of ctx.ks.sql.exec(p.select, ...p.params)) {
    const x = blob(r.member);
    if (survives(ctx, p, x)) out.push(x);
  }
  return out;
}

function setOpReply(op: SetOp) {
  return (ctx: Ctx): Reply => new RespSet(computeSetOp(ctx, op, ctx.argv.slice(1)));
}

/**
 * SUNIONSTORE/SINTERSTORE/SDIFFSTORE: the destination (of any type) is replaced by the
 * result, or deleted when the result is empty; a new key has no TTL. Propagated verbatim.
 */
function setOpStore(op: SetOp) {
  return (ctx: Ctx): Reply => {
    const sql = ctx.ks.sql;
    const dst = ctx.argv[1]!;
    const p = plan(op, sources(ctx, ctx.argv.slice(2)));
    sql.exec("DELETE FROM kv_set WHERE kid = ?", STAGING_KID);
    if (p && op === "union") {
      for (const id of p.params) sql.exec("INSERT OR IGNORE INTO kv_set (kid, member) SELECT ?, member FROM kv_set WHERE kid = ?", STAGING_KID, id);
    } else if (p && p.rest.length === 0) {
      sql.exec(`INSERT INTO kv_set (kid, member) SELECT ?, member FROM (${p.select})`, STAGING_KID, ...p.params);
    } else if (p) {
      // More sources than one statement can name: filter in JS (materializes the SQL part).
      const members = sql.exec(p.select, ...p.params).toArray().map((r) => blob(r.member));
      for (const x of members) if (survives(ctx, p, x)) insertMember(ctx, STAGING_KID, x);
    }
    const card = sql.exec("SELECT count(*) AS n FROM kv_set WHERE kid = ?", STAGING_KID).one().n as number;
    const old = ctx.ks.lookupWrite(ctx.db, dst);
    if (old) {
      ctx.ks.deleteKey(old);
      ctx.dirty++;
    }
    if (card > 0) {
      const m = ctx.ks.create(ctx.db, dst, TYPE.set);
      sql.exec("UPDATE kv_set SET kid = ? WHERE kid = ?", m.id, STAGING_KID);
      m.card = card;
      ctx.ks.saveCollection(m);
      ctx.dirty++;
    }
    return card;
  };
}

/**
 * SINTERCARD numkeys key [key ...] [LIMIT limit]: the size of the intersection, counted as
 * the smallest set is walked; stops at `limit` (0 = no limit), so the cost is bounded by
 * the smaller of the smallest set and the limit (times a lookup per other set).
 */
function sintercard(ctx: Ctx): Reply {
  const argv = ctx.argv;
  const numkeys = atLeastOneArg(argv[1]!, "ERR numkeys should be greater than 0");
  if (numkeys > argv.length - 2) fail("ERR Number of keys can't be greater than number of args");
  let limit = 0;
  for (let j = 2 + numkeys; j < argv.length; j++) {
    if (opt(argv[j]!) === "limit" && j + 1 < argv.length) limit = nonNegativeArg(argv[++j]!, "ERR LIMIT can't be negative");
    else fail(E.syntax);
  }
  const p = plan("inter", sources(ctx, argv.slice(2, 2 + numkeys)));
  if (!p) return 0;
  let n = 0;
  for (const r of ctx.ks.sql.exec(p.select, ...p.params)) {
    if (!survives(ctx, p, blob(r.member))) continue;
    n++;
    if (limit && n >= limit) break;
  }
  return n;
}

function sscan(ctx: Ctx): Reply {
  const cursor = cursorArg(ctx.argv[2]!);
  const m = readSet(ctx, ctx.argv[1]!);
  if (!m) return scanReply(0n, []);
  const { count, match } = scanOptions(ctx.argv);
  const { rows, next } = scanPage(ctx.ks.sql, SET_ROWS, m.id, cursor, count);
  const glob = match === null ? null : compileGlob(match);
  const items = rows.map((r) => r.key).filter((x) => glob === null || glob.match(x));
  return scanReply(next, items);
}

export const setCommands: CommandSpec[] = [
  cmd("sadd", -3, ["write", "denyoom", "fast"], [1, 1, 1], sadd),
  cmd("srem", -3, ["write", "fast"], [1, 1, 1], srem),
  cmd("smembers", 2, ["readonly"], [1, 1, 1], smembers),
  cmd("sismember", 3, ["readonly", "fast"], [1, 1, 1], sismember),
  cmd("smismember", -3, ["readonly", "fast"], [1, 1, 1], smismember),
  cmd("scard", 2, ["readonly", "fast"], [1, 1, 1], scard),
  cmd("spop", -2, ["write", "fast"], [1, 1, 1], spop),
  cmd("srandmember", -2, ["readonly"], [1, 1, 1], srandmember),
  cmd("smove", 4, ["write", "fast"], [1, 2, 1], smove),
  cmd("sintercard", -3, ["readonly"], [0, 0, 0], sintercard),
  cmd("sunion", -2, ["readonly"], [1, -1, 1], setOpReply("union")),
  cmd("sinter", -2, ["readonly"], [1, -1, 1], setOpReply("inter")),
  cmd("sdiff", -2, ["readonly"], [1, -1, 1], setOpReply("diff")),
  cmd("sunionstore", -3, ["write", "denyoom"], [1, -1, 1], setOpStore("union")),
  cmd("sinterstore", -3, ["write", "denyoom"], [1, -1, 1], setOpStore("inter")),
  cmd("sdiffstore", -3, ["write", "denyoom"], [1, -1, 1], setOpStore("diff")),
  cmd("sscan", -3, ["readonly"], [1, 1, 1], sscan),
];
