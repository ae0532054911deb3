#!/usr/bin/env node
/**
 * `edge-replica` command line (package.json "bin").
 *
 *   edge-replica gateway [--port 6380] [--url …] [--db …] [--node NAME | --read-nearest] [--token T] (gateway --help: all of them)
 *   edge-replica start        run the service locally (wrangler dev), same as `npm start`
 *
 * The gateway is TypeScript, run with the project's tsx.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

const USAGE = `usage:
  edge-replica gateway [--port 6380] [--host 127.0.0.1] [--url http://127.0.0.1:8787] [--db default]
                       [--node NAME | --read-nearest [--region R]] [--token TOKEN] [--verbose]
      --token defaults to $EDGE_REPLICA_TOKEN, then $REST_TOKEN, then REST_TOKEN in ./.dev.vars
  edge-replica start   run the service locally (wrangler dev), as npm start does`;

function run(args) {
  const child = spawn(process.execPath, args, { stdio: "inherit" });
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

const [sub, ...rest] = process.argv.slice(2);
switch (sub) {
  case "gateway":
    run([require.resolve("tsx/cli"), join(here, "gateway.ts"), ...rest]);
    break;
  case "start":
    run([join(here, "start.mjs"), ...rest]);
    break;
  case undefined:
  case "help":
  case "--help":
  case "-h":
    console.log(USAGE);
    break;
  default:
    console.error(`edge-replica: unknown command '${sub}'\n${USAGE}`);
    process.exit(1);
}
