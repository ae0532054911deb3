/**
 * `npm run bench`: our service (the Worker in local workerd, via wrangler's
 * unstable_startWorker, fresh storage) side by side with a real redis-server, on this
 * machine, in the same run; figures and ratios (ours / redis) printed as a table and
 * written to bench-out/results.json and bench-out/results.md.
 *
 *   npm run bench                      full sizes (~10–15 min on 2 cores)
 *   BENCH_QUICK=1 npm run bench        everything small (< 2 min)
 *   BENCH_SECTIONS=throughput,collections,replication,burst,sustained,scripting,geography,interop,bitmaps,hll,pubsub   run only some sections
 *
 * Sizes (defaults full / quick):
 *   BENCH_THROUGHPUT_N 200000/20000, BENCH_THROUGHPUT_CLIENTS 50/20 (redis-benchmark -n, -c)
 *   BENCH_REST_N 200000/20000, BENCH_REST_CLIENTS 4, BENCH_REST_BATCH 1000
 *   BENCH_COLL_SIZES 1000,10000,100000,1000000 / 1000,10000; BENCH_COLL_OPS 200/50
 *   BENCH_LAG_RATE 300/200 writes/s, BENCH_LAG_SECONDS 20/4
 *   BENCH_SYNC_KEYS 100000,1000000 / 10000; BENCH_PSYNC_CMDS 1000/200
 *   BENCH_LAT_OPS 300/100 (single SETs for the write-latency comparison)
 *   BENCH_BURST_SIZES 10000,100000/10000, BENCH_BURST_REPLICAS 1,2; BENCH_SUSTAIN_SECONDS 60/5,
 *   BENCH_LAG_POLL_MS 5 (pause between the sustained section's GETs of the lag mark on a replica)
 *   BENCH_SCRIPT_CALLS 50/10 (sequential EVALs per figure), BENCH_RATELIMIT_OPS 20000/2000
 *   BENCH_INTEROP_KEYS 1000000/10000 (full syncs from and to a real redis-server)
 *   BENCH_HLL_ADDS 200000/20000 (PFADD elements), BENCH_HLL_OPS 200/30 (PFCOUNT requests per figure)
 *   BENCH_PUBSUB_SUBSCRIBERS 10/4, BENCH_PUBSUB_MESSAGES 20000/2000, BENCH_PUBSUB_LATENCY_OPS 300/50
 *   BENCH_OUT bench-out
 *   BENCH_SOURCE=worktree   bundle the working tree instead of the committed HEAD (see worker.ts)
 *   BENCH_REPLY_TIMEOUT_S 300, BENCH_VERBOSE=1 (workerd logs, gateway connection log)
 *
 * Needs redis-server and redis-benchmark (apt-get install -y redis-server redis-tools).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { bitmaps } from "./bitmaps.ts";
import { burstSection, sustainedSection } from "./burst.ts";
import { collections } from "./collections.ts";
import { geography } from "./geography.ts";
import { hll } from "./hll.ts";
import { interop } from "./interop.ts";
import { makeContext, type BenchContext } from "./context.ts";
import { fmt, fmtRatio, missingTools, QUICK, Results, workerdRssMiB, type Row } from "./lib.ts";
import { pubsub } from "./pubsub.ts";
import { replication } from "./replication.ts";
import { scripting } from "./scripting.ts";
import { throughput } from "./throughput.ts";
import { startBenchWorker } from "./worker.ts";

// Bench requests may legitimately take minutes (a 1M-key DEBUG DIGEST, INFO while loading).
process.env.RESP_REPLY_TIMEOUT_S ??= process.env.BENCH_REPLY_TIMEOUT_S ?? "300";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const SECTIONS: Record<string, (ctx: BenchContext) => Promise<void>> = {
  throughput,
  collections,
  replication,
  burst: burstSection,
  sustained: sustainedSection,
  scripting,
  geography,
  interop,
  bitmaps,
  hll,
  pubsub,
};

async function main(): Promise<number> {
  const missing = missingTools();
  if (missing.length > 0) {
    console.error(
      `npm run bench: missing ${missing.join(" and ")}.\n` +
        "The benchmark compares against a real Redis on this machine. Install it with:\n" +
        "  apt-get update && apt-get install -y redis-server redis-tools\n" +
        "(or point REDIS_SERVER_BIN / REDIS_BENCHMARK_BIN at the binaries).",
    );
    return 2;
  }
  const wanted = (process.env.BENCH_SECTIONS ?? Object.keys(SECTIONS).join(","))
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const w of wanted) if (!SECTIONS[w]) throw new Error(`BENCH_SECTIONS: unknown section '${w}' (known: ${Object.keys(SECTIONS).join(", ")})`);

  const outDir = resolve(ROOT, process.env.BENCH_OUT ?? "bench-out");
  const t0 = Date.now();
  console.log(`edge-replica bench${QUICK ? " (BENCH_QUICK=1)" : ""}: sections ${wanted.join(", ")}`);
  const worker = await startBenchWorker(ROOT);
  const rss0 = await workerdRssMiB();
  console.log(`Worker (${worker.source}) at ${worker.url}; workerd RSS ${rss0 === null ? "unknown" : rss0.toFixed(0) + " MiB"}`);
  const results = new Results();
  const ctx = makeContext(worker, results);
  let failed = false;
  try {
    for (const w of wanted) {
      const ts = Date.now();
      try {
        await SECTIONS[w]!(ctx);
      } catch (e) {
        failed = true;
        results.problem(`section ${w} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
      console.log(`[${w}] done in ${((Date.now() - ts) / 1000).toFixed(0)} s`);
    }
  } finally {
    await ctx.cleanup();
    await worker.dispose();
  }

  const env = {
    date: new Date().toISOString(),
    quick: QUICK,
    source: worker.source,
    node: process.version,
    cpus: (await import("node:os")).cpus().length,
    seconds: Math.round((Date.now() - t0) / 1000),
    settings: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("BENCH_"))),
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "results.json"), JSON.stringify({ env, rows: results.rows, problems: results.problems }, null, 2) + "\n");
  const md = markdown(results.rows, results.problems, env);
  writeFileSync(join(outDir, "results.md"), md);
  console.log("\n" + table(results.rows));
  if (results.problems.length) console.log("\nProblems:\n" + results.problems.map((p) => "  - " + p.split("\n")[0]).join("\n"));
  console.log(`\nwrote ${join(outDir, "results.json")} and results.md (${env.seconds} s)`);
  return failed ? 1 : 0;
}

function table(rows: Row[]): string {
  const head = ["section", "metric", "unit", "ours", "redis", "ours/redis"];
  const body = rows.map((r) => [r.section, r.metric, r.unit, fmt(r.ours), fmt(r.redis), fmtRatio(r.ratio)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

function markdown(rows: Row[], problems: string[], env: { date: string; quick: boolean; source: string; node: string; cpus: number; seconds: number }): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const out = [
    `Measured ${env.date.slice(0, 10)} (${env.source}) on ${env.cpus} cores, Node ${env.node}, local workerd (wrangler) vs redis-server on loopback, same run${env.quick ? " (BENCH_QUICK=1: small sizes)" : ""}. Ratio = ours / redis.`,
    "",
    "| Section | Metric | Unit | edge-replica | redis-server | Ratio |",
    "|---|---|---|--:|--:|--:|",
    ...rows.map((r) => `| ${esc(r.section)} | ${esc(r.metric)}${r.note ? ` (${esc(r.note)})` : ""} | ${r.unit} | ${fmt(r.ours)} | ${fmt(r.redis)} | ${fmtRatio(r.ratio)} |`),
    "",
    "How each figure was produced:",
    "",
    ...[...new Map(rows.map((r) => [`${r.section}: ${r.metric}`, r.how])).entries()].map(([k, h]) => `- ${esc(k)}: ${h}`),
  ];
  if (problems.length) out.push("", "Problems seen:", "", ...problems.map((p) => `- ${p.split("\n")[0]}`));
  return out.join("\n") + "\n";
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`npm run bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
