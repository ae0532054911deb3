/**
 * Start the Worker for the bench from a frozen copy of the sources.
 *
 * wrangler's bundler always runs esbuild in watch mode (even with `dev.watch: false`),
 * so an edit under src/ during a 10-minute bench rebuilds the bundle and restarts
 * workerd: every Durable Object is reset and open WebSockets close with 1006. The bench
 * therefore bundles a copy: by default the committed tree (`git archive HEAD`), so the
 * figures belong to a commit; BENCH_SOURCE=worktree copies the working tree instead, and
 * BENCH_SOURCE=rev:<commit> bundles an older commit's service (before/after comparisons with
 * today's bench code).
 * node_modules is linked, not copied.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker, type TestWorker } from "../../test/node/support/worker.ts";

const FILES = ["src", "wrangler.toml", "tsconfig.json", "package.json"];

export interface BenchWorker extends TestWorker {
  /** What was bundled: `HEAD <sha>` or `worktree (HEAD <sha> + local changes)`. */
  source: string;
}

export async function startBenchWorker(root: string): Promise<BenchWorker> {
  const head = execFileSync("git", ["-C", root, "rev-parse", "HEAD"], { encoding: "utf8" }).trim();
  const work = mkdtempSync(join(tmpdir(), "edge-replica-bench-"));
  const src = join(work, "src");
  let source: string;
  if (process.env.BENCH_SOURCE === "worktree") {
    for (const f of FILES) cpSync(join(root, f), join(src, f), { recursive: true });
    source = `worktree (HEAD ${head.slice(0, 12)} + local changes)`;
  } else {
    const rev = process.env.BENCH_SOURCE?.startsWith("rev:") ? process.env.BENCH_SOURCE.slice(4) : "HEAD";
    if (!/^[\w.~^/-]+$/.test(rev)) throw new Error(`BENCH_SOURCE: bad revision '${rev}'`);
    const sha = execFileSync("git", ["-C", root, "rev-parse", rev], { encoding: "utf8" }).trim();
    execFileSync("sh", ["-c", `mkdir -p "${src}" && git -C "${root}" archive ${sha} ${FILES.join(" ")} | tar -x -C "${src}"`]);
    source = rev === "HEAD" ? `HEAD ${head.slice(0, 12)}` : `${rev} (${sha.slice(0, 12)})`;
  }
  symlinkSync(join(root, "node_modules"), join(src, "node_modules"), "dir");

  try {
    const worker = await startWorker({ root: src, logLevel: process.env.BENCH_VERBOSE === "1" ? "log" : "warn" });
    return {
      ...worker,
      source,
      async dispose() {
        await worker.dispose();
        rmSync(work, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
}
