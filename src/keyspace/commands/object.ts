/**
 * Key introspection and whole-database commands: TOUCH, SWAPDB, OBJECT, MEMORY USAGE.
 *
 * What our storage can and cannot say (documented in the README):
 * - OBJECT ENCODING answers the encoding redis-server 7.0 would give the value as it is now
 *   (int/embstr/raw; quicklist; intset/hashtable; listpack/hashtable; listpack/skiplist by
 *   the *-max-listpack-* / set-max-intset-entries settings). Our rows are the same whatever
 *   the answer; Redis never converts back to the compact form, we judge the current value.
 * - OBJECT IDLETIME is 0 and OBJECT REFCOUNT 1: access times are not tracked (a read would
 *   become a storage write) and values are never shared.
 * - OBJECT FREQ answers Redis's error for a non-LFU maxmemory-policy (ours is noeviction).
 * - MEMORY USAGE is the bytes the key occupies in SQLite rows: key and element bytes plus
 *   ROW_OVERHEAD_BYTES per row, collections estimated from SAMPLES elements as Redis does.
 */
import { DATABASES } from "../../limits.ts";
import { OK, type Reply, Simple } from "../../protocol/reply.ts";
import { blob, str, utf8 } from "../../util/bytes.ts";
import { parseI64 } from "../../util/numbers.ts";
import { i64Arg, opt } from "../args.ts";
import { type CommandSpec, type Ctx, cmd } from "../command.ts";
import { E, fail, unknownSubcommand } from "../errors.ts";
import { TYPE } from "../schema.ts";
import { bySubcommand } from "../permissions.ts";
import type { KeyMeta } from "../store.ts";

/** Bytes a SQLite row costs beyond its data (record header, cell pointer, key id, page slack), as MEMORY USAGE counts it. */
export const ROW_OVERHEAD_BYTES = 16;
/** Bytes of a kv_keys row beyond the key name and inline value (id, db, type, expiry, counters, index entries). */
export const KEY_ROW_OVERHEAD_BYTES = 64;
/** Elements MEMORY USAGE samples when SAMPLES is not given (Redis's OBJ_COMPUTE_SIZE_DEF_SAMPLES). */
const MEMORY_SAMPLES_DEFAULT = 5;
/** Largest collection OBJECT ENCODING scans to judge its members (past it, the compact form is out anyway). */
const ENCODING_SCAN_ROWS_MAX = 1 << 16;

function subError(ctx: Ctx): never {
  unknownSubcommand(ctx.argv[1]!, ctx.name);
}

/** TOUCH key [key ...]: the number of keys that exist (duplicates counted). */
function touch(ctx: Ctx): Reply {
  let n = 0;
  for (const k of ctx.argv.slice(1)) if (ctx.ks.lookupRead(ctx.db, k)) n++;
  return n;
}

/**
 * SWAPDB index1 index2: the two databases exchange their keys. O(1): the logical databases
 * exchange their physical numbers (keyspace/generations.ts); only a snapshot in progress
 * first dumps the two databases' keys it has not reached yet. WATCH: one lookup per watched key.
 */
function swapdb(ctx: Ctx): Reply {
  const a = i64Arg(ctx.argv[1]!, "ERR invalid first DB index");
  const b = i64Arg(ctx.argv[2]!, "ERR invalid second DB index");
  if (a < 0n || a >= BigInt(DATABASES) || b < 0n || b >= BigInt(DATABASES)) fail(E.dbIndex);
  const x = Number(a);
  const y = Number(b);
  ctx.touchedAll(x, y);
  ctx.touchedAll(y, x);
  if (x !== y) ctx.ks.swapDatabases(x, y);
  ctx.dirty++;
  return OK;
}

function configNumber(ctx: Ctx, name: string, fallback: number): number {
  const v = ctx.node.configGet(name)[0]?.[1];
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : fallback;
}

/** Redis's string2ll acceptance: the canonical decimal form of an int64. */
function isCanonicalInt(b: Uint8Array): boolean {
  if (b.length === 0 || b.length > 20) return false;
  const v = parseI64(b);
  return v !== null && String(v) === str(b);
}

function encoding(ctx: Ctx, m: KeyMeta): string {
  const sql = ctx.ks.sql;
  switch (m.type) {
    case TYPE.string: {
      if (m.card <= 20 && isCanonicalInt(ctx.ks.getString(m))) return "int";
      return m.card <= 44 ? "embstr" : "raw";
    }
    case TYPE.list:
      return "quicklist";
    case TYPE.set: {
      const max = configNumber(ctx, "set-max-intset-entries", 512);
      if (m.card > max || m.card > ENCODING_SCAN_ROWS_MAX) return "hashtable";
      for (const r of sql.exec("SELECT member FROM kv_set WHERE kid = ?", m.id)) {
        if (!isCanonicalInt(blob(r.member))) return "hashtable";
      }
      return "intset";
    }
    case TYPE.hash: {
      const entries = configNumber(ctx, "hash-max-listpack-entries", 512);
      const value = configNumber(ctx, "hash-max-listpack-value", 64);
      if (m.card > entries || m.card > ENCODING_SCAN_ROWS_MAX) return "hashtable";
      const r = sql.exec("SELECT max(max(length(field), length(value))) AS n FROM kv_hash WHERE kid = ?", m.id).one();
      return ((r.n as number | null) ?? 0) > value ? "hashtable" : "listpack";
    }
    case TYPE.zset: {
      const entries = configNumber(ctx, "zset-max-listpack-entries", 128);
      const value = configNumber(ctx, "zset-max-listpack-value", 64);
      if (m.card > entries || m.card > ENCODING_SCAN_ROWS_MAX) return "skiplist";
      const r = sql.exec("SELECT max(length(member)) AS n FROM kv_zset WHERE kid = ?", m.id).one();
      return ((r.n as number | null) ?? 0) > value ? "skiplist" : "listpack";
    }
  }
  return "raw";
}

const OBJECT_HELP = [
  "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "ENCODING <key>",
  "    Return the kind of internal representation used in order to store the value",
  "    associated with a <key>.",
  "FREQ <key>",
  "    Return the access frequency index of the <key>. The returned integer is",
  "    proportional to the logarithm of the recent access frequency of the key.",
  "IDLETIME <key>",
  "    Return the idle time of the <key>, that is the approximated number of",
  "    seconds elapsed since the last access to the key.",
  "REFCOUNT <key>",
  "    Return the number of references of the value associated with the specified",
  "    <key>.",
  "HELP",
  "    Prints this help.",
];

function object(ctx: Ctx): Reply {
  const sub = opt(ctx.argv[1]!);
  if (sub === "help") {
    if (ctx.argv.length !== 2) fail(E.arity("object|help"));
    return OBJECT_HELP.map((l) => new Simple(l));
  }
  if (sub !== "encoding" && sub !== "freq" && sub !== "idletime" && sub !== "refcount") subError(ctx);
  if (ctx.argv.length !== 3) fail(E.arity(`object|${sub}`));
  const m = ctx.ks.lookupRead(ctx.db, ctx.argv[2]!);
  if (!m) return null;
  switch (sub) {
    case "encoding":
      return utf8(encoding(ctx, m));
    case "freq":
      fail(
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
      );
    case "idletime":
      return 0;
    case "refcount":
      return 1;
  }
}

/** Bytes of sampled element rows of a collection, scaled to its size. */
function elementBytes(ctx: Ctx, m: KeyMeta, samples: number): number {
  const sql = ctx.ks.sql;
  const q: Record<number, string> = {
    [TYPE.list]: "SELECT length(value) + 8 AS n FROM kv_list WHERE kid = ? LIMIT ?",
    [TYPE.set]: "SELECT length(member) AS n FROM kv_set WHERE kid = ? LIMIT ?",
    [TYPE.zset]: "SELECT length(member) + 8 AS n FROM kv_zset WHERE kid = ? LIMIT ?",
    [TYPE.hash]: "SELECT length(field) + length(value) AS n FROM kv_hash WHERE kid = ? LIMIT ?",
  };
  const sql1 = q[m.type];
  if (!sql1 || m.card === 0) return 0;
  const take = Math.min(samples, m.card);
  let sum = 0;
  let seen = 0;
  for (const r of sql.exec(sql1, m.id, take)) {
    sum += (r.n as number) + ROW_OVERHEAD_BYTES;
    seen++;
  }
  // The zset score index holds member and score again.
  const perRow = seen ? sum / seen : 0;
  return Math.round(perRow * m.card * (m.type === TYPE.zset ? 2 : 1));
}

const MEMORY_HELP = [
  "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "USAGE <key> [SAMPLES <count>]",
  "    Return memory in bytes used by <key> and its value. Nested values are",
  "    sampled up to <count> times (default: 5, 0 means sample all).",
  "HELP",
  "    Prints this help.",
];

function memory(ctx: Ctx): Reply {
  const sub = opt(ctx.argv[1]!);
  if (sub === "help") {
    if (ctx.argv.length !== 2) fail(E.arity("memory|help"));
    return MEMORY_HELP.map((l) => new Simple(l));
  }
  if (sub !== "usage") subError(ctx);
  if (ctx.argv.length < 3) fail(E.arity("memory|usage"));
  let samples = MEMORY_SAMPLES_DEFAULT;
  for (let j = 3; j < ctx.argv.length; j++) {
    if (opt(ctx.argv[j]!) === "samples" && j + 1 < ctx.argv.length) {
      const v = i64Arg(ctx.argv[++j]!);
      if (v < 0n) fail(E.syntax);
      samples = v === 0n ? Number.MAX_SAFE_INTEGER : Number(v);
    } else fail(E.syntax);
  }
  const m = ctx.ks.lookupRead(ctx.db, ctx.argv[2]!);
  if (!m) return null;
  const base = KEY_ROW_OVERHEAD_BYTES + m.key.length;
  if (m.type === TYPE.string) return base + m.card + m.nchunks * ROW_OVERHEAD_BYTES;
  return base + elementBytes(ctx, m, samples);
}

const READ = ["read"] as const;

export const objectCommands: CommandSpec[] = [
  cmd("touch", -2, ["readonly", "fast"], [1, -1, 1], touch),
  cmd("swapdb", 3, ["write", "fast"], [0, 0, 0], swapdb, ["write", "dangerous"]),
  cmd("object", -2, [], [0, 0, 0], object, bySubcommand("object", Object.fromEntries(["encoding", "freq", "idletime", "refcount", "help"].map((s) => [s, READ])))),
  cmd("memory", -2, [], [0, 0, 0], memory, bySubcommand("memory", { usage: READ, help: READ })),
];
