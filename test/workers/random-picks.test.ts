/**
 * SRANDMEMBER / HRANDFIELD / SPOP with counts cost O(count) statements, never O(collection)
 * or O(count × collection) (issue 6 item 3: `SRANDMEMBER key -100000` on a 300-member set
 * took 25 s). The statement counts are read from a counting wrapper around the object's
 * SQLite handle; the node-level cases check reply sizes and that DEBUG DIGEST is unchanged.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newSession } from "../../src/keyspace/command.ts";
import { RANDOM_DESCENT_DEPTH_MAX, RANDOM_BRANCH_TRIES_MAX, RANDOM_REPLY_BYTES_MAX, RANDOM_REPLY_ELEMENTS_MAX } from "../../src/keyspace/commands/blob-order.ts";
import { Engine } from "../../src/keyspace/engine.ts";
import { RedisError, type Reply, RespSet } from "../../src/protocol/reply.ts";
import { str, utf8 } from "../../src/util/bytes.ts";
import { countingSql, stubServices } from "./harness.ts";
import { cmd, digest, freshDb, pipeline } from "./nodes.ts";

/** Most statements one trie descent may run (two seeks per level plus the branch tries). */
const PROBE_STATEMENTS_MAX = RANDOM_DESCENT_DEPTH_MAX * (RANDOM_BRANCH_TRIES_MAX + 3) + 2;

interface Counted {
  run(...args: string[]): Reply;
  /** Statements run by the last `run`. */
  statements: number;
}

let counter = 0;

/** An engine over a fresh object's SQLite whose `exec` calls are counted. */
async function withCountedEngine(fn: (h: Counted) => void): Promise<void> {
  const stub = env.NODES.get(env.NODES.idFromName(`picks-${Date.now()}-${counter++}`));
  await runInDurableObject(stub, (_obj: unknown, state: DurableObjectState) => {
    const real = state.storage.sql;
    let n = 0;
    const sql = countingSql(real, () => {
      n++;
    });
    const engine = new Engine(sql);
    engine.node = stubServices;
    const session = newSession();
    const h: Counted = {
      statements: 0,
      run: (...args) => {
        n = 0;
        const r = engine.execute(session, args.map(utf8));
        if (r instanceof Promise) throw new Error("async command");
        h.statements = n;
        return r;
      },
    };
    fn(h);
  });
}

function fill(h: Counted, cmdName: "sadd" | "hset", key: string, n: number): void {
  const batch = 5000;
  for (let i = 0; i < n; i += batch) {
    const args: string[] = [];
    for (let j = i; j < Math.min(n, i + batch); j++) {
      const m = `m:${String(j).padStart(7, "0")}`;
      args.push(m);
      if (cmdName === "hset") args.push(`v${j}`);
    }
    h.run(cmdName, key, ...args);
  }
}

const arr = (r: Reply) => ((r instanceof RespSet ? r.items : r) as Uint8Array[]).map(str);

describe("random picks cost O(count)", () => {
  it("a negative count larger than the collection reads it once", async () => {
    await withCountedEngine((h) => {
      fill(h, "sadd", "s", 300);
      const r = arr(h.run("srandmember", "s", "-100000"));
      expect(r.length).toBe(100_000);
      expect(r.every((x) => /^m:0000[0-2]\d\d$/.test(x))).toBe(true);
      expect(new Set(r).size).toBeGreaterThan(290); // 100,000 draws reach (almost surely) every member
      expect(h.statements).toBeLessThanOrEqual(3);
      fill(h, "hset", "h", 300);
      const hv = arr(h.run("hrandfield", "h", "-100000", "WITHVALUES"));
      expect(hv.length).toBe(200_000);
      for (let i = 0; i < 1000; i += 2) expect(hv[i + 1]).toBe(`v${Number(hv[i]!.slice(2))}`);
      expect(h.statements).toBeLessThanOrEqual(3);
    });
  });

  it("small counts on a big collection: descents, a bounded number of statements per pick", async () => {
    await withCountedEngine((h) => {
      fill(h, "sadd", "s", 20_000);
      fill(h, "hset", "h", 20_000);
      for (const [args, items] of [
        [["srandmember", "s", "-10"], 10],
        [["srandmember", "s", "10"], 10],
        [["hrandfield", "h", "-10"], 10],
        [["hrandfield", "h", "10", "WITHVALUES"], 20],
      ] as const) {
        const r = arr(h.run(...args));
        expect(r.length, args.join(" ")).toBe(items);
        expect(h.statements, args.join(" ")).toBeLessThanOrEqual(3 + (3 * 10 + 32 + 1) * PROBE_STATEMENTS_MAX);
      }
      const distinct = arr(h.run("srandmember", "s", "100"));
      expect(new Set(distinct).size).toBe(100);
    });
  });

  it("counts near the collection size stream it once (exactly uniform), not one descent per pick", async () => {
    await withCountedEngine((h) => {
      fill(h, "sadd", "s", 20_000);
      const r = arr(h.run("srandmember", "s", "5000"));
      expect(new Set(r).size).toBe(5000);
      expect(h.statements).toBeLessThanOrEqual(3);
      const neg = arr(h.run("srandmember", "s", "-50000"));
      expect(neg.length).toBe(50_000);
      expect(h.statements).toBeLessThanOrEqual(3);
      const popped = arr(h.run("spop", "s", "1000"));
      expect(new Set(popped).size).toBe(1000);
      // one pick statement plus one delete per member, plus metadata
      expect(h.statements).toBeLessThanOrEqual(1000 + 6);
      expect(h.run("scard", "s")).toBe(19_000);
      for (const x of popped.slice(0, 20)) expect(h.run("sismember", "s", x)).toBe(0);
    });
  });

  it("bounded replies: element count and bytes, refused before anything is spent or changed", async () => {
    await withCountedEngine((h) => {
      fill(h, "sadd", "s", 10);
      const over = h.run("srandmember", "s", String(-(RANDOM_REPLY_ELEMENTS_MAX + 1)));
      expect(over).toBeInstanceOf(RedisError);
      expect((over as RedisError).msg).toBe(`ERR count exceeds the limit of ${RANDOM_REPLY_ELEMENTS_MAX} elements`);
      expect(h.statements).toBeLessThanOrEqual(2);
      const big = "x".repeat(1024 * 1024);
      h.run("hset", "h", "f", big);
      h.run("sadd", "b", "a".repeat(1024 * 1024), "b".repeat(1024 * 1024));
      const tooMany = Math.ceil(RANDOM_REPLY_BYTES_MAX / (1024 * 1024)) + 1;
      for (const args of [
        ["hrandfield", "h", String(-tooMany), "WITHVALUES"],
        ["srandmember", "b", String(-tooMany)],
      ]) {
        const r = h.run(...args);
        expect(r, args.join(" ")).toBeInstanceOf(RedisError);
        expect((r as RedisError).msg).toBe(`ERR reply exceeds the limit of ${RANDOM_REPLY_BYTES_MAX} bytes`);
      }
      expect((h.run("hrandfield", "h", "-3", "WITHVALUES") as Uint8Array[]).length).toBe(6);
    });
  });
});

describe("random picks through a node: issue 6's cases answer in full and change nothing", () => {
  it("SRANDMEMBER -1000000 on a 200k set, HRANDFIELD -100000 WITHVALUES on a 300-field hash, SPOP count", async () => {
    const db = freshDb("picks");
    const cmds: string[][] = [];
    for (let i = 0; i < 200_000; i += 10_000) cmds.push(["SADD", "big", ...Array.from({ length: 10_000 }, (_, j) => `member-${i + j}`)]);
    cmds.push(["HSET", "h", ...Array.from({ length: 300 }, (_, j) => [`f${j}`, `v${j}`]).flat()]);
    cmds.push(["SADD", "small", ...Array.from({ length: 300 }, (_, j) => `s${j}`)]);
    const built = await pipeline(db, "master", cmds);
    expect(built.slice(0, 20).every((x) => x === 10_000)).toBe(true);
    const before = await digest(db, "master");
    const t0 = Date.now();

    const big = (await cmd(db, "master", "SRANDMEMBER", "big", -1_000_000)) as string[];
    expect(big.length).toBe(1_000_000);
    expect(big.every((x) => x.startsWith("member-"))).toBe(true);
    console.log(`SRANDMEMBER big -1000000 on 200k members: ${Date.now() - t0} ms (including the 1M-element JSON reply)`);
    const pairs = (await cmd(db, "master", "HRANDFIELD", "h", -100_000, "WITHVALUES")) as string[];
    expect(pairs.length).toBe(200_000);
    expect(pairs[1]).toBe(`v${pairs[0]!.slice(1)}`);
    expect(((await cmd(db, "master", "SRANDMEMBER", "small", -100_000)) as string[]).length).toBe(100_000);
    expect(((await cmd(db, "master", "SRANDMEMBER", "big", 150_000)) as string[]).length).toBe(150_000);
    expect(await digest(db, "master")).toBe(before);

    const popped = (await cmd(db, "master", "SPOP", "big", 50_000)) as string[];
    expect(new Set(popped).size).toBe(50_000);
    expect(await cmd(db, "master", "SCARD", "big")).toBe(150_000);
    expect(await cmd(db, "master", "SMISMEMBER", "big", popped[0]!, popped[49_999]!)).toEqual([0, 0]);
  });
});
