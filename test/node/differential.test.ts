/**
 * Differential test: one seeded random command stream (test/node/support/command-gen.ts)
 * sent to a real redis-server over TCP and to our node over RESP/WebSocket, in pipelined
 * batches; every reply must agree (error text included), and DEBUG DIGEST at the end.
 *
 *   npx vitest run --project node test/node/differential.test.ts
 *   DIFF_SEED=123 …        replay a seed (printed by every run)
 *   DIFF_COUNT=5000 …      stream length (default 20,000)
 *   DIFF_ONLY=zsets,keys … only these command families (strings bitmaps hll keys hashes lists sets zsets geo tx errors server)
 *   DIFF_BATCH=1 …         commands per pipelined write (default 200; 1 pinpoints a command that drops the link)
 *   DIFF_REPORT_MAX=100 …  mismatches printed in full (default 25)
 *
 * A first test runs the same stream against two redis-servers: it proves the generator's
 * comparison modes are free of false alarms (random replies, TTL drift, unordered sets).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GenCommand, type Group, generate, randomSeed, sameReply, showArgv, showReply } from "./support/command-gen.ts";
import { startRedisServer, type RedisServer } from "./support/redis-server.ts";
import { connectWs, type RespClient, type RespValue } from "./support/resp-client.ts";
import { startWorker, type TestWorker } from "./support/worker.ts";

const SEED = process.env.DIFF_SEED !== undefined ? Number(process.env.DIFF_SEED) >>> 0 : randomSeed();
const COUNT = Number(process.env.DIFF_COUNT ?? 20_000);
const ONLY = process.env.DIFF_ONLY ? (process.env.DIFF_ONLY.split(",") as Group[]) : undefined;
/** Commands per pipelined write (the node accepts up to 1,000 per message). */
const BATCH_COMMANDS = Number(process.env.DIFF_BATCH ?? 200);
/** Mismatches listed in full before the rest are only counted. */
const MISMATCHES_REPORTED_MAX = Number(process.env.DIFF_REPORT_MAX ?? 25);
/** Databases the generator SELECTs (for the per-key report when digests differ). */
const DIFF_DBS = ["0", "1", "2"];

interface Outcome {
  mismatches: string[];
  mismatchCount: number;
  digests: [string, string];
  /** Per-key differences when the digests differ. */
  keyReport: string[];
  ms: number;
}

const text = (v: RespValue): string =>
  v instanceof Uint8Array ? new TextDecoder().decode(v) : v !== null && typeof v === "object" && "s" in v ? String(v.s) : showReply(v);

async function runStream(a: RespClient, b: RespClient, names: [string, string], cmds: GenCommand[]): Promise<Outcome> {
  const t0 = performance.now();
  // The stream sets hll-sparse-max-bytes; a node keeps its CONFIG across runs.
  const reset = [["FLUSHALL"], ["SELECT", "0"], ["CONFIG", "SET", "hll-sparse-max-bytes", "3000"]];
  await Promise.all([a.send(reset), b.send(reset)]);
  const mismatches: string[] = [];
  let mismatchCount = 0;
  for (let i = 0; i < cmds.length; i += BATCH_COMMANDS) {
    const batch = cmds.slice(i, i + BATCH_COMMANDS);
    const argvs = batch.map((c) => c.argv);
    let ra: RespValue[];
    let rb: RespValue[];
    try {
      [ra, rb] = await Promise.all([a.send(argvs), b.send(argvs)]);
    } catch (e) {
      const what = batch.length === 1 ? `command #${i} ${showArgv(batch[0]!.argv)}` : `commands #${i}..#${i + batch.length - 1} (DIFF_BATCH=1 pinpoints the command)`;
      throw new Error(`seed=${SEED}: link failed during ${what}: ${(e as Error).message}`);
    }
    for (let j = 0; j < batch.length; j++) {
      const c = batch[j]!;
      if (sameReply(ra[j]!, rb[j]!, c.mode)) continue;
      mismatchCount++;
      if (mismatches.length < MISMATCHES_REPORTED_MAX) {
        const ctx = cmds
          .slice(Math.max(0, i + j - 3), i + j)
          .map((p) => `      ${showArgv(p.argv)}`)
          .join("\n");
        mismatches.push(
          `seed=${SEED} #${i + j} [${c.group}/${c.mode.k}] ${showArgv(c.argv)}\n` +
            `    ${names[0]}: ${showReply(ra[j]!)}\n    ${names[1]}: ${showReply(rb[j]!)}\n    after:\n${ctx}`,
        );
      }
    }
  }
  // Leave a MULTI that a bug may have left open (the stream itself never ends inside one).
  const end = [["DISCARD"], ["DEBUG", "DIGEST"]];
  const [[, da], [, db]] = (await Promise.all([a.send(end), b.send(end)])) as [RespValue[], RespValue[]];
  const digests: [string, string] = [text(da), text(db)];
  const keyReport = digests[0] === digests[1] ? [] : await diffKeys(a, b, names);
  return { mismatches, mismatchCount, digests, keyReport, ms: performance.now() - t0 };
}

/** When the digests differ: which keys differ, with their type and content on both sides. */
async function diffKeys(a: RespClient, b: RespClient, names: [string, string]): Promise<string[]> {
  const out: string[] = [];
  for (const db of DIFF_DBS) {
    const q = [["SELECT", db], ["KEYS", "*"]];
    const [ka, kb] = await Promise.all([a.send(q), b.send(q)]);
    const keys = new Map<string, Uint8Array>();
    for (const r of [ka[1], kb[1]]) if (Array.isArray(r)) for (const k of r) if (k instanceof Uint8Array) keys.set(showReply(k), k);
    for (const key of keys.values()) {
      const probe = [["DEBUG", "DIGEST-VALUE", key], ["TYPE", key], ["PTTL", key]];
      const [pa, pb] = await Promise.all([a.send(probe), b.send(probe)]);
      if (sameReply(pa[0]!, pb[0]!, { k: "exact" }) && sameReply(pa[2]!, pb[2]!, { k: "ttl", tol: 5000 })) continue;
      const dump = async (c: RespClient, type: RespValue): Promise<string> => {
        const t = text(type);
        const cmd =
          t === "string" ? ["GET", key]
          : t === "list" ? ["LRANGE", key, "0", "-1"]
          : t === "set" ? ["SMEMBERS", key]
          : t === "zset" ? ["ZRANGE", key, "0", "-1", "WITHSCORES"]
          : t === "hash" ? ["HGETALL", key]
          : null;
        return cmd ? showReply(await c.call(...cmd)) : "(none)";
      };
      out.push(
        `db ${db} key ${showReply(key)}\n` +
          `    ${names[0]}: type=${text(pa[1]!)} pttl=${showReply(pa[2]!)} ${await dump(a, pa[1]!)}\n` +
          `    ${names[1]}: type=${text(pb[1]!)} pttl=${showReply(pb[2]!)} ${await dump(b, pb[1]!)}`,
      );
    }
  }
  await Promise.all([a.call("SELECT", "0"), b.call("SELECT", "0")]);
  return out;
}

function report(title: string, o: Outcome): void {
  const lines = [
    `${title}: seed=${SEED} (replay: DIFF_SEED=${SEED}), ${COUNT} commands, ${o.ms.toFixed(0)} ms, ` +
      `${o.mismatchCount} mismatching replies, digests ${o.digests[0]} / ${o.digests[1]}`,
    ...o.mismatches,
    ...(o.mismatchCount > o.mismatches.length ? [`… and ${o.mismatchCount - o.mismatches.length} more`] : []),
    ...(o.keyReport.length ? ["keys that differ at the end:", ...o.keyReport] : []),
  ];
  console.log(lines.join("\n"));
}

describe(`differential vs redis-server (seed ${SEED})`, () => {
  let redis: RedisServer;
  let cmds: GenCommand[];

  beforeAll(async () => {
    redis = await startRedisServer();
    cmds = generate(SEED, COUNT, { groups: ONLY });
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it("generator self-check: two redis-servers agree on every reply and the digest", async () => {
    const twin = await startRedisServer();
    const [a, b] = await Promise.all([redis.connect(), twin.connect()]);
    try {
      const o = await runStream(a, b, ["redis", "redis-twin"], cmds);
      report("redis vs redis", o);
      expect(o.mismatches).toEqual([]);
      expect(o.digests[0]).toBe(o.digests[1]);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await twin.stop();
    }
  });

  describe("our node over WebSocket", () => {
    let worker: TestWorker;
    beforeAll(async () => {
      worker = await startWorker();
    });
    afterAll(async () => {
      await worker?.dispose();
    });

    it(`same replies and DEBUG DIGEST as redis-server for ${COUNT} random commands`, async () => {
      const wsUrl = `${worker.url.replace(/^http/, "ws")}/db/diff${SEED}/ws`;
      const [a, b] = await Promise.all([redis.connect(), connectWs(wsUrl, worker.token)]);
      try {
        const o = await runStream(a, b, ["redis", "ours"], cmds);
        report("redis vs ours", o);
        expect(o.mismatchCount, o.mismatches.join("\n")).toBe(0);
        expect(o.digests[1]).toBe(o.digests[0]);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });
});
