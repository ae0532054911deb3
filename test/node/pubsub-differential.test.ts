/**
 * Pub/sub differential test: one seeded random stream of SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE /
 * (P|S)UNSUBSCRIBE / PUBLISH / SPUBLISH / PUBSUB … / PING / GET on several connections (two in
 * RESP2, two in RESP3), sent to a real redis-server over TCP and to our node over RESP
 * WebSockets. After each command every connection gets a PING barrier; everything each
 * connection received up to it (replies, confirmations, messages) must be equal, byte for byte.
 *
 *   npx vitest run --project node test/node/pubsub-differential.test.ts
 *   PSDIFF_SEED=123 …      replay a seed (printed by every run)
 *   PSDIFF_COUNT=20000 …   commands (default 4,000)
 *
 * Redis lists some things in its dicts' hash order, which depends on a random seed of each
 * process: UNSUBSCRIBE-all confirmations, PUBSUB CHANNELS, the pmessages of one PUBLISH to one
 * connection. Those are compared as sets (the counts in order); everything else in order. A
 * first test runs the stream against two redis-servers to prove that this leaves no false alarm.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomSeed, Rng } from "./support/command-gen.ts";
import { startRedisServer, type RedisServer } from "./support/redis-server.ts";
import { type Frame, RespStream } from "./support/resp-stream.ts";
import { startWorker, type TestWorker } from "./support/worker.ts";

const SEED = process.env.PSDIFF_SEED !== undefined ? Number(process.env.PSDIFF_SEED) >>> 0 : randomSeed();
const COUNT = Number(process.env.PSDIFF_COUNT ?? 4000);
/** Connections per side: the first half RESP2, the rest RESP3 (HELLO 3). */
const CONNS = 4;
const MISMATCHES_REPORTED_MAX = 25;

const CHANNELS = ["a", "b", "news", "news.eu", "ch:1", "ch:2", "", "sp ace", "ünï"];
const PATTERNS = ["*", "a*", "news.*", "ch:?", "[ab]", "n*s*", "ü*", "x\\*"];
const MESSAGES = ["hi", "", "a\r\nb", "x".repeat(300), "ünï", "0"];
/**
 * Channels SUBSCRIBE uses: not the empty one, which only PUBLISH uses (outside transactions to
 * meet the patterns, which never match it, inside them to reach nobody; see generate()).
 */
const SUB_CHANNELS = CHANNELS.filter((c) => c !== "");
/** A shard channel only SPUBLISH inside transactions names (nobody listens to it). */
const TX_SHARD = "tx-shard";

interface Op {
  conn: number;
  /** The command (for a transaction: MULTI). */
  argv: string[];
  /** Further commands sent with it in the same write (a transaction's body and EXEC). */
  more: string[][];
}

function generate(seed: number, count: number): Op[] {
  const r = new Rng(seed);
  const names = (pool: readonly string[], lo: number) => r.some(pool, lo, 3);
  const table: [number, () => string[]][] = [
    [14, () => ["SUBSCRIBE", ...names(SUB_CHANNELS, 1)]],
    [9, () => ["PSUBSCRIBE", ...names(PATTERNS, 1)]],
    [9, () => ["SSUBSCRIBE", ...names(CHANNELS, 1)]],
    [7, () => ["UNSUBSCRIBE", ...(r.chance(0.35) ? [] : names(SUB_CHANNELS, 1))]],
    [5, () => ["PUNSUBSCRIBE", ...(r.chance(0.35) ? [] : names(PATTERNS, 1))]],
    [5, () => ["SUNSUBSCRIBE", ...(r.chance(0.35) ? [] : names(CHANNELS, 1))]],
    [18, () => ["PUBLISH", r.pick(CHANNELS), r.pick(MESSAGES)]],
    [10, () => ["SPUBLISH", r.pick(CHANNELS), r.pick(MESSAGES)]],
    [3, () => ["PUBSUB", "CHANNELS", ...(r.chance(0.5) ? [r.pick(PATTERNS)] : [])]],
    [3, () => ["PUBSUB", "SHARDCHANNELS", ...(r.chance(0.5) ? [r.pick(PATTERNS)] : [])]],
    [3, () => ["PUBSUB", "NUMSUB", ...names(CHANNELS, 0)]],
    [3, () => ["PUBSUB", "SHARDNUMSUB", ...names(CHANNELS, 0)]],
    [2, () => ["PUBSUB", "NUMPAT"]],
    [3, () => ["PING", ...(r.chance(0.5) ? [r.pick(MESSAGES)] : [])]],
    [2, () => ["GET", "k"]],
    [2, () => ["MULTI"]],
    [1, () => r.pick([["SUBSCRIBE"], ["SSUBSCRIBE"], ["PUBLISH", "a"], ["SPUBLISH", "a", "b", "c"], ["PUBSUB"], ["PUBSUB", "NUMPAT", "x"], ["PUBSUB", "nope"], ["PUBSUB", "CHANNELS", "a", "b"], ["PUBSUB", "HELP"]])],
  ];
  const total = table.reduce((n, [w]) => n + w, 0);
  const ops: Op[] = [];
  for (let i = 0; i < count; i++) {
    let x = r.int(total);
    const entry = table.find(([w]) => (x -= w) < 0)!;
    const argv = entry[1]();
    // A transaction: SUBSCRIBE and PUBLISH run inside EXEC; SSUBSCRIBE is refused there. One
    // name each: Redis writes a command's extra confirmations inside EXEC's array regardless
    // of its count, so an UNSUBSCRIBE of all would split in hash order across its end. For the
    // same reason PUBLISH there reaches nobody: redis-server writes a message to the publishing
    // connection itself inside EXEC's array (our node writes it before the array; see NOTES).
    const inTx = (): string[] =>
      r.pick([["SUBSCRIBE", r.pick(SUB_CHANNELS)], ["SSUBSCRIBE", r.pick(CHANNELS)], ["PSUBSCRIBE", r.pick(PATTERNS)], ["UNSUBSCRIBE", r.pick(SUB_CHANNELS)], ["PUBLISH", "", r.pick(MESSAGES)], ["SPUBLISH", TX_SHARD, r.pick(MESSAGES)], ["PING"]]);
    const more = argv[0] === "MULTI" ? [...Array.from({ length: r.range(1, 3) }, inTx), ["EXEC"]] : [];
    ops.push({ conn: r.int(CONNS), argv, more });
  }
  return ops;
}

const text = (v: unknown) => (v instanceof Uint8Array ? new TextDecoder().decode(v) : null);
const word = (f: Frame) => (Array.isArray(f.v) ? text(f.v[0]) : null);

/** A connection's frames in a form where only Redis's hash orders are left out. */
function canonical(frames: Frame[], op: Op | null): string[] {
  const out: string[] = [];
  const arglessUnsub = op !== null && /^[ps]?unsubscribe$/i.test(op.argv[0]!) && op.argv.length === 1 ? op.argv[0]!.toLowerCase() : null;
  const channelsReply = op !== null && op.argv[0] === "PUBSUB" && /^(shard)?channels$/i.test(op.argv[1] ?? "");
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    const w = word(f);
    if (w === "pmessage") {
      // The pmessages of one PUBLISH come in the order of Redis's pattern dict.
      const run: string[] = [];
      while (i < frames.length && word(frames[i]!) === "pmessage") run.push(frames[i++]!.raw);
      i--;
      out.push(...run.sort());
    } else if (arglessUnsub !== null && w === arglessUnsub) {
      const run: Frame[] = [];
      while (i < frames.length && word(frames[i]!) === arglessUnsub) run.push(frames[i++]!);
      i--;
      const v = run.map((x) => x.v as unknown[]);
      out.push(`${f.raw[0]}${arglessUnsub} names=${JSON.stringify(v.map((x) => text(x[1])).sort())} counts=${JSON.stringify(v.map((x) => x[2]))}`);
    } else if (channelsReply && i === 0 && Array.isArray(f.v)) {
      out.push(`${f.raw[0]}channels ${JSON.stringify(f.v.map(text).sort())}`);
    } else {
      out.push(f.raw);
    }
  }
  return out;
}

/** PING's reply, whatever the mode: the marker as a bulk, or ["pong", marker] when subscribed in RESP2. */
function isBarrier(marker: string) {
  return (f: Frame) => text(f.v) === marker || (Array.isArray(f.v) && text(f.v[0]) === "pong" && text(f.v[1]) === marker);
}

async function openSide(connect: () => Promise<RespStream>): Promise<RespStream[]> {
  const conns: RespStream[] = [];
  for (let i = 0; i < CONNS; i++) {
    const c = await connect();
    if (i >= CONNS / 2) {
      c.send(["HELLO", "3"]);
      await c.next(1); // the server's description: not compared
    }
    conns.push(c);
  }
  return conns;
}

/** Run the stream on both sides; the mismatches, described. */
async function runStream(a: RespStream[], b: RespStream[], names: [string, string], ops: Op[]): Promise<string[]> {
  const mismatches: string[] = [];
  let count = 0;
  const compare = (i: number, conn: number, fa: Frame[], fb: Frame[], op: Op | null) => {
    const ca = canonical(fa, op);
    const cb = canonical(fb, op);
    if (JSON.stringify(ca) === JSON.stringify(cb)) return;
    count++;
    if (mismatches.length < MISMATCHES_REPORTED_MAX) {
      const show = (o: Op) => JSON.stringify([o.argv, ...o.more]);
      const ctx = ops.slice(Math.max(0, i - 4), i).map((o) => `      c${o.conn}: ${show(o)}`).join("\n");
      mismatches.push(`seed=${SEED} #${i} c${ops[i]!.conn}: ${show(ops[i]!)} → connection c${conn}\n    ${names[0]}: ${JSON.stringify(ca)}\n    ${names[1]}: ${JSON.stringify(cb)}\n    after:\n${ctx}`);
    }
  };
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    const marker = `~barrier-${i}`;
    // The command and a barrier on its own connection; once that answered, a barrier on every other.
    const [fa, fb] = await Promise.all(
      [a, b].map((side) => {
        side[op.conn]!.send(op.argv, ...op.more, ["PING", marker]);
        return side[op.conn]!.take(isBarrier(marker), `the barrier after #${i}`);
      }),
    );
    compare(i, op.conn, fa!, fb!, op);
    const others = [...Array(CONNS).keys()].filter((c) => c !== op.conn);
    const rest = await Promise.all(
      [a, b].map((side) =>
        Promise.all(
          others.map((c) => {
            side[c]!.send(["PING", marker]);
            return side[c]!.take(isBarrier(marker), `the barrier after #${i}`);
          }),
        ),
      ),
    );
    others.forEach((c, k) => compare(i, c, rest[0]![k]!, rest[1]![k]!, null));
  }
  if (count > mismatches.length) mismatches.push(`… and ${count - mismatches.length} more`);
  return mismatches;
}

describe(`pub/sub differential (seed=${SEED}, ${COUNT} commands, ${CONNS} connections)`, () => {
  let redis: RedisServer;
  let twin: RedisServer;
  let worker: TestWorker;
  const ops = generate(SEED, COUNT);

  beforeAll(async () => {
    [redis, twin, worker] = await Promise.all([startRedisServer(), startRedisServer(), startWorker()]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([redis?.stop(), twin?.stop(), worker?.dispose()]);
  });

  it("two redis-servers agree under this comparison (no false alarms)", async () => {
    const [a, b] = await Promise.all([openSide(() => RespStream.tcp(redis.port, "redis")), openSide(() => RespStream.tcp(twin.port, "twin"))]);
    try {
      expect(await runStream(a, b, ["redis", "twin"], ops)).toEqual([]);
    } finally {
      for (const c of [...a, ...b]) c.end();
    }
  }, 600_000);

  it("our node answers and delivers exactly as redis-server", async () => {
    const wsUrl = `${worker.url.replace(/^http/, "ws")}/db/psdiff${SEED}/ws`;
    const [a, b] = await Promise.all([openSide(() => RespStream.tcp(redis.port, "redis")), openSide(() => RespStream.ws(wsUrl, worker.token, "node"))]);
    try {
      expect(await runStream(a, b, ["redis", "node"], ops)).toEqual([]);
    } finally {
      for (const c of [...a, ...b]) c.end();
    }
  }, 600_000);
});
