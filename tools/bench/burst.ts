/**
 * Sections 4 and 5 — replication that keeps up (issue 7), ours side by side with redis-server
 * master + replicas on loopback:
 *   4 burst: N SETs written at once (REST /pipeline of 1,000 per request, or one write of all
 *     N through the RESP gateway, the way `redis-cli --pipe` does), with 1 and 2 replicas:
 *     time from the last acknowledgement until every replica has the master's offset, and the
 *     worst master PING latency from the start of the burst until then.
 *   5 sustained: pipelined SETs at the master's maximum rate for S seconds with 2 replicas:
 *     replica lag p50/p99/max (time until a replica reaches the offset the master had at a
 *     sample point) and its trend, and the master's throughput with 2 replicas vs none.
 *
 *   BENCH_BURST_SIZES 10000,100000 / 10000     BENCH_BURST_REPLICAS 1,2
 *   BENCH_SUSTAIN_SECONDS 60 / 5
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startGateway } from "../gateway.ts";
import type { BenchContext } from "./context.ts";
import { connectTcp, envInt, envInts, info, now, ok, sleep, stats, text, waitFor, withTimeout, type Arg, type RespClient } from "./lib.ts";

const REDIS_REPL_ARGS = ["--repl-diskless-sync-delay", "0"];
/** Pause between two GETs of the lag mark on one replica (the lag figures' resolution). */
const LAG_POLL_MS = envInt("BENCH_LAG_POLL_MS", 5, 5);

/** A master and its replicas, ours or redis, behind one interface. */
interface Cluster {
  who: "ours" | "redis";
  /** Connection for the writer (ours: the node's RESP WebSocket; redis: TCP). */
  master: RespClient;
  /** Second connection to the master for PING and offsets. */
  probe: RespClient;
  replicas: RespClient[];
  /** Where a separate pinger process connects: ["ws", url, token] or ["tcp", port]. */
  pingTarget: string[];
  /** REST pipeline URL (ours only) and a gateway port for one big RESP write. */
  restUrl?: string;
  headers?: Record<string, string>;
  gatewayPort?: number;
  /** Ours: each replica's lag at its ACKs as the master measured it (admin API replicas[].ackLag). */
  ackLags?(): Promise<{ name: string; samples: number; p50: number; p99: number; max: number }[]>;
  close(): Promise<void>;
}

async function oursCluster(ctx: BenchContext, tag: string, nReplicas: number): Promise<Cluster> {
  const db = ctx.freshDb(tag);
  const master = await ctx.node(db, "master");
  const probe = await ctx.node(db, "master");
  ok(await master.call("SET", "seed", "1"), "SET");
  const replicas: RespClient[] = [];
  for (let i = 1; i <= nReplicas; i++) {
    const r = await ctx.node(db, `r${i}`);
    ok(await r.call("REPLICAOF", "master"), "REPLICAOF");
    replicas.push(r);
  }
  const gw = await startGateway({ port: 0, url: ctx.worker.url, db, node: "master", token: ctx.worker.token, verbose: process.env.BENCH_VERBOSE === "1" });
  const c: Cluster = {
    who: "ours",
    master,
    probe,
    replicas,
    pingTarget: ["ws", ctx.wsUrl(db, "master"), ctx.worker.token],
    restUrl: `${ctx.worker.url}/db/${db}/pipeline`,
    headers: { authorization: `Bearer ${ctx.worker.token}`, "content-type": "application/json" },
    gatewayPort: gw.port,
    ackLags: async () => {
      const res = await fetch(`${ctx.worker.url}/db/${db}/admin/nodes/master`, { headers: { authorization: `Bearer ${ctx.worker.token}` } });
      if (!res.ok) throw new Error(`admin: HTTP ${res.status}`);
      const body = (await res.json()) as { replicas: { name: string; ackLag: { samples: number; p50: number; p99: number; max: number } | null }[] };
      return body.replicas.map((r) => ({ name: r.name, ...(r.ackLag ?? { samples: 0, p50: NaN, p99: NaN, max: NaN }) }));
    },
    close: async () => {
      await gw.close();
      // Replicas still behind must not keep applying (on the same workerd thread) into the next measurement.
      for (const r of replicas) ok(await r.call("REPLICAOF", "NO", "ONE"), "REPLICAOF NO ONE");
    },
  };
  await linkedAndCaughtUp(c);
  return c;
}

async function redisCluster(ctx: BenchContext, nReplicas: number): Promise<Cluster> {
  const ms = await ctx.redis(REDIS_REPL_ARGS);
  const master = await ctx.redisClient(ms);
  const probe = await ctx.redisClient(ms);
  ok(await master.call("SET", "seed", "1"), "SET");
  const servers: Awaited<ReturnType<BenchContext["redis"]>>[] = [];
  const replicas: RespClient[] = [];
  for (let i = 0; i < nReplicas; i++) {
    const rs = await ctx.redis(REDIS_REPL_ARGS);
    servers.push(rs);
    const r = await ctx.redisClient(rs);
    ok(await r.call("REPLICAOF", "127.0.0.1", String(ms.port)), "REPLICAOF");
    replicas.push(r);
  }
  const c: Cluster = {
    who: "redis",
    master,
    probe,
    replicas,
    gatewayPort: ms.port,
    pingTarget: ["tcp", String(ms.port)],
    close: async () => {
      for (const s of [ms, ...servers]) await s.stop();
    },
  };
  await linkedAndCaughtUp(c);
  return c;
}

const masterOffset = async (c: Cluster) => Number((await info(c.probe, "replication")).master_repl_offset);
/** A replica's applied offset (ours: its own backlog offset; redis: slave_repl_offset). */
const replicaOffset = async (r: RespClient) => {
  const i = await info(r, "replication");
  return i.master_link_status === "up" ? Number(i.slave_repl_offset) : -1;
};

async function linkedAndCaughtUp(c: Cluster): Promise<void> {
  await waitFor(`${c.who}: replicas linked and caught up`, 120_000, 20, async () => {
    const m = await masterOffset(c);
    for (const r of c.replicas) if ((await replicaOffset(r)) < m) return null;
    return true;
  });
}

function setCmds(n: number, tag: string): Arg[][] {
  const out: Arg[][] = [];
  for (let i = 0; i < n; i++) out.push(["SET", `${tag}:${i}`, `value-${String(i).padStart(10, "0")}`]);
  return out;
}

const PINGER = fileURLToPath(new URL("./pinger.ts", import.meta.url));
const TSX = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));

/**
 * PINGs back to back from a separate process (see pinger.ts); `stop()` resolves with the worst
 * round trip in ms.
 */
async function startPinger(target: string[]): Promise<{ stop(): Promise<number> }> {
  const child = spawn(TSX, [PINGER, ...target], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  const lines: ((l: string) => void)[] = [];
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    let i: number;
    while ((i = out.indexOf("\n")) >= 0) {
      const l = out.slice(0, i);
      out = out.slice(i + 1);
      lines.shift()?.(l);
    }
  });
  const line = () => new Promise<string>((resolve) => lines.push(resolve));
  const ready = await withTimeout("pinger start", 60_000, line);
  if (ready !== "ready") throw new Error(`pinger: ${ready}`);
  return {
    async stop() {
      const res = line();
      child.stdin.write("stop\n");
      return (JSON.parse(await withTimeout("pinger stop", 60_000, () => res)) as { worstMs: number }).worstMs;
    },
  };
}

type BurstMode = "rest" | "gateway";

/** One burst; returns catch-up ms (last ack → all replicas at the master's offset) and worst PING. */
async function burst(c: Cluster, n: number, mode: BurstMode, tag: string): Promise<{ writeMs: number; catchUpMs: number; worstPingMs: number }> {
  const cmds = setCmds(n, tag);
  const ping = await startPinger(c.pingTarget);
  const t0 = now();
  if (mode === "gateway") {
    // One write of all N commands, as `redis-cli --pipe` does (redis: straight to the server).
    const conn = await connectTcp(c.gatewayPort!);
    try {
      const replies = await conn.send(cmds, 600_000);
      for (const r of replies) ok(r, "SET");
    } finally {
      await conn.close();
    }
  } else if (c.restUrl) {
    // REST /pipeline of 1,000, every request in flight at once (a burst).
    await Promise.all(
      Array.from({ length: Math.ceil(n / 1000) }, async (_, b) => {
        const res = await fetch(c.restUrl!, { method: "POST", headers: c.headers, body: JSON.stringify(cmds.slice(b * 1000, (b + 1) * 1000)), signal: AbortSignal.timeout(600_000) });
        const body = (await res.json()) as { error?: string }[];
        if (!res.ok || !Array.isArray(body)) throw new Error(`REST pipeline: HTTP ${res.status}`);
        const bad = body.find((r) => r.error !== undefined);
        if (bad) throw new Error(`REST pipeline: ${bad.error}`);
      }),
    );
  } else {
    // redis has no REST: the same batches of 1,000 as RESP pipelines on one connection, all in flight.
    await Promise.all(
      Array.from({ length: Math.ceil(n / 1000) }, async (_, b) => {
        for (const r of await c.master.send(cmds.slice(b * 1000, (b + 1) * 1000), 600_000)) ok(r, "SET");
      }),
    );
  }
  const tAck = now();
  const target = await masterOffset(c);
  let tCaught: number;
  try {
    await waitFor(`${c.who}: replicas at offset ${target}`, 600_000, 5, async () => {
      for (const r of c.replicas) if ((await replicaOffset(r)) < target) return null;
      return true;
    });
  } finally {
    tCaught = now();
  }
  const worstPingMs = await ping.stop();
  return { writeMs: tAck - t0, catchUpMs: tCaught - tAck, worstPingMs };
}

export async function burstSection(ctx: BenchContext): Promise<void> {
  const sizes = envInts("BENCH_BURST_SIZES", [10_000, 100_000], [10_000]);
  const replicaCounts = envInts("BENCH_BURST_REPLICAS", [1, 2], [1, 2]);
  const S = "4 burst";
  for (const nr of replicaCounts) {
    const ours = await oursCluster(ctx, `burst${nr}`, nr);
    const redis = await redisCluster(ctx, nr);
    try {
      for (const n of sizes) {
        for (const mode of ["rest", "gateway"] as const) {
          const res: Record<string, Awaited<ReturnType<typeof burst>>> = {};
          for (const c of [ours, redis]) {
            console.log(`[4] ${c.who}: burst of ${n} SETs (${mode}), ${nr} replica(s)`);
            res[c.who] = await burst(c, n, mode, `b${n}${mode}`);
            await sleep(200);
          }
          const label = mode === "rest" ? "REST /pipeline of 1,000 (redis: RESP pipelines of 1,000)" : "one write through the gateway (redis: one write)";
          const how =
            `${n.toLocaleString("en-US")} SETs, ${label}, all in flight at once; ${nr} replica(s) linked and caught up before; ` +
            "catch-up = last acknowledgement → every replica's applied offset (INFO replication) ≥ the master's master_repl_offset, polled every 5 ms; " +
            "PING = worst round trip of back-to-back PINGs to the master from a separate process (tools/bench/pinger.ts), from the start of the burst until caught up";
          ctx.results.add({ section: S, metric: `${n.toLocaleString("en-US")} SETs ${mode}, ${nr} replica(s): write → last ack`, unit: "ms", ours: res.ours!.writeMs, redis: res.redis!.writeMs, how });
          ctx.results.add({ section: S, metric: `${n.toLocaleString("en-US")} SETs ${mode}, ${nr} replica(s): last ack → replicas caught up`, unit: "ms", ours: res.ours!.catchUpMs, redis: res.redis!.catchUpMs, how });
          ctx.results.add({ section: S, metric: `${n.toLocaleString("en-US")} SETs ${mode}, ${nr} replica(s): worst master PING`, unit: "ms", ours: res.ours!.worstPingMs, redis: res.redis!.worstPingMs, how });
        }
      }
    } finally {
      await ours.close();
      await redis.close();
    }
  }
}

// ─── sustained writes ────────────────────────────────────────────────────────

/**
 * Pipelined SETs at the maximum rate for `seconds` (batches of 1,000, 2 in flight on one
 * connection). Each batch ends with `SET lagmark <batch>`; pollers GET lagmark on every replica
 * back to back. Lag of a batch on a replica = when the replica first showed it − when the
 * master acknowledged it (no INFO on the busy master needed).
 */
async function sustained(c: Cluster, seconds: number): Promise<{ opsPerS: number; lagMs: number[]; firstThirdMs: number; lastThirdMs: number; missing: number }> {
  let stop = false;
  let acked = 0;
  let batchesWritten = -1;
  const ackAt: number[] = [];
  const seen: number[][] = c.replicas.map(() => []);
  ok(await c.master.call("SET", "lagmark", "-1"), "SET");
  await linkedAndCaughtUp(c);
  const t0 = now();
  const writer = (async () => {
    let b = 0;
    const inflight = new Set<Promise<void>>();
    while (!stop) {
      const batch = b++;
      const cmds = setCmds(999, `sus${batch}`);
      cmds.push(["SET", "lagmark", String(batch)]);
      const p: Promise<void> = c.master.send(cmds, 600_000).then((rs) => {
        for (const r of rs) ok(r, "SET");
        ackAt[batch] = now();
        acked += rs.length;
      });
      const tracked = p.finally(() => inflight.delete(tracked));
      inflight.add(tracked);
      if (inflight.size >= 2) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    batchesWritten = b;
    return b;
  })();
  const pollers = c.replicas.map(async (r, i) => {
    let last = -1;
    const mine = seen[i]!;
    // Until the last batch is seen: batches still in flight at `stop` are acknowledged after it.
    while (batchesWritten < 0 || last < batchesWritten - 1) {
      if (stop && now() - t0 > seconds * 1000 + 60_000) break;
      const v = Number(text(ok(await r.call("GET", "lagmark"), "GET")));
      const t = now();
      for (let j = last + 1; j <= v; j++) mine[j] = t;
      if (v > last) last = v;
      // Paced: polled back to back, two pollers took about a third of local workerd's one
      // thread (shared by the master and both replicas) from the nodes being measured.
      await sleep(LAG_POLL_MS);
    }
  });
  await sleep(seconds * 1000);
  stop = true;
  const batches = await writer;
  const elapsed = (now() - t0) / 1000;
  await Promise.all(pollers);
  const lagMs: number[] = [];
  let missing = 0;
  const per: number[] = [];
  for (let b = 0; b < batches; b++) {
    let worst = 0;
    for (const mine of seen) {
      const t = mine[b];
      if (t === undefined || ackAt[b] === undefined) missing++;
      else {
        lagMs.push(Math.max(0, t - ackAt[b]!));
        worst = Math.max(worst, t - ackAt[b]!);
      }
    }
    per.push(worst);
  }
  const third = Math.max(1, Math.floor(per.length / 3));
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : NaN);
  return { opsPerS: acked / elapsed, lagMs, firstThirdMs: mean(per.slice(0, third)), lastThirdMs: mean(per.slice(-third)), missing };
}

export async function sustainedSection(ctx: BenchContext): Promise<void> {
  const seconds = envInt("BENCH_SUSTAIN_SECONDS", 60, 5);
  const S = "5 sustained";
  const r: Record<string, { with2: Awaited<ReturnType<typeof sustained>>; none: number }> = {};
  let ackLags: Awaited<ReturnType<NonNullable<Cluster["ackLags"]>>> = [];
  for (const who of ["ours", "redis"] as const) {
    const solo = who === "ours" ? await oursCluster(ctx, "sus0", 0) : await redisCluster(ctx, 0);
    console.log(`[5] ${who}: ${seconds} s of max-rate pipelined SETs, no replica`);
    const none = (await sustained(solo, seconds)).opsPerS;
    await solo.close();
    const two = who === "ours" ? await oursCluster(ctx, "sus2", 2) : await redisCluster(ctx, 2);
    console.log(`[5] ${who}: ${seconds} s of max-rate pipelined SETs, 2 replicas`);
    const with2 = await sustained(two, seconds);
    if (two.ackLags) ackLags = await two.ackLags();
    await two.close();
    if (with2.missing) ctx.results.problem(`${who}: ${with2.missing} lag samples never reached by a replica within 60 s of the end`);
    r[who] = { with2, none };
  }
  const how =
    `${seconds} s of SETs in pipelines of 1,000 (the last one SET lagmark <batch>), 2 in flight on one master connection (ours: RESP over WebSocket to the master node); ` +
    `each replica is polled with GET lagmark every ${LAG_POLL_MS} ms; a batch's lag on a replica = when the replica first showed it − when the master acknowledged it`;
  const so = stats(r.ours!.with2.lagMs);
  const sr = stats(r.redis!.with2.lagMs);
  for (const q of ["p50", "p99", "max"] as const) {
    ctx.results.add({ section: S, metric: `replica lag ${q}, 2 replicas, max write rate`, unit: "ms", ours: so[q], redis: sr[q], how, note: `${so.n} / ${sr.n} samples` });
  }
  // Ours only: measured inside the master, without the time a client's GET waits to reach a replica.
  const worst = (q: "p50" | "p99" | "max") => Math.max(...ackLags.map((l) => l[q]));
  for (const q of ["p50", "p99", "max"] as const) {
    ctx.results.add({
      section: S,
      metric: `replica lag at its ACKs (master's view) ${q}, worst replica`,
      unit: "ms",
      ours: ackLags.length ? worst(q) : null,
      redis: null,
      how: "admin API replicas[].ackLag of the master after the run: at each REPLCONF ACK, how long the oldest byte the replica had not acknowledged had been waiting (replicas ACK at least every 100 ms while the stream flows)",
      note: ackLags.map((l) => `${l.name}: ${l.samples} ACKs`).join(", "),
    });
  }
  ctx.results.add({ section: S, metric: "replica lag trend: mean of the last third / first third", unit: "×", ours: r.ours!.with2.lastThirdMs / r.ours!.with2.firstThirdMs, redis: r.redis!.with2.lastThirdMs / r.redis!.with2.firstThirdMs, how: "worst replica's lag per sample, averaged over the first and the last third of the run (≈1 or below: bounded, not growing)" });
  ctx.results.add({ section: S, metric: "master SETs/s, no replica", unit: "ops/s", ours: r.ours!.none, redis: r.redis!.none, how });
  ctx.results.add({ section: S, metric: "master SETs/s, 2 replicas", unit: "ops/s", ours: r.ours!.with2.opsPerS, redis: r.redis!.with2.opsPerS, how });
  ctx.results.add({ section: S, metric: "throughput with 2 replicas / with none", unit: "×", ours: r.ours!.with2.opsPerS / r.ours!.none, redis: r.redis!.with2.opsPerS / r.redis!.none, how: "the two rows above" });
}
