/**
 * Scripting for one node: the script cache (SHA-1 → body, persisted in SQLite so it
 * survives restarts and full syncs), the Lua VM (created on first use), and one script
 * run as Redis 7.0 runs it (eval.c evalGenericCommand, script.c scriptPrepareForRun).
 *
 * The engine gives a script's redis.call() the normal checks and runs it inside the
 * caller's execution unit, so a script's writes replicate as their effects wrapped in
 * MULTI/EXEC. A script that enters the cache is propagated as `SCRIPT LOAD body`, so that
 * replicas can run EVALSHA_RO; SCRIPT FLUSH is propagated as well.
 */
import type { Session } from "../keyspace/command.ts";
import { RedisError, type Reply } from "../protocol/reply.ts";
import { FunctionLibraries } from "./functions.ts";
import { parseShebang, type ScriptFlag, type Shebang } from "./shebang.ts";
import { LuaVM, SCRIPT_HOOK_INSTRUCTIONS, SCRIPT_INSTRUCTIONS_PER_MS, type ScriptRun, sha1hex } from "./vm.ts";
import { log } from "../util/log.ts";

/** Most scripts kept in the cache; loading one more evicts the oldest (Redis keeps all, bounded by memory). */
export const SCRIPT_CACHE_ENTRIES_MAX = 10_000;
/**
 * Bytes of script bodies kept in the cache (and in storage, and compiled in the VM), the oldest
 * evicted first past it: every cached script is loaded into memory when the node starts, and
 * a read-only token's EVAL_RO caches its script too (60 scripts of 1.9 MB took 114 MB).
 */
export const SCRIPT_CACHE_BYTES_MAX = 8 * 1024 * 1024;
/** Largest script body accepted (one SQLite row holds it; rows hold 2 MB). */
export const SCRIPT_BODY_BYTES_MAX = 1024 * 1024;
/** Default time budget of a script (CONFIG busy-reply-threshold / lua-time-limit, ms). */
export const SCRIPT_TIME_LIMIT_MS_DEFAULT = 5000;


/** redis.log levels at or above this are written (Redis's default verbosity, notice = 2). */
export const SCRIPT_LOG_LEVEL_MIN = 2;

export const NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL.";

interface Entry {
  body: Uint8Array;
  shebang: Shebang;
}

/** What a run needs from the engine. */
export interface ScriptEnv {
  call(argv: Uint8Array[], resp: 2 | 3, keys: Set<string> | null, readOnly: boolean): Reply;
  /** Propagate a command to replicas inside the current unit (SCRIPT LOAD body). */
  propagate(argv: (Uint8Array | string)[]): void;
  timeLimitMs(): number;
  /** Run fn inside one storage transaction; an exception rolls every write back. */
  transaction<T>(fn: () => T): T;
  isReplica: boolean;
  masterDown: boolean;
  writeGate: string | null;
  /** Count the reply a script builds against the caller's output limit (convert.ts ReplyCharge). */
  chargeReply(bytes: number): void;
}

export class ScriptTimeout extends Error {}

/** What EVAL and SCRIPT handlers get from the engine (Ctx.scripting). */
export interface ScriptingCtx {
  scripts: Scripting;
  /** Run a cached script for the calling session. */
  run(session: Session, sha: string, keys: Uint8Array[], args: Uint8Array[], ro: boolean): Reply;
  /** Run a registered function (FCALL) for the calling session. */
  runFunction(session: Session, name: string, keys: Uint8Array[], args: Uint8Array[], ro: boolean): Reply;
  /** Propagate a command to replicas inside the current unit. */
  propagate(argv: (Uint8Array | string)[]): void;
}

export class Scripting {
  private vm: LuaVM | null = null;
  private readonly cache = new Map<string, Entry>();
  /** Bytes of the cached bodies. */
  private cacheBytes = 0;
  /** SCRIPT KILL asked the running script to stop. */
  killRequested = false;
  running: { sha: string; wrote: boolean } | null = null;
  /** FUNCTION libraries (their own Lua VM). */
  readonly functions: FunctionLibraries;

  constructor(private readonly sql: SqlStorage) {
    this.functions = new FunctionLibraries(sql);
    sql.exec("CREATE TABLE IF NOT EXISTS scripts (sha TEXT PRIMARY KEY, body BLOB NOT NULL, seq INTEGER NOT NULL)");
    for (const r of sql.exec("SELECT sha, body FROM scripts ORDER BY seq")) {
      const body = new Uint8Array(r.body as ArrayBuffer);
      const sb = parseShebang(body);
      if (typeof sb !== "string") {
        this.cache.set(r.sha as string, { body, shebang: sb });
        this.cacheBytes += body.length;
      }
    }
    this.evictFor(0); // a cache stored before SCRIPT_CACHE_BYTES_MAX existed
  }

  /** Evict the oldest scripts until one of `bytes` more fits the cache's bounds. */
  private evictFor(bytes: number): void {
    while (this.cache.size > 0 && (this.cache.size + (bytes > 0 ? 1 : 0) > SCRIPT_CACHE_ENTRIES_MAX || this.cacheBytes + bytes > SCRIPT_CACHE_BYTES_MAX)) {
      const [oldest, entry] = this.cache.entries().next().value as [string, Entry];
      this.cache.delete(oldest);
      this.cacheBytes -= entry.body.length;
      this.vm?.forget(oldest);
      this.sql.exec("DELETE FROM scripts WHERE sha = ?", oldest);
    }
  }

  private lua(): LuaVM {
    this.vm ??= new LuaVM();
    return this.vm;
  }

  exists(sha: string): boolean {
    return this.cache.has(sha.toLowerCase());
  }

  /**
   * Add a script (SCRIPT LOAD, EVAL): compile it and persist it. Returns its SHA and whether
   * it is new, or the error reply for a script that does not compile.
   */
  load(body: Uint8Array): { sha: string; added: boolean } | RedisError {
    const sha = sha1hex(body);
    if (this.cache.has(sha)) return { sha, added: false };
    if (body.length > SCRIPT_BODY_BYTES_MAX) return new RedisError(`ERR script exceeds the limit of ${SCRIPT_BODY_BYTES_MAX} bytes`);
    const sb = parseShebang(body);
    if (typeof sb === "string") return new RedisError(`ERR ${sb}`);
    // The shebang line is skipped but its newline kept, so line numbers match the user's.
    const err = this.lua().compile(sha, body.subarray(sb.length));
    if (err) return new RedisError(err);
    this.evictFor(body.length);
    // Stored first: a body the row cannot hold leaves nothing half-cached.
    this.sql.exec("INSERT OR REPLACE INTO scripts (sha, body, seq) VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM scripts))", sha, body);
    this.cache.set(sha, { body, shebang: sb });
    this.cacheBytes += body.length;
    return { sha, added: true };
  }

  /** Scripts in the cache, and the bytes of their bodies (INFO memory). */
  cacheStats(): { count: number; bytes: number } {
    let bytes = 0;
    for (const e of this.cache.values()) bytes += e.body.length;
    return { count: this.cache.size, bytes };
  }

  /** Every cached script body, oldest first (re-sent to replicas after a full sync). */
  bodies(): Uint8Array[] {
    return [...this.cache.values()].map((e) => e.body);
  }

  flush(): void {
    this.cache.clear();
    this.cacheBytes = 0;
    this.vm = null;
    this.sql.exec("DELETE FROM scripts");
  }

  /** Run a cached script (EVAL after load, EVALSHA). `ro`: EVAL_RO / EVALSHA_RO. */
  run(sha: string, keys: Uint8Array[], args: Uint8Array[], ro: boolean, env: ScriptEnv): Reply {
    const entry = this.cache.get(sha.toLowerCase());
    if (!entry) return new RedisError(NOSCRIPT);
    sha = sha.toLowerCase();
    const vm = this.lua();
    if (!vm.has(sha)) {
      const err = vm.compile(sha, entry.body.subarray(entry.shebang.length));
      if (err) return new RedisError(err);
    }
    const { compat, flags } = entry.shebang;
    const refused = prepare(compat, flags, ro, env);
    if (refused) return refused;
    const declared = flags.has("allow-key-locking") ? new Set(keys.map((k) => bkeyOf(k))) : null;
    return this.execute(sha, ro || flags.has("no-writes"), declared, env, (run) => vm.call(sha, keys, args, run));
  }

  /** FCALL / FCALL_RO: run a registered function. */
  runFunction(name: string, keys: Uint8Array[], args: Uint8Array[], ro: boolean, env: ScriptEnv): Reply {
    const found = this.functions.find(name);
    if (!found) return new RedisError("ERR Function not found");
    const { fn } = found;
    const refused = prepare(false, fn.flags as Set<ScriptFlag>, ro, env);
    if (refused) return refused;
    const vm = this.functions.runner();
    return this.execute(name, ro || fn.flags.has("no-writes"), null, env, (run) => vm.callFunction(fn.ref, name, keys, args, run));
  }

  /** One run: the time budget, SCRIPT KILL, and the storage transaction that a stop rolls back. */
  private execute(label: string, readOnly: boolean, declared: Set<string> | null, env: ScriptEnv, body: (run: ScriptRun) => Reply): Reply {
    const limitMs = env.timeLimitMs();
    const started = Date.now();
    const budget = limitMs > 0 ? limitMs * SCRIPT_INSTRUCTIONS_PER_MS : Infinity;
    let instructions = 0;
    let timedOut = false;
    this.killRequested = false;
    this.running = { sha: label, wrote: false };
    const run: ScriptRun = {
      call: (argv, resp) => env.call(argv, resp, declared, readOnly),
      // Redis writes these to its log at the default verbosity (notice): debug and verbose are dropped.
      log: (level, msg) => {
        if (level >= SCRIPT_LOG_LEVEL_MIN) log(`script ${label}: ${msg}`);
      },
      interrupted: () => {
        if (this.killRequested) return "Script killed by user with SCRIPT KILL...";
        instructions += SCRIPT_HOOK_INSTRUCTIONS;
        if (limitMs > 0 && (instructions > budget || Date.now() - started > limitMs)) {
          timedOut = true;
          return `Script exceeded the time limit of ${limitMs} ms (busy-reply-threshold) and was stopped; its writes were rolled back`;
        }
        return null;
      },
      setRepl: () => {},
      chargeReply: (n) => env.chargeReply(n),
    };
    try {
      return env.transaction(() => {
        const reply = body(run);
        // A stopped script leaves no trace: throwing out of the transaction rolls it back.
        if (timedOut || this.killRequested) throw new ScriptTimeout(reply instanceof RedisError ? reply.msg : "ERR script stopped");
        return reply;
      });
    } catch (e) {
      if (e instanceof ScriptTimeout) return new RedisError(e.message);
      throw e;
    } finally {
      this.running = null;
      this.killRequested = false;
    }
  }
}

/** scriptPrepareForRun: what the flags (or their absence) forbid before a script starts. */
function prepare(compat: boolean, flags: ReadonlySet<ScriptFlag>, ro: boolean, env: ScriptEnv): RedisError | null {
  if (compat) {
    return env.masterDown ? new RedisError("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.") : null;
  }
  if (env.masterDown && !flags.has("allow-stale")) {
    return new RedisError("MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script.");
  }
  if (!flags.has("no-writes")) {
    if (env.isReplica) return new RedisError("READONLY Can not run script with write flag on readonly replica");
    if (ro) return new RedisError("ERR Can not execute a script with write flag using *_ro command.");
    if (env.writeGate) return new RedisError(env.writeGate);
  }
  return null;
}

function bkeyOf(k: Uint8Array): string {
  let s = "";
  for (const b of k) s += String.fromCharCode(b);
  return s;
}

export { bkeyOf as scriptKeyId };
