/**
 * The production configuration deploys: `wrangler deploy --dry-run` bundles the Worker and
 * lists its bindings without an account or network (what CI can check before a real deploy).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
/** Cloudflare's Worker size limit on the free plan (after gzip). */
const WORKER_GZIP_KIB_MAX = 3 * 1024;

describe("deployment", () => {
  it("wrangler deploy --dry-run bundles the production configuration: bindings, DEBUG off, size", () => {
    const out = mkdtempSync(join(tmpdir(), "edge-dry-run-"));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" };
      delete env.CLOUDFLARE_API_TOKEN; // no account: the dry run must not need one
      delete env.CLOUDFLARE_ACCOUNT_ID;
      const r = spawnSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", out], { cwd: ROOT, env, encoding: "utf8", timeout: 120_000 });
      const text = `${r.stdout}\n${r.stderr}`;
      expect(r.status, text).toBe(0);
      expect(text).toMatch(/env\.NODES \(Node\)\s+Durable Object/);
      expect(text).toMatch(/env\.SNAPSHOTS \(edge-replica-snapshots\)\s+R2 Bucket/);
      // DEBUG (and with it the x-debug-client-region header) is off in production.
      expect(text).toMatch(/env\.ENABLE_DEBUG_COMMAND \("no"\)/);
      // Tokens are secrets (wrangler secret put), never plain vars in the configuration.
      expect(text).not.toMatch(/env\.REST_TOKEN|env\.REST_READONLY_TOKEN|env\.REPLICATION_SECRET/);
      const gzip = /gzip: ([\d.]+) KiB/.exec(text);
      expect(gzip, text).not.toBeNull();
      expect(Number(gzip![1])).toBeLessThan(WORKER_GZIP_KIB_MAX);
      expect(existsSync(join(out, "index.js"))).toBe(true);
      const bundle = readFileSync(join(out, "index.js"), "utf8");
      expect(bundle).toContain("x-served-by"); // the router and the node are in it
      expect(bundle).toMatch(/export\s*\{[^}]*\bNode\b/); // the Durable Object class is exported
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
