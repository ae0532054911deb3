/**
 * Snapshots against a real redis-server 7.0 (replication issue, Node-side acceptance):
 * - a snapshot our master writes for a full resync passes redis-check-rdb, and a
 *   redis-server started on it reports the same DEBUG DIGEST as our master;
 * - a dump.rdb that redis-server writes (intset, listpack and quicklist encodings) loads
 *   into our master (admin restore) with the same DEBUG DIGEST.
 * The dataset is the differential test's seeded command stream plus small and big
 * collections of every type, HyperLogLogs, a bitmap and GEO points.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generate, randomSeed } from "./support/command-gen.ts";
import { startRedisServer, type RedisServer } from "./support/redis-server.ts";
import { connectWs, type Arg, type RespClient } from "./support/resp-client.ts";
import { startWorker, type TestWorker } from "./support/worker.ts";
import { Simple } from "../../src/protocol/reply.ts";

const seed = Number(process.env.SNAP_SEED ?? randomSeed());

/** A status, bulk or integer reply as text. */
function text(v: unknown): string {
  if (v instanceof Simple) return v.s;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (v instanceof Error) throw v;
  return String(v);
}

/** Small collections (Redis encodes them as intset/listpack) and big ones (hashtable/skiplist/quicklist). */
function dataset(): Arg[][] {
  const cmds: Arg[][] = [];
  for (let i = 0; i < 5; i++) cmds.push(["SADD", "intset", String(i * 7)]);
  cmds.push(["SADD", "smallset", "a", "b", "c"], ["HSET", "smallhash", "f1", "v1", "f2", "2"], ["RPUSH", "smalllist", "x", "1", "y"]);
  cmds.push(["ZADD", "smallzset", "1", "a", "2.5", "b", "-3", "c"]);
  const big: Arg[] = ["RPUSH", "biglist"];
  const bigset: Arg[] = ["SADD", "bigset"];
  const bighash: Arg[] = ["HSET", "bighash"];
  const bigzset: Arg[] = ["ZADD", "bigzset"];
  for (let i = 0; i < 1500; i++) {
    big.push(`item-${i}`);
    bigset.push(`member-${i}`);
    bighash.push(`field-${i}`, `value-${i}-${"x".repeat(i % 90)}`);
    bigzset.push(String(i / 4), `z-${i}`);
  }
  cmds.push(big, bigset, bighash, bigzset);
  // Issue 11's types, explicitly (the seeded stream has them too): a sparse and a dense
  // HyperLogLog, a bitmap, GEO points (a sorted set of geohash scores).
  const dense: Arg[] = ["PFADD", "hll-dense"];
  for (let i = 0; i < 3000; i++) dense.push(`e${i}`);
  cmds.push(["PFADD", "hll-sparse", "a", "b", "c"], dense, ["PFCOUNT", "hll-dense"]);
  cmds.push(["SETBIT", "bitmap", "100003", "1"], ["GEOADD", "geo", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"]);
  cmds.push(["SET", "binary", Uint8Array.from([0, 255, 13, 10, 0x80, 0])], ["SET", "int", "12345"], ["SET", "long", "y".repeat(5000)]);
  cmds.push(["SET", "ttl", "v", "EX", "100000"], ["SELECT", "3"], ["SET", "in-db3", "v"], ["HSET", "h3", "a", "b"], ["SELECT", "0"]);
  return cmds;
}

async function sendAll(c: RespClient, cmds: readonly (readonly Arg[])[]): Promise<void> {
  for (let i = 0; i < cmds.length; i += 200) await c.send(cmds.slice(i, i + 200));
}

describe(`snapshots and redis-server 7.0 (seed ${seed})`, () => {
  let worker: TestWorker;
  let redis: RedisServer;
  let ours: RespClient;
  let theirs: RespClient;
  const db = `snap${seed}`;

  beforeAll(async () => {
    [worker, redis] = await Promise.all([startWorker(), startRedisServer()]);
    ours = await connectWs(`${worker.url.replace("http", "ws")}/db/${db}/ws`, worker.token);
    theirs = await redis.connect();
    const stream = [...generate(seed, 5000).map((g) => g.argv), ["SELECT", "0"], ...dataset()];
    await sendAll(ours, stream);
    await sendAll(theirs, stream);
    const [a, b] = await Promise.all([ours.call("DEBUG", "DIGEST"), theirs.call("DEBUG", "DIGEST")]);
    expect(text(a)).toMatch(/^[0-9a-f]{40}$/);
    expect(text(a)).toBe(text(b)); // same data on both sides before comparing files
  }, 180_000);

  afterAll(async () => {
    await ours?.close();
    await theirs?.close();
    await redis?.stop();
    await worker?.dispose();
  });

  it("a full-resync snapshot passes redis-check-rdb and loads in redis-server with the same digest", async () => {
    // A replica's full resync cuts the snapshot; the admin download serves that same object.
    const add = await fetch(`${worker.url}/db/${db}/admin/nodes`, {
      method: "POST",
      headers: { authorization: `Bearer ${worker.token}` },
      body: JSON.stringify({ name: "r1" }),
    });
    expect(add.status).toBe(201);
    const replica = await connectWs(`${worker.url.replace("http", "ws")}/db/${db}/nodes/r1/ws`, worker.token);
    expect(await ours.call("WAIT", "1", "30000")).toBe(1);
    const res = await fetch(`${worker.url}/db/${db}/admin/snapshot`, { headers: { authorization: `Bearer ${worker.token}` } });
    expect(res.status).toBe(200);
    const rdb = new Uint8Array(await res.arrayBuffer());
    const dir = mkdtempSync(join(tmpdir(), "edge-replica-snap-"));
    writeFileSync(join(dir, "dump.rdb"), rdb);
    const check = execFileSync("redis-check-rdb", [join(dir, "dump.rdb")], { encoding: "utf8" });
    expect(check).toContain("RDB looks OK");
    const loaded = await startRedisServer(["--dir", dir, "--dbfilename", "dump.rdb"]);
    try {
      const c = await loaded.connect();
      const [theirDigest, ourDigest, replicaDigest] = await Promise.all([c.call("DEBUG", "DIGEST"), ours.call("DEBUG", "DIGEST"), replica.call("DEBUG", "DIGEST")]);
      expect(text(ourDigest)).not.toBe("0".repeat(40));
      expect(text(theirDigest)).toBe(text(ourDigest));
      expect(text(replicaDigest)).toBe(text(ourDigest));
      await c.close();
    } finally {
      await loaded.stop();
      await replica.close();
    }
  }, 120_000);

  it("a dump.rdb written by redis-server (intset, listpack, quicklist) loads into our master with the same digest", async () => {
    expect(text(await theirs.call("SAVE"))).toBe("OK");
    const dir = text(((await theirs.call("CONFIG", "GET", "dir")) as unknown[])[1]);
    const file = readFileSync(join(dir, "dump.rdb"));
    expect(file.subarray(0, 9).toString()).toBe("REDIS0010");
    const target = `restored${seed}`;
    const res = await fetch(`${worker.url}/db/${target}/admin/restore`, {
      method: "PUT",
      headers: { authorization: `Bearer ${worker.token}` },
      body: file,
    });
    expect(res.status).toBe(200);
    const c = await connectWs(`${worker.url.replace("http", "ws")}/db/${target}/ws`, worker.token);
    try {
      const want = text(await theirs.call("DEBUG", "DIGEST"));
      expect(want).not.toBe("0".repeat(40));
      expect(text(await c.call("DEBUG", "DIGEST"))).toBe(want);
    } finally {
      await c.close();
    }
  }, 120_000);
});
