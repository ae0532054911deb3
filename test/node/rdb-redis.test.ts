/**
 * The RDB reader and writer against a real redis-server 7.0 (Debian's 7.0.15 in CI).
 * Never skipped: without redis-server these tests fail and say how to install it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { B, L, type Model, type ModelKey, readModel, writeModel } from "../fixtures/rdb/model.ts";
import {
  type RedisProcess,
  type Reply,
  RespClient,
  requireBinary,
  runTool,
  startRedis,
} from "../fixtures/rdb/redis-server.ts";

const FAR_FUTURE_MS = 4102444800000; // 2100-01-01

let serverBin = "";
let checkBin = "";
let tmp = "";
const servers: RedisProcess[] = [];
const clients: RespClient[] = [];

async function start(extra: string[] = []): Promise<RespClient> {
  const s = await startRedis(serverBin, tmp, extra);
  servers.push(s);
  const c = await RespClient.connect(s.port);
  clients.push(c);
  return c;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const scoreArg = (s: number) => (s === Infinity ? "+inf" : s === -Infinity ? "-inf" : String(s));

/** Creates the model's keys through ordinary commands (pipelined). */
async function fill(c: RespClient, model: Model): Promise<void> {
  for (const [db, keys] of Object.entries(model)) {
    await c.call("SELECT", db);
    const pending: Promise<Reply>[] = [];
    const send = (...a: (string | Uint8Array)[]) => pending.push(c.call(...a));
    for (const [k, v] of Object.entries(keys)) {
      const key = B(k);
      switch (v.type) {
        case "string":
          send("SET", key, B(v.value));
          break;
        case "list":
          for (let i = 0; i < v.items.length; i += 1000) send("RPUSH", key, ...v.items.slice(i, i + 1000).map(B));
          break;
        case "set":
          for (let i = 0; i < v.members.length; i += 1000) send("SADD", key, ...v.members.slice(i, i + 1000).map(B));
          break;
        case "zset": {
          const args = Object.entries(v.members).flatMap(([m, s]) => [scoreArg(s), B(m)]);
          for (let i = 0; i < args.length; i += 1000) send("ZADD", key, ...args.slice(i, i + 1000));
          break;
        }
        case "hash": {
          const args = Object.entries(v.fields).flatMap(([f, x]) => [B(f), B(x)]);
          for (let i = 0; i < args.length; i += 1000) send("HSET", key, ...args.slice(i, i + 1000));
          break;
        }
      }
      if (v.expireMs !== null) send("PEXPIREAT", key, String(v.expireMs));
    }
    await Promise.all(pending);
  }
  await c.call("SELECT", "0");
}

/** Reads one key back through commands, as a model value. */
async function readKey(c: RespClient, key: Uint8Array): Promise<ModelKey | null> {
  const type = String(await c.call("TYPE", key));
  const pexp = Number(await c.call("PEXPIRETIME", key));
  const expireMs = pexp >= 0 ? pexp : null;
  const strs = (r: Reply) => (r as Buffer[]).map(L);
  switch (type) {
    case "none":
      return null;
    case "string":
      return { type, value: L((await c.call("GET", key)) as Buffer), expireMs };
    case "list":
      return { type, items: strs(await c.call("LRANGE", key, "0", "-1")), expireMs };
    case "set":
      return { type, members: strs(await c.call("SMEMBERS", key)).sort(), expireMs };
    case "zset": {
      const r = strs(await c.call("ZRANGE", key, "0", "-1", "WITHSCORES"));
      const members: Record<string, number> = {};
      for (let i = 0; i < r.length; i += 2) members[r[i]!] = Number(r[i + 1]!.replace(/^(-?)inf$/, "$1Infinity"));
      return { type, members, expireMs };
    }
    case "hash": {
      const r = strs(await c.call("HGETALL", key));
      const fields: Record<string, string> = {};
      for (let i = 0; i < r.length; i += 2) fields[r[i]!] = r[i + 1]!;
      return { type, fields, expireMs };
    }
    default:
      throw new Error(`unexpected type ${type}`);
  }
}

/** What redis-server 7.0 should write for this model: every encoding it has. */
function serverModel(): Model {
  const pattern = range(2000).map((i) => `line ${i % 37} of a compressible text; `).join("");
  return {
    0: {
      "str:int": { type: "string", value: "12345", expireMs: null },
      "str:neg": { type: "string", value: "-5", expireMs: null },
      "str:i64": { type: "string", value: "9223372036854775807", expireMs: null },
      "str:short": { type: "string", value: "hello", expireMs: null },
      "str:lzf": { type: "string", value: "abc".repeat(100), expireMs: null },
      "str:big-lzf": { type: "string", value: pattern, expireMs: null },
      "str:bin": { type: "string", value: "\x00\xff\xfe\x80 binary \r\n", expireMs: null },
      "str:ttl": { type: "string", value: "v", expireMs: FAR_FUTURE_MS },
      "set:intset": { type: "set", members: ["-5", "0", "1", "2", "70000", String(2 ** 40)].sort(), expireMs: null },
      "set:int-big": { type: "set", members: range(600).map(String).sort(), expireMs: null },
      "set:str": { type: "set", members: ["a", "b", "c\x00"], expireMs: FAR_FUTURE_MS + 1 },
      "set:huge": { type: "set", members: range(100_000).map((i) => `member-${i}`).sort(), expireMs: null },
      "hash:small": { type: "hash", fields: { f1: "v1", f2: "42", n: "-70000" }, expireMs: null },
      "hash:big": { type: "hash", fields: Object.fromEntries(range(200).map((i) => [`f${i}`, `v${i}`])), expireMs: null },
      "hash:longval": { type: "hash", fields: { f: "x".repeat(100), g: "1" }, expireMs: null },
      "zset:small": {
        type: "zset",
        members: { a: 1.5, b: -0.25, c: Infinity, d: -Infinity, e: 1e-5, f: 3, g: -70000 },
        expireMs: null,
      },
      "zset:big": { type: "zset", members: Object.fromEntries(range(300).map((i) => [`m${i}`, i / 7])), expireMs: null },
      "zset:longmember": { type: "zset", members: { ["m".repeat(100)]: 2, short: 1 }, expireMs: null },
      "list:small": { type: "list", items: ["a", "b", "1", "-200", "70000", "9000000000", ""], expireMs: null },
      "list:big": { type: "list", items: range(20_000).map((i) => (i % 3 ? `element-${i}` : String(i * 1000))), expireMs: null },
      "list:ttl": { type: "list", items: ["x", "y".repeat(300)], expireMs: FAR_FUTURE_MS + 2 },
    },
    1: { "db1:str": { type: "string", value: "one", expireMs: null } },
    9: { "db9:hash": { type: "hash", fields: { a: "1" }, expireMs: FAR_FUTURE_MS + 3 } },
  };
}

/** What we write ourselves: every type, binary data, big collections, expiry, several dbs. */
function ourModel(): Model {
  const bin = "\x00\xff\xfe\xc3\x28\x80"; // NUL, invalid UTF-8
  return {
    0: {
      [`key${bin}`]: { type: "string", value: `value${bin}`, expireMs: null },
      "int-like": { type: "string", value: "123", expireMs: null },
      "not-int": { type: "string", value: "007", expireMs: FAR_FUTURE_MS },
      empty: { type: "string", value: "", expireMs: null },
      big: { type: "string", value: range(1 << 20).map((i) => String.fromCharCode((i * 31) & 0xff)).join(""), expireMs: null },
      list: { type: "list", items: ["a", bin, "-1", "a"], expireMs: null },
      "list-big": { type: "list", items: range(5000).map((i) => `item ${i}`), expireMs: FAR_FUTURE_MS + 5 },
      "set-ints": { type: "set", members: ["1", "2", "-3", "4294967296"].sort(), expireMs: null },
      "set-bin": { type: "set", members: [bin, "b", "007"].sort(), expireMs: null },
      "set-big": { type: "set", members: range(1000).map((i) => `s${i}`).sort(), expireMs: null },
      zset: { type: "zset", members: { [bin]: -1.5, b: Infinity, c: -Infinity, d: 0, e: 1e300 }, expireMs: null },
      "zset-big": { type: "zset", members: Object.fromEntries(range(500).map((i) => [`z${i}`, i * 1.25])), expireMs: null },
      hash: { type: "hash", fields: { [bin]: bin, n: "5" }, expireMs: FAR_FUTURE_MS + 6 },
      "hash-big": { type: "hash", fields: Object.fromEntries(range(300).map((i) => [`f${i}`, "v".repeat(i)])), expireMs: null },
      expired: { type: "string", value: "gone", expireMs: 1000 },
    },
    3: { other: { type: "list", items: ["only"], expireMs: null } },
    15: { last: { type: "set", members: ["x"], expireMs: FAR_FUTURE_MS + 7 } },
  };
}

function withoutExpired(m: Model): Model {
  const out: Model = {};
  for (const [db, keys] of Object.entries(m)) {
    out[Number(db)] = Object.fromEntries(Object.entries(keys).filter(([, v]) => v.expireMs === null || v.expireMs > Date.now()));
  }
  return out;
}

describe("rdb against a real redis-server 7.0", () => {
  beforeAll(() => {
    serverBin = requireBinary("redis-server");
    checkBin = requireBinary("redis-check-rdb");
    tmp = mkdtempSync(path.join(os.tmpdir(), "edge-replica-rdb-"));
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all(servers.map((s) => s.stop()));
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("reads the dump.rdb redis-server writes (intset, listpack, quicklist2 incl. plain nodes, LZF, ttl, dbs)", async () => {
    const c = await start(["--dbfilename", "server.rdb"]);
    const model = serverModel();
    await fill(c, model);
    // Elements of 1000+ bytes go into PLAIN quicklist nodes from now on.
    await c.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1000");
    const plain = { type: "list" as const, items: ["small", "p".repeat(2000), "tail", "q".repeat(1500)], expireMs: null };
    await c.call("RPUSH", "list:plain", ...plain.items);
    model[0]!["list:plain"] = plain;
    expect(await c.call("SAVE")).toBe("OK");

    const file = new Uint8Array(readFileSync(path.join(tmp, "server.rdb")));
    expect(new TextDecoder().decode(file.subarray(0, 9))).toBe("REDIS0010");
    // Compressible strings were stored LZF-compressed, not as they are.
    const raw = Buffer.from(file);
    expect(raw.indexOf(Buffer.from(model[0]!["str:big-lzf"]!.type === "string" ? model[0]!["str:big-lzf"].value.slice(0, 400) : ""))).toBe(-1);
    expect(raw.indexOf(Buffer.from("abc".repeat(100)))).toBe(-1);
    const got = readModel(file, 4096);
    expect(got.aux["redis-ver"]).toBe("7.0.15");
    expect(got.end?.crc).toMatch(/^[0-9a-f]{16}$/);
    expect(got.model).toEqual(model);
    const types = new Set(Object.values(got.rdbTypes));
    for (const t of [0, 2, 4, 5, 11, 16, 17, 18]) expect(types, `RDB type ${t} was exercised`).toContain(t);
  });

  it("writes an RDB that redis-check-rdb accepts and redis-server loads with the same data", async () => {
    const model = ourModel();
    const file = writeModel(
      model,
      {
        "redis-ver": "7.0.15",
        "redis-bits": 64,
        ctime: Math.floor(Date.now() / 1000),
        "used-mem": 3_000_000_000,
        "repl-stream-db": 0,
        "repl-id": "0123456789abcdef0123456789abcdef01234567",
        "repl-offset": 123456789,
        "aof-base": 0,
      },
      { chunkBytes: 4096 },
    );
    const rdbPath = path.join(tmp, "ours.rdb");
    writeFileSync(rdbPath, file);

    const check = runTool(checkBin, [rdbPath]);
    expect(check.out).toMatch(/RDB looks OK/);
    expect(check.out).toMatch(/1 already expired/);
    expect(check.code).toBe(0);

    const loaded = await start(["--dbfilename", "ours.rdb"]);
    const fed = await start(["--dbfilename", "fed.rdb"]);
    const want = withoutExpired(model);
    await fill(fed, want);

    // The whole dataset, expiry included, digests the same as one built by commands.
    expect(String(await loaded.call("DEBUG", "DIGEST"))).toBe(String(await fed.call("DEBUG", "DIGEST")));
    for (const [db, keys] of Object.entries(want)) {
      await loaded.call("SELECT", db);
      await fed.call("SELECT", db);
      expect(await loaded.call("DBSIZE")).toBe(Object.keys(keys).length);
      for (const [k, v] of Object.entries(keys)) {
        const key = B(k);
        expect(await readKey(loaded, key), `db ${db} key ${JSON.stringify(k)}`).toEqual(v);
        expect(await loaded.call("DEBUG", "DIGEST-VALUE", key)).toEqual(await fed.call("DEBUG", "DIGEST-VALUE", key));
      }
    }
    await loaded.call("SELECT", "0");
    expect(await loaded.call("EXISTS", "expired")).toBe(0);

    // And what redis-server saves from it reads back to the same model.
    expect(await loaded.call("SAVE")).toBe("OK");
    expect(readModel(new Uint8Array(readFileSync(rdbPath)), 65536).model).toEqual(want);
  });
});
