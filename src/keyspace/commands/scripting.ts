/**
 * Scripting commands: EVAL EVALSHA EVAL_RO EVALSHA_RO SCRIPT (Redis 7.0 eval.c). The Lua
 * side lives in src/scripting/; the engine hands it a way to run redis.call() inside the
 * caller's execution unit (ctx.scripting).
 */
import { OK, RedisError, type Reply, Simple } from "../../protocol/reply.ts";
import { NOSCRIPT } from "../../scripting/scripting.ts";
import { str, utf8 } from "../../util/bytes.ts";
import { parseI64 } from "../../util/numbers.ts";
import { opt } from "../args.ts";
import { type CommandSpec, type Ctx, cmd } from "../command.ts";
import { E, fail } from "../errors.ts";

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
  fail(`ERR unknown subcommand '${str(ctx.argv[1]!).slice(0, 128)}'. Try SCRIPT HELP.`);
}

export const scriptingCommands: CommandSpec[] = [
  cmd("eval", -3, ["noscript", "stale"], [0, 0, 0], (ctx) => evalGeneric(ctx, false, false)),
  cmd("evalsha", -3, ["noscript", "stale"], [0, 0, 0], (ctx) => evalGeneric(ctx, true, false)),
  cmd("eval_ro", -3, ["readonly", "noscript", "stale"], [0, 0, 0], (ctx) => evalGeneric(ctx, false, true)),
  cmd("evalsha_ro", -3, ["readonly", "noscript", "stale"], [0, 0, 0], (ctx) => evalGeneric(ctx, true, true)),
  cmd("script", -2, [], [0, 0, 0], script),
];
