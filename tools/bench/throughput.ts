/**
 * Section 1 — throughput of pipelined SET and GET:
 *   - redis-benchmark -P 100 through the RESP gateway (TCP → WebSocket → our master node),
 *   - REST /pipeline (batches of 1000 commands, a few concurrent HTTP clients),
 *   - redis-benchmark -P 100 against redis-server, the reference for both.
 */
import { startGateway } from "../gateway.ts";
import type { BenchContext } from "./context.ts";
import { envInt, now, redisBenchmark } from "./lib.ts";

export async function throughput(ctx: BenchContext): Promise<void> {
  const n = envInt("BENCH_THROUGHPUT_N", 200_000, 20_000);
  const clients = envInt("BENCH_THROUGHPUT_CLIENTS", 50, 20);
  const restN = envInt("BENCH_REST_N", 200_000, 20_000);
  const restClients = envInt("BENCH_REST_CLIENTS", 4, 4);
  const restBatch = Math.min(1000, envInt("BENCH_REST_BATCH", 1000, 1000));
  const keyspace = 100_000;
  const timeoutMs = 10 * 60_000;
  const { results } = ctx;
  const S = "1 throughput";

  // The same redis-benchmark arguments against both.
  const rbArgs = ["-t", "set,get", "-P", "100", "-n", String(n), "-c", String(clients), "-r", String(keyspace), "-d", "16"];
  const how = `redis-benchmark ${rbArgs.join(" ")}`;

  console.log(`[1] throughput: ${how}`);
  const redis = await ctx.redis();
  const ref = await redisBenchmark(redis.port, rbArgs, timeoutMs);
  await redis.stop();

  const db = ctx.freshDb("tp");
  const gw = await startGateway({ port: 0, url: ctx.worker.url, db, node: "master", token: ctx.worker.token, verbose: process.env.BENCH_VERBOSE === "1" });
  let ours: Record<string, number>;
  try {
    try {
      ours = await redisBenchmark(gw.port, rbArgs, timeoutMs);
    } catch (e) {
      // Seen once: "Server closed the connection" between the SET and GET runs. Record it, retry once.
      results.problem(`redis-benchmark through the gateway failed, retrying once: ${(e as Error).message.split("\n").filter(Boolean).slice(-2).join(" / ")}`);
      ours = await redisBenchmark(gw.port, rbArgs, timeoutMs);
    }
  } finally {
    await gw.close();
  }
  for (const t of ["SET", "GET"]) {
    results.add({
      section: S,
      metric: `${t}, RESP over WebSocket via gateway, -P 100`,
      unit: "ops/s",
      ours: ours[t] ?? null,
      redis: ref[t] ?? null,
      how: `${how} (ours: through tools/gateway.ts → /db/{db}/nodes/master/ws)`,
    });
  }

  // REST /pipeline: batches of `restBatch` commands, `restClients` requests in flight.
  const url = `${ctx.worker.url}/db/${ctx.freshDb("rest")}/pipeline`;
  const headers = { authorization: `Bearer ${ctx.worker.token}`, "content-type": "application/json" };
  const value = "x".repeat(16);
  const batches = Math.ceil(restN / restBatch);
  const run = async (kind: "SET" | "GET"): Promise<number> => {
    let next = 0;
    const t0 = now();
    const worker = async () => {
      while (next < batches) {
        const b = next++;
        const cmds: string[][] = [];
        for (let i = 0; i < restBatch; i++) {
          const k = `key:${(b * restBatch + i) % keyspace}`;
          cmds.push(kind === "SET" ? ["SET", k, value] : ["GET", k]);
        }
        const res = await fetch(url, { method: "POST", headers, body: JSON.stringify(cmds), signal: AbortSignal.timeout(120_000) });
        const body = (await res.json()) as { result?: unknown; error?: string }[] | { error: string };
        if (!res.ok || !Array.isArray(body)) throw new Error(`REST pipeline: HTTP ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
        const bad = body.find((r) => r.error !== undefined);
        if (bad) throw new Error(`REST pipeline: ${bad.error}`);
      }
    };
    await Promise.all(Array.from({ length: restClients }, worker));
    return (batches * restBatch) / ((now() - t0) / 1000);
  };
  for (const t of ["SET", "GET"] as const) {
    const ops = await run(t);
    results.add({
      section: S,
      metric: `${t}, REST /pipeline, ${restBatch} per request`,
      unit: "ops/s",
      ours: ops,
      redis: ref[t] ?? null,
      how: `node fetch, ${restClients} concurrent POST /db/{db}/pipeline of ${restBatch} ${t}s, ${batches * restBatch} commands; redis: ${how}`,
    });
  }
}
