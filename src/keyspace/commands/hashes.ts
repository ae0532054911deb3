/**
 * Hash commands over kv_hash(kid, field, value): one row per field, so every field
 * operation is an index seek and only HKEYS/HVALS/HGETALL read the whole hash (O(n) in
 * Redis too). HINCRBYFLOAT propagates as HSET of its result. Random picks and HSCAN
 * cursors: see blob-order.ts.
 */
import { Simple, RespMap, type Reply } from "../../protocol/reply.ts";
import { blob, own, utf8 } from "../../util/bytes.ts";
import { addLongDouble, formatLongDouble, parseLongDouble, type LongDouble } from "../../util/longdouble.ts";
import { I64_MAX, I64_MIN, parseI64 } from "../../util/numbers.ts";
import { checkElement, i64Arg, opt } from "../args.ts";
import { compileGlob } from "../glob.ts";
import { cmd, type CommandSpec, type Ctx } from "../command.ts";
import { E, fail } from "../errors.ts";
import { TYPE } from "../schema.ts";
import type { KeyMeta } from "../store.ts";
import { checkRandomReply, cursorArg, HASH_ROWS, randomCountArg, randomRows, scanOptions, scanPage, scanReply, type BlobRow } from "./blob-order.ts";

function asHash(m: KeyMeta | null): KeyMeta | null {
  if (m && m.type !== TYPE.hash) fail(E.wrongType);
  return m;
}

function readHash(ctx: Ctx, key: Uint8Array): KeyMeta | null {
  return asHash(ctx.ks.lookupRead(ctx.db, key));
}

function writeHash(ctx: Ctx, key: Uint8Array): KeyMeta | null {
  return asHash(ctx.ks.lookupWrite(ctx.db, key));
}

function getField(ctx: Ctx, kid: number, field: Uint8Array): Uint8Array | null {
  const rows = ctx.ks.sql.exec("SELECT value FROM kv_hash WHERE kid = ? AND field = ?", kid, own(field)).toArray();
  return rows.length ? blob(rows[0]!.value) : null;
}

/** Set a field; true when it is new. */
function setField(ctx: Ctx, kid: number, field: Uint8Array, value: Uint8Array): boolean {
  const sql = ctx.ks.sql;
  const added = sql.exec("INSERT INTO kv_hash (kid, field, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1", kid, own(field), own(value)).toArray().length > 0;
  if (!added) sql.exec("UPDATE kv_hash SET value = ? WHERE kid = ? AND field = ?", own(value), kid, own(field));
  return added;
}

/** Write one field of a key that may not exist yet (HINCRBY, HINCRBYFLOAT, HSETNX). */
function putField(ctx: Ctx, m: KeyMeta | null, key: Uint8Array, field: Uint8Array, value: Uint8Array): void {
  const h = m ?? ctx.ks.create(ctx.db, key, TYPE.hash);
  if (setField(ctx, h.id, field, value)) {
    h.card++;
    ctx.ks.saveCollection(h);
  }
  ctx.dirty++;
}

function allRows(ctx: Ctx, kid: number): BlobRow[] {
  const out: BlobRow[] = [];
  for (const r of ctx.ks.sql.exec("SELECT field, value FROM kv_hash WHERE kid = ?", kid)) {
    const row = { key: blob(r.field), value: blob(r.value) };
    ctx.ks.charge(row.key.length + row.value.length);
    out.push(row);
  }
  return out;
}

/** HSET and HMSET: field/value pairs; HSET answers the number of new fields, HMSET +OK. */
function hsetGeneric(ok: boolean) {
  return (ctx: Ctx): Reply => {
    if (ctx.argv.length % 2 === 1) fail(E.arity(ctx.name));
    const key = ctx.argv[1]!;
    for (let i = 2; i < ctx.argv.length; i++) checkElement(ctx.argv[i]!);
    const m = writeHash(ctx, key) ?? ctx.ks.create(ctx.db, key, TYPE.hash);
    let added = 0;
    for (let i = 2; i < ctx.argv.length; i += 2) if (setField(ctx, m.id, ctx.argv[i]!, ctx.argv[i + 1]!)) added++;
    m.card += added;
    ctx.ks.saveCollection(m);
    ctx.dirty += (ctx.argv.length - 2) / 2;
    return ok ? new Simple("OK") : added;
  };
}

function hsetnx(ctx: Ctx): Reply {
  const [, key, field, value] = ctx.argv as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  checkElement(field);
  checkElement(value);
  const m = writeHash(ctx, key);
  if (m && getField(ctx, m.id, field) !== null) return 0;
  putField(ctx, m, key, field, value);
  return 1;
}

function hget(ctx: Ctx): Reply {
  const m = readHash(ctx, ctx.argv[1]!);
  return m ? replyField(ctx, m.id, ctx.argv[2]!) : null;
}

function hmget(ctx: Ctx): Reply {
  const m = readHash(ctx, ctx.argv[1]!);
  return ctx.argv.slice(2).map((f) => (m ? replyField(ctx, m.id, f) : null));
}

/** A field's value for a reply, charged (Keyspace.charge: HMGET h f f f … repeats it). */
function replyField(ctx: Ctx, kid: number, field: Uint8Array): Uint8Array | null {
  const v = getField(ctx, kid, field);
  return v && ctx.ks.charged(v);
}

function hdel(ctx: Ctx): Reply {
  const m = writeHash(ctx, ctx.argv[1]!);
  if (!m) return 0;
  let removed = 0;
  for (const f of ctx.argv.slice(2)) {
    if (ctx.ks.sql.exec("DELETE FROM kv_hash WHERE kid = ? AND field = ? RETURNING 1", m.id, own(f)).toArray().length) removed++;
  }
  if (removed === 0) return 0;
  m.card -= removed;
  ctx.ks.saveCollection(m);
  ctx.dirty += removed;
  return removed;
}

function hexists(ctx: Ctx): Reply {
  const m = readHash(ctx, ctx.argv[1]!);
  return m && getField(ctx, m.id, ctx.argv[2]!) !== null ? 1 : 0;
}

function hlen(ctx: Ctx): Reply {
  return readHash(ctx, ctx.argv[1]!)?.card ?? 0;
}

function hstrlen(ctx: Ctx): Reply {
  const m = readHash(ctx, ctx.argv[1]!);
  if (!m) return 0;
  const r = ctx.ks.sql.exec("SELECT length(value) AS n FROM kv_hash WHERE kid = ? AND field = ?", m.id, own(ctx.argv[2]!)).toArray();
  return r.length ? (r[0]!.n as number) : 0;
}

function hkeys(ctx: Ctx): Reply {
  const m = readHash(ctx, ctx.argv[1]!);
  if (!m) return [];
  const out: Uint8Array[] = [];
  for (const r of ctx.ks.sql.exec("SELECT field FROM kv_hash WHERE kid = ?", m.id)) out.push(ctx.ks.charged(blob(r.field)));
  return out;
}

function hvals(ctx: Ctx): Reply {
  const m = readHash(ctx, ctx.argv[1]!);
  if (!m) return [];
  const out: Uint8Array[] = [];
  for (const r of ctx.ks.sql.exec("SELECT value FROM kv_hash WHERE kid = ?", m.id)) out.push(ctx.ks.charged(blob(r.value)));
  return out;
}

function hgetall(ctx: Ctx): Reply {
  const m = readHash(ctx, ctx.argv[1]!);
  return new RespMap(m ? allRows(ctx, m.id).map((r) => [r.key, r.value!] as [Reply, Reply]) : []);
}

function hincrby(ctx: Ctx): Reply {
  const [, key, field] = ctx.argv as [Uint8Array, Uint8Array, Uint8Array];
  const incr = i64Arg(ctx.argv[3]!);
  checkElement(field);
  const m = writeHash(ctx, key);
  const cur = m ? getField(ctx, m.id, field) : null;
  let old = 0n;
  if (cur !== null) {
    const v = parseI64(cur);
    if (v === null) fail(E.hashNotInt);
    old = v;
  }
  const sum = old + incr;
  if (sum > I64_MAX || sum < I64_MIN) fail(E.overflow);
  putField(ctx, m, key, field, utf8(sum.toString()));
  return sum;
}

/**
 * HINCRBYFLOAT: strtold operands added in long double and printed "%.17Lf" without
 * trailing zeros, emulated exactly (util/longdouble.ts); propagated as HSET k f <result>.
 */
function hincrbyfloat(ctx: Ctx): Reply {
  const [, key, field] = ctx.argv as [Uint8Array, Uint8Array, Uint8Array];
  const incr = parseLongDouble(ctx.argv[3]!);
  if (incr === null) fail(E.notFloat);
  if (incr === "inf") fail("ERR value is NaN or Infinity");
  checkElement(field);
  const m = writeHash(ctx, key);
  const cur = m ? getField(ctx, m.id, field) : null;
  let sum: LongDouble | null = incr;
  if (cur !== null) {
    const old = parseLongDouble(cur);
    if (old === null) fail(E.hashNotFloat);
    sum = old === "inf" ? null : addLongDouble(old, incr);
  }
  if (sum === null) fail(E.nanOrInf);
  const text = utf8(formatLongDouble(sum));
  putField(ctx, m, key, field, text);
  ctx.rewrite(["HSET", key, field, text]);
  return text;
}

function hscan(ctx: Ctx): Reply {
  const cursor = cursorArg(ctx.argv[2]!);
  const m = readHash(ctx, ctx.argv[1]!);
  if (!m) return scanReply(0n, []);
  const { count, match } = scanOptions(ctx.argv);
  const { rows, next } = scanPage(ctx.ks.sql, HASH_ROWS, m.id, cursor, count);
  const items: Uint8Array[] = [];
  const glob = match === null ? null : compileGlob(match);
  for (const r of rows) if (glob === null || glob.match(r.key)) items.push(r.key, r.value!);
  return scanReply(next, items);
}

/** HRANDFIELD key [count [WITHVALUES]]: pairs are [field, value] arrays in RESP3, flat in RESP2. */
function hrandfield(ctx: Ctx): Reply {
  if (ctx.argv.length === 2) {
    const m = readHash(ctx, ctx.argv[1]!);
    return m ? randomRows(ctx.ks.sql, HASH_ROWS, m.id, m.card, 1, false)[0]!.key : null;
  }
  const count = randomCountArg(ctx.argv[2]!);
  let withValues = false;
  if (ctx.argv.length >= 4) {
    if (ctx.argv.length > 4 || opt(ctx.argv[3]!) !== "withvalues") fail(E.syntax);
    const half = I64_MAX / 2n;
    if (count < -half || count > half) fail("ERR value is out of range");
    withValues = true;
  }
  const m = readHash(ctx, ctx.argv[1]!);
  if (!m || count === 0n) return [];
  let rows: BlobRow[];
  if (count < 0n) rows = randomRows(ctx.ks.sql, HASH_ROWS, m.id, m.card, checkRandomReply(-count), false);
  else if (count >= BigInt(m.card)) rows = allRows(ctx, m.id);
  else rows = randomRows(ctx.ks.sql, HASH_ROWS, m.id, m.card, Number(count), true);
  if (!withValues) return rows.map((r) => r.key);
  if (ctx.session.resp === 3) return rows.map((r) => [r.key, r.value!]);
  return rows.flatMap((r) => [r.key, r.value!]);
}

export const hashCommands: CommandSpec[] = [
  cmd("hset", -4, ["write", "denyoom", "fast"], [1, 1, 1], hsetGeneric(false)),
  cmd("hsetnx", 4, ["write", "denyoom", "fast"], [1, 1, 1], hsetnx),
  cmd("hget", 3, ["readonly", "fast"], [1, 1, 1], hget),
  cmd("hmget", -3, ["readonly", "fast"], [1, 1, 1], hmget),
  cmd("hmset", -4, ["write", "denyoom", "fast"], [1, 1, 1], hsetGeneric(true)),
  cmd("hdel", -3, ["write", "fast"], [1, 1, 1], hdel),
  cmd("hexists", 3, ["readonly", "fast"], [1, 1, 1], hexists),
  cmd("hlen", 2, ["readonly", "fast"], [1, 1, 1], hlen),
  cmd("hkeys", 2, ["readonly"], [1, 1, 1], hkeys),
  cmd("hvals", 2, ["readonly"], [1, 1, 1], hvals),
  cmd("hgetall", 2, ["readonly"], [1, 1, 1], hgetall),
  cmd("hincrby", 4, ["write", "denyoom", "fast"], [1, 1, 1], hincrby),
  cmd("hincrbyfloat", 4, ["write", "denyoom", "fast"], [1, 1, 1], hincrbyfloat),
  cmd("hstrlen", 3, ["readonly", "fast"], [1, 1, 1], hstrlen),
  cmd("hscan", -3, ["readonly"], [1, 1, 1], hscan),
  cmd("hrandfield", -2, ["readonly"], [1, 1, 1], hrandfield),
];
