/**
 * Random command streams for differential testing against redis-server: a seeded PRNG
 * (same seed → same stream), every command family of SPEC §2 over a small key space so
 * types collide (WRONGTYPE) and collections stay small, MULTI/EXEC/WATCH blocks, and
 * error cases (arity, unknown command, non-integer, out-of-range, syntax).
 *
 * Each command carries how its reply is compared (`Mode`): exactly, or after sorting when
 * Redis's order is unspecified (SMEMBERS, HGETALL pairs, KEYS…), by shape only when the
 * reply is legitimately random (SRANDMEMBER, RANDOMKEY…), with a tolerance for TTLs.
 *
 * Invariants that keep the two servers on the same state (violating them is a generator
 * bug, not a server bug):
 *  - nothing mutates randomly: SPOP only with a count larger than any set here (pops all),
 *    or on keys that never hold a set;
 *  - floats stay dyadic and small, so Redis's long double INCRBYFLOAT/HINCRBYFLOAT equals a
 *    double: INCRBYFLOAT only on the numeric keys n*, which only ever hold dyadic numbers
 *    (no APPEND/SETRANGE/RENAME/COPY/SET of arbitrary text into them);
 *  - TTLs are long (days) so nothing expires during a run; GT/LT compare only absolute
 *    times, so the ms between the two servers executing a command never matters.
 */
import { createHash } from "node:crypto";
import { RedisError, Simple } from "../../../src/protocol/reply.ts";
import type { Arg, RespValue } from "./resp-client.ts";

// --- PRNG ------------------------------------------------------------------------------

/** sfc32 seeded through splitmix32: fast, well mixed, reproducible from one uint32. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    let s = seed >>> 0;
    const split = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let i = 0; i < 12; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }
  /** Uniform in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }
  /** Uniform in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  /** `n` picks (with repetition). */
  some<T>(xs: readonly T[], lo: number, hi: number): T[] {
    const n = this.range(lo, hi);
    return Array.from({ length: n }, () => this.pick(xs));
  }
}

export function randomSeed(): number {
  return (Math.random() * 4294967296) >>> 0;
}

// --- comparison modes --------------------------------------------------------------------

export type Mode =
  | { k: "exact" }
  /** An array whose order Redis leaves unspecified. */
  | { k: "sorted" }
  /** A flat [field, value, …] array in unspecified order (HGETALL). */
  | { k: "pairs" }
  /** Random content: compare only the reply's kind and an array's length. */
  | { k: "shape" }
  /** Only the reply's kind (integer, nil, bulk, error…): MEMORY USAGE sizes differ by storage. */
  | { k: "kind" }
  /** Integers within `tol` of each other (TTL, PTTL, EXPIRETIME); negatives exactly. */
  | { k: "ttl"; tol: number }
  /** [cursor, elements]: cursor exactly, elements as a set (or pairs). */
  | { k: "scan"; pairs: boolean }
  /** EXEC: an array compared element by element with the queued commands' modes. */
  | { k: "exec"; modes: Mode[] }
  /** Numbers within a relative `tol` (STOREDIST distances: glibc's trig may misround by an ulp); the rest exactly. */
  | { k: "close"; tol: number };

const EXACT: Mode = { k: "exact" };
const SORTED: Mode = { k: "sorted" };
const PAIRS: Mode = { k: "pairs" };
const SHAPE: Mode = { k: "shape" };
const INT_OR_NIL: Mode = { k: "kind" };

export interface GenCommand {
  argv: Arg[];
  mode: Mode;
  /** Family, for DIFF_ONLY filtering and reports. */
  group: Group;
}

/** A printable, comparable form of a reply: bulk "$…", status "+…", error "-…", int ":…". */
export type Canon = string | Canon[];

const latin1 = new TextDecoder("latin1");

function printable(b: Uint8Array): string {
  let s = "";
  for (const c of b) s += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, "0")}`;
  return s;
}

/** Bulk replies longer than this are compared and shown by length and SHA-1. */
const BULK_SHOWN_BYTES_MAX = 256;
const sha1Hex = (b: Uint8Array) => createHash("sha1").update(b).digest("hex");

export function canon(v: RespValue): Canon {
  if (v === null) return "nil";
  if (v instanceof Uint8Array) return v.length > BULK_SHOWN_BYTES_MAX ? `$<${v.length} bytes, sha1 ${sha1Hex(v)}>` : `$${printable(v)}`;
  if (typeof v === "number" || typeof v === "bigint") return `:${v}`;
  if (v instanceof Simple) return `+${v.s}`;
  if (v instanceof RedisError) return `-${v.msg}`;
  if (Array.isArray(v)) return v.map(canon);
  return `?${String(v)}`;
}

const cmpStr = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const keyOf = (c: Canon) => JSON.stringify(c);

function sortedCanon(c: Canon): Canon {
  return Array.isArray(c) ? [...c].sort((x, y) => cmpStr(keyOf(x), keyOf(y))) : c;
}

function pairsCanon(c: Canon): Canon {
  if (!Array.isArray(c) || c.length % 2 !== 0) return c;
  const ps: Canon[] = [];
  for (let i = 0; i < c.length; i += 2) ps.push([c[i]!, c[i + 1]!]);
  return sortedCanon(ps);
}

function shapeCanon(c: Canon): Canon {
  if (Array.isArray(c)) return `array(${c.length})`;
  if (c.startsWith("$")) return "bulk";
  return c;
}

function ttlEqual(a: Canon, b: Canon, tol: number): boolean {
  if (typeof a !== "string" || typeof b !== "string" || !a.startsWith(":") || !b.startsWith(":")) return keyOf(a) === keyOf(b);
  const x = Number(a.slice(1));
  const y = Number(b.slice(1));
  if (x < 0 || y < 0) return x === y;
  return Math.abs(x - y) <= tol;
}

/** Whether two replies agree under `mode`. */
export function sameReply(a: RespValue, b: RespValue, mode: Mode): boolean {
  return canonEqual(canon(a), canon(b), mode);
}

function canonEqual(a: Canon, b: Canon, mode: Mode): boolean {
  switch (mode.k) {
    case "exact":
      return keyOf(a) === keyOf(b);
    case "sorted":
      return keyOf(sortedCanon(a)) === keyOf(sortedCanon(b));
    case "pairs":
      return keyOf(pairsCanon(a)) === keyOf(pairsCanon(b));
    case "shape":
      return keyOf(shapeCanon(a)) === keyOf(shapeCanon(b));
    case "kind": {
      const kind = (c: Canon) => (Array.isArray(c) ? "array" : c === "nil" ? "nil" : c[0]);
      return kind(a) === kind(b);
    }
    case "ttl":
      return ttlEqual(a, b, mode.tol);
    case "scan": {
      if (!Array.isArray(a) || !Array.isArray(b) || a.length !== 2 || b.length !== 2) return keyOf(a) === keyOf(b);
      const f = mode.pairs ? pairsCanon : sortedCanon;
      return keyOf(a[0]!) === keyOf(b[0]!) && keyOf(f(a[1]!)) === keyOf(f(b[1]!));
    }
    case "exec": {
      if (!Array.isArray(a) || !Array.isArray(b) || a.length !== mode.modes.length || b.length !== a.length) return keyOf(a) === keyOf(b);
      return a.every((x, i) => canonEqual(x, b[i]!, mode.modes[i]!));
    }
    case "close":
      return closeEqual(a, b, mode.tol);
  }
}

/** Equal, except that bulk strings that are both numbers may differ by a relative `tol`. */
function closeEqual(a: Canon, b: Canon, tol: number): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => closeEqual(x, b[i]!, tol));
  }
  if (a === b) return true;
  if (!a.startsWith("$") || !b.startsWith("$")) return false;
  const x = Number(a.slice(1));
  const y = Number(b.slice(1));
  return Number.isFinite(x) && Number.isFinite(y) && Math.abs(x - y) <= tol * Math.max(Math.abs(x), Math.abs(y));
}

/** One-line rendering of a command for reports. */
export function showArgv(argv: readonly Arg[]): string {
  return argv
    .map((a) => {
      const s = typeof a === "string" ? a : latin1.decode(a);
      return /^[\x21-\x7e]+$/.test(s) && !s.includes('"') && !s.includes("\\")
        ? s
        : `"${printable(typeof a === "string" ? new TextEncoder().encode(a) : a)}"`;
    })
    .join(" ");
}

export function showReply(v: RespValue): string {
  return JSON.stringify(canon(v));
}

// --- the key space -------------------------------------------------------------------------

/** String keys; one binary-unsafe name (NUL, non-ASCII) to check keys are bytes end to end. */
const S_KEYS = ["s0", "s1", "s2", "s3", "s\u0000\u00ff"];
/** Only ever hold dyadic numbers (see the header): INCRBYFLOAT targets. */
const N_KEYS = ["n0", "n1"];
/** Integers near the 64-bit limits, for overflow errors. */
const BIG_KEYS = ["big"];
const H_KEYS = ["h0", "h1", "h2"];
const L_KEYS = ["l0", "l1", "l2"];
const T_KEYS = ["t0", "t1", "t2"];
const Z_KEYS = ["z0", "z1", "z2"];
/**
 * A sorted set whose scores are all 0, for BYLEX (Redis leaves lex ranges over mixed scores
 * unspecified; its answer then depends on the encoding). Only ZADD 0 / ZREM write it.
 */
const LEX_KEYS = ["zl"];
/** Bitmaps: strings written mostly by the bit commands (any string command may read them). */
const B_KEYS = ["bm0", "bm1", "bm2"];
const MISSING = "nokey";
/** Timeouts of blocking pops in the single-connection stream: short, never 0 (forever). */
const BLOCK_TIMEOUTS = ["0.01", "0.002", "0.001"];
/** HyperLogLogs: written only by PFADD/PFMERGE (and PFCOUNT's cached cardinality). */
const PF_KEYS = ["pf0", "pf1", "pf2"];
/** Crafted HLL-like strings (see Gen.hll). */
const PFX = "pfx";
/** A name no command ever writes (MISSING is written now and then). */
const NEVER_KEY = "never:written";
/** Keys any command may write anything into (everything but n* and big). */
const WILD_KEYS = [...S_KEYS, ...H_KEYS, ...L_KEYS, ...T_KEYS, ...Z_KEYS, MISSING];
/** Keys any read may look at. */
const ALL_KEYS = [...WILD_KEYS, ...N_KEYS, ...BIG_KEYS, ...LEX_KEYS, ...B_KEYS];
/** Databases the stream moves between (SELECT). */
const DBS = ["0", "1", "2"];

const bytes = (...xs: number[]) => new Uint8Array(xs);
/** An HLL header: "HYLL", encoding, 3 zero bytes, cached cardinality (top bit: stale). */
const hllHeader = (enc: number, card7 = 0x80) => [0x48, 0x59, 0x4c, 0x4c, enc, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, card7];
/**
 * Not here: a sparse value ending inside an XZERO opcode (`…0x7f`). Redis reads the opcode's
 * second byte past the string's end: the terminator of a fresh string (0), but whatever an
 * earlier in-place PFADD left there otherwise, so its later PFADDs are not reproducible (seed
 * 210276678 diverged on them); a unit test covers the fresh case.
 */
const HLL_CRAFTED: Arg[] = [
  bytes(...hllHeader(1), 0x7f, 0xff), // an empty sparse HLL
  bytes(...hllHeader(1, 0), 0x7f, 0xff), // … whose cached cardinality (3) is valid
  bytes(...hllHeader(1)), // sparse with no opcodes
  bytes(...hllHeader(1), 0x5f, 0x3f), // truncated: XZERO of 8000 registers
  bytes(...hllHeader(1), 0x7f, 0xff, 0x88), // overflowing: a VAL past register 16383
  bytes(...hllHeader(1), 0x7f, 0xff, 0x00), // overflowing: a ZERO past register 16383
  bytes(...hllHeader(1), 0x7f, 0xff, ...new Array<number>(40_000).fill(0x84)), // 40 KB of VALs past the last register
  bytes(...hllHeader(0), 0, 0, 0), // dense of the wrong length
  bytes(...hllHeader(2), 0x7f, 0xff), // unknown encoding
  bytes(0x48, 0x59, 0x4c, 0x58, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x7f, 0xff), // wrong magic
  bytes(0x48, 0x59, 0x4c, 0x4c, 1), // shorter than a header
  "hello",
];
const BIN_A = bytes(0x00, 0x62, 0x69, 0x6e, 0xff);
const BIN_B = bytes(0xc3, 0x28, 0x00);

/** String values: no non-dyadic decimals (INCRBYFLOAT never sees s* keys anyway). */
const VALUES: Arg[] = [
  "", "a", "hello", "world", "0", "1", "-1", "42", "10", "2.5", "-0.75", "abc def", BIN_A, "é", "x".repeat(60),
  "9223372036854775807", "-9223372036854775808", " 1", "1 ", "01", "+1", "1e3", "0x10", "-0", "3",
];
/** n* values: dyadic numbers of modest size. */
const NUM_VALUES = ["0", "1", "-7", "10", "2.5", "-0.75", "100", "1024", "-3.25", "1e2"];
const INT_INCRS = ["1", "-1", "5", "-12", "0", "100"];
const FLOAT_INCRS = ["0.5", "1.25", "-3.75", "2", "-1", "0", "1e1", "+1.5", "-0.125"];
const BIG_VALUES = ["9223372036854775806", "-9223372036854775807", "9223372036854775807", "-9223372036854775808", "0"];
const BIG_INCRS = ["1", "-1", "2", "9223372036854775807", "-9223372036854775808", "-2"];

const FIELDS: Arg[] = ["f0", "f1", "f2", "f3", "1", "", BIN_B];
/** Only HINCRBY with 64-bit-edge increments writes it (overflow errors); HINCRBYFLOAT never reads it. */
const BIG_FIELD = "nbig";
/** Hash values: no huge integers and no non-dyadic decimals, so HINCRBYFLOAT stays exact. */
const HVALUES: Arg[] = ["v", "hello", "0", "1", "-5", "2.5", "10", "", BIN_A, "1e1", "-0.5", "x".repeat(40), "0x10"];

const ELEMS: Arg[] = ["a", "b", "c", "d", "1", "2", "", "x y", BIN_B, "a"];
const MEMBERS: Arg[] = ["a", "b", "c", "d", "e", "1", "2", "3", "-4", "10", "", BIN_A];
/** Larger than any set here: SPOP key COUNT pops everything, deterministically. */
const POP_ALL = "100";
const ZMEMBERS: Arg[] = ["a", "b", "c", "d", "e", "f", "m1", "m2", "", BIN_B];
const SCORES = ["0", "1", "2", "3", "-1", "-5", "10", "0.5", "-1.25", "2.75", "1e2", "+inf", "-inf", "-0", "7"];
const ZINCRS = ["1", "-1", "0.5", "2.25", "-3", "0", "+inf", "-inf"];
const SCORE_BOUNDS = ["-inf", "+inf", "0", "1", "(1", "2.5", "(2.75", "-1", "(-5", "10", "(0", "3"];
const LEX_BOUNDS = ["-", "+", "[a", "(a", "[c", "(d", "[m1", "(", "[", "[f"];
/** ZUNION/ZINTER weights: dyadic, with an infinity for 0·inf = NaN → 0. */
const WEIGHT_VALUES = ["1", "2", "-1", "0.5", "0", "inf"];
const INDEXES = ["0", "1", "2", "-1", "-2", "3", "-3", "5", "-100", "100", "4"];
const STARTS = ["0", "0", "0", "1", "2", "-1", "-2", "-3", "3", "-100", "100"];
const STOPS = ["-1", "-1", "-1", "0", "1", "2", "-2", "3", "5", "100", "-100"];

/** A write to `k` that keeps its family's type (a WATCH-breaking write). */
function touch(k: string): Arg[] {
  switch (k[0]) {
    case "h":
      return ["hset", k, "f0", "w"];
    case "l":
      return ["rpush", k, "w"];
    case "t":
      return ["sadd", k, "w"];
    case "z":
      return ["zadd", k, LEX_KEYS.includes(k) ? "0" : "1", "w"];
    case "n":
      return k === MISSING ? ["del", k] : ["incr", k];
    case "b":
      return ["set", k, "0"];
    default:
      return ["set", k, "w"];
  }
}

/** Absolute times far in the future (2100 and later) in seconds; never relative to now. */
const ABS_S = ["4102444800", "4102531200", "4103000000", "4200000000"];
const ABS_MS = ["4102444800000", "4102531200123", "4103000000000", "4200000000999"];
/** Relative TTLs: days, so nothing expires during a run. */
const REL_S = ["100000", "200000", "864000"];
const REL_MS = ["100000000", "250000000", "864000000"];

export type Group = "strings" | "bitmaps" | "hll" | "keys" | "hashes" | "lists" | "sets" | "zsets" | "geo" | "tx" | "errors" | "server";
export const GROUPS: readonly Group[] = ["strings", "bitmaps", "hll", "keys", "hashes", "lists", "sets", "zsets", "geo", "tx", "errors", "server"];

const WEIGHTS: Record<Group, number> = { strings: 20, bitmaps: 8, hll: 6, keys: 14, hashes: 14, lists: 14, sets: 12, zsets: 16, geo: 8, tx: 3, errors: 7, server: 1 };

/** Bit offsets: small, around the 1 MiB row boundary (bit 8388608 is byte 1048576), and refused ones. */
const BIT_OFFSETS = ["0", "1", "7", "8", "9", "15", "16", "23", "31", "33", "63", "64", "100", "200"];
const FAR_BIT_OFFSETS = ["8388600", "8388607", "8388608", "8388615", "16777300"];
const BAD_BIT_OFFSETS = ["-1", "x", "4294967296", "1.5", "99999999999999999999"];
const BITFIELD_TYPES = ["u1", "u3", "u8", "i8", "i5", "u16", "i16", "i32", "u31", "i63", "u63", "i64"];
const BAD_BITFIELD_TYPES = ["u64", "i65", "i0", "x8", "u", ""];
const BITFIELD_VALUES = ["0", "1", "-1", "5", "100", "-100", "127", "128", "255", "256", "-129", "65535", "12345678901", "9223372036854775807", "-9223372036854775808"];

/**
 * GEO keys: written only by GEOADD and the STORE forms, so every score is a geohash or a
 * STOREDIST distance (a score no GEO command wrote makes Redis's decoding undefined C).
 * g2 gathers many members, so searches cover several boxes with points in each.
 */
const G_KEYS = ["g0", "g1", "g2"];
/**
 * Where STOREDIST writes: distances go through glibc's sin/cos/asin, which misround by an ulp on
 * rare inputs where ours round correctly (README), so the key is read only by a close comparison
 * and deleted before the digest; no other command of the stream names it.
 */
const GEO_DIST_KEY = "gd";
const G_MEMBERS: Arg[] = ["p0", "p1", "p2", "p3", "p4", "", BIN_B];
const G2_MEMBERS: Arg[] = Array.from({ length: 40 }, (_, i) => `q${i}`);
/** Centres points cluster around (and searches start from), poles and the date line included. */
const G_CENTRES: [number, number][] = [[13.4, 38.1], [-73.98, 40.75], [151.2, -33.87], [179.9, 10], [-179.95, -12], [0, 0], [20, 84.5], [-60, -84.9]];
const G_UNITS = ["m", "km", "KM", "ft", "mi", "Mi"];

type One = [Arg[], Mode?];

// --- generators per family ----------------------------------------------------------------

class Gen {
  constructor(readonly r: Rng) {}

  /** A key of the family's own pool, sometimes any writable key (type collisions). */
  key(own: readonly string[]): string {
    return this.r.chance(0.06) ? this.r.pick(WILD_KEYS) : this.r.pick(own);
  }
  readKey(own: readonly string[]): string {
    return this.r.chance(0.08) ? this.r.pick(ALL_KEYS) : this.r.pick(own);
  }
  /** Destination of RENAME/COPY: mostly a key of the source's own family. */
  moveTarget(src: string): string {
    const fam = WILD_KEYS.filter((k) => k[0] === src[0] && k !== MISSING);
    return fam.length && this.r.chance(0.75) ? this.r.pick(fam) : this.r.pick(WILD_KEYS);
  }
  name(n: string): string {
    // Mixed case command names: Redis looks commands up case-insensitively.
    const x = this.r.int(10);
    if (x === 0) return n.toUpperCase();
    if (x === 1) return n[0]!.toUpperCase() + n.slice(1);
    return n;
  }

  strings(): One {
    const r = this.r;
    const sk = () => this.key(S_KEYS);
    const v = () => r.pick(VALUES);
    switch (r.int(29)) {
      case 26:
        return [["substr", this.readKey(S_KEYS), r.pick(STARTS), r.pick(STOPS)]];
      case 27:
      case 28:
        return [["substr", this.readKey(S_KEYS), r.pick(STARTS), r.pick(STOPS)]];
      case 0:
      case 1:
        return [["get", this.readKey(S_KEYS)]];
      case 2:
      case 3: {
        const argv: Arg[] = ["set", sk(), v()];
        if (r.chance(0.2)) argv.push(r.pick(["NX", "XX"]));
        if (r.chance(0.25)) {
          const e = r.int(5);
          if (e === 0) argv.push("EX", r.pick(REL_S));
          else if (e === 1) argv.push("PX", r.pick(REL_MS));
          else if (e === 2) argv.push("EXAT", r.pick(ABS_S));
          else if (e === 3) argv.push("PXAT", r.pick(ABS_MS));
          else argv.push("KEEPTTL");
        }
        if (r.chance(0.15)) argv.push("GET");
        if (r.chance(0.05)) argv.push(r.pick(["NX", "EX", "KEEPTTL", "PX", "FOO", "GET"]), r.pick(["x", "0", "-1"]));
        return [argv];
      }
      case 4:
        return [["setnx", sk(), v()]];
      case 5:
        return [["setex", sk(), r.chance(0.9) ? r.pick(REL_S) : r.pick(["0", "-5", "abc"]), v()]];
      case 6:
        return [["psetex", sk(), r.chance(0.9) ? r.pick(REL_MS) : r.pick(["0", "-5", "1.5"]), v()]];
      case 7:
        return [["mget", ...r.some(ALL_KEYS, 1, 4)]];
      case 8: {
        const argv: Arg[] = [r.pick(["mset", "msetnx"])];
        for (let i = r.range(1, 3); i > 0; i--) argv.push(sk(), v());
        return [argv];
      }
      case 9:
        return [["getset", sk(), v()]];
      case 10:
        return [["getdel", sk()]];
      case 11: {
        const argv: Arg[] = ["getex", sk()];
        const e = r.int(7);
        if (e === 0) argv.push("EX", r.pick(REL_S));
        else if (e === 1) argv.push("PX", r.pick(REL_MS));
        else if (e === 2) argv.push("EXAT", r.pick(ABS_S));
        else if (e === 3) argv.push("PXAT", r.pick(ABS_MS));
        else if (e === 4) argv.push("PERSIST");
        else if (e === 5 && r.chance(0.5)) argv.push(r.pick(["EX", "PERSIST", "FOO"]), r.pick(["0", "-1", "x", "100000"]));
        return [argv];
      }
      case 12:
      case 13: {
        // Integer arithmetic: on numeric keys, on text (errors), on the 64-bit edges.
        const k = r.int(3);
        const key = k === 0 ? r.pick(N_KEYS) : k === 1 ? sk() : r.pick(BIG_KEYS);
        const incrs = k === 2 ? BIG_INCRS : INT_INCRS;
        const c = r.int(4);
        if (c === 0) return [["incr", key]];
        if (c === 1) return [["decr", key]];
        return [[c === 2 ? "incrby" : "decrby", key, r.chance(0.95) ? r.pick(incrs) : r.pick(["1.5", "x", "99999999999999999999", ""])]];
      }
      case 14:
      case 15:
        return [["incrbyfloat", r.pick(N_KEYS), r.chance(0.93) ? r.pick(FLOAT_INCRS) : r.pick(["inf", "-inf", "abc", "nan", ""])]];
      case 16:
        return [["set", r.pick(N_KEYS), r.pick(NUM_VALUES)]];
      case 17:
        return [["set", r.pick(BIG_KEYS), r.pick(BIG_VALUES)]];
      case 18:
      case 19:
        return [["append", sk(), v()]];
      case 20:
        return [["strlen", this.readKey(S_KEYS)]];
      case 21:
      case 22:
        if (r.chance(0.05)) return [["getrange", this.readKey(S_KEYS), r.pick(["65530", "65536", "1048570", "1048575", "-8", "2097140"]), r.pick(["65540", "131080", "1048580", "-1", "2097160"])]];
        return [["getrange", this.readKey(S_KEYS), r.pick(STARTS), r.pick(STOPS)]];
      case 23:
      case 24:
        // Now and then past a row (STRING_CHUNK_BYTES, 64 KiB; 1 MiB in databases made before), where a value spans SQLite rows.
        if (r.chance(0.02)) return [["setrange", sk(), r.pick(["65530", "65536", "131070", "1048570", "1048576", "2097149"]), r.pick(["hello", "0123456789"])]];
        return [["setrange", sk(), r.chance(0.93) ? String(r.range(0, 20)) : r.pick(["-1", "x", "536870912"]), v()]];
      default:
        return [["get", r.pick(N_KEYS)]];
    }
  }

  /** Bitmap commands over bm* keys, sometimes over text strings (s*) or other types. */
  bitmaps(): One {
    const r = this.r;
    const wk = () => (r.chance(0.15) ? this.key(S_KEYS) : this.key(B_KEYS));
    const rk = () => (r.chance(0.15) ? this.readKey(S_KEYS) : this.readKey(B_KEYS));
    const off = (write: boolean) =>
      r.chance(0.9) ? r.pick(BIT_OFFSETS) : r.chance(0.5) ? r.pick(FAR_BIT_OFFSETS) : write ? r.pick(BAD_BIT_OFFSETS) : r.pick([...BAD_BIT_OFFSETS, "4294967295"]);
    const unit = (): Arg[] => (r.chance(0.5) ? [] : [r.chance(0.95) ? r.pick(["BIT", "BYTE", "bit"]) : "FOO"]);
    switch (r.int(10)) {
      case 0:
      case 1:
        return [["setbit", wk(), off(true), r.chance(0.95) ? r.pick(["0", "1"]) : r.pick(["2", "-1", "x"])]];
      case 2:
        return [["getbit", rk(), off(false)]];
      case 3: {
        const argv: Arg[] = ["bitcount", rk()];
        const o = r.int(8);
        if (o >= 2) argv.push(r.pick(STARTS), r.pick(STOPS), ...unit());
        if (o === 7) argv.push(r.pick(["0", "x"]));
        if (o === 1) argv.push(r.pick(["0", "-1", "x"]));
        return [argv];
      }
      case 4: {
        const argv: Arg[] = ["bitpos", rk(), r.chance(0.95) ? r.pick(["0", "1"]) : r.pick(["2", "-1", "x"])];
        const o = r.int(6);
        if (o >= 1) argv.push(r.pick(STARTS));
        if (o >= 3) argv.push(r.pick(STOPS));
        if (o >= 4) argv.push(...unit());
        if (o === 5 && r.chance(0.3)) argv.push("x");
        return [argv];
      }
      case 5: {
        const op = r.chance(0.95) ? r.pick(["AND", "OR", "XOR", "NOT", "and"]) : "FOO";
        const srcs = op.toLowerCase() === "not" && r.chance(0.9) ? [rk()] : r.some([...B_KEYS, ...S_KEYS, MISSING], 1, 4);
        return [["bitop", op, wk(), ...srcs]];
      }
      default: {
        const ro = r.chance(0.2);
        const argv: Arg[] = [ro ? "bitfield_ro" : "bitfield", ro ? rk() : wk()];
        for (let i = r.range(ro ? 1 : 0, 4); i > 0; i--) {
          const t = r.chance(0.97) ? r.pick(BITFIELD_TYPES) : r.pick(BAD_BITFIELD_TYPES);
          const fo = r.chance(0.3) ? `#${r.range(0, 5)}` : off(true);
          const k = r.int(ro ? 8 : 7);
          if (k === 0) argv.push("OVERFLOW", r.chance(0.95) ? r.pick(["WRAP", "SAT", "FAIL", "fail"]) : "FOO");
          else if (k <= 2 || k === 7) argv.push("GET", t, fo);
          else if (k <= 4) argv.push("SET", t, fo, r.chance(0.97) ? r.pick(BITFIELD_VALUES) : "x");
          else argv.push("INCRBY", t, fo, r.chance(0.97) ? r.pick(BITFIELD_VALUES) : "1.5");
        }
        if (r.chance(0.03)) argv.push(r.pick(["GET", "FOO", "SET"]));
        return [argv];
      }
    }
  }

  /**
   * HyperLogLog commands over pf* keys (written only here), now and then reading other types
   * and strings that are not HLLs; GET compares the representation byte for byte. PFX holds
   * crafted HLL-like strings (wrong magic, bad encoding, short dense, truncated or overflowing
   * sparse): it gets PFADD of one element only, since Redis keeps the registers a PFADD
   * changed before meeting corruption (we change nothing) and one element is all or nothing.
   */
  hll(): One {
    const r = this.r;
    const pk = () => (r.chance(0.92) ? r.pick(PF_KEYS) : r.pick([PFX, MISSING, "s0", "h0", "bm0"]));
    const els = (): Arg[] => {
      // Now and then hundreds of new elements, so sparse values grow past hll-sparse-max-bytes.
      const n = r.chance(0.06) ? r.range(300, 1200) : r.range(0, 6);
      const out: Arg[] = [];
      for (let i = 0; i < n; i++) out.push(r.chance(0.05) ? r.pick(ELEMS) : `e${r.int(1_000_000)}`);
      return out;
    };
    switch (r.int(12)) {
      case 0:
      case 1:
      case 2:
      case 3:
        return [["pfadd", r.chance(0.94) ? r.pick(PF_KEYS) : r.pick(["s0", "h0", "bm0"]), ...els()]];
      case 4:
        // MISSING may hold anything another family wrote: one element too.
        return [["pfadd", r.pick([PFX, MISSING]), ...(r.chance(0.9) ? [`e${r.int(1_000_000)}`] : [])]];
      case 5:
      case 6:
        return [["pfcount", pk()]];
      case 7:
        return [["pfcount", ...r.some([...PF_KEYS, PFX, MISSING, "s0"], 1, 4)]];
      case 8:
        return [["pfmerge", pk(), ...r.some([...PF_KEYS, PF_KEYS[0]!, PFX, MISSING], 0, 3)]];
      case 9:
        return [["get", r.chance(0.85) ? r.pick(PF_KEYS) : PFX]];
      case 10:
        return [["set", PFX, r.pick(HLL_CRAFTED)]];
      default:
        // Redis promotes sparse values to dense by this limit: both sides get the same one.
        return [["config", "set", "hll-sparse-max-bytes", r.pick(["3000", "3000", "3000", "200", "40", "0", "12000"])]];
    }
  }

  /**
   * LCS over two fresh short strings (x* keys, never touched elsewhere): s* strings can grow
   * past 1 MiB, where the LCS table (len1·len2 cells) passes LCS_TABLE_BYTES_MAX by design.
   */
  lcs(): One[] {
    const r = this.r;
    const argv: Arg[] = ["lcs", "xa", r.chance(0.95) ? "xb" : r.pick([MISSING, "h0", "z0"])];
    const o = r.int(6);
    if (o === 1) argv.push("LEN");
    if (o === 2) argv.push("IDX");
    if (o === 3) argv.push("IDX", "MINMATCHLEN", r.pick(["0", "1", "2", "-1", "x"]), ...(r.chance(0.5) ? ["WITHMATCHLEN"] : []));
    if (o === 4) argv.push("IDX", "WITHMATCHLEN");
    if (o === 5) argv.push(r.pick(["LEN", "FOO"]), r.pick(["IDX", "LEN"]));
    const text = () => r.pick(["ohmytext", "mynewtext", "abcbdab", "bdcaba", "", "a", "aaaa", "xyzzyx", "hello world", "yellow"]);
    return [[["set", "xa", text()]], [["set", "xb", text()]], [argv]];
  }

  keys(): One[] {
    const r = this.r;
    switch (r.int(28)) {
      case 24:
        return [[["touch", ...r.some(ALL_KEYS, 1, 4)]]];
      case 25:
        // SWAPDB keeps every name's family: the invariants hold per name, whatever the database.
        return [[["swapdb", r.chance(0.95) ? r.pick(DBS) : r.pick(["16", "-1", "x"]), r.chance(0.95) ? r.pick(DBS) : r.pick(["16", "x"])]]];
      case 26:
        // Encodings, idle times and sizes depend on each server's history and storage (README):
        // compared by kind; the rest of OBJECT/MEMORY exactly.
        if (r.chance(0.5)) return [[["object", "encoding", r.pick(ALL_KEYS)], SHAPE]];
        return [
          [
            r.pick<Arg[]>([
              ["object", "freq", r.pick(ALL_KEYS)],
              ["object", "encoding", NEVER_KEY],
              ["object", "refcount", NEVER_KEY],
              ["object", "idletime", NEVER_KEY],
              ["object", "encoding"],
              ["object", "nosuch", "k"],
              ["object", "help"],
              ["memory", "usage", NEVER_KEY],
              // DUMP payloads differ by encoding (README): RESTORE's checks are compared instead.
              ["dump", NEVER_KEY],
              ["restore", r.pick(ALL_KEYS), "0", "not a payload"],
              ["restore", NEVER_KEY, "-1", "x"],
              ["restore", NEVER_KEY, "x", "x"],
              ["restore", NEVER_KEY, "0", "x", "FREQ", "256"],
              ["restore", NEVER_KEY, "0", "x", "IDLETIME", "-1"],
              ["restore", NEVER_KEY, "0", "x", "FOO"],
              ["memory", "usage", "s0", "samples", "x"],
              ["memory", "usage", "s0", "samples", "-1"],
              ["memory", "usage", "s0", "foo"],
              ["memory", "usage"],
            ]),
          ],
        ];
      case 27:
        if (r.chance(0.5)) return [[["memory", "usage", r.pick(ALL_KEYS)], INT_OR_NIL]];
        return this.lcs();
      case 0:
        return [[[r.pick(["del", "unlink"]), ...r.some(WILD_KEYS, 1, 3)]]];
      case 1:
        return [[["exists", ...r.some(ALL_KEYS, 1, 4)]]];
      case 2:
        return [[["type", r.pick(ALL_KEYS)]]];
      case 3:
      case 4: {
        // Relative expiry: NX/XX only (GT/LT against a relative time would race the clock).
        const rel = r.chance(0.5);
        const argv: Arg[] = rel ? ["expire", r.pick(ALL_KEYS), r.pick(REL_S)] : ["pexpire", r.pick(ALL_KEYS), r.pick(REL_MS)];
        if (r.chance(0.3)) argv.push(r.pick(["NX", "XX"]));
        return [[argv]];
      }
      case 5:
      case 6: {
        const abs = r.chance(0.5);
        const argv: Arg[] = abs ? ["expireat", r.pick(ALL_KEYS), r.pick(ABS_S)] : ["pexpireat", r.pick(ALL_KEYS), r.pick(ABS_MS)];
        if (r.chance(0.4)) argv.push(r.pick(["NX", "XX", "GT", "LT"]));
        return [[argv]];
      }
      case 7: {
        // Expire in the past / non-positive TTL: deletes the key.
        const c = r.int(4);
        const key = r.pick(WILD_KEYS);
        if (c === 0) return [[["expire", key, r.pick(["0", "-1", "-100"])]]];
        if (c === 1) return [[["pexpire", key, r.pick(["0", "-1"])]]];
        if (c === 2) return [[["expireat", key, r.pick(["1", "1000", "0"])]]];
        return [[["pexpireat", key, r.pick(["1", "1000000"])]]];
      }
      case 8:
        return [[["ttl", r.pick(ALL_KEYS)], { k: "ttl", tol: 3 }]];
      case 9:
        return [[["pttl", r.pick(ALL_KEYS)], { k: "ttl", tol: 3000 }]];
      case 10:
        return [[["expiretime", r.pick(ALL_KEYS)], { k: "ttl", tol: 3 }]];
      case 11:
        return [[["persist", r.pick(ALL_KEYS)]]];
      case 12:
        return [[["keys", r.pick(["*", "s*", "?0", "[hl]*", "*1", "n?", "t[0-1]", "*[^0]", "nokey", "\\s0"])], SORTED]];
      case 13: {
        const argv: Arg[] = ["scan", "0", "COUNT", "1000"];
        if (r.chance(0.4)) argv.push("MATCH", r.pick(["*", "s*", "?1", "[hz]*"]));
        if (r.chance(0.3)) argv.push("TYPE", r.pick(["string", "list", "set", "zset", "hash", "nosuchtype"]));
        return [[argv, { k: "scan", pairs: false }]];
      }
      case 14:
      case 15:
      {
        const src = r.pick(ALL_KEYS);
        return [[[r.pick(["rename", "renamenx"]), src, this.moveTarget(src)]]];
      }
      case 16:
        return [[["dbsize"]]];
      case 17:
      case 18:
        return [[["select", r.chance(0.95) ? r.pick(DBS) : r.pick(["16", "-1", "x", "15"])]]];
      case 19:
        return [[["randomkey"], SHAPE]];
      case 20:
      case 21: {
        const src = r.pick(ALL_KEYS);
        const argv: Arg[] = ["copy", src, this.moveTarget(src)];
        if (r.chance(0.4)) argv.push("DB", r.pick(DBS));
        if (r.chance(0.4)) argv.push("REPLACE");
        return [[argv]];
      }
      case 22:
        // Rare: empty a database (keeps collections small over long runs).
        return r.chance(0.15) ? [[["flushdb"]]] : [[["dbsize"]]];
      default:
        return r.chance(0.05) ? [[["flushall"]]] : [[["exists", r.pick(ALL_KEYS)]]];
    }
  }

  hashes(): One {
    const r = this.r;
    const hk = () => this.key(H_KEYS);
    const f = () => r.pick(FIELDS);
    const v = () => r.pick(HVALUES);
    switch (r.int(22)) {
      case 0:
      case 1:
      case 2: {
        const argv: Arg[] = [r.pick(["hset", "hset", "hmset"]), hk()];
        for (let i = r.range(1, 3); i > 0; i--) argv.push(f(), v());
        return [argv];
      }
      case 3:
        return [["hsetnx", hk(), f(), v()]];
      case 4:
      case 5:
        return [["hget", this.readKey(H_KEYS), f()]];
      case 6:
        return [["hmget", this.readKey(H_KEYS), ...r.some(FIELDS, 1, 4)]];
      case 7:
        return [["hdel", hk(), ...r.some(FIELDS, 1, 3)]];
      case 8:
        return [["hexists", this.readKey(H_KEYS), f()]];
      case 9:
        return [["hlen", this.readKey(H_KEYS)]];
      case 10:
        return [[r.pick(["hkeys", "hvals"]), this.readKey(H_KEYS)], SORTED];
      case 11:
        return [["hgetall", this.readKey(H_KEYS)], PAIRS];
      case 12:
      case 13:
        if (r.chance(0.1)) return [["hincrby", hk(), BIG_FIELD, r.pick(BIG_INCRS)]];
        return [["hincrby", hk(), f(), r.chance(0.95) ? r.pick(INT_INCRS) : r.pick(["x", "1.5"])]];
      case 14:
      case 15:
        return [["hincrbyfloat", hk(), f(), r.chance(0.95) ? r.pick(FLOAT_INCRS) : r.pick(["inf", "x", "nan"])]];
      case 16:
        return [["hstrlen", this.readKey(H_KEYS), f()]];
      case 17: {
        const argv: Arg[] = ["hscan", this.readKey(H_KEYS), "0", "COUNT", "1000"];
        if (r.chance(0.3)) argv.push("MATCH", r.pick(["f*", "*", "?"]));
        return [argv, { k: "scan", pairs: true }];
      }
      case 18: {
        const c = r.int(5);
        const k = this.readKey(H_KEYS);
        if (c === 0) return [["hrandfield", k], SHAPE];
        if (c === 1) return [["hrandfield", k, POP_ALL], SORTED];
        if (c === 2) return [["hrandfield", k, POP_ALL, "WITHVALUES"], PAIRS];
        if (c === 3) return [["hrandfield", k, r.pick(["-3", "2", "-1"]), ...(r.chance(0.5) ? ["WITHVALUES"] : [])], SHAPE];
        return [["hrandfield", k, r.pick(["0", "x", "1"]), ...(r.chance(0.3) ? ["FOO"] : [])], SHAPE];
      }
      default:
        return [["hset", hk(), f(), v()]];
    }
  }

  lists(): One {
    const r = this.r;
    const lk = () => this.key(L_KEYS);
    const e = () => r.pick(ELEMS);
    switch (r.int(31)) {
      case 29:
      case 30: {
        // Blocking pops on one connection: with data they answer at once as their non-blocking
        // form; on empty keys they wait their (short) timeout and answer nil, as nothing else
        // writes meanwhile; inside MULTI they never block. Never timeout 0 (forever).
        const t = () => (r.chance(0.95) ? r.pick(BLOCK_TIMEOUTS) : r.pick(["-1", "x", "inf"]));
        const keys = r.some([...L_KEYS, MISSING, ...(r.chance(0.1) ? ["z0"] : [])], 1, 3);
        switch (r.int(5)) {
          case 0:
            return [[r.pick(["blpop", "brpop"]), ...keys, t()]];
          case 1:
            return [["brpoplpush", lk(), lk(), t()]];
          case 2:
            return [["blmove", lk(), lk(), r.pick(["LEFT", "RIGHT"]), r.chance(0.95) ? r.pick(["LEFT", "RIGHT"]) : "UP", t()]];
          default: {
            const argv: Arg[] = ["blmpop", t(), String(keys.length), ...keys, r.pick(["LEFT", "RIGHT"])];
            if (r.chance(0.5)) argv.push("COUNT", r.pick(["1", "2", "5", "0"]));
            return [argv];
          }
        }
      }
      case 26:
      case 27:
      case 28: {
        // SORT / SORT_RO over lists and sets; BY/GET patterns on s* strings and h* hashes. Not over
        // sorted sets here: Redis's SORT converts one to a skiplist for good, after which its
        // replies show -0 scores that a listpack shows as 0 (we model no encodings).
        const src = r.pick([...L_KEYS, ...T_KEYS, MISSING, ...(r.chance(0.05) ? ["s0"] : [])]);
        const ro = r.chance(0.3);
        const argv: Arg[] = [ro ? "sort_ro" : "sort", src];
        const by = r.chance(0.4) ? r.pick(["nosort", "s*", "h*->f0", "nokey*"]) : null;
        const alpha = r.chance(0.5);
        const store = !ro && r.chance(0.3) && !(by !== null && by !== "nosort" && alpha);
        if (by) argv.push("BY", by);
        // No defined order (Redis's qsort of ties, its hash table's order): ties under ALPHA BY;
        // a set BY a constant; ALPHA without STORE, which compares up to a NUL ("" = "\0bin…").
        // Any key may hold a set now and then (WRONGTYPE writes), so judge by the options alone.
        const unordered = !store && (by === "nosort" || alpha);
        if (!unordered && r.chance(0.3)) argv.push("LIMIT", r.pick(["0", "1", "-1", "2"]), r.pick(["1", "2", "-1", "0", "10"]));
        for (let i = r.int(3); i > 0; i--) argv.push("GET", r.pick(["#", "s*", "h*->f1", "nostar"]));
        if (r.chance(0.4)) argv.push(r.pick(["ASC", "DESC"]));
        if (alpha) argv.push("ALPHA");
        if (store) argv.push("STORE", r.pick(L_KEYS));
        if (r.chance(0.03)) argv.push(r.pick(["LIMIT", "FOO", "STORE"]));
        return [argv, unordered ? SORTED : EXACT];
      }
      case 24:
      case 25: {
        const keys = r.some([...L_KEYS, MISSING, ...(r.chance(0.1) ? ["z0"] : [])], 1, 3);
        const argv: Arg[] = ["lmpop", r.chance(0.95) ? String(keys.length) : r.pick(["0", "-1", "x", "9"]), ...keys, r.chance(0.95) ? r.pick(["LEFT", "RIGHT"]) : "UP"];
        if (r.chance(0.5)) argv.push("COUNT", r.pick(["1", "2", "5", "0", "x"]));
        return [argv];
      }
      case 0:
      case 1:
      case 2:
        return [[r.pick(["lpush", "rpush"]), lk(), ...r.some(ELEMS, 1, 4)]];
      case 3:
        return [[r.pick(["lpushx", "rpushx"]), lk(), ...r.some(ELEMS, 1, 2)]];
      case 4:
      case 5: {
        const argv: Arg[] = [r.pick(["lpop", "rpop"]), lk()];
        if (r.chance(0.4)) argv.push(r.chance(0.9) ? r.pick(["0", "1", "2", "5"]) : r.pick(["-1", "x"]));
        return [argv];
      }
      case 6:
        return [["llen", this.readKey(L_KEYS)]];
      case 7:
      case 8:
        return [["lrange", this.readKey(L_KEYS), r.pick(STARTS), r.pick(STOPS)]];
      case 9:
        return [["lindex", this.readKey(L_KEYS), r.chance(0.95) ? r.pick(INDEXES) : "x"]];
      case 10:
        return [["lset", lk(), r.chance(0.95) ? r.pick(INDEXES) : "x", e()]];
      case 11:
        return [["lrem", lk(), r.pick(["0", "1", "-1", "2", "-2"]), e()]];
      case 12:
        return [["ltrim", lk(), r.pick(STARTS), r.pick(STOPS)]];
      case 13:
        return [["linsert", lk(), r.chance(0.95) ? r.pick(["BEFORE", "AFTER", "before"]) : "MIDDLE", e(), e()]];
      case 14:
      case 15: {
        const argv: Arg[] = ["lpos", this.readKey(L_KEYS), e()];
        if (r.chance(0.4)) argv.push("RANK", r.pick(["1", "-1", "2", "-2", "1", "-1", "2", "0"]));
        if (r.chance(0.4)) argv.push("COUNT", r.pick(["0", "1", "2", "0", "1", "2", "-1"]));
        if (r.chance(0.3)) argv.push("MAXLEN", r.pick(["0", "1", "3", "2", "1", "3", "-1"]));
        return [argv];
      }
      case 16:
      case 17:
        return [["lmove", lk(), lk(), r.pick(["LEFT", "RIGHT"]), r.chance(0.97) ? r.pick(["LEFT", "RIGHT"]) : "UP"]];
      case 18:
        return [["rpoplpush", lk(), lk()]];
      default:
        return [["rpush", r.pick(L_KEYS), e()]];
    }
  }

  sets(): One {
    const r = this.r;
    const tk = () => this.key(T_KEYS);
    const m = () => r.pick(MEMBERS);
    switch (r.int(24)) {
      case 22:
      case 23: {
        const keys = r.some([...T_KEYS, ...T_KEYS, MISSING, ...(r.chance(0.1) ? ["s0"] : [])], 1, 3);
        const argv: Arg[] = ["sintercard", r.chance(0.95) ? String(keys.length) : r.pick(["0", "-1", "x", "9"]), ...keys];
        if (r.chance(0.4)) argv.push(r.chance(0.95) ? "LIMIT" : "LIM", r.pick(["0", "1", "2", "-1", "x"]));
        return [argv];
      }
      case 0:
      case 1:
      case 2:
        return [["sadd", tk(), ...r.some(MEMBERS, 1, 4)]];
      case 3:
      case 4:
        return [["srem", tk(), ...r.some(MEMBERS, 1, 3)]];
      case 5:
        return [["smembers", this.readKey(T_KEYS)], SORTED];
      case 6:
        return [["sismember", this.readKey(T_KEYS), m()]];
      case 7:
        return [["smismember", this.readKey(T_KEYS), ...r.some(MEMBERS, 1, 4)]];
      case 8:
        return [["scard", this.readKey(T_KEYS)]];
      case 9: {
        const c = r.int(4);
        if (c === 0) return [["spop", tk(), POP_ALL], SORTED];
        if (c === 1) return [["spop", r.pick([...N_KEYS, ...BIG_KEYS])]];
        if (c === 2) return [["spop", tk(), r.pick(["0", "-1", "x"])]];
        return [["spop", tk(), POP_ALL, ...(r.chance(0.5) ? ["1"] : [])], SORTED];
      }
      case 10: {
        const c = r.int(3);
        const k = this.readKey(T_KEYS);
        if (c === 0) return [["srandmember", k], SHAPE];
        if (c === 1) return [["srandmember", k, POP_ALL], SORTED];
        return [["srandmember", k, r.pick(["-3", "2", "0", "x"])], SHAPE];
      }
      case 11:
        return [["smove", tk(), tk(), m()]];
      case 12:
      case 13:
        return [[r.pick(["sunion", "sinter", "sdiff"]), ...r.some([...T_KEYS, ...T_KEYS, MISSING, ...S_KEYS.slice(0, 1)], 1, 3)], SORTED];
      case 14:
      case 15:
        return [[r.pick(["sunionstore", "sinterstore", "sdiffstore"]), tk(), ...r.some([...T_KEYS, ...T_KEYS, MISSING], 1, 3)]];
      case 16: {
        const argv: Arg[] = ["sscan", this.readKey(T_KEYS), "0", "COUNT", "1000"];
        if (r.chance(0.3)) argv.push("MATCH", r.pick(["*", "?", "1*"]));
        return [argv, { k: "scan", pairs: false }];
      }
      default:
        return [["sadd", r.pick(T_KEYS), m()]];
    }
  }

  zsets(): One {
    const r = this.r;
    const zk = () => this.key(Z_KEYS);
    const zr = () => this.readKey(Z_KEYS);
    const m = () => r.pick(ZMEMBERS);
    const sc = () => r.pick(SCORES);
    const withScores = (argv: Arg[]) => {
      if (r.chance(0.5)) argv.push("WITHSCORES");
      return argv;
    };
    const limit = (argv: Arg[]) => {
      if (r.chance(0.3)) argv.push("LIMIT", r.pick(["0", "1", "2", "-1"]), r.pick(["1", "2", "-1", "0", "10"]));
      return argv;
    };
    switch (r.int(48)) {
      case 46:
      case 47: {
        // BZPOPMIN/BZPOPMAX/BZMPOP: see the blocking list pops above.
        const t = () => (r.chance(0.95) ? r.pick(BLOCK_TIMEOUTS) : r.pick(["-1", "x"]));
        const keys = r.some([...Z_KEYS, MISSING, ...(r.chance(0.1) ? ["l0"] : [])], 1, 3);
        if (r.chance(0.6)) return [[r.pick(["bzpopmin", "bzpopmax"]), ...keys, t()]];
        const argv: Arg[] = ["bzmpop", t(), String(keys.length), ...keys, r.pick(["MIN", "MAX"])];
        if (r.chance(0.5)) argv.push("COUNT", r.pick(["1", "2", "5"]));
        return [argv];
      }
      case 34:
      case 35:
      case 36: {
        // ZUNION/ZINTER/ZDIFF (sets score 1), with weights and aggregates.
        const op = r.pick(["zunion", "zinter", "zdiff"]);
        const keys = r.some([...Z_KEYS, ...Z_KEYS, ...T_KEYS.slice(0, 1), MISSING, ...(r.chance(0.1) ? ["s0"] : [])], 1, 3);
        const argv: Arg[] = [op, String(keys.length), ...keys];
        if (op !== "zdiff" && r.chance(0.4)) argv.push("WEIGHTS", ...keys.map(() => r.pick(WEIGHT_VALUES)));
        if (op !== "zdiff" && r.chance(0.4)) argv.push("AGGREGATE", r.pick(["SUM", "MIN", "MAX"]));
        return [withScores(argv)];
      }
      case 37:
      case 38: {
        const op = r.pick(["zunionstore", "zinterstore", "zdiffstore"]);
        const keys = r.some([...Z_KEYS, ...Z_KEYS, ...T_KEYS.slice(0, 1), MISSING], 1, 3);
        const argv: Arg[] = [op, r.pick(Z_KEYS), String(keys.length), ...keys];
        if (op !== "zdiffstore" && r.chance(0.4)) argv.push("WEIGHTS", ...keys.map(() => r.pick(WEIGHT_VALUES)));
        if (op !== "zdiffstore" && r.chance(0.4)) argv.push("AGGREGATE", r.pick(["SUM", "MIN", "MAX"]));
        return [argv];
      }
      case 39: {
        const keys = r.some([...Z_KEYS, ...T_KEYS.slice(0, 1), MISSING], 1, 3);
        const argv: Arg[] = ["zintercard", String(keys.length), ...keys];
        if (r.chance(0.4)) argv.push("LIMIT", r.pick(["0", "1", "2", "-1", "x"]));
        return [argv];
      }
      case 40: {
        const c = r.int(3);
        if (c === 0) return [["zrangestore", r.pick(Z_KEYS), zr(), r.pick(STARTS), r.pick(STOPS), ...(r.chance(0.3) ? ["REV"] : [])]];
        if (c === 1) return [limit(["zrangestore", r.pick(Z_KEYS), zr(), r.pick(SCORE_BOUNDS), r.pick(SCORE_BOUNDS), "BYSCORE", ...(r.chance(0.3) ? ["REV"] : [])])];
        return [limit(["zrangestore", r.pick(Z_KEYS), r.pick(LEX_KEYS), r.pick(LEX_BOUNDS), r.pick(LEX_BOUNDS), "BYLEX"])];
      }
      case 41: {
        const keys = r.some([...Z_KEYS, MISSING, ...(r.chance(0.1) ? ["l0"] : [])], 1, 3);
        const argv: Arg[] = ["zmpop", r.chance(0.95) ? String(keys.length) : r.pick(["0", "-1", "x", "9"]), ...keys, r.chance(0.95) ? r.pick(["MIN", "MAX"]) : "MID"];
        if (r.chance(0.5)) argv.push("COUNT", r.pick(["1", "2", "5", "0", "x"]));
        return [argv];
      }
      case 42: {
        const c = r.int(4);
        const k = zr();
        if (c === 0) return [["zrandmember", k], SHAPE];
        if (c === 1) return [["zrandmember", k, POP_ALL], SORTED];
        if (c === 2) return [["zrandmember", k, POP_ALL, "WITHSCORES"], PAIRS];
        return [["zrandmember", k, r.pick(["-3", "2", "0", "x"]), ...(r.chance(0.3) ? [r.pick(["WITHSCORES", "FOO"])] : [])], SHAPE];
      }
      case 43:
        // Lex ranges only over equal scores (see LEX_KEYS); other types for WRONGTYPE.
        return [["zlexcount", r.chance(0.95) ? r.pick(LEX_KEYS) : r.pick([...BIG_KEYS, ...N_KEYS, MISSING]), r.pick(LEX_BOUNDS), r.pick(LEX_BOUNDS)]];
      case 44:
        return [["zremrangebylex", r.pick(LEX_KEYS), r.pick(LEX_BOUNDS), r.pick(LEX_BOUNDS)]];
      case 45:
        return [
          r.pick<Arg[]>([
            ["zunion", "0", "z0"],
            ["zunion", "3", "z0"],
            ["zunionstore", "z0", "x", "z1"],
            ["zinter", "1", "z0", "WEIGHTS", "x"],
            ["zinter", "1", "z0", "AGGREGATE", "avg"],
            ["zdiff", "1", "z0", "WEIGHTS", "1"],
            ["zunionstore", "z0", "1", "z1", "WITHSCORES"],
            ["zintercard", "1", "z0", "LIMIT", "-1"],
            ["zrangestore", "z0", "z1", "0", "-1", "WITHSCORES"],
            ["zrandmember", "z0", "-9223372036854775808"],
            ["zrandmember", "z0", "9223372036854775807", "WITHSCORES"],
            ["zmpop", "1", "z0"],
            ["zmpop", "1", "z0", "MIN", "COUNT", "1", "COUNT", "2"],
            ["zlexcount", "zl", "a", "b"],
          ]),
        ];
      case 0:
      case 1:
      case 2:
      case 3: {
        const argv: Arg[] = ["zadd", zk()];
        if (r.chance(0.15)) argv.push(r.pick(["NX", "XX"]));
        if (r.chance(0.15)) argv.push(r.pick(["GT", "LT"]));
        if (r.chance(0.15)) argv.push("CH");
        if (r.chance(0.1)) {
          argv.push("INCR", r.pick(ZINCRS), m());
          return [argv];
        }
        for (let i = r.range(1, 3); i > 0; i--) argv.push(r.chance(0.97) ? sc() : r.pick(["x", "nan", ""]), m());
        return [argv];
      }
      case 4:
      case 5:
        return [["zrem", zk(), ...r.some(ZMEMBERS, 1, 3)]];
      case 6:
        return [["zscore", zr(), m()]];
      case 7:
        return [["zmscore", zr(), ...r.some(ZMEMBERS, 1, 3)]];
      case 8:
      case 9:
        return [["zincrby", zk(), r.chance(0.95) ? r.pick(ZINCRS) : "x", m()]];
      case 10:
        return [["zcard", zr()]];
      case 11:
        return [["zcount", zr(), r.pick(SCORE_BOUNDS), r.pick(SCORE_BOUNDS)]];
      case 12:
      case 13: {
        const argv: Arg[] = ["zrange", zr(), r.pick(STARTS), r.pick(STOPS)];
        if (r.chance(0.3)) argv.push("REV");
        return [withScores(argv)];
      }
      case 14:
      case 15: {
        const rev = r.chance(0.3);
        const argv: Arg[] = ["zrange", zr(), r.pick(SCORE_BOUNDS), r.pick(SCORE_BOUNDS), "BYSCORE"];
        if (rev) argv.push("REV");
        return [withScores(limit(argv))];
      }
      case 16:
      case 27: {
        const c = r.int(4);
        if (c === 0) return [["zadd", r.pick(LEX_KEYS), ...(r.chance(0.2) ? [r.pick(["NX", "XX", "CH"])] : []), "0", m(), ...(r.chance(0.5) ? ["0", m()] : [])]];
        if (c === 1) return [["zrem", r.pick(LEX_KEYS), m()]];
        const argv: Arg[] = ["zrange", r.chance(0.95) ? r.pick(LEX_KEYS) : r.pick([...BIG_KEYS, ...N_KEYS]), r.pick(LEX_BOUNDS), r.pick(LEX_BOUNDS), "BYLEX"];
        if (r.chance(0.3)) argv.push("REV");
        return [limit(argv)];
      }
      case 17:
        return [withScores(limit(["zrangebyscore", zr(), r.pick(SCORE_BOUNDS), r.pick(SCORE_BOUNDS)]))];
      case 18:
        return [withScores(limit(["zrevrangebyscore", zr(), r.pick(SCORE_BOUNDS), r.pick(SCORE_BOUNDS)]))];
      case 19:
        return [withScores(["zrevrange", zr(), r.pick(STARTS), r.pick(STOPS)])];
      case 20:
        return [[r.pick(["zrank", "zrevrank"]), zr(), m()]];
      case 21:
      case 22: {
        const argv: Arg[] = [r.pick(["zpopmin", "zpopmax"]), zk()];
        if (r.chance(0.5)) argv.push(r.pick(["1", "2", "0", "5", "-1"]));
        return [argv];
      }
      case 23:
        return [["zremrangebyrank", zk(), r.pick(STARTS), r.pick(STOPS)]];
      case 24:
        return [["zremrangebyscore", zk(), r.pick(SCORE_BOUNDS), r.pick(SCORE_BOUNDS)]];
      case 25: {
        const argv: Arg[] = ["zscan", zr(), "0", "COUNT", "1000"];
        if (r.chance(0.3)) argv.push("MATCH", r.pick(["*", "m*", "?"]));
        return [argv, { k: "scan", pairs: true }];
      }
      case 26: {
        // Option mixes that Redis refuses, with the keys' types in play.
        return [
          r.pick<Arg[]>([
            ["zadd", zk(), "NX", "XX", "1", "a"],
            ["zadd", zk(), "GT", "LT", "1", "a"],
            ["zadd", zk(), "NX", "GT", "1", "a"],
            ["zadd", zk(), "INCR", "1", "a", "2", "b"],
            ["zadd", zk(), "1", "a", "2"],
            ["zrange", zr(), "0", "1", "LIMIT", "0", "1"],
            ["zrange", zr(), "0", "1", "BYSCORE", "BYLEX"],
            ["zrange", zr(), "(a", "[b", "BYSCORE"],
            ["zrange", zr(), "1", "2", "BYLEX"],
            ["zrangebyscore", zr(), "x", "1"],
            ["zrangebyscore", zr(), "0", "1", "LIMIT", "x", "1"],
            ["zcount", zr(), "(x", "1"],
            ["zremrangebyrank", zk(), "a", "1"],
            ["zpopmin", zk(), "x"],
            ["zrange", zr(), "0", "-1", "WITHSCORES", "BYLEX"],
          ]),
        ];
      }
      default:
        return [["zadd", r.pick(Z_KEYS), sc(), m()]];
    }
  }

  /** A coordinate pair near one of the centres (sometimes anywhere), as decimal text. */
  lonLat(): [string, string] {
    const r = this.r;
    const u = () => r.u32() / 4294967296;
    let lon: number;
    let lat: number;
    if (r.chance(0.15)) {
      lon = -180 + 360 * u();
      lat = -85.05 + 170.1 * u();
    } else {
      const [cx, cy] = r.pick(G_CENTRES);
      const spread = r.pick([0.01, 0.3, 2, 6]);
      lon = Math.max(-180, Math.min(180, cx + spread * (2 * u() - 1)));
      lat = Math.max(-85.05, Math.min(85.05, cy + spread * (2 * u() - 1)));
    }
    return [lon.toFixed(r.pick([0, 3, 6])), lat.toFixed(r.pick([0, 4, 6]))];
  }

  geo(): One {
    const r = this.r;
    const gk = () => (r.chance(0.04) ? r.pick(["s0", NEVER_KEY]) : r.pick([...G_KEYS, "g2"]));
    const member = (k: string) => (k === "g2" && r.chance(0.8) ? r.pick(G2_MEMBERS) : r.pick(G_MEMBERS));
    const unit = () => (r.chance(0.02) ? "yd" : r.pick(G_UNITS));
    const dist = () => (r.chance(0.03) ? r.pick(["-1", "x"]) : r.pick(["0", "1", "500", "20", "150", "1000", "3000", "8000", "19000", "0.5", "250.75"]));
    const pair = (): string[] => {
      if (r.chance(0.03)) return r.pick([["181", "0"], ["0", "85.06"], ["abc", "1"], ["1", "inf"], ["-180.5", "-90"]]);
      return this.lonLat();
    };
    const key = gk();
    switch (r.int(13)) {
      case 12:
        // What STOREDIST stored: member order and scores, the scores to 1e-12.
        return [["zrange", GEO_DIST_KEY, "0", "-1", "WITHSCORES"], { k: "close", tol: 1e-12 }];
      case 0:
      case 1:
      case 2: {
        // GEOADD (the only writer of geo keys with GEO*STORE).
        const k = r.chance(0.03) ? r.pick(["s0", MISSING]) : r.pick([...G_KEYS, "g2", "g2"]);
        const argv: Arg[] = [this.name("geoadd"), k];
        if (r.chance(0.15)) argv.push(r.pick(["nx", "xx", "NX"]));
        if (r.chance(0.15)) argv.push("ch");
        if (r.chance(0.02)) argv.push("xx", "nx");
        for (let i = r.range(1, 4); i > 0; i--) argv.push(...pair(), member(k));
        if (r.chance(0.02)) argv.push("1");
        return [argv];
      }
      case 3:
        return [[this.name("geopos"), key, ...Array.from({ length: r.range(1, 4) }, () => member(key))]];
      case 4:
        return [[this.name("geohash"), key, ...Array.from({ length: r.range(1, 4) }, () => member(key))]];
      case 5: {
        const argv: Arg[] = [this.name("geodist"), key, member(key), member(key)];
        if (r.chance(0.6)) argv.push(unit());
        if (r.chance(0.03)) argv.push("km");
        return [argv];
      }
      default: {
        const variant = r.pick(["geosearch", "geosearch", "geosearchstore", "georadius", "georadius_ro", "georadiusbymember", "georadiusbymember_ro"]);
        const argv: Arg[] = [this.name(variant)];
        const opts: Arg[][] = [];
        const store = variant === "geosearchstore";
        // STOREDIST scores are distances, not points: they go to GEO_DIST_KEY only.
        const storeDist = r.chance(0.4);
        if (store) argv.push(storeDist ? GEO_DIST_KEY : r.chance(0.9) ? r.pick(G_KEYS) : r.pick(["z0", "s1"]));
        argv.push(key);
        if (variant === "georadius" || variant === "georadius_ro") argv.push(...pair(), dist(), unit());
        else if (variant.startsWith("georadiusbymember")) argv.push(member(key), dist(), unit());
        else {
          const from = r.chance(0.5) ? ["FROMMEMBER", member(key)] : ["fromlonlat", ...pair()];
          const by = r.chance(0.5) ? ["BYRADIUS", dist(), unit()] : ["bybox", dist(), dist(), unit()];
          if (!r.chance(0.03)) opts.push(from);
          if (!r.chance(0.03)) opts.push(by);
        }
        if (r.chance(0.4)) opts.push([r.pick(["ASC", "desc"])]);
        if (r.chance(0.35)) {
          const c = ["COUNT", r.chance(0.05) ? r.pick(["0", "-1", "x"]) : r.pick(["1", "2", "3", "5", "50"])];
          if (r.chance(0.3)) c.push("ANY");
          opts.push(c);
        } else if (r.chance(0.02)) opts.push(["any"]);
        if (!store || r.chance(0.03)) {
          for (const w of ["WITHCOORD", "withdist", "WITHHASH"]) if (r.chance(0.35)) opts.push([w]);
        }
        if (store && storeDist) opts.push(["STOREDIST"]);
        if ((variant === "georadius" || variant === "georadiusbymember") && r.chance(0.25)) {
          opts.push(storeDist ? ["storedist", GEO_DIST_KEY] : ["STORE", r.chance(0.9) ? r.pick(G_KEYS) : "z1"]);
        }
        if (r.chance(0.02)) opts.push([r.pick(["bogus", "STORE"])]);
        // Options in any order, as Redis parses them.
        for (let i = opts.length - 1; i > 0; i--) {
          const j = r.int(i + 1);
          [opts[i], opts[j]] = [opts[j]!, opts[i]!];
        }
        for (const o of opts) argv.push(...o);
        return [argv];
      }
    }
  }

  server(): One {
    const r = this.r;
    switch (r.int(4)) {
      case 0:
        return [["ping"]];
      case 1:
        return [["ping", r.pick(VALUES)]];
      case 2:
        return [["echo", r.pick(VALUES)]];
      default:
        return [["dbsize"]];
    }
  }

  errors(): One {
    const r = this.r;
    switch (r.int(4)) {
      case 0: {
        // Wrong arity.
        const [name, arity] = r.pick(ARITIES);
        let argc: number;
        if (arity > 0) argc = r.chance(0.5) && arity > 1 ? arity - 1 : arity + 1;
        else argc = Math.max(1, -arity - 1);
        const argv: Arg[] = [this.name(name)];
        while (argv.length < argc) argv.push(argv.length === 1 ? r.pick(ALL_KEYS) : r.pick(["1", "a", "0"]));
        return [argv];
      }
      case 1: {
        const argv: Arg[] = [r.pick(["foobar", "FLUSHEVERYTHING", "hgetalll", "get2", "zaddd", "x"])];
        for (let i = r.int(4); i > 0; i--) argv.push(r.pick(["a", "b", "", "x".repeat(200), "1"]));
        return [argv];
      }
      case 2:
        // Non-integer and out-of-range arguments.
        return [
          r.pick<Arg[]>([
            ["incrby", this.key(S_KEYS), "1.5"],
            ["incrby", r.pick(N_KEYS), "99999999999999999999"],
            ["lrange", this.readKey(L_KEYS), "a", "1"],
            ["expire", r.pick(ALL_KEYS), "1.5"],
            ["expire", r.pick(ALL_KEYS), "9223372036854775807"],
            ["pexpire", r.pick(ALL_KEYS), "9223372036854775807"],
            ["expireat", r.pick(ALL_KEYS), "-9223372036854775808"],
            ["lindex", this.readKey(L_KEYS), "x"],
            ["hincrby", this.key(H_KEYS), "f0", "x"],
            ["setrange", this.key(S_KEYS), "-1", "x"],
            ["getrange", this.readKey(S_KEYS), "a", "1"],
            ["lpop", this.key(L_KEYS), "-1"],
            ["lpos", this.readKey(L_KEYS), "a", "RANK", "0"],
            ["lpos", this.readKey(L_KEYS), "a", "COUNT", "-1"],
            ["lpos", this.readKey(L_KEYS), "a", "RANK", r.pick(["9223372036854775807", "-9223372036854775807"])],
            ["select", r.pick(["16", "-1", "1.5", "x"])],
            ["scan", r.pick(["x", "1.5", "-"])],
            ["scan", "0", "COUNT", r.pick(["0", "x", "-1"])],
            ["setex", this.key(S_KEYS), r.pick(["0", "-10", "x"]), "v"],
            ["set", this.key(S_KEYS), "v", "EX", r.pick(["0", "-1", "x", "9223372036854775807"])],
            ["set", this.key(S_KEYS), "v", "PX", r.pick(["0", "-5"])],
            ["getex", this.key(S_KEYS), "EX", r.pick(["0", "-1", "x"])],
            ["zadd", this.key(Z_KEYS), "x", "a"],
            ["zincrby", this.key(Z_KEYS), "nan", "a"],
            ["spop", this.key(T_KEYS), "-1"],
            ["srandmember", this.readKey(T_KEYS), "x"],
            ["hrandfield", this.readKey(H_KEYS), "x"],
            ["copy", r.pick(ALL_KEYS), r.pick(WILD_KEYS), "DB", r.pick(["16", "x", "-1"])],
          ]),
        ];
      default:
        // Syntax errors.
        return [
          r.pick<Arg[]>([
            ["set", this.key(S_KEYS), "v", "XX", "NX"],
            ["set", this.key(S_KEYS), "v", "FOO"],
            ["set", this.key(S_KEYS), "v", "EX", "10", "PX", "100"],
            ["set", this.key(S_KEYS), "v", "KEEPTTL", "EX", "10"],
            ["linsert", this.key(L_KEYS), "MIDDLE", "a", "b"],
            ["lmove", this.key(L_KEYS), this.key(L_KEYS), "UP", "DOWN"],
            ["copy", r.pick(ALL_KEYS), r.pick(WILD_KEYS), "FOO"],
            ["scan", "0", "FOO"],
            ["expire", r.pick(ALL_KEYS), "100000", "NX", "XX"],
            ["expire", r.pick(ALL_KEYS), "100000", "GT", "LT"],
            ["expire", r.pick(ALL_KEYS), "100000", "FOO"],
            ["getex", this.key(S_KEYS), "EX", "100000", "PX", "100000"],
            ["getex", this.key(S_KEYS), "PERSIST", "EX", "100000"],
            ["hrandfield", this.readKey(H_KEYS), "1", "FOO"],
            ["zpopmin", this.key(Z_KEYS), "1", "2"],
            ["srandmember", this.readKey(T_KEYS), "1", "2"],
            ["lpop", this.key(L_KEYS), "1", "2"],
            ["lpos", this.readKey(L_KEYS), "a", "FOO", "1"],
            ["zrangebyscore", this.readKey(Z_KEYS), "0", "1", "FOO"],
            ["hset", this.key(H_KEYS), "f0"],
            ["hset", this.key(H_KEYS), "f0", "v", "f1"],
            ["hmset", this.key(H_KEYS), "f0", "v", "f1"],
            ["mset", this.key(S_KEYS), "v", "s1"],
            ["rename", MISSING, "s0"],
            ["flushdb", "FOO"],
            ["flushall", "NOW"],
            ["ping", "a", "b"],
          ]),
        ];
    }
  }

  /** One family's command (tx excluded). */
  single(g: Exclude<Group, "tx">): One[] {
    switch (g) {
      case "strings":
        return [this.strings()];
      case "bitmaps":
        return [this.bitmaps()];
      case "hll":
        return [this.hll()];
      case "keys":
        return this.keys();
      case "hashes":
        return [this.hashes()];
      case "lists":
        return [this.lists()];
      case "sets":
        return [this.sets()];
      case "zsets":
        return [this.zsets()];
      case "geo":
        return [this.geo()];
      case "errors":
        return [this.errors()];
      case "server":
        return [this.server()];
    }
  }

  /** MULTI … EXEC/DISCARD, sometimes after WATCH (and a write to the watched key). */
  tx(inner: readonly Exclude<Group, "tx">[]): GenCommand[] {
    const r = this.r;
    const out: GenCommand[] = [];
    const push = (argv: Arg[], mode: Mode = EXACT) => out.push({ argv, mode, group: "tx" });
    if (r.chance(0.1)) {
      push([r.pick(["exec", "discard"])]);
      return out;
    }
    if (r.chance(0.3)) {
      const k = r.pick(ALL_KEYS);
      push(["watch", k, ...(r.chance(0.3) ? [r.pick(ALL_KEYS)] : [])]);
      // A write by the same client also invalidates its WATCH (EXEC then answers nil).
      if (r.chance(0.5)) push(touch(k));
      // SMOVE into the watched key: touches it only when the member was added (Redis 7.0).
      if (r.chance(0.2)) push(["smove", r.pick(T_KEYS), k, r.pick(MEMBERS)]);
      if (r.chance(0.15)) push(["unwatch"]);
    }
    push([this.name("multi")]);
    const modes: Mode[] = [];
    let queueError = false;
    for (let i = r.range(0, 5); i > 0; i--) {
      const g = r.pick(inner);
      for (const [argv, mode] of this.single(g)) {
        const name = String(argv[0]).toLowerCase();
        if (name === "flushall" || name === "flushdb") continue;
        // Redis checks a subcommand's arity and name when queueing; we check them at EXEC.
        if (name === "object" || name === "memory") continue;
        // CONFIG SET is not queued by every server alike (and changes no key).
        if (name === "config") continue;
        push(argv, { k: "exact" });
        if (refusedAtQueueTime(argv)) queueError = true;
        else modes.push(mode ?? EXACT);
      }
    }
    if (r.chance(0.05)) push(["watch", "s0"]);
    if (r.chance(0.05)) push(["multi"]);
    const end = r.chance(0.9) ? "exec" : "discard";
    push([end], end === "exec" && !queueError ? { k: "exec", modes } : EXACT);
    return out;
  }
}

/**
 * Commands with their Redis 7.0 arity (negative: at least |n|), for wrong-arity cases.
 * Only commands whose arity can be violated (not -1).
 */
const ARITIES: readonly [string, number][] = [
  ["zunion", -3], ["zinter", -3], ["zdiff", -3], ["zunionstore", -4], ["zinterstore", -4], ["zdiffstore", -4],
  ["zintercard", -3], ["zrangestore", -5], ["zmpop", -4], ["zrandmember", -2], ["zlexcount", 4], ["zremrangebylex", 4],
  ["lmpop", -4], ["sintercard", -3], ["lcs", -3], ["substr", 4], ["touch", -2], ["swapdb", 3], ["object", -2], ["memory", -2], ["dump", 2], ["restore", -4], ["sort", -2], ["sort_ro", -2],
  ["pfadd", -2], ["pfcount", -2], ["pfmerge", -2],
  ["blpop", -3], ["brpop", -3], ["brpoplpush", 4], ["blmove", 6], ["blmpop", -5], ["bzpopmin", -3], ["bzpopmax", -3], ["bzmpop", -5],
  ["setbit", 4], ["getbit", 3], ["bitcount", -2], ["bitpos", -3], ["bitop", -4], ["bitfield", -2], ["bitfield_ro", -2],
  ["get", 2], ["set", -3], ["setnx", 3], ["setex", 4], ["psetex", 4], ["mget", -2], ["mset", -3], ["msetnx", -3],
  ["getset", 3], ["getdel", 2], ["getex", -2], ["incr", 2], ["incrby", 3], ["decr", 2], ["decrby", 3],
  ["incrbyfloat", 3], ["append", 3], ["strlen", 2], ["getrange", 4], ["setrange", 4],
  ["del", -2], ["unlink", -2], ["exists", -2], ["type", 2], ["expire", -3], ["pexpire", -3], ["expireat", -3],
  ["pexpireat", -3], ["ttl", 2], ["pttl", 2], ["expiretime", 2], ["persist", 2], ["keys", 2], ["scan", -2],
  ["rename", 3], ["renamenx", 3], ["dbsize", 1], ["select", 2], ["randomkey", 1], ["copy", -3],
  ["hset", -4], ["hsetnx", 4], ["hget", 3], ["hmget", -3], ["hmset", -4], ["hdel", -3], ["hexists", 3], ["hlen", 2],
  ["hkeys", 2], ["hvals", 2], ["hgetall", 2], ["hincrby", 4], ["hincrbyfloat", 4], ["hstrlen", 3], ["hscan", -3],
  ["hrandfield", -2], ["lpush", -3], ["rpush", -3], ["lpushx", -3], ["rpushx", -3], ["lpop", -2], ["rpop", -2],
  ["llen", 2], ["lrange", 4], ["lindex", 3], ["lset", 4], ["lrem", 4], ["ltrim", 4], ["linsert", 5], ["lpos", -3],
  ["lmove", 5], ["rpoplpush", 3], ["sadd", -3], ["srem", -3], ["smembers", 2], ["sismember", 3], ["smismember", -3],
  ["scard", 2], ["spop", -2], ["srandmember", -2], ["smove", 4], ["sunion", -2], ["sinter", -2], ["sdiff", -2],
  ["sunionstore", -3], ["sinterstore", -3], ["sdiffstore", -3], ["sscan", -3], ["zadd", -4], ["zrem", -3],
  ["zscore", 3], ["zmscore", -3], ["zincrby", 4], ["zcard", 2], ["zcount", 4], ["zrange", -4], ["zrangebyscore", -4],
  ["zrevrange", -4], ["zrevrangebyscore", -4], ["zrank", 3], ["zrevrank", 3], ["zpopmin", -2], ["zpopmax", -2],
  ["zremrangebyrank", 4], ["zremrangebyscore", 4], ["zscan", -3], ["echo", 2], ["multi", 1], ["exec", 1],
  ["discard", 1], ["watch", -2], ["unwatch", 1],
  ["geoadd", -5], ["geopos", -2], ["geohash", -2], ["geodist", -4], ["geosearch", -7], ["geosearchstore", -8],
  ["georadius", -6], ["georadius_ro", -6], ["georadiusbymember", -5], ["georadiusbymember_ro", -5],
];

const ARITY = new Map<string, number>([...ARITIES, ["ping", -1], ["flushdb", -1], ["flushall", -1]]);

/** Unknown command or wrong arity: refused when queued, so EXEC aborts (EXECABORT). */
function refusedAtQueueTime(argv: readonly Arg[]): boolean {
  const arity = ARITY.get(String(argv[0]).toLowerCase());
  if (arity === undefined) return true;
  return arity > 0 ? argv.length !== arity : argv.length < -arity;
}

export interface GenOptions {
  /** Only these families (default: all). */
  groups?: readonly Group[];
}

/**
 * `count` commands (a MULTI block may end the stream a few commands late, and with the geo
 * group 32 commands delete GEO_DIST_KEY from every database) from `seed`.
 * The stream never ends inside MULTI.
 */
export function generate(seed: number, count: number, opts: GenOptions = {}): GenCommand[] {
  const r = new Rng(seed);
  const g = new Gen(r);
  const groups = (opts.groups ?? GROUPS).filter((x) => GROUPS.includes(x));
  if (groups.length === 0) throw new Error("no command groups selected");
  const inner = groups.filter((x): x is Exclude<Group, "tx"> => x !== "tx" && x !== "errors");
  const table: Group[] = [];
  for (const x of groups) for (let i = 0; i < WEIGHTS[x]; i++) table.push(x);
  const out: GenCommand[] = [];
  while (out.length < count) {
    const grp = r.pick(table);
    if (grp === "tx") {
      out.push(...g.tx(inner.length ? [...inner, ...(groups.includes("errors") && r.chance(0.2) ? (["errors"] as const) : [])] : ["server"]));
      continue;
    }
    for (const [argv, mode] of g.single(grp)) {
      // Command names in mixed case now and then (lookup is case-insensitive).
      if (grp !== "errors" && r.chance(0.05)) argv[0] = String(argv[0]).toUpperCase();
      out.push({ argv, mode: mode ?? EXACT, group: grp });
    }
  }
  // STOREDIST's distances (GEO_DIST_KEY) leave before the digest, from every database.
  if (groups.includes("geo")) {
    for (let db = 15; db >= 0; db--) out.push({ argv: ["select", String(db)], mode: EXACT, group: "server" }, { argv: ["del", GEO_DIST_KEY], mode: EXACT, group: "geo" });
  }
  return out;
}
