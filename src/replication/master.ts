/**
 * The master side of replication (Redis replication.c, "MASTER" half): the handshake a
 * replica sends (PING, REPLCONF, PSYNC), partial resynchronization from the backlog, full
 * resynchronization through an R2 snapshot, the stream to attached replicas, ACKs, WAIT,
 * min-replicas-to-write, and the master part of the replication cron.
 *
 * Wire conventions over the WebSocket: replies to the handshake and control lines
 * (`+FULLRESYNC`, `+CONTINUE`, `+SNAPSHOT`) travel in text frames; the stream travels in
 * binary frames, and only binary bytes count in offsets.
 */
import type { Engine } from "../keyspace/engine.ts";
import type { NodeConfig } from "../node/config.ts";
import { RedisError, type Reply } from "../protocol/reply.ts";
import { str, utf8 } from "../util/bytes.ts";
import type { Backlog } from "./backlog.ts";
import type { ReplMeta } from "./meta.ts";
import { AckLagSamples, type AckLagSummary } from "./ack-lag.ts";
import { OutputLimitWatch } from "./output-limit.ts";
import type { Snapshot, SnapshotManager } from "./snapshot.ts";
import { log } from "../util/log.ts";

/** Per-replica state, persisted in the socket's attachment so it survives hibernation. */
export interface ReplicaInfo {
  id: number;
  /** `REPLCONF name` (or ip-address): the replica's node name. */
  name: string;
  region: string;
  port: number;
  capaPsync2: boolean;
  /** Redis's slave states: wait_bgsave (snapshot being made), send_bulk (snapshot ready, replica loading), online. */
  state: "handshake" | "wait_bgsave" | "send_bulk" | "online";
  /** Last `REPLCONF ACK` offset. */
  ackOffset: number;
  lastAckMs: number;
  /** Snapshot the replica is syncing from, while not online. */
  snapshotId: number | null;
  /** Offset of that snapshot. */
  syncOffset: number;
  /**
   * A real Redis replica through a byte pipe (the gateway's replication endpoint): its full sync
   * is Redis's `$<len>\r\n` + RDB, then the stream, on one connection (ours gets `+SNAPSHOT`).
   */
  resp?: boolean;
}

/** The node's socket to one replica. */
export interface ReplicaTransport {
  ws: WebSocket;
  /** The peer is a real Redis replica through a byte pipe (see ReplicaInfo.resp). */
  resp: boolean;
  /** Where it connects from (a real replica sends no REPLCONF name). */
  addr: string;
  sendText(s: string): void;
  sendBinary(b: Uint8Array): void;
  close(reason: string): void;
  save(info: ReplicaInfo): void;
}

/** What the master side needs from its node. */
export interface MasterHost {
  meta: ReplMeta;
  backlog: Backlog;
  engine: Engine;
  config: NodeConfig;
  snapshots: SnapshotManager;
  replica: { state: string; streamDb(): number };
  scheduleCron(inMs: number): void;
  sockets(kind: "replication"): unknown[];
  /** PSYNC … FAILOVER reached this node (a replica): promote, or answer why not (failover.ts). */
  psyncFailover?(replid: string): string | null;
  /** INFO's master_failover_state. */
  failoverState?(): string;
  /** A snapshot's bytes from R2 (a real Redis replica's full sync streams them), or null. */
  openSnapshot(key: string, size: number): Promise<AsyncIterable<Uint8Array> | null>;
  /** How long the oldest byte after `ackOffset` has been waiting, in ms (0: caught up; null: unknown). */
  ackLagMs?(ackOffset: number): number | null;
}

interface Attached {
  t: ReplicaTransport;
  info: ReplicaInfo;
  /** The stream toward this replica (runtime only; rebuilt after hibernation). */
  out: StreamOut;
  /** A real Redis replica receiving its RDB: the live stream waits (it follows the RDB). */
  holding?: boolean;
}

/** What the master sent a replica and how much of it is unacknowledged (flow control). */
interface StreamOut {
  /** Stream position up to which bytes were sent; NaN after hibernation (= in step with the backlog). */
  sentOffset: number;
  /** End of the last catch-up (backlog on +CONTINUE, stream during a full sync): not counted until acked. */
  catchUpEnd: number;
  /** Binary frames and bytes of the live stream sent (one frame per event). */
  frames: number;
  bytes: number;
  watch: OutputLimitWatch;
  /** The replica's lag at each ACK (ack-lag.ts). */
  ackLags: AckLagSamples;
}

function newStreamOut(): StreamOut {
  return { sentOffset: Number.NaN, catchUpEnd: 0, frames: 0, bytes: 0, watch: new OutputLimitWatch(), ackLags: new AckLagSamples() };
}

/** Bytes sent that the replica has not acknowledged, catch-ups excluded (see output-limit.ts). */
function unackedBytes(a: Attached): number {
  if (Number.isNaN(a.out.sentOffset)) return 0;
  return Math.max(0, a.out.sentOffset - Math.max(a.info.ackOffset, a.out.catchUpEnd));
}

/** Replica info as listed by the admin API and tests. */
export interface ReplicaListing extends ReplicaInfo {
  sentOffset: number;
  framesSent: number;
  bytesSent: number;
  unackedBytes: number;
  /** Lag at the ACKs of this link (ack-lag.ts), null before the first while online. */
  ackLag: AckLagSummary | null;
}

let nextReplicaId = 1;

export class MasterSide {
  private readonly attached = new Map<WebSocket, Attached>();
  private rehydrated = false;
  private lastPingMs = Date.now();
  private noReplicasSinceMs: number | null = Date.now();
  private readonly waiters: { offset: number; need: number; client: number; resolve: (n: Reply) => void }[] = [];
  /** INFO stats counters. */
  syncFull = 0;
  syncPartialOk = 0;
  syncPartialErr = 0;
  /** Why the last partial resync was refused (tests and logs). */
  lastPsyncRefusal = "";
  /** Bytes sent by each +CONTINUE, in order (tests compare them with the bytes missed). */
  readonly continueBytes: number[] = [];
  /** Links dropped by client-output-buffer-limit (INFO stats). */
  obufDisconnects = 0;
  /** Live stream frames sent to all replicas (INFO stats). */
  framesSent = 0;

  constructor(private readonly host: MasterHost) {
    host.engine.writeGate = () => this.writeGate();
  }

  /** After hibernation the runtime map is empty: rebuild it from the sockets' attachments. */
  private ensureLoaded(): void {
    if (this.rehydrated) return;
    this.rehydrated = true;
    this.host.sockets("replication"); // conn() → reattach() for each
  }

  reattach(t: ReplicaTransport, info: ReplicaInfo): void {
    this.attached.set(t.ws, { t, info, out: newStreamOut() });
    nextReplicaId = Math.max(nextReplicaId, info.id + 1);
  }

  detach(t: ReplicaTransport): void {
    const a = this.attached.get(t.ws);
    this.attached.delete(t.ws);
    if (a) log(`replication: replica ${a.info.name} disconnected (state ${a.info.state})`);
    if (this.attached.size === 0) this.noReplicasSinceMs = Date.now();
  }

  private get(t: ReplicaTransport): Attached {
    let a = this.attached.get(t.ws);
    if (!a) {
      a = {
        t,
        info: {
          id: nextReplicaId++,
          // A real Redis replica is known by its address's host, as Redis's INFO prints `ip=` (its port comes with REPLCONF).
          name: t.resp ? hostOfAddr(t.addr) : "?",
          region: "",
          port: 0,
          capaPsync2: false,
          state: "handshake",
          ackOffset: 0,
          lastAckMs: Date.now(),
          snapshotId: null,
          syncOffset: 0,
          resp: t.resp,
        },
        out: newStreamOut(),
      };
      this.attached.set(t.ws, a);
      this.noReplicasSinceMs = null;
    }
    return a;
  }

  /** A command on a replication socket. Replies go out as text frames; nothing is returned. */
  command(t: ReplicaTransport, argv: Uint8Array[]): undefined {
    const a = this.get(t);
    const name = str(argv[0]!).toLowerCase();
    const reply = (r: string) => t.sendText(r);
    a.info.lastAckMs = Date.now(); // any traffic from the replica proves the link alive
    switch (name) {
      case "ping":
        reply("+PONG\r\n");
        return;
      case "auth":
        // The link was authenticated before it reached us (binding or replication secret).
        reply("+OK\r\n");
        return;
      case "replconf":
        this.replconf(a, argv, reply);
        return;
      case "psync": {
        // PSYNC replid offset [FAILOVER]: the last form asks a replica to take over (FAILOVER).
        const failover = argv.length === 4 && str(argv[3]!).toLowerCase() === "failover";
        if (argv.length !== 3 && !failover) {
          reply(`-ERR wrong number of arguments for 'psync' command\r\n`);
          return;
        }
        if (failover) {
          const err = this.host.psyncFailover ? this.host.psyncFailover(str(argv[1]!)) : "PSYNC FAILOVER is not supported";
          if (err !== null) {
            reply(`-ERR ${err}\r\n`);
            return;
          }
        }
        this.psync(a, str(argv[1]!), Number(str(argv[2]!)));
        return;
      }
      default:
        reply(`-ERR unknown command '${name.slice(0, 128)}' on a replication link\r\n`);
        return;
    }
  }

  private replconf(a: Attached, argv: Uint8Array[], reply: (s: string) => void): void {
    if (argv.length % 2 === 0) {
      reply("-ERR syntax error\r\n");
      return;
    }
    for (let i = 1; i < argv.length; i += 2) {
      const opt = str(argv[i]!).toLowerCase();
      const val = str(argv[i + 1]!);
      switch (opt) {
        case "listening-port":
          a.info.port = Number(val) || 0;
          break;
        case "ip-address":
        case "name":
          a.info.name = val;
          break;
        case "region":
          a.info.region = val;
          break;
        case "capa":
          if (val.toLowerCase() === "psync2") a.info.capaPsync2 = true;
          break;
        case "ack": {
          // No reply to ACK (Redis: "this command does not reply anything").
          const off = Number(val);
          if (Number.isFinite(off) && off > a.info.ackOffset) a.info.ackOffset = off;
          a.info.lastAckMs = Date.now();
          if (a.info.state === "online") {
            const lag = this.host.ackLagMs?.(a.info.ackOffset);
            if (lag !== null && lag !== undefined) a.out.ackLags.add(lag);
          }
          if (a.info.state === "send_bulk" && a.info.ackOffset >= a.info.syncOffset) {
            a.info.state = "online";
            a.info.snapshotId = null;
            // What was streamed during the transfer was a catch-up: count it only once acked.
            if (!Number.isNaN(a.out.sentOffset)) a.out.catchUpEnd = a.out.sentOffset;
            log(`replication: replica ${a.info.name} online at offset ${a.info.ackOffset}`);
          }
          a.t.save(a.info);
          this.checkWaiters();
          return;
        }
        case "getack":
          return;
        default:
          reply(`-ERR Unrecognized REPLCONF option: ${opt}\r\n`);
          return;
      }
    }
    a.t.save(a.info);
    reply("+OK\r\n");
  }

  /** masterTryPartialResynchronization, then the full resync when it is refused. */
  private psync(a: Attached, replid: string, psyncOffset: number): void {
    const { meta, backlog } = this.host;
    // As Redis's syncCommand, before any attempt: no sync while failing over, and a replica
    // serves syncs (partial ones too) only while its own link is up (no replication cycles).
    if ((this.host.failoverState?.() ?? "no-failover") !== "no-failover") {
      a.t.sendText("-NOMASTERLINK Can't SYNC while failing over\r\n");
      return;
    }
    if (meta.role === "replica" && this.host.replica.state !== "connected") {
      a.t.sendText("-NOMASTERLINK Can't SYNC while not connected with my master\r\n");
      return;
    }
    const refuse = (why: string) => {
      this.lastPsyncRefusal = why;
      log(`replication: partial resync refused for ${a.info.name}: ${why}`);
      if (replid !== "?") this.syncPartialErr++;
    };
    let partial = false;
    if (replid === "?") refuse("the replica asked for a full resync (PSYNC ? -1)");
    else if (!Number.isInteger(psyncOffset)) refuse(`bad offset ${psyncOffset}`);
    else if (replid !== meta.replid && !(replid === meta.replid2 && psyncOffset <= meta.secondReplidOffset)) {
      refuse(
        replid === meta.replid2
          ? `replid2 matches but offset ${psyncOffset} is past second_repl_offset ${meta.secondReplidOffset}`
          : `replication id mismatch (replica asked for '${replid}', my ids are '${meta.replid}' and '${meta.replid2}')`,
      );
    } else if (!backlog.covers(psyncOffset - 1)) {
      refuse(`offset ${psyncOffset} is outside the backlog (first byte ${backlog.firstByte + 1}, offset ${backlog.offset})`);
    } else partial = true;

    if (partial) {
      a.t.sendText(a.info.capaPsync2 ? `+CONTINUE ${meta.replid}\r\n` : "+CONTINUE\r\n");
      let sent = 0;
      for (const chunk of backlog.readFrom(psyncOffset - 1)) {
        a.t.sendBinary(chunk);
        sent += chunk.length;
      }
      a.out.sentOffset = backlog.offset;
      a.out.catchUpEnd = backlog.offset;
      a.out.watch.softSinceMs = null;
      if (this.continueBytes.length < 1000) this.continueBytes.push(sent);
      a.info.state = "online";
      a.info.ackOffset = psyncOffset - 1;
      a.info.lastAckMs = Date.now();
      a.t.save(a.info);
      this.syncPartialOk++;
      log(`replication: partial resync with ${a.info.name} from offset ${psyncOffset}, ${sent} bytes`);
      this.host.scheduleCron(1000);
      return;
    }
    this.fullResync(a);
  }

  private fullResync(a: Attached): void {
    const { meta, backlog, snapshots } = this.host;
    const snap = snapshots.forReplica(meta.replid, backlog.firstByte, () => {
      // A new cut: the first command after it must carry a SELECT (Redis: slaveseldb = -1).
      if (meta.role === "master") this.host.engine.resetStreamDb();
      return { offset: backlog.offset, streamDb: meta.role === "master" ? -1 : this.host.replica.streamDb() };
    });
    this.syncFull++;
    a.info.state = snap.state === "ready" ? "send_bulk" : "wait_bgsave";
    a.info.snapshotId = snap.id;
    a.info.syncOffset = snap.offset;
    a.info.ackOffset = snap.offset;
    a.info.lastAckMs = Date.now();
    a.t.save(a.info);
    a.t.sendText(`+FULLRESYNC ${meta.replid} ${snap.offset}\r\n`);
    if (a.info.resp) {
      // A real Redis replica reads the RDB right after this line, then the stream.
      a.holding = true;
      if (snap.state === "ready") void this.sendRdb(a, snap);
    } else {
      // Stream from the cut on at once; the replica buffers it while it loads the snapshot.
      for (const chunk of backlog.readFrom(snap.offset)) a.t.sendBinary(chunk);
      a.out.sentOffset = backlog.offset;
      a.out.catchUpEnd = backlog.offset;
      a.out.watch.softSinceMs = null;
      if (snap.state === "ready") a.t.sendText(snapshotLine(snap));
    }
    // An RDB carries no scripts: re-send the script cache in the stream, so that a replica
    // after a full sync can run every script its master can (EVALSHA_RO, FCALL_RO).
    // Functions are data in Redis (the RDB's function opcode); our snapshot leaves them out,
    // so the stream carries them: the replica's libraries become exactly the master's.
    if (meta.role === "master") {
      const { engine } = this.host;
      for (const body of engine.scripting.bodies()) engine.propagateRaw(["SCRIPT", "LOAD", body]);
      engine.propagateRaw(["FUNCTION", "FLUSH"]);
      for (const lib of engine.scripting.functions.all()) engine.propagateRaw(["FUNCTION", "LOAD", "REPLACE", lib.code]);
    }
    log(`replication: full resync of ${a.info.name} with snapshot #${snap.id} at offset ${snap.offset} (${snap.state})`);
    this.host.scheduleCron(0);
  }

  /** The snapshot manager reports a snapshot finished (or failed). */
  snapshotDone(snap: Snapshot, error: string | null): void {
    this.ensureLoaded();
    for (const a of [...this.attached.values()]) {
      if (a.info.snapshotId !== snap.id || a.info.state === "online") continue;
      if (error) {
        a.t.sendText(`-ERR snapshot failed: ${error}\r\n`);
        a.t.close("snapshot failed");
        this.attached.delete(a.t.ws);
        continue;
      }
      a.info.state = "send_bulk";
      a.t.save(a.info);
      if (a.info.resp) void this.sendRdb(a, snap);
      else a.t.sendText(snapshotLine(snap));
    }
  }

  /**
   * A real Redis replica's full sync: the snapshot as Redis's `$<len>\r\n` + RDB bytes,
   * streamed from R2 (never whole in memory), then the stream since the cut, then live. The
   * live stream waits meanwhile (`holding`); the backlog holds what it missed.
   */
  private async sendRdb(a: Attached, snap: Snapshot): Promise<void> {
    try {
      const body = await this.host.openSnapshot(snap.key, snap.size);
      if (!body) throw new Error(`snapshot ${snap.key} is gone`);
      a.t.sendBinary(utf8(`$${snap.size}\r\n`));
      for await (const chunk of body) {
        if (this.attached.get(a.t.ws) !== a) return; // the replica went away
        a.t.sendBinary(chunk);
      }
      const { backlog } = this.host;
      if (!backlog.covers(snap.offset)) throw new Error(`the backlog no longer covers offset ${snap.offset}`);
      // Synchronous from here: no write can slip between the catch-up and live streaming.
      for (const chunk of backlog.readFrom(snap.offset)) a.t.sendBinary(chunk);
      a.out.sentOffset = backlog.offset;
      a.out.catchUpEnd = backlog.offset;
      a.out.watch.softSinceMs = null;
      a.holding = false;
      log(`replication: RDB of ${snap.size} bytes sent to ${a.info.name}, streaming from offset ${backlog.offset}`);
    } catch (e) {
      this.drop(a, `full sync failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Snapshot ids still needed by a syncing replica. */
  snapshotsInUse(): Set<number> {
    this.ensureLoaded();
    const s = new Set<number>();
    for (const a of this.attached.values()) if (a.info.snapshotId !== null) s.add(a.info.snapshotId);
    return s;
  }

  /**
   * The backlog flushed one event's stream bytes [start, start + bytes.length): each replica
   * past the handshake gets them as one frame (minus what a catch-up already sent it), then
   * the output-buffer limits are checked.
   */
  sendStream(start: number, bytes: Uint8Array): void {
    if (this.attached.size === 0 && this.rehydrated) return;
    this.ensureLoaded();
    const end = start + bytes.length;
    for (const a of [...this.attached.values()]) {
      if (a.info.state === "handshake" || a.holding) continue;
      const o = a.out;
      if (Number.isNaN(o.sentOffset)) o.sentOffset = start;
      if (o.sentOffset >= end) continue;
      if (o.sentOffset < start) {
        // Cannot happen: every byte of the stream goes through here or a catch-up, in order.
        this.drop(a, `stream gap: sent up to ${o.sentOffset}, next batch starts at ${start}`);
        continue;
      }
      a.t.sendBinary(o.sentOffset === start ? bytes : bytes.subarray(o.sentOffset - start));
      o.bytes += end - o.sentOffset;
      o.sentOffset = end;
      o.frames++;
      this.framesSent++;
    }
    this.checkOutputLimits(Date.now());
  }

  /** client-output-buffer-limit replica: drop the links of online replicas that fell too far behind. */
  private checkOutputLimits(now: number): void {
    const limit = this.host.config.outputLimit("slave");
    if (limit.hardBytes === 0 && limit.softBytes === 0) return;
    for (const a of [...this.attached.values()]) {
      if (a.info.state !== "online") continue;
      const why = a.out.watch.check(unackedBytes(a), limit, now);
      if (why === null) continue;
      this.obufDisconnects++;
      this.drop(a, `client-output-buffer-limit replica, ${why}`);
    }
  }

  private drop(a: Attached, why: string): void {
    log(`replication: disconnecting replica ${a.info.name}: ${why}`);
    a.t.close(why);
    this.attached.delete(a.t.ws);
    if (this.attached.size === 0) this.noReplicasSinceMs = Date.now();
  }

  /**
   * Drop every replica link (CLIENT KILL TYPE replica; Redis disconnectSlaves); answers the
   * count. Links still in their handshake are not replicas yet (Redis: not in server.slaves)
   * and stay: a PSYNC FAILOVER promotes this node while its sender is one of them.
   */
  killReplicas(): number {
    this.ensureLoaded();
    let n = 0;
    for (const a of [...this.attached.values()]) {
      if (a.info.state === "handshake") continue;
      a.t.close("killed");
      this.attached.delete(a.t.ws);
      n++;
    }
    if (this.attached.size === 0) this.noReplicasSinceMs = Date.now();
    return n;
  }

  list(): ReplicaListing[] {
    this.ensureLoaded();
    return [...this.attached.values()].map((a) => ({
      ...a.info,
      sentOffset: Number.isNaN(a.out.sentOffset) ? this.host.backlog.offset : a.out.sentOffset,
      framesSent: a.out.frames,
      bytesSent: a.out.bytes,
      unackedBytes: unackedBytes(a),
      ackLag: a.out.ackLags.summary(),
    }));
  }

  // --- WAIT and min-replicas -------------------------------------------------------------

  private acked(offset: number): number {
    let n = 0;
    for (const a of this.attached.values()) if (a.info.state === "online" && a.info.ackOffset >= offset) n++;
    return n;
  }

  /** WAIT inside MULTI (Redis 7.0 waitCommand): the replicas acked so far, never blocking. */
  waitNow(): Reply {
    if (this.host.meta.role === "replica") return new RedisError("ERR WAIT cannot be used with replica instances.");
    this.ensureLoaded();
    return this.acked(this.host.backlog.offset);
  }

  async wait(need: number, timeoutMs: number, client = 0): Promise<Reply> {
    if (this.host.meta.role === "replica") {
      return new RedisError("ERR WAIT cannot be used with replica instances.");
    }
    this.ensureLoaded();
    const offset = this.host.backlog.offset;
    const have = this.acked(offset);
    if (have >= need) return have;
    // No GETACK while a FAILOVER pauses writes: the offset must stand still (Redis too).
    if (!this.host.engine.writesPaused()) this.host.engine.propagateRaw(["REPLCONF", "GETACK", "*"]);
    return new Promise<Reply>((resolve) => {
      const w = { offset, need, client, resolve };
      this.waiters.push(w);
      // A timeout past what a timer can hold (2^31 − 1 ms, ~24.8 days) waits as 0 does: for ever.
      if (timeoutMs > 0 && timeoutMs <= 2 ** 31 - 1) {
        setTimeout(() => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve(this.acked(offset));
        }, timeoutMs);
      }
    });
  }

  /** Clients blocked in WAIT (INFO blocked_clients, CLIENT LIST flag b). */
  waitingClients(): number[] {
    return this.waiters.map((w) => w.client);
  }

  /**
   * CLIENT UNBLOCK of a client in WAIT: TIMEOUT answers the replicas that acked so far (Redis
   * replyToBlockedClientTimedOut), ERROR the UNBLOCKED error. Whether it was waiting.
   */
  unblockWait(client: number, how: "timeout" | "error"): boolean {
    const i = this.waiters.findIndex((w) => w.client === client);
    if (i < 0) return false;
    const [w] = this.waiters.splice(i, 1);
    w!.resolve(how === "error" ? new RedisError("UNBLOCKED client unblocked via CLIENT UNBLOCK") : this.acked(w!.offset));
    return true;
  }

  private checkWaiters(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      const n = this.acked(w.offset);
      if (n >= w.need) {
        this.waiters.splice(i, 1);
        w.resolve(n);
      }
    }
  }

  /** min-replicas-to-write: refuse writes without enough replicas that acked recently. */
  private writeGate(): string | null {
    const min = this.host.config.int("min-replicas-to-write");
    if (min <= 0 || this.host.meta.role !== "master") return null;
    this.ensureLoaded();
    const maxLagMs = this.host.config.int("min-replicas-max-lag") * 1000;
    const now = Date.now();
    let good = 0;
    for (const a of this.attached.values()) if (a.info.state === "online" && now - a.info.lastAckMs <= maxLagMs) good++;
    return good >= min ? null : "NOREPLICAS Not enough good replicas to write.";
  }

  // --- cron ------------------------------------------------------------------------------

  /** The master half of replicationCron. Returns when it wants to run again (ms), or null. */
  async cron(now: number): Promise<number | null> {
    this.ensureLoaded();
    const { config, meta } = this.host;
    const timeoutMs = config.int("repl-timeout") * 1000;
    for (const a of [...this.attached.values()]) {
      if (now - a.info.lastAckMs > timeoutMs) {
        log(`replication: disconnecting timed out replica ${a.info.name}`);
        a.t.close("timeout");
        this.attached.delete(a.t.ws);
      }
    }
    // The soft limit's period also runs out while nothing is written.
    this.checkOutputLimits(now);
    if (this.attached.size === 0) {
      this.noReplicasSinceMs ??= now;
      const ttlMs = config.int("repl-backlog-ttl") * 1000;
      if (meta.role === "master" && ttlMs > 0 && this.host.backlog.histlen > 0) {
        if (now - this.noReplicasSinceMs >= ttlMs) {
          log("replication: backlog freed after repl-backlog-ttl with no replica");
          this.host.backlog.free();
          return null;
        }
        return this.noReplicasSinceMs + ttlMs - now;
      }
      return null;
    }
    const paused = this.host.engine.writesPaused(); // FAILOVER, CLIENT PAUSE: the offset must stand still
    if (meta.role === "master" && !paused && now - this.lastPingMs >= config.int("repl-ping-replica-period") * 1000) {
      this.lastPingMs = now;
      this.host.engine.propagateRaw(["ping"]);
    }
    return 1000;
  }

  // --- INFO / ROLE -----------------------------------------------------------------------

  info(): string[] {
    this.ensureLoaded();
    return ["role:master", `connected_slaves:${this.attached.size}`, ...this.replicaLines(), ...replicationIdLines(this.host)];
  }

  replicaLines(): string[] {
    this.ensureLoaded();
    const now = Date.now();
    return [...this.attached.values()].map(
      (a, i) =>
        `slave${i}:ip=${a.info.name},port=${a.info.port},state=${a.info.state === "handshake" ? "wait_bgsave" : a.info.state},offset=${a.info.ackOffset},lag=${Math.floor((now - a.info.lastAckMs) / 1000)}` +
        (a.info.region ? `,region=${a.info.region}` : ""),
    );
  }

  role(): Reply {
    this.ensureLoaded();
    return [
      utf8("master"),
      this.host.backlog.offset,
      [...this.attached.values()].map((a) => [utf8(a.info.name), utf8(String(a.info.port)), utf8(String(a.info.ackOffset))]),
    ];
  }

  /** CONFIG RESETSTAT: the counters Redis resets (its resetServerStats). */
  resetStats(): void {
    this.syncFull = this.syncPartialOk = this.syncPartialErr = this.obufDisconnects = 0;
  }

  stats(): string[] {
    return [
      `sync_full:${this.syncFull}`,
      `sync_partial_ok:${this.syncPartialOk}`,
      `sync_partial_err:${this.syncPartialErr}`,
      `client_output_buffer_limit_disconnections:${this.obufDisconnects}`,
      `repl_stream_frames_sent:${this.framesSent}`,
    ];
  }
}

/** The control line that tells a replica where its snapshot is. */
export function snapshotLine(s: Snapshot): string {
  return `+SNAPSHOT ${s.key} ${s.size} ${s.crc}\r\n`;
}

/** master_replid … repl_backlog_histlen, shared by both roles' INFO. */
export function replicationIdLines(host: Pick<MasterHost, "meta" | "backlog" | "config" | "failoverState">): string[] {
  const { meta, backlog } = host;
  return [
    `master_failover_state:${host.failoverState?.() ?? "no-failover"}`,
    `master_replid:${meta.replid}`,
    `master_replid2:${meta.replid2}`,
    `master_repl_offset:${backlog.offset}`,
    `second_repl_offset:${meta.secondReplidOffset}`,
    "repl_backlog_active:1",
    `repl_backlog_size:${host.config.int("repl-backlog-size")}`,
    `repl_backlog_first_byte_offset:${backlog.firstByte + 1}`,
    `repl_backlog_histlen:${backlog.histlen}`,
  ];
}

/** `127.0.0.1:0` → `127.0.0.1`, `[::1]:0` → `::1`: the host of an `ip:port` address. */
export function hostOfAddr(addr: string): string {
  const m = /^\[?(.*?)\]?:\d+$/.exec(addr);
  return m ? m[1]! : addr;
}
