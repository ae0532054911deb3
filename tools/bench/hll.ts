/**
 * Section "hll": HyperLogLog commands against redis-server.
 * - PFADD pipelined: one element per command, 1,000 commands per message, over 10 keys
 *   (each grows from sparse to dense on the way): commands/s.
 * - PFADD of 1,000 elements per command into a dense key: elements/s.
 * - PFCOUNT of one key, one request at a time, after a PFADD made its cache stale (the
 *   16,384-register estimate plus the write of the cache), and of three keys (a merge).
 */
import type { BenchContext } from "./context.ts";
import { envInt, now, ok, type Arg, type RespClient } from "./lib.ts";

const KEYS = 10;
const PER_MESSAGE = 1000;

async function pipelinedAdds(c: RespClient, tag: string, n: number): Promise<number> {
  const t0 = now();
  for (let i = 0; i < n; i += PER_MESSAGE) {
    const cmds: Arg[][] = [];
    for (let j = i; j < Math.min(n, i + PER_MESSAGE); j++) cmds.push(["PFADD", `${tag}${j % KEYS}`, `e${j}`]);
    for (const r of await c.send(cmds, 600_000)) ok(r, "PFADD");
  }
  return n / ((now() - t0) / 1000);
}

async function bulkAdds(c: RespClient, n: number): Promise<number> {
  const t0 = now();
  for (let i = 0; i < n; i += PER_MESSAGE) {
    const els: string[] = [];
    for (let j = i; j < Math.min(n, i + PER_MESSAGE); j++) els.push(`bulk${j}`);
    ok(await c.call("PFADD", "bulk", ...els), "PFADD bulk");
  }
  return n / ((now() - t0) / 1000);
}

async function counts(c: RespClient, n: number, keys: string[], stale: boolean): Promise<number> {
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (stale) ok(await c.call("PFADD", keys[0]!, `fresh${i}`), "PFADD");
    const t0 = now();
    ok(await c.call("PFCOUNT", ...keys), "PFCOUNT");
    total += now() - t0;
  }
  return (total * 1000) / n;
}

export async function hll(ctx: BenchContext): Promise<void> {
  const adds = envInt("BENCH_HLL_ADDS", 200_000, 20_000);
  const ops = envInt("BENCH_HLL_OPS", 200, 30);
  const S = "hll";
  const ours = await ctx.node(ctx.freshDb("hll"), "master");
  const redis = await ctx.redis();
  const ref = await ctx.redisClient(redis);
  const [o1, r1] = [await pipelinedAdds(ours, "p", adds), await pipelinedAdds(ref, "p", adds)];
  ctx.results.add({
    section: S,
    metric: "PFADD pipelined, one element each",
    unit: "cmd/s",
    ours: o1,
    redis: r1,
    how: `${adds} PFADD key e<i> over ${KEYS} keys (sparse, then dense), ${PER_MESSAGE} commands per message, one message in flight`,
  });
  const [o2, r2] = [await bulkAdds(ours, adds), await bulkAdds(ref, adds)];
  ctx.results.add({
    section: S,
    metric: "PFADD of 1,000 elements per command",
    unit: "elements/s",
    ours: o2,
    redis: r2,
    how: `${adds} elements into one key, ${PER_MESSAGE} per PFADD, one at a time`,
  });
  for (const [what, keys, stale] of [
    ["PFCOUNT one dense key, stale cache", ["p0"], true],
    ["PFCOUNT one dense key, cached", ["p0"], false],
    ["PFCOUNT of 3 keys (merge)", ["p0", "p1", "bulk"], false],
  ] as const) {
    const o = await counts(ours, ops, [...keys], stale);
    const r = await counts(ref, ops, [...keys], stale);
    ctx.results.add({
      section: S,
      metric: what,
      unit: "µs/op",
      ours: o,
      redis: r,
      how: `${ops} single PFCOUNT ${keys.join(" ")} requests, one at a time${stale ? ", each after a PFADD that changed the key (timed: the PFCOUNT only)" : ""}`,
    });
  }
  await redis.stop();
}
