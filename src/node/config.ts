/**
 * CONFIG GET/SET parameters a node supports, with Redis's names, defaults and validation,
 * persisted in SQLite so they survive restarts.
 */
import { compileGlob } from "../keyspace/glob.ts";
import { applyOutputLimits, type ClientClass, formatOutputLimits, type OutputLimit, OUTPUT_LIMITS_DEFAULT_TEXT, parseOutputLimits } from "../replication/output-limit.ts";
import { utf8 } from "../util/bytes.ts";

/** masterauth / masteruser longer than this are refused (Redis has no limit; ours is ample). */
export const MASTERAUTH_BYTES_MAX = 512;
/** What CONFIG GET shows for a secret that is set (an unset one shows ""). */
export const SECRET_SHOWN = "<redacted>";

/**
 * `obuf`: Redis's client-output-buffer-limit ("<class> <hard> <soft> <seconds>" groups);
 * `secret`: a string never printed back by CONFIG GET (masterauth), at most `bytesMax` long;
 * `fixed`: reported as Redis reports it, and CONFIG SET takes only the value it has (`why` says
 * why no other).
 */
type Kind =
  | { t: "int"; min: number; max: number }
  | { t: "bool" }
  | { t: "memory"; min: number; max: number }
  | { t: "obuf" }
  | { t: "secret"; bytesMax: number }
  | { t: "fixed"; why: string };

interface Param {
  name: string;
  kind: Kind;
  default: string;
  aliases?: string[];
}

const MB = 1024 * 1024;
/** C's LONG_MAX as the nearest double (the encoding parameters' upper bound). */
const LONG_MAX = 2 ** 63 - 1;

export const PARAMS: Param[] = [
  { name: "repl-backlog-size", kind: { t: "memory", min: 16 * 1024, max: 1024 * MB }, default: String(64 * MB) },
  { name: "repl-backlog-ttl", kind: { t: "int", min: 0, max: 2 ** 31 - 1 }, default: "3600" },
  { name: "repl-ping-replica-period", kind: { t: "int", min: 1, max: 2 ** 31 - 1 }, default: "10", aliases: ["repl-ping-slave-period"] },
  { name: "repl-timeout", kind: { t: "int", min: 1, max: 2 ** 31 - 1 }, default: "60" },
  { name: "replica-serve-stale-data", kind: { t: "bool" }, default: "yes", aliases: ["slave-serve-stale-data"] },
  { name: "replica-read-only", kind: { t: "bool" }, default: "yes", aliases: ["slave-read-only"] },
  { name: "min-replicas-to-write", kind: { t: "int", min: 0, max: 2 ** 31 - 1 }, default: "0", aliases: ["min-slaves-to-write"] },
  { name: "min-replicas-max-lag", kind: { t: "int", min: 0, max: 2 ** 31 - 1 }, default: "10", aliases: ["min-slaves-max-lag"] },
  { name: "replica-priority", kind: { t: "int", min: 0, max: 2 ** 31 - 1 }, default: "100", aliases: ["slave-priority"] },
  // Credentials for an outside Redis master (SPEC §3): AUTH [masteruser] masterauth.
  { name: "masterauth", kind: { t: "secret", bytesMax: MASTERAUTH_BYTES_MAX }, default: "" },
  { name: "masteruser", kind: { t: "secret", bytesMax: MASTERAUTH_BYTES_MAX }, default: "" },
  { name: "repl-diskless-sync", kind: { t: "bool" }, default: "yes" },
  // A script running longer is stopped and its writes rolled back (Redis: BUSY after this time).
  { name: "busy-reply-threshold", kind: { t: "int", min: 0, max: 2 ** 31 - 1 }, default: "5000", aliases: ["lua-time-limit"] },
  { name: "databases", kind: { t: "int", min: 16, max: 16 }, default: "16" },
  // Persistence as INFO persistence reports it (clients such as redis-benchmark ask for both):
  // every write is in the node's storage before it is acknowledged, so there are no save
  // points and no append-only file to turn on.
  { name: "save", kind: { t: "fixed", why: "every write is stored before it is acknowledged; there are no save points" }, default: "" },
  { name: "appendonly", kind: { t: "fixed", why: "every write is stored before it is acknowledged; there is no append-only file" }, default: "no" },
  // Redis's encoding-tuning parameters (7.0 names, defaults and ranges). Stored and reported,
  // and OBJECT ENCODING judges values by them; our storage (one SQLite row per element) is
  // the same whatever they say.
  { name: "hash-max-listpack-entries", kind: { t: "int", min: 0, max: LONG_MAX }, default: "512", aliases: ["hash-max-ziplist-entries"] },
  { name: "hash-max-listpack-value", kind: { t: "memory", min: 0, max: LONG_MAX }, default: "64", aliases: ["hash-max-ziplist-value"] },
  { name: "zset-max-listpack-entries", kind: { t: "int", min: 0, max: LONG_MAX }, default: "128", aliases: ["zset-max-ziplist-entries"] },
  { name: "zset-max-listpack-value", kind: { t: "memory", min: 0, max: LONG_MAX }, default: "64", aliases: ["zset-max-ziplist-value"] },
  { name: "list-max-listpack-size", kind: { t: "int", min: -(2 ** 31), max: 2 ** 31 - 1 }, default: "-2", aliases: ["list-max-ziplist-size"] },
  { name: "list-compress-depth", kind: { t: "int", min: 0, max: 2 ** 31 - 1 }, default: "0" },
  { name: "set-max-intset-entries", kind: { t: "int", min: 0, max: LONG_MAX }, default: "512" },
  { name: "stream-node-max-bytes", kind: { t: "memory", min: 0, max: LONG_MAX }, default: "4096" },
  { name: "stream-node-max-entries", kind: { t: "int", min: 0, max: LONG_MAX }, default: "100" },
  // Unlike the parameters above, this one shapes the stored value: an HLL is a string holding
  // Redis's own representation, promoted from sparse to dense past this size (PFADD, PFMERGE).
  { name: "hll-sparse-max-bytes", kind: { t: "memory", min: 0, max: LONG_MAX }, default: "3000" },
  { name: "client-output-buffer-limit", kind: { t: "obuf" }, default: OUTPUT_LIMITS_DEFAULT_TEXT },
  // SLOWLOG (keyspace/slowlog.ts): microseconds (-1: off, 0: every command) and entries kept.
  { name: "slowlog-log-slower-than", kind: { t: "int", min: -1, max: LONG_MAX }, default: "10000" },
  { name: "slowlog-max-len", kind: { t: "int", min: 0, max: LONG_MAX }, default: "128" },
  // What clients and job queues check before they trust a server (BullMQ and Sidekiq warn unless
  // the policy is noeviction): reported as they are here, and CONFIG SET takes only that value.
  { name: "maxmemory", kind: { t: "fixed", why: "a database is bounded by its Durable Object's storage, not by memory" }, default: "0" },
  { name: "maxmemory-policy", kind: { t: "fixed", why: "keys are never evicted" }, default: "noeviction" },
  { name: "notify-keyspace-events", kind: { t: "fixed", why: "keyspace notifications are not supported" }, default: "" },
  { name: "timeout", kind: { t: "fixed", why: "idle clients are never closed (their WebSockets hibernate)" }, default: "0" },
  { name: "latency-monitor-threshold", kind: { t: "fixed", why: "the latency monitor is not built (use SLOWLOG)" }, default: "0" },
];

const byName = new Map<string, Param>();
for (const p of PARAMS) {
  byName.set(p.name, p);
  for (const a of p.aliases ?? []) byName.set(a, p);
}

/** Parse Redis memory units (1k, 5mb, 1gb…). */
function parseMemory(v: string): number | null {
  const m = /^(\d+)(k|kb|m|mb|g|gb|b)?$/i.exec(v.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const u = (m[2] ?? "b").toLowerCase();
  const mult = u === "k" ? 1000 : u === "kb" ? 1024 : u === "m" ? 1e6 : u === "mb" ? MB : u === "g" ? 1e9 : u === "gb" ? 1024 * MB : 1;
  return n * mult;
}

export class NodeConfig {
  private readonly values = new Map<string, string>();

  constructor(private readonly sql: SqlStorage) {
    sql.exec("CREATE TABLE IF NOT EXISTS node_config (name TEXT PRIMARY KEY, value TEXT NOT NULL)");
    for (const r of sql.exec("SELECT name, value FROM node_config")) this.values.set(r.name as string, r.value as string);
  }

  get(name: string): string {
    const p = byName.get(name);
    if (!p) throw new Error(`unknown config ${name}`);
    return this.values.get(p.name) ?? p.default;
  }

  int(name: string): number {
    return Number(this.get(name));
  }

  bool(name: string): boolean {
    return this.get(name) === "yes";
  }

  /** A secret parameter's value, null when unset (empty). */
  secret(name: string): string | null {
    const v = this.get(name);
    return v === "" ? null : v;
  }

  /** client-output-buffer-limit of one client class (the replica class is "slave"). */
  outputLimit(cls: ClientClass): OutputLimit {
    const text = this.get("client-output-buffer-limit");
    if (this.obufCache?.text !== text) this.obufCache = { text, limits: parseOutputLimits(text) };
    return this.obufCache.limits[cls];
  }
  private obufCache: { text: string; limits: Record<ClientClass, OutputLimit> } | null = null;

  /** CONFIG GET pattern → [name, value] pairs; an alias that matches is listed under its own name too (Redis 7.0). */
  match(pattern: string): [string, string][] {
    // Redis matches CONFIG GET patterns without case (config.c: stringmatch(..., nocase 1)).
    const glob = compileGlob(utf8(pattern), true);
    const out: [string, string][] = [];
    for (const p of PARAMS) {
      if (glob.match(utf8(p.name))) out.push([p.name, this.get(p.name)]);
      for (const a of p.aliases ?? []) if (glob.match(utf8(a))) out.push([a, this.get(p.name)]);
    }
    return out;
  }

  private normalize(p: Param, value: string): string | null {
    switch (p.kind.t) {
      case "bool": {
        const v = value.toLowerCase();
        return v === "yes" || v === "no" ? v : null;
      }
      case "int": {
        if (!/^-?\d+$/.test(value)) return null;
        const n = Number(value);
        return n >= p.kind.min && n <= p.kind.max ? String(n) : null;
      }
      case "memory": {
        const n = parseMemory(value);
        return n !== null && n >= p.kind.min && n <= p.kind.max ? String(n) : null;
      }
      case "obuf": {
        const r = applyOutputLimits(parseOutputLimits(this.get(p.name)), value);
        return typeof r === "string" ? null : formatOutputLimits(r);
      }
      case "secret":
        return new TextEncoder().encode(value).length <= p.kind.bytesMax ? value : null;
      case "fixed":
        return value.toLowerCase() === p.default ? p.default : null;
    }
  }

  /**
   * CONFIG SET's pairs, all or none (Redis 7): every pair is checked first, and a refused value,
   * an unknown name or a name given twice leaves every value as it was. Returns Redis's error
   * text, or null when all were set. As in Redis 7.0, a parameter and its alias in one call
   * are not duplicates: the later one wins.
   */
  setAll(pairs: readonly (readonly [string, string])[]): string | null {
    const checked: [Param, string][] = [];
    const names = new Set<string>();
    for (const [name, value] of pairs) {
      const r = this.validate(name, value);
      if (typeof r === "string") return r;
      if (names.has(name)) return `ERR CONFIG SET failed (possibly related to argument '${name}') - duplicate parameter`;
      names.add(name);
      checked.push([r.p, r.v]);
    }
    for (const [p, v] of checked) {
      this.values.set(p.name, v);
      this.sql.exec("INSERT OR REPLACE INTO node_config (name, value) VALUES (?, ?)", p.name, v);
    }
    return null;
  }

  /** The value to store for CONFIG SET name value, or Redis's error text. */
  private validate(name: string, value: string): { p: Param; v: string } | string {
    const p = byName.get(name);
    if (!p) return `ERR Unknown option or number of arguments for CONFIG SET - '${name}'`;
    const v = this.normalize(p, value);
    if (v !== null) return { p, v };
    const failed = `ERR CONFIG SET failed (possibly related to argument '${name}') - `;
    switch (p.kind.t) {
      case "int":
      case "memory": {
        const inRange = `${failed}argument must be between ${p.kind.min} and ${p.kind.max === LONG_MAX ? "9223372036854775807" : p.kind.max} inclusive`;
        if (p.kind.t === "memory") return parseMemory(value) === null ? `${failed}argument must be a memory value` : inRange;
        return /^-?\d+$/.test(value.trim()) ? inRange : `${failed}argument couldn't be parsed into an integer`;
      }
      case "obuf":
        return `ERR CONFIG SET failed (possibly related to argument '${p.name}') - ${applyOutputLimits(parseOutputLimits(this.get(p.name)), value) as string}`;
      case "secret":
        return `${failed}longer than ${p.kind.bytesMax} bytes`;
      case "fixed":
        return `${failed}${p.kind.why}`;
      case "bool":
        return `${failed}argument must be 'yes' or 'no'`;
    }
  }
}

/** CONFIG GET's pairs with every secret (masterauth) replaced: never printed back, to any token; only whether it is set. */
export function hideSecrets(pairs: [string, string][]): [string, string][] {
  return pairs.map(([k, v]) => (byName.get(k)?.kind.t === "secret" && v !== "" ? [k, SECRET_SHOWN] : [k, v]));
}
