/**
 * Section "pubsub": fan-out and delivery latency of PUBLISH over RESP WebSockets (ours) and
 * TCP (redis-server). Fan-out: S subscribers of one channel, one publisher sending M
 * pipelined PUBLISHes; the clock stops when every subscriber has every message. Latency: one
 * subscriber, one PUBLISH at a time, from sending it to the message's arrival.
 */
import { RespStream } from "../../test/node/support/resp-stream.ts";
import type { BenchContext } from "./context.ts";
import { envInt, now, ok, percentile, pipelined, type RespClient } from "./lib.ts";

const PAYLOAD = "m".repeat(100);

async function fanOut(pub: RespClient, subs: RespStream[], messages: number): Promise<number> {
  const t0 = now();
  const got = Promise.all(subs.map((s) => s.next(messages)));
  await pipelined(pub, (function* () {
    for (let i = 0; i < messages; i++) yield ["PUBLISH", "fan", PAYLOAD];
  })(), 500, 4, "PUBLISH");
  await got;
  return ((messages * subs.length) / (now() - t0)) * 1000;
}

async function latencyMs(pub: RespClient, sub: RespStream, n: number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = now();
    ok(await pub.call("PUBLISH", "lat", PAYLOAD), "PUBLISH");
    await sub.next(1);
    xs.push(now() - t0);
  }
  return percentile(xs.sort((a, b) => a - b), 50);
}

export async function pubsub(ctx: BenchContext): Promise<void> {
  const S = "pubsub";
  const subscribers = envInt("BENCH_PUBSUB_SUBSCRIBERS", 10, 4);
  const messages = envInt("BENCH_PUBSUB_MESSAGES", 20_000, 2_000);
  const latencyOps = envInt("BENCH_PUBSUB_LATENCY_OPS", 300, 50);
  const db = ctx.freshDb("ps");
  const redis = await ctx.redis();
  const sides = {
    ours: { open: () => RespStream.ws(ctx.wsUrl(db, "master"), ctx.worker.token, "node"), pub: await ctx.node(db, "master") },
    redis: { open: () => RespStream.tcp(redis.port, "redis"), pub: await ctx.redisClient(redis) },
  };
  const rate: Record<string, number> = {};
  const lat: Record<string, number> = {};
  for (const [name, side] of Object.entries(sides)) {
    const subs = await Promise.all(Array.from({ length: subscribers }, () => side.open()));
    for (const s of subs) s.send(["SUBSCRIBE", "fan"]);
    await Promise.all(subs.map((s) => s.next(1)));
    rate[name] = await fanOut(side.pub, subs, messages);
    const one = await side.open();
    one.send(["SUBSCRIBE", "lat"]);
    await one.next(1);
    lat[name] = await latencyMs(side.pub, one, latencyOps);
    for (const s of [...subs, one]) s.end();
  }
  ctx.results.add({
    section: S,
    metric: `fan-out to ${subscribers} subscribers`,
    unit: "msgs delivered/s",
    ours: rate.ours!,
    redis: rate.redis!,
    how: `${messages} PUBLISH of ${PAYLOAD.length} bytes pipelined 500 per message (4 in flight), until every subscriber has every message`,
  });
  ctx.results.add({
    section: S,
    metric: "PUBLISH → message latency p50",
    unit: "ms",
    ours: lat.ours!,
    redis: lat.redis!,
    how: `${latencyOps} PUBLISHes one at a time, each timed from sending to the subscriber's receipt`,
  });
  await redis.stop();
}
