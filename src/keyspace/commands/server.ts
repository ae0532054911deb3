/**
 * Server commands: PING ECHO TIME INFO COMMAND CONFIG DEBUG ROLE REPLICAOF CLIENT WAIT HELLO
 * QUIT RESET MONITOR. The ones that act on the node (DEBUG RESTART, REPLICAOF, CLIENT KILL, WAIT)
 * go through `ctx.node` and are flagged `async`.
 */
import { DEBUG_SLEEP_MS_MAX } from "../../limits.ts";
import { OK, PONG, type Reply, RespMap, RespSet, Simple, Verbatim } from "../../protocol/reply.ts";
import { str, utf8 } from "../../util/bytes.ts";
import { floatArg, i64Arg, intArg, opt } from "../args.ts";
import { type AclCategory, type CommandSpec, type Ctx, cmd } from "../command.ts";
import { bySubcommand } from "../permissions.ts";
import { type ClientView, clientLine, clientList, parseClientListFilter } from "../client-info.ts";
import { clampToSafe, parseI64 } from "../../util/numbers.ts";
import { datasetDigest, valueDigest } from "../digest.ts";
import { E, fail, unknownSubcommand } from "../errors.ts";
import { info } from "./info.ts";
import { allCommandInfo, COMMANDS, type CommandInfo } from "../table.ts";
import { compileGlob } from "../glob.ts";
import { help } from "./diagnostics.ts";
import { NODE_NAME_RE, outsideAddress } from "../../replication/outside-hosts.ts";

const startedMs = Date.now();

function subError(ctx: Ctx): never {
  unknownSubcommand(ctx.argv[1]!, ctx.name);
}

/** COMMAND INFO entry in Redis 7's shape: name arity flags first last step acl-categories tips key-specs subcommands. */
function commandInfo(spec: CommandInfo): Reply {
  return [
    utf8(spec.name),
    spec.arity,
    spec.flags.filter((f) => f !== "async" && f !== "no-multi").map((f) => new Simple(f)),
    spec.firstKey,
    spec.lastKey,
    spec.step,
    [],
    [],
    [],
    [],
  ];
}

function command(ctx: Ctx): Reply {
  const all = allCommandInfo();
  if (ctx.argv.length === 1) return [...all.values()].map(commandInfo);
  const sub = opt(ctx.argv[1]!);
  switch (sub) {
    case "count":
      if (ctx.argv.length !== 2) fail(E.arity("command|count"));
      return all.size;
    case "info": {
      const names = ctx.argv.length === 2 ? [...all.keys()] : ctx.argv.slice(2).map(opt);
      return names.map((n) => {
        const s = all.get(n);
        return s ? commandInfo(s) : null;
      });
    }
    case "list":
      return commandList(ctx, [...all.values()]);
    case "help":
      return help(ctx, COMMAND_HELP);
    case "docs":
      return new RespMap([]);
    default:
      subError(ctx);
  }
}

/** COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]. */
function commandList(ctx: Ctx, all: CommandInfo[]): Reply {
  const names = (keep: (c: CommandInfo) => boolean) => all.filter(keep).map((c) => utf8(c.name));
  if (ctx.argv.length === 2) return names(() => true);
  if (ctx.argv.length !== 5 || opt(ctx.argv[2]!) !== "filterby") fail(E.syntax);
  const by = opt(ctx.argv[3]!);
  const arg = ctx.argv[4]!;
  switch (by) {
    case "module":
      return []; // no modules
    case "pattern": {
      const glob = compileGlob(arg, true); // Redis matches command names without case
      return names((c) => glob.match(utf8(c.name)));
    }
    case "aclcat": {
      const cat = str(arg).toLowerCase();
      if (!REDIS_CATEGORIES.has(cat)) return []; // as Redis answers a category that does not exist
      if (!KNOWN_CATEGORIES.has(cat)) {
        fail(`ERR ACL category '${cat}' is not modelled here (known: ${[...KNOWN_CATEGORIES].join(", ")})`);
      }
      return names((c) => categoriesOf(c).includes(cat));
    }
    default:
      fail(E.syntax);
  }
}

/** Redis 7.0's ACL categories (ACL CAT). */
const REDIS_CATEGORIES: ReadonlySet<string> = new Set([
  "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo", "stream", "pubsub",
  "admin", "fast", "slow", "blocking", "dangerous", "connection", "transaction", "scripting",
]);
/** The ACL categories COMMAND can tell: the permission model's (permissions.ts) and those its flags give. */
const KNOWN_CATEGORIES: ReadonlySet<string> = new Set(["read", "write", "admin", "dangerous", "connection", "scripting", "pubsub", "fast", "slow", "blocking"]);

function categoriesOf(c: CommandInfo): string[] {
  const spec = COMMANDS.get(c.name);
  const own: string[] = spec === undefined ? [] : typeof spec.acl === "function" ? [...spec.acl([utf8(c.name)]).categories] : [...spec.acl];
  own.push(c.flags.includes("fast") ? "fast" : "slow");
  if (c.flags.includes("blocking")) own.push("blocking");
  return own;
}

const COMMAND_HELP = [
  "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "(no subcommand)",
  "    Return details about all Redis commands.",
  "COUNT",
  "    Return the total number of commands in this Redis server.",
  "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
  "    Return a list of all commands in this Redis server.",
  "INFO [<command-name> ...]",
  "    Return details about multiple Redis commands.",
  "    If no command names are given, documentation details for all",
  "    commands are returned.",
  "HELP",
  "    Prints this help.",
];

const CONFIG_HELP = [
  "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "GET <pattern>",
  "    Return parameters matching the glob-like <pattern> and their values.",
  "SET <directive> <value>",
  "    Set the configuration <directive> to <value>.",
  "RESETSTAT",
  "    Reset statistics reported by the INFO command.",
  "REWRITE",
  "    Rewrite the configuration file.",
  "HELP",
  "    Prints this help.",
];

/** The subcommands this node's CLIENT has (Redis 7.0's, less tracking ON). */
const CLIENT_HELP = [
  "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "CACHING (YES|NO)",
  "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
  "GETREDIR",
  "    Return the client ID we are redirecting to when tracking is enabled.",
  "GETNAME",
  "    Return the name of the current connection.",
  "ID",
  "    Return the ID of the current connection.",
  "INFO",
  "    Return information about the current client connection.",
  "KILL <ip:port>",
  "    Kill connection made from <ip:port>.",
  "KILL <option> <value> [<option> <value> [...]]",
  "    Kill connections. Options are:",
  "    * ADDR (<ip:port>|<unixsocket>:0)",
  "      Kill connections made from the specified address",
  "    * LADDR (<ip:port>|<unixsocket>:0)",
  "      Kill connections made to specified local address",
  "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
  "      Kill connections by type.",
  "    * USER <username>",
  "      Kill connections authenticated by <username>.",
  "    * SKIPME (YES|NO)",
  "      Skip killing current connection (default: yes).",
  "LIST [options ...]",
  "    Return information about client connections. Options:",
  "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
  "      Return clients of specified type.",
  "UNPAUSE",
  "    Stop the current client pause, resuming traffic.",
  "PAUSE <timeout> [WRITE|ALL]",
  "    Suspend all, or just write, clients for <timeout> milliseconds.",
  "REPLY (ON|OFF|SKIP)",
  "    Control the replies sent to the current connection.",
  "SETNAME <name>",
  "    Assign the name <name> to the current connection.",
  "UNBLOCK <clientid> [TIMEOUT|ERROR]",
  "    Unblock the specified blocked client.",
  "TRACKING OFF",
  "    Server assisted client side caching is not supported: tracking stays off.",
  "TRACKINGINFO",
  "    Report tracking status for the current connection.",
  "NO-EVICT (ON|OFF)",
  "    Protect current client connection from eviction.",
  "HELP",
  "    Prints this help.",
];

function config(ctx: Ctx): Reply {
  if (ctx.argv.length < 2) fail(E.arity("config"));
  const sub = opt(ctx.argv[1]!);
  switch (sub) {
    case "get": {
      if (ctx.argv.length < 3) fail(E.arity("config|get"));
      const out: [Reply, Reply][] = [];
      const seen = new Set<string>();
      for (const p of ctx.argv.slice(2)) {
        for (const [k, v] of ctx.node.configGet(str(p).toLowerCase())) {
          if (seen.has(k)) continue;
          seen.add(k);
          out.push([utf8(k), utf8(v)]);
        }
      }
      return new RespMap(out);
    }
    case "set": {
      if (ctx.argv.length < 4 || ctx.argv.length % 2 !== 0) fail(E.arity("config|set"));
      // All pairs or none (Redis 7 applies CONFIG SET atomically).
      const pairs: [string, string][] = [];
      for (let i = 2; i < ctx.argv.length; i += 2) pairs.push([str(ctx.argv[i]!).toLowerCase(), str(ctx.argv[i + 1]!)]);
      const e = ctx.node.configSet(pairs);
      if (e) fail(e);
      return OK;
    }
    case "resetstat":
      if (ctx.argv.length !== 2) fail(E.arity("config|resetstat"));
      ctx.node.resetStats();
      return OK;
    case "rewrite":
      // Every CONFIG SET is stored as it is made: there is no file to rewrite.
      if (ctx.argv.length !== 2) fail(E.arity("config|rewrite"));
      return OK;
    case "help":
      return help(ctx, CONFIG_HELP);
    default:
      subError(ctx);
  }
}

function debug(ctx: Ctx): Reply | Promise<Reply> {
  if (!ctx.node.debugEnabled()) {
    fail(
      "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
    );
  }
  const sub = opt(ctx.argv[1]!);
  switch (sub) {
    case "digest":
      if (ctx.argv.length !== 2) fail(E.syntax);
      return new Simple(datasetDigest(ctx.ks));
    case "digest-value":
      // As a read sees the key (Redis's lookupKeyRead): a logically expired one digests as missing.
      return ctx.argv.slice(2).map((k) => new Simple(valueDigest(ctx.ks, ctx.ks.lookupRead(ctx.db, k, false))));
    case "sleep": {
      if (ctx.argv.length !== 3) fail(E.syntax);
      const ms = Math.min(DEBUG_SLEEP_MS_MAX, Math.max(0, floatArg(ctx.argv[2]!) * 1000));
      // Redis blocks the whole server; so does this (a busy wait in the object's only thread).
      // A deployed Worker's clock stands still while code runs (it moves between I/O): there
      // a clock that has not moved in a million reads ends the wait instead of spinning on.
      const until = Date.now() + ms;
      let last = Date.now();
      for (let spins = 1; Date.now() < until; spins++) {
        if (spins % 1_000_000 !== 0) continue;
        const now = Date.now();
        if (now === last) break;
        last = now;
      }
      return OK;
    }
    case "populate":
      if (ctx.argv.length < 3 || ctx.argv.length > 5) {
        unknownSubcommand(ctx.argv[1]!, "debug", true);
      }
      // It yields between slices (node/populate.ts): it cannot run inside EXEC or a script.
      if (ctx.inTransaction) fail("ERR DEBUG POPULATE is not allowed inside MULTI");
      return ctx.node.debugPopulate(ctx.db, ctx.argv.slice(2).map((a) => str(a)));
    case "restart":
    case "reload":
      // A restart cannot be awaited inside EXEC; redis-server would restart mid-transaction.
      if (ctx.inTransaction) fail(`ERR DEBUG ${sub.toUpperCase()} is not allowed inside MULTI`);
      return ctx.node.debugRestart();
    case "set-active-expire":
    case "repl-drop":
    case "repl-pause":
    case "r2-fail":
    case "r2-corrupt":
    case "set-region": // the node's location hint (edge reads; a master has none otherwise)
    case "simulate-latency": // delay the stream to replicas by region (routing/simulate.ts)
      return ctx.node.debugFault(sub, ctx.argv.slice(2).map((a) => str(a)));
    case "help":
      return ["DIGEST", "DIGEST-VALUE <key> [<key> ...]", "POPULATE <count> [<prefix>] [<size>]", "RESTART", "SLEEP <seconds>"].map((s) => new Simple(s));
    default:
      subError(ctx);
  }
}

function client(ctx: Ctx): Reply | Promise<Reply> {
  const sub = opt(ctx.argv[1]!);
  const s = ctx.session;
  switch (sub) {
    case "id":
      return s.id;
    case "setname": {
      if (ctx.argv.length !== 3) fail(E.arity("client|setname"));
      const name = str(ctx.argv[2]!);
      if (/[\s]/.test(name)) fail("ERR Client names cannot contain spaces, newlines or special characters.");
      s.name = name.length ? name : null;
      return OK;
    }
    case "getname":
      return s.name === null ? null : utf8(s.name);
    case "info":
      if (ctx.argv.length !== 2) fail(E.arity("client|info"));
      return new Verbatim(`${clientLine(ownView(ctx), ctx.now, "client|info")}\n`);
    case "list": {
      const filter = parseClientListFilter(ctx.argv.slice(2));
      // Every open connection of the node (node/clients.ts); the caller's own session is one
      // of them, or a REST request's, listed as well.
      const views = ctx.node.clients?.() ?? [];
      if (!views.some((v) => v.session === s)) views.push(ownView(ctx));
      views.sort((a, b) => a.session.id - b.session.id);
      return new Verbatim(clientList(views, filter, ctx.now, s.id));
    }
    case "unblock": {
      if (ctx.argv.length !== 3 && ctx.argv.length !== 4) fail(`ERR unknown subcommand or wrong number of arguments for '${str(ctx.argv[1]!)}'. Try CLIENT HELP.`);
      let how: "timeout" | "error" = "timeout";
      if (ctx.argv.length === 4) {
        const o = opt(ctx.argv[3]!);
        if (o === "error") how = "error";
        else if (o !== "timeout") fail("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
      }
      const id = parseI64(ctx.argv[2]!);
      if (id === null) fail(E.notInt);
      // Blocked on keys (the engine), or in WAIT (the node): Redis unblocks both.
      return ctx.blocking.unblock(Number(id), how) || ctx.node.unblockWait?.(Number(id), how) ? 1 : 0;
    }
    case "no-evict": {
      if (ctx.argv.length !== 3) fail(E.arity("client|no-evict"));
      const v = opt(ctx.argv[2]!);
      if (v !== "on" && v !== "off") fail(E.syntax);
      return OK; // nothing is evicted here (no maxmemory): the flag has nothing to protect
    }
    case "kill":
      if (ctx.argv.length === 2) fail(E.arity("client|kill"));
      return ctx.node.clientKill(ctx.argv.slice(2), s);
    case "help":
      return help(ctx, CLIENT_HELP);
    case "pause": {
      if (ctx.argv.length < 3) fail(E.arity("client|pause"));
      if (ctx.argv.length > 4) unknownSubcommand(ctx.argv[1]!, "client", true);
      const ms = parseI64(ctx.argv[2]!);
      if (ms === null) fail("ERR timeout is not an integer or out of range");
      if (ms < 0n) fail("ERR timeout is negative");
      let all = true;
      if (ctx.argv.length === 4) {
        const mode = opt(ctx.argv[3]!);
        if (mode !== "write" && mode !== "all") fail("ERR CLIENT PAUSE mode must be WRITE or ALL");
        all = mode === "all";
      }
      ctx.clientPause.pause(clampToSafe(ms), all);
      return OK;
    }
    case "unpause":
      if (ctx.argv.length !== 2) fail(E.arity("client|unpause"));
      ctx.clientPause.unpause();
      return OK;
    // Server-assisted client-side caching is not built: tracking is off for every connection,
    // and these answer as Redis answers a connection that has not turned it on.
    case "tracking": {
      if (ctx.argv.length < 3) fail(E.arity("client|tracking"));
      const v = opt(ctx.argv[2]!);
      if (v !== "on" && v !== "off") fail(E.syntax);
      // Its options, as Redis reads them (a REDIRECT must name a connection that exists).
      for (let i = 3; i < ctx.argv.length; i++) {
        const o = opt(ctx.argv[i]!);
        if (o === "bcast" || o === "optin" || o === "optout" || o === "noloop") continue;
        if ((o === "redirect" || o === "prefix") && i + 1 < ctx.argv.length) {
          const a = ctx.argv[++i]!;
          if (o === "redirect") {
            const id = parseI64(a);
            if (id === null) fail(E.notInt);
            const views = ctx.node.clients?.() ?? [];
            if (Number(id) !== s.id && !views.some((w) => w.session.id === Number(id))) fail("ERR The client ID you want redirect to does not exist");
          }
          continue;
        }
        fail(E.syntax);
      }
      if (v === "on") fail("ERR server assisted client side caching (CLIENT TRACKING ON) is not supported");
      return OK;
    }
    case "trackinginfo":
      if (ctx.argv.length !== 2) fail(E.arity("client|trackinginfo"));
      return new RespMap([
        [utf8("flags"), new RespSet([new Simple("off")])],
        [utf8("redirect"), -1],
        [utf8("prefixes"), []],
      ]);
    case "getredir":
      if (ctx.argv.length !== 2) fail(E.arity("client|getredir"));
      return -1;
    case "caching":
      if (ctx.argv.length !== 3) fail(E.arity("client|caching"));
      return fail("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
    case "reply": {
      if (ctx.argv.length !== 3) fail(E.arity("client|reply"));
      const v = opt(ctx.argv[2]!);
      if (v !== "on" && v !== "off" && v !== "skip") fail(E.syntax);
      if (!s.socket) fail("ERR CLIENT REPLY needs a connection (RESP over WebSocket): a REST request always gets its response");
      // OFF and SKIP are not answered (the socket silences this reply too); ON is. As in
      // Redis, ON clears both, and SKIP while OFF changes nothing.
      if (v === "on") {
        s.replyOff = s.replySkip = s.replySkipNext = false;
      } else if (v === "off") {
        s.replyOff = true;
      } else if (!s.replyOff) {
        s.replySkip = s.replySkipNext = true;
      }
      return OK;
    }
    default:
      subError(ctx);
  }
}

/** The calling connection as CLIENT INFO shows it. */
function ownView(ctx: Ctx): ClientView {
  const s = ctx.session;
  const listed = ctx.node.clients?.().find((v) => v.session === s);
  if (listed) return listed;
  const subs = ctx.node.pubsub?.counts(s) ?? { channel: 0, pattern: 0, shard: 0 };
  return { session: s, role: "normal", sub: subs.channel, psub: subs.pattern, ssub: subs.shard, blocked: false };
}

function hello(ctx: Ctx): Reply {
  let resp = ctx.session.resp;
  let i = 1;
  if (ctx.argv.length > 1) {
    const v = intArg(ctx.argv[1]!, "ERR Protocol version is not an integer or out of range");
    if (v !== 2 && v !== 3) fail("NOPROTO unsupported protocol version");
    resp = v;
    i = 2;
  }
  for (; i < ctx.argv.length; i++) {
    const o = opt(ctx.argv[i]!);
    if (o === "auth" && i + 2 < ctx.argv.length) i += 2;
    else if (o === "setname" && i + 1 < ctx.argv.length) ctx.session.name = str(ctx.argv[++i]!);
    else fail(`ERR Syntax error in HELLO option '${str(ctx.argv[i]!)}'`);
  }
  ctx.session.resp = resp;
  return new RespMap([
    [utf8("server"), utf8("redis")],
    [utf8("version"), utf8("7.0.15")],
    [utf8("proto"), resp],
    [utf8("id"), ctx.session.id],
    [utf8("mode"), utf8("standalone")],
    [utf8("role"), utf8(ctx.node.isReplica() ? "replica" : "master")],
    [utf8("modules"), []],
  ]);
}

/**
 * REPLICAOF {node} [port] | NO ONE. Inside one database a master is named by its node name
 * (SPEC §5: `["REPLICAOF","master"]`); Redis's port argument is accepted and ignored.
 * REPLICAOF host port with a host that cannot be a node name (a dot, a colon, `localhost`)
 * follows an outside Redis master instead (SPEC §3, replication/outside-hosts.ts).
 */
function replicaof(ctx: Ctx): Promise<Reply> {
  if (ctx.argv.length > 3) fail(E.arity(ctx.name));
  const host = str(ctx.argv[1]!);
  const port = ctx.argv.length === 3 ? str(ctx.argv[2]!) : "";
  if (host.toLowerCase() === "no" && port.toLowerCase() === "one") return ctx.node.replicaOf(null);
  const outside = outsideAddress(host, port);
  if (outside !== null) return ctx.node.replicaOfOutside(outside.host, outside.port);
  if (!NODE_NAME_RE.test(host)) fail("ERR Invalid node name");
  return ctx.node.replicaOf(host);
}

/** Permission categories (keyspace/permissions.ts) of the commands whose flags do not say. */
const READ: readonly AclCategory[] = ["read"];
const CONNECTION: readonly AclCategory[] = ["connection"];

/** The same categories for each of these subcommands (bySubcommand's table). */
function each(subs: readonly string[], categories: readonly AclCategory[]): Record<string, readonly AclCategory[]> {
  return Object.fromEntries(subs.map((sub) => [sub, categories]));
}

export const serverCommands: CommandSpec[] = [
  cmd(
    "ping",
    -1,
    ["fast"],
    [0, 0, 0],
    (ctx) => {
      if (ctx.argv.length > 2) fail(E.arity("ping"));
      const subscribed = ctx.node.pubsub?.ping(ctx.session, ctx.argv[1]);
      if (subscribed) return subscribed;
      return ctx.argv.length === 2 ? ctx.argv[1]! : PONG;
    },
    CONNECTION,
  ),
  cmd("echo", 2, ["fast"], [0, 0, 0], (ctx) => ctx.argv[1]!, CONNECTION),
  cmd(
    "time",
    1,
    ["fast", "stale"],
    [0, 0, 0],
    (ctx) => {
      const us = BigInt(ctx.now) * 1000n;
      return [utf8(String(us / 1_000_000n)), utf8(String(us % 1_000_000n))];
    },
    READ,
  ),
  cmd("info", -1, ["stale"], [0, 0, 0], info, READ),
  cmd("command", -1, ["stale"], [0, 0, 0], command, CONNECTION),
  cmd("config", -2, ["admin", "noscript", "stale"], [0, 0, 0], config, bySubcommand("config", each(["get", "help"], READ))),
  cmd("debug", -2, ["admin", "noscript", "stale"], [0, 0, 0], debug),
  cmd("role", 1, ["stale", "fast"], [0, 0, 0], (ctx) => ctx.node.role(), READ),
  cmd("replicaof", -2, ["admin", "stale", "async", "no-multi"], [0, 0, 0], replicaof),
  cmd("slaveof", -2, ["admin", "stale", "async", "no-multi"], [0, 0, 0], replicaof),
  cmd(
    "client",
    -2,
    // Synchronous (CLIENT KILL included), so it queues inside MULTI as in Redis 7.0.
    ["admin", "noscript", "stale"],
    [0, 0, 0],
    client,
    bySubcommand("client", each(["id", "setname", "getname", "info", "setinfo", "no-evict", "no-touch", "reply", "help", "tracking", "trackinginfo", "getredir", "caching"], CONNECTION)),
  ),
  // Redis 7.0: FAILOVER is admin, noscript, stale (replication/failover.ts).
  cmd("failover", -1, ["admin", "noscript", "stale"], [0, 0, 0], (ctx) => {
    if (!ctx.node.failover) fail(`ERR unknown command 'failover', with args beginning with: `);
    return ctx.node.failover(ctx.argv.slice(1).map((a) => str(a)));
  }),
  cmd(
    "wait",
    3,
    // Not "async": inside MULTI it queues and EXEC answers at once (below), as in Redis 7.0.
    ["noscript"],
    [0, 0, 0],
    (ctx) => {
      // Both are C longs in Redis: any int64 (a count past the replicas, a timeout of centuries).
      const n = clampToSafe(i64Arg(ctx.argv[1]!));
      const t = clampToSafe(i64Arg(ctx.argv[2]!, "ERR timeout is not an integer or out of range"));
      if (t < 0) fail("ERR timeout is negative");
      if (ctx.inTransaction) return ctx.node.waitNow();
      return ctx.node.wait(n, t, ctx.session.id);
    },
    CONNECTION,
  ),
  cmd("hello", -1, ["noscript", "stale", "fast"], [0, 0, 0], hello, CONNECTION),
  cmd(
    "quit",
    -1,
    ["fast", "stale"],
    [0, 0, 0],
    (ctx) => {
      ctx.session.closed = true;
      return OK;
    },
    CONNECTION,
  ),
  cmd(
    "reset",
    1,
    ["fast", "stale", "no-multi"],
    [0, 0, 0],
    (ctx) => {
      ctx.session.db = 0;
      ctx.session.resp = 2;
      ctx.session.name = null;
      // CLIENT REPLY back on (a SKIP already applying to this RESET still applies, as in
      // Redis); the transaction and WATCHes were ended by the engine.
      ctx.session.replyOff = ctx.session.replySkipNext = false;
      ctx.node.pubsub?.reset(ctx.session);
      return new Simple("RESET");
    },
    CONNECTION,
  ),
  cmd(
    "auth",
    -2,
    ["noscript", "stale", "fast", "async", "no-multi"],
    [0, 0, 0],
    async (ctx) => {
      // AUTH [username] password: the password is one of the deployment's tokens; the username
      // is accepted as given (redis-cli --user, ACL-style clients). The connection takes the
      // token's permissions from here on.
      if (ctx.argv.length > 3) fail(E.syntax);
      const which = await ctx.node.checkToken(str(ctx.argv[ctx.argv.length - 1]!));
      if (which === null) fail("WRONGPASS invalid username-password pair or user is disabled.");
      if (which === "replication") ctx.session.replicationLink = true;
      else ctx.session.readOnlyToken = which === "read-only";
      return OK;
    },
    CONNECTION,
  ),
  cmd("monitor", 1, ["admin", "noscript", "stale", "no-multi"], [0, 0, 0], (ctx) => {
    // The transport turns the connection into a MONITOR stream once this answers (node/sockets.ts).
    ctx.session.monitoring = true;
    return OK;
  }),
  cmd("lastsave", 1, ["fast", "stale"], [0, 0, 0], () => Math.floor(startedMs / 1000), READ),
];

