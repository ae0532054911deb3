/**
 * The command table's shape and the context a command handler runs in. Each file under
 * keyspace/commands/ exports a `CommandSpec[]`; keyspace/table.ts gathers them.
 */
import type { SlowLog } from "./slowlog.ts";
import type { ClientPause } from "./client-pause.ts";
import type { OpsMeter } from "./ops-meter.ts";
import type { Reply } from "../protocol/reply.ts";
import type { RespVersion } from "../protocol/resp.ts";
import { categoriesFromFlags } from "./permissions.ts";
import type { ScriptingCtx } from "../scripting/scripting.ts";
import type { Keyspace } from "./store.ts";
import type { PubSubHub } from "../pubsub/hub.ts";
import type { BlockKind } from "./blocking.ts";
import type { ClientView } from "./client-info.ts";

/**
 * Command flags, as Redis's COMMAND reply names them.
 * - write: changes data; refused on replicas (READONLY) and with the read-only token.
 * - readonly: reads data.
 * - admin: server administration (CONFIG, DEBUG, REPLICAOF, CLIENT…).
 * - noscript, fast, denyoom: informational, reported by COMMAND INFO.
 * - stale: allowed on a replica whose link is down with replica-serve-stale-data no.
 * - no-multi: cannot be queued inside MULTI (answers an error when tried).
 * - async: the handler may return a Promise (node operations); never queued inside MULTI.
 * - blocking: may block the client (BLPOP…, keyspace/commands/blocking.ts); informational.
 * - loading, pubsub…: not used.
 */
export type CommandFlag = "write" | "readonly" | "admin" | "noscript" | "fast" | "denyoom" | "stale" | "no-multi" | "async" | "pubsub" | "loading" | "blocking";

/**
 * Redis ACL categories, the subset the permission model uses (keyspace/permissions.ts):
 * the read-only token runs only @read and @connection commands that are not also @write,
 * @admin or @dangerous.
 */
export type AclCategory = "read" | "write" | "admin" | "dangerous" | "connection" | "scripting" | "pubsub";

/** A command's categories: fixed, or per invocation for commands whose subcommands differ. */
export type AclSpec = readonly AclCategory[] | ((argv: Uint8Array[]) => { categories: readonly AclCategory[]; name: string });

export interface CommandSpec {
  /** Lowercase name. */
  name: string;
  /** Redis arity: N exactly N arguments including the name; -N at least N. */
  arity: number;
  flags: readonly CommandFlag[];
  /** Key positions (1-based, Redis's first/last/step; last -1 = last argument; 0 = no keys). */
  firstKey: number;
  lastKey: number;
  step: number;
  /** Permission categories (derived from `flags` unless given to `cmd`). */
  acl: AclSpec;
  handler(ctx: Ctx): Reply | Promise<Reply>;
}

/** Per-connection state (a WebSocket, one REST request, or the replication link). */
export interface Session {
  id: number;
  db: number;
  resp: RespVersion;
  /** Commands queued by MULTI, or null outside a transaction. */
  multi: Uint8Array[][] | null;
  /** A queued command was refused: EXEC answers EXECABORT. */
  multiError: boolean;
  /** WATCHed keys (db:keybytes) → true; `watchDirty` once one of them changed. */
  watched: Set<string>;
  watchDirty: boolean;
  /** Refuse write commands (the read-only token). */
  readOnlyToken: boolean;
  /** The replication link from our master: its writes are applied even on a replica. */
  isMasterLink: boolean;
  name: string | null;
  /** Where the connection comes from, for CLIENT LIST / INFO. */
  addr: string;
  /** Set by CLIENT KILL / a replica link teardown: the transport closes it. */
  closed: boolean;
  /** Set by MONITOR: the transport turns the connection into a MONITOR stream. */
  monitoring: boolean;
  /** Set by AUTH with the replication secret: the transport makes the connection a replication link. */
  replicationLink: boolean;
  /** When the connection opened and last ran a command (ms; CLIENT LIST age and idle). */
  createdMs: number;
  lastCmdMs: number;
  /** The last command run, as CLIENT LIST's cmd= names it (`client|list`). */
  lastCmd: string;
  /**
   * A blocking command of this session waits at most until this time (ms), whatever its own
   * timeout: REST requests (REST_BLOCK_MS_MAX). null: no cap (sockets).
   */
  blockCapAtMs: number | null;
  /** A socket's session (a REST request's is not): CLIENT REPLY applies to it. */
  socket: boolean;
  /**
   * CLIENT REPLY: `replyOff` silences every reply until ON; `replySkip` the reply of the
   * command running now; `replySkipNext` carries SKIP over to the next command (the socket
   * moves it after each command, as Redis's resetClient does).
   */
  replyOff: boolean;
  replySkip: boolean;
  replySkipNext: boolean;
  /**
   * Bytes of values read into this session's replies since the transport last sent them
   * (OUTPUT_BYTES_MAX; the transport zeroes it when it sends).
   */
  outputBytes: number;
}

let nextSessionId = 1;

/**
 * Ids from here on are above `id`: a socket's session rebuilt after hibernation keeps its id
 * (CLIENT ID), and a new instance's counter must not hand it out again.
 */
export function reserveSessionIds(id: number): void {
  if (id >= nextSessionId) nextSessionId = id + 1;
}

export function newSession(partial: Partial<Session> = {}): Session {
  return {
    id: nextSessionId++,
    db: 0,
    resp: 2,
    multi: null,
    multiError: false,
    watched: new Set(),
    watchDirty: false,
    readOnlyToken: false,
    isMasterLink: false,
    name: null,
    addr: "127.0.0.1:0",
    closed: false,
    monitoring: false,
    replicationLink: false,
    createdMs: Date.now(),
    lastCmdMs: Date.now(),
    lastCmd: "NULL",
    blockCapAtMs: null,
    socket: false,
    replyOff: false,
    replySkip: false,
    replySkipNext: false,
    outputBytes: 0,
    ...partial,
  };
}

/** What the Durable Object offers to server commands (INFO, ROLE, CONFIG, DEBUG, REPLICAOF…). */
export interface NodeServices {
  /** INFO sections this node adds (replication, server…), as Redis-formatted text. */
  infoSection(name: string): string | null;
  role(): Reply;
  configGet(pattern: string): [string, string][];
  /** CONFIG SET's pairs, all or none: an error message (nothing changed), or null when all were set. */
  configSet(pairs: [string, string][]): string | null;
  /** CONFIG RESETSTAT: INFO's counters back to zero (the engine's, the node's, the master's). */
  resetStats(): void;
  debugEnabled(): boolean;
  debugRestart(): Promise<Reply>;
  /** DEBUG POPULATE's arguments (after the subcommand), into database `db`. */
  debugPopulate(db: number, args: string[]): Reply | Promise<Reply>;
  /** DEBUG R2-FAIL / R2-CORRUPT / …: fault injection for tests (only with DEBUG enabled). */
  debugFault(sub: string, args: string[]): Reply;
  replicaOf(target: string | null): Promise<Reply>;
  /** REPLICAOF host port of an outside Redis master (replication/outside-hosts.ts). */
  replicaOfOutside(host: string, port: number): Promise<Reply>;
  clientKill(args: Uint8Array[], session: Session): Reply;
  /** WAIT of client `client` (its session id: CLIENT UNBLOCK and CLIENT LIST find it). */
  wait(numReplicas: number, timeoutMs: number, client?: number): Promise<Reply>;
  /** WAIT inside MULTI: the replicas that acknowledged the current offset, without waiting. */
  waitNow(): Reply;
  /** CLIENT UNBLOCK of a client waiting in WAIT; whether it was. */
  unblockWait?(client: number, how: "timeout" | "error"): boolean;
  /** Replication offset the stream has reached. */
  replOffset(): number;
  /** A random id of this running instance (changes at every restart, as Redis's run_id). */
  runId(): string;
  /** Whether this node is a replica (writes refused). */
  isReplica(): boolean;
  /** Which of the deployment's tokens a password is (AUTH), compared in constant time. */
  checkToken(token: string): Promise<"read-write" | "read-only" | "replication" | null>;
  /** This node's pub/sub (src/pubsub/); absent where no node runs the engine. */
  pubsub?: PubSubHub;
  /** Every open client connection of the node (CLIENT LIST); absent where no node runs the engine. */
  clients?(): ClientView[];
  /** FAILOVER (arguments after the name); absent where no node runs the engine. */
  failover?(args: string[]): Reply;
}

/** One command's INFO commandstats line (Redis 7.0's redisCommand counters). */
export interface CommandStat {
  /** Executions (a refused call is not one). */
  calls: number;
  /** Microseconds spent running them (the handler's synchronous part, as Redis times `call()`). */
  usec: number;
  /** Refused before running: arity, permissions, READONLY, NOREPLICAS, LOADING… */
  rejected: number;
  /** Ran and answered an error. */
  failed: number;
}

/** What the engine counts for INFO (stats, commandstats, errorstats, persistence). */
export interface EngineStats {
  /** Commands run (total_commands_processed). */
  commands: number;
  /** Error replies, and per error code (the first word: ERR, WRONGTYPE…). */
  errorReplies: number;
  errorCodes: Map<string, number>;
  /** Per command name (commandstats). */
  calls: Map<string, CommandStat>;
  /** Keys deleted because their TTL passed. */
  expiredKeys: number;
  /** Samples of `commands` for instantaneous_ops_per_sec. */
  ops: OpsMeter;
  /** A dataset is being loaded. */
  loading: boolean;
  /** SLOWLOG's entries. */
  slowlog: SlowLog;
}

/** The world of one command execution. */
export interface Ctx {
  ks: Keyspace;
  session: Session;
  /** The command's database (session.db at the time it runs). */
  db: number;
  /** Arguments, argv[0] is the command name as sent. */
  argv: Uint8Array[];
  /** Lowercase command name. */
  name: string;
  /** Counters of the engine, read by INFO. */
  stats: EngineStats;
  /** The command runs inside EXEC: it cannot wait for anything (no async node operation). */
  inTransaction: boolean;
  /** Cached wall clock for this command (ms). */
  now: number;
  node: NodeServices;
  /** Number of changes made; a write command with dirty > 0 is propagated. */
  dirty: number;
  /** Propagate this instead of argv (Redis rewriteClientCommandVector). */
  rewrite(argv: (Uint8Array | string)[]): void;
  /** Propagate an extra command (Redis alsoPropagate). */
  alsoPropagate(argv: (Uint8Array | string)[], db?: number): void;
  /** Do not propagate argv even if dirty (the effects went through alsoPropagate). */
  preventPropagation(): void;
  /** Mark a key as modified (WATCH) in a database. */
  touched(db: number, key: Uint8Array): void;
  /**
   * Call BEFORE FLUSHDB (db) / FLUSHALL (null) / SWAPDB (db, swappedWith) changes the data:
   * invalidates the WATCHes of keys that exist in the database(s) or in the one swapped in.
   */
  touchedAll(db: number | null, swappedWith?: number): void;
  /**
   * The handler signals the keys it modified itself with `touched` (SMOVE does not touch a
   * destination that already held the member); otherwise every key argument of a write that
   * changed something invalidates its WATCHes.
   */
  signalsOwnKeys(): void;
  /** The node's scripts and a way to run one inside this execution unit (EVAL, SCRIPT). */
  scripting?: ScriptingCtx;
  /** Blocking commands and the blocked clients (keyspace/blocking.ts). */
  blocking: BlockingCtx;
  /** CLIENT PAUSE / UNPAUSE (keyspace/client-pause.ts). */
  clientPause: Pick<ClientPause, "pause" | "unpause">;
}

/** What a command sees of the engine's blocked clients. */
export interface BlockingCtx {
  /** The client may block: a connection's own command, not inside MULTI or a script. */
  readonly canBlock: boolean;
  /**
   * Set when the engine serves a blocked client: the key that became ready. The command
   * pops from it only (Redis serves from the ready key, not the first key named).
   */
  readonly servingKey: Uint8Array | null;
  /**
   * Block the client on `keys` until `deadlineMs` (null: forever). The handler returns what
   * this returns; the client's reply comes when a write serves it or it times out.
   */
  block(keys: Uint8Array[], kind: BlockKind, deadlineMs: number | null): Reply;
  /** CLIENT UNBLOCK id [TIMEOUT|ERROR]: whether client `id` was blocked (and now is not). */
  unblock(id: number, mode: "timeout" | "error"): boolean;
  /**
   * A STORE (SORT, ZUNIONSTORE, ZRANGESTORE, GEO…) replaced an existing `key` in place. Redis
   * 7.0's setKey → dbOverwrite readies nothing (only dbAdd does, and only streams there), so
   * clients blocked on the key keep waiting (until it is deleted and created again).
   */
  overwritten(db: number, key: Uint8Array): void;
  /** Whether client `id` is blocked (CLIENT LIST flag b). */
  isBlocked(id: number): boolean;
}

/**
 * Shorthand for a table entry: name, arity, flags, first/last/step key positions, handler,
 * and the permission categories when Redis's flags do not give them (write, readonly, admin).
 */
export function cmd(
  name: string,
  arity: number,
  flags: CommandFlag[],
  keys: [first: number, last: number, step: number],
  handler: (ctx: Ctx) => Reply | Promise<Reply>,
  acl?: AclSpec,
): CommandSpec {
  const derived = acl ?? categoriesFromFlags(flags);
  if (derived === null) throw new Error(`command '${name}' has no permission categories: flag it write/readonly/admin or pass them`);
  return { name, arity, flags, firstKey: keys[0], lastKey: keys[1], step: keys[2], acl: derived, handler };
}
