import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

/** Test tokens handed to the Worker in the Workers-runtime tests. */
export const TEST_BINDINGS = {
  REST_TOKEN: "test-token",
  REST_READONLY_TOKEN: "test-readonly-token",
  REPLICATION_SECRET: "test-replication-secret",
  /** Outside Redis masters a node may follow (test/node/outside-master.test.ts). */
  EXTERNAL_MASTERS: "127.0.0.1,localhost",
  ENABLE_DEBUG_COMMAND: "yes",
  /** Nodes' log lines (util/log.ts): quiet unless asked for (LOG_LEVEL=info npm test). */
  LOG_LEVEL: process.env.LOG_LEVEL ?? "quiet",
  /** Replays the chaos test (test/workers/chaos.test.ts) with a given seed. */
  CHAOS_SEED: process.env.CHAOS_SEED ?? "",
  /** Replays the fuzz harness (test/unit/fuzz.test.ts, test/workers/fuzz.test.ts) with a given seed. */
  FUZZ_SEED: process.env.FUZZ_SEED ?? "",
  /** Inputs per kind at the Workers level of the fuzz harness (`npm run fuzz` sets more). */
  FUZZ_WORKERS_ITERATIONS: process.env.FUZZ_WORKERS_ITERATIONS ?? "",
};

export default defineConfig({
  test: {
    projects: [
      {
        // Pure modules (RESP, RDB, backlog, state machines) and tests against a real redis-server.
        test: {
          name: "node",
          environment: "node",
          include: ["test/unit/**/*.test.ts", "test/node/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        plugins: [
          cloudflareTest({
            main: "./src/index.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: { bindings: TEST_BINDINGS },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
          setupFiles: ["test/workers/setup.ts"],
          testTimeout: 60_000,
          // WebSockets between Durable Objects need shared storage (vitest-pool-workers known issue).
          maxWorkers: 1,
          isolate: false,
        },
      },
    ],
  },
});
