/**
 * Pub/sub of one node: the commands' side (subscribe, unsubscribe, publish, PUBSUB) over a
 * registry of sessions, and the replies in Redis 7.0's shapes. The node supplies delivery
 * (a session's socket) and persistence (the socket attachment, so subscriptions survive
 * hibernation); it calls `adopt` when it rebuilds a socket's session and `drop` on close.
 */
import type { Session } from "../keyspace/command.ts";
import { Push, RedisError, type Reply, ReplySequence } from "../protocol/reply.ts";
import { utf8 } from "../util/bytes.ts";
import { type AddResult, PubSubRegistry, type SubscriptionKind } from "./registry.ts";
import { PUBSUB_NAME_BYTES_PER_CONN_MAX, PUBSUB_SUBSCRIPTIONS_PER_CONN_MAX } from "./registry.ts";

/** A connection's subscriptions as kept in its socket attachment. */
export interface SavedSubscriptions {
  channel: Uint8Array[];
  pattern: Uint8Array[];
  /** Shard channels (absent in attachments saved before SSUBSCRIBE existed). */
  shard?: Uint8Array[];
}

export interface PubSubHost {
  /** Send an out-of-band reply to the session's connection, in order with its replies. */
  deliver(s: Session, r: Reply): void;
  /** Keep the session's subscriptions across hibernation. */
  save(s: Session, subs: SavedSubscriptions): void;
  /** Whether the session is a socket's (only sockets can receive messages). */
  hasConnection(s: Session): boolean;
  /** Make sure every open connection's session was adopted (after hibernation); called before a lookup across connections. */
  restoreAll(): void;
}

/** Commands a RESP2 connection in subscribed mode may run (Redis 7.0 processCommand). */
const SUBSCRIBED_CONTEXT_ALLOWED: ReadonlySet<string> = new Set(["subscribe", "ssubscribe", "unsubscribe", "sunsubscribe", "psubscribe", "punsubscribe", "ping", "quit", "reset"]);

/** Redis 7.0's container commands: a refusal names their subcommand (`config|get`). */
const CONTAINER_COMMANDS: ReadonlySet<string> = new Set(["acl", "client", "cluster", "command", "config", "function", "latency", "memory", "module", "object", "pubsub", "script", "slowlog", "xgroup", "xinfo"]);

/** PUBSUB's subcommands and their arities (redis-server 7.0.15 COMMAND INFO). */
const PUBSUB_SUBCOMMAND_ARITY: Readonly<Record<string, number>> = { channels: -2, help: 2, numpat: 2, numsub: -2, shardchannels: -2, shardnumsub: -2 };

const WORD = {
  subscribe: utf8("subscribe"),
  psubscribe: utf8("psubscribe"),
  unsubscribe: utf8("unsubscribe"),
  punsubscribe: utf8("punsubscribe"),
  ssubscribe: utf8("ssubscribe"),
  sunsubscribe: utf8("sunsubscribe"),
  message: utf8("message"),
  pmessage: utf8("pmessage"),
  smessage: utf8("smessage"),
  pong: utf8("pong"),
};

export const PUBSUB_LIMIT_ERROR = `ERR too many subscriptions on this connection (at most ${PUBSUB_SUBSCRIPTIONS_PER_CONN_MAX} channels, patterns and shard channels, ${PUBSUB_NAME_BYTES_PER_CONN_MAX} bytes of names)`;

export class PubSubHub {
  private readonly registry = new PubSubRegistry<Session>();

  constructor(private readonly host: PubSubHost) {}

  /** A socket's session rebuilt after hibernation takes back its saved subscriptions. */
  adopt(s: Session, saved: SavedSubscriptions): void {
    for (const n of saved.channel) this.registry.add(s, "channel", n);
    for (const n of saved.pattern) this.registry.add(s, "pattern", n);
    for (const n of saved.shard ?? []) this.registry.add(s, "shard", n);
  }

  /** The connection closed. */
  drop(s: Session): void {
    this.registry.removeAll(s);
  }

  /** Whether the session may subscribe (it is a socket's, not a REST request's). */
  canListen(s: Session): boolean {
    return this.host.hasConnection(s);
  }

  /** Channels + patterns + shard channels the session holds (non-zero: it is in subscribed mode). */
  count(s: Session): number {
    return this.registry.total(s);
  }

  /** CLIENT LIST's sub=, psub=, ssub=. */
  counts(s: Session): Record<SubscriptionKind, number> {
    return this.registry.counts(s);
  }

  /**
   * Redis 7.0's refusal of other commands on a subscribed RESP2 connection (RESP3 has push
   * frames, so it may run anything), or null. Redis names a container's subcommand in full
   * (`pubsub|numpat`), and checks that the subcommand exists and its arity before this refusal.
   */
  contextError(s: Session, name: string, argv?: Uint8Array[]): string | null {
    if (s.resp !== 2 || SUBSCRIBED_CONTEXT_ALLOWED.has(name) || this.registry.total(s) === 0) return null;
    let full = name;
    if (argv && argv.length >= 2 && CONTAINER_COMMANDS.has(name)) {
      const sub = new TextDecoder().decode(argv[1]!).toLowerCase();
      if (name === "pubsub") {
        const arity = PUBSUB_SUBCOMMAND_ARITY[sub];
        if (arity === undefined) return `ERR unknown subcommand '${new TextDecoder().decode(argv[1]!).slice(0, 128)}'. Try PUBSUB HELP.`;
        if (arity > 0 ? argv.length !== arity : argv.length < -arity) return `ERR wrong number of arguments for 'pubsub|${sub}' command`;
      }
      full = `${name}|${sub}`;
    }
    return `ERR Can't execute '${full}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`;
  }

  /** PING on a subscribed RESP2 connection answers ["pong", message] (null: the usual reply). */
  ping(s: Session, message: Uint8Array | undefined): Reply | null {
    if (s.resp !== 2 || this.registry.total(s) === 0) return null;
    return [WORD.pong, message ?? new Uint8Array()];
  }

  /**
   * The count a confirmation carries: channels + patterns for SUBSCRIBE/PSUBSCRIBE and their
   * unsubscribes, shard channels alone for SSUBSCRIBE/SUNSUBSCRIBE (Redis 7.0's subscriptionCount).
   */
  private countFor(s: Session, kind: SubscriptionKind): number {
    return kind === "shard" ? this.registry.shardCount(s) : this.registry.count(s);
  }

  /** SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE: one confirmation per name, with the connection's count after it. */
  subscribe(s: Session, kind: SubscriptionKind, names: Uint8Array[]): Reply {
    const word = kind === "channel" ? WORD.subscribe : kind === "pattern" ? WORD.psubscribe : WORD.ssubscribe;
    const out: Reply[] = [];
    let result: AddResult = "added";
    for (const n of names) {
      result = this.registry.add(s, kind, n);
      if (result === "limit") break;
      out.push(new Push([word, n, this.countFor(s, kind)]));
    }
    this.persist(s);
    if (result === "limit") {
      // The confirmations already earned are sent, then the refusal (nothing more is subscribed).
      for (const r of out) this.host.deliver(s, r);
      throw new RedisError(PUBSUB_LIMIT_ERROR);
    }
    return new ReplySequence(out);
  }

  /**
   * UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE: the names given, or all held; `nil` and the
   * count when none is held. (Redis lists "all held" in its dict's hash order, which depends
   * on a random seed; ours is subscription order.)
   */
  unsubscribe(s: Session, kind: SubscriptionKind, names: Uint8Array[]): Reply {
    const word = kind === "channel" ? WORD.unsubscribe : kind === "pattern" ? WORD.punsubscribe : WORD.sunsubscribe;
    const targets = names.length > 0 ? names : this.registry.list(s, kind);
    if (targets.length === 0) return new ReplySequence([new Push([word, null, this.countFor(s, kind)])]);
    const out: Reply[] = [];
    for (const n of targets) {
      this.registry.remove(s, kind, n);
      out.push(new Push([word, n, this.countFor(s, kind)]));
    }
    this.persist(s);
    return new ReplySequence(out);
  }

  /** RESET: drop every subscription without confirmations. */
  reset(s: Session): void {
    if (this.registry.total(s) === 0) return;
    this.registry.removeAll(s);
    this.persist(s);
  }

  /** Deliver to this node's subscribers; the number of receivers (PUBLISH's reply). */
  publish(channel: Uint8Array, message: Uint8Array): number {
    this.host.restoreAll();
    const receivers = this.registry.receivers(channel);
    for (const { sub, pattern } of receivers) {
      this.host.deliver(sub, pattern ? new Push([WORD.pmessage, pattern, channel, message]) : new Push([WORD.message, channel, message]));
    }
    return receivers.length;
  }

  /** SPUBLISH: deliver `smessage` to the shard channel's subscribers; the number of receivers. */
  publishShard(channel: Uint8Array, message: Uint8Array): number {
    this.host.restoreAll();
    const receivers = this.registry.shardReceivers(channel);
    for (const sub of receivers) this.host.deliver(sub, new Push([WORD.smessage, channel, message]));
    return receivers.length;
  }

  channels(pattern: Uint8Array | null, kind: "channel" | "shard" = "channel"): Uint8Array[] {
    this.host.restoreAll();
    return this.registry.activeChannels(pattern, kind);
  }

  numSub(channel: Uint8Array, kind: "channel" | "shard" = "channel"): number {
    this.host.restoreAll();
    return this.registry.numSub(channel, kind);
  }

  numPat(): number {
    this.host.restoreAll();
    return this.registry.numPat();
  }

  /** INFO stats: channels, patterns and shard channels with at least one subscriber. */
  infoStats(): string[] {
    this.host.restoreAll();
    return [`pubsub_channels:${this.registry.activeChannels(null).length}`, `pubsub_patterns:${this.registry.numPat()}`, `pubsubshard_channels:${this.registry.activeChannels(null, "shard").length}`];
  }

  private persist(s: Session): void {
    const shard = this.registry.list(s, "shard");
    this.host.save(s, { channel: this.registry.list(s, "channel"), pattern: this.registry.list(s, "pattern"), ...(shard.length > 0 ? { shard } : {}) });
  }
}
