/**
 * The fuzz harness at the Workers level: fuzzed RESP over a client WebSocket, fuzzed REST
 * bodies and paths, and fuzzed RDB files to PUT /db/{db}/admin/restore, against real nodes.
 * Invariants: every input is answered or refused (no hang: each waits at most ANSWER_MS_MAX),
 * never with a 5xx or an internal error; the node still answers afterwards; an input refused
 * as a whole leaves the data as it was (DEBUG DIGEST before and after).
 *
 * The node parses RESP with the same RespParser, so the test predicts with it what the
 * node must do with each input: run N commands and answer each, refuse with the parser's
 * error after them and close (1002), or wait for more bytes. Each input goes in one frame:
 * this pool may reorder frames sent back to back (see resp-input.test.ts); splits at every
 * point are the pure level's job (test/fuzz/targets.ts).
 *
 * REST bodies and WebSocket frames go straight to the node, as the router forwards them
 * (the router's own checks are in bad-input.test.ts), and RDB files past the first
 * RESTORES_VIA_HTTP as the admin route does it: in this pool every SELF.fetch is slower
 * than the one before (measured: 2 ms → 50 ms per OPTIONS request over 400 requests),
 * which a long run cannot afford.
 *
 * FUZZ_SEED replays a run; FUZZ_WORKERS_ITERATIONS sets the inputs per kind (default 12;
 * `npm run fuzz` runs more).
 */
import { SELF, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ProtocolError, RespParser, encodeCommand } from "../../src/protocol/resp.ts";
import { restBody, restPath } from "../fuzz/json-gen.ts";
import { hexPreview } from "../fuzz/mutate.ts";
import { Rng, concatBytes, seedFromEnv } from "../fuzz/random.ts";
import { rdbInput } from "../fuzz/rdb-gen.ts";
import { requestStream } from "../fuzz/resp-gen.ts";
import { writeModel } from "../fixtures/rdb/model.ts";
import { H_DB, H_NODE, NODE_ORIGIN } from "../../src/http/node-protocol.ts";
import { cmd, freshDb, pipeline, stub } from "./nodes.ts";
import { openWs } from "./ws-client.ts";

const vars = env as unknown as Record<string, string | undefined>;
const SEED = seedFromEnv(vars);
const ITERATIONS = Number(vars.FUZZ_WORKERS_ITERATIONS || "12");
/** Longest a node may take to answer one fuzzed input. */
const ANSWER_MS_MAX = 15_000;
/** Time for one test of the run: a long run needs more than the default. */
const TEST_MS = Math.max(60_000, ITERATIONS * 1_500);
const AUTH = { authorization: "Bearer test-token" };
/** RDB inputs sent through the admin API's HTTP route; the rest go to the node as the route does. */
const RESTORES_VIA_HTTP = 20;
const td = new TextDecoder();

console.log(`fuzz (workers) seed ${SEED} (replay with FUZZ_SEED=${SEED}), ${ITERATIONS} inputs per kind`);

/** `p`, or a failure naming `what` when it takes longer than ANSWER_MS_MAX. */
async function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ANSWER_MS_MAX} ms: ${what}`)), ANSWER_MS_MAX);
  });
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Inputs between two resets of a fuzzed database: what the inputs wrote (a SETRANGE can
 * make a 16 MiB string) would otherwise slow every later DEBUG DIGEST.
 */
const RESET_EVERY = 40;

/** Empty the database, put the sentinel keys back; returns its digest. */
async function resetDb(db: string): Promise<unknown> {
  await cmd(db, "master", "FLUSHDB");
  await seedSentinels(db);
  return cmd(db, "master", "DEBUG", "DIGEST");
}

/** Sentinel keys no fuzzed input can name (the generators' keys are short words of a-d). */
async function seedSentinels(db: string): Promise<void> {
  await pipeline(db, "master", [
    ["SET", "sentinel:s", "v"],
    ["RPUSH", "sentinel:l", "a", "b", "c"],
    ["HSET", "sentinel:h", "f", "1", "g", "2"],
    ["ZADD", "sentinel:z", 1, "m", 2.5, "n"],
    ["SADD", "sentinel:set", "x", "y"],
  ]);
}

async function sentinelsIntact(db: string): Promise<void> {
  expect(await cmd(db, "master", "GET", "sentinel:s")).toBe("v");
  expect(await cmd(db, "master", "LRANGE", "sentinel:l", 0, -1)).toEqual(["a", "b", "c"]);
  expect(await cmd(db, "master", "HGETALL", "sentinel:h")).toEqual(["f", "1", "g", "2"]);
  expect(await cmd(db, "master", "ZRANGE", "sentinel:z", 0, -1, "WITHSCORES")).toEqual(["m", "1", "n", "2.5"]);
}

/** What the node must do with `input`, from the same parser: commands run, then an error or a wait. */
function predict(input: Uint8Array): { commands: number; error: string | null } {
  const p = new RespParser("request");
  p.push(input);
  let commands = 0;
  try {
    for (let v = p.next(); v !== undefined; v = p.next()) if ((v as Uint8Array[]).length > 0) commands++;
  } catch (e) {
    if (e instanceof ProtocolError) return { commands, error: e.message };
    throw e;
  }
  return { commands, error: null };
}

/** Count complete replies in `text` (RESP2); throws if they are not well-formed RESP. */
function countReplies(text: string): { replies: number; last: unknown } {
  const r = parseReplies(text);
  expect(r.buffered, `a partial reply: ${JSON.stringify(text.slice(-80))}`).toBe(0);
  return { replies: r.replies, last: r.last };
}

describe(`fuzz (workers level), seed ${SEED}`, () => {
  it("fuzzed RESP over a WebSocket: answered or refused, refused input changes nothing", async () => {
    const db = freshDb("fuzzresp");
    const stats = { inputs: 0, answered: 0, refused: 0, waiting: 0 };
    for (let i = 0; i < ITERATIONS * 4; i++) {
      if (i % RESET_EVERY === 0) await resetDb(db);
      const rng = new Rng((SEED + i * 0x9e3779b1) >>> 0);
      const input = requestStream(rng);
      const marker = `marker-${i}`;
      // The marker ends the input when the input leaves nothing open; its answer says the node got that far.
      const frame = concatBytes([input, encodeCommand(["ECHO", marker])]);
      const want = predict(frame);
      const ctx = `seed ${SEED} input ${i}: ${hexPreview(input, 120)}`;
      const before = want.error !== null && want.commands === 0 ? await cmd(db, "master", "DEBUG", "DIGEST") : null;
      const c = await openWs(db, undefined, true);
      c.frame(frame);
      let text = "";
      if (want.error !== null) {
        // Everything up to the error is answered, then the error, then the close.
        const code = await bounded(c.closed, ctx);
        for (let m = await c.read(); m !== undefined; m = await c.read()) text += m;
        expect(code, ctx).toBe(1002);
        const { replies, last } = countReplies(text);
        expect(replies, ctx).toBe(want.commands + 1);
        // Replies carry no line breaks: a "\r" or "\n" in the text goes out as a space (as in Redis).
        // The text goes out UTF-8 encoded (a byte above 0x7f in "got 'x'" too; Redis sends it raw).
        const got = td.decode(Uint8Array.from((last as { msg: string }).msg, (ch) => ch.charCodeAt(0)));
        expect(got, ctx).toBe(`ERR ${want.error.replace(/[\r\n]+/g, " ")}`);
        stats.refused++;
        if (before !== null) expect(await cmd(db, "master", "DEBUG", "DIGEST"), ctx).toBe(before);
      } else {
        const { replies, last } = await bounded(
          (async () => {
            for (;;) {
              const r = countRepliesLoose(text);
              if (r.replies >= want.commands) return r;
              const m = await c.read();
              if (m === undefined) throw new Error(`closed early: ${JSON.stringify(text.slice(-200))}`);
              text += m;
            }
          })(),
          ctx,
        );
        expect(replies, ctx).toBe(want.commands);
        if (want.commands > 0 && lastIsMarker(last, marker)) stats.answered++;
        else stats.waiting++;
        c.close();
      }
      stats.inputs++;
    }
    expect(await cmd(db, "master", "PING")).toBe("PONG");
    await sentinelsIntact(db);
    console.log(`fuzz (workers) RESP: ${JSON.stringify(stats)}`);
    expect(stats.refused).toBeGreaterThan(0);
    expect(stats.answered).toBeGreaterThan(0);
  }, TEST_MS);

  it("fuzzed REST bodies and paths: a JSON answer, never a 5xx; a refused request changes nothing", async () => {
    const db = freshDb("fuzzrest");
    let before: unknown = null;
    const stats: Record<string, number> = {};
    for (let i = 0; i < ITERATIONS * 6; i++) {
      const rng = new Rng((SEED ^ 0x5bd1e995) + i * 0x85ebca77);
      const kind = rng.pick(["single", "pipeline", "multi-exec", "path"] as const);
      // Straight to the node, as the router forwards a request (the router's own checks are
      // tested in bad-input.test.ts; SELF.fetch gets slower with every call in this pool).
      let url = `${NODE_ORIGIN}/rest`;
      let body: Uint8Array | null;
      let ctx: string;
      if (kind === "path") {
        const p = restPath(rng);
        url += `${p.path}${p.search}`;
        body = p.body;
        ctx = `seed ${SEED} input ${i} ${kind}: ${p.path}${p.search}`;
      } else {
        body = restBody(rng, kind !== "single");
        if (kind !== "single") url += `/${kind}`;
        ctx = `seed ${SEED} input ${i} ${kind}: ${hexPreview(body, 160)}`;
      }
      if (i % RESET_EVERY === 0) before = await resetDb(db);
      const res = await bounded(
        stub(db, "master").fetch(new Request(url, { method: body ? "POST" : "GET", headers: { [H_DB]: db, [H_NODE]: "master" }, body })),
        ctx,
      );
      const text = await res.text();
      expect(res.status, `${ctx} → ${text.slice(0, 200)}`).toBeLessThan(500);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new Error(`${ctx}: not JSON: ${text.slice(0, 200)}`);
      }
      // Nothing else writes to this database: the digest after one input is the one before the next.
      const after = await cmd(db, "master", "DEBUG", "DIGEST");
      if (res.status >= 400) {
        expect(typeof (json as { error?: unknown }).error, ctx).toBe("string");
        expect((json as { error: string }).error, ctx).not.toMatch(/internal error/i);
        expect(after, ctx).toBe(before);
      }
      before = after;
      const tag = `${kind} ${res.status}`;
      stats[tag] = (stats[tag] ?? 0) + 1;
    }
    expect(await cmd(db, "master", "PING")).toBe("PONG");
    await sentinelsIntact(db);
    console.log(`fuzz (workers) REST: ${JSON.stringify(stats)}`);
  }, TEST_MS);

  it("fuzzed RDB files to PUT /admin/restore: restored or refused with 400; a refused file changes nothing", async () => {
    const db = freshDb("fuzzrdb");
    const base = writeModel({ 0: { "sentinel:s": { type: "string", value: "v", expireMs: null }, "sentinel:l": { type: "list", items: ["a", "b", "c"], expireMs: null } } });
    /** Through the admin API (HTTP status and text); or, past the first inputs, as the admin API does it: stage in R2, call the node. */
    const restore = async (bytes: Uint8Array, i: number): Promise<{ status: number; text: string }> => {
      if (i < RESTORES_VIA_HTTP) {
        const res = await SELF.fetch(`https://example.com/db/${db}/admin/restore`, { method: "PUT", headers: AUTH, body: bytes });
        return { status: res.status, text: await res.text() };
      }
      const key = `uploads/${db}/fuzz-${i}.rdb`;
      await env.SNAPSHOTS.put(key, bytes);
      try {
        // As the admin route does: a refused file is answered as a value (400).
        const r = await stub(db, "master").restore(key);
        return { status: r.ok ? 200 : 400, text: JSON.stringify(r) };
      } catch (e) {
        return { status: 500, text: String(e) };
      } finally {
        await env.SNAPSHOTS.delete(key);
      }
    };
    const reset = async () => {
      const res = await restore(base, Number.POSITIVE_INFINITY);
      expect(res.status, res.text).toBe(200);
    };
    await cmd(db, "master", "PING"); // the node learns its name from its first request
    await reset();
    const baseline = await cmd(db, "master", "DEBUG", "DIGEST");
    const stats: Record<string, number> = {};
    for (let i = 0; i < ITERATIONS * 2; i++) {
      const rng = new Rng((SEED ^ 0x27d4eb2f) + i * 0x165667b1);
      const input = rdbInput(rng);
      const ctx = `seed ${SEED} input ${i} (${input.kind}): ${hexPreview(input.bytes, 160)}`;
      const res = await bounded(restore(input.bytes, i), ctx);
      const text = res.text;
      expect([200, 400, 413], `${ctx} → ${res.status} ${text.slice(0, 300)}`).toContain(res.status);
      if (res.status === 200) {
        expect(input.kind, `${ctx}: a truncated file was restored`).not.toBe("truncated");
        await reset();
      } else {
        expect(input.kind, `${ctx}: a valid file was refused: ${text}`).not.toBe("valid");
        expect(await cmd(db, "master", "DEBUG", "DIGEST"), `${ctx} → ${text}`).toBe(baseline);
      }
      const tag = `${input.kind} ${res.status}`;
      stats[tag] = (stats[tag] ?? 0) + 1;
    }
    expect(await cmd(db, "master", "PING")).toBe("PONG");
    expect(await cmd(db, "master", "DEBUG", "DIGEST")).toBe(baseline);
    console.log(`fuzz (workers) RDB: ${JSON.stringify(stats)}`);
  }, TEST_MS);
});

/** Like countReplies, for a stream still arriving: counts the complete replies so far. */
function countRepliesLoose(text: string): { replies: number; last: unknown } {
  const r = parseReplies(text);
  return { replies: r.replies, last: r.last };
}

/** The complete replies in `text`, the last one, and the bytes left unparsed. */
function parseReplies(text: string): { replies: number; last: unknown; buffered: number } {
  const p = new RespParser("reply");
  p.push(Uint8Array.from(text, (c) => c.charCodeAt(0)));
  let replies = 0;
  let last: unknown;
  for (let v = p.next(); v !== undefined; v = p.next()) {
    replies++;
    last = v;
  }
  return { replies, last, buffered: p.buffered };
}

function lastIsMarker(last: unknown, marker: string): boolean {
  return last instanceof Uint8Array && td.decode(last) === marker;
}
