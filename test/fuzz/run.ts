/**
 * `npm run fuzz`, the long run of the pure fuzz targets (test/fuzz/targets.ts) in Node.
 *
 *   FUZZ_SEED=123 FUZZ_ITERATIONS=20000 tsx test/fuzz/run.ts
 *
 * FUZZ_ITERATIONS inputs per target (default 50,000: 300,000 inputs over the six targets),
 * stopping at FUZZ_MINUTES (default 4). Prints the seed first and the report last. Then the
 * Workers level (test/workers/fuzz.test.ts) with the same seed and FUZZ_WORKERS_ITERATIONS
 * (default 250 per kind: 1,000 RESP inputs, 1,500 REST requests, 500 RDB restores).
 * Exits non-zero on any failure.
 */
import { spawnSync } from "node:child_process";
import { formatReport, runPureFuzz } from "./targets.ts";
import { iterationsFromEnv, seedFromEnv } from "./random.ts";

const seed = seedFromEnv(process.env);
const iterations = iterationsFromEnv(process.env, 50_000);
const minutes = Number(process.env.FUZZ_MINUTES ?? "4");
console.log(`fuzz seed ${seed} (replay with FUZZ_SEED=${seed}), ${iterations} inputs per target, at most ${minutes} min`);
const t0 = Date.now();
const report = runPureFuzz({ seed, iterations, deadlineMs: t0 + minutes * 60_000 });
console.log(formatReport(report));
console.log(`pure level: ${report.inputs} inputs in ${((Date.now() - t0) / 1000).toFixed(1)} s, rss ${Math.round(process.memoryUsage().rss / 1048576)} MiB`);
if (report.failures.length) process.exit(1);

const workersIterations = process.env.FUZZ_WORKERS_ITERATIONS || "250";
console.log(`\nWorkers level: seed ${seed}, ${workersIterations} inputs per kind`);
const t1 = Date.now();
const r = spawnSync("npx", ["vitest", "run", "--project", "workers", "test/workers/fuzz.test.ts"], {
  stdio: "inherit",
  env: { ...process.env, FUZZ_SEED: String(seed), FUZZ_WORKERS_ITERATIONS: workersIterations },
});
console.log(`Workers level: ${((Date.now() - t1) / 1000).toFixed(1)} s`);
process.exit(r.status ?? 1);
