/**
 * Function libraries are data in RDB files, as in Redis 7.0 (RDB_OPCODE_FUNCTION2):
 * - a snapshot our master writes with functions passes redis-check-rdb, and a redis-server
 *   7.0 started on it lists the same libraries and runs them;
 * - a dump.rdb with functions written by redis-server loads into our master (admin restore)
 *   with its libraries.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Simple } from "../../src/protocol/reply.ts";
import { type RedisServer, startRedisServer } from "./support/redis-server.ts";
import { connectWs, type RespClient } from "./support/resp-client.ts";
import { startWorker, type TestWorker } from "./support/worker.ts";

const LIB_A = "#!lua name=liba\nredis.register_function('hello', function(keys, args) return 'hello ' .. args[1] end)";
const LIB_B =
  "#!lua name=libb\nredis.register_function{function_name='bump', callback=function(keys) return redis.call('incr', keys[1]) end, description='counts'}";

function text(v: unknown): string {
  if (v instanceof Simple) return v.s;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (v instanceof Error) throw v;
  return String(v);
}

/** FUNCTION LIST WITHCODE as sorted [name, code] pairs. */
async function libraries(c: RespClient): Promise<[string, string][]> {
  const list = (await c.call("FUNCTION", "LIST", "WITHCODE")) as unknown[][];
  return list.map((l) => [text(l[1]), text(l[7])] as [string, string]).sort((a, b) => a[0].localeCompare(b[0]));
}

describe("function libraries in RDB files and redis-server 7.0", () => {
  let worker: TestWorker;
  let redis: RedisServer;
  const db = `fnrdb${Date.now().toString(36)}`;

  beforeAll(async () => {
    [worker, redis] = await Promise.all([startWorker(), startRedisServer()]);
  }, 120_000);
  afterAll(async () => {
    await redis?.stop();
    await worker?.dispose();
  });

  it("a snapshot with functions passes redis-check-rdb; redis-server loaded on it lists and runs them", async () => {
    const ours = await connectWs(`${worker.url.replace("http", "ws")}/db/${db}/ws`, worker.token);
    try {
      expect(text(await ours.call("FUNCTION", "LOAD", LIB_A))).toBe("liba");
      expect(text(await ours.call("FUNCTION", "LOAD", LIB_B))).toBe("libb");
      expect(await ours.call("FCALL", "bump", "1", "n")).toBe(1);
      const add = await fetch(`${worker.url}/db/${db}/admin/nodes`, {
        method: "POST",
        headers: { authorization: `Bearer ${worker.token}` },
        body: JSON.stringify({ name: "r1" }),
      });
      expect(add.status).toBe(201);
      expect(await ours.call("WAIT", "1", "30000")).toBe(1);
      const res = await fetch(`${worker.url}/db/${db}/admin/snapshot`, { headers: { authorization: `Bearer ${worker.token}` } });
      expect(res.status).toBe(200);
      const rdb = new Uint8Array(await res.arrayBuffer());
      expect(new TextDecoder().decode(rdb.subarray(0, 9))).toBe("REDIS0010");
      const dir = mkdtempSync(join(tmpdir(), "edge-replica-fnrdb-"));
      writeFileSync(join(dir, "dump.rdb"), rdb);
      expect(execFileSync("redis-check-rdb", [join(dir, "dump.rdb")], { encoding: "utf8" })).toContain("RDB looks OK");
      const loaded = await startRedisServer(["--dir", dir, "--dbfilename", "dump.rdb"]);
      try {
        const c = await loaded.connect();
        expect(await libraries(c)).toEqual([
          ["liba", LIB_A],
          ["libb", LIB_B],
        ]);
        expect(text(await c.call("DEBUG", "DIGEST"))).toBe(text(await ours.call("DEBUG", "DIGEST")));
        expect(text(await c.call("FCALL", "hello", "0", "redis"))).toBe("hello redis");
        expect(await c.call("FCALL", "bump", "1", "n")).toBe(2);
        await c.close();
      } finally {
        await loaded.stop();
      }
    } finally {
      await ours.close();
    }
  }, 120_000);

  it("FUNCTION DUMP of one side restores on the other (both ways), with RESTORE's policies", async () => {
    const theirs = await redis.connect();
    const ours = await connectWs(`${worker.url.replace("http", "ws")}/db/fndump${Date.now().toString(36)}/ws`, worker.token);
    try {
      await theirs.call("FUNCTION", "FLUSH");
      expect(text(await theirs.call("FUNCTION", "LOAD", LIB_A))).toBe("liba");
      expect(text(await theirs.call("FUNCTION", "LOAD", LIB_B))).toBe("libb");
      const payload = (await theirs.call("FUNCTION", "DUMP")) as Uint8Array;
      expect(text(await ours.call("FUNCTION", "RESTORE", payload))).toBe("OK");
      expect(await libraries(ours)).toEqual(await libraries(theirs));
      expect(text(await ours.call("FCALL", "hello", "0", "x"))).toBe("hello x");
      // APPEND (the default) refuses a library that exists; REPLACE and FLUSH do not.
      const again = await ours.call("FUNCTION", "RESTORE", payload).catch((e: Error) => e);
      const theirAgain = await theirs.call("FUNCTION", "RESTORE", payload).catch((e: Error) => e);
      // Which of the two colliding libraries is named depends on redis-server's dict order.
      expect((again as Error).message).toMatch(/^ERR Library lib[ab] already exists$/);
      expect((theirAgain as Error).message).toMatch(/^ERR Library lib[ab] already exists$/);
      expect(text(await ours.call("FUNCTION", "RESTORE", payload, "REPLACE"))).toBe("OK");
      expect(text(await ours.call("FUNCTION", "RESTORE", payload, "FLUSH"))).toBe("OK");
      // Ours → theirs.
      const back = (await ours.call("FUNCTION", "DUMP")) as Uint8Array;
      expect(text(await theirs.call("FUNCTION", "RESTORE", back, "FLUSH"))).toBe("OK");
      expect(await libraries(theirs)).toEqual(await libraries(ours));
      // Damaged payloads are refused the same way.
      const bad = back.slice();
      bad[3] = bad[3]! ^ 0xff;
      const e1 = (await ours.call("FUNCTION", "RESTORE", bad).catch((e: Error) => e)) as Error;
      const e2 = (await theirs.call("FUNCTION", "RESTORE", bad).catch((e: Error) => e)) as Error;
      expect(e1.message).toBe("ERR DUMP payload version or checksum are wrong");
      expect(e1.message).toBe(e2.message);
      await theirs.call("FUNCTION", "FLUSH");
    } finally {
      await theirs.close();
      await ours.close();
    }
  }, 120_000);

  it("a dump.rdb with functions from redis-server loads into our master with its libraries", async () => {
    const theirs = await redis.connect();
    try {
      await theirs.call("FUNCTION", "FLUSH");
      expect(text(await theirs.call("FUNCTION", "LOAD", LIB_A))).toBe("liba");
      expect(text(await theirs.call("SET", "k", "v"))).toBe("OK");
      expect(text(await theirs.call("SAVE"))).toBe("OK");
      const dir = text(((await theirs.call("CONFIG", "GET", "dir")) as unknown[])[1]);
      const file = readFileSync(join(dir, "dump.rdb"));
      const target = `fnrestored${Date.now().toString(36)}`;
      const res = await fetch(`${worker.url}/db/${target}/admin/restore`, { method: "PUT", headers: { authorization: `Bearer ${worker.token}` }, body: file });
      expect(res.status).toBe(200);
      const c = await connectWs(`${worker.url.replace("http", "ws")}/db/${target}/ws`, worker.token);
      try {
        expect(await libraries(c)).toEqual([["liba", LIB_A]]);
        expect(text(await c.call("FCALL", "hello", "0", "edge"))).toBe("hello edge");
        expect(text(await c.call("GET", "k"))).toBe("v");
      } finally {
        await c.close();
      }
    } finally {
      await theirs.close();
    }
  }, 120_000);
});
