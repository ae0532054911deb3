/**
 * A real redis-server 7.0 replicating from edge-replica through the gateway (issue 10 item 3,
 * SPEC §5): `redis-server --replicaof 127.0.0.1 <gateway> --masterauth <REPLICATION_SECRET>`.
 * The gateway turns AUTH with the replication secret into a link to the replication endpoint;
 * the master sends the full sync as Redis's `$<len>` + RDB, then the stream.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type Gateway } from "../../tools/gateway.ts";
import { Simple } from "../../src/protocol/reply.ts";
import { startRedisServer, type RedisServer } from "./support/redis-server.ts";
import { connectWs, type Arg, type RespClient } from "./support/resp-client.ts";
import { startWorker, TEST_REPLICATION_SECRET, type TestWorker } from "./support/worker.ts";

const DB = "real-replica";

let worker: TestWorker;
let gw: Gateway;
let ours: RespClient;
const servers: RedisServer[] = [];

function text(v: unknown): string {
  if (v instanceof Simple) return v.s;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (v instanceof Error) throw v;
  return String(v);
}

async function info(c: RespClient, section: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const l of text(await c.call("INFO", section)).split("\r\n")) {
    const i = l.indexOf(":");
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Writes of every type, with expiries and a second database. */
function writes(round: number): Arg[][] {
  const r = String(round);
  return [
    ["SET", `s${r}`, `v${r}`, "PX", "600000"],
    ["RPUSH", `l${r}`, "a", "b", r],
    ["SADD", `set${r}`, "x", "y", r],
    ["HSET", `h${r}`, "f", r, "g", "2"],
    ["ZADD", `z${r}`, "1.5", "m", r, "n"],
    ["INCR", "counter"],
    ["SELECT", "3"],
    ["SET", `db3-${r}`, r],
    ["SELECT", "0"],
    ["DEL", `s${round - 1}`],
  ];
}

beforeAll(async () => {
  worker = await startWorker();
  gw = await startGateway({ port: 0, url: worker.url, db: DB, token: worker.token });
  ours = await connectWs(`${worker.url.replace("http", "ws")}/db/${DB}/ws`, worker.token);
});

afterAll(async () => {
  for (const s of servers) await s.stop();
  await ours?.close();
  await gw?.close();
  await worker?.dispose();
});

describe("a real redis-server replicating from edge-replica through the gateway", () => {
  it("full sync as $len + RDB, then the stream: DEBUG DIGEST equal; listed by our master", async () => {
    for (let i = 0; i < 5; i++) await ours.send(writes(i));
    const replica = await startRedisServer(["--replicaof", "127.0.0.1", String(gw.port), "--masterauth", TEST_REPLICATION_SECRET]);
    servers.push(replica);
    const c = await replica.connect();
    await until("the replica's link up", async () => (await info(c, "replication")).master_link_status === "up");
    for (let i = 5; i < 10; i++) await ours.send(writes(i));
    const target = Number((await info(ours, "replication")).master_repl_offset);
    await until("the replica at the master's offset", async () => Number((await info(c, "replication")).slave_repl_offset) >= target);
    const [theirs, mine] = await Promise.all([c.call("DEBUG", "DIGEST"), ours.call("DEBUG", "DIGEST")]);
    expect(text(theirs)).toBe(text(mine));
    expect(text(await c.call("SELECT", "3"))).toBe("OK");
    expect(text(await c.call("GET", "db3-9"))).toBe("9");
    // Its REPLCONF ACKs (once a second) reach our master, which lists it online at that offset.
    await until("the replica listed online", async () => /state=online/.test((await info(ours, "replication")).slave0 ?? ""));
    const master = await info(ours, "replication");
    expect(Number(master.connected_slaves)).toBeGreaterThanOrEqual(1);
    // As redis-server lists a replica: its host in ip=, the port it listens on in port=.
    expect(master.slave0).toMatch(new RegExp(`^ip=127\\.0\\.0\\.1,port=\\d+,state=online,offset=${target}`));
    // The gateway restarts (the link drops): the replica comes back with PSYNC and gets +CONTINUE.
    const statsBefore = await info(ours, "stats");
    const port = gw.port;
    await gw.close();
    for (let i = 10; i < 15; i++) await ours.send(writes(i));
    gw = await startGateway({ port, url: worker.url, db: DB, token: worker.token });
    const target2 = Number((await info(ours, "replication")).master_repl_offset);
    await until("the replica back at the master's offset", async () => Number((await info(c, "replication")).slave_repl_offset) >= target2);
    const statsAfter = await info(ours, "stats");
    expect(Number(statsAfter.sync_partial_ok)).toBeGreaterThan(Number(statsBefore.sync_partial_ok));
    expect(statsAfter.sync_full).toBe(statsBefore.sync_full);
    const [theirs2, mine2] = await Promise.all([c.call("DEBUG", "DIGEST"), ours.call("DEBUG", "DIGEST")]);
    expect(text(theirs2)).toBe(text(mine2));
    await c.close();
  });

  it("through a gateway started without a token: NOAUTH to the PING, then the secret opens the replication endpoint", async () => {
    const open = await startGateway({ port: 0, url: worker.url, db: DB });
    try {
      const replica = await startRedisServer(["--replicaof", "127.0.0.1", String(open.port), "--masterauth", TEST_REPLICATION_SECRET]);
      servers.push(replica);
      const c = await replica.connect();
      await ours.send(writes(20));
      const target = Number((await info(ours, "replication")).master_repl_offset);
      await until("the replica at the master's offset", async () => Number((await info(c, "replication")).slave_repl_offset) >= target);
      const [theirs, mine] = await Promise.all([c.call("DEBUG", "DIGEST"), ours.call("DEBUG", "DIGEST")]);
      expect(text(theirs)).toBe(text(mine));
      await c.close();
    } finally {
      await open.close();
    }
  });

  it("a wrong secret is refused: the link stays down, nothing is replicated, and its retries do not flood", async () => {
    const wrongBefore = Number(/count=(\d+)/.exec((await info(ours, "errorstats")).errorstat_WRONGPASS ?? "")?.[1] ?? 0);
    const replica = await startRedisServer(["--replicaof", "127.0.0.1", String(gw.port), "--masterauth", "not-the-secret"]);
    servers.push(replica);
    const c = await replica.connect();
    // Give it time for several of its once-a-second attempts.
    const startedMs = Date.now();
    await new Promise((r) => setTimeout(r, 2500));
    const repl = await info(c, "replication");
    expect(repl.master_link_status).toBe("down");
    expect(Number(await c.call("DBSIZE"))).toBe(0);
    // Each attempt is one refused AUTH on the master: about one a second (redis's replication cron).
    const attempts = Number(/count=(\d+)/.exec((await info(ours, "errorstats")).errorstat_WRONGPASS ?? "")?.[1] ?? 0) - wrongBefore;
    expect(attempts).toBeGreaterThanOrEqual(1);
    expect(attempts).toBeLessThanOrEqual(Math.ceil((Date.now() - startedMs) / 1000) + 1);
    await c.close();
  });
});
