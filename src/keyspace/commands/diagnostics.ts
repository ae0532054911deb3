/**
 * SLOWLOG, LATENCY, MODULE and the cluster commands (CLUSTER READONLY READWRITE ASKING), as a
 * Redis 7.0 server without cluster support, modules or a latency monitor answers them.
 * The slow log itself is keyspace/slowlog.ts; the engine fills it.
 */
import { type Reply, Simple } from "../../protocol/reply.ts";
import { clampToSafe, parseI64 } from "../../util/numbers.ts";
import { opt } from "../args.ts";
import { type AclCategory, type CommandSpec, type Ctx, cmd } from "../command.ts";
import { E, fail, unknownSubcommand } from "../errors.ts";

const CONNECTION: readonly AclCategory[] = ["connection"];

/** `<command> HELP`: no arguments (`cmd|help` arity 2), one status line each, as Redis's addReplyHelp. */
export function help(ctx: Ctx, lines: readonly string[]): Reply {
  if (ctx.argv.length !== 2) fail(E.arity(`${ctx.name}|help`));
  return lines.map((l) => new Simple(l));
}

/** A subcommand with no arguments. */
function noArgs(ctx: Ctx, sub: string): void {
  if (ctx.argv.length !== 2) fail(E.arity(`${ctx.name}|${sub}`));
}

const SLOWLOG_HELP = [
  "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "GET [<count>]",
  "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
  "    Entries are made of:",
  "    id, timestamp, time in microseconds, arguments array, client IP and port,",
  "    client name",
  "LEN",
  "    Return the length of the slowlog.",
  "RESET",
  "    Reset the slowlog.",
  "HELP",
  "    Prints this help.",
];

function slowlog(ctx: Ctx): Reply {
  const log = ctx.stats.slowlog;
  const sub = opt(ctx.argv[1]!);
  switch (sub) {
    case "get": {
      if (ctx.argv.length > 3) unknownSubcommand(ctx.argv[1]!, ctx.name, true);
      let count = 10;
      if (ctx.argv.length === 3) {
        const n = parseI64(ctx.argv[2]!);
        if (n === null || n < -1n) fail("ERR count should be greater than or equal to -1");
        count = clampToSafe(n);
      }
      return log.get(count);
    }
    case "len":
      noArgs(ctx, sub);
      return log.length;
    case "reset":
      noArgs(ctx, sub);
      return log.reset();
    case "help":
      return help(ctx, SLOWLOG_HELP);
    default:
      unknownSubcommand(ctx.argv[1]!, ctx.name);
  }
}

const LATENCY_HELP = [
  "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "LATEST",
  "    Return the latest latency samples for all events.",
  "HISTORY <event>",
  "    Return time-latency samples for the specified event.",
  "RESET [<event> ...]",
  "    Reset latency data of one or more <event> classes.",
  "    (default: reset all data for all event classes)",
  "GRAPH <event>",
  "    Return an ASCII latency graph for the <event> class.",
  "HELP",
  "    Prints this help.",
];

/**
 * The latency monitor is not built (`latency-monitor-threshold` stays 0, as Redis's default:
 * off), so there are no samples, exactly as a Redis with the monitor off reports.
 */
function latency(ctx: Ctx): Reply {
  const sub = opt(ctx.argv[1]!);
  switch (sub) {
    case "latest":
      noArgs(ctx, sub);
      return [];
    case "history":
      if (ctx.argv.length !== 3) fail(E.arity("latency|history"));
      return [];
    case "reset":
      return 0;
    case "graph":
      if (ctx.argv.length !== 3) fail(E.arity("latency|graph"));
      return fail(`ERR No samples available for event '${new TextDecoder().decode(ctx.argv[2]!)}'`);
    case "help":
      return help(ctx, LATENCY_HELP);
    default:
      unknownSubcommand(ctx.argv[1]!, ctx.name);
  }
}

const MODULE_HELP = [
  "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "LIST",
  "    Return a list of loaded modules.",
  "HELP",
  "    Prints this help.",
];

function module(ctx: Ctx): Reply {
  const sub = opt(ctx.argv[1]!);
  switch (sub) {
    case "list":
      noArgs(ctx, sub);
      return []; // no module is loaded, and none can be
    case "load":
    case "loadex":
    case "unload":
      return fail("ERR modules are not supported: a Worker cannot load native code");
    case "help":
      return help(ctx, MODULE_HELP);
    default:
      unknownSubcommand(ctx.argv[1]!, ctx.name);
  }
}

const NO_CLUSTER = "ERR This instance has cluster support disabled";
/** Redis 7.0's CLUSTER subcommands: they answer NO_CLUSTER; any other word is an unknown subcommand. */
const CLUSTER_SUBCOMMANDS: ReadonlySet<string> = new Set([
  "addslots", "addslotsrange", "bumpepoch", "count-failure-reports", "countkeysinslot", "delslots", "delslotsrange", "failover",
  "flushslots", "forget", "getkeysinslot", "help", "info", "keyslot", "links", "meet", "myid", "nodes", "replicas", "replicate",
  "reset", "saveconfig", "set-config-epoch", "setslot", "shards", "slaves", "slots",
]);

export const diagnosticsCommands: CommandSpec[] = [
  cmd("slowlog", -2, ["admin", "loading", "stale"], [0, 0, 0], slowlog),
  cmd("latency", -2, ["admin", "noscript", "loading", "stale"], [0, 0, 0], latency),
  cmd("module", -2, ["admin", "noscript"], [0, 0, 0], module),
  // A client asks these of a server to learn whether it is a cluster: it is not.
  cmd("cluster", -2, [], [0, 0, 0], (ctx) => (CLUSTER_SUBCOMMANDS.has(opt(ctx.argv[1]!)) ? fail(NO_CLUSTER) : unknownSubcommand(ctx.argv[1]!, ctx.name)), CONNECTION),
  cmd("readonly", 1, ["fast", "loading", "stale"], [0, 0, 0], () => fail(NO_CLUSTER), CONNECTION),
  cmd("readwrite", 1, ["fast", "loading", "stale"], [0, 0, 0], () => fail(NO_CLUSTER), CONNECTION),
  cmd("asking", 1, ["fast"], [0, 0, 0], () => fail(NO_CLUSTER), CONNECTION),
];
