/**
 * Scripting commands: EVAL EVALSHA EVAL_RO EVALSHA_RO SCRIPT (Redis 7.0 eval.c). The Lua
 * side lives in src/scripting/; the engine hands it a way to run redis.call() inside the
 * caller's execution unit (ctx.scripting).
 */
import { OK, RedisError, type Reply, RespMap, RespSet, Simple } from "../../protocol/reply.ts";
import { dumpLibraries, parseDump } from "../../scripting/function-dump.ts";
import { NOSCRIPT } from "../../scripting/scripting.ts";
import { str, utf8 } from "../../util/bytes.ts";
import { parseI64 } from "../../util/numbers.ts";
import { opt } from "../args.ts";
import { globMatch } from "../glob.ts";
import { type AclCategory, type CommandSpec, type Ctx, cmd } from "../command.ts";
import { bySubcommand } from "../permissions.ts";
import { E, fail, unknownSubcommand } from "../errors.ts";

function scripting(ctx: Ctx) {
  const s = ctx.scripting;
  if (!s) fail("ERR scripting is not available here");
  return s;
}

/** EVAL script|sha numkeys key… arg…: numkeys checked as Redis does. */
function evalGeneric(ctx: Ctx, bySha: boolean, ro: boolean): Reply {
  const sc = scripting(ctx);
  const n = parseI64(ctx.argv[2]!);
  if (n === null) return new RedisError(E.notInt);
  if (n > BigInt(ctx.argv.length - 3)) return new RedisError("ERR Number of keys can't be greater than number of args");
  if (n < 0n) return new RedisError("ERR Number of keys can't be negative");
  const numkeys = Number(n);
  const keys = ctx.argv.slice(3, 3 + numkeys);
  const args = ctx.argv.slice(3 + numkeys);
  let sha: string;
  if (bySha) {
    sha = str(ctx.argv[1]!).toLowerCase();
    if (sha.length !== 40 || !sc.scripts.exists(sha)) return new RedisError(NOSCRIPT);
  } else {
    const loaded = sc.scripts.load(ctx.argv[1]!);
    if (loaded instanceof RedisError) return loaded;
    sha = loaded.sha;
    // A script new to the cache reaches the replicas too, so that they can EVALSHA_RO it.
    if (loaded.added) sc.propagate(["SCRIPT", "LOAD", ctx.argv[1]!]);
  }
  return sc.run(ctx.session, sha, keys, args, ro);
}

function script(ctx: Ctx): Reply {
  const sc = scripting(ctx);
  const sub = opt(ctx.argv[1]!);
  const argc = ctx.argv.length;
  if (sub === "help" && argc === 2) {
    return [
      "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "DEBUG (YES|SYNC|NO)",
      "    Set the debug mode for subsequent scripts executed.",
      "EXISTS <sha1> [<sha1> ...]",
      "    Return information about the existence of the scripts in the script cache.",
      "FLUSH [ASYNC|SYNC]",
      "    Flush the Lua scripts cache. Very dangerous on replicas.",
      "    When called without the optional mode argument, the behavior is determined by the",
      "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
      "    * ASYNC: Asynchronously flush the scripts cache.",
      "    * SYNC: Synchronously flush the scripts cache.",
      "KILL",
      "    Kill the currently executing Lua script.",
      "LOAD <script>",
      "    Load a script into the scripts cache without executing it.",
      "HELP",
      "    Prints this help.",
    ].map((l) => new Simple(l));
  }
  if (sub === "flush") {
    if (argc === 3) {
      const mode = opt(ctx.argv[2]!);
      if (mode !== "sync" && mode !== "async") fail("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
    } else if (argc !== 2) fail("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
    sc.scripts.flush();
    sc.propagate(["SCRIPT", "FLUSH"]);
    return OK;
  }
  if (sub === "exists") {
    if (argc < 3) fail(E.arity("script|exists"));
    return ctx.argv.slice(2).map((a) => (sc.scripts.exists(str(a)) ? 1 : 0));
  }
  if (sub === "load") {
    if (argc !== 3) fail(E.arity("script|load"));
    const loaded = sc.scripts.load(ctx.argv[2]!);
    if (loaded instanceof RedisError) return loaded;
    if (loaded.added) sc.propagate(["SCRIPT", "LOAD", ctx.argv[2]!]);
    return utf8(loaded.sha);
  }
  if (sub === "kill") {
    if (argc !== 2) fail(E.arity("script|kill"));
    // A script runs synchronously inside one event of the Durable Object: no other command
    // can arrive while it runs, so there is never a busy script to kill (the time limit
    // stops runaway scripts instead).
    if (!sc.scripts.running) return new RedisError("NOTBUSY No scripts in execution right now.");
    sc.scripts.killRequested = true;
    return OK;
  }
  // SCRIPT DEBUG (the Lua debugger) is not built: it answers as an unknown subcommand.
  unknownSubcommand(ctx.argv[1]!, "script");
}

/** FCALL name numkeys key… arg… (functions.c fcallCommandGeneric). */
function fcall(ctx: Ctx, ro: boolean): Reply {
  const sc = scripting(ctx);
  const n = parseI64(ctx.argv[2]!);
  if (n === null) return new RedisError("ERR Bad number of keys provided");
  if (n > BigInt(ctx.argv.length - 3)) return new RedisError("ERR Number of keys can't be greater than number of args");
  if (n < 0n) return new RedisError("ERR Number of keys can't be negative");
  const numkeys = Number(n);
  return sc.runFunction(ctx.session, str(ctx.argv[1]!), ctx.argv.slice(3, 3 + numkeys), ctx.argv.slice(3 + numkeys), ro);
}

/** A FUNCTION subcommand that changes the libraries: refused where a write would be, then propagated. */
function functionWrite(ctx: Ctx, sub: string): void {
  if (ctx.session.readOnlyToken) fail(E.noPerm(`function|${sub}`));
  if (ctx.node.isReplica() && !ctx.session.isMasterLink) fail(E.readonly);
}

function functionCmd(ctx: Ctx): Reply {
  const sc = scripting(ctx);
  const libs = sc.scripts.functions;
  const sub = opt(ctx.argv[1]!);
  const argc = ctx.argv.length;
  switch (sub) {
    case "load": {
      if (argc < 3) fail(E.arity("function|load"));
      functionWrite(ctx, sub);
      let replace = false;
      let i = 2;
      for (; i < argc - 1; i++) {
        if (opt(ctx.argv[i]!) === "replace") replace = true;
        else return new RedisError(`ERR Unknown option given: ${str(ctx.argv[i]!)}`);
      }
      if (i >= argc) return new RedisError("ERR Function code is missing");
      const r = libs.load(ctx.argv[i]!, replace);
      if (r instanceof RedisError) return r;
      sc.propagate(ctx.argv);
      return utf8(r);
    }
    case "delete": {
      if (argc !== 3) fail(E.arity("function|delete"));
      functionWrite(ctx, sub);
      if (!libs.delete(str(ctx.argv[2]!))) return new RedisError("ERR Library not found");
      sc.propagate(ctx.argv);
      return OK;
    }
    case "flush": {
      if (argc > 3) fail(E.arity("function|flush"));
      functionWrite(ctx, sub);
      if (argc === 3) {
        const mode = opt(ctx.argv[2]!);
        if (mode !== "sync" && mode !== "async") return new RedisError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
      }
      libs.flush();
      sc.propagate(ctx.argv);
      return OK;
    }
    case "list": {
      let withCode = false;
      let pattern: Uint8Array | null = null;
      for (let i = 2; i < argc; i++) {
        const a = opt(ctx.argv[i]!);
        if (a === "withcode") withCode = true;
        else if (a === "libraryname") {
          if (i + 1 >= argc) return new RedisError("ERR library name argument was not given");
          pattern = ctx.argv[++i]!;
        } else return new RedisError(`ERR Unknown argument ${str(ctx.argv[i]!)}`);
      }
      return libs
        .all()
        .filter((l) => pattern === null || globMatch(pattern, utf8(l.name)))
        .map((l) => {
          const entries: [Reply, Reply][] = [
            [utf8("library_name"), utf8(l.name)],
            [utf8("engine"), utf8("LUA")],
            [
              utf8("functions"),
              l.functions.map(
                (f) =>
                  new RespMap([
                    [utf8("name"), utf8(f.name)],
                    [utf8("description"), f.description === null ? null : utf8(f.description)],
                    [utf8("flags"), new RespSet([...f.flags].map((x) => new Simple(x)))],
                  ]),
              ),
            ],
          ];
          if (withCode) entries.push([utf8("library_code"), l.code]);
          return new RespMap(entries);
        });
    }
    case "stats": {
      if (argc !== 2) fail(E.arity("function|stats"));
      const all = libs.all();
      return new RespMap([
        [utf8("running_script"), null],
        [
          utf8("engines"),
          new RespMap([
            [
              utf8("LUA"),
              new RespMap([
                [utf8("libraries_count"), all.length],
                [utf8("functions_count"), all.reduce((n, l) => n + l.functions.length, 0)],
              ]),
            ],
          ]),
        ],
      ]);
    }
    case "dump":
      if (argc !== 2) fail(E.arity("function|dump"));
      return dumpLibraries(libs.all().map((l) => l.code));
    case "restore": {
      if (argc < 3) fail(E.arity("function|restore"));
      if (argc > 4) fail(`ERR unknown subcommand or wrong number of arguments for '${str(ctx.argv[1]!)}'. Try FUNCTION HELP.`);
      functionWrite(ctx, sub);
      const policy = argc === 4 ? opt(ctx.argv[3]!) : "append";
      if (policy !== "append" && policy !== "replace" && policy !== "flush") {
        return new RedisError("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
      }
      const codes = parseDump(ctx.argv[2]!);
      if (typeof codes === "string") return new RedisError(codes);
      const r = libs.restore(codes, policy);
      if (r) return r;
      sc.propagate(ctx.argv);
      return OK;
    }
    case "kill":
      if (argc !== 2) fail(E.arity("function|kill"));
      // As SCRIPT KILL: a function runs inside one event of the Durable Object.
      return new RedisError("NOTBUSY No scripts in execution right now.");
    case "help":
      if (argc !== 2) break;
      return [
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "DELETE <LIBRARY NAME>",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "DUMP",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "FLUSH [ASYNC|SYNC]",
        "KILL",
        "STATS",
        "HELP",
      ].map((l) => new Simple(l));
  }
  unknownSubcommand(ctx.argv[1]!, "function");
}

/**
 * Permission categories (keyspace/permissions.ts): EVAL/EVALSHA/FCALL may write, so the
 * read-only token runs scripts only through EVAL_RO/EVALSHA_RO/FCALL_RO (flagged readonly).
 */
const SCRIPTING: readonly AclCategory[] = ["scripting"];
const READ: readonly AclCategory[] = ["read", "scripting"];
const WRITE: readonly AclCategory[] = ["write", "scripting"];

export const scriptingCommands: CommandSpec[] = [
  cmd("fcall", -3, ["noscript", "stale"], [0, 0, 0], (ctx) => fcall(ctx, false), SCRIPTING),
  cmd("fcall_ro", -3, ["readonly", "noscript", "stale"], [0, 0, 0], (ctx) => fcall(ctx, true)),
  cmd(
    "function",
    -2,
    [],
    [0, 0, 0],
    functionCmd,
    bySubcommand("function", { list: READ, dump: READ, stats: READ, help: READ, load: WRITE, delete: WRITE, flush: WRITE, restore: WRITE }),
  ),
  cmd("eval", -3, ["noscript", "stale"], [0, 0, 0], (ctx) => evalGeneric(ctx, false, false), SCRIPTING),
  cmd("evalsha", -3, ["noscript", "stale"], [0, 0, 0], (ctx) => evalGeneric(ctx, true, false), SCRIPTING),
  cmd("eval_ro", -3, ["readonly", "noscript", "stale"], [0, 0, 0], (ctx) => evalGeneric(ctx, false, true)),
  cmd("evalsha_ro", -3, ["readonly", "noscript", "stale"], [0, 0, 0], (ctx) => evalGeneric(ctx, true, true)),
  cmd("script", -2, [], [0, 0, 0], script, bySubcommand("script", { exists: READ, help: READ, load: SCRIPTING })),
];
