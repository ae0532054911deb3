/**
 * A node following an outside Redis master (SPEC §3 "Outside masters") against a real
 * redis-server 7.0 on a free port, through the Worker (REST, `wrangler dev` runtime):
 * - REPLICAOF 127.0.0.1 <port> (allowed by EXTERNAL_MASTERS): full sync in both payload
 *   forms (disk-based `$len` and diskless `$EOF:`), data written before and after →
 *   our node's DEBUG DIGEST equals redis-server's;
 * - a link kill → PSYNC +CONTINUE (redis-server's sync_partial_ok +1, no new full sync);
 * - a host not in EXTERNAL_MASTERS → refused with the error, nothing changed;
 * - a command we do not implement (XADD) → applying stops before it and INFO / the admin API
 *   say which and at what offset; nothing after it is applied.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedisServer, type RedisServer } from "./support/redis-server.ts";
import type { Arg, RespClient } from "./support/resp-client.ts";
import { startWorker, type TestWorker } from "./support/worker.ts";
import { Simple } from "../../src/protocol/reply.ts";
import { encodeCommand } from "../../src/protocol/resp.ts";

/** How long a sync may take before a wait fails; how often INFO is polled meanwhile. */
const SYNC_TIMEOUT_MS = 30_000;
const POLL_MS = 50;

function text(v: unknown): string {
  if (v instanceof Simple) return v.s;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (v instanceof Error) throw v;
  return String(v);
}

function field(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, "m").exec(info)?.[1]?.trim();
}

/** Data of every type we support, in two databases, with TTLs. */
function dataset(tag: string): Arg[][] {
  const big: Arg[] = ["RPUSH", `${tag}:biglist`];
  const bigzset: Arg[] = ["ZADD", `${tag}:bigzset`];
  for (let i = 0; i < 300; i++) {
    big.push(`item-${i}`);
    bigzset.push(String(i / 4), `z-${i}`);
  }
  return [
    ["SET", `${tag}:s`, "v"],
    ["SET", `${tag}:ttl`, "v", "EX", "100000"],
    ["INCRBY", `${tag}:n`, "41"],
    ["SADD", `${tag}:intset`, "1", "2", "3"],
    ["SADD", `${tag}:set`, "a", "b", "c"],
    ["HSET", `${tag}:h`, "f1", "v1", "f2", "2"],
    ["RPUSH", `${tag}:l`, "x", "1", "y"],
    ["ZADD", `${tag}:z`, "1", "a", "2.5", "b", "-3", "c"],
    big,
    bigzset,
    ["SET", `${tag}:bin`, Uint8Array.from([0, 255, 13, 10, 0x80, 0])],
    ["SELECT", "3"],
    ["SET", `${tag}:db3`, "v"],
    ["HSET", `${tag}:h3`, "a", "b"],
    ["SELECT", "0"],
    ["MULTI"],
    ["INCR", `${tag}:tx`],
    ["LPUSH", `${tag}:txl`, "q"],
    ["EXEC"],
  ];
}

describe("outside master: a node follows a real redis-server 7.0", () => {
  let worker: TestWorker;
  let redis: RedisServer;
  let theirs: RespClient;

  beforeAll(async () => {
    // No delay before a diskless transfer (Redis's default waits 5 s for more replicas).
    [worker, redis] = await Promise.all([startWorker(), startRedisServer(["--repl-diskless-sync-delay", "0"])]);
    theirs = await redis.connect();
  }, 120_000);

  afterAll(async () => {
    await theirs?.close();
    await redis?.stop();
    await worker?.dispose();
  });

  /** One command on one node over REST; the JSON answer. */
  async function node(db: string, name: string, cmd: (string | number)[]): Promise<{ result?: unknown; error?: string }> {
    const res = await fetch(`${worker.url}/db/${db}/nodes/${name}`, {
      method: "POST",
      headers: { authorization: `Bearer ${worker.token}` },
      body: JSON.stringify(cmd),
    });
    return (await res.json()) as { result?: unknown; error?: string };
  }

  async function info(db: string, section = "replication"): Promise<string> {
    return String((await node(db, "master", ["INFO", section])).result);
  }

  /** Poll until `check` holds (there is no event to await from outside the Worker). */
  async function until(what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + SYNC_TIMEOUT_MS;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** Our node has applied everything redis-server has written (same replication offset). */
  async function caughtUp(db: string): Promise<void> {
    await until(`${db} to catch up`, async () => {
      const mine = await info(db);
      const theirOffset = field(text(await theirs.call("INFO", "replication")), "master_repl_offset");
      return field(mine, "master_link_status") === "up" && field(mine, "slave_repl_offset") === theirOffset;
    });
  }

  async function digests(db: string): Promise<[string, string]> {
    const mine = String((await node(db, "master", ["DEBUG", "DIGEST"])).result);
    return [mine, text(await theirs.call("DEBUG", "DIGEST"))];
  }

  async function stats(): Promise<{ full: number; partial: number }> {
    const s = text(await theirs.call("INFO", "stats"));
    return { full: Number(field(s, "sync_full")), partial: Number(field(s, "sync_partial_ok")) };
  }

  for (const diskless of ["no", "yes"] as const) {
    it(`full sync (repl-diskless-sync ${diskless}), then the stream: DEBUG DIGEST equal; a link kill resyncs partially`, async () => {
      const db = `outside-${diskless}`;
      await theirs.call("CONFIG", "SET", "repl-diskless-sync", diskless);
      await theirs.call("FLUSHALL");
      await theirs.call("DEBUG", "POPULATE", "2000", `pre-${diskless}`, "20");
      await theirs.send(dataset(`before-${diskless}`));
      const before = await stats();

      expect(await node(db, "master", ["REPLICAOF", "127.0.0.1", redis.port])).toEqual({ result: "OK" });
      await theirs.send(dataset(`while-syncing-${diskless}`)); // most likely during the transfer
      await caughtUp(db);
      expect((await stats()).full).toBe(before.full + 1);
      const mine = await info(db);
      expect(field(mine, "master_host")).toBe("127.0.0.1");
      expect(field(mine, "master_port")).toBe(String(redis.port));

      await theirs.send(dataset(`after-${diskless}`));
      await theirs.call("DEL", `before-${diskless}:s`);
      await caughtUp(db);
      const [a, b] = await digests(db);
      expect(a).toMatch(/^[0-9a-f]{40}$/);
      expect(a).toBe(b);
      // Reads through the router (the database's URL) are served from the outside master's data.
      const routed = await fetch(`${worker.url}/db/${db}`, {
        method: "POST",
        headers: { authorization: `Bearer ${worker.token}` },
        body: JSON.stringify(["HGET", `after-${diskless}:h`, "f1"]),
      });
      expect(await routed.json()).toEqual({ result: "v1" });
      // The node is read-only: a write sent to it is refused.
      expect((await node(db, "master", ["SET", "x", "1"])).error).toMatch(/^READONLY/);

      // Kill the link from the master's side: our node comes back with PSYNC and +CONTINUE.
      const atKill = await stats();
      expect(text(await theirs.call("CLIENT", "KILL", "TYPE", "replica"))).toBe("1");
      await theirs.send(dataset(`during-${diskless}`));
      await until("a partial resync", async () => (await stats()).partial === atKill.partial + 1);
      await caughtUp(db);
      expect((await stats()).full).toBe(atKill.full);
      const [c, d] = await digests(db);
      expect(c).toBe(d);

      expect(await node(db, "master", ["REPLICAOF", "NO", "ONE"])).toEqual({ result: "OK" });
    }, 120_000);
  }

  it("a chained replica of our node holds the same data; DEBUG RESTART of our node resyncs partially", async () => {
    const db = "outside-chain";
    await theirs.call("CONFIG", "SET", "repl-diskless-sync", "yes");
    await theirs.call("FLUSHALL");
    await theirs.call("DEBUG", "POPULATE", "1000", "chain", "10");
    expect(await node(db, "master", ["REPLICAOF", "127.0.0.1", redis.port])).toEqual({ result: "OK" });
    await caughtUp(db);
    const created = await fetch(`${worker.url}/db/${db}/admin/nodes`, {
      method: "POST",
      headers: { authorization: `Bearer ${worker.token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "r1", region: "weur" }),
    });
    expect(created.status).toBe(201);
    await theirs.send(dataset("chain"));
    await caughtUp(db);
    const theirOffset = field(text(await theirs.call("INFO", "replication")), "master_repl_offset");
    // Same offsets down the chain: r1's offset is redis-server's.
    await until("r1 to catch up", async () => {
      const r1 = String((await node(db, "r1", ["INFO", "replication"])).result);
      return field(r1, "master_link_status") === "up" && field(r1, "slave_repl_offset") === theirOffset;
    });
    const want = text(await theirs.call("DEBUG", "DIGEST"));
    expect((await node(db, "r1", ["DEBUG", "DIGEST"])).result).toBe(want);

    // Edge replicas in front of an existing Redis (SPEC §3): the database's base URL sends a
    // read from r1's region to r1, and a write to our node, which answers READONLY (it follows
    // redis-server) instead of a "master is changing" retry that never clears.
    const base = (body: unknown) =>
      fetch(`${worker.url}/db/${db}`, { method: "POST", headers: { authorization: `Bearer ${worker.token}`, "x-debug-client-region": "weur" }, body: JSON.stringify(body) });
    await until("r1 serves routed reads", async () => (await base(["DBSIZE"])).headers.get("x-served-by") === "r1");
    const write = await base(["SET", "from-the-edge", "1"]);
    expect(write.status).toBe(400);
    expect(write.headers.get("x-served-by")).toBe("master");
    expect(((await write.json()) as { error: string }).error).toBe("READONLY You can't write against a read only replica.");

    // Our node restarts: the cached master (replid + offset) survives, PSYNC gets +CONTINUE.
    const atRestart = await stats();
    expect(await node(db, "master", ["DEBUG", "RESTART"])).toEqual({ result: "OK" });
    await theirs.send(dataset("restart"));
    await until("a partial resync after the restart", async () => (await stats()).partial === atRestart.partial + 1);
    await caughtUp(db);
    expect((await stats()).full).toBe(atRestart.full);
    const [a, b] = await digests(db);
    expect(a).toBe(b);
    expect(await node(db, "master", ["REPLICAOF", "NO", "ONE"])).toEqual({ result: "OK" });
  }, 120_000);

  it("a host not in EXTERNAL_MASTERS is refused with a clear error, and nothing changes", async () => {
    const db = "outside-refused";
    expect(await node(db, "master", ["SET", "k", "v"])).toEqual({ result: "OK" });
    const r = await node(db, "master", ["REPLICAOF", "10.9.8.7", 6379]);
    expect(r.error).toBe("ERR outside master '10.9.8.7' is not allowed by this deployment's EXTERNAL_MASTERS setting");
    expect(field(await info(db), "role")).toBe("master");
    expect(await node(db, "master", ["GET", "k"])).toEqual({ result: "v" });
  });

  it("masterauth is never printed back by CONFIG GET", async () => {
    const db = "outside-auth";
    expect(await node(db, "master", ["CONFIG", "SET", "masterauth", "s3cret"])).toEqual({ result: "OK" });
    const got = (await node(db, "master", ["CONFIG", "GET", "masterauth"])).result;
    expect(JSON.stringify(got)).not.toContain("s3cret");
    expect(got).toEqual(["masterauth", "<redacted>"]);
  });

  it("a command we do not implement stops applying at it, reported in INFO and the admin API", async () => {
    const db = "outside-unsupported";
    await theirs.call("CONFIG", "SET", "repl-diskless-sync", "no");
    await theirs.call("FLUSHALL");
    await theirs.send(dataset("u"));
    expect(await node(db, "master", ["REPLICAOF", "127.0.0.1", redis.port])).toEqual({ result: "OK" });
    await caughtUp(db);
    const id = text(await theirs.call("XADD", "stream", "*", "f", "v"));
    // Where the XADD begins in the stream: redis-server propagates it with the id it chose.
    const afterXadd = Number(field(text(await theirs.call("INFO", "replication")), "master_repl_offset"));
    const at = afterXadd - encodeCommand(["XADD", "stream", id, "f", "v"]).length;
    await theirs.call("SET", "after-xadd", "1");
    await until("the stop to show", async () => field(await info(db), "master_unsupported") !== undefined);
    const mine = await info(db);
    expect(field(mine, "master_link_status")).toBe("down");
    expect(field(mine, "master_unsupported")).toBe("command 'xadd'");
    expect(field(mine, "master_unsupported_offset")).toBe(String(at));
    expect(field(mine, "slave_repl_offset")).toBe(String(at));
    expect(await node(db, "master", ["GET", "after-xadd"])).toEqual({ result: null });
    // A new node: its full sync meets the stream in the RDB, and stops there, loading nothing.
    const db2 = "outside-unsupported-rdb";
    expect(await node(db2, "master", ["SET", "mine", "1"])).toEqual({ result: "OK" });
    expect(await node(db2, "master", ["REPLICAOF", "127.0.0.1", redis.port])).toEqual({ result: "OK" });
    await until("the RDB stop to show", async () => field(await info(db2), "master_unsupported") !== undefined);
    expect(field(await info(db2), "master_unsupported")).toMatch(/^RDB: stream values are not supported/);
    expect(field(await info(db2), "master_link_status")).toBe("down");
    expect(await node(db2, "master", ["GET", "after-xadd"])).toEqual({ result: null });
    expect(await node(db2, "master", ["GET", "mine"])).toEqual({ result: "1" }); // the old data is kept
    // A MULTI block holding a command we lack: nothing of the block is applied.
    const db3 = "outside-unsupported-multi";
    await theirs.call("DEL", "stream");
    expect(await node(db3, "master", ["REPLICAOF", "127.0.0.1", redis.port])).toEqual({ result: "OK" });
    await caughtUp(db3);
    const tx = await theirs.send([["MULTI"], ["SET", "in-block", "1"], ["XADD", "stream2", "*", "f", "v"], ["EXEC"]]);
    const xid = text((tx[3] as unknown[])[1]);
    await theirs.call("SET", "after-block", "1");
    // The block's MULTI position: the end of the stream less the block and the SET after it
    // (redis-server may put a SELECT before the block, which we apply).
    const end = Number(field(text(await theirs.call("INFO", "replication")), "master_repl_offset"));
    const tail = [["MULTI"], ["SET", "in-block", "1"], ["XADD", "stream2", xid, "f", "v"], ["EXEC"], ["SET", "after-block", "1"]];
    const beforeMulti = String(end - tail.reduce((n, c) => n + encodeCommand(c).length, 0));
    await until("the MULTI stop to show", async () => field(await info(db3), "master_unsupported") !== undefined);
    expect(field(await info(db3), "master_unsupported")).toBe("command 'xadd' (in a MULTI block)");
    expect(field(await info(db3), "master_unsupported_offset")).toBe(beforeMulti);
    expect(await node(db3, "master", ["GET", "in-block"])).toEqual({ result: null });
    expect(await node(db3, "master", ["GET", "after-block"])).toEqual({ result: null });
    // A block with a command redis-server accepts and we refuse (a value past our 16 MiB): the
    // block is applied whole, as a transaction, and applying stops right after it.
    const db4 = "outside-failed-multi";
    await theirs.call("DEL", "stream2");
    expect(await node(db4, "master", ["REPLICAOF", "127.0.0.1", redis.port])).toEqual({ result: "OK" });
    await caughtUp(db4);
    await theirs.send([["MULTI"], ["SET", "in-block4", "1"], ["SET", "huge", "x".repeat(17 * 1024 * 1024)], ["SET", "in-block4b", "2"], ["EXEC"]]);
    const afterBlock = field(text(await theirs.call("INFO", "replication")), "master_repl_offset");
    await theirs.call("SET", "after-block4", "1");
    await until("the failed-block stop to show", async () => field(await info(db4), "master_unsupported") !== undefined);
    expect(field(await info(db4), "master_unsupported")).toMatch(/^command 'set' failed \(in a MULTI block\): ERR /);
    expect(field(await info(db4), "master_unsupported_offset")).toBe(afterBlock);
    expect(field(await info(db4), "master_link_status")).toBe("down");
    expect(await node(db4, "master", ["MGET", "in-block4", "in-block4b", "huge", "after-block4"])).toEqual({ result: ["1", "2", null, null] });
    expect(await node(db4, "master", ["REPLICAOF", "NO", "ONE"])).toEqual({ result: "OK" });

    const status = (await (
      await fetch(`${worker.url}/db/${db}/admin/nodes`, { headers: { authorization: `Bearer ${worker.token}` } })
    ).json()) as unknown;
    expect(JSON.stringify(status)).toContain(`"unsupported":{"what":"command 'xadd'","offset":${at}}`);
    expect(JSON.stringify(status)).toContain(`"outsideMaster":"127.0.0.1:${redis.port}"`);
    expect(await node(db, "master", ["REPLICAOF", "NO", "ONE"])).toEqual({ result: "OK" });
  }, 120_000);
});

describe("outside master with requirepass and an ACL user (masteruser / masterauth)", () => {
  let worker: TestWorker;
  let redis: RedisServer;
  let theirs: RespClient;

  beforeAll(async () => {
    [worker, redis] = await Promise.all([startWorker(), startRedisServer()]);
    theirs = await redis.connect();
    // This connection stays authenticated as the default user once the password is set.
    await theirs.call("ACL", "SETUSER", "repl", "on", ">repl-pass", "+@all", "~*");
    await theirs.call("CONFIG", "SET", "requirepass", "admin-pass");
  }, 120_000);

  afterAll(async () => {
    await theirs?.close();
    await redis?.stop();
    await worker?.dispose();
  });

  async function node(db: string, cmd: (string | number)[]): Promise<{ result?: unknown; error?: string }> {
    const res = await fetch(`${worker.url}/db/${db}/nodes/master`, {
      method: "POST",
      headers: { authorization: `Bearer ${worker.token}` },
      body: JSON.stringify(cmd),
    });
    return (await res.json()) as { result?: unknown; error?: string };
  }

  it("authenticates with AUTH masteruser masterauth and syncs; a wrong password keeps the link down", async () => {
    await theirs.send(dataset("auth"));
    const db = "outside-acl";
    expect(await node(db, ["CONFIG", "SET", "masteruser", "repl", "masterauth", "wrong"])).toEqual({ result: "OK" });
    const connections = async () => Number(field(text(await theirs.call("INFO", "stats")), "total_connections_received"));
    const connectionsBefore = await connections();
    expect(await node(db, ["REPLICAOF", "127.0.0.1", redis.port])).toEqual({ result: "OK" });
    // Refused: the link stays down and no sync happened (redis-server's sync_full stays 0).
    const deadline = Date.now() + 1_000;
    while (Date.now() < deadline) {
      const i = String((await node(db, ["INFO", "replication"])).result);
      expect(field(i, "master_link_status")).toBe("down");
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    expect(field(text(await theirs.call("INFO", "stats")), "sync_full")).toBe("0");
    // Retries back off (100 ms doubling, RECONNECT_MIN_MS): a few attempts in that second, not a storm.
    const attempts = (await connections()) - connectionsBefore;
    expect(attempts).toBeGreaterThanOrEqual(1);
    expect(attempts).toBeLessThanOrEqual(6);

    expect(await node(db, ["CONFIG", "SET", "masterauth", "repl-pass"])).toEqual({ result: "OK" });
    const want = text(await theirs.call("DEBUG", "DIGEST"));
    const deadline2 = Date.now() + SYNC_TIMEOUT_MS;
    while ((await node(db, ["DEBUG", "DIGEST"])).result !== want) {
      if (Date.now() > deadline2) throw new Error("timed out waiting for the authenticated sync");
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const i = String((await node(db, ["INFO", "replication"])).result);
    expect(field(i, "master_link_status")).toBe("up");
    // At least the one sync (a link dropped by a loaded machine mid-transfer syncs again: NOTES).
    expect(Number(field(text(await theirs.call("INFO", "stats")), "sync_full"))).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
