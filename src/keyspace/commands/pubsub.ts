/**
 * SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, the sharded SSUBSCRIBE,
 * SUNSUBSCRIBE, SPUBLISH, and PUBSUB: the table entries; the node's pub/sub
 * (src/pubsub/hub.ts) does the work. PUBLISH and SPUBLISH are not writes, yet go into the
 * replication stream (Redis 7.0 without cluster forces their propagation; checked against a
 * redis-server 7.0.15 master and replica), so a replica applying one delivers the message to
 * its own subscribers.
 *
 * Sharded pub/sub on a server without cluster, as Redis 7.0 has it: one more namespace of
 * channels, no patterns, `smessage` frames. Its channel arguments are declared as keys (COMMAND
 * INFO says so), so a shard channel obeys KEY_BYTES_MAX like a key.
 */
import type { AclCategory } from "../command.ts";
import { type CommandSpec, type Ctx, cmd } from "../command.ts";
import { E, fail, unknownSubcommand } from "../errors.ts";
import { type Reply, Simple } from "../../protocol/reply.ts";
import { str } from "../../util/bytes.ts";
import type { PubSubHub } from "../../pubsub/hub.ts";
import type { SubscriptionKind } from "../../pubsub/registry.ts";

/** Listening is a read for our tokens (the read-only token may subscribe). */
const LISTEN: readonly AclCategory[] = ["pubsub", "read"];
/** PUBLISH: Redis's @pubsub only, so the read-only token is refused it (NOPERM). */
const PUBLISH: readonly AclCategory[] = ["pubsub"];

function hub(ctx: Ctx): PubSubHub {
  // Only a socket can listen (a REST transaction or a script cannot).
  if (!ctx.node.pubsub?.canListen(ctx.session)) fail(`ERR '${ctx.name}' is not available over REST`);
  return ctx.node.pubsub;
}

function subscribe(kind: SubscriptionKind) {
  return (ctx: Ctx): Reply => {
    // Redis 7.0 lets SUBSCRIBE/PSUBSCRIBE run inside EXEC (their confirmations are written
    // inline in EXEC's array) but refuses SSUBSCRIBE there: EXEC makes the client DENY_BLOCKING.
    if (kind === "shard" && ctx.inTransaction) fail("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
    return hub(ctx).subscribe(ctx.session, kind, ctx.argv.slice(1));
  };
}

function unsubscribe(kind: SubscriptionKind) {
  return (ctx: Ctx): Reply => {
    return hub(ctx).unsubscribe(ctx.session, kind, ctx.argv.slice(1));
  };
}

function publish(ctx: Ctx): Reply {
  const h = ctx.node.pubsub;
  const receivers = h ? (ctx.name === "spublish" ? h.publishShard(ctx.argv[1]!, ctx.argv[2]!) : h.publish(ctx.argv[1]!, ctx.argv[2]!)) : 0;
  // Redis forces PUBLISH into the stream of a master (a replica never feeds its own commands:
  // it forwards its master's stream, and a client's PUBLISH on a replica stays local).
  if (!ctx.session.isMasterLink && !ctx.node.isReplica()) ctx.alsoPropagate(ctx.argv);
  return receivers;
}

/** redis-server 7.0.15's PUBSUB HELP, line for line. */
const PUBSUB_HELP = [
  "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "CHANNELS [<pattern>]",
  "    Return the currently active channels matching a <pattern> (default: '*').",
  "NUMPAT",
  "    Return number of subscriptions to patterns.",
  "NUMSUB [<channel> ...]",
  "    Return the number of subscribers for the specified channels, excluding",
  "    pattern subscriptions(default: no channels).",
  "SHARDCHANNELS [<pattern>]",
  "    Return the currently active shard level channels matching a <pattern> (default: '*').",
  "SHARDNUMSUB [<shardchannel> ...]",
  "    Return the number of subscribers for the specified shard level channel(s)",
  "HELP",
  "    Prints this help.",
];

function pubsub(ctx: Ctx): Reply {
  const sub = str(ctx.argv[1]!).toLowerCase();
  const argc = ctx.argv.length;
  const h = ctx.node.pubsub;
  if (!h) fail(`ERR 'pubsub' is not available here`);
  const syntax = () => unknownSubcommand(ctx.argv[1]!, "pubsub", true);
  switch (sub) {
    case "help":
      // Redis checks each subcommand's arity (help: 2, numpat: 2) before running it.
      if (argc !== 2) fail(E.arity("pubsub|help"));
      return PUBSUB_HELP.map((l) => new Simple(l));
    case "channels":
    case "shardchannels":
      if (argc > 3) syntax();
      return h.channels(argc === 3 ? ctx.argv[2]! : null, sub === "channels" ? "channel" : "shard");
    case "numsub":
    case "shardnumsub": {
      const out: Reply[] = [];
      for (const ch of ctx.argv.slice(2)) out.push(ch, h.numSub(ch, sub === "numsub" ? "channel" : "shard"));
      return out;
    }
    case "numpat":
      if (argc !== 2) fail(E.arity("pubsub|numpat"));
      return h.numPat();
  }
  unknownSubcommand(ctx.argv[1]!, "pubsub");
}

export const pubsubCommands: CommandSpec[] = [
  cmd("subscribe", -2, ["pubsub", "noscript", "loading", "stale"], [0, 0, 0], subscribe("channel"), LISTEN),
  cmd("psubscribe", -2, ["pubsub", "noscript", "loading", "stale"], [0, 0, 0], subscribe("pattern"), LISTEN),
  cmd("unsubscribe", -1, ["pubsub", "noscript", "loading", "stale"], [0, 0, 0], unsubscribe("channel"), LISTEN),
  cmd("punsubscribe", -1, ["pubsub", "noscript", "loading", "stale"], [0, 0, 0], unsubscribe("pattern"), LISTEN),
  cmd("publish", 3, ["pubsub", "loading", "stale", "fast"], [0, 0, 0], publish, PUBLISH),
  cmd("ssubscribe", -2, ["pubsub", "noscript", "loading", "stale"], [1, -1, 1], subscribe("shard"), LISTEN),
  cmd("sunsubscribe", -1, ["pubsub", "noscript", "loading", "stale"], [1, -1, 1], unsubscribe("shard"), LISTEN),
  cmd("spublish", 3, ["pubsub", "loading", "stale", "fast"], [1, 1, 1], publish, PUBLISH),
  cmd("pubsub", -2, [], [0, 0, 0], pubsub, LISTEN),
];
