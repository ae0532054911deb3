/**
 * SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB: the table entries; the
 * node's pub/sub (src/pubsub/hub.ts) does the work. PUBLISH is not a write, yet goes into the
 * replication stream (Redis forces its propagation), so a replica applying it delivers the
 * message to its own subscribers.
 */
import type { AclCategory } from "../command.ts";
import { type CommandSpec, type Ctx, cmd } from "../command.ts";
import { E, fail } from "../errors.ts";
import type { Reply } from "../../protocol/reply.ts";
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
    // Inside EXEC the confirmations are written inline in EXEC's array, as Redis 7.0 does.
    return hub(ctx).subscribe(ctx.session, kind, ctx.argv.slice(1));
  };
}

function unsubscribe(kind: SubscriptionKind) {
  return (ctx: Ctx): Reply => {
    return hub(ctx).unsubscribe(ctx.session, kind, ctx.argv.slice(1));
  };
}

function publish(ctx: Ctx): Reply {
  const receivers = ctx.node.pubsub?.publish(ctx.argv[1]!, ctx.argv[2]!) ?? 0;
  // Redis forces PUBLISH into the stream of a master (a replica never feeds its own commands:
  // it forwards its master's stream, and a client's PUBLISH on a replica stays local).
  if (!ctx.session.isMasterLink && !ctx.node.isReplica()) ctx.alsoPropagate(ctx.argv);
  return receivers;
}

function pubsub(ctx: Ctx): Reply {
  const sub = str(ctx.argv[1]!).toLowerCase();
  const argc = ctx.argv.length;
  const h = ctx.node.pubsub;
  if (!h) fail(`ERR 'pubsub' is not available here`);
  if (sub === "channels") {
    if (argc > 3) fail(`ERR unknown subcommand or wrong number of arguments for '${str(ctx.argv[1]!).slice(0, 128)}'. Try PUBSUB HELP.`);
    return h.channels(argc === 3 ? ctx.argv[2]! : null);
  }
  if (sub === "numsub") {
    const out: Reply[] = [];
    for (const ch of ctx.argv.slice(2)) out.push(ch, h.numSub(ch));
    return out;
  }
  if (sub === "numpat") {
    if (argc !== 2) fail(E.arity("pubsub|numpat"));
    return h.numPat();
  }
  // SHARDCHANNELS / SHARDNUMSUB (sharded pub/sub, Redis Cluster) and HELP are not built.
  fail(`ERR unknown subcommand '${str(ctx.argv[1]!).slice(0, 128)}'. Try PUBSUB HELP.`);
}

export const pubsubCommands: CommandSpec[] = [
  cmd("subscribe", -2, ["pubsub", "noscript", "loading", "stale"], [0, 0, 0], subscribe("channel"), LISTEN),
  cmd("psubscribe", -2, ["pubsub", "noscript", "loading", "stale"], [0, 0, 0], subscribe("pattern"), LISTEN),
  cmd("unsubscribe", -1, ["pubsub", "noscript", "loading", "stale"], [0, 0, 0], unsubscribe("channel"), LISTEN),
  cmd("punsubscribe", -1, ["pubsub", "noscript", "loading", "stale"], [0, 0, 0], unsubscribe("pattern"), LISTEN),
  cmd("publish", 3, ["pubsub", "loading", "stale", "fast"], [0, 0, 0], publish, PUBLISH),
  cmd("pubsub", -2, [], [0, 0, 0], pubsub, LISTEN),
];
