/**
 * The command engine: looks a command up in the table, checks arity, permissions and role,
 * runs it against the keyspace, and turns what it changed into the replication stream —
 * deterministic effects, SELECT when the database changes, MULTI/EXEC around an execution
 * unit that propagated more than one command (Redis 7.0's propagatePendingCommands).
 * Plain TypeScript: the node wires `sink` to its backlog and replicas.
 */
import { ClientPause } from "./client-pause.ts";
import { SlowLog } from "./slowlog.ts";
import { KEY_BYTES_MAX, OUTPUT_BYTES_MAX, STRING_CHUNK_BYTES } from "../limits.ts";
import { Scripting, type ScriptEnv, type ScriptingCtx, scriptKeyId } from "../scripting/scripting.ts";
import { NIL_ARRAY, OK, QUEUED, RedisError, type Reply } from "../protocol/reply.ts";
import { StreamEncoder } from "../replication/stream-encoder.ts";
import { bkey, str } from "../util/bytes.ts";
import type { BlockingCtx, CommandStat, Ctx, EngineStats, NodeServices, Session } from "./command.ts";
import type { BlockKind } from "./blocking.ts";
import { BlockedClients } from "./blocked-clients.ts";
import { TYPE } from "./schema.ts";
import { cString, E, quotingError } from "./errors.ts";
import { type KeyMeta, Keyspace } from "./store.ts";
import { OpsMeter } from "./ops-meter.ts";
import { readOnlyDenial } from "./permissions.ts";
import { COMMANDS, keyIndexes, TRANSACTION_COMMANDS } from "./table.ts";

/** Receives the replication stream, one execution unit at a time. */
export interface StreamSink {
  feed(bytes: Uint8Array): void;
}

interface Effect {
  db: number; // -1: no SELECT needed (FLUSHALL, PING)
  argv: (Uint8Array | string)[];
}

/** How a command may wait: blocking is for a client's own command only (not MULTI, scripts, the stream). */
interface RunMode {
  canBlock: boolean;
  servingKey: Uint8Array | null;
}
const NO_BLOCKING: RunMode = { canBlock: false, servingKey: null };
const CLIENT_BLOCKING: RunMode = { canBlock: true, servingKey: null };

/** Commands that run immediately even inside MULTI. */
const MULTI_CONTROL = new Set(["exec", "discard", "multi", "watch", "unwatch", "quit", "reset"]);

/** Arity of the transaction commands the engine handles itself (Redis's command table). */
const TX_ARITY: Record<string, number> = Object.fromEntries(TRANSACTION_COMMANDS.map((c) => [c.name, c.arity]));

function arityOk(arity: number, argc: number): boolean {
  return arity > 0 ? argc === arity : argc >= -arity;
}

export interface EngineOptions {
  sink?: StreamSink;
  clock?: () => number;
  /** Every command a node executes (MONITOR). */
  monitor?: (session: Session, argv: Uint8Array[]) => void;
  /** A key got a TTL at this time (schedule active expiry). */
  expireSet?: (expireMs: number) => void;
  /** Run fn in one storage transaction (the Durable Object's transactionSync): a throw rolls its writes back. */
  transaction?: <T>(fn: () => T) => T;
}

export class Engine {
  readonly ks: Keyspace;
  sink: StreamSink | null;
  node!: NodeServices;
  private readonly clock: () => number;
  monitor: ((session: Session, argv: Uint8Array[]) => void) | null;
  /** Database of the last SELECT in the stream; -1 forces one (after restart or a full sync). */
  private streamDb = -1;
  /** Counters for INFO. */
  /** SLOWLOG (slowlog.ts); the node sets its threshold and length from CONFIG. */
  readonly slowlog = new SlowLog();
  readonly stats: EngineStats = { commands: 0, errorReplies: 0, errorCodes: new Map(), calls: new Map(), expiredKeys: 0, ops: new OpsMeter(), loading: false, slowlog: this.slowlog };
  /** EXEC is running its queued commands. */
  private inExec = false;
  private readonly encoder = new StreamEncoder();
  /** Effects of the execution unit in progress, or null outside one. */
  private unit: Effect[] | null = null;
  /** WATCHed keys (db:keybytes) → the key and the sessions watching it. */
  private readonly watchers = new Map<string, { db: number; key: Uint8Array; sessions: Set<Session> }>();
  /** Whether the engine currently refuses writes from clients (the node is a replica). */
  replicaMode = false;
  /** A replica whose link is down with replica-serve-stale-data no answers MASTERDOWN. */
  masterDown = false;
  /** A dataset is being restored: commands answer LOADING (Redis while it loads an RDB). */
  get loading(): boolean {
    return this.stats.loading;
  }
  set loading(v: boolean) {
    this.stats.loading = v;
  }
  /** min-replicas-to-write: an error text when writes are refused for lack of good replicas. */
  writeGate: (() => string | null) | null = null;
  /** The script cache and Lua VM (EVAL, SCRIPT). */
  readonly scripting: Scripting;
  private readonly transaction: <T>(fn: () => T) => T;
  /**
   * FAILOVER pauses client writes (Redis CLIENT_PAUSE_WRITE): a write waits for this promise,
   * then runs as if just sent (on a node that became a replica meanwhile: READONLY).
   */
  writePause: Promise<void> | null = null;
  /** CLIENT PAUSE (client-pause.ts); `onPauseChange` tells the node when it starts or ends. */
  readonly clientPause = new ClientPause(
    () => this.clock(),
    () => this.onPauseChange?.(),
  );
  onPauseChange: (() => void) | null = null;

  /** Writes wait (FAILOVER or CLIENT PAUSE): keys do not expire and the master sends no PING, so the offset stands still. */
  writesPaused(): boolean {
    return this.writePause !== null || this.clientPause.active;
  }
  /** Clients blocked on keys (BLPOP…), served after each execution unit. */
  readonly blocked: BlockedClients = new BlockedClients({
    clock: () => this.clock(),
    kindAt: (db, key) => this.blockableKind(db, key),
    serve: (s, name, argv, key) => this.serveBlocked(s, name, argv, key),
  });
  /** A blocking command of the running unit asked to block (ctx.blocking.block). */
  private blockRequest: { keys: Uint8Array[]; kind: BlockKind; deadlineMs: number | null } | null = null;

  constructor(sql: SqlStorage, opts: EngineOptions = {}) {
    this.clock = opts.clock ?? Date.now;
    this.sink = opts.sink ?? null;
    this.monitor = opts.monitor ?? null;
    this.transaction = opts.transaction ?? ((fn) => fn());
    this.scripting = new Scripting(sql);
    this.scriptingCtx.scripts = this.scripting;
    this.ks = new Keyspace(sql, {
      expired: (db, key) => {
        this.stats.expiredKeys++;
        this.touched(db, key);
        this.effect({ db, argv: ["DEL", key] });
      },
      expireSet: opts.expireSet,
      // Redis signals a key ready in dbAdd only: a push onto an existing list wakes nobody.
      added: (db, key, type) => {
        if (type === TYPE.list || type === TYPE.zset) this.blocked.signal(db, key);
      },
    });
  }

  /** Force a SELECT before the next propagated command (new full sync, restart, role change). */
  resetStreamDb(): void {
    this.streamDb = -1;
  }

  /**
   * Run one command from a client. Returns the reply, or a Promise for commands flagged
   * `async` (node operations such as DEBUG RESTART and REPLICAOF).
   */
  execute(s: Session, argv: Uint8Array[]): Reply | Promise<Reply> {
    const r = this.executeOne(s, argv);
    // Clients blocked on keys this command (EXEC, script) made ready are served after it.
    this.blocked.serveReady();
    if (r instanceof Promise) {
      return r.then((x) => {
        this.blocked.serveReady();
        return this.tally(x);
      });
    }
    return this.tally(r);
  }

  /** Count `n` executions of a command run at `now` for INFO (total_commands_processed, commandstats, instantaneous_ops_per_sec). */
  private counted(name: string, n: number, now: number): CommandStat {
    this.stats.ops.sample(now, this.stats.commands);
    this.stats.commands += n;
    const st = this.commandStat(name);
    st.calls += n;
    return st;
  }

  private commandStat(name: string): CommandStat {
    let st = this.stats.calls.get(name);
    if (!st) this.stats.calls.set(name, (st = { calls: 0, usec: 0, rejected: 0, failed: 0 }));
    return st;
  }

  /**
   * A call that answered an error: a failed call, except an unknown subcommand, which Redis does
   * not count at all (and whose name, made of the client's argument, must not grow the table).
   */
  private failedCall(st: CommandStat, statName: string, fresh: boolean, err: RedisError): void {
    if (!err.msg.startsWith("ERR unknown subcommand '")) {
      st.failed++;
      return;
    }
    this.stats.commands--;
    if (fresh) this.stats.calls.delete(statName);
    else st.calls--;
  }

  /** A command refused before it ran (check): counted as a rejected call of a known command. */
  private rejected(name: string, err: RedisError): RedisError {
    const spec = COMMANDS.get(name);
    if (spec) this.commandStat(spec.name).rejected++;
    return err;
  }

  /** CONFIG RESETSTAT: the engine's INFO counters back to zero (Redis's resetServerStats). */
  resetStats(): void {
    const st = this.stats;
    st.commands = st.errorReplies = st.expiredKeys = 0;
    st.errorCodes.clear();
    st.calls.clear();
    st.ops.reset();
    this.ks.hits = this.ks.misses = this.ks.lazyfreed = 0;
  }

  /** Count an error reply for INFO (total_error_replies, errorstats). */
  private tally(r: Reply): Reply {
    if (r instanceof RedisError) {
      this.stats.errorReplies++;
      const sp = r.msg.indexOf(" ");
      const code = sp > 0 ? r.msg.slice(0, sp) : r.msg;
      this.stats.errorCodes.set(code, (this.stats.errorCodes.get(code) ?? 0) + 1);
    }
    return r;
  }

  private executeOne(s: Session, argv: Uint8Array[]): Reply | Promise<Reply> {
    if (argv.length === 0) return null;
    const name = str(argv[0]!).toLowerCase();
    if (!s.isMasterLink) {
      const paused = this.clientPause.active ? this.clientPause.waitFor(this.isPausedWrite(s, name, argv)) : null;
      if (paused !== null) return paused.then(() => this.execute(s, argv));
      if (this.writePause !== null && this.isPausedWrite(s, name, argv)) return this.writePause.then(() => this.execute(s, argv));
    }
    s.lastCmdMs = this.clock();
    s.lastCmd = commandFullName(name, argv);
    if (s.multi && !MULTI_CONTROL.has(name)) return this.queue(s, name, argv);
    // RESET ends the connection's transaction and its WATCHes (Redis's clearClientConnectionState).
    if (name === "reset" && argv.length === 1) this.endMulti(s);
    const txArity = TX_ARITY[name];
    if (txArity !== undefined) {
      // MONITOR shows EXEC after the commands it ran, as Redis feeds it once EXEC is done.
      if (name !== "exec") this.monitored(s, name, argv);
      const t0 = performance.now();
      const r = this.transactionCommand(s, name, argv, txArity);
      if (name === "exec") this.monitored(s, name, argv);
      else this.slow(s, argv, t0); // EXEC is not logged (its commands are), as in Redis
      return r;
    }
    const checked = this.check(s, name, argv);
    if (checked instanceof RedisError) return this.rejected(name, checked);
    // Shown once it ran (SELECT shows its new database), a script before the commands it calls.
    const scriptFirst = SCRIPT_COMMANDS.has(name);
    if (scriptFirst) this.monitored(s, name, argv);
    this.unit = [];
    let r: Reply | Promise<Reply>;
    const t0 = performance.now();
    try {
      r = this.metered(s, () => this.run(s, name, argv, s.isMasterLink ? NO_BLOCKING : CLIENT_BLOCKING));
    } finally {
      this.flushUnit();
    }
    if (!scriptFirst) this.monitored(s, name, argv);
    this.slow(s, argv, t0);
    const req = this.blockRequest;
    if (req) {
      this.blockRequest = null;
      return this.blocked.block(s, name, argv, req.keys, req.kind, req.deadlineMs);
    }
    return r;
  }

  /**
   * MULTI EXEC DISCARD WATCH UNWATCH, with their commandstats: a refusal before running
   * (arity, a subscribed connection) is a rejected call, an error reply a failed one.
   */
  private transactionCommand(s: Session, name: string, argv: Uint8Array[], txArity: number): Reply {
    const st = this.commandStat(name);
    const refused = this.transactionRefusal(s, name, argv, txArity);
    if (refused) {
      st.rejected++;
      return refused;
    }
    const t0 = performance.now();
    this.counted(name, 1, this.clock());
    const r = this.transactionRun(s, name, argv);
    st.usec += Math.round((performance.now() - t0) * 1000);
    if (r instanceof RedisError) st.failed++;
    return r;
  }

  private transactionRefusal(s: Session, name: string, argv: Uint8Array[], txArity: number): RedisError | null {
    if (!arityOk(txArity, argv.length)) {
      // Redis rejects before running: the transaction is flagged, and EXEC aborts it.
      const msg = E.arity(name);
      if (name === "exec") {
        if (s.multi) this.endMulti(s);
        return new RedisError(`EXECABORT Transaction discarded because of: ${msg.replace(/^ERR /, "")}`);
      }
      if (s.multi) s.multiError = true;
      return new RedisError(msg);
    }
    // MULTI, WATCH… on a subscribed RESP2 connection (table commands: in check()).
    const subscribed = this.node?.pubsub?.contextError(s, name);
    if (subscribed) {
      // Redis answers any refusal of EXEC as EXECABORT (rejectCommand → execCommandAbort).
      if (name !== "exec") return new RedisError(subscribed);
      if (s.multi) this.endMulti(s);
      return new RedisError(`EXECABORT Transaction discarded because of: ${subscribed.replace(/^ERR /, "")}`);
    }
    return null;
  }

  private transactionRun(s: Session, name: string, argv: Uint8Array[]): Reply {
    switch (name) {
      case "multi":
        if (s.multi) return new RedisError("ERR MULTI calls can not be nested");
        s.multi = [];
        s.multiError = false;
        return OK;
      case "discard":
        if (!s.multi) return new RedisError("ERR DISCARD without MULTI");
        this.endMulti(s);
        return OK;
      case "exec":
        return this.metered(s, () => this.exec(s));
      case "watch":
        if (s.multi) return new RedisError("ERR WATCH inside MULTI is not allowed");
        for (let i = 1; i < argv.length; i++) this.watch(s, s.db, argv[i]!);
        return OK;
      case "unwatch":
        this.unwatchAll(s);
        return OK;
    }
    return null;
  }

  /** Whether a write pause holds this command: a write, or an EXEC of a queue with one. */
  private isPausedWrite(s: Session, name: string, argv?: Uint8Array[]): boolean {
    if (s.multi && !MULTI_CONTROL.has(name)) return false; // queued, not run
    if (name === "exec") return s.multi?.some((c) => mayReplicate(str(c[0]!).toLowerCase(), c)) ?? false;
    return mayReplicate(name, argv);
  }

  /**
   * Apply one command of our master's replication stream (a replica). Never refused, never
   * re-propagated here: the replica forwards the raw stream bytes to its own sub-replicas.
   */
  applyFromMaster(s: Session, argv: Uint8Array[], monitored = false): Reply {
    const name = str(argv[0]!).toLowerCase();
    if (!monitored) this.monitor?.(s, argv);
    const mode = this.ks.expiryMode;
    this.ks.expiryMode = "stream";
    const sink = this.sink;
    this.sink = null;
    try {
      if (name === "multi" || name === "exec") return OK; // the stream's MULTI/EXEC: applied command by command
      if (!COMMANDS.has(name)) return new RedisError(E.unknown(name, ""));
      this.unit = [];
      const r = this.run(s, name, argv);
      return r instanceof Promise ? new RedisError("ERR async command in the replication stream") : r;
    } finally {
      this.unit = null;
      this.sink = sink;
      this.ks.expiryMode = mode;
    }
  }

  /**
   * A run of plain `SET key value` (see isPlainSet) from our master's stream, with exactly
   * the effect of applyFromMaster on each in order, but as multi-row statements and without
   * a command context per SET (the stream is trusted: no checks to repeat). Keys holding
   * another type or a chunked value go through the general path. Returns the errors, if any.
   */
  applyPlainSetsFromMaster(s: Session, cmds: readonly Uint8Array[][]): { argv: Uint8Array[]; error: RedisError }[] {
    const errors: { argv: Uint8Array[]; error: RedisError }[] = [];
    const general = (argv: Uint8Array[]) => {
      const r = this.applyFromMaster(s, argv, true);
      if (r instanceof RedisError) errors.push({ argv, error: r });
    };
    if (this.monitor) for (const c of cmds) this.monitor(s, c);
    // A snapshot being written must see each old value before it changes (serialize-before-mutate).
    if (this.ks.hooks.writesWatched?.()) {
      for (const c of cmds) general(c);
      return errors;
    }
    const keys = cmds.map((c) => c[1]!);
    const t0 = performance.now();
    const skipped = this.ks.setPlainStrings(
      s.db,
      keys,
      cmds.map((c) => c[2]!),
      Number.MIN_SAFE_INTEGER,
    );
    const applied = cmds.length - skipped.length;
    this.counted("set", applied, this.clock()).usec += Math.round((performance.now() - t0) * 1000);
    if (this.watchers.size) for (const k of keys) this.touched(s.db, k);
    for (const i of skipped) general(cmds[i]! as Uint8Array[]);
    return errors;
  }

  /**
   * A run of plain SETs (`isPlainSet`) or of GETs (`isPlainGet`) from one client, with the
   * replies, data, stream and INFO counts of executing them one by one, but with many keys
   * per statement and one command context for the run. null when the run cannot take this
   * path now (inside MULTI, during a write pause, a refusal such as READONLY or NOPERM, a
   * snapshot being written): the caller then executes each command. A key that needs more
   * than the common case (another type, a chunked value, an expired key to delete and
   * propagate as DEL) runs the general path; its effects reach the stream after the run's
   * (keys of the run are distinct from it, so the result is the same).
   */
  executeRun(s: Session, kind: RunKind, cmds: readonly Uint8Array[][]): Reply[] | null {
    const t0 = performance.now();
    const r = this.metered(s, () => this.executeRunMetered(s, kind, cmds));
    if (r !== null) {
      // Each command of a run is logged with the run's average time (its general ones count it twice: rare, and still slow).
      const us = Math.round(((performance.now() - t0) * 1000) / cmds.length);
      if (this.slowlog.wants(us)) {
        const now = this.clock();
        for (const c of cmds) this.slowlog.record(c, us, s, now);
      }
    }
    return r;
  }

  /**
   * Run `fn` (a client's command, or a run of them) with the keyspace counting the bytes of
   * values it reads for replies against what the session may still gather (OUTPUT_BYTES_MAX
   * less what it has not sent yet); what it read is added to the session's count unless it
   * was refused. Commands nested inside (EXEC's, a script's) share the outer budget. The
   * master's stream is not counted.
   */
  private metered<T>(s: Session, fn: () => T): T {
    if (s.isMasterLink || this.ks.outputLeft !== Number.POSITIVE_INFINITY) return fn();
    const left = Math.max(0, OUTPUT_BYTES_MAX - s.outputBytes);
    this.ks.outputLeft = left;
    try {
      const r = fn();
      if (!(r instanceof RedisError)) s.outputBytes += left - this.ks.outputLeft;
      return r;
    } finally {
      this.ks.outputLeft = Number.POSITIVE_INFINITY;
    }
  }

  /**
   * MONITOR sees a command that is run (not one refused before it runs, nor one queued by MULTI
   * until EXEC runs it), except administrative ones, as Redis's call() feeds its monitors.
   */
  private monitored(s: Session, name: string, argv: Uint8Array[]): void {
    if (this.monitor === null) return;
    const spec = COMMANDS.get(name);
    if (spec?.flags.includes("admin") && !(name === "client" && argv.length > 1 && MONITORED_CLIENT_SUBCOMMANDS.has(str(argv[1]!).toLowerCase()))) return;
    this.monitor(s, argv);
  }

  /** SLOWLOG: log a command that started at `t0` (performance.now()) if it ran long enough, as `client`. */
  private slow(client: { addr: string; name: string | null }, argv: readonly Uint8Array[], t0: number): void {
    const us = Math.round((performance.now() - t0) * 1000);
    if (this.slowlog.wants(us)) this.slowlog.record(argv, us, client, this.clock());
  }

  /** A string's value for a reply in a run, or the refusal when it would pass the output limit. */
  private replyOrRefusal(m: KeyMeta): Reply {
    try {
      return this.ks.replyString(m);
    } catch (e) {
      if (e instanceof RedisError) return this.tally(e);
      throw e;
    }
  }

  private executeRunMetered(s: Session, kind: RunKind, cmds: readonly Uint8Array[][]): Reply[] | null {
    if (s.multi || cmds.length === 0) return null;
    const write = kind === "set";
    if (this.clientPause.active) return null; // one by one: each waits as the pause says
    if (write && (this.writePause !== null || this.ks.expiryMode !== "master" || this.ks.hooks.writesWatched?.())) return null;
    for (const c of cmds) if (c[1]!.length > KEY_BYTES_MAX) return null;
    if (this.check(s, kind, cmds[0] as Uint8Array[]) !== null) return null;
    const keys = cmds.map((c) => c[1]!);
    const metas = write ? null : this.ks.peekMany(s.db, keys);
    if (metas !== null) {
      // Values that would pass the output limit together: one by one instead, so a socket
      // sends each reply as it goes (and a REST request refuses only the reads past it).
      let bytes = 0;
      for (const m of metas) if (m !== null && m.type === TYPE.string) bytes += m.card;
      if (bytes > this.ks.outputLeft) return null;
    }
    const now = this.clock();
    const t0 = performance.now();
    this.ks.now = now;
    s.lastCmdMs = now;
    s.lastCmd = kind;
    this.blocked.endCommand();
    if (this.monitor) for (const c of cmds) this.monitor(s, c as Uint8Array[]);
    const replies: Reply[] = new Array(cmds.length);
    const general: number[] = [];
    let failed = 0; // error replies of the run itself (a GET of another type, or past the output budget)
    if (write) {
      const skipped = this.ks.setPlainStrings(s.db, keys, cmds.map((c) => c[2]!), now);
      general.push(...skipped);
      let at = 0;
      const effects: Effect[] = [];
      for (let i = 0; i < cmds.length; i++) {
        if (skipped[at] === i) {
          at++;
          continue;
        }
        replies[i] = OK;
        effects.push({ db: s.db, argv: cmds[i]! as Uint8Array[] });
        this.touched(s.db, keys[i]!);
      }
      this.emit(effects, false);
    } else {
      let hits = 0;
      let misses = 0;
      for (let i = 0; i < cmds.length; i++) {
        const m = metas![i]!;
        if (m === null) {
          replies[i] = null;
          misses++;
        } else if (this.ks.isExpired(m)) {
          // A master deletes it and propagates DEL (the general path, which counts it); a replica answers nil.
          if (this.ks.expiryMode === "master") general.push(i);
          else {
            replies[i] = null;
            misses++;
          }
        } else {
          hits++;
          const r = m.type !== TYPE.string ? this.tally(new RedisError(E.wrongType)) : this.replyOrRefusal(m);
          if (r instanceof RedisError) failed++;
          replies[i] = r;
        }
      }
      this.ks.hits += hits;
      this.ks.misses += misses;
    }
    const fast = cmds.length - general.length;
    const st = this.counted(kind, fast, now);
    st.usec += Math.round((performance.now() - t0) * 1000);
    st.failed += failed; // the general ones count themselves in run()
    for (const i of general) {
      this.unit = [];
      try {
        replies[i] = this.tally(this.run(s, kind, cmds[i]! as Uint8Array[]) as Reply);
      } finally {
        this.flushUnit();
      }
    }
    this.blocked.serveReady();
    return replies;
  }

  private check(s: Session, name: string, argv: Uint8Array[]): RedisError | null {
    const spec = COMMANDS.get(name);
    if (!spec) return unknownCommand(argv);
    if (!arityOk(spec.arity, argv.length)) {
      return new RedisError(E.arity(spec.name));
    }
    for (const i of keyIndexes(spec, argv.length)) {
      if (argv[i]!.length > KEY_BYTES_MAX) return new RedisError(E.tooBig("key", KEY_BYTES_MAX));
    }
    if (s.readOnlyToken) {
      const denied = readOnlyDenial(spec, argv);
      if (denied) return new RedisError(E.noPerm(denied));
    }
    const write = spec.flags.includes("write");
    if (write && this.replicaMode && !s.isMasterLink) return new RedisError(E.readonly);
    if (write && !s.isMasterLink && this.writeGate) {
      const gate = this.writeGate();
      if (gate) return new RedisError(gate);
    }
    // Redis refuses them as they arrive (processCommand), not as EXEC runs them: a queued
    // PUBLISH after a queued SUBSCRIBE runs.
    const subscribed = this.inExec ? null : this.node?.pubsub?.contextError(s, spec.name, argv);
    if (subscribed) return new RedisError(subscribed);
    if (this.masterDown && !spec.flags.includes("stale")) return new RedisError(E.masterDown);
    if (this.loading && !spec.flags.includes("stale")) return new RedisError("LOADING Redis is loading the dataset in memory");
    return null;
  }

  private queue(s: Session, name: string, argv: Uint8Array[]): Reply {
    const err = this.check(s, name, argv);
    if (err) {
      s.multiError = true;
      return this.rejected(name, err);
    }
    const spec = COMMANDS.get(name)!;
    if (spec.flags.includes("no-multi") || spec.flags.includes("async")) {
      s.multiError = true;
      return new RedisError(`ERR Command not allowed inside a transaction`);
    }
    s.multi!.push(argv);
    return QUEUED;
  }

  private exec(s: Session): Reply {
    if (!s.multi) return new RedisError("ERR EXEC without MULTI");
    const queued = s.multi;
    const aborted = s.multiError;
    const dirty = s.watchDirty;
    this.endMulti(s);
    if (aborted) return new RedisError("EXECABORT Transaction discarded because of previous errors.");
    if (dirty) return NIL_ARRAY;
    this.unit = [];
    this.inExec = true;
    try {
      const replies: Reply[] = [];
      for (const argv of queued) {
        const name = str(argv[0]!).toLowerCase();
        const err = this.check(s, name, argv);
        if (!err) this.monitored(s, name, argv);
        const t0 = performance.now();
        const r = err ? this.rejected(name, err) : this.run(s, name, argv);
        if (!err) this.slow(s, argv, t0);
        const reply = r instanceof Promise ? new RedisError("ERR async command in a transaction") : r;
        // EXEC's own reply is an array: count its errors one by one, as Redis does.
        replies.push(reply instanceof RedisError ? this.tally(reply) : reply);
      }
      return replies;
    } finally {
      this.inExec = false;
      this.flushUnit();
    }
  }

  private endMulti(s: Session): void {
    s.multi = null;
    s.multiError = false;
    this.unwatchAll(s);
  }

  /** Run a checked command inside the current unit. Errors thrown by handlers become replies. */
  private run(s: Session, name: string, argv: Uint8Array[], mode: RunMode = NO_BLOCKING): Reply | Promise<Reply> {
    const spec = COMMANDS.get(name)!;
    const now = this.clock();
    this.ks.now = now;
    this.blocked.endCommand(); // a command that failed before finishing leaves nothing quieted
    // Counted per subcommand of a container (`config|get`), as Redis 7 counts them.
    const statName = commandFullName(name, argv);
    const fresh = !this.stats.calls.has(statName);
    const st = this.counted(statName, 1, now);
    const t0 = performance.now();
    let replaced: (Uint8Array | string)[] | null = null;
    let prevented = false;
    let ownSignals = false;
    const extra: Effect[] = [];
    const ctx: Ctx = {
      ks: this.ks,
      session: s,
      db: s.db,
      argv,
      name,
      inTransaction: this.inExec,
      stats: this.stats,
      now,
      node: this.node,
      dirty: 0,
      rewrite: (a) => {
        replaced = a;
      },
      alsoPropagate: (a, db) => {
        extra.push({ db: db ?? s.db, argv: a });
      },
      preventPropagation: () => {
        prevented = true;
      },
      touched: (db, key) => this.touched(db, key),
      touchedAll: (db, swappedWith) => this.touchedAll(db, swappedWith),
      signalsOwnKeys: () => {
        ownSignals = true;
      },
      scripting: this.scriptingCtx,
      clientPause: this.clientPause,
      blocking: mode === NO_BLOCKING ? this.noBlocking : mode === CLIENT_BLOCKING ? this.clientBlocking : this.blockingCtx(mode),
    };
    const finish = (reply: Reply): Reply => {
      if (reply instanceof RedisError) this.failedCall(st, statName, fresh, reply);
      if (ctx.dirty > 0 && spec.flags.includes("write")) {
        if (!ownSignals) for (const i of keyIndexes(spec, argv.length)) this.touched(ctx.db, argv[i]!);
        if (!prevented) this.effect({ db: ctx.db, argv: replaced ?? argv });
      }
      this.blocked.endCommand();
      for (const e of extra) this.effect(e);
      return reply;
    };
    try {
      const r = spec.handler(ctx);
      if (r instanceof Promise) {
        return r.then(finish, (e) => {
          const err = toErrorReply(e);
          this.failedCall(st, statName, fresh, err);
          return err;
        });
      }
      return finish(r);
    } catch (e) {
      // A handler that fails after changing data still propagates what it did.
      if (ctx.dirty > 0) finish(null);
      const err = toErrorReply(e);
      this.failedCall(st, statName, fresh, err);
      return err;
    } finally {
      st.usec += Math.round((performance.now() - t0) * 1000);
    }
  }

  // --- scripts -------------------------------------------------------------------------

  /** One object for every command (commands get it as ctx.scripting). */
  private readonly scriptingCtx: ScriptingCtx = {
    scripts: null as unknown as Scripting,
    run: (s, sha, keys, args, ro) => this.scripting.run(sha, keys, args, ro, this.scriptEnv(s)),
    runFunction: (s, name, keys, args, ro) => this.scripting.runFunction(name, keys, args, ro, this.scriptEnv(s)),
    propagate: (argv) => this.effect({ db: -1, argv }),
  };

  private scriptEnv(caller: Session): ScriptEnv {
    // The script's own client (Redis's lua_client): the caller's database, its own SELECT.
    const ss: Session = { ...caller, addr: "lua", multi: null, multiError: false, watched: new Set(), watchDirty: false };
    const limit = this.node?.configGet("busy-reply-threshold")[0]?.[1];
    // The reply replaces what the script read on its way (those reads were charged as they ran,
    // which bounds them): the caller may gather what it could when the script started.
    const outputLeft = this.ks.outputLeft;
    let replyStarted = false;
    return {
      chargeReply: (n) => {
        if (!replyStarted) {
          replyStarted = true;
          this.ks.outputLeft = outputLeft;
        }
        this.ks.charge(n);
      },
      call: (argv, resp, keys, readOnly) => this.callFromScript(ss, argv, resp, keys, readOnly),
      propagate: (argv) => this.effect({ db: -1, argv }),
      timeLimitMs: () => (limit === undefined ? 5000 : Number(limit)),
      transaction: (fn) => {
        // A script stopped by its time limit throws: its storage writes roll back with the
        // transaction, and the effects it queued in this unit are dropped with them.
        const mark = this.unit?.length ?? 0;
        try {
          return this.transaction(fn);
        } catch (e) {
          if (this.unit) this.unit.length = mark;
          throw e;
        }
      },
      isReplica: this.replicaMode && !caller.isMasterLink,
      masterDown: this.masterDown,
      writeGate: this.writeGate && !caller.isMasterLink ? this.writeGate() : null,
    };
  }

  /**
   * redis.call() from a script: the checks Redis's scriptCall makes (its error texts), then
   * the command runs inside the current execution unit, which is not flushed: a script's
   * writes reach the stream together, wrapped in MULTI/EXEC.
   */
  private callFromScript(s: Session, argv: Uint8Array[], resp: 2 | 3, declared: Set<string> | null, readOnly: boolean): Reply {
    const name = str(argv[0]!).toLowerCase();
    const spec = COMMANDS.get(name);
    if (!spec) {
      return new RedisError(TX_ARITY[name] !== undefined ? "ERR This Redis command is not allowed from script" : "ERR Unknown Redis command called from script");
    }
    if (!arityOk(spec.arity, argv.length)) return new RedisError("ERR Wrong number of args calling Redis command from script");
    if (spec.flags.includes("noscript") || spec.flags.includes("async")) return new RedisError("ERR This Redis command is not allowed from script");
    if (this.masterDown && !spec.flags.includes("stale")) return new RedisError("ERR Can not execute the command on a stale replica");
    const write = spec.flags.includes("write");
    const denied = s.readOnlyToken ? readOnlyDenial(spec, argv) : null;
    if (denied) return new RedisError(`ERR The user executing the script has no permissions to run the '${denied}' command`);
    if (write && readOnly) return new RedisError("ERR Write commands are not allowed from read-only scripts.");
    if (write && this.replicaMode && !s.isMasterLink) return new RedisError(E.readonly);
    for (const i of keyIndexes(spec, argv.length)) {
      const key = argv[i]!;
      if (key.length > KEY_BYTES_MAX) return new RedisError(E.tooBig("key", KEY_BYTES_MAX));
      if (declared && !declared.has(scriptKeyId(key))) {
        return new RedisError(`ERR Dynamic keys are not allowed in Lua scripts when 'allow-key-locking' flag is set. Key was: ${str(key)}`);
      }
    }
    s.resp = resp;
    this.monitored(s, name, argv);
    const t0 = performance.now();
    const r = this.run(s, name, argv);
    this.slow(SCRIPT_SLOWLOG_CLIENT, argv, t0); // Redis logs a script's commands too, as its script client

    return r instanceof Promise ? new RedisError("ERR This Redis command is not allowed from script") : r;
  }

  /** Record a propagated effect in the current unit (or emit it alone outside a unit). */
  private effect(e: Effect): void {
    if (this.unit) this.unit.push(e);
    else this.emit([e]);
  }

  private flushUnit(): void {
    const u = this.unit;
    this.unit = null;
    if (u && u.length) this.emit(u);
  }

  /**
   * Encode effects as the stream: SELECT when needed, MULTI/EXEC around more than one unless
   * `wrap` says they are independent commands (a run: `executeRun`).
   */
  private emit(effects: readonly Effect[], wrap = effects.length > 1): void {
    if (!this.sink || effects.length === 0) return;
    // A replica's stream is its master's, byte for byte (it applies that with no sink): nothing
    // a client runs here may enter it — a SCRIPT LOAD that EVAL_RO made on a replica moved its
    // offset past its master's, and its next partial resync skipped that many of the master's
    // bytes. Redis keeps a writable replica's own writes local in the same way.
    if (this.node?.isReplica()) return;
    // An arena shared by all units: no allocation per propagated command.
    const w = this.encoder;
    w.begin();
    const first = effects.find((e) => e.db >= 0);
    if (wrap && first && first.db !== this.streamDb) {
      w.command(["SELECT", String(first.db)]);
      this.streamDb = first.db;
    }
    if (wrap) w.command(["MULTI"]);
    for (const e of effects) {
      if (e.db >= 0 && e.db !== this.streamDb) {
        w.command(["SELECT", String(e.db)]);
        this.streamDb = e.db;
      }
      w.command(e.argv);
    }
    if (wrap) w.command(["EXEC"]);
    this.sink.feed(w.end());
  }

  /** Propagate a command that is not the effect of a client command (PING, REPLCONF GETACK, DEL of active expiry). */
  propagateRaw(argv: (Uint8Array | string)[], db = -1): void {
    this.effect({ db, argv });
  }

  // --- WATCH ---------------------------------------------------------------------------

  private watch(s: Session, db: number, key: Uint8Array): void {
    const k = `${db}:${bkey(key)}`;
    if (s.watched.has(k)) return;
    // Redis 7: watching a key that is already logically expired counts as a change if it expires later; keep it simple.
    s.watched.add(k);
    let w = this.watchers.get(k);
    if (!w) this.watchers.set(k, (w = { db, key: key.slice(), sessions: new Set() }));
    w.sessions.add(s);
  }

  unwatchAll(s: Session): void {
    for (const k of s.watched) {
      const w = this.watchers.get(k);
      w?.sessions.delete(s);
      if (w && w.sessions.size === 0) this.watchers.delete(k);
    }
    s.watched.clear();
    s.watchDirty = false;
  }

  /** A key changed: invalidate the transactions watching it. */
  touched(db: number, key: Uint8Array): void {
    if (this.watchers.size === 0) return;
    const w = this.watchers.get(`${db}:${bkey(key)}`);
    if (w) for (const s of w.sessions) s.watchDirty = true;
  }

  /**
   * Before FLUSHDB (db) / FLUSHALL (null) / SWAPDB (db, swappedWith) changes whole databases:
   * a watched key is invalidated only if it exists in the database being emptied or in the
   * one replacing it (Redis 7.0 touchAllWatchedKeysInDb) — flushing an empty database
   * changes nothing, so a WATCH on a missing key survives it. Costs one lookup per watched key.
   */
  touchedAll(db: number | null, swappedWith?: number): void {
    // SWAPDB brings other keys in under the blocked clients (Redis scanDatabaseForReadyKeys).
    if (swappedWith !== undefined && db !== null) this.blocked.signalSwap(db, swappedWith);
    for (const w of this.watchers.values()) {
      if (db !== null && w.db !== db) continue;
      const exists = this.ks.peek(w.db, w.key) !== null || (swappedWith !== undefined && this.ks.peek(swappedWith, w.key) !== null);
      if (exists) for (const s of w.sessions) s.watchDirty = true;
    }
  }

  /** The whole dataset was replaced (a restore, a full sync): every WATCH is invalidated. */
  invalidateAllWatches(): void {
    for (const w of this.watchers.values()) for (const s of w.sessions) s.watchDirty = true;
  }

  /** A connection went away: its block (if any) is released with no reply to deliver. */
  closeSession(s: Session): void {
    this.unwatchAll(s);
    s.multi = null;
    this.blocked.drop(s);
  }

  // --- blocked clients (keyspace/blocking.ts; commands in commands/blocking.ts) ----------

  /** The two common contexts, made once (one per command would be an allocation per command). */
  private readonly noBlocking = this.blockingCtx(NO_BLOCKING);
  private readonly clientBlocking = this.blockingCtx(CLIENT_BLOCKING);

  private blockingCtx(mode: RunMode): BlockingCtx {
    return {
      canBlock: mode.canBlock,
      servingKey: mode.servingKey,
      block: (keys, kind, deadlineMs) => {
        this.blockRequest = { keys, kind, deadlineMs };
        return null;
      },
      unblock: (id, how) => this.blocked.unblock(id, how),
      isBlocked: (id) => this.blocked.has(id),
      overwritten: (db, key) => this.blocked.quiet(db, key),
    };
  }

  /** What a key holds that a blocked client could take (keyspace/blocked-clients.ts). */
  private blockableKind(db: number, key: Uint8Array): BlockKind | null {
    this.ks.now = this.clock();
    const m = this.ks.lookupRead(db, key, false);
    if (!m || m.card === 0) return null;
    return m.type === TYPE.list ? "list" : m.type === TYPE.zset ? "zset" : null;
  }

  /** A blocked client's command, run again for the key that became ready, as its own unit. */
  private serveBlocked(s: Session, name: string, argv: Uint8Array[], key: Uint8Array): Reply {
    this.unit = [];
    let r: Reply | Promise<Reply>;
    try {
      r = this.run(s, name, argv, { canBlock: false, servingKey: key });
    } finally {
      this.flushUnit();
    }
    return r instanceof Promise ? new RedisError("ERR async command served") : r;
  }

  // --- active expiry -------------------------------------------------------------------

  /**
   * One step of the active expiry cycle (a master only): delete up to `limit` expired keys,
   * each propagated as its own DEL. Returns the number deleted.
   */
  activeExpire(limit: number): number {
    if (this.replicaMode) return 0;
    this.ks.now = this.clock();
    const keys = this.ks.expiredKeys(limit);
    for (const m of keys) {
      this.stats.expiredKeys++;
      this.ks.deleteKey(m);
      this.touched(m.db, m.key);
      this.emit([{ db: m.db, argv: ["DEL", m.key] }]);
    }
    return keys.length;
  }
}

/** Runs of commands `Engine.executeRun` takes together. */
export type RunKind = "set" | "get";

/** `SET key value` with a value that fits one row: what applyPlainSetsFromMaster takes. */
export function isPlainSet(argv: readonly Uint8Array[]): boolean {
  if (argv.length !== 3 || argv[2]!.length > STRING_CHUNK_BYTES) return false;
  const n = argv[0]!;
  return n.length === 3 && (n[0]! | 0x20) === 0x73 && (n[1]! | 0x20) === 0x65 && (n[2]! | 0x20) === 0x74;
}

/** `GET key`. */
export function isPlainGet(argv: readonly Uint8Array[]): boolean {
  if (argv.length !== 2) return false;
  const n = argv[0]!;
  return n.length === 3 && (n[0]! | 0x20) === 0x67 && (n[1]! | 0x20) === 0x65 && (n[2]! | 0x20) === 0x74;
}

/** The run a command can join (`Engine.executeRun`), or null. */
export function runKindOf(argv: readonly Uint8Array[]): RunKind | null {
  return isPlainSet(argv) ? "set" : isPlainGet(argv) ? "get" : null;
}

/**
 * Commands a write pause holds (Redis's CMD_WRITE | CMD_MAY_REPLICATE): writes, and those that
 * may reach the replication stream without the write flag.
 */
const MAY_REPLICATE: ReadonlySet<string> = new Set(["eval", "evalsha", "fcall", "publish", "spublish", "pfcount"]);
const MAY_REPLICATE_SUBCOMMANDS: Readonly<Record<string, ReadonlySet<string>>> = {
  // SCRIPT LOAD / FLUSH run through a pause in Redis 7.0 (measured); FUNCTION changes wait.
  function: new Set(["load", "delete", "flush", "restore"]),
};

function mayReplicate(name: string, argv?: readonly Uint8Array[]): boolean {
  if (COMMANDS.get(name)?.flags.includes("write") || MAY_REPLICATE.has(name)) return true;
  const subs = MAY_REPLICATE_SUBCOMMANDS[name];
  return subs !== undefined && argv !== undefined && argv.length > 1 && subs.has(str(argv[1]!).toLowerCase());
}

/** Scripts are shown to MONITOR before the commands they call. */
const SCRIPT_COMMANDS: ReadonlySet<string> = new Set(["eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"]);
/** CLIENT subcommands that are not administrative in Redis 7.0 (MONITOR shows them). */
const MONITORED_CLIENT_SUBCOMMANDS: ReadonlySet<string> = new Set(["id", "setname", "getname", "info", "reply", "tracking", "trackinginfo", "caching", "getredir", "help"]);
/** SLOWLOG's client for the commands a script calls (Redis's script client has no address). */
const SCRIPT_SLOWLOG_CLIENT = { addr: "?:0", name: null };

/** Commands whose CLIENT LIST cmd= names the subcommand too (Redis's container commands). */
const CONTAINER_COMMANDS: ReadonlySet<string> = new Set(["client", "config", "command", "script", "object", "memory", "pubsub", "function", "xinfo", "acl", "latency", "module", "slowlog", "cluster"]);

/** The command's name as CLIENT LIST shows it: `get`, `client|list`. */
function commandFullName(name: string, argv: Uint8Array[]): string {
  if (!CONTAINER_COMMANDS.has(name) || argv.length < 2 || !COMMANDS.has(name)) return name;
  const sub = str(argv[1]!).toLowerCase();
  // Only a subcommand-like word: a client's junk argument is not echoed into CLIENT LIST.
  return /^[a-z][a-z0-9_-]{0,31}$/.test(sub) ? `${name}|${sub}` : name;
}

function toErrorReply(e: unknown): RedisError {
  if (e instanceof RedisError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new RedisError(`ERR ${msg}`);
}

/**
 * Redis 7.0's message for an unknown command, byte for byte: the name and then the arguments
 * quoted with `%.128s` / `'%.*s' ` while the quoted part is under 128 bytes, each cut at its
 * first NUL byte as C strings are; the bytes go out raw (an invalid UTF-8 name is echoed as sent).
 */
function unknownCommand(argv: Uint8Array[]): RedisError {
  const parts: (string | Uint8Array)[] = ["ERR unknown command '", cString(argv[0]!, 128), "', with args beginning with: "];
  let quoted = 0;
  for (let i = 1; i < argv.length && quoted < 128; i++) {
    const a = cString(argv[i]!, 128 - quoted);
    parts.push("'", a, "' ");
    quoted += a.length + 3;
  }
  return quotingError(parts);
}

