/**
 * A node: one Durable Object class for masters and replicas (Redis nodes change role, and a
 * replica can feed sub-replicas). It wires the plain-TypeScript engine and replication state
 * machines to SQLite storage, hibernatable WebSockets, the alarm and R2.
 *
 * Connections (all WebSockets accepted here hibernate; node/sockets.ts handles them):
 * - `/ws`: RESP clients (pipelining, MULTI/EXEC/WATCH, MONITOR).
 * - `/replication`: replicas of this node (handshake, PSYNC, then the stream).
 * The replica side's link to its own master is an outbound WebSocket (see replication/link.ts);
 * outbound sockets cannot hibernate, so the replica persists its state and the alarm brings
 * the link back after an eviction.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.ts";
import { H_CLIENT_ADDR, H_DB, H_NODE, H_READONLY, H_REPLICA_TRANSPORT, type RestTarget } from "../http/node-protocol.ts";
import { checkAuth } from "../http/auth.ts";
import { handleRest, NOT_OVER_REST } from "../http/rest.ts";
import { newSession, type NodeServices, reserveSessionIds, type Session } from "../keyspace/command.ts";
import { Engine, type RunKind } from "../keyspace/engine.ts";
import { E } from "../keyspace/errors.ts";
import { GC_ROWS_PER_STEP, GC_STEP_MS } from "../keyspace/store.ts";
import { ACTIVE_EXPIRE_KEYS_PER_STEP, CLIENT_SLICE_BYTES, REPLICATION_CHAIN_MAX } from "../limits.ts";
import { OK, RedisError, type Reply, Simple, Verbatim } from "../protocol/reply.ts";
import { newSlice, pushYielding, SnapshotLoader } from "../replication/loader.ts";
import { MasterSide } from "../replication/master.ts";
import { type ReplicationHalt, ReplicaSide } from "../replication/replica.ts";
import { notAllowedError, outsideHostAllowed } from "../replication/outside-hosts.ts";
import { openTcp, type TcpLink } from "../replication/tcp.ts";
import { Backlog } from "../replication/backlog.ts";
import { ReplMeta } from "../replication/meta.ts";
import { SnapshotManager } from "../replication/snapshot.ts";
import { FaultyBucket } from "../replication/faults.ts";
import { randomHex40, str, utf8 } from "../util/bytes.ts";
import { hideSecrets, NodeConfig } from "./config.ts";
import { PubSubHub } from "../pubsub/hub.ts";
import { parseStreamPath, StreamClients } from "../pubsub/streams.ts";
import { ACK_HEADER } from "../pubsub/socket-output.ts";
import { type Attachment, type Conn, NodeSockets, type SocketHost } from "./sockets.ts";
import { Turns } from "./turns.ts";
import { parsePopulate, populate } from "./populate.ts";

/** Commands that turn a connection into a subscriber: sockets only, never REST. */
// --- edge reads and FAILOVER (issue 8) ---
import { Failover } from "../replication/failover.ts";
import type { AckLagSummary } from "../replication/ack-lag.ts";
import { LagClock } from "../replication/lag-clock.ts";
import { admit, H_ROUTE, H_SERVED_BY, H_SYNC_WAIT_MS, rerouteResponse, routeKind, type AdmissionHost } from "../routing/admission.ts";
import { regionOrNull, type NodeView } from "../routing/topology.ts";
import { latencyScale } from "../routing/simulate.ts";
import { parseSyncToken, SYNC_TOKEN_HEADER } from "../http/rest.ts";
import { configureLog, log } from "../util/log.ts";

/** Period of the replication cron while replication is active (Redis replicationCron: 1 s). */
export const CRON_PERIOD_MS = 1000;
/** Pause between two steps of deleting dropped databases' rows. */
const GC_STEP_PERIOD_MS = 5;

export class Node extends DurableObject<Env> implements RestTarget {
  readonly sql: SqlStorage;
  readonly engine: Engine;
  readonly config: NodeConfig;
  readonly meta: ReplMeta;
  readonly backlog: Backlog;
  readonly master: MasterSide;
  readonly replica: ReplicaSide;
  readonly snapshots: SnapshotManager;
  readonly bucket: FaultyBucket;
  /** Shared turns of socket frames, CLIENT_SLICE_BYTES each (node/turns.ts). */
  readonly turns = new Turns(CLIENT_SLICE_BYTES);
  /** Client, MONITOR and replication sockets (node/sockets.ts). */
  private readonly connections = new NodeSockets(this.socketHost());
  private dbName: string | null = null;
  private nodeName: string | null = null;
  private alarmAt: number | null = null;
  /** DEBUG SET-ACTIVE-EXPIRE: the active expiry cycle can be turned off (tests of lazy expiry). */
  private activeExpire = true;
  /** DEBUG RESTART asked: the next alarm aborts the object. */
  private restartPending = false;
  /** INFO total_connections_received: WebSocket connections accepted (clients, MONITOR, replicas) and REST requests, since the object started. */
  private connectionsReceived = 0;
  /** The role `applyRole` saw last was master (a change to replica closes the sockets that follow the master). */
  private wasMaster = false;
  /** Changes at every restart of the object (INFO server run_id). */
  readonly runId = randomHex40();
  private readonly offsetWaiters: { offset: number; resolve: (ok: boolean) => void }[] = [];
  /** FAILOVER coordination (replication/failover.ts). */
  readonly failover: Failover;
  /** When the stream reached each offset, for lag in time (replication/lag-clock.ts). */
  private readonly lagClock = new LagClock();
  /** This node's location hint (admin API `region`), reported to its master. */
  private regionName: string | null = null;
  /** DEBUG SIMULATE-LATENCY: the stream to each replica is delayed by region (0: off). */
  private simLatencyScale = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    configureLog(env.LOG_LEVEL);
    this.sql = ctx.storage.sql;
    this.config = new NodeConfig(this.sql);
    this.meta = new ReplMeta(this.sql);
    // Each event's stream bytes reach every replica as one frame, sent when the backlog row is written.
    this.backlog = new Backlog(this.sql, this.config.int("repl-backlog-size"), (start, data) => this.master.sendStream(start, data));
    this.engine = new Engine(this.sql, {
      sink: { feed: (b) => this.feedStream(b) },
      monitor: (s, argv) => this.connections.monitorFeed(s, argv),
      expireSet: (ms) => this.scheduleCron(Math.max(10, ms - Date.now())),
      transaction: (fn) => ctx.storage.transactionSync(fn),
    });
    // Dropped databases (FLUSHALL, a loaded snapshot's swap) are deleted by the cron in steps.
    this.engine.ks.hooks.garbage = () => this.scheduleCron(0);
    this.engine.node = this.services();
    this.engine.onPauseChange = () => this.applyRole();
    this.applySlowlogConfig();
    this.bucket = new FaultyBucket(env.SNAPSHOTS);
    this.snapshots = new SnapshotManager(this.sql, this.engine.ks, this.bucket, this);
    this.master = new MasterSide(this);
    this.replica = new ReplicaSide(this);
    this.sql.exec("CREATE TABLE IF NOT EXISTS node_identity (k TEXT PRIMARY KEY, v TEXT NOT NULL)");
    for (const r of this.sql.exec("SELECT k, v FROM node_identity")) {
      if (r.k === "db") this.dbName = r.v as string;
      if (r.k === "node") {
        this.nodeName = r.v as string;
        this.persisted = true;
      }
      if (r.k === "region") this.regionName = r.v as string;
      if (r.k === "socket-ids") reserveSessionIds(Number(r.v));
    }
    const node = this;
    this.failover = new Failover({
      get name() {
        return node.name;
      },
      isReplica: () => this.meta.role === "replica",
      offset: () => this.backlog.offset,
      replicas: () => this.master.list(),
      setWritePause: (p) => {
        this.engine.writePause = p;
        this.applyRole();
      },
      followForFailover: (target) => {
        this.replica.follow(target, true);
        this.applyRole();
        this.scheduleCron(0);
      },
      unsetMaster: () => {
        this.replica.promote();
        this.applyRole();
      },
      repoint: async (replica, target) => {
        const r = await this.nodeStub(replica).follow(target, null);
        if (r !== "OK" && !r.startsWith("OK")) throw new Error(r);
      },
      log: (m) => log(`node ${this.name}: ${m}`),
    });
    this.applyRole();
    // A replica comes back by itself after a restart or an eviction: the alarm reconnects it;
    // rows of databases dropped before the restart are still to be deleted.
    if (this.meta.role === "replica" || this.engine.ks.hasGarbage()) this.scheduleCron(0);
  }

  // --- identity ------------------------------------------------------------------------

  get db(): string {
    return this.dbName ?? "default";
  }
  get name(): string {
    return this.nodeName ?? "master";
  }

  /**
   * Learn the node's names from the router's headers. They are persisted only on real use
   * (`persist`: a command, a replica link, REPLICAOF): the persisted name is what makes a node
   * exist, so looking at a database (status page, admin GET) does not create it.
   */
  private learnIdentity(req: Request, persist: boolean): void {
    const db = req.headers.get(H_DB);
    const node = req.headers.get(H_NODE);
    if (db) this.dbName = db;
    if (node) this.nodeName = node;
    if (persist && !this.persisted && this.dbName && this.nodeName) this.persistIdentity();
  }

  private persisted = false;

  private persistIdentity(): void {
    this.sql.exec("INSERT OR REPLACE INTO node_identity (k, v) VALUES ('db', ?)", this.db);
    this.sql.exec("INSERT OR REPLACE INTO node_identity (k, v) VALUES ('node', ?)", this.name);
    this.persisted = true;
  }

  /** Whether this node has ever been used (admin API: 404 for a node that does not exist). */
  exists(): boolean {
    return this.persisted;
  }

  /** The stub of another node of the same database. */
  nodeStub(name: string): DurableObjectStub<Node> {
    return this.env.NODES.get(this.env.NODES.idFromName(`${this.db}/${name}`));
  }

  // --- role ----------------------------------------------------------------------------

  /** Align the engine with the persisted role. */
  applyRole(): void {
    const replica = this.meta.role === "replica";
    if (replica && this.wasMaster) this.connections.closeMasterFollowers();
    this.wasMaster = !replica;
    this.engine.replicaMode = replica && this.config.bool("replica-read-only");
    // While a FAILOVER pauses writes, expired keys are not deleted (nor propagated) either.
    this.engine.ks.expiryMode = replica || this.engine.writesPaused() ? "replica" : "master";
    this.engine.masterDown = replica && !this.config.bool("replica-serve-stale-data") && this.replica.state !== "connected";
    // Blocked clients cannot be served by a replica (Redis disconnectAllBlockedClients).
    if (this.engine.replicaMode) this.engine.blocked.unblockAll("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)");
  }

  // --- HTTP / WebSocket entry ----------------------------------------------------------

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname;
    this.learnIdentity(request, path !== "/identity");
    if (path === "/ws" || path === "/replication") {
      if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket upgrade", { status: 426 });
      const pair = new WebSocketPair();
      const [client, server] = [pair[0], pair[1]];
      const att: Attachment = {
        kind: path === "/ws" ? "client" : "replication",
        db: 0,
        resp: 2,
        readonly: request.headers.get(H_READONLY) === "1",
        addr: request.headers.get(H_CLIENT_ADDR) ?? "127.0.0.1:0",
      };
      if (path === "/replication" && request.headers.get(H_REPLICA_TRANSPORT) === "resp") att.respReplica = true;
      if (path === "/ws" && request.headers.get(ACK_HEADER) === "1") att.acks = true;
      const route = att.kind === "client" ? routeKind(request.headers.get(H_ROUTE)) : null;
      if (route !== null) {
        // `/ws?read=nearest`: the router picked this node as a replica; it must still be one.
        // `/ws` on the database's base: it must be the master, and the socket follows it.
        const refused = await admit(this.admission(), route, 0, 0);
        if (refused) return this.servedBy(rerouteResponse(refused));
        if (route === "write") att.followsMaster = true;
      }
      this.ctx.acceptWebSocket(server, [att.kind]);
      this.connectionsReceived++;
      server.serializeAttachment(att);
      const conn = this.connections.conn(server, true);
      // The highest socket id handed out, so that a new instance starts above every socket it may rebuild.
      this.sql.exec("INSERT OR REPLACE INTO node_identity (k, v) VALUES ('socket-ids', ?)", String(conn.session.id));
      const headers: Record<string, string> = { [H_SERVED_BY]: this.name };
      if (att.acks) headers[ACK_HEADER] = "1"; // the gateway sends ACKs only when they are understood
      return new Response(null, { status: 101, webSocket: client, headers });
    }
    if (path === "/rest" || path.startsWith("/rest/")) {
      this.connectionsReceived++;
      const kind = routeKind(request.headers.get(H_ROUTE));
      const refused = await admit(
        this.admission(),
        kind,
        parseSyncToken(request.headers.get(SYNC_TOKEN_HEADER)),
        Number(request.headers.get(H_SYNC_WAIT_MS) ?? "0") || 0,
      );
      if (refused) return this.servedBy(rerouteResponse(refused));
      const stream = parseStreamPath(path.slice("/rest".length));
      if (stream) {
        const ro = request.headers.get(H_READONLY) === "1";
        return this.servedBy(this.streams.open(stream, ro, request.headers.get(H_CLIENT_ADDR) ?? "127.0.0.1:0"));
      }
      const wasMaster = this.meta.role === "master";
      const res = await handleRest(request, this);
      // A single write caught by a FAILOVER's pause and then refused (READONLY: this node is a
      // replica now) ran nothing: the router may send it to the new master.
      if (kind === "write" && wasMaster && this.meta.role === "replica" && (await refusedAsReplica(res))) {
        return this.servedBy(rerouteResponse({ reason: "not-master", master: this.meta.masterName }));
      }
      return this.servedBy(res);
    }
    if (path === "/identity") return new Response(null, { status: 204 });
    return new Response("not found", { status: 404 });
  }

  /** Every answer names the node that gave it (SPEC §4 `x-served-by`). */
  private servedBy(res: Response): Response {
    res.headers.set(H_SERVED_BY, this.name);
    return res;
  }

  /** What a routed request checks before it runs (routing/admission.ts). */
  private admission(): AdmissionHost {
    return {
      isReplica: () => this.meta.role === "replica",
      replicaUsable: () => this.replica.state === "connected" && !this.engine.loading && !this.engine.masterDown,
      following: () => this.meta.masterName,
      followsOutside: () => this.meta.role === "replica" && this.meta.outsideMaster !== null,
      offset: () => this.backlog.offset,
      waitForOffset: (o, ms) => this.waitForOffset(o, ms),
      writesResumed: async (ms) => {
        const p = this.engine.writePause;
        if (p === null) return;
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
        clearTimeout(timer);
      },
    };
  }

  // --- sockets (node/sockets.ts) -------------------------------------------------------

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    await this.connections.message(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number, _reason: string, _wasClean: boolean): Promise<void> {
    this.connections.closed(ws, code);
  }

  override async webSocketError(ws: WebSocket, _error: unknown): Promise<void> {
    this.connections.dropConn(ws);
  }

  /** Sockets of a kind that are still open (MasterHost; after hibernation the map is rebuilt lazily). */
  sockets(kind: Attachment["kind"]): Conn[] {
    return this.connections.sockets(kind);
  }

  /** What the sockets see of this node (read when used). */
  private socketHost(): SocketHost {
    const node = this;
    return {
      get name() {
        return node.name;
      },
      get engine() {
        return node.engine;
      },
      get config() {
        return node.config;
      },
      get master() {
        return node.master;
      },
      get replica() {
        return node.replica;
      },
      get pubsub() {
        return node.pubsub;
      },
      get streams() {
        return node.streams;
      },
      get region() {
        return node.regionName;
      },
      get latencyScale() {
        return node.simLatencyScale;
      },
      webSockets: () => this.ctx.getWebSockets(),
      turns: this.turns,
    };
  }

  // --- the stream ----------------------------------------------------------------------

  /**
   * Bytes of the replication stream, from our own writes (a master) or from our master
   * (a replica, after applying them): into the backlog, whose flush at the end of the event
   * sends them to every attached replica as one frame.
   */
  feedStream(bytes: Uint8Array): void {
    this.backlog.append(bytes);
    this.lagClock.note(this.backlog.offset, Date.now());
    if (this.offsetWaiters.length) this.wakeOffsetWaiters();
  }

  // --- RestTarget ----------------------------------------------------------------------

  newSession(readOnlyToken: boolean, addr: string): Session {
    return newSession({ readOnlyToken, addr });
  }

  execute(session: Session, argv: Uint8Array[]): Reply | Promise<Reply> {
    const name = str(argv[0] ?? new Uint8Array()).toLowerCase();
    if (NOT_OVER_REST.has(name)) {
      return new RedisError(`ERR '${name}' is not available over REST`);
    }
    return this.engine.execute(session, argv);
  }

  executeRun(session: Session, kind: RunKind, cmds: readonly Uint8Array[][]): Reply[] | null {
    return this.engine.executeRun(session, kind, cmds);
  }

  closeSession(session: Session): void {
    this.engine.closeSession(session);
  }

  syncToken(): number {
    return this.backlog.offset;
  }

  waitForOffset(offset: number, timeoutMs: number): Promise<boolean> {
    if (this.backlog.offset >= offset) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w = { offset, resolve };
      this.offsetWaiters.push(w);
      setTimeout(() => {
        const i = this.offsetWaiters.indexOf(w);
        if (i >= 0) this.offsetWaiters.splice(i, 1);
        resolve(this.backlog.offset >= offset);
      }, timeoutMs);
    });
  }

  private wakeOffsetWaiters(): void {
    for (let i = this.offsetWaiters.length - 1; i >= 0; i--) {
      const w = this.offsetWaiters[i]!;
      if (this.backlog.offset >= w.offset) {
        this.offsetWaiters.splice(i, 1);
        w.resolve(true);
      }
    }
  }

  /** MasterHost: a replica's lag in time at its ACK (the stream's timeline, lag-clock.ts). */
  ackLagMs(ackOffset: number): number | null {
    return this.lagClock.lagMs(ackOffset, this.backlog.offset, Date.now());
  }

  /** A snapshot's bytes from R2 (MasterHost: a real Redis replica's full sync). */
  openSnapshot(key: string, size: number): Promise<AsyncIterable<Uint8Array> | null> {
    return this.bucket.open(key, size);
  }

  /** Function libraries' code for snapshots (SnapshotHost). */
  functionCodes(): Uint8Array[] {
    return this.engine.scripting.functions.all().map((l) => l.code);
  }

  // --- pub/sub (src/pubsub/hub.ts): delivery to sockets (node/sockets.ts), subscriptions in attachments ---

  readonly pubsub: PubSubHub = new PubSubHub(this.connections.pubsubHost);

  /** Upstash SSE subscribers and `/monitor` streams (pubsub/streams.ts). */
  private readonly streams = new StreamClients({
    newSession: (readOnlyToken, addr) => newSession({ readOnlyToken, addr }),
    execute: (s, argv) => this.engine.execute(s, argv),
    closeSession: (s) => {
      this.pubsub.drop(s);
      this.engine.closeSession(s);
    },
    outputLimit: (cls) => this.config.outputLimit(cls),
    outputLimitDisconnect: (why) => {
      // One counter for every client class, as Redis's stat_client_outbuf_limit_disconnections.
      this.master.obufDisconnects++;
      log(`node ${this.name}: disconnecting a client for its output: ${why}`);
    },
  });

  // --- services for server commands ----------------------------------------------------

  private services(): NodeServices {
    return {
      infoSection: (name) => this.infoSection(name),
      role: () => (this.meta.role === "master" ? this.master.role() : this.replica.role()),
      configGet: (p) => hideSecrets(this.config.match(p)),
      configSet: (pairs) => this.configSet(pairs),
      resetStats: () => {
        this.engine.resetStats();
        this.master.resetStats();
        this.connectionsReceived = 0;
      },
      debugEnabled: () => (this.env.ENABLE_DEBUG_COMMAND ?? "no") === "yes",
      debugRestart: () => this.debugRestart(),
      debugPopulate: (db, args) => {
        const a = parsePopulate(args);
        if (typeof a === "string") return new RedisError(a);
        if (this.meta.role !== "master") return new RedisError(E.readonly);
        return populate(this.engine, db, a);
      },
      debugFault: (sub, args) => this.debugFault(sub, args),
      replicaOf: (target) => this.replicaOf(target),
      replicaOfOutside: (host, port) => this.replicaOfOutside(host, port),
      clientKill: (args, s) => this.connections.clientKill(args, s),
      clients: () => this.connections.clientViews(),
      wait: (n, t, client) => this.master.wait(n, t, client),
      waitNow: () => this.master.waitNow(),
      unblockWait: (client, how) => this.master.unblockWait(client, how),
      replOffset: () => this.backlog.offset,
      isReplica: () => this.meta.role === "replica",
      pubsub: this.pubsub,
      runId: () => this.runId,
      checkToken: (t) => checkAuth(t, this.env),
      failover: (args) => this.failover.command(args),
    };
  }

  // --- FAILOVER hooks (replication/failover.ts) --------------------------------------------

  /** INFO's master_failover_state. */
  failoverState(): string {
    return this.failover.state;
  }

  /** PSYNC … FAILOVER from our master: take over (Redis syncCommand), or say why not. */
  psyncFailover(replid: string): string | null {
    if (this.meta.role !== "replica") return "PSYNC FAILOVER can't be sent to a master.";
    if (replid !== this.meta.replid) return "PSYNC FAILOVER replid must match my replid.";
    log(`node ${this.name}: MASTER MODE enabled (failover request from ${this.meta.masterName})`);
    this.replica.promote();
    this.applyRole();
    return null;
  }

  /** The answer to our own PSYNC FAILOVER. */
  failoverPsyncDone(accepted: boolean): void {
    this.failover.psyncResult(accepted);
  }

  get region(): string | null {
    return this.regionName;
  }

  private configSet(pairs: [string, string][]): string | null {
    const e = this.config.setAll(pairs);
    if (e) return e;
    if (pairs.some(([k]) => k === "repl-backlog-size")) {
      this.backlog.sizeBytes = this.config.int("repl-backlog-size");
      this.backlog.trim();
    }
    this.applySlowlogConfig();
    this.applyRole();
    return null;
  }

  private applySlowlogConfig(): void {
    this.engine.slowlog.thresholdUs = this.config.int("slowlog-log-slower-than");
    this.engine.slowlog.setMaxLen(this.config.int("slowlog-max-len"));
  }

  private infoSection(name: string): string | null {
    switch (name) {
      case "clients":
        // Redis 7.0's fields; blocked clients count REST requests waiting too.
        return [
          "# Clients",
          `connected_clients:${this.sockets("client").length + this.sockets("monitor").length}`,
          "cluster_connections:0",
          "maxclients:10000",
          "client_recent_max_input_buffer:0",
          "client_recent_max_output_buffer:0",
          `blocked_clients:${this.engine.blocked.size + this.master.waitingClients().length}`,
          "tracking_clients:0",
          `clients_in_timeout_table:${this.engine.blocked.withDeadline}`,
        ].join("\r\n");
      case "stats":
        return ["# Stats", `total_connections_received:${this.connectionsReceived}`, ...this.master.stats(), ...this.pubsub.infoStats()].join("\r\n");
      case "replication":
        return ["# Replication", ...(this.meta.role === "master" ? this.master.info() : this.replica.info())].join("\r\n");
      default:
        return null;
    }
  }

  /**
   * DEBUG RESTART: answer, then restart the object (storage kept). The restart happens in
   * the alarm, a separate event, so the reply to this request is delivered first; after
   * `ctx.abort()` the next event gets a fresh instance (constructor again, same storage).
   */
  private async debugRestart(): Promise<Reply> {
    this.restartPending = true;
    this.alarmAt = null;
    this.scheduleCron(20);
    return OK;
  }

  /** DEBUG R2-FAIL put|get|part <count>; R2-CORRUPT flip|truncate; REPL-DROP phase; REPL-PAUSE 0|1; SET-ACTIVE-EXPIRE 0|1. */
  private debugFault(sub: string, args: string[]): Reply {
    if (sub === "set-active-expire") {
      if (args[0] !== "0" && args[0] !== "1") return new RedisError("ERR syntax error");
      this.activeExpire = args[0] === "1";
      return OK;
    }
    if (sub === "repl-pause") {
      if (args[0] !== "0" && args[0] !== "1") return new RedisError("ERR syntax error");
      this.replica.setPaused(args[0] === "1");
      return OK;
    }
    if (sub === "set-region") {
      const r = regionOrNull(args[0]);
      if (r === null || args.length !== 1) return new RedisError("ERR syntax error");
      this.sql.exec("INSERT OR REPLACE INTO node_identity (k, v) VALUES ('region', ?)", r);
      this.regionName = r;
      return OK;
    }
    if (sub === "simulate-latency") {
      if (args.length !== 1 || (args[0] !== "0" && latencyScale(args[0]) === 0)) return new RedisError("ERR syntax error");
      this.simLatencyScale = latencyScale(args[0]);
      return OK;
    }
    if (sub === "repl-drop") {
      const phase = args[0];
      if (phase !== "handshake" && phase !== "transfer" && phase !== "replay") return new RedisError("ERR syntax error");
      this.replica.dropAt = phase;
      return OK;
    }
    if (sub === "r2-fail") {
      const op = args[0] as "put" | "get" | "part";
      const n = Number(args[1] ?? "1");
      if (!["put", "get", "part"].includes(op) || !Number.isInteger(n) || n < 0) return new RedisError("ERR syntax error");
      this.bucket.failNext(op, n);
      return OK;
    }
    const mode = args[0];
    if (mode !== "flip" && mode !== "truncate") return new RedisError("ERR syntax error");
    this.bucket.corruptNext(mode);
    return OK;
  }

  private async replicaOf(target: string | null): Promise<Reply> {
    if (this.failover.state !== "no-failover") return new RedisError("ERR REPLICAOF not allowed while failing over.");
    if (target === null) {
      if (this.meta.role === "master") return OK;
      this.replica.promote();
      this.applyRole();
      return OK;
    }
    if (target === this.name) return new RedisError("ERR can't replicate myself");
    if (this.meta.role === "replica" && this.meta.masterName === target) {
      return new Simple("OK Already connected to specified master");
    }
    const cycle = await this.replicationCycle(target);
    if (cycle) return new RedisError(`ERR REPLICAOF would make a replication cycle: ${[this.name, ...cycle].join(" -> ")}`);
    this.replica.follow(target);
    this.applyRole();
    this.scheduleCron(0);
    return OK;
  }

  /** REPLICAOF host port of an outside Redis master, if EXTERNAL_MASTERS allows the host (SPEC §3). */
  private async replicaOfOutside(host: string, port: number): Promise<Reply> {
    if (this.failover.state !== "no-failover") return new RedisError("ERR REPLICAOF not allowed while failing over.");
    if (!outsideHostAllowed(host, this.env.EXTERNAL_MASTERS)) return new RedisError(notAllowedError(host));
    const address = `${host}:${port}`;
    if (this.meta.role === "replica" && this.meta.outsideMaster === address && this.replica.halted === null) {
      return new Simple("OK Already connected to specified master");
    }
    this.replica.followOutside(address);
    this.applyRole();
    this.scheduleCron(0);
    return OK;
  }

  /** A TCP connection for the link to an outside master (ReplicaHost). */
  openTcp(hostname: string, port: number): TcpLink {
    return openTcp(hostname, port);
  }

  /**
   * The chain of masters above `target` when it leads back to this node (REPLICAOF would make
   * a cycle, in which no node has the data's origin), else null. Walks at most
   * REPLICATION_CHAIN_MAX hops.
   */
  private async replicationCycle(target: string): Promise<string[] | null> {
    const chain = [target];
    let at = target;
    for (let hop = 0; hop < REPLICATION_CHAIN_MAX; hop++) {
      const up = await this.nodeStub(at).masterOf();
      if (up === null) return null;
      chain.push(up);
      if (up === this.name) return chain;
      at = up;
    }
    return null;
  }

  /** The node this node replicates from, or null for a master (replication cycle checks). */
  masterOf(): string | null {
    return this.meta.role === "replica" ? this.meta.masterName : null;
  }

  // --- the cron (one alarm does all the timing, like replicationCron) --------------------

  /** Make sure the alarm fires within `inMs`. */
  scheduleCron(inMs: number): void {
    const at = Date.now() + inMs;
    if (this.alarmAt !== null && this.alarmAt <= at && this.alarmAt > Date.now() - 5000) return;
    this.alarmAt = at;
    void this.ctx.storage.setAlarm(at);
  }

  override async alarm(): Promise<void> {
    this.alarmAt = null;
    if (this.restartPending) {
      // The aborted alarm is retried on the fresh instance, which runs the cron as usual.
      this.ctx.abort("DEBUG RESTART");
      return;
    }
    const now = Date.now();
    let next: number | null = null;
    const need = (ms: number) => {
      next = next === null ? ms : Math.min(next, ms);
    };
    // Rows of dropped databases, a bounded step at a time (other events run in between).
    if (this.engine.ks.collectGarbage(GC_ROWS_PER_STEP, GC_STEP_MS)) need(GC_STEP_PERIOD_MS);
    // Active expiry (masters only; replicas wait for the master's DEL).
    if (this.meta.role === "master" && this.activeExpire && !this.engine.writesPaused()) {
      const n = this.engine.activeExpire(ACTIVE_EXPIRE_KEYS_PER_STEP);
      if (n === ACTIVE_EXPIRE_KEYS_PER_STEP) need(10);
      const t = this.engine.ks.nextExpiry();
      if (t !== null) need(Math.max(10, t - now));
    }
    const m = await this.master.cron(now);
    if (m !== null) need(m);
    const r = await this.replica.cron(now);
    if (r !== null) need(r);
    const s = await this.snapshots.cron(now);
    if (s !== null) need(s);
    if (next !== null) this.scheduleCron(next);
  }

  // --- admin RPC (called by the router's admin API through the stub) ----------------------

  /** Replication status of this node (admin API, tests). */
  status(): NodeStatus {
    const info = this.meta.role === "master" ? this.master.info() : this.replica.info();
    const fields: Record<string, string> = {};
    for (const l of info) {
      const i = l.indexOf(":");
      if (i > 0) fields[l.slice(0, i)] = l.slice(i + 1);
    }
    const now = Date.now();
    return {
      db: this.db,
      node: this.name,
      region: this.regionName,
      role: this.meta.role,
      master: this.meta.masterName,
      outsideMaster: this.meta.outsideMaster,
      replid: this.meta.replid,
      replid2: this.meta.replid2,
      offset: this.backlog.offset,
      link: this.meta.role === "replica" ? this.replica.state : null,
      lastIoMsAgo: this.meta.role === "replica" && this.replica.lastIoMs ? now - this.replica.lastIoMs : null,
      fullSyncs: this.replica.fullSyncs,
      partialSyncs: this.replica.partialSyncs,
      /** An outside master's command or RDB type we do not implement: where applying stopped. */
      unsupported: this.replica.halted,
      backlog: { size: this.backlog.sizeBytes, histlen: this.backlog.histlen, firstByte: this.backlog.firstByte + 1 },
      replicas: this.master.list().map((r) => ({
        name: r.name,
        region: r.region || null, // as the node's own status says it: null when it has none
        state: r.state,
        ackOffset: r.ackOffset,
        lagBytes: Math.max(0, this.backlog.offset - r.ackOffset),
        // Time since the replica acknowledged everything written (0 when in sync).
        lagMs: this.lagClock.lagMs(r.ackOffset, this.backlog.offset, now) ?? now - r.lastAckMs,
        ackAgeMs: now - r.lastAckMs,
        sentOffset: r.sentOffset,
        unackedBytes: r.unackedBytes,
        framesSent: r.framesSent,
        bytesSent: r.bytesSent,
        ackLag: r.ackLag,
      })),
      outputBufferLimit: this.config.outputLimit("slave"),
      outputBufferLimitDisconnections: this.master.obufDisconnects,
      failover: this.failover.state,
      keys: this.engine.ks.dbStats().reduce((n, d) => n + d.keys, 0),
      info: fields,
    };
  }

  /** INFO (all sections) and ROLE, as text and JSON, for the admin API. */
  adminInfo(): { info: string; role: string } {
    const s = newSession();
    const info = this.engine.execute(s, [utf8("INFO")]);
    const role = this.engine.execute(s, [utf8("ROLE")]);
    return { info: info instanceof Verbatim ? info.text : "", role: JSON.stringify(replyToJson(role as Reply)) };
  }

  /** Make this node a replica of `master` (admin API: create a replica). */
  async follow(master: string, region: string | null): Promise<string> {
    const r = await this.replicaOf(master);
    if (r instanceof RedisError) return r.msg;
    if (!this.persisted) this.persistIdentity();
    if (region) {
      this.sql.exec("INSERT OR REPLACE INTO node_identity (k, v) VALUES ('region', ?)", region);
      this.regionName = region;
    }
    return "OK";
  }

  /**
   * Admin API: remove this replica: stop replicating, drop its data and history. The object
   * stays an empty master, as a node that was never used.
   */
  /**
   * Stop replicating and drop every key (admin DELETE). Refused (the reason returned) for a
   * master that replicas follow: its data is theirs too.
   */
  async decommission(): Promise<string | null> {
    if (this.meta.role === "master" && this.master.list().length > 0) {
      return `ERR node '${this.name}' is a master that replicas follow: only replicas can be removed (FAILOVER TO another node first)`;
    }
    if (this.meta.role === "replica") this.replica.promote();
    this.master.killReplicas();
    this.engine.ks.flush(null);
    this.backlog.reset(0);
    this.meta.replid = randomHex40();
    this.meta.clearReplid2();
    this.meta.save();
    this.engine.resetStreamDb();
    await this.ctx.storage.deleteAlarm();
    this.alarmAt = null;
    this.sql.exec("DELETE FROM node_identity");
    this.persisted = false;
    return null;
  }

  /**
   * This node's view of the database's topology (the router's source, routing/topology.ts):
   * its role, the node it follows, and the replicas attached to it with region and health.
   * A real Redis replica attached through the gateway is not a node of the database: a read
   * routed to its address would only wake a stray object of that name, which refuses it.
   */
  topology(db: string, node: string): NodeView {
    // Learning the names for this view does not make the node exist (looking creates nothing).
    if (this.dbName === null) this.learnIdentity(new Request(NODE_ORIGIN_IDENTITY, { headers: { [H_DB]: db, [H_NODE]: node } }), false);
    const now = Date.now();
    return {
      node: this.name,
      role: this.meta.role,
      following: this.meta.role === "replica" ? this.meta.masterName : null,
      outsideMaster: this.meta.role === "replica" ? this.meta.outsideMaster : null,
      region: regionOrNull(this.regionName),
      offset: this.backlog.offset,
      failover: this.failover.state,
      replicas: this.master
        .list()
        .filter((r) => !r.resp)
        .map((r) => ({
          name: r.name,
          region: regionOrNull(r.region),
          state: r.state,
          ackOffset: r.ackOffset,
          ackAgeMs: now - r.lastAckMs,
          lagBytes: Math.max(0, this.backlog.offset - r.ackOffset),
        })),
    };
  }

  /** The registry of a database's replicas, kept by its master node. */
  registry(op: { add?: { name: string; region: string | null }; remove?: string }): { name: string; region: string | null }[] {
    this.sql.exec("CREATE TABLE IF NOT EXISTS node_registry (name TEXT PRIMARY KEY, region TEXT, created_ms INTEGER NOT NULL)");
    if (op.add) this.sql.exec("INSERT OR REPLACE INTO node_registry (name, region, created_ms) VALUES (?, ?, ?)", op.add.name, op.add.region, Date.now());
    if (op.remove) this.sql.exec("DELETE FROM node_registry WHERE name = ?", op.remove);
    return this.sql
      .exec("SELECT name, region FROM node_registry ORDER BY name")
      .toArray()
      .map((r) => ({ name: r.name as string, region: (r.region as string | null) ?? null }));
  }

  /** A snapshot of this node's data as of this request, for download (a backup). */
  async snapshotForDownload(): Promise<{ key: string; size: number; crc: string; offset: number }> {
    const snap = await this.snapshots.current(this.meta.replid, () => this.backlog.offset, () => {
      if (this.meta.role === "master") this.engine.resetStreamDb();
      return { offset: this.backlog.offset, streamDb: this.meta.role === "master" ? -1 : this.replica.streamDb() };
    });
    const done = await this.snapshots.whenDone(snap);
    if (done.state !== "ready") throw new Error(`snapshot #${snap.id} failed`);
    return { key: done.key, size: done.size, crc: done.crc, offset: done.offset };
  }

  /**
   * Replace a master's data with an RDB file staged in R2 (a seed from a redis-server
   * dump.rdb). Commands answer LOADING meanwhile; replicas full-resync afterwards. A refused
   * file is an expected outcome, answered as a value: an exception thrown across the RPC
   * boundary is reported by workerd as uncaught in the object.
   */
  async restore(key: string): Promise<{ ok: true; keys: number; bytes: number } | { ok: false; error: string }> {
    try {
      return { ok: true, ...(await this.restoreOrThrow(key)) };
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
  }

  private async restoreOrThrow(key: string): Promise<{ keys: number; bytes: number }> {
    if (this.meta.role !== "master") throw new Error("RESTORE of a dataset is for masters (REPLICAOF NO ONE first)");
    // The load yields to other events: a second restore meanwhile would share the staging databases.
    if (this.engine.loading) throw new Error("another restore is in progress");
    const body = await this.bucket.open(key, null);
    if (!body) throw new Error(`no object ${key}`);
    if (this.engine.loading) throw new Error("another restore is in progress");
    const loader = new SnapshotLoader(this.engine.ks);
    this.engine.loading = true;
    try {
      let read = 0;
      const slice = newSlice();
      for await (const chunk of body) {
        const b = chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk as ArrayBuffer);
        await pushYielding(loader, b, slice);
        read += b.length;
      }
      const res = loader.finishAny();
      loader.swap();
      this.engine.scripting.functions.replaceAll(loader.functions);
      // A new history: replicas cannot continue the old one.
      this.meta.replid = randomHex40();
      this.meta.clearReplid2();
      this.meta.save();
      this.engine.resetStreamDb();
      this.master.killReplicas();
      this.engine.invalidateAllWatches();
      log(`node ${this.name}: dataset restored from ${key}: ${res.keys} keys, ${read} bytes`);
      return { keys: res.keys, bytes: read };
    } catch (e) {
      loader.discard();
      throw e;
    } finally {
      this.engine.loading = false;
    }
  }
}

export interface NodeStatus {
  db: string;
  node: string;
  region: string | null;
  role: "master" | "replica";
  master: string | null;
  replid: string;
  replid2: string;
  offset: number;
  link: string | null;
  lastIoMsAgo: number | null;
  fullSyncs: number;
  partialSyncs: number;
  unsupported: ReplicationHalt | null;
  /** `host:port` of the outside Redis master this node follows (SPEC §3), if any. */
  outsideMaster: string | null;
  backlog: { size: number; histlen: number; firstByte: number };
  replicas: {
    name: string;
    region: string | null;
    state: string;
    ackOffset: number;
    lagBytes: number;
    lagMs: number;
    ackAgeMs: number;
    /** Stream position sent to it, bytes it has not acknowledged (flow control), frames and bytes sent. */
    sentOffset: number;
    unackedBytes: number;
    framesSent: number;
    bytesSent: number;
    /** Its lag at each ACK, as this master measured it (replication/ack-lag.ts). */
    ackLag: AckLagSummary | null;
  }[];
  /** client-output-buffer-limit replica (hard, soft, soft seconds). */
  outputBufferLimit: { hardBytes: number; softBytes: number; softSeconds: number };
  outputBufferLimitDisconnections: number;
  failover: string;
  keys: number;
  info: Record<string, string>;
}

const NODE_ORIGIN_IDENTITY = "https://node/identity";

/** Whether a REST answer is one command refused with READONLY (a single-command 400). */
async function refusedAsReplica(res: Response): Promise<boolean> {
  if (res.status !== 400) return false;
  try {
    const body = (await res.clone().json()) as { error?: unknown };
    return typeof body.error === "string" && body.error.startsWith("READONLY ");
  } catch {
    return false;
  }
}

/** A reply as plain JSON (admin API). */
function replyToJson(r: Reply): unknown {
  if (r instanceof Uint8Array) return new TextDecoder().decode(r);
  if (Array.isArray(r)) return r.map(replyToJson);
  if (r instanceof Simple) return r.s;
  if (r instanceof RedisError) return { error: r.msg };
  if (typeof r === "bigint") return Number(r);
  return r;
}
