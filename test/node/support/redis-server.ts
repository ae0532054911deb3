/**
 * A throwaway redis-server for differential tests: a free loopback port, its own temp
 * dir, no persistence, DEBUG enabled. CI installs Debian's redis-server (7.0.x); locally
 * `apt-get install -y redis-server redis-tools`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectTcp, type RespClient } from "./resp-client.ts";

const REDIS_SERVER_BIN = process.env.REDIS_SERVER_BIN ?? "/usr/bin/redis-server";
/** How long redis-server gets to answer PING after spawning. */
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

export interface RedisServer {
  port: number;
  /** redis-server's version string, e.g. "7.0.15". */
  version: string;
  /** A new client connection to it. */
  connect(): Promise<RespClient>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start redis-server and wait until it answers PING. Throws when the binary is missing. */
export async function startRedisServer(extraArgs: string[] = []): Promise<RedisServer> {
  if (!existsSync(REDIS_SERVER_BIN)) {
    throw new Error(
      `${REDIS_SERVER_BIN} not found: differential tests need a real redis-server ` +
        "(apt-get update && apt-get install -y redis-server redis-tools, or set REDIS_SERVER_BIN)",
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "edge-replica-redis-"));
  const port = await freePort();
  const args = [
    "--port", String(port),
    "--bind", "127.0.0.1",
    "--save", "",
    "--appendonly", "no",
    "--enable-debug-command", "yes",
    "--dir", dir,
    "--daemonize", "no",
    "--logfile", join(dir, "redis.log"),
    ...extraArgs,
  ];
  const proc: ChildProcess = spawn(REDIS_SERVER_BIN, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  let exited = false;
  const exit = new Promise<void>((res) => proc.once("exit", () => ((exited = true), res())));

  const deadline = Date.now() + START_TIMEOUT_MS;
  let version = "";
  while (true) {
    if (exited) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`redis-server exited during startup: ${stderr}`);
    }
    try {
      const c = await connectTcp(port);
      const pong = await c.call("PING");
      const info = await c.call("INFO", "server");
      await c.close();
      if (pong && typeof pong === "object" && "s" in pong && pong.s === "PONG") {
        const text = info instanceof Uint8Array ? new TextDecoder().decode(info) : "";
        version = /redis_version:(\S+)/.exec(text)?.[1] ?? "";
        break;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`redis-server on port ${port} did not answer PING within ${START_TIMEOUT_MS} ms: ${stderr}`);
    }
    await sleep(20);
  }

  return {
    port,
    version,
    connect: () => connectTcp(port),
    async stop() {
      if (!exited) {
        proc.kill("SIGTERM");
        const t = setTimeout(() => proc.kill("SIGKILL"), STOP_TIMEOUT_MS);
        await exit;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
