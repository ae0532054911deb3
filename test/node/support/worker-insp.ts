/**
 * Start the whole Worker (router + node Durable Objects, R2 simulated) for Node-side
 * tests, through wrangler's programmatic API — the same runtime as `wrangler dev`.
 *
 *   const w = await startWorker();
 *   const redis = new Redis({ url: w.url, token: w.token });
 *   …
 *   await w.dispose();
 *
 * Each call gets a fresh storage directory (removed by dispose) and a free port on
 * 127.0.0.1. Tokens are fixed test values (also in vitest.config.ts TEST_BINDINGS).
 * Starting takes a few seconds (esbuild + workerd): start once per test file (beforeAll).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_startWorker } from "wrangler";

export const TEST_TOKEN = "test-token";
export const TEST_READONLY_TOKEN = "test-readonly-token";
export const TEST_REPLICATION_SECRET = "test-replication-secret";

export interface TestWorker {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234` (= database `default`). */
  url: string;
  /** The read-write bearer token. */
  token: string;
  /** The read-only bearer token. */
  readonlyToken: string;
  /** The replication secret. */
  replicationSecret: string;
  /** Stop workerd and delete the storage directory. */
  dispose(): Promise<void>;
}

/** One command over REST to a node (`/db/{db}/nodes/{node}`), answered as Upstash's JSON. */
export async function restCommand(w: TestWorker, db: string, node: string, argv: (string | number)[]): Promise<{ result?: unknown; error?: string }> {
  const res = await fetch(`${w.url}/db/${db}/nodes/${node}`, {
    method: "POST",
    headers: { authorization: `Bearer ${w.token}`, "content-type": "application/json" },
    body: JSON.stringify(argv),
  });
  return (await res.json()) as { result?: unknown; error?: string };
}

const ROOT = resolve(fileURLToPath(new URL("../../..", import.meta.url)));

export interface StartOptions {
  /** Keep Durable Object and R2 state in a fresh temporary directory (default) or in memory. */
  persist?: boolean;
  /** The project directory holding wrangler.toml and src/ (default: this checkout; the bench passes a frozen copy). */
  root?: string;
  logLevel?: "warn" | "log";
}

export async function startWorker(opts: StartOptions = {}): Promise<TestWorker> {
  const dir = opts.persist === false ? null : mkdtempSync(join(tmpdir(), "edge-replica-test-"));
  // No network here: skip miniflare's download of a real `Request.cf` (a placeholder is used).
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  const plain = (value: string) => ({ type: "plain_text" as const, value });
  const worker = await unstable_startWorker({
    config: join(opts.root ?? ROOT, "wrangler.toml"),
    // Do not pick up a developer's .dev.vars / .env: the test tokens below are the only ones.
    envFiles: [],
    bindings: {
      REST_TOKEN: plain(TEST_TOKEN),
      REST_READONLY_TOKEN: plain(TEST_READONLY_TOKEN),
      REPLICATION_SECRET: plain(TEST_REPLICATION_SECRET),
      ENABLE_DEBUG_COMMAND: plain("yes"),
      EXTERNAL_MASTERS: plain("127.0.0.1,localhost"),
    },
    sendMetrics: false,
    // `wrangler dev` derives this from compatibility_flags; the programmatic API does not,
    // and without it the bundler treats node:* imports as missing.
    build: { nodejsCompatMode: "v2" },
    dev: {
      server: { hostname: "127.0.0.1", port: 0 },
      inspector: { port: 9230 },
      persist: dir ?? false,
      watch: false,
      logLevel: opts.logLevel ?? "warn",
    },
  });
  try {
    await worker.ready;
    const url = (await worker.url).toString().replace(/\/$/, "");
    // `ready` can resolve although the bundle failed to build; then requests hang. Probe.
    try {
      await fetch(url + "/", { signal: AbortSignal.timeout(30_000) }).then((r) => r.body?.cancel());
    } catch (e) {
      throw new Error(`the Worker at ${url} did not answer (did the build fail? see wrangler's output): ${String(e)}`);
    }
    return {
      url,
      token: TEST_TOKEN,
      readonlyToken: TEST_READONLY_TOKEN,
      replicationSecret: TEST_REPLICATION_SECRET,
      async dispose() {
        await worker.dispose();
        if (dir) rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await worker.dispose().catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
