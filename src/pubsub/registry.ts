/**
 * Who listens to what: channels, patterns and shard channels → subscribers, and each
 * subscriber's own subscriptions (Redis's server.pubsub_channels / pubsub_patterns /
 * pubsubshard_channels and c->pubsub_*). Shard channels (SSUBSCRIBE, Redis 7.0) are a
 * namespace of their own: a shard message reaches only shard subscribers, never patterns.
 *
 * Generic over the subscriber (the node uses its socket state), binary-safe: names are
 * bytes, keyed by their 1:1 string form. Each subscriber's subscriptions are bounded
 * (count and bytes) because they must fit a hibernated socket's attachment (≤ 16 KiB).
 */
import { compileGlob, type Glob } from "../keyspace/glob.ts";
import { bkey } from "../util/bytes.ts";

/** Channels + patterns + shard channels one connection may hold (they are kept in its socket attachment). */
export const PUBSUB_SUBSCRIPTIONS_PER_CONN_MAX = 128;
/** Total bytes of channel and pattern names one connection may hold (attachment ≤ 16 KiB). */
export const PUBSUB_NAME_BYTES_PER_CONN_MAX = 8192;

/**
 * Redis matches pub/sub patterns with a bare stringmatchlen, without the `*` short-cut of
 * KEYS and SCAN, so no pattern but the empty one matches the empty channel (`*` does not).
 */
function matches(g: Glob, pattern: Uint8Array, channel: Uint8Array): boolean {
  return channel.length === 0 ? pattern.length === 0 : g.match(channel);
}

export type SubscriptionKind = "channel" | "pattern" | "shard";

export const SUBSCRIPTION_KINDS: readonly SubscriptionKind[] = ["channel", "pattern", "shard"];

interface Entry<S> {
  name: Uint8Array;
  subs: Set<S>;
  /** Compiled once for patterns. */
  glob: Glob | null;
}

interface Own {
  channel: Map<string, Uint8Array>;
  pattern: Map<string, Uint8Array>;
  shard: Map<string, Uint8Array>;
  bytes: number;
}

function held(own: Own): number {
  return own.channel.size + own.pattern.size + own.shard.size;
}

/** A subscriber that a published message reaches, and through which pattern (null: the channel). */
export interface Receiver<S> {
  sub: S;
  pattern: Uint8Array | null;
}

export type AddResult = "added" | "exists" | "limit";

export class PubSubRegistry<S> {
  private readonly channels = new Map<string, Entry<S>>();
  private readonly patterns = new Map<string, Entry<S>>();
  private readonly shards = new Map<string, Entry<S>>();
  private readonly own = new Map<S, Own>();

  private index(kind: SubscriptionKind): Map<string, Entry<S>> {
    return kind === "channel" ? this.channels : kind === "pattern" ? this.patterns : this.shards;
  }

  /** Subscribe `sub` to a channel or pattern; refused ("limit") past the per-connection bounds. */
  add(sub: S, kind: SubscriptionKind, name: Uint8Array): AddResult {
    const k = bkey(name);
    let own = this.own.get(sub);
    if (own?.[kind].has(k)) return "exists";
    if ((own ? held(own) : 0) >= PUBSUB_SUBSCRIPTIONS_PER_CONN_MAX || (own?.bytes ?? 0) + name.length > PUBSUB_NAME_BYTES_PER_CONN_MAX) return "limit";
    if (!own) {
      own = { channel: new Map(), pattern: new Map(), shard: new Map(), bytes: 0 };
      this.own.set(sub, own);
    }
    const copy = name.slice();
    own[kind].set(k, copy);
    own.bytes += copy.length;
    const idx = this.index(kind);
    let e = idx.get(k);
    if (!e) {
      e = { name: copy, subs: new Set(), glob: kind === "pattern" ? compileGlob(copy) : null };
      idx.set(k, e);
    }
    e.subs.add(sub);
    return "added";
  }

  /** Unsubscribe; false when `sub` was not subscribed to it. */
  remove(sub: S, kind: SubscriptionKind, name: Uint8Array): boolean {
    const k = bkey(name);
    const own = this.own.get(sub);
    const kept = own?.[kind].get(k);
    if (!own || !kept) return false;
    own[kind].delete(k);
    own.bytes -= kept.length;
    if (held(own) === 0) this.own.delete(sub);
    const idx = this.index(kind);
    const e = idx.get(k)!;
    e.subs.delete(sub);
    if (e.subs.size === 0) idx.delete(k);
    return true;
  }

  /** The channels or patterns `sub` holds, in subscription order. */
  list(sub: S, kind: SubscriptionKind): Uint8Array[] {
    return [...(this.own.get(sub)?.[kind].values() ?? [])];
  }

  /** Channels + patterns `sub` holds (Redis's clientSubscriptionsCount). */
  count(sub: S): number {
    const own = this.own.get(sub);
    return own ? own.channel.size + own.pattern.size : 0;
  }

  /** Shard channels `sub` holds (Redis's clientShardSubscriptionsCount). */
  shardCount(sub: S): number {
    return this.own.get(sub)?.shard.size ?? 0;
  }

  /** Everything `sub` holds (Redis's clientTotalPubSubSubscriptionCount: the subscribed mode). */
  total(sub: S): number {
    const own = this.own.get(sub);
    return own ? held(own) : 0;
  }

  /** How many of each kind `sub` holds (CLIENT LIST's sub=, psub=, ssub=). */
  counts(sub: S): Record<SubscriptionKind, number> {
    const own = this.own.get(sub);
    return { channel: own?.channel.size ?? 0, pattern: own?.pattern.size ?? 0, shard: own?.shard.size ?? 0 };
  }

  /** Drop everything `sub` holds (the connection closed). */
  removeAll(sub: S): void {
    for (const kind of SUBSCRIPTION_KINDS) for (const n of this.list(sub, kind)) this.remove(sub, kind, n);
  }

  /** Who receives a message on `channel`: its subscribers, then each matching pattern's (as Redis counts them). */
  receivers(channel: Uint8Array): Receiver<S>[] {
    const out: Receiver<S>[] = [];
    const e = this.channels.get(bkey(channel));
    if (e) for (const sub of e.subs) out.push({ sub, pattern: null });
    for (const p of this.patterns.values()) {
      if (!matches(p.glob!, p.name, channel)) continue;
      for (const sub of p.subs) out.push({ sub, pattern: p.name });
    }
    return out;
  }

  /** SPUBLISH: a shard channel's subscribers (patterns never match shard channels). */
  shardReceivers(channel: Uint8Array): S[] {
    return [...(this.shards.get(bkey(channel))?.subs ?? [])];
  }

  /** PUBSUB CHANNELS / SHARDCHANNELS [pattern]: channels with at least one subscriber. */
  activeChannels(pattern: Uint8Array | null, kind: "channel" | "shard" = "channel"): Uint8Array[] {
    const g = pattern ? compileGlob(pattern) : null;
    const out: Uint8Array[] = [];
    for (const e of this.index(kind).values()) if (!g || matches(g, pattern!, e.name)) out.push(e.name);
    return out;
  }

  /** PUBSUB NUMSUB / SHARDNUMSUB: subscribers of one channel (patterns not counted). */
  numSub(channel: Uint8Array, kind: "channel" | "shard" = "channel"): number {
    return this.index(kind).get(bkey(channel))?.subs.size ?? 0;
  }

  /** PUBSUB NUMPAT: distinct patterns subscribed to. */
  numPat(): number {
    return this.patterns.size;
  }
}
