/**
 * Section 4 — geography (issue 8): what edge read replicas buy a caller, in a simulated
 * world. Locally every Durable Object runs in one process, so DEBUG's simulation stands in
 * for distance: each request names its caller's region (`x-debug-client-region`), the
 * router waits one round trip of the RTT table (src/routing/regions.ts) for each hop to a
 * node (`x-debug-latency: <scale>`), and the master delays the stream to each replica by
 * half the round trip between their regions (DEBUG SIMULATE-LATENCY).
 *
 * a) read latency p50/p99 from each of the nine regions, master in enam and replicas in
 *    weur and apac, against the same database with no replica (reads all at the master);
 * b) read-your-writes: a client in a random region writes, then reads its write with the
 *    sync token; the fraction of those reads served by a replica (at the edge), and their
 *    latency.
 *
 *   BENCH_GEO_READS 50/15 reads per region, BENCH_GEO_RYW 300/60 write-then-read pairs,
 *   BENCH_GEO_SCALE 1 (scale of the simulated latency)
 */
import { REGIONS } from "../../src/routing/regions.ts";
import type { BenchContext } from "./context.ts";
import { envInt, now, stats } from "./lib.ts";

const S = "4 geography";

interface Answer {
  servedBy: string;
  token: number;
  result: unknown;
  ms: number;
}

export async function geography(ctx: BenchContext): Promise<void> {
  const reads = envInt("BENCH_GEO_READS", 50, 15);
  const pairs = envInt("BENCH_GEO_RYW", 300, 60);
  const scale = Number(process.env.BENCH_GEO_SCALE ?? "1");
  const { url, token } = ctx.worker;

  const call = async (db: string, body: unknown, region: string, syncToken?: number, sub = ""): Promise<Answer> => {
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      "x-debug-client-region": region,
      "x-debug-latency": String(scale),
    };
    if (syncToken !== undefined) headers["upstash-sync-token"] = String(syncToken);
    const t0 = now();
    const res = await fetch(`${url}/db/${db}${sub}`, { method: "POST", headers, body: JSON.stringify(body) });
    const json = (await res.json()) as { result?: unknown; error?: string };
    const ms = now() - t0;
    if (res.status !== 200) throw new Error(`${JSON.stringify(body)} from ${region}: ${res.status} ${JSON.stringify(json)}`);
    return { servedBy: res.headers.get("x-served-by") ?? "?", token: Number(res.headers.get("upstash-sync-token") ?? "0"), result: json.result, ms };
  };
  const admin = async (db: string, path: string, init: RequestInit = {}) => {
    const res = await fetch(`${url}/db/${db}/admin${path}`, { ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } });
    if (!res.ok) throw new Error(`admin ${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<any>;
  };
  const pinned = async (db: string, node: string, ...args: (string | number)[]) => {
    const res = await fetch(`${url}/db/${db}/nodes/${node}`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(args) });
    const json = (await res.json()) as { result?: unknown; error?: string };
    if (json.error) throw new Error(`${args.join(" ")} on ${node}: ${json.error}`);
    return json.result;
  };

  // Two databases: master in enam with replicas in weur and apac, and master only.
  const edge = ctx.freshDb("geo");
  const single = ctx.freshDb("geo1");
  for (const db of [edge, single]) {
    await pinned(db, "master", "SET", "k", "v");
    await pinned(db, "master", "DEBUG", "SET-REGION", "enam");
    await pinned(db, "master", "DEBUG", "SIMULATE-LATENCY", String(scale));
  }
  for (const [name, region] of [["eu", "weur"], ["asia", "apac"]] as const) {
    await admin(edge, "/nodes", { method: "POST", body: JSON.stringify({ name, region }) });
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    const m = await admin(edge, "/nodes/master");
    if (m.replicas.filter((r: { state: string }) => r.state === "online").length === 2) break;
    if (Date.now() > deadline) throw new Error("replicas did not come online");
    await new Promise((r) => setTimeout(r, 100));
  }
  // Let the router's view (cached ≤ 1 s) see both replicas.
  await new Promise((r) => setTimeout(r, 1500));

  // a) read latency per region.
  const table: string[] = ["| caller region | served by | p50 ms | p99 ms | master only: p50 ms | p99 ms |", "|---|---|--:|--:|--:|--:|"];
  for (const region of REGIONS) {
    const withR: number[] = [];
    const without: number[] = [];
    const servers = new Set<string>();
    for (let i = 0; i < reads; i++) {
      const a = await call(edge, ["GET", "k"], region);
      withR.push(a.ms);
      servers.add(a.servedBy);
      without.push((await call(single, ["GET", "k"], region)).ms);
    }
    const w = stats(withR.sort((x, y) => x - y));
    const o = stats(without.sort((x, y) => x - y));
    table.push(`| ${region} | ${[...servers].join(", ")} | ${w.p50.toFixed(0)} | ${w.p99.toFixed(0)} | ${o.p50.toFixed(0)} | ${o.p99.toFixed(0)} |`);
    ctx.results.add({
      section: S,
      metric: `read latency from ${region}, p50 (replicas weur+apac; master enam)`,
      unit: "ms",
      ours: w.p50,
      redis: null,
      note: `p99 ${w.p99.toFixed(0)}; served by ${[...servers].join("/")}; master only: p50 ${o.p50.toFixed(0)}, p99 ${o.p99.toFixed(0)}`,
      how: `${reads} sequential GETs through /db/{db} with x-debug-client-region ${region} and x-debug-latency ${scale} (router waits the RTT table's round trip per hop), against a database with no replica`,
    });
  }

  // b) read-your-writes: write, then read it back with the token, from a random region.
  let atEdge = 0;
  let stale = 0;
  const readMs: number[] = [];
  let syncToken = 0;
  for (let i = 0; i < pairs; i++) {
    const region = REGIONS[Math.floor(Math.random() * REGIONS.length)]!;
    const w = await call(edge, ["SET", `ryw:${i}`, String(i)], region, syncToken);
    syncToken = w.token;
    const r = await call(edge, ["GET", `ryw:${i}`], region, syncToken);
    if (r.result !== String(i)) stale++;
    if (r.servedBy !== "master") atEdge++;
    readMs.push(r.ms);
  }
  const rs = stats(readMs.sort((x, y) => x - y));
  ctx.results.add({
    section: S,
    metric: "read-your-writes: reads served at the edge (by a replica)",
    unit: "%",
    ours: (100 * atEdge) / pairs,
    redis: null,
    note: `${stale} stale of ${pairs}; read p50 ${rs.p50.toFixed(0)} ms, p99 ${rs.p99.toFixed(0)} ms`,
    how: `${pairs} pairs: SET then GET with the SET's upstash-sync-token from a random region (uniform over the nine), simulated latency ×${scale}, stream to replicas delayed by half the RTT, replicas wait ≤ ROUTE_SYNC_WAIT_MS (50 ms) for the token`,
  });
  console.log(`\n${S}: read latency by caller region (simulated, ×${scale})\n${table.join("\n")}\nread-your-writes: ${atEdge}/${pairs} reads at the edge, ${stale} stale\n`);
  for (const db of [edge, single]) await pinned(db, "master", "DEBUG", "SIMULATE-LATENCY", "0");
}
