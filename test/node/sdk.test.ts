/**
 * The published @upstash/redis SDK (1.39), unchanged, against the local Worker: what a user
 * of the REST API sees. Defaults are kept on purpose: base64 responses, auto-pipelining
 * (so most calls travel as /pipeline) and read-your-writes tokens.
 */
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker, type TestWorker } from "./support/worker.ts";

let w: TestWorker;
let redis: Redis;
let n = 0;
/** A fresh key prefix per test, so tests do not see each other's data. */
const k = (name: string) => `sdk:${n}:${name}`;

beforeAll(async () => {
  w = await startWorker();
  redis = new Redis({ url: w.url, token: w.token });
});
afterAll(async () => {
  await w?.dispose();
});

function fresh(): void {
  n++;
}

/** Record the paths of the SDK's HTTP requests while `fn` runs. */
async function recordRequests<T>(fn: () => Promise<T>): Promise<{ result: T; paths: string[] }> {
  const real = globalThis.fetch;
  const paths: string[] = [];
  globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    paths.push(new URL(url).pathname);
    return real(input, init);
  }) as typeof fetch;
  try {
    return { result: await fn(), paths };
  } finally {
    globalThis.fetch = real;
  }
}

describe("@upstash/redis against edge-replica", () => {
  it("ping", async () => {
    expect(await redis.ping()).toBe("PONG");
  });

  it("strings", async () => {
    fresh();
    expect(await redis.set(k("s"), "hello")).toBe("OK");
    expect(await redis.get(k("s"))).toBe("hello");
    expect(await redis.set(k("s"), "x", { nx: true })).toBeNull();
    expect(await redis.append(k("s"), " world")).toBe(11);
    expect(await redis.strlen(k("s"))).toBe(11);
    expect(await redis.getrange(k("s"), 0, 4)).toBe("hello");
    expect(await redis.incr(k("n"))).toBe(1);
    expect(await redis.incrby(k("n"), 41)).toBe(42);
    expect(await redis.decr(k("n"))).toBe(41);
    expect(await redis.get(k("n"))).toBe(41); // the SDK JSON-parses values
    expect(await redis.incrbyfloat(k("f"), 1.5)).toBe(1.5);
    expect(await redis.mset({ [k("a")]: "1", [k("b")]: "two" })).toBe("OK");
    expect(await redis.mget(k("a"), k("b"), k("missing"))).toEqual([1, "two", null]);
    expect(await redis.get(k("missing"))).toBeNull();
    expect(await redis.del(k("a"), k("b"), k("missing"))).toBe(2);
    expect(await redis.exists(k("s"), k("a"))).toBe(1);
    expect(await redis.type(k("s"))).toBe("string");
  });

  it("values that look like protocol words round-trip (OK, 8, JSON)", async () => {
    fresh();
    await redis.set(k("ok"), "OK");
    expect(await redis.get(k("ok"))).toBe("OK");
    await redis.set(k("eight"), "8");
    expect(await redis.get(k("eight"))).toBe(8);
    await redis.set(k("obj"), { a: 1, b: [true, null] });
    expect(await redis.get(k("obj"))).toEqual({ a: 1, b: [true, null] });
  });

  it("hashes", async () => {
    fresh();
    expect(await redis.hset(k("h"), { f1: "v1", f2: 2 })).toBe(2);
    expect(await redis.hget(k("h"), "f1")).toBe("v1");
    expect(await redis.hgetall(k("h"))).toEqual({ f1: "v1", f2: 2 });
    expect(await redis.hincrby(k("h"), "f2", 3)).toBe(5);
    expect(await redis.hmget(k("h"), "f1", "nope")).toEqual({ f1: "v1", nope: null });
    expect(await redis.hexists(k("h"), "f1")).toBe(1);
    expect(await redis.hlen(k("h"))).toBe(2);
    expect((await redis.hkeys(k("h"))).sort()).toEqual(["f1", "f2"]);
    expect(await redis.hdel(k("h"), "f1")).toBe(1);
    expect(await redis.hgetall(k("missing"))).toBeNull();
  });

  it("lists", async () => {
    fresh();
    expect(await redis.rpush(k("l"), "a", "b", "c")).toBe(3);
    expect(await redis.lpush(k("l"), "z")).toBe(4);
    expect(await redis.lrange(k("l"), 0, -1)).toEqual(["z", "a", "b", "c"]);
    expect(await redis.llen(k("l"))).toBe(4);
    expect(await redis.lindex(k("l"), -1)).toBe("c");
    expect(await redis.lpop(k("l"))).toBe("z");
    expect(await redis.rpop(k("l"))).toBe("c");
    expect(await redis.lrange(k("l"), 0, -1)).toEqual(["a", "b"]);
  });

  it("sets", async () => {
    fresh();
    expect(await redis.sadd(k("s"), "a", "b", "c")).toBe(3);
    expect(await redis.sadd(k("s"), "a")).toBe(0);
    expect((await redis.smembers(k("s"))).sort()).toEqual(["a", "b", "c"]);
    expect(await redis.sismember(k("s"), "b")).toBe(1);
    expect(await redis.scard(k("s"))).toBe(3);
    expect(await redis.srem(k("s"), "a")).toBe(1);
    await redis.sadd(k("t"), "b", "x");
    expect(await redis.sinter(k("s"), k("t"))).toEqual(["b"]);
  });

  it("sorted sets", async () => {
    fresh();
    expect(await redis.zadd(k("z"), { score: 1, member: "a" }, { score: 2.5, member: "b" }, { score: 3, member: "c" })).toBe(3);
    expect(await redis.zscore(k("z"), "b")).toBe(2.5);
    expect(await redis.zincrby(k("z"), 0.5, "a")).toBe(1.5);
    expect(await redis.zrange(k("z"), 0, -1)).toEqual(["a", "b", "c"]);
    expect(await redis.zrange(k("z"), 0, -1, { withScores: true })).toEqual(["a", 1.5, "b", 2.5, "c", 3]);
    expect(await redis.zrank(k("z"), "c")).toBe(2);
    expect(await redis.zcard(k("z"))).toBe(3);
    expect(await redis.zrange(k("z"), 2, 3, { byScore: true })).toEqual(["b", "c"]);
    expect(await redis.zrem(k("z"), "a")).toBe(1);
  });

  it("expiry", async () => {
    fresh();
    await redis.set(k("e"), "v", { ex: 100 });
    const ttl = await redis.ttl(k("e"));
    expect(ttl).toBeGreaterThan(98);
    expect(ttl).toBeLessThanOrEqual(100);
    expect(await redis.pttl(k("e"))).toBeGreaterThan(98_000);
    expect(await redis.persist(k("e"))).toBe(1);
    expect(await redis.ttl(k("e"))).toBe(-1);
    expect(await redis.ttl(k("missing"))).toBe(-2);
    await redis.set(k("short"), "v", { px: 50 });
    await new Promise((r) => setTimeout(r, 120));
    expect(await redis.get(k("short"))).toBeNull();
    expect(await redis.expire(k("e"), 10)).toBe(1);
    expect(await redis.ttl(k("e"))).toBeGreaterThan(8);
  });

  it("auto-pipelining: concurrent calls travel as /pipeline and keep their own results", async () => {
    fresh();
    const { result, paths } = await recordRequests(() =>
      Promise.all([
        redis.set(k("a"), "1"),
        redis.set(k("b"), "2"),
        redis.incr(k("c")),
        redis.get(k("nothing")),
        redis.hset(k("h"), { f: "v" }),
      ]),
    );
    expect(result).toEqual(["OK", "OK", 1, null, 1]);
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.length).toBeLessThan(5);
    for (const p of paths) expect(p).toBe("/pipeline");
  });

  it("an error in an auto-pipeline fails only its own call", async () => {
    fresh();
    await redis.set(k("str"), "x");
    const [ok, bad] = await Promise.allSettled([redis.set(k("a"), "1"), redis.lpush(k("str"), "y")]);
    expect(ok).toEqual({ status: "fulfilled", value: "OK" });
    expect(bad.status).toBe("rejected");
    expect(String((bad as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE Operation against a key holding the wrong kind of value/);
  });

  it("pipeline()", async () => {
    fresh();
    const p = redis.pipeline();
    p.set(k("a"), "1");
    p.incr(k("a"));
    p.get(k("a"));
    p.hset(k("h"), { f: "v" });
    p.hget(k("h"), "f");
    expect(await p.exec()).toEqual(["OK", 2, 2, 1, "v"]);
    const q = redis.pipeline();
    q.set(k("s"), "x");
    q.lpush(k("s"), "y");
    await expect(q.exec()).rejects.toThrow(/Command 2 \[ lpush \] failed: WRONGTYPE/);
  });

  it("multi()/exec() is a transaction", async () => {
    fresh();
    const tx = redis.multi();
    tx.set(k("a"), "10");
    tx.incrby(k("a"), 5);
    tx.get(k("a"));
    tx.sadd(k("s"), "m");
    expect(await tx.exec()).toEqual(["OK", 15, 15, 1]);
    // A command refused at queue time discards the whole transaction.
    const bad = redis.multi();
    bad.set(k("b"), "1");
    // @ts-expect-error: a wrong-arity call the SDK does not check
    bad.get();
    await expect(bad.exec()).rejects.toThrow(/EXECABORT/);
    expect(await redis.get(k("b"))).toBeNull();
  });

  it("unicode and control characters survive with base64 responses (the default)", async () => {
    fresh();
    for (const v of ["😀 emoji", "é€ ünïcödé", "a\u0000b", "line\r\nbreak", " leading space", "mid\ufeffbom"]) {
      await redis.set(k("u"), v);
      expect(await redis.get(k("u"))).toBe(v);
    }
    // A leading BOM is stored (3 bytes) but the SDK's own TextDecoder drops it when decoding.
    await redis.set(k("bom"), "\ufeffx");
    expect(await redis.strlen(k("bom"))).toBe(4);
    await redis.hset(k("h"), { "fïeld😀": "välue\u0000" });
    expect(await redis.hgetall(k("h"))).toEqual({ "fïeld😀": "välue\u0000" });
  });

  it("binary bytes written in the path form read back exactly with base64", async () => {
    fresh();
    const bytes = new Uint8Array(256);
    for (let i = 0; i < 256; i++) bytes[i] = i;
    const auth = { authorization: `Bearer ${w.token}` };
    const set = await fetch(`${w.url}/set/${encodeURIComponent(k("bin"))}`, { method: "POST", headers: auth, body: bytes });
    expect(await set.json()).toEqual({ result: "OK" });
    const get = await fetch(w.url, {
      method: "POST",
      headers: { ...auth, "upstash-encoding": "base64" },
      body: JSON.stringify(["GET", k("bin")]),
    });
    const { result } = (await get.json()) as { result: string };
    expect([...Buffer.from(result, "base64")]).toEqual([...bytes]);
    expect(await redis.strlen(k("bin"))).toBe(256);
  });

  it("a new sync token after every write; reads keep it", async () => {
    fresh();
    const r = new Redis({ url: w.url, token: w.token });
    await r.ping();
    let last = Number(r.readYourWritesSyncToken);
    expect(Number.isInteger(last)).toBe(true);
    for (let i = 0; i < 3; i++) {
      await r.set(k(`w${i}`), String(i));
      const t = Number(r.readYourWritesSyncToken);
      expect(t).toBeGreaterThan(last);
      last = t;
      await r.get(k(`w${i}`));
      expect(Number(r.readYourWritesSyncToken)).toBe(last);
    }
    // A token from another client is a lower bound that is echoed back.
    const other = new Redis({ url: w.url, token: w.token });
    other.readYourWritesSyncToken = String(last);
    await other.get(k("w0"));
    expect(Number(other.readYourWritesSyncToken)).toBeGreaterThanOrEqual(last);
  });

  it("a bad token is refused", async () => {
    const bad = new Redis({ url: w.url, token: "not-the-token", enableAutoPipelining: false });
    await expect(bad.get("x")).rejects.toThrow(/WRONGPASS invalid or missing auth token/);
    const badAuto = new Redis({ url: w.url, token: "not-the-token" });
    await expect(badAuto.get("x")).rejects.toThrow(/WRONGPASS/);
  });

  it("the read-only token reads but refuses writes", async () => {
    fresh();
    await redis.set(k("r"), "v");
    const ro = new Redis({ url: w.url, token: w.readonlyToken });
    expect(await ro.get(k("r"))).toBe("v");
    await expect(ro.set(k("r"), "w")).rejects.toThrow(/NOPERM/);
    await expect(ro.del(k("r"))).rejects.toThrow(/NOPERM/);
    expect(await redis.get(k("r"))).toBe("v");
  });

  it("databases are separate: /db/{name}", async () => {
    fresh();
    const other = new Redis({ url: `${w.url}/db/sdk-other`, token: w.token });
    await redis.set(k("same"), "default");
    await other.set(k("same"), "other");
    expect(await redis.get(k("same"))).toBe("default");
    expect(await other.get(k("same"))).toBe("other");
  });
});
