/**
 * Section 2 — big collections: grow one sorted set and one hash to 1k, 10k, 100k, 1M
 * members (pipelined ZADD/HSET with many members per command), and at each size time
 * single-command requests (one at a time over one connection): ZADD (score update of an
 * existing member), ZSCORE, ZRANGE 0 9, ZRANGE BYSCORE in the middle LIMIT 0 10, HGET.
 * The point: the cost per command stays flat as the collection grows. Same against
 * redis-server over TCP for reference.
 */
import type { BenchContext } from "./context.ts";
import { envInt, envInts, now, ok, pipelined, type Arg, type RespClient } from "./lib.ts";

const MEMBERS_PER_CMD = 500;
const CMDS_PER_MESSAGE = 20;
const IN_FLIGHT = 2;

type Op = { name: string; cmd: (size: number, i: number) => Arg[] };

function rnd(n: number): number {
  return Math.floor(Math.random() * n);
}

const OPS: Op[] = [
  { name: "ZADD (update score)", cmd: (size) => { const m = rnd(size); return ["ZADD", "z", String(m + 0.5), `m:${m}`]; } },
  { name: "ZSCORE", cmd: (size) => ["ZSCORE", "z", `m:${rnd(size)}`] },
  { name: "ZRANGE 0 9", cmd: () => ["ZRANGE", "z", "0", "9"] },
  { name: "ZRANGE BYSCORE mid LIMIT 0 10", cmd: (size) => { const lo = Math.floor(size / 2) + rnd(Math.max(1, Math.floor(size / 100))); return ["ZRANGE", "z", String(lo), "+inf", "BYSCORE", "LIMIT", "0", "10"]; } },
  { name: "HGET", cmd: (size) => ["HGET", "h", `f:${rnd(size)}`] },
];

function* zaddCmds(from: number, to: number): Generator<Arg[]> {
  for (let i = from; i < to; i += MEMBERS_PER_CMD) {
    const c: Arg[] = ["ZADD", "z"];
    for (let j = i; j < Math.min(to, i + MEMBERS_PER_CMD); j++) c.push(String(j), `m:${j}`);
    yield c;
  }
}

function* hsetCmds(from: number, to: number): Generator<Arg[]> {
  for (let i = from; i < to; i += MEMBERS_PER_CMD) {
    const c: Arg[] = ["HSET", "h"];
    for (let j = i; j < Math.min(to, i + MEMBERS_PER_CMD); j++) c.push(`f:${j}`, `v:${j}`);
    yield c;
  }
}

/** Mean µs per single-command request, `n` requests one after the other. */
async function timeOp(c: RespClient, op: Op, size: number, n: number): Promise<number> {
  // One warm-up request (page cache, statement cache), not counted.
  ok(await c.call(...op.cmd(size, 0)), op.name);
  const t0 = now();
  for (let i = 0; i < n; i++) ok(await c.call(...op.cmd(size, i)), op.name);
  return ((now() - t0) * 1000) / n;
}

export async function collections(ctx: BenchContext): Promise<void> {
  const sizes = envInts("BENCH_COLL_SIZES", [1_000, 10_000, 100_000, 1_000_000], [1_000, 10_000]).sort((a, b) => a - b);
  const n = envInt("BENCH_COLL_OPS", 200, 50);
  const { results } = ctx;
  const S = "2 collections";
  const db = ctx.freshDb("coll");
  const ours = await ctx.node(db, "master");
  const redis = await ctx.redis();
  const ref = await ctx.redisClient(redis);
  const byOp = new Map<string, { size: number; ours: number; redis: number }[]>();
  const build = { ours: 0, redis: 0, members: 0 };

  let have = 0;
  for (const size of sizes) {
    console.log(`[2] collections: growing z and h to ${size.toLocaleString("en-US")} members`);
    for (const [who, c] of [["ours", ours], ["redis", ref]] as const) {
      const t0 = now();
      await pipelined(c, zaddCmds(have, size), CMDS_PER_MESSAGE, IN_FLIGHT, "ZADD build");
      await pipelined(c, hsetCmds(have, size), CMDS_PER_MESSAGE, IN_FLIGHT, "HSET build");
      build[who] += (now() - t0) / 1000;
    }
    build.members += 2 * (size - have);
    have = size;
    console.log(`    built so far: ours ${build.ours.toFixed(1)} s, redis ${build.redis.toFixed(1)} s`);
    for (const op of OPS) {
      const o = await timeOp(ours, op, size, n);
      const r = await timeOp(ref, op, size, n);
      results.add({
        section: S,
        metric: `${op.name} @ ${label(size)}`,
        unit: "µs/op",
        ours: o,
        redis: r,
        how: `${n} single-command requests, one at a time (ours: one WebSocket to /db/{db}/nodes/master/ws; redis: one TCP connection), e.g. ${op.cmd(size, 0).join(" ")}`,
      });
      byOp.set(op.name, [...(byOp.get(op.name) ?? []), { size, ours: o, redis: r }]);
    }
  }
  results.add({
    section: S,
    metric: `build z + h to ${label(have)} members each`,
    unit: "members/s",
    ours: build.members / build.ours,
    redis: build.members / build.redis,
    how: `ZADD z / HSET h with ${MEMBERS_PER_CMD} members per command, ${CMDS_PER_MESSAGE} commands per message, ${IN_FLIGHT} messages in flight`,
  });
  if (sizes.length > 1) {
    for (const [name, xs] of byOp) {
      const a = xs[0]!;
      const b = xs[xs.length - 1]!;
      results.add({
        section: S,
        metric: `${name}: time @ ${label(b.size)} / time @ ${label(a.size)} (flatness)`,
        unit: "ratio",
        ours: b.ours / a.ours,
        redis: b.redis / a.redis,
        how: "the two µs/op figures above divided; 1.0 = flat",
      });
    }
  }
  // Free the memory of the reference server now; our rows stay (fresh db per run).
  await redis.stop();
}

function label(n: number): string {
  if (n >= 1_000_000 && n % 1_000_000 === 0) return `${n / 1_000_000}M`;
  if (n >= 1_000 && n % 1_000 === 0) return `${n / 1_000}k`;
  return String(n);
}
