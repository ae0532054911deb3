/**
 * The replica side of replication (Redis replication.c, "SLAVE" half): the link to our
 * master, the handshake (syncWithMaster), applying the stream, the full-resync transfer
 * through an R2 snapshot, ACKs, timeouts and reconnects. Driven by the node's alarm (cron).
 * The master may also be an outside Redis server (REPLICAOF host port, SPEC §3): then the
 * link is a TCP connection speaking Redis's protocol (outside-link.ts), the RDB arrives inline
 * and is loaded as it arrives, and the stream is applied here exactly as our own masters'
 * is, except that a command we do not implement stops applying (`halted`) instead of diverging.
 *
 * Offsets: the stream bytes of every fully applied command are appended to our own backlog
 * in the same SQLite transaction as the data they changed, so the backlog's offset is the
 * applied offset (Redis's reploff) and it survives restarts: that is our cached master.
 * A MULTI … EXEC block from the master is applied only once EXEC has arrived, atomically.
 *
 * Throughput: each frame that arrives applies one slice of what is queued (`pump`), so a
 * replica that falls behind catches up in larger batches (one SQLite transaction, one backlog
 * row, one frame to each sub-replica per slice) instead of paying a commit per frame; a slice
 * is bounded (REPLICA_APPLY_SLICE_MS / _BYTES) so other events are not stalled, and ACKs at
 * least every REPLICA_STREAM_ACK_MS while frames arrive. Runs of plain
 * SETs are applied as multi-row statements. The bytes applied are forwarded exactly as
 * received (slices of the frames, never re-encoded).
 */
import { isPlainSet, type Engine } from "../keyspace/engine.ts";
import { newSession, type Session } from "../keyspace/command.ts";
import type { NodeConfig } from "../node/config.ts";
import type { Reply } from "../protocol/reply.ts";
import { encodeCommand, RespParser } from "../protocol/resp.ts";
import { str, utf8 } from "../util/bytes.ts";
import { H_DB, H_NODE, NODE_ORIGIN } from "../http/node-protocol.ts";
import type { Backlog } from "./backlog.ts";
import type { FaultyBucket } from "./faults.ts";
import { newSlice, pushYielding, SnapshotLoader } from "./loader.ts";
import type { ReplMeta } from "./meta.ts";
import { replicationIdLines } from "./master.ts";
import { log } from "../util/log.ts";
import { COMMANDS } from "../keyspace/table.ts";
import type { LoadResult } from "./loader.ts";
import { OutsideConnection } from "./outside-link.ts";
import type { TcpLink } from "./tcp.ts";
import { yieldToOtherEvents } from "../util/yield.ts";

/**
 * The master's stream is not held to the client query buffer limit, as Redis exempts its
 * master client: a command the master accepted must replicate, or the link would fail on
 * it forever (a REST command of a 32 MiB body can have more arguments than a client
 * connection may hold unfinished).
 */
function streamParser(): RespParser {
  return new RespParser("request", { queryBytesMax: Number.POSITIVE_INFINITY });
}

/**
 * Redis's replica states, in order:
 * - none: not a replica.
 * - connect: must (re)connect to the master (after backoff).
 * - connecting: the WebSocket is being opened.
 * - handshake: PING / REPLCONF / PSYNC exchanged.
 * - transfer: full resync: buffering the stream while the snapshot is fetched and loaded.
 * - connected: applying the stream.
 */
export type LinkState = "none" | "connect" | "connecting" | "handshake" | "transfer" | "connected";

const TRANSITIONS: Record<LinkState, readonly LinkState[]> = {
  none: ["connect"],
  connect: ["connecting", "none"],
  connecting: ["handshake", "connect", "none"],
  handshake: ["transfer", "connected", "connect", "none"],
  transfer: ["connected", "connect", "none"],
  connected: ["connect", "none"],
};

/** Reconnect backoff: first retry, and the longest wait. */
export const RECONNECT_MIN_MS = 100;
export const RECONNECT_MAX_MS = 5000;
/** Stream bytes buffered during a transfer are spilled to SQLite rows of at most this size. */
const PENDING_ROW_BYTES = 64 * 1024;
/** Pending rows read per query while replaying; a turn yields to other events after REPLAY_SLICE_MS. */
const REPLAY_ROWS_PER_TURN = 8;
const REPLAY_SLICE_MS = 25;
/**
 * One synchronous run of the live stream's apply ends between two commands after this long
 * or this many bytes (~2,600 SETs), whichever comes first, and the rest goes on in a later
 * event. The byte bound holds where a Worker's clock stands still while JavaScript runs.
 */
export const REPLICA_APPLY_SLICE_MS = 10;
export const REPLICA_APPLY_SLICE_BYTES = 128 * 1024;
/**
 * While the stream flows, a slice sends REPLCONF ACK when the last one is older than this
 * (besides the cron's every second): timers fire late on a busy runtime (seconds measured in
 * local workerd), and the master's WAIT, lag and output-buffer limits read our ACKs.
 */
export const REPLICA_STREAM_ACK_MS = 100;
/** Plain SETs gathered before they are applied together (bounds the run's memory). */
const APPLY_SETS_MAX = 1000;

export interface ReplicaHost {
  db: string;
  name: string;
  meta: ReplMeta;
  backlog: Backlog;
  engine: Engine;
  config: NodeConfig;
  bucket: FaultyBucket;
  sql: SqlStorage;
  master: { killReplicas(): number; info(): string[]; replicaLines(): string[]; list(): unknown[] };
  nodeStub(name: string): { fetch(input: RequestInfo, init?: RequestInit): Promise<Response> };
  feedStream(bytes: Uint8Array): void;
  scheduleCron(inMs: number): void;
  applyRole(): void;
  /** The node's location hint, reported to the master with REPLCONF region. */
  region: string | null;
  /** INFO's master_failover_state. */
  failoverState?(): string;
  /** The answer to a PSYNC … FAILOVER this replica sent (failover.ts): accepted or not. */
  failoverPsyncDone?(accepted: boolean): void;
  /** A TCP connection (cloudflare:sockets), to follow an outside Redis master. */
  openTcp?(hostname: string, port: number): TcpLink;
}

/** Where applying an outside master's data stopped (something we do not implement), for INFO and admin. */
export interface ReplicationHalt {
  what: string;
  offset: number;
}

interface Transfer {
  replid: string;
  offset: number;
  loading: boolean;
  /** Bytes of the snapshot (from +SNAPSHOT) and how far the load got, for INFO. */
  size: number;
  read: number;
}

export class ReplicaSide {
  state: LinkState;
  private ws: WebSocket | null = null;
  /** Increments on every new link, so callbacks of an old socket are ignored. */
  private linkSeq = 0;
  private parser = streamParser();
  /** A MULTI block from the stream waiting for its EXEC; `start` is its MULTI's position in `carry`. */
  private tx: { cmds: Uint8Array[][]; start: number } | null = null;
  /** Stream bytes received and not yet forwarded (an open MULTI block, a partial command). */
  private readonly carry = new ByteQueue();
  /** How many bytes of `carry` the parser has consumed already. */
  private carryParsed = 0;
  /** Frames received and not yet applied (a replica behind its master applies them together). */
  private inbox: Uint8Array[] = [];
  /** The last run stopped at its slice's end: the parser holds more to apply. */
  private unfinished = false;
  /** A slice is being applied (no re-entry from what it calls). */
  private pumping = false;
  /** A timer will run the next slice. */
  private pumpTimer = false;
  /** When we last sent REPLCONF ACK. */
  private lastAckSentMs = 0;
  /** DEBUG REPL-PAUSE: stop applying and acknowledging the stream (a stalled replica). */
  paused = false;
  /** Batches applied and frames they held (INFO, tests). */
  applyBatches = 0;
  applyFrames = 0;
  private readonly session: Session;
  private handshakeStep = 0;
  private transfer: Transfer | null = null;
  private attempts = 0;
  private nextConnectMs = 0;
  lastIoMs = 0;
  /** When the link last went down; null: never up since this object started (INFO says -1, as Redis). */
  private linkDownSinceMs: number | null = null;
  /** Counters for tests and INFO. */
  fullSyncs = 0;
  partialSyncs = 0;
  loadFailures = 0;
  lastLoadError = "";
  /** Fault injection (DEBUG REPL-DROP): drop the link when this phase is next reached. */
  dropAt: "handshake" | "transfer" | "replay" | null = null;
  /** The next PSYNC carries FAILOVER (this node is the old master of a FAILOVER). */
  private failoverPsync = false;
  /** The link to an outside Redis master (meta.outsideMaster), when that is what we follow. */
  private outside: OutsideConnection | null = null;
  /** Applying the outside master's data stopped here; no reconnect until the next REPLICAOF. */
  halted: ReplicationHalt | null = null;

  constructor(private readonly host: ReplicaHost) {
    this.state = host.meta.role === "replica" ? "connect" : "none";
    this.session = newSession({ isMasterLink: true, addr: "master", db: host.meta.streamDb });
    host.sql.exec("CREATE TABLE IF NOT EXISTS repl_pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB NOT NULL)");
  }

  private transition(to: LinkState): void {
    const from = this.state;
    if (from === to) return;
    if (!TRANSITIONS[from].includes(to)) throw new Error(`replica state: illegal transition ${from} → ${to}`);
    log(`replication[${this.host.name}]: ${from} → ${to}`);
    this.state = to;
    if (to === "connected") this.attempts = 0;
    if (from === "connected") this.linkDownSinceMs = Date.now();
    this.host.applyRole();
    if (this.dropAt !== null && this.dropAt === to) {
      this.dropAt = null;
      queueMicrotask(() => this.linkDown(`fault injected during ${to}`));
    }
  }

  /** The database the master's stream has selected. */
  streamDb(): number {
    return this.session.db;
  }

  // --- role changes ----------------------------------------------------------------------

  /**
   * REPLICAOF name: follow a master, using our own history as the cached master. With
   * `failover`, the PSYNC asks the new master to take over (FAILOVER, failover.ts).
   */
  follow(masterName: string, failover = false): void {
    this.startFollowing({ masterName, outsideMaster: null }, failover);
  }

  /**
   * REPLICAOF host port of an outside Redis (SPEC §3): follow it over TCP with Redis's own
   * protocol; our history is the cached master it may accept with +CONTINUE.
   */
  followOutside(address: string): void {
    this.startFollowing({ masterName: null, outsideMaster: address }, false);
  }

  private startFollowing(target: { masterName: string | null; outsideMaster: string | null }, failover: boolean): void {
    const { meta } = this.host;
    this.dropLink("master changed");
    this.failoverPsync = failover;
    if (meta.role === "master") meta.hasCachedMaster = true; // replicationCacheMasterUsingMyself
    meta.role = "replica";
    meta.masterName = target.masterName;
    meta.outsideMaster = target.outsideMaster;
    this.halted = null;
    meta.save();
    this.host.master.killReplicas(); // Redis 7.0 disconnectSlaves(): they resync with us
    // Linked (or linking) to another master: that link is gone, start over with the new one.
    if (this.transfer) this.discardTransfer();
    if (this.state !== "connect") this.transition("connect");
    this.nextConnectMs = 0;
  }

  /** REPLICAOF NO ONE: become a master; keep the old history reachable as replid2. */
  promote(): void {
    const { meta, backlog } = this.host;
    this.dropLink("promoted");
    this.failoverPsync = false;
    if (this.state !== "none") this.transition("none");
    meta.role = "master";
    meta.masterName = null;
    meta.outsideMaster = null;
    this.halted = null;
    meta.hasCachedMaster = false;
    meta.shiftReplid(backlog.offset);
    this.discardTransfer();
    this.host.engine.resetStreamDb();
    this.host.master.killReplicas();
    log(`replication[${this.host.name}]: promoted to master, new replid ${meta.replid}, replid2 valid up to ${meta.secondReplidOffset}`);
  }

  /** CLIENT KILL TYPE master: drop the link (it comes back through the cron). */
  killLink(): number {
    if (this.ws === null && this.outside === null) return 0;
    this.linkDown("killed by CLIENT KILL TYPE master");
    return 1;
  }

  // --- the link ----------------------------------------------------------------------------

  private async connect(): Promise<void> {
    const { meta, db } = this.host;
    if (meta.outsideMaster !== null) return this.connectOutside(meta.outsideMaster);
    const masterName = meta.masterName;
    if (!masterName) return;
    this.transition("connecting");
    const seq = ++this.linkSeq;
    try {
      const res = await this.host.nodeStub(masterName).fetch(`${NODE_ORIGIN}/replication`, {
        headers: { Upgrade: "websocket", [H_DB]: db, [H_NODE]: masterName },
      });
      const ws = res.webSocket;
      if (!ws) throw new Error(`master answered ${res.status} without a WebSocket`);
      if (seq !== this.linkSeq || this.state !== "connecting") {
        ws.accept();
        ws.close(1000, "stale link");
        return;
      }
      // Binary frames arrive as Blob by default with recent compatibility dates.
      (ws as unknown as { binaryType: string }).binaryType = "arraybuffer";
      ws.accept();
      this.ws = ws;
      ws.addEventListener("message", (e) => {
        if (seq === this.linkSeq) this.onMessage(e.data as string | ArrayBuffer);
      });
      ws.addEventListener("close", () => {
        if (seq === this.linkSeq) this.linkDown("connection closed by the master");
      });
      ws.addEventListener("error", () => {
        if (seq === this.linkSeq) this.linkDown("connection error");
      });
      this.lastIoMs = Date.now();
      this.transition("handshake");
      this.handshakeStep = 0;
      this.send(["PING"]);
    } catch (e) {
      if (seq === this.linkSeq) this.linkDown(`connect failed: ${String(e)}`);
    }
  }

  // --- an outside Redis master (outside-link.ts) ------------------------------------------

  /** Open the TCP link to an outside master; what it produces is applied as our own masters' streams are. */
  private async connectOutside(address: string): Promise<void> {
    const { meta, backlog, config } = this.host;
    this.transition("connecting");
    const seq = ++this.linkSeq;
    const live = () => seq === this.linkSeq;
    const at = address.lastIndexOf(":");
    let tcp: TcpLink;
    try {
      if (!this.host.openTcp) throw new Error("this node cannot open TCP connections");
      tcp = this.host.openTcp(address.slice(0, at), Number(address.slice(at + 1)));
    } catch (e) {
      this.linkDown(`connect failed: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    const conn = new OutsideConnection(
      tcp,
      {
        user: config.secret("masteruser"),
        pass: config.secret("masterauth"),
        cached: meta.hasCachedMaster ? { replid: meta.replid, offset: backlog.offset } : null,
      },
      {
        ks: this.host.engine.ks,
        io: () => {
          if (live()) this.lastIoMs = Date.now();
        },
        fullResync: (replid, offset) => {
          if (!live()) return;
          log(`replication[${this.host.name}]: full resync from outside master ${address}: ${replid}:${offset}`);
          this.fullSyncs++;
          this.discardTransfer();
          this.transfer = { replid, offset, loading: true, size: 0, read: 0 };
          this.host.master.killReplicas(); // our data is about to be replaced wholesale
          this.transition("transfer");
        },
        loaded: (loader, res, replid, offset) => {
          if (!live()) return loader.discard();
          this.adopt(loader, res, replid, offset);
          this.transfer = null;
          log(`replication[${this.host.name}]: loaded the outside master's RDB: ${res.keys} keys, ${res.bytes} bytes, offset ${offset}`);
          this.transition("connected");
          this.sendAck(); // a diskless master puts us online on this first ACK
        },
        continued: (replid) => {
          if (live()) this.continued(replid);
        },
        stream: (bytes) => {
          if (live()) this.onStream(bytes);
        },
        down: (why) => {
          if (live()) this.linkDown(why);
        },
        unsupported: (what) => {
          if (live()) this.halt(what, this.transfer?.offset ?? backlog.offset);
        },
      },
    );
    this.outside = conn;
    this.lastIoMs = Date.now();
    this.transition("handshake");
    void conn.run();
  }

  /** Why a command from an outside master cannot be applied, or null. */
  private unsupported(argv: Uint8Array[]): string | null {
    const name = str(argv[0]!).toLowerCase();
    return COMMANDS.has(name) ? null : `command '${name.slice(0, 64)}'`;
  }

  private unsupportedBlock(cmds: Uint8Array[][]): string | null {
    for (const c of cmds) {
      const why = this.unsupported(c);
      if (why !== null) return `${why} (in a MULTI block)`;
    }
    return null;
  }

  /**
   * Stop applying the outside master's data at `offset` (no silent divergence): the link goes
   * down and stays down until the next REPLICAOF; INFO replication and the admin API say why.
   */
  private halt(what: string, offset = this.host.backlog.offset): void {
    this.halted = { what, offset };
    log(`replication[${this.host.name}]: stopped applying the outside master's data at offset ${offset}: ${what}`);
    this.linkDown(`unsupported: ${what}`);
  }

  private send(argv: string[]): void {
    try {
      this.ws?.send(encodeCommand(argv));
    } catch {
      // the close event follows
    }
  }

  /** Close the socket without scheduling anything (role changes). */
  private dropLink(why: string): void {
    this.linkSeq++;
    if (this.ws) {
      try {
        this.ws.close(1000, why.slice(0, 100));
      } catch {
        /* already closed */
      }
    }
    this.ws = null;
    this.outside?.close();
    this.outside = null;
    this.resetStream();
  }

  /** Forget every partly received or queued stream byte (a new link or a loaded snapshot). */
  private resetStream(): void {
    this.parser = streamParser();
    this.tx = null;
    this.carry.clear();
    this.carryParsed = 0;
    this.inbox = [];
    this.unfinished = false;
  }

  /** The link is gone: back to `connect`, retry after a backoff. Data and offset are kept. */
  linkDown(why: string): void {
    if (this.state === "none" || this.state === "connect") return;
    log(`replication[${this.host.name}]: link down: ${why}`);
    this.dropLink(why);
    if (this.transfer) this.discardTransfer();
    this.transition("connect");
    this.failoverAnswered(false);
    this.attempts++;
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(10, this.attempts - 1));
    this.nextConnectMs = Date.now() + delay;
    this.host.scheduleCron(delay);
  }

  private onMessage(data: string | ArrayBuffer): void {
    this.lastIoMs = Date.now();
    try {
      if (typeof data === "string") this.onControl(data);
      else this.onStream(new Uint8Array(data));
    } catch (e) {
      // An unexpected failure applying the stream: resync from the last applied offset.
      this.linkDown(`error handling a message from the master: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Replies to the handshake and control lines from the master (text frames). */
  private onControl(text: string): void {
    for (const line of text.split("\r\n")) {
      if (line.length === 0) continue;
      this.onControlLine(line);
    }
  }

  private onControlLine(line: string): void {
    if (this.state === "handshake") {
      if (this.handshakeStep === 0) {
        // PING reply: anything starting with '+', or an auth error Redis also accepts.
        if (!line.startsWith("+") && !line.startsWith("-NOAUTH") && !line.startsWith("-NOPERM")) {
          this.linkDown(`error reply to PING from master: ${line}`);
          return;
        }
        const region = this.host.region ? ["region", this.host.region] : [];
        this.send(["REPLCONF", "name", this.host.name, "listening-port", "0", ...region]);
        this.send(["REPLCONF", "capa", "eof", "capa", "psync2"]);
        this.handshakeStep = 1;
        return;
      }
      if (this.handshakeStep === 1 || this.handshakeStep === 2) {
        // REPLCONF replies: errors are non critical, as in Redis.
        if (line.startsWith("-")) log(`replication[${this.host.name}]: (non critical) master replied to REPLCONF: ${line}`);
        this.handshakeStep++;
        // As Redis (REPL_STATE_SEND_PSYNC after RECEIVE_CAPA_REPLY): PSYNC only once the master
        // has answered our REPLCONFs, so it knows our name, region and capabilities by then.
        if (this.handshakeStep === 3) this.sendPsync();
        return;
      }
      this.onPsyncReply(line);
      return;
    }
    if (line.startsWith("+SNAPSHOT ") && this.state === "transfer" && this.transfer && !this.transfer.loading) {
      const [, key, size, crc] = line.split(" ");
      void this.load(key!, Number(size), crc!);
      return;
    }
    if (line.startsWith("-")) {
      this.linkDown(`master: ${line}`);
      return;
    }
    // +PONG to our keepalive PINGs during a transfer, and anything else: nothing to do.
  }

  private sendPsync(): void {
    const { meta, backlog, name } = this.host;
    const psync = meta.hasCachedMaster ? [meta.replid, String(backlog.offset + 1)] : ["?", "-1"];
    if (this.failoverPsync) psync.push("FAILOVER");
    log(`replication[${name}]: trying a partial resynchronization (PSYNC ${psync.join(" ")})`);
    this.send(["PSYNC", ...psync]);
  }

  private onPsyncReply(line: string): void {
    const { meta, backlog } = this.host;
    if (line.startsWith("+FULLRESYNC ")) {
      const [, replid, off] = line.split(" ");
      if (!replid || replid.length !== 40 || !/^\d+$/.test(off ?? "")) {
        this.linkDown(`bad FULLRESYNC reply: ${line}`);
        return;
      }
      log(`replication[${this.host.name}]: full resync from master: ${replid}:${off}`);
      this.fullSyncs++;
      this.discardTransfer();
      this.transfer = { replid, offset: Number(off), loading: false, size: 0, read: 0 };
      // Our data is about to be replaced wholesale: our own replicas must resync.
      this.host.master.killReplicas();
      this.transition("transfer");
      this.failoverAnswered(true);
      return;
    }
    if (line.startsWith("+CONTINUE")) {
      this.continued(line.split(" ")[1] ?? null);
      this.failoverAnswered(true);
      return;
    }
    // -NOMASTERLINK, -LOADING, errors: try again later.
    this.linkDown(`PSYNC refused: ${line}`);
  }

  /** +CONTINUE [replid]: the master accepted our cached master; the stream resumes. */
  private continued(newId: string | null): void {
    const { meta, backlog } = this.host;
    if (newId && newId !== meta.replid) {
      // The master changed id (a promoted sibling): keep the old history as replid2.
      meta.replid2 = meta.replid;
      meta.secondReplidOffset = backlog.offset + 1;
      meta.replid = newId;
      meta.save();
      this.host.master.killReplicas();
    }
    log(`replication[${this.host.name}]: partial resynchronization accepted at offset ${backlog.offset}`);
    this.partialSyncs++;
    this.transition("connected");
    this.sendAck();
  }

  /** Report the answer to a PSYNC FAILOVER once, after the current step has finished. */
  private failoverAnswered(accepted: boolean): void {
    if (!this.failoverPsync) return;
    this.failoverPsync = false;
    queueMicrotask(() => this.host.failoverPsyncDone?.(accepted));
  }

  /** Stream bytes (binary frames). */
  private onStream(bytes: Uint8Array): void {
    if (this.state === "transfer") this.spill(bytes);
    else if (this.state === "connected") {
      this.inbox.push(bytes);
      this.pump();
    }
  }

  /**
   * Apply one slice of what the inbox and the parser hold, now, in this event: at most
   * REPLICA_APPLY_SLICE_MS / REPLICA_APPLY_SLICE_BYTES, so other events (reads, PING, the
   * cron, the other objects on the thread) wait at most about one slice. Every frame that
   * arrives runs one, so a replica that fell behind catches up by up to a slice per frame
   * while the stream flows; what is left when frames stop goes on from a timer (which a busy
   * runtime may fire late: it is not what keeps a replica up with a loaded master).
   */
  private pump(): void {
    if (this.pumping || this.paused || this.state !== "connected") return;
    if (this.inbox.length === 0 && !this.unfinished) return;
    this.pumping = true;
    const seq = this.linkSeq;
    try {
      // Frames up to a slice's bytes (at least one, unless the last run left some unapplied).
      let n = 0;
      let bytes = 0;
      while (n < this.inbox.length && ((n === 0 && !this.unfinished) || bytes + this.inbox[n]!.length <= REPLICA_APPLY_SLICE_BYTES)) bytes += this.inbox[n++]!.length;
      const frames = this.inbox.splice(0, n);
      const more = this.apply(frames, { ms: REPLICA_APPLY_SLICE_MS, bytes: REPLICA_APPLY_SLICE_BYTES });
      if (seq === this.linkSeq) {
        this.unfinished = more;
        // The cron's ACK every second is a timer too: under load the master would see us stand still.
        if (this.state === "connected" && Date.now() - this.lastAckSentMs >= REPLICA_STREAM_ACK_MS) this.sendAck();
      }
    } catch (e) {
      // An unexpected failure applying the stream: resync from the last applied offset.
      this.linkDown(`error applying the stream: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.pumping = false;
    }
    if ((this.inbox.length || this.unfinished) && !this.pumpTimer && seq === this.linkSeq) {
      this.pumpTimer = true;
      setTimeout(() => {
        this.pumpTimer = false;
        this.pump();
      }, 0);
    }
  }

  /** DEBUG REPL-PAUSE 1|0: stop (or resume) applying and acknowledging the stream. */
  setPaused(on: boolean): void {
    this.paused = on;
    if (!on) this.pump();
  }

  /** Buffer stream bytes during a transfer, in SQLite (bounded memory whatever its size). */
  private spill(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i += PENDING_ROW_BYTES) {
      this.host.sql.exec("INSERT INTO repl_pending (data) VALUES (?)", bytes.slice(i, i + PENDING_ROW_BYTES));
    }
  }

  /**
   * Apply stream bytes: every complete command is executed, and its bytes, exactly as
   * received, go to our backlog and sub-replicas in the same synchronous run (one SQLite
   * transaction). A MULTI block waits in `carry` until its EXEC arrives. Consecutive plain
   * SETs are applied together (Engine.applyPlainSetsFromMaster), always before anything
   * after them is executed, forwarded or acknowledged.
   *
   * With a `slice`, the run stops between two commands once it has applied that many bytes
   * or run that long (never inside a MULTI block's EXEC), leaving the rest parsed-to-be in
   * the parser: returns true when it stopped so (call again, with no new frames, to go on).
   */
  private apply(frames: Uint8Array[], slice?: { ms: number; bytes: number }): boolean {
    this.applyBatches++;
    this.applyFrames += frames.length;
    for (const f of frames) {
      this.parser.push(f);
      this.carry.push(f);
    }
    const startMs = slice ? Date.now() : 0;
    const firstByte = this.carryParsed;
    let parsed = this.carryParsed; // position in `carry` of the parser
    let forwarded = 0; // bytes of `carry` already fed to the backlog
    let sets: Uint8Array[][] = []; // plain SETs parsed and not applied yet
    const applySets = () => {
      if (sets.length === 0) return;
      const failed = this.host.engine.applyPlainSetsFromMaster(this.session, sets);
      for (const f of failed) this.logFailure(f.argv, f.error);
      sets = [];
    };
    const forward = (upTo: number) => {
      applySets();
      if (upTo <= forwarded) return;
      this.host.feedStream(this.carry.slice(forwarded, upTo));
      forwarded = upTo;
    };
    let stopped = false;
    let count = 0;
    while (true) {
      // Between commands outside a MULTI block; the clock is read every few commands only.
      if (slice && this.tx === null && (parsed - firstByte >= slice.bytes || ((++count & 31) === 0 && Date.now() - startMs >= slice.ms))) {
        stopped = true;
        break;
      }
      let argv: Uint8Array[] | undefined;
      try {
        argv = this.parser.next() as Uint8Array[] | undefined;
      } catch (e) {
        forward(this.tx ? this.tx.start : parsed); // what was applied keeps its offset
        this.linkDown(`protocol error in the stream: ${String(e)}`);
        return false;
      }
      if (argv === undefined) break;
      const at = parsed;
      parsed += this.parser.lastBytes;
      if (argv.length === 0) continue;
      if (this.tx === null && this.outside === null && isPlainSet(argv)) {
        sets.push(argv);
        if (sets.length >= APPLY_SETS_MAX) applySets();
        continue;
      }
      applySets();
      const name = str(argv[0]!).toLowerCase();
      if (this.tx) {
        if (name === "exec") {
          const why = this.outside === null ? null : this.unsupportedBlock(this.tx.cmds);
          if (why !== null) {
            forward(this.tx.start);
            this.host.meta.saveStreamDb(this.session.db);
            this.halt(why);
            return false;
          }
          // A block is applied whole, as a transaction; a command of it that an outside master
          // accepted and that fails here stops applying right after the block (not silently).
          let failed: string | null = null;
          for (const c of this.tx.cmds) {
            const r = this.exec(c);
            if (this.outside !== null && r instanceof Error) failed ??= `command '${str(c[0]!).toLowerCase().slice(0, 64)}' failed (in a MULTI block): ${r.message}`;
          }
          this.tx = null;
          if (failed !== null) {
            forward(parsed);
            this.host.meta.saveStreamDb(this.session.db);
            this.halt(failed);
            return false;
          }
        } else this.tx.cmds.push(argv);
        continue;
      }
      if (name === "multi") {
        forward(at);
        this.tx = { cmds: [], start: at };
        continue;
      }
      if (name === "replconf") {
        // REPLCONF GETACK: answer with the offset before this command (Redis does the same).
        forward(at);
        this.sendAck();
        continue;
      }
      if (name === "ping") continue;
      if (this.outside !== null) {
        // An outside master may send what we do not implement: stop before it (no silent divergence).
        const why = this.unsupported(argv);
        if (why !== null) {
          forward(at);
          this.host.meta.saveStreamDb(this.session.db);
          this.halt(why);
          return false;
        }
      }
      const r = this.exec(argv);
      if (this.outside !== null && r instanceof Error) {
        // A command an outside master accepted fails here: something we do not implement.
        forward(at);
        this.host.meta.saveStreamDb(this.session.db);
        this.halt(`command '${name.slice(0, 64)}' failed: ${r.message}`);
        return false;
      }
    }
    forward(this.tx ? this.tx.start : parsed);
    // Keep only what is not forwarded yet: an open MULTI block and a partial command.
    this.carry.drop(forwarded);
    if (this.tx) this.tx.start -= forwarded;
    this.carryParsed = parsed - forwarded;
    this.host.meta.saveStreamDb(this.session.db);
    return stopped;
  }

  private exec(argv: Uint8Array[]): Reply {
    const r = this.host.engine.applyFromMaster(this.session, argv);
    if (r instanceof Error) this.logFailure(argv, r);
    return r;
  }

  private logFailure(argv: Uint8Array[], e: Error): void {
    log(`replication[${this.host.name}]: command from master failed: ${str(argv[0]!)}: ${e.message}`);
  }

  private sendAck(): void {
    if (this.paused) return; // a stalled replica acknowledges nothing (DEBUG REPL-PAUSE)
    this.lastAckSentMs = Date.now();
    if (this.outside !== null) this.outside.ack(this.host.backlog.offset);
    else this.send(["REPLCONF", "ACK", String(this.host.backlog.offset)]);
  }

  // --- full resync: load the snapshot, swap, replay the buffer ----------------------------

  private async load(key: string, size: number, crc: string): Promise<void> {
    const t = this.transfer!;
    const seq = this.linkSeq;
    t.loading = true;
    t.size = size;
    const loader = new SnapshotLoader(this.host.engine.ks);
    try {
      const body = await this.host.bucket.open(key, size);
      if (!body) throw new Error(`snapshot ${key} not found in R2`);
      // Fed in slices that yield to other events (client reads, the stream being buffered).
      const slice = newSlice();
      const wanted = () => seq === this.linkSeq && this.transfer === t;
      for await (const chunk of body) {
        if (!(await pushYielding(loader, chunk, slice, wanted))) break;
        t.read = loader.bytes;
        this.lastIoMs = Date.now();
      }
      if (seq !== this.linkSeq || this.transfer !== t) {
        loader.discard();
        return;
      }
      const res = loader.finish({ size, crc });
      this.adopt(loader, res, t.replid, t.offset);
      log(`replication[${this.host.name}]: loaded snapshot ${key}: ${res.keys} keys, ${res.bytes} bytes, offset ${t.offset}`);
      await this.replay(seq, t);
    } catch (e) {
      loader.discard();
      this.loadFailures++;
      this.lastLoadError = String(e instanceof Error ? e.message : e);
      log(`replication[${this.host.name}]: snapshot refused, keeping the old data: ${this.lastLoadError}`);
      if (seq === this.linkSeq) this.linkDown("snapshot load failed");
    }
  }

  /** Swap a loaded snapshot in and adopt the master's history, in one synchronous step. */
  private adopt(loader: SnapshotLoader, res: LoadResult, replid: string, offset: number): void {
    loader.swap();
    this.host.engine.scripting.functions.replaceAll(loader.functions);
    const { meta, backlog } = this.host;
    backlog.reset(offset);
    meta.replid = replid;
    meta.clearReplid2();
    meta.hasCachedMaster = true;
    meta.save();
    const sdb = Number(res.aux["repl-stream-db"] ?? "0");
    this.session.db = Number.isInteger(sdb) && sdb >= 0 ? sdb : 0;
    this.resetStream();
  }

  /** Apply the stream buffered during the transfer, then switch to applying it live. */
  private async replay(seq: number, t: Transfer): Promise<void> {
    if (this.dropAt === "replay") {
      this.dropAt = null;
      this.linkDown("fault injected during replay");
      return;
    }
    while (true) {
      if (seq !== this.linkSeq || this.transfer !== t) return;
      const rows = this.host.sql.exec("SELECT seq, data FROM repl_pending ORDER BY seq LIMIT ?", REPLAY_ROWS_PER_TURN).toArray();
      if (rows.length === 0) {
        // Same synchronous turn as the emptiness check: no frame can slip in between.
        this.transfer = null;
        this.transition("connected");
        this.sendAck();
        return;
      }
      // Row by row until the slice is used up: no single event applies more than a slice.
      const sliceStart = Date.now();
      for (const r of rows) {
        this.apply([new Uint8Array(r.data as ArrayBuffer)]);
        this.host.sql.exec("DELETE FROM repl_pending WHERE seq = ?", r.seq as number);
        if (seq !== this.linkSeq || this.transfer !== t || Date.now() - sliceStart >= REPLAY_SLICE_MS) break;
      }
      await yieldToOtherEvents();
    }
  }

  private discardTransfer(): void {
    this.transfer = null;
    this.host.sql.exec("DELETE FROM repl_pending");
  }

  // --- cron ----------------------------------------------------------------------------------

  /** The replica half of replicationCron. Returns when it wants to run again (ms), or null. */
  async cron(now: number): Promise<number | null> {
    if (this.host.meta.role !== "replica") return null;
    if (this.state === "none") this.transition("connect");
    const timeoutMs = this.host.config.int("repl-timeout") * 1000;
    switch (this.state) {
      case "connect":
        if (this.halted !== null) return null; // stays stopped until the next REPLICAOF
        if (now >= this.nextConnectMs) {
          await this.connect();
          return 1000;
        }
        return this.nextConnectMs - now;
      case "connecting":
        return 1000;
      case "handshake":
      case "transfer":
      case "connected":
        if (now - this.lastIoMs > timeoutMs) {
          this.linkDown(`timeout: no data from the master for ${Math.round((now - this.lastIoMs) / 1000)} s`);
          return RECONNECT_MIN_MS;
        }
        if (this.state === "connected") this.sendAck();
        else if (this.state === "transfer" && this.outside === null) this.send(["PING"]);
        return 1000;
    }
    return 1000;
  }

  // --- INFO / ROLE -----------------------------------------------------------------------------

  info(): string[] {
    const { meta, backlog, config } = this.host;
    const up = this.state === "connected";
    const [host, port] = this.masterAddress();
    const lines = [
      "role:slave",
      `master_host:${host}`,
      `master_port:${port}`,
      `master_link_status:${up ? "up" : "down"}`,
      `master_last_io_seconds_ago:${this.ws || this.outside ? Math.floor((Date.now() - this.lastIoMs) / 1000) : -1}`,
      `master_sync_in_progress:${this.state === "transfer" ? 1 : 0}`,
      `slave_read_repl_offset:${backlog.offset}`,
      `slave_repl_offset:${backlog.offset}`,
    ];
    if (this.halted !== null) {
      // Not in Redis: where and why applying an outside master's data stopped.
      lines.push(`master_unsupported:${infoSafe(this.halted.what)}`, `master_unsupported_offset:${this.halted.offset}`);
    }
    if (this.state === "transfer" && this.transfer) {
      const t = this.transfer;
      if (this.outside !== null) {
        t.read = this.outside.payloadRead;
        t.size = this.outside.payloadSize ?? 0; // 0: a diskless payload's size is not known
      }
      lines.push(
        `master_sync_total_bytes:${t.size}`,
        `master_sync_read_bytes:${t.read}`,
        `master_sync_left_bytes:${Math.max(0, t.size - t.read)}`,
        `master_sync_perc:${t.size ? ((100 * t.read) / t.size).toFixed(2) : "0.00"}`,
        `master_sync_last_io_seconds_ago:${Math.floor((Date.now() - this.lastIoMs) / 1000)}`,
      );
    }
    if (!up) lines.push(`master_link_down_since_seconds:${this.linkDownSinceMs === null ? -1 : Math.floor((Date.now() - this.linkDownSinceMs) / 1000)}`);
    lines.push(
      `slave_priority:${config.int("replica-priority")}`,
      `slave_read_only:${config.bool("replica-read-only") ? 1 : 0}`,
      "replica_announced:1",
      `connected_slaves:${this.host.master.list().length}`,
      ...this.host.master.replicaLines(),
      ...replicationIdLines(this.host),
    );
    return lines;
  }

  role(): Reply {
    const s = this.state === "transfer" ? "sync" : this.state === "none" ? "connect" : this.state;
    const [host, port] = this.masterAddress();
    return [utf8("slave"), utf8(host), port, utf8(s), this.host.backlog.offset];
  }

  /** The master as INFO/ROLE name it: a node name and port 0, or an outside master's host and port. */
  private masterAddress(): [string, number] {
    const { outsideMaster, masterName } = this.host.meta;
    if (outsideMaster === null) return [masterName ?? "", 0];
    const at = outsideMaster.lastIndexOf(":");
    return [outsideMaster.slice(0, at), Number(outsideMaster.slice(at + 1))];
  }
}


/** An INFO value: one line of printable ASCII. */
function infoSafe(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, "?");
}

/**
 * A FIFO of received chunks addressed by byte position from its head: slices of the front
 * cost nothing when they fall inside one chunk (the usual case: a whole frame) and one copy
 * otherwise; dropping the front never copies the rest.
 */
class ByteQueue {
  private chunks: Uint8Array[] = [];

  push(b: Uint8Array): void {
    if (b.length) this.chunks.push(b);
  }

  clear(): void {
    this.chunks = [];
  }

  /** Bytes [from, to) from the head. */
  slice(from: number, to: number): Uint8Array {
    let skip = from;
    let i = 0;
    while (i < this.chunks.length && skip >= this.chunks[i]!.length) skip -= this.chunks[i++]!.length;
    const first = this.chunks[i]!;
    const n = to - from;
    if (skip + n <= first.length) return first.subarray(skip, skip + n);
    const out = new Uint8Array(n);
    let o = 0;
    for (; o < n; i++) {
      const c = this.chunks[i]!;
      const part = c.subarray(skip, Math.min(c.length, skip + n - o));
      out.set(part, o);
      o += part.length;
      skip = 0;
    }
    return out;
  }

  /** Remove the first `n` bytes. */
  drop(n: number): void {
    let left = n;
    let i = 0;
    while (i < this.chunks.length && left >= this.chunks[i]!.length) left -= this.chunks[i++]!.length;
    this.chunks = this.chunks.slice(i);
    if (left > 0) this.chunks[0] = this.chunks[0]!.subarray(left);
  }
}
