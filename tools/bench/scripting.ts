/**
 * Section — Lua scripting (EVAL/EVALSHA on Fengari inside the node) next to redis-server:
 *  - first EVAL on a fresh node (creates the Lua VM and compiles), then a cached EVALSHA;
 *  - a 100,000-iteration loop in one script;
 *  - redis.call() overhead: a script doing 1,000 GETs minus an empty script, per call;
 *  - EVALSHA of @upstash/ratelimit's sliding-window script (read from the installed
 *    package), pipelined: ops/s. redis-server refuses Upstash's `allow-key-locking` flag,
 *    so it gets the same body without the shebang line.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { BenchContext } from "./context.ts";
import { envInt, now, ok, pipelined, type Arg, type RespClient } from "./lib.ts";

const LOOP = "local s = 0 for i = 1, 100000 do s = s + i end return s";
const CALLS = "for i = 1, 1000 do redis.call('get', 'k') end return 1";
const EMPTY = "return 1";

/** The sliding-window limit script as the published @upstash/ratelimit ships it. */
function slidingWindowScript(): string {
  const req = createRequire(import.meta.url);
  const file = req.resolve("@upstash/ratelimit").replace(/index\.js$/, "index.mjs");
  const m = /var slidingWindowLimitScript = `([^`]*)`/.exec(readFileSync(file, "utf8"));
  if (!m) throw new Error("slidingWindowLimitScript not found in @upstash/ratelimit");
  return m[1]!;
}

const sha1 = (s: string) => createHash("sha1").update(s).digest("hex");

/** Mean ms of `n` sequential calls of one command. */
async function timeCalls(c: RespClient, argv: Arg[], n: number): Promise<number> {
  ok(await c.call(...argv), String(argv[0]));
  const t0 = now();
  for (let i = 0; i < n; i++) ok(await c.call(...argv), String(argv[0]));
  return (now() - t0) / n;
}

export async function scripting(ctx: BenchContext): Promise<void> {
  const n = envInt("BENCH_SCRIPT_CALLS", 50, 10);
  const rlOps = envInt("BENCH_RATELIMIT_OPS", 20_000, 2_000);
  const r = await ctx.redis();
  const rc = await ctx.redisClient(r);
  const db = ctx.freshDb("lua");
  const oc = await ctx.node(db, "master");

  // First EVAL on a fresh node: Lua VM creation + compile + run, then the same script cached.
  let t0 = now();
  ok(await oc.call("EVAL", EMPTY, "0"), "EVAL");
  const firstOurs = now() - t0;
  t0 = now();
  ok(await rc.call("EVAL", EMPTY, "0"), "EVAL");
  const firstRedis = now() - t0;
  ctx.results.add({ section: "scripting", metric: "first EVAL on a fresh node (VM start-up)", unit: "ms", ours: firstOurs, redis: firstRedis, how: `one EVAL "${EMPTY}" 0 right after the node's first command` });
  const cached = [await timeCalls(oc, ["EVALSHA", sha1(EMPTY), "0"], n), await timeCalls(rc, ["EVALSHA", sha1(EMPTY), "0"], n)] as const;
  ctx.results.add({ section: "scripting", metric: "EVALSHA of an empty script", unit: "ms", ours: cached[0], redis: cached[1], how: `${n} sequential EVALSHA "${EMPTY}", mean` });

  const loop = [await timeCalls(oc, ["EVAL", LOOP, "0"], n), await timeCalls(rc, ["EVAL", LOOP, "0"], n)] as const;
  ctx.results.add({ section: "scripting", metric: "100k-iteration Lua loop", unit: "ms", ours: loop[0], redis: loop[1], how: `${n} sequential EVAL "${LOOP}", mean` });

  await Promise.all([oc.call("SET", "k", "v"), rc.call("SET", "k", "v")]);
  const calls = [await timeCalls(oc, ["EVAL", CALLS, "0"], n), await timeCalls(rc, ["EVAL", CALLS, "0"], n)] as const;
  ctx.results.add({
    section: "scripting",
    metric: "redis.call() overhead (GET)",
    unit: "µs/call",
    ours: ((calls[0] - cached[0]) * 1000) / 1000,
    redis: ((calls[1] - cached[1]) * 1000) / 1000,
    how: `(mean of ${n} EVAL "${CALLS}" − mean EVALSHA of an empty script) / 1000`,
  });

  // @upstash/ratelimit's sliding window, as the library calls it: EVALSHA with 3 keys, 4 args.
  const ours = slidingWindowScript();
  const theirs = ours.replace(/^#![^\n]*/, "");
  ok(await oc.call("SCRIPT", "LOAD", ours), "SCRIPT LOAD");
  ok(await rc.call("SCRIPT", "LOAD", theirs), "SCRIPT LOAD");
  const cmds = (sha: string) =>
    function* () {
      for (let i = 0; i < rlOps; i++) yield ["EVALSHA", sha, "3", `rl:${i % 100}:cur`, `rl:${i % 100}:prev`, "", "1000000", String(Date.now()), "60000", "1"] as Arg[];
    };
  t0 = now();
  await pipelined(oc, cmds(sha1(ours))(), 100, 4, "ratelimit EVALSHA");
  const oursOps = rlOps / ((now() - t0) / 1000);
  t0 = now();
  await pipelined(rc, cmds(sha1(theirs))(), 100, 4, "ratelimit EVALSHA");
  const redisOps = rlOps / ((now() - t0) / 1000);
  ctx.results.add({
    section: "scripting",
    metric: "EVALSHA @upstash/ratelimit slidingWindow",
    unit: "ops/s",
    ours: oursOps,
    redis: redisOps,
    how: `${rlOps} EVALSHA (3 keys over 100 identifiers), 100 per message, 4 messages in flight`,
  });
}
