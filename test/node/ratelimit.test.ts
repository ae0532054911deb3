/**
 * The published @upstash/ratelimit (2.2.0), unchanged, against the local Worker through the
 * published @upstash/redis SDK: every algorithm runs as a Lua script (EVALSHA, then EVAL on
 * NOSCRIPT; `#!lua flags=allow-key-locking`). Limits must be exact, also under concurrency.
 */
import { createHash } from "node:crypto";
import { MultiRegionRatelimit, Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker, type TestWorker } from "./support/worker.ts";

let w: TestWorker;
let redis: Redis;
let n = 0;
const prefix = () => `rl${n++}`;

beforeAll(async () => {
  w = await startWorker();
  redis = new Redis({ url: w.url, token: w.token });
});
afterAll(async () => {
  await w?.dispose();
});

type Limited = { success: boolean; pending: Promise<unknown> };

/**
 * One limit() call, with its background work done: `pending` is the SDK's requests still in
 * flight after the answer (MultiRegionRatelimit's sync of the other databases, analytics). Left
 * alone, one can outlive the test and fail when the Worker is disposed (an unhandled rejection
 * that fails the run).
 */
async function limit<R extends Limited>(rl: { limit(id: string): Promise<R> }, id: string): Promise<R> {
  const r = await rl.limit(id);
  await r.pending;
  return r;
}

/** Fire `count` limit() calls at once; how many were allowed. */
async function burst(rl: { limit(id: string): Promise<Limited> }, id: string, count: number): Promise<number> {
  const rs = await Promise.all(Array.from({ length: count }, () => limit(rl, id)));
  return rs.filter((r) => r.success).length;
}

describe("scripts over REST, as the SDK sends them", () => {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${w.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${w.token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as unknown };
  };
  const script = "return {KEYS[1], ARGV[1], redis.call('incr', KEYS[1])}";
  const sha = createHash("sha1").update(script).digest("hex");

  it("EVALSHA → NOSCRIPT, then EVAL, on /, /pipeline and /multi-exec", async () => {
    const key = `${prefix()}:k`;
    expect(await post("/", ["evalsha", sha, 1, key, "a"])).toEqual({ status: 400, body: { error: "NOSCRIPT No matching script. Please use EVAL." } });
    expect(await post("/", ["eval", script, 1, key, "a"])).toEqual({ status: 200, body: { result: [key, "a", 1] } });
    expect(await post("/pipeline", [["evalsha", sha, 1, key, 7], ["evalsha", "0".repeat(40), 0]])).toEqual({
      status: 200,
      body: [{ result: [key, "7", 2] }, { error: "NOSCRIPT No matching script. Please use EVAL." }],
    });
    expect(await post("/multi-exec", [["evalsha", sha, 1, key, true], ["get", key]])).toEqual({
      status: 200,
      body: [{ result: [key, "true", 3] }, { result: "3" }],
    });
    expect(await post("/", ["script", "load", script])).toEqual({ status: 200, body: { result: sha } });
  });
});

// Windowed limiters count per window of the clock: "1 d" keeps a test from straddling a
// window's end (with "60 s", a burst and the call after it can land in two windows; the
// fixedWindow test once saw its 26th call allowed under the full suite).
describe("@upstash/ratelimit against edge-replica", () => {
  it("fixedWindow: 25 concurrent calls against a limit of 10 allow exactly 10", async () => {
    const rl = new Ratelimit({ redis, limiter: Ratelimit.fixedWindow(10, "1 d"), prefix: prefix(), ephemeralCache: false, timeout: 0 });
    expect(await burst(rl, "u", 25)).toBe(10);
    const r = await limit(rl, "u");
    expect(r.success).toBe(false);
    expect(r.limit).toBe(10);
    expect(r.remaining).toBe(0);
    expect(await burst(rl, "other", 3)).toBe(3);
  });

  it("slidingWindow: exactly the limit, remaining counts down", async () => {
    const rl = new Ratelimit({ redis, limiter: Ratelimit.slidingWindow(10, "1 d"), prefix: prefix(), ephemeralCache: false, timeout: 0 });
    const first = await limit(rl, "u");
    expect(first.success).toBe(true);
    expect(first.remaining).toBe(9);
    expect(await burst(rl, "u", 24)).toBe(9);
    expect((await limit(rl, "u")).success).toBe(false);
  });

  it("tokenBucket: exactly maxTokens, then refused", async () => {
    const rl = new Ratelimit({ redis, limiter: Ratelimit.tokenBucket(1, "60 s", 10), prefix: prefix(), ephemeralCache: false, timeout: 0 });
    expect(await burst(rl, "u", 25)).toBe(10);
    const r = await limit(rl, "u");
    expect(r.success).toBe(false);
    expect(r.remaining).toBe(0);
  });

  it("cachedFixedWindow: exactly the limit", async () => {
    const rl = new Ratelimit({ redis, limiter: Ratelimit.cachedFixedWindow(10, "1 d"), prefix: prefix(), ephemeralCache: new Map(), timeout: 0 });
    let allowed = 0;
    for (let i = 0; i < 15; i++) if ((await limit(rl, "u")).success) allowed++;
    expect(allowed).toBe(10);
  });

  it("getRemaining and resetUsedTokens", async () => {
    const rl = new Ratelimit({ redis, limiter: Ratelimit.fixedWindow(10, "1 d"), prefix: prefix(), ephemeralCache: false, timeout: 0 });
    await burst(rl, "u", 4);
    const rem = await rl.getRemaining("u");
    expect(rem.remaining).toBe(6);
    expect(rem.limit).toBe(10);
    await rl.resetUsedTokens("u");
    expect((await rl.getRemaining("u")).remaining).toBe(10);
    const tb = new Ratelimit({ redis, limiter: Ratelimit.tokenBucket(1, "60 s", 5), prefix: prefix(), ephemeralCache: false, timeout: 0 });
    await burst(tb, "u", 2);
    expect((await tb.getRemaining("u")).remaining).toBe(3);
    const sw = new Ratelimit({ redis, limiter: Ratelimit.slidingWindow(5, "1 d"), prefix: prefix(), ephemeralCache: false, timeout: 0 });
    await burst(sw, "u", 2);
    expect((await sw.getRemaining("u")).remaining).toBe(3);
  });

  it("dynamicLimits: setDynamicLimit changes the limit, getDynamicLimit reads it", async () => {
    const rl = new Ratelimit({ redis, limiter: Ratelimit.fixedWindow(10, "1 d"), prefix: prefix(), ephemeralCache: false, timeout: 0, dynamicLimits: true });
    await rl.setDynamicLimit({ limit: 3 });
    expect((await rl.getDynamicLimit()).dynamicLimit).toBe(3);
    expect(await burst(rl, "u", 8)).toBe(3);
    await rl.setDynamicLimit({ limit: false });
    expect((await rl.getDynamicLimit()).dynamicLimit).toBe(null);
  });

  it("MultiRegionRatelimit (two databases): fixedWindow and slidingWindow allow exactly the limit", async () => {
    const other = new Redis({ url: `${w.url}/db/rl-second`, token: w.token });
    const fw = new MultiRegionRatelimit({ redis: [redis, other], limiter: MultiRegionRatelimit.fixedWindow(5, "1 d"), prefix: prefix(), ephemeralCache: false, timeout: 0 });
    let allowed = 0;
    for (let i = 0; i < 8; i++) if ((await limit(fw, "u")).success) allowed++;
    expect(allowed).toBe(5);
    const sw = new MultiRegionRatelimit({ redis: [redis, other], limiter: MultiRegionRatelimit.slidingWindow(5, "1 d"), prefix: prefix(), ephemeralCache: false, timeout: 0 });
    allowed = 0;
    for (let i = 0; i < 8; i++) if ((await limit(sw, "u")).success) allowed++;
    expect(allowed).toBe(5);
  });
});
