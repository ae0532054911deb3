/**
 * String commands. A string lives in its kv_keys row (and kv_strchunk rows past
 * `Keyspace.chunkBytes`); overwriting a string keeps its row id, overwriting another type
 * replaces the key. APPEND/SETRANGE/GETRANGE touch only the chunk rows involved, so a
 * 16 MiB value is never rewritten whole for a small change.
 *
 * Propagation follows Redis 7.0 (t_string.c): relative expire times become SET … PXAT
 * <abs ms>, GET is dropped from SET, GETEX becomes PEXPIREAT/PERSIST/DEL, GETDEL a DEL,
 * GETSET a SET and INCRBYFLOAT a SET of the final value with KEEPTTL.
 */
import { VALUE_BYTES_MAX } from "../../limits.ts";
import { OK, type Reply } from "../../protocol/reply.ts";
import { str, utf8 } from "../../util/bytes.ts";
import { I64_MAX, I64_MIN, parseDouble, parseI64 } from "../../util/numbers.ts";
import { checkValue, i64Arg, opt, readKey, writeKey } from "../args.ts";
import { type CommandSpec, type Ctx, cmd } from "../command.ts";
import { E, fail } from "../errors.ts";
import { TYPE } from "../schema.ts";
import type { KeyMeta } from "../store.ts";

/** Longest string value INCR/DECR can read as an integer (string2ll). */
const INT_TEXT_BYTES_MAX = 20;
/** Longest string value INCRBYFLOAT reads as a number (parseDouble's own bound). */
const FLOAT_TEXT_BYTES_MAX = 512;

// --- helpers ---------------------------------------------------------------------------

/** Keep the key's current TTL (KEEPTTL, INCR, APPEND…). */
const KEEP = Symbol("keep-ttl");
type Ttl = number | null | typeof KEEP;

/** A string key for reading, or null; WRONGTYPE for another type. */
function readString(ctx: Ctx, key: Uint8Array): KeyMeta | null {
  return readKey(ctx, key, TYPE.string);
}

/** A string key about to change (lookupWrite), or null; WRONGTYPE for another type. */
function writableString(ctx: Ctx, key: Uint8Array): KeyMeta | null {
  return writeKey(ctx, key, TYPE.string);
}

/**
 * Store `value` under `key`, where `m` is the key's current lookupWrite result. A string
 * is rewritten in place (its id stays); any other type is deleted and the key created anew.
 */
function putString(ctx: Ctx, key: Uint8Array, m: KeyMeta | null, value: Uint8Array, ttl: Ttl): KeyMeta {
  if (m && m.type === TYPE.string) {
    ctx.ks.writeString(m, value);
    if (ttl !== KEEP && m.expireMs !== ttl) ctx.ks.setExpire(m, ttl);
    return m;
  }
  const expireMs = ttl === KEEP ? (m?.expireMs ?? null) : ttl;
  if (m) ctx.ks.deleteKey(m);
  return ctx.ks.createString(ctx.db, key, value, expireMs);
}

/** An integer reply: a number while exact, else a bigint. */
function intReply(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** An int64 argument clamped into the safe-number range (indexes compared with lengths ≤ 16 MiB). */
function clampedIndex(b: Uint8Array): number {
  const v = i64Arg(b);
  const lim = BigInt(Number.MAX_SAFE_INTEGER);
  return Number(v > lim ? lim : v < -lim ? -lim : v);
}

// --- SET options (shared with GETEX) -----------------------------------------------------

type ExpireKind = "ex" | "px" | "exat" | "pxat";

interface SetOptions {
  nx: boolean;
  xx: boolean;
  get: boolean;
  keepttl: boolean;
  persist: boolean;
  kind: ExpireKind | null;
  expireArg: Uint8Array | null;
}

/**
 * Redis's parseExtendedStringArgumentsOrReply: each option is refused (syntax error) when
 * a conflicting one came before it; repeating the same expire option is allowed (last wins).
 */
function parseSetOptions(ctx: Ctx, from: number, isSet: boolean): SetOptions {
  const o: SetOptions = { nx: false, xx: false, get: false, keepttl: false, persist: false, kind: null, expireArg: null };
  const argv = ctx.argv;
  for (let j = from; j < argv.length; j++) {
    const a = opt(argv[j]!);
    const hasNext = j + 1 < argv.length;
    if (a === "nx" && isSet && !o.xx) o.nx = true;
    else if (a === "xx" && isSet && !o.nx) o.xx = true;
    else if (a === "get" && isSet) o.get = true;
    else if (a === "keepttl" && isSet && !o.persist && o.kind === null) o.keepttl = true;
    else if (a === "persist" && !isSet && o.kind === null && !o.keepttl) o.persist = true;
    else if ((a === "ex" || a === "px" || a === "exat" || a === "pxat") && !o.keepttl && !o.persist && (o.kind === null || o.kind === a) && hasNext) {
      o.kind = a;
      o.expireArg = argv[++j]!;
    } else fail(E.syntax);
  }
  return o;
}

/** Absolute expire time in ms from an EX/PX/EXAT/PXAT argument (getExpireMillisecondsOrReply). */
function expireMs(ctx: Ctx, kind: ExpireKind, arg: Uint8Array): number {
  let v = i64Arg(arg);
  const seconds = kind === "ex" || kind === "exat";
  if (v <= 0n || (seconds && v > I64_MAX / 1000n)) fail(E.invalidExpire(ctx.name));
  if (seconds) v *= 1000n;
  if (kind === "ex" || kind === "px") v += BigInt(ctx.now);
  if (v > I64_MAX) fail(E.invalidExpire(ctx.name)); // Redis sees the int64 overflow as a negative time
  return Number(v);
}

// --- GET SET and friends -----------------------------------------------------------------

function get(ctx: Ctx): Reply {
  const m = readString(ctx, ctx.argv[1]!);
  return m ? ctx.ks.replyString(m) : null;
}

/** SET key value [NX|XX] [GET] [EX|PX|EXAT|PXAT t|KEEPTTL]. */
function set(ctx: Ctx): Reply {
  const key = ctx.argv[1]!;
  const value = ctx.argv[2]!;
  // The common SET key value: one statement when the store can take it as is.
  if (ctx.argv.length === 3 && value.length <= VALUE_BYTES_MAX && ctx.ks.setPlainString(ctx.db, key, value)) {
    ctx.dirty++;
    return OK;
  }
  const o = parseSetOptions(ctx, 3, true);
  const ms = o.kind ? expireMs(ctx, o.kind, o.expireArg!) : null;
  checkValue(value);
  let old: Uint8Array | null = null;
  if (o.get) {
    const g = readString(ctx, key);
    old = g ? ctx.ks.replyString(g) : null;
  }
  const m = ctx.ks.lookupWrite(ctx.db, key);
  if ((o.nx && m) || (o.xx && !m)) return o.get ? old : null;
  putString(ctx, key, m, value, o.keepttl ? KEEP : ms);
  ctx.dirty++;
  if (o.kind && o.kind !== "pxat") {
    ctx.rewrite(["SET", key, value, "PXAT", String(ms)]);
  } else if (o.get) {
    // Drop GET (it may be repeated); the value and an expire argument never read "get" here.
    ctx.rewrite(ctx.argv.filter((a, j) => j < 3 || opt(a) !== "get"));
  }
  return o.get ? old : OK;
}

function setnx(ctx: Ctx): Reply {
  const key = ctx.argv[1]!;
  const value = checkValue(ctx.argv[2]!);
  if (ctx.ks.lookupWrite(ctx.db, key)) return 0;
  putString(ctx, key, null, value, null);
  ctx.dirty++;
  return 1;
}

/** SETEX key seconds value / PSETEX key ms value → SET key value PXAT abs. */
function setexGeneric(kind: "ex" | "px") {
  return (ctx: Ctx): Reply => {
    const key = ctx.argv[1]!;
    const value = ctx.argv[3]!;
    const ms = expireMs(ctx, kind, ctx.argv[2]!);
    checkValue(value);
    putString(ctx, key, ctx.ks.lookupWrite(ctx.db, key), value, ms);
    ctx.dirty++;
    ctx.rewrite(["SET", key, value, "PXAT", String(ms)]);
    return OK;
  };
}

function mget(ctx: Ctx): Reply {
  const out: Reply[] = [];
  for (let i = 1; i < ctx.argv.length; i++) {
    const m = ctx.ks.lookupRead(ctx.db, ctx.argv[i]!);
    out.push(m && m.type === TYPE.string ? ctx.ks.replyString(m) : null);
  }
  return out;
}

/** MSET / MSETNX: pairs; MSETNX sets nothing when any key exists. */
function msetGeneric(nx: boolean) {
  return (ctx: Ctx): Reply => {
    const argv = ctx.argv;
    if (argv.length % 2 === 0) fail(E.arity(ctx.name));
    for (let j = 2; j < argv.length; j += 2) checkValue(argv[j]!);
    if (nx) {
      for (let j = 1; j < argv.length; j += 2) if (ctx.ks.lookupWrite(ctx.db, argv[j]!)) return 0;
    }
    for (let j = 1; j < argv.length; j += 2) {
      putString(ctx, argv[j]!, ctx.ks.lookupWrite(ctx.db, argv[j]!), argv[j + 1]!, null);
    }
    ctx.dirty += (argv.length - 1) / 2;
    return nx ? 1 : OK;
  };
}

/** GETSET key value → SET key value (the TTL is removed). */
function getset(ctx: Ctx): Reply {
  const key = ctx.argv[1]!;
  const value = checkValue(ctx.argv[2]!);
  const m = writableString(ctx, key);
  const old = m ? ctx.ks.replyString(m) : null;
  putString(ctx, key, m, value, null);
  ctx.dirty++;
  ctx.rewrite(["SET", key, value]);
  return old;
}

/** GETDEL key → DEL key. */
function getdel(ctx: Ctx): Reply {
  const key = ctx.argv[1]!;
  const m = writableString(ctx, key);
  if (!m) return null;
  const v = ctx.ks.replyString(m);
  ctx.ks.deleteKey(m);
  ctx.dirty++;
  ctx.rewrite(["DEL", key]);
  return v;
}

/** GETEX key [EX|PX|EXAT|PXAT t|PERSIST] → PEXPIREAT / DEL / PERSIST, or nothing. */
function getex(ctx: Ctx): Reply {
  const key = ctx.argv[1]!;
  const o = parseSetOptions(ctx, 2, false);
  const changes = o.kind !== null || o.persist;
  const m = changes ? ctx.ks.lookupWrite(ctx.db, key) : ctx.ks.lookupRead(ctx.db, key);
  if (!m) return null;
  if (m.type !== TYPE.string) fail(E.wrongType);
  const ms = o.kind ? expireMs(ctx, o.kind, o.expireArg!) : null;
  const v = ctx.ks.replyString(m);
  if (ms !== null && (o.kind === "exat" || o.kind === "pxat") && ms <= ctx.now && ctx.ks.expiryMode === "master") {
    ctx.ks.deleteKey(m);
    ctx.dirty++;
    ctx.rewrite(["DEL", key]);
  } else if (ms !== null) {
    ctx.ks.setExpire(m, ms);
    ctx.dirty++;
    ctx.rewrite(["PEXPIREAT", key, String(ms)]);
  } else if (o.persist && m.expireMs !== null) {
    ctx.ks.setExpire(m, null);
    ctx.dirty++;
    ctx.rewrite(["PERSIST", key]);
  }
  return v;
}

// --- counters ----------------------------------------------------------------------------

/** INCR/DECR/INCRBY/DECRBY: int64, the TTL kept. */
function incrBy(ctx: Ctx, delta: bigint): Reply {
  const key = ctx.argv[1]!;
  const m = writableString(ctx, key);
  let cur = 0n;
  if (m) {
    const v = m.card <= INT_TEXT_BYTES_MAX ? parseI64(ctx.ks.getString(m)) : null;
    if (v === null) fail(E.notInt);
    cur = v;
  }
  if ((delta < 0n && cur < 0n && delta < I64_MIN - cur) || (delta > 0n && cur > 0n && delta > I64_MAX - cur)) fail(E.overflow);
  const next = cur + delta;
  putString(ctx, key, m, utf8(next.toString()), KEEP);
  ctx.dirty++;
  return intReply(next);
}

/**
 * INCRBYFLOAT computes like Redis on x86-64: both numbers read into an 80-bit long double
 * (64-bit mantissa, round to nearest even), added with one rounding, written with "%.17Lf"
 * and trailing zeros cut. Emulated exactly with BigInt, so replies match redis-server byte
 * for byte ("0.1" + "0.2" → "0.3", 1000000.1 → "1000000.10000000000002274"), where plain
 * doubles would answer "0.30000000000000004".
 */
interface LongDouble {
  neg: boolean;
  /** Below 2^64; 0 for zero. */
  mant: bigint;
  exp: number;
}

const LD_MANT_BITS = 64;
/** Largest binary exponent of an x87 long double (beyond: infinity). */
const LD_EXP_MAX = 16384;
/** Decimal magnitudes past this are out of long double range (strtold ERANGE); bounds the BigInt work. */
const LD_DECIMAL_EXP_MAX = 4950;
const DECIMAL_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

function bitLength(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}

/** num/den (num ≥ 0, den > 0) rounded to a 64-bit mantissa, ties to even. */
function roundLd(neg: boolean, num: bigint, den: bigint): LongDouble {
  if (num === 0n) return { neg, mant: 0n, exp: 0 };
  const sh = LD_MANT_BITS + 2 - (bitLength(num) - bitLength(den)); // quotient gets ≥ 65 bits
  const n = sh >= 0 ? num << BigInt(sh) : num;
  const d = sh >= 0 ? den : den << BigInt(-sh);
  const q = n / d;
  const rest = n % d;
  const extra = bitLength(q) - LD_MANT_BITS;
  let mant = q >> BigInt(extra);
  const low = q & ((1n << BigInt(extra)) - 1n);
  const half = 1n << BigInt(extra - 1);
  if (low > half || (low === half && (rest !== 0n || (mant & 1n) === 1n))) mant++;
  let exp = extra - sh;
  if (bitLength(mant) > LD_MANT_BITS) {
    mant >>= 1n;
    exp++;
  }
  return { neg, mant, exp };
}

/** strtold of a decimal text already accepted by parseDouble; null when out of range. */
function parseLd(text: string): LongDouble | null {
  const m = DECIMAL_RE.exec(text);
  if (!m) return null;
  const int = m[2] ?? "";
  const frac = m[3] ?? "";
  const digits = BigInt(int + frac || "0");
  const neg = m[1] === "-";
  if (digits === 0n) return { neg, mant: 0n, exp: 0 };
  const e10 = Number(m[4] ?? "0") - frac.length;
  const magnitude = e10 + (int + frac).replace(/^0+/, "").length;
  if (magnitude > LD_DECIMAL_EXP_MAX || magnitude < -LD_DECIMAL_EXP_MAX) return null;
  const v = e10 >= 0 ? roundLd(neg, digits * 10n ** BigInt(e10), 1n) : roundLd(neg, digits, 10n ** BigInt(-e10));
  return v.exp + LD_MANT_BITS > LD_EXP_MAX ? null : v;
}

function addLd(a: LongDouble, b: LongDouble): LongDouble {
  const e = Math.min(a.exp, b.exp);
  const s = (a.neg ? -a.mant : a.mant) * (1n << BigInt(a.exp - e)) + (b.neg ? -b.mant : b.mant) * (1n << BigInt(b.exp - e));
  if (s === 0n) return { neg: false, mant: 0n, exp: 0 };
  const abs = s < 0n ? -s : s;
  return e >= 0 ? roundLd(s < 0n, abs << BigInt(e), 1n) : roundLd(s < 0n, abs, 1n << BigInt(-e));
}

/** ld2string(LD_STR_HUMAN): "%.17Lf" (exact value, ties to even), trailing zeros cut, "-0" → "0". */
function formatLdHuman(v: LongDouble): string {
  const scale = 10n ** 17n;
  let q: bigint;
  if (v.exp >= 0) {
    q = (v.mant * scale) << BigInt(v.exp);
  } else {
    const num = v.mant * scale;
    const den = 1n << BigInt(-v.exp);
    q = num / den;
    const r2 = (num % den) * 2n;
    if (r2 > den || (r2 === den && (q & 1n) === 1n)) q++;
  }
  const digits = q.toString().padStart(18, "0");
  let s = `${digits.slice(0, -17)}.${digits.slice(-17)}`.replace(/0+$/, "").replace(/\.$/, "");
  if (v.neg && s !== "0") s = `-${s}`;
  return s;
}

/** A long double operand of INCRBYFLOAT, or ERR value is not a valid float. */
function ldOperand(b: Uint8Array): LongDouble | "inf" {
  const v = parseDouble(b, { checkRange: false });
  if (v === null) fail(E.notFloat);
  const text = str(b);
  if (!Number.isFinite(v) && /inf/i.test(text)) return "inf";
  const ld = parseLd(text);
  if (!ld) fail(E.notFloat);
  return ld;
}

/** The text INCRBYFLOAT stores for `cur + incr`, as redis-server 7.0 on x86-64 writes it. */
export function incrByFloatText(cur: Uint8Array, incr: Uint8Array): string {
  const a = ldOperand(cur);
  const b = ldOperand(incr);
  if (a === "inf" || b === "inf") fail(E.nanOrInf);
  const sum = addLd(a, b);
  if (sum.mant !== 0n && sum.exp + LD_MANT_BITS > LD_EXP_MAX) fail(E.nanOrInf);
  return formatLdHuman(sum);
}

/** INCRBYFLOAT key incr → SET key <final> KEEPTTL. */
function incrbyfloat(ctx: Ctx): Reply {
  const key = ctx.argv[1]!;
  const m = writableString(ctx, key);
  if (m && m.card > FLOAT_TEXT_BYTES_MAX) fail(E.notFloat);
  const text = utf8(incrByFloatText(m ? ctx.ks.getString(m) : utf8("0"), ctx.argv[2]!));
  putString(ctx, key, m, text, KEEP);
  ctx.dirty++;
  ctx.rewrite(["SET", key, text, "KEEPTTL"]);
  return text;
}

// --- byte ranges -------------------------------------------------------------------------

function append(ctx: Ctx): Reply {
  const key = ctx.argv[1]!;
  const value = ctx.argv[2]!;
  const m = writableString(ctx, key);
  const total = (m?.card ?? 0) + value.length;
  if (total > VALUE_BYTES_MAX) fail(E.stringTooLong);
  ctx.dirty++;
  if (!m) return putString(ctx, key, null, value, null).card;
  if (value.length > 0) ctx.ks.patchString(m, m.card, value);
  return m.card;
}

function strlen(ctx: Ctx): Reply {
  return readString(ctx, ctx.argv[1]!)?.card ?? 0;
}

/** GETRANGE key start end: inclusive, negative from the end, reading only the rows needed. */
function getrange(ctx: Ctx): Reply {
  let start = clampedIndex(ctx.argv[2]!);
  let end = clampedIndex(ctx.argv[3]!);
  const m = readString(ctx, ctx.argv[1]!);
  if (!m) return new Uint8Array(0);
  const len = m.card;
  if (start < 0 && end < 0 && start > end) return new Uint8Array(0);
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) return new Uint8Array(0);
  ctx.ks.charge(end + 1 - start);
  return ctx.ks.getStringRange(m, start, end + 1);
}

/** SETRANGE key offset value: zero-pads as needed; an empty value changes (and creates) nothing. */
function setrange(ctx: Ctx): Reply {
  const key = ctx.argv[1]!;
  const offset = i64Arg(ctx.argv[2]!);
  const value = ctx.argv[3]!;
  if (offset < 0n) fail("ERR offset is out of range");
  let m = writableString(ctx, key);
  if (value.length === 0) return m ? m.card : 0;
  if (offset + BigInt(value.length) > BigInt(VALUE_BYTES_MAX)) fail(E.stringTooLong);
  if (!m) m = ctx.ks.create(ctx.db, key, TYPE.string);
  ctx.ks.patchString(m, Number(offset), value);
  ctx.dirty++;
  return m.card;
}

export const stringCommands: CommandSpec[] = [
  cmd("get", 2, ["readonly", "fast"], [1, 1, 1], get),
  cmd("set", -3, ["write", "denyoom"], [1, 1, 1], set),
  cmd("setnx", 3, ["write", "denyoom", "fast"], [1, 1, 1], setnx),
  cmd("setex", 4, ["write", "denyoom"], [1, 1, 1], setexGeneric("ex")),
  cmd("psetex", 4, ["write", "denyoom"], [1, 1, 1], setexGeneric("px")),
  cmd("mget", -2, ["readonly", "fast"], [1, -1, 1], mget),
  cmd("mset", -3, ["write", "denyoom"], [1, -1, 2], msetGeneric(false)),
  cmd("msetnx", -3, ["write", "denyoom"], [1, -1, 2], msetGeneric(true)),
  cmd("getset", 3, ["write", "denyoom", "fast"], [1, 1, 1], getset),
  cmd("getdel", 2, ["write", "fast"], [1, 1, 1], getdel),
  cmd("getex", -2, ["write", "fast"], [1, 1, 1], getex),
  cmd("incr", 2, ["write", "denyoom", "fast"], [1, 1, 1], (ctx) => incrBy(ctx, 1n)),
  cmd("decr", 2, ["write", "denyoom", "fast"], [1, 1, 1], (ctx) => incrBy(ctx, -1n)),
  cmd("incrby", 3, ["write", "denyoom", "fast"], [1, 1, 1], (ctx) => incrBy(ctx, i64Arg(ctx.argv[2]!))),
  cmd("decrby", 3, ["write", "denyoom", "fast"], [1, 1, 1], (ctx) => {
    const d = i64Arg(ctx.argv[2]!);
    if (d === I64_MIN) fail("ERR decrement would overflow");
    return incrBy(ctx, -d);
  }),
  cmd("incrbyfloat", 3, ["write", "denyoom", "fast"], [1, 1, 1], incrbyfloat),
  cmd("append", 3, ["write", "denyoom", "fast"], [1, 1, 1], append),
  cmd("strlen", 2, ["readonly", "fast"], [1, 1, 1], strlen),
  cmd("getrange", 4, ["readonly"], [1, 1, 1], getrange),
  cmd("substr", 4, ["readonly"], [1, 1, 1], getrange),
  cmd("setrange", 4, ["write", "denyoom"], [1, 1, 1], setrange),
];
