/**
 * Blocking commands through the RESP gateway (tools/gateway.ts pipes bytes): redis-cli and
 * ioredis block on the node and are served by a push from another client.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type Gateway } from "../../tools/gateway.ts";
import { startWorker, type TestWorker } from "./support/worker.ts";

const run = promisify(execFile);

let w: TestWorker;
let gw: Gateway;
const clients: Redis[] = [];

function client(): Redis {
  const c = new Redis({ port: gw.port, host: "127.0.0.1", maxRetriesPerRequest: 1, retryStrategy: () => null });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  w = await startWorker();
  gw = await startGateway({ port: 0, url: w.url, db: "blocking-gateway", token: w.token });
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await gw?.close();
  await w?.dispose();
});

/** Poll INFO clients until `n` clients are blocked (redis-server offers no event for it either). */
async function blockedClients(r: Redis, n: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await r.info("clients")).includes(`blocked_clients:${n}\r\n`)) return;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`never ${n} blocked clients`);
}

describe("blocking commands through the gateway", () => {
  it("redis-cli BLPOP is served by an ioredis RPUSH; ioredis BZPOPMIN by ZADD; a timeout answers nil", async () => {
    const r = client();
    await r.del("gbk", "gbz");
    const cli = run("redis-cli", ["-p", String(gw.port), "BLPOP", "gbk", "0"]);
    await blockedClients(r, 1);
    expect(await r.rpush("gbk", "v1", "v2")).toBe(2);
    expect((await cli).stdout).toBe("gbk\nv1\n");
    const b = client();
    const z = b.bzpopmin("gbz", 0);
    await blockedClients(r, 1);
    await r.zadd("gbz", 2, "m2", 1, "m1");
    expect(await z).toEqual(["gbz", "m1", "1"]);
    expect(await b.blpop("nothing", 0.05)).toBeNull();
    expect(await r.lrange("gbk", 0, -1)).toEqual(["v2"]);
  });
});
