/**
 * Blocking pops: BLPOP BRPOP BRPOPLPUSH BLMOVE BLMPOP BZPOPMIN BZPOPMAX BZMPOP (Redis 7.0
 * t_list.c / t_zset.c). A command whose keys hold data is its non-blocking form — LPOP,
 * RPOPLPUSH, LMOVE, LMPOP, ZPOPMIN, ZMPOP — and is replicated as that form. Otherwise the
 * client blocks (ctx.blocking, the engine's registry in keyspace/blocking.ts) unless it may
 * not (inside MULTI, a script): then it answers what a timeout answers.
 *
 * When a write makes a key ready, the engine runs the same handler again for the blocked
 * client with `servingKey` set: Redis serves from the key that became ready, not from the
 * first key the client named, so the handler looks at that key only.
 */
import { type BlockKind } from "../blocking.ts";
import { type CommandSpec, type Ctx, cmd } from "../command.ts";
import { mpopArgs, opt, writeKey } from "../args.ts";
import { E, fail } from "../errors.ts";
import { TYPE } from "../schema.ts";
import { NIL_ARRAY, type Reply } from "../../protocol/reply.ts";
import { parseLongDouble } from "../../util/longdouble.ts";
import { utf8 } from "../../util/bytes.ts";
import { type End, lmpop, move, parseEnd, pop } from "./lists.ts";
import { zmpop, zpop } from "./zsets.ts";

const NOT_FLOAT = "ERR timeout is not a float or out of range";
const NEGATIVE = "ERR timeout is negative";
const LLONG_RANGE = 1n << 63n;

/**
 * A timeout in seconds as Redis 7.0.15 reads it (getTimeoutFromObjectOrReply): a long
 * double, `(long long) ceill(t * 1000)` ms. 0 means forever, and so does a negative value
 * that rounds up to 0 (-0.0001); infinities and values past the long long range convert
 * to LLONG_MIN on x86 and are "negative". Returns the deadline (ms since the epoch) or null.
 */
export function timeoutArg(b: Uint8Array, nowMs: number): number | null {
  const v = parseLongDouble(b);
  if (v === null) fail(NOT_FLOAT);
  if (v === "inf") fail(NEGATIVE);
  // v = ±m·2^e exactly; t·1000 is rounded to long double's 64-bit significand (x87), then ceil.
  let num = v.m * 1000n;
  let e = v.e;
  const bits = num.toString(2).length;
  if (num > 0n && bits > 64) {
    const shift = BigInt(bits - 64);
    let q = num >> shift;
    const rem = num - (q << shift);
    const half = 1n << (shift - 1n);
    if (rem > half || (rem === half && (q & 1n) === 1n)) q++;
    num = q;
    e += Number(shift);
  }
  const exp = e;
  let ms: bigint;
  if (exp >= 0) ms = num << BigInt(exp);
  else {
    const den = 1n << BigInt(-exp);
    ms = v.neg ? num / den : (num + den - 1n) / den; // ceil of +x; for -x, ceil(-x) = -floor(x)
  }
  if (v.neg) ms = -ms;
  if (ms >= LLONG_RANGE || ms < -LLONG_RANGE || ms < 0n) fail(NEGATIVE);
  return ms === 0n ? null : nowMs + Number(ms);
}

/** Run a non-blocking command's handler on other arguments (propagation stays the handler's rewrite). */
function runAs(ctx: Ctx, argv: (Uint8Array | string)[], handler: (ctx: Ctx) => Reply | Promise<Reply>): Reply {
  const saved = ctx.argv;
  ctx.argv = argv.map((a) => (typeof a === "string" ? utf8(a) : a));
  try {
    return handler(ctx) as Reply;
  } finally {
    ctx.argv = saved;
  }
}

/** The keys to look at: the ready key when serving a blocked client, else the command's. */
function candidates(ctx: Ctx, keys: Uint8Array[]): Uint8Array[] {
  const k = ctx.blocking.servingKey;
  return k ? [k] : keys;
}

/** No data: block, or answer `empty` where blocking is not allowed (MULTI, scripts). */
function blockOr(ctx: Ctx, keys: Uint8Array[], kind: BlockKind, deadlineMs: number | null, empty: Reply): Reply {
  if (!ctx.blocking.canBlock || ctx.blocking.servingKey) return empty;
  return ctx.blocking.block(keys, kind, deadlineMs);
}

/** The first key with elements, type-checked in order (WRONGTYPE stops the scan). */
function firstWithData(ctx: Ctx, keys: Uint8Array[], type: (typeof TYPE)["list" | "zset"]): Uint8Array | null {
  for (const key of candidates(ctx, keys)) {
    const m = writeKey(ctx, key, type);
    if (m && m.card > 0) return key;
  }
  return null;
}

/** BLPOP / BRPOP key [key ...] timeout → [key, element], replicated as LPOP/RPOP key. */
function bpop(end: End) {
  const popOne = pop(end);
  return (ctx: Ctx): Reply => {
    const argv = ctx.argv;
    const deadline = timeoutArg(argv[argv.length - 1]!, ctx.now);
    const keys = argv.slice(1, -1);
    const key = firstWithData(ctx, keys, TYPE.list);
    if (!key) return blockOr(ctx, keys, "list", deadline, NIL_ARRAY);
    const name = end === "left" ? "LPOP" : "RPOP";
    const value = runAs(ctx, [name, key], popOne);
    ctx.rewrite([name, key]);
    ctx.signalsOwnKeys();
    ctx.touched(ctx.db, key);
    return [key, value];
  };
}

/**
 * BLMOVE src dst LEFT|RIGHT LEFT|RIGHT timeout / BRPOPLPUSH src dst timeout: LMOVE or
 * RPOPLPUSH when src has elements. Replicated as that command; a served client's as
 * Redis's shared lowercase `LMOVE src dst left right`.
 */
function bmove(ctx: Ctx): Reply {
  const argv = ctx.argv;
  const rpoplpush = ctx.name === "brpoplpush";
  const from: End = rpoplpush ? "right" : parseEnd(argv[3]!);
  const to: End = rpoplpush ? "left" : parseEnd(argv[4]!);
  const deadline = timeoutArg(argv[rpoplpush ? 3 : 5]!, ctx.now);
  const src = argv[1]!;
  const dst = argv[2]!;
  if (!firstWithData(ctx, [src], TYPE.list)) return blockOr(ctx, [src], "list", deadline, null);
  const value = runAs(ctx, ["LMOVE", src, dst], (c) => move(c, from, to));
  if (rpoplpush) ctx.rewrite(["RPOPLPUSH", src, dst]);
  else ctx.rewrite(["LMOVE", src, dst, ctx.blocking.servingKey ? from : argv[3]!, ctx.blocking.servingKey ? to : argv[4]!]);
  return value;
}

/**
 * BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT n] and BZMPOP (MIN|MAX): the
 * arguments are checked before the timeout (lmpopGenericCommand); LMPOP/ZMPOP do the pop
 * and their rewrite ([LR]POP / ZPOP{MIN,MAX} key n).
 */
function bmpop(kind: BlockKind) {
  return (ctx: Ctx): Reply => {
    const argv = ctx.argv;
    const rest = argv.slice(1); // as LMPOP/ZMPOP see it: numkeys at 1
    const { firstKey, endKey } = mpopArgs(rest, (b) => {
      if (kind === "list") return parseEnd(b);
      const w = opt(b);
      if (w !== "min" && w !== "max") fail(E.syntax);
      return w;
    });
    const deadline = timeoutArg(argv[1]!, ctx.now);
    const keys = rest.slice(firstKey, endKey);
    const key = firstWithData(ctx, keys, kind === "list" ? TYPE.list : TYPE.zset);
    if (!key) return blockOr(ctx, keys, kind, deadline, NIL_ARRAY);
    ctx.signalsOwnKeys();
    return runAs(ctx, ["", "1", key, ...rest.slice(endKey)], kind === "list" ? lmpop : zmpop);
  };
}

/** BZPOPMIN / BZPOPMAX key [key ...] timeout → [key, member, score], replicated as ZPOPMIN/ZPOPMAX key. */
function bzpop(max: boolean) {
  const popOne = zpop(max);
  return (ctx: Ctx): Reply => {
    const argv = ctx.argv;
    const deadline = timeoutArg(argv[argv.length - 1]!, ctx.now);
    const keys = argv.slice(1, -1);
    const key = firstWithData(ctx, keys, TYPE.zset);
    if (!key) return blockOr(ctx, keys, "zset", deadline, NIL_ARRAY);
    const name = max ? "ZPOPMAX" : "ZPOPMIN";
    const pair = runAs(ctx, [name, key], popOne) as Reply[];
    ctx.rewrite([name, key]);
    ctx.signalsOwnKeys();
    ctx.touched(ctx.db, key);
    return [key, ...pair];
  };
}

// Redis 7.0.15 COMMAND INFO: the BL*/BZ* pops are noscript except BLMPOP/BZMPOP; all are
// @write and "blocking".
export const blockingCommands: CommandSpec[] = [
  cmd("blpop", -3, ["write", "noscript", "blocking"], [1, -2, 1], bpop("left")),
  cmd("brpop", -3, ["write", "noscript", "blocking"], [1, -2, 1], bpop("right")),
  cmd("brpoplpush", 4, ["write", "denyoom", "noscript", "blocking"], [1, 2, 1], bmove),
  cmd("blmove", 6, ["write", "denyoom", "noscript", "blocking"], [1, 2, 1], bmove),
  cmd("blmpop", -5, ["write", "blocking"], [0, 0, 0], bmpop("list")),
  cmd("bzpopmin", -3, ["write", "noscript", "blocking", "fast"], [1, -2, 1], bzpop(false)),
  cmd("bzpopmax", -3, ["write", "noscript", "blocking", "fast"], [1, -2, 1], bzpop(true)),
  cmd("bzmpop", -5, ["write", "blocking"], [0, 0, 0], bmpop("zset")),
];
