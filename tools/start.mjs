#!/usr/bin/env node
/**
 * `npm start`: run edge-replica locally with `wrangler dev` (Durable Objects and R2
 * simulated on disk under .wrangler/state), then print how to reach it.
 *
 *   npm start                 http://127.0.0.1:8787
 *   npm start -- --port 9000  another port
 *
 * Creates .dev.vars (the local tokens) from .dev.vars.example when it is missing.
 * Plain Node.js, no TypeScript, so it runs before anything is built.
 */
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);

const args = process.argv.slice(2);
const portArg = args.find((a) => a.startsWith("--port="))?.slice("--port=".length) ?? (args.includes("--port") ? args[args.indexOf("--port") + 1] : undefined);
const port = Number(portArg ?? process.env.PORT ?? 8787);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`npm start: --port must be a port number`);
  process.exit(1);
}
const host = "127.0.0.1";
const url = `http://${host}:${port}`;

const devVars = join(root, ".dev.vars");
if (!existsSync(devVars)) {
  copyFileSync(join(root, ".dev.vars.example"), devVars);
  console.log("Created .dev.vars from .dev.vars.example (local tokens; edit to change them).");
}
const vars = Object.fromEntries(
  readFileSync(devVars, "utf8")
    .split(/\r?\n/)
    .map((l) => /^\s*([A-Z0-9_]+)\s*=\s*"?([^"]*)"?\s*$/.exec(l))
    .filter((m) => m !== null)
    .map((m) => [m[1], m[2]]),
);
const token = vars.REST_TOKEN ?? "(set REST_TOKEN in .dev.vars)";
const readonlyToken = vars.REST_READONLY_TOKEN;

// wrangler would report a taken port late and obscurely (or a stale server would answer
// in its place and we would print "running"): check it first.
const free = await new Promise((resolve) => {
  const probe = createServer();
  probe.once("error", (e) => resolve(e.code));
  probe.listen(port, host, () => probe.close(() => resolve(true)));
});
if (free !== true) {
  console.error(
    `npm start: port ${port} on ${host} is not available (${free}): another process is using it.\n` +
      `Stop it, or pick another port: npm start -- --port 9000`,
  );
  process.exit(1);
}

const wranglerBin = join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
// DEBUG is on for local development (off in wrangler.toml for production) unless .dev.vars says otherwise.
const debugVar = vars.ENABLE_DEBUG_COMMAND === undefined ? ["--var", "ENABLE_DEBUG_COMMAND:yes"] : [];
const child = spawn(process.execPath, [wranglerBin, "dev", "--ip", host, "--port", String(port), ...debugVar], {
  cwd: root,
  stdio: "inherit",
  env: {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    // Offline-friendly: use miniflare's placeholder `Request.cf` instead of downloading one.
    CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? "false",
  },
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

// Print the banner once the Worker answers (any HTTP status means it is up).
const deadline = Date.now() + 120_000;
(async function waitUntilUp() {
  while (Date.now() < deadline) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(2000) });
      banner();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
})();

function banner() {
  const lines = [
    "",
    "edge-replica is running",
    `  REST (database "default"):  ${url}        other databases: ${url}/db/NAME`,
    `  token (read-write):         ${token}`,
    ...(readonlyToken ? [`  token (read-only):          ${readonlyToken}`] : []),
    `  WebSocket (RESP):           ws://${host}:${port}/db/default/ws`,
    "",
    "  try:",
    `    curl -s ${url} -H 'Authorization: Bearer ${token}' -d '["SET","hello","world"]'`,
    `    curl -s ${url}/get/hello -H 'Authorization: Bearer ${token}'`,
    "",
    "  Redis clients (redis-cli, ioredis, redis-benchmark) through the RESP gateway:",
    `    npx edge-replica gateway --port 6380 --url ${url} --token ${token}`,
    "    redis-cli -p 6380 ping",
    "",
    "  @upstash/redis:",
    `    new Redis({ url: "${url}", token: "${token}" })`,
    "",
  ];
  console.log(lines.join("\n"));
}
