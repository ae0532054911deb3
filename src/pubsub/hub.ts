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

const WORD = {
  subscribe: utf8("subscribe"),
  psubscribe: utf8("psubscribe"),
  unsubscribe: utf8("unsubscribe"),
  punsubscribe: utf8("punsubscribe"),
  message: utf8("message"),
  pmessage: utf8("pmessage"),
  pong: utf8("pong"),
};

export const PUBSUB_LIMIT_ERROR = `ERR too many subscriptions on this connection (at most ${PUBSUB_SUBSCRIPTIONS_PER_CONN_MAX} channels and patterns, ${PUBSUB_NAME_BYTES_PER_CONN_MAX} bytes of names)`;

export class PubSubHub {
  private readonly registry = new PubSubRegistry<Session>();

  constructor(private readonly host: PubSubHost) {}

  /** A socket's session rebuilt after hibernation takes back its saved subscriptions. */
  adopt(s: Session, saved: SavedSubscriptions): void {
    for (const n of saved.channel) this.registry.add(s, "channel", n);
    for (const n of saved.pattern) this.registry.add(s, "pattern", n);
  }

  /** The connection closed. */
  drop(s: Session): void {
    this.registry.removeAll(s);
  }

  /** Whether the session may subscribe (it is a socket's, not a REST request's). */
  canListen(s: Session): boolean {
    return this.host.hasConnection(s);
  }

  /** Channels + patterns the session holds. */
  count(s: Session): number {
    return this.registry.count(s);
  }

  /**
   * Redis 7.0's refusal of other commands on a subscribed RESP2 connection (RESP3 has push
   * frames, so it may run anything), or null.
   */
  contextError(s: Session, name: string): string | null {
    if (s.resp !== 2 || SUBSCRIBED_CONTEXT_ALLOWED.has(name) || this.registry.count(s) === 0) return null;
    return `ERR Can't execute '${name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`;
  }

  /** PING on a subscribed RESP2 connection answers ["pong", message] (null: the usual reply). */
  ping(s: Session, message: Uint8Array | undefined): Reply | null {
    if (s.resp !== 2 || this.registry.count(s) === 0) return null;
    return [WORD.pong, message ?? new Uint8Array()];
  }

  /** SUBSCRIBE / PSUBSCRIBE: one confirmation per name, with the connection's count after it. */
  subscribe(s: Session, kind: SubscriptionKind, names: Uint8Array[]): Reply {
    const word = kind === "channel" ? WORD.subscribe : WORD.psubscribe;
    const out: Reply[] = [];
    let result: AddResult = "added";
    for (const n of names) {
      result = this.registry.add(s, kind, n);
      if (result === "limit") break;
      out.push(new Push([word, n, this.registry.count(s)]));
    }
    this.persist(s);
    if (result === "limit") {
      // The confirmations already earned are sent, then the refusal (nothing more is subscribed).
      for (const r of out) this.host.deliver(s, r);
      throw new RedisError(PUBSUB_LIMIT_ERROR);
    }
    return new ReplySequence(out);
  }

  /** UNSUBSCRIBE / PUNSUBSCRIBE: the names given, or all held; `nil` and 0 when none is held. */
  unsubscribe(s: Session, kind: SubscriptionKind, names: Uint8Array[]): Reply {
    const word = kind === "channel" ? WORD.unsubscribe : WORD.punsubscribe;
    const targets = names.length > 0 ? names : this.registry.list(s, kind);
    if (targets.length === 0) return new ReplySequence([new Push([word, null, this.registry.count(s)])]);
    const out: Reply[] = [];
    for (const n of targets) {
      this.registry.remove(s, kind, n);
      out.push(new Push([word, n, this.registry.count(s)]));
    }
    this.persist(s);
    return new ReplySequence(out);
  }

  /** RESET: drop every subscription without confirmations. */
  reset(s: Session): void {
    if (this.registry.count(s) === 0) return;
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

  channels(pattern: Uint8Array | null): Uint8Array[] {
    this.host.restoreAll();
    return this.registry.activeChannels(pattern);
  }

  numSub(channel: Uint8Array): number {
    this.host.restoreAll();
    return this.registry.numSub(channel);
  }

  numPat(): number {
    this.host.restoreAll();
    return this.registry.numPat();
  }

  private persist(s: Session): void {
    this.host.save(s, { channel: this.registry.list(s, "channel"), pattern: this.registry.list(s, "pattern") });
  }
}
