/**
 * The node's WebSocket connections (node.ts accepts them and hands every event here): RESP
 * clients, MONITOR sockets and replication sockets. Each socket's runtime state is rebuilt
 * from its attachment after hibernation; messages run in order per socket, in the node's
 * shared turns (turns.ts: a budget of CLIENT_SLICE_BYTES across all sockets);
 * CLIENT LIST / KILL, MONITOR lines and pub/sub delivery reach the sockets through here.
 */
import { runKindOf, type Engine } from "../keyspace/engine.ts";
import { newSession, reserveSessionIds, type Session } from "../keyspace/command.ts";
import type { ClientView } from "../keyspace/client-info.ts";
import { OK, RedisError, type Reply } from "../protocol/reply.ts";
import { ByteWriter, ProtocolError, RespParser, writeReply } from "../protocol/resp.ts";
import type { MasterSide, ReplicaInfo, ReplicaTransport } from "../replication/master.ts";
import type { ReplicaSide } from "../replication/replica.ts";
import type { PubSubHost, PubSubHub, SavedSubscriptions } from "../pubsub/hub.ts";
import type { StreamClients } from "../pubsub/streams.ts";
import { parseAck, SocketOutput } from "../pubsub/socket-output.ts";
import { regionOrNull } from "../routing/topology.ts";
import { oneWayDelayMs } from "../routing/simulate.ts";
import { str, utf8 } from "../util/bytes.ts";
import { log } from "../util/log.ts";
import { ATTACHED_NAME_BYTES_MAX, SOCKET_SEND_BYTES } from "../limits.ts";
import type { NodeConfig } from "./config.ts";
import { clientView, killTargets, parseKill } from "./clients.ts";
import { formatMonitorLine } from "./monitor.ts";
import type { Turns } from "./turns.ts";

/**
 * While a socket has a MULTI or WATCH open the node holds a timer of this period (a Durable
 * Object with a pending timer does not hibernate; the platform's grace before hibernating is 10 s).
 */
const KEEP_AWAKE_MS = 5_000;

/** Close code for a socket whose node stopped being the database's master (1012: Service Restart). */
export const MASTER_MOVED_CLOSE_CODE = 1012;

/** What a hibernatable socket remembers across hibernation (serializeAttachment, ≤ 16 KiB). */
export interface Attachment {
  kind: "client" | "monitor" | "replication";
  db: number;
  resp: 2 | 3;
  readonly: boolean;
  addr: string;
  /** A replication socket whose peer is a real Redis replica through a byte pipe (the gateway). */
  respReplica?: boolean;
  /** Set once the socket is an attached replica (after PSYNC). */
  replica?: ReplicaInfo;
  /** Its pub/sub subscriptions (bounded by pubsub/registry.ts's limits to fit the 16 KiB). */
  subs?: SavedSubscriptions;
  /** Its peer is our gateway, which acknowledges consumed bytes in text frames (pubsub/socket-output.ts). */
  acks?: boolean;
  /** Disconnected for its output: whatever it still sends is ignored. */
  outputDropped?: boolean;
  /** CLIENT SETNAME (names up to ATTACHED_NAME_BYTES_MAX survive hibernation). */
  name?: string;
  /** CLIENT REPLY OFF. */
  replyOff?: boolean;
  /** Its session has a MULTI or WATCH open (state that lives in memory only). */
  tx?: boolean;
  /** Its session's id (CLIENT ID) and when it opened (CLIENT LIST age), kept across hibernation. */
  id?: number;
  since?: number;
  /**
   * Opened on the database's base address (`/db/{db}/ws`): it wants the database's master, so it
   * is closed when this node stops being it (`closeMasterFollowers`) and reconnects there.
   */
  followsMaster?: boolean;
}

export interface Conn {
  ws: WebSocket;
  att: Attachment;
  session: Session;
  parser: RespParser;
  /** Serializes message processing per socket when a command awaits (ordering of replies). */
  chain: Promise<void>;
  /** Replies being gathered for this socket: pub/sub messages to it join them, in order. */
  out: ByteWriter | null;
  /** Sent and acknowledged bytes of a gateway socket (att.acks), else null. */
  output: SocketOutput | null;
  /** Rebuilt after the object left memory while its MULTI or WATCH was open: that state is gone. */
  lostTx: boolean;
  /** Closed and forgotten (dropConn): frames still queued for it run nothing. */
  dropped?: boolean;
}

/** What the sockets need from their node (read when used: the node's state changes). */
export interface SocketHost {
  readonly name: string;
  readonly engine: Engine;
  readonly config: NodeConfig;
  readonly master: Pick<MasterSide, "reattach" | "detach" | "command" | "waitingClients" | "killReplicas" | "obufDisconnects">;
  readonly replica: Pick<ReplicaSide, "killLink">;
  readonly pubsub: PubSubHub;
  /** SSE subscribers and `/monitor` streams: pub/sub and MONITOR clients that are not sockets. */
  readonly streams: StreamClients;
  /** This node's region and the DEBUG SIMULATE-LATENCY scale (0: off), for frames to replicas. */
  readonly region: string | null;
  readonly latencyScale: number;
  /** The sockets the Durable Object accepted (ctx.getWebSockets()), hibernated ones included. */
  webSockets(): WebSocket[];
  /** The node's turns (turns.ts). */
  readonly turns: Turns;
}

export class NodeSockets {
  private readonly conns = new Map<WebSocket, Conn>();
  private readonly connBySession = new Map<Session, Conn>();
  /**
   * Held while a socket has a MULTI or WATCH open: a Durable Object with a pending timer does
   * not hibernate, and those (queued commands, watched keys) live in memory only.
   */
  private keepAwake: ReturnType<typeof setInterval> | null = null;
  /** The sockets whose session has a MULTI or WATCH open (`keepAwake` runs while there is one). */
  private readonly inTx = new Set<Conn>();
  /** Every socket woken from hibernation was adopted (its subscriptions registered). */
  private pubsubRestored = false;
  /** MONITOR sockets, looked up once per event (not once per command: a pipeline runs many). */
  private monitorsThisEvent: Conn[] | null = null;

  constructor(private readonly host: SocketHost) {}

  /** Runtime state of a socket, rebuilt from its attachment after hibernation (`opened`: just accepted). */
  conn(ws: WebSocket, opened = false): Conn {
    let c = this.conns.get(ws);
    if (c) return c;
    const att = (ws.deserializeAttachment() as Attachment | null) ?? { kind: "client", db: 0, resp: 2, readonly: false, addr: "?" };
    c = {
      ws,
      att,
      session: newSession({
        ...(att.id !== undefined ? { id: att.id, createdMs: att.since ?? Date.now() } : {}),
        db: att.db,
        resp: att.resp,
        readOnlyToken: att.readonly,
        addr: att.addr,
        name: att.name ?? null,
        socket: true,
        replyOff: att.replyOff === true,
      }),
      parser: new RespParser("request"),
      chain: Promise.resolve(),
      out: null,
      output: att.acks ? new SocketOutput(opened) : null,
      lostTx: !opened && att.tx === true,
    };
    if (att.id !== undefined) reserveSessionIds(att.id);
    else {
      att.id = c.session.id;
      att.since = c.session.createdMs;
      ws.serializeAttachment(att);
    }
    this.conns.set(ws, c);
    this.connBySession.set(c.session, c);
    if (att.subs) this.host.pubsub.adopt(c.session, att.subs);
    if (att.replica) this.host.master.reattach(this.replicaTransport(c), att.replica);
    return c;
  }

  /** A frame from a socket (the Durable Object's webSocketMessage). */
  async message(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (ws.readyState !== WebSocket.OPEN) return; // closed by us meanwhile (CLIENT KILL, a dropped link): nothing runs
    const c = this.conn(ws);
    if (c.att.outputDropped) return;
    if (c.lostTx) {
      // The object left memory while this socket had a transaction open (KEEP_AWAKE_MS did not
      // hold it): its queued commands or watched keys are gone. Run nothing of what follows;
      // close, as a lost connection would, so the client retries the transaction.
      this.dropConn(ws);
      ws.close(1011, "transaction state lost (the node left memory): reconnect and retry");
      return;
    }
    if (c.output && typeof message === "string") {
      // From our gateway a text frame is a control message, never RESP.
      const total = parseAck(message);
      if (total !== null) c.output.acked(total);
      return;
    }
    const bytes = typeof message === "string" ? utf8(message) : new Uint8Array(message);
    // Frames arriving together share one turn, hence one commit (turns.ts). Every kind of
    // socket goes this way: a client that turns into a replication link (PSYNC) keeps its order.
    await new Promise<void>((queued) =>
      this.host.turns.offer(() => {
        this.enqueue(c, bytes);
        queued();
      }),
    );
    await c.chain;
  }

  /** Run a frame after the socket's earlier ones. */
  private enqueue(c: Conn, bytes: Uint8Array): void {
    // A bug in one command must not wedge the socket: the chain always continues.
    c.chain = c.chain
      .then(() => this.process(c, bytes))
      .catch((e: unknown) => {
        log(`node ${this.host.name}: error on a client socket: ${e instanceof Error ? e.stack : String(e)}`);
        const out = new ByteWriter(64);
        writeReply(out, new RedisError(`ERR internal error: ${e instanceof Error ? e.message : String(e)}`));
        this.send(c, out);
      });
  }

  private async process(c: Conn, bytes: Uint8Array): Promise<void> {
    const out = new ByteWriter(256);
    c.out = out;
    try {
      await this.processInto(c, bytes, out);
    } finally {
      c.out = null;
    }
  }

  private async processInto(c: Conn, bytes: Uint8Array, out: ByteWriter): Promise<void> {
    c.parser.push(bytes);
    /** A command parsed while gathering a run, not part of it: the next to run. */
    let held: Uint8Array[] | undefined;
    while (true) {
      if (c.output?.dropped) return; // disconnected for its output while its commands ran
      // Closed while its frames waited for their turn: a replica link's late REPLCONF ACK would
      // otherwise list it again (a phantom `?` replica in ROLE and INFO until repl-timeout).
      if (c.dropped) return;
      if (this.host.turns.full && (held !== undefined || c.parser.buffered > 0)) {
        // Counted across messages and sockets: a big message, a client that always has the next
        // one queued, frames run together. Every socket that finds the budget spent goes on in
        // the next turn, all of them in its one event (turns.ts).
        this.send(c, out);
        await this.host.turns.nextTurn();
      }
      let argv: Uint8Array[] | undefined = held;
      held = undefined;
      if (argv === undefined) {
        try {
          argv = c.parser.next() as Uint8Array[] | undefined;
        } catch (e) {
          if (e instanceof ProtocolError) {
            writeReply(out, new RedisError(`ERR ${e.message}`));
            this.send(c, out);
            c.ws.close(1002, "protocol error");
            return;
          }
          throw e;
        }
        if (argv === undefined) break;
        this.host.turns.spent += c.parser.lastBytes;
      }
      if (argv.length === 0) continue;
      const kind = c.att.kind === "client" ? runKindOf(argv) : null;
      if (kind !== null) {
        // Plain SETs or GETs in a row run together (Engine.executeRun), within the slice.
        const run = [argv];
        while (!this.host.turns.full) {
          let next: Uint8Array[] | undefined;
          try {
            next = c.parser.next() as Uint8Array[] | undefined;
          } catch (e) {
            if (e instanceof ProtocolError) break; // the parser is dead: the next parse above reports it
            throw e;
          }
          if (next === undefined) break;
          this.host.turns.spent += c.parser.lastBytes;
          if (runKindOf(next) !== kind) {
            held = next;
            break;
          }
          run.push(next);
        }
        const replies = run.length > 1 ? this.host.engine.executeRun(c.session, kind, run) : null;
        if (replies !== null) {
          for (const r of replies) this.answer(c, out, r);
          continue;
        }
        // Each on its own (a refusal, a write pause…): all but the last here, the last below.
        for (let i = 0; i < run.length - 1; i++) {
          let r = this.dispatch(c, run[i]!);
          if (r instanceof Promise) {
            this.send(c, out);
            r = await r;
          }
          this.answer(c, out, r);
        }
        argv = run[run.length - 1]!;
      }
      let r = this.dispatch(c, argv);
      if (r instanceof Promise) {
        this.send(c, out);
        r = await r;
      }
      this.answer(c, out, r);
      if (c.session.closed) {
        this.send(c, out);
        c.ws.close(1000, "bye");
        return;
      }
    }
    this.send(c, out);
    this.saveAttachment(c);
  }

  private send(c: Conn, out: ByteWriter): void {
    c.session.outputBytes = 0; // what it gathered is leaving (or silenced): OUTPUT_BYTES_MAX counts afresh
    if (out.length === 0) return;
    this.host.turns.spent += out.length;
    if (c.output?.dropped) return void out.take();
    const bytes = out.take();
    try {
      c.ws.send(bytes);
    } catch {
      // The peer is gone; its close event cleans up.
      return;
    }
    this.countOutput(c, bytes.length);
  }

  /**
   * Count bytes sent to a gateway socket and apply client-output-buffer-limit (socket-output.ts):
   * a subscriber by the pubsub class, others by the normal class (unlimited by default, as in
   * Redis); replication links never (the replica class is the master's business, on offsets).
   */
  private countOutput(c: Conn, bytes: number): void {
    const o = c.output;
    if (o === null || o.dropped) return;
    o.sent(bytes);
    if (c.att.kind === "replication") return;
    const cls = c.att.kind === "client" && this.host.pubsub.count(c.session) > 0 ? "pubsub" : "normal";
    const why = o.check(this.host.config.outputLimit(cls), Date.now());
    if (why === null) return;
    // Like Redis: the client is disconnected and counted with every class's disconnections.
    o.dropped = true;
    this.host.master.obufDisconnects++;
    log(`node ${this.host.name}: disconnecting ${c.att.addr} (${cls}) for its output: ${why}`);
    // Its subscriptions go now (no more deliveries); the close frame waits behind what is
    // queued, so a woken socket that still talks is ignored (att.outputDropped).
    c.att.outputDropped = true;
    delete c.att.subs;
    try {
      c.ws.serializeAttachment(c.att);
    } catch {
      /* gone */
    }
    this.dropConn(c.ws);
    try {
      c.ws.close(1008, "client-output-buffer-limit");
    } catch {
      /* already closed */
    }
  }

  /**
   * A command's reply, unless CLIENT REPLY silences it (OFF, or SKIP for this one command);
   * then SKIP moves on, as Redis's resetClient does. `undefined`: the command has no reply.
   */
  private answer(c: Conn, out: ByteWriter, r: Reply | undefined): void {
    const s = c.session;
    if (r !== undefined && !s.replyOff && !s.replySkip) writeReply(out, r, s.resp);
    s.replySkip = s.replySkipNext;
    s.replySkipNext = false;
    // Big replies go out as they gather (and count toward the turn), not at the end of the turn.
    if (out.length >= SOCKET_SEND_BYTES) this.send(c, out);
  }

  /**
   * What a socket's session must find again after hibernation: its database, protocol, token
   * (AUTH), name, CLIENT REPLY; and whether it has a transaction open, which cannot be kept
   * (the node stays awake for it, `awakeFor`).
   */
  private saveAttachment(c: Conn): void {
    const s = c.session;
    const name = s.name !== null && utf8(s.name).length <= ATTACHED_NAME_BYTES_MAX ? s.name : undefined;
    const tx = s.multi !== null || s.watched.size > 0;
    this.awakeFor(c, tx);
    const a = c.att;
    if (
      a.db === s.db &&
      a.resp === s.resp &&
      a.readonly === s.readOnlyToken &&
      a.name === name &&
      (a.replyOff === true) === s.replyOff &&
      (a.tx === true) === tx
    ) {
      return;
    }
    a.db = s.db;
    a.resp = s.resp;
    a.readonly = s.readOnlyToken;
    if (name === undefined) delete a.name;
    else a.name = name;
    if (s.replyOff) a.replyOff = true;
    else delete a.replyOff;
    if (tx) a.tx = true;
    else delete a.tx;
    c.ws.serializeAttachment(a);
  }

  /**
   * Keep the node in memory while any socket has a transaction open (`open`: whether `c` has
   * one now). Each tick of the timer also lets go of sockets that are gone or whose
   * transaction ended without a frame of theirs (EXEC run for them: CLIENT KILL).
   */
  private awakeFor(c: Conn, open: boolean): void {
    if (open) this.inTx.add(c);
    else this.inTx.delete(c);
    if (this.inTx.size > 0) this.keepAwake ??= setInterval(() => this.pruneTx(), KEEP_AWAKE_MS);
    else this.stopKeepAwake();
  }

  private pruneTx(): void {
    for (const c of this.inTx) if (!this.conns.has(c.ws) || (c.session.multi === null && c.session.watched.size === 0)) this.inTx.delete(c);
    if (this.inTx.size === 0) this.stopKeepAwake();
  }

  private stopKeepAwake(): void {
    if (this.keepAwake === null) return;
    clearInterval(this.keepAwake);
    this.keepAwake = null;
  }

  /** One command from a socket. `undefined` means no reply (REPLCONF ACK). */
  private dispatch(c: Conn, argv: Uint8Array[]): Reply | Promise<Reply> | undefined {
    const name = str(argv[0]!).toLowerCase();
    if (c.att.kind === "replication" || name === "replconf" || name === "psync" || name === "sync") {
      if (c.att.kind !== "replication") {
        return new RedisError(`NOPERM replication commands need the replication endpoint`);
      }
      return this.host.master.command(this.replicaTransport(c), argv);
    }
    const r = this.host.engine.execute(c.session, argv);
    if (r instanceof Promise && name === "auth") {
      // AUTH <replication secret>: from its next command on, this socket is a real Redis
      // replica's link (the gateway pipes its TCP bytes), answered as a master answers one.
      return r.then((reply) => {
        if (c.session.replicationLink && c.att.kind === "client") {
          c.att.kind = "replication";
          c.att.respReplica = true;
          c.ws.serializeAttachment(c.att);
        }
        return reply;
      });
    }
    if (c.session.monitoring && c.att.kind === "client") {
      c.att.kind = "monitor";
      c.ws.serializeAttachment(c.att);
      this.monitorsThisEvent = null;
    }
    return r;
  }

  /** The peer closed the socket (the Durable Object's webSocketClose). */
  closed(ws: WebSocket, code: number): void {
    this.dropConn(ws);
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closed");
    } catch {
      // already closed
    }
  }

  /** Forget a socket: its session, subscriptions, blocked commands and replica state go. */
  dropConn(ws: WebSocket): void {
    const c = this.conns.get(ws) ?? this.conn(ws);
    c.dropped = true;
    this.conns.delete(ws);
    this.connBySession.delete(c.session);
    this.host.pubsub.drop(c.session);
    this.host.engine.closeSession(c.session);
    this.awakeFor(c, false);
    if (c.att.kind === "replication") this.host.master.detach(this.replicaTransport(c));
  }

  /** The master side's view of a replica socket. */
  private replicaTransport(c: Conn): ReplicaTransport {
    const host = this.host;
    const conns = this.conns;
    const send = (m: string | Uint8Array) => {
      try {
        c.ws.send(m);
      } catch {
        /* gone */
      }
    };
    // DEBUG SIMULATE-LATENCY: every frame to this replica waits the same one-way delay (order kept).
    const delayed = (m: string | Uint8Array) => {
      const ms = host.latencyScale ? oneWayDelayMs(regionOrNull(host.region), regionOrNull(c.att.replica?.region), host.latencyScale) : 0;
      if (ms > 0) setTimeout(() => send(m), ms);
      else send(m);
    };
    return {
      ws: c.ws,
      resp: c.att.respReplica === true,
      addr: c.att.addr,
      sendText(s: string) {
        delayed(s);
      },
      sendBinary(b: Uint8Array) {
        delayed(b);
      },
      close(reason: string) {
        try {
          c.ws.close(4000, reason.slice(0, 120));
        } catch {
          /* gone */
        }
        conns.delete(c.ws);
      },
      save(info: ReplicaInfo) {
        c.att.replica = info;
        try {
          c.ws.serializeAttachment(c.att);
        } catch {
          /* gone */
        }
      },
    };
  }

  /**
   * This node stopped being the database's master (FAILOVER, REPLICAOF): close the client and
   * MONITOR sockets opened on the database's base address, so that they reconnect through the
   * router to the new master (SPEC §4) instead of getting READONLY here for ever. Sockets
   * pinned to this node (`/db/{db}/nodes/{node}/ws`) stay, as Redis keeps its clients.
   */
  closeMasterFollowers(): number {
    let n = 0;
    for (const ws of this.host.webSockets()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      const c = this.conn(ws);
      if (!c.att.followsMaster || c.att.kind === "replication") continue;
      this.dropConn(ws);
      try {
        ws.close(MASTER_MOVED_CLOSE_CODE, "the database's master moved: reconnect to reach it");
      } catch {
        /* already closed */
      }
      n++;
    }
    return n;
  }

  /** Sockets of a kind that are still open (after hibernation the map is rebuilt lazily). */
  sockets(kind: Attachment["kind"]): Conn[] {
    const out: Conn[] = [];
    for (const ws of this.host.webSockets()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      const c = this.conn(ws);
      if (c.att.kind === kind && !c.att.outputDropped) out.push(c);
    }
    return out;
  }

  /** A command as MONITOR sockets and `/monitor` streams see it (the engine's monitor hook). */
  monitorFeed(s: Session, argv: Uint8Array[]): void {
    if (this.monitorsThisEvent === null) {
      this.monitorsThisEvent = this.sockets("monitor");
      queueMicrotask(() => {
        this.monitorsThisEvent = null;
      });
    }
    const mons = this.monitorsThisEvent;
    const streams = this.host.streams;
    if (mons.length === 0 && !streams.monitoring) return;
    const line = formatMonitorLine(Date.now(), s, argv);
    if (streams.monitoring) streams.monitorLine(line);
    for (const m of mons) {
      if (m.output?.dropped) continue;
      try {
        m.ws.send(line);
      } catch {
        continue; // gone
      }
      if (m.output) this.countOutput(m, utf8(line).length);
    }
  }

  /** Delivery to sockets for the pub/sub hub (pubsub/hub.ts); subscriptions kept in attachments. */
  readonly pubsubHost: PubSubHost = {
    deliver: (s, r) => {
      const c = this.connBySession.get(s);
      if (!c) return this.host.streams.deliver(s, r);
      if (c.out) return writeReply(c.out, r, s.resp);
      const w = new ByteWriter(64);
      writeReply(w, r, s.resp);
      this.send(c, w);
    },
    save: (s, subs) => {
      const c = this.connBySession.get(s);
      if (!c) return;
      if (subs.channel.length + subs.pattern.length + (subs.shard?.length ?? 0) > 0) c.att.subs = subs;
      else delete c.att.subs;
      try {
        c.ws.serializeAttachment(c.att);
      } catch {
        /* gone */
      }
    },
    hasConnection: (s) => this.connBySession.has(s) || this.host.streams.has(s),
    restoreAll: () => {
      if (this.pubsubRestored) return;
      this.pubsubRestored = true;
      for (const ws of this.host.webSockets()) if (ws.readyState === WebSocket.OPEN) this.conn(ws);
    },
  };

  /** Every open client socket as CLIENT LIST shows it (node/clients.ts). */
  clientViews(): ClientView[] {
    const out: ClientView[] = [];
    const waiting = new Set(this.host.master.waitingClients());
    for (const kind of ["client", "monitor", "replication"] as const) {
      for (const c of this.sockets(kind)) {
        const blocked = this.host.engine.blocked.has(c.session.id) || waiting.has(c.session.id);
        const v = clientView({ session: c.session, kind, subs: this.host.pubsub.counts(c.session) }, blocked);
        if (c.output) v.omem = c.output.unackedBytes;
        out.push(v);
      }
    }
    return out;
  }

  /**
   * CLIENT KILL addr:port | [ID id] [TYPE type] [ADDR addr] [SKIPME yes|no]. TYPE master
   * drops a replica's link to its master and TYPE replica drops our replicas' links (their
   * own state machines, replication/); other filters close the matching sockets.
   */
  clientKill(args: Uint8Array[], s: Session): Reply {
    const req = parseKill(args);
    if (req.form === "filter" && req.ids.length === 0 && req.addr === null) {
      if (req.type === "master") return this.host.replica.killLink();
      if (req.type === "replica") return this.host.master.killReplicas();
    }
    const views = this.clientViews();
    const targets = req.form === "addr" ? views.filter((v) => v.session.addr === req.addr).slice(0, 1) : killTargets(views, req, s);
    if (req.form === "addr" && targets.length === 0) return new RedisError("ERR No such client");
    for (const t of targets) {
      const c = this.connBySession.get(t.session);
      if (!c) continue;
      if (c.session === s) {
        s.closed = true; // our own socket: closed after the reply (Redis CLIENT_CLOSE_AFTER_REPLY)
        continue;
      }
      try {
        c.ws.close(1000, "killed");
      } catch {
        /* gone */
      }
      this.dropConn(c.ws);
    }
    // SSE subscribers (pubsub/streams.ts) are pubsub clients too, though not sockets of ours.
    const streams = req.form === "filter" && req.type === "pubsub" && req.ids.length === 0 && req.addr === null ? this.host.streams.closeSubscribers() : 0;
    return req.form === "addr" ? OK : targets.length + streams;
  }
}
