/**
 * `npm run fuzz`, the long run of the pure fuzz targets (test/fuzz/targets.ts) in Node.
 *
 *   FUZZ_SEED=123 FUZZ_ITERATIONS=20000 tsx test/fuzz/run.ts
 *
 * FUZZ_ITERATIONS inputs per target (default 20,000: 120,000 inputs over the six targets),
 * stopping at FUZZ_MINUTES (default 4). Prints the seed first and the report last; exits 1
 * on any failure. The Workers-runtime level (test/workers/fuzz.test.ts) runs after it.
 */
import { formatReport, runPureFuzz } from "./targets.ts";
import { iterationsFromEnv, seedFromEnv } from "./random.ts";

const seed = seedFromEnv(process.env);
const iterations = iterationsFromEnv(process.env, 20_000);
const minutes = Number(process.env.FUZZ_MINUTES ?? "4");
console.log(`fuzz seed ${seed} (replay with FUZZ_SEED=${seed}), ${iterations} inputs per target, at most ${minutes} min`);
const t0 = Date.now();
const report = runPureFuzz({ seed, iterations, deadlineMs: t0 + minutes * 60_000 });
console.log(formatReport(report));
console.log(`pure level: ${report.inputs} inputs in ${((Date.now() - t0) / 1000).toFixed(1)} s, rss ${Math.round(process.memoryUsage().rss / 1048576)} MiB`);
process.exit(report.failures.length ? 1 : 0);
