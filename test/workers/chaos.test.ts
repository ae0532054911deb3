/**
 * k. Seeded chaos: rounds of random faults drawn from scenarios b–h and FAILOVER, with writes
 * throughout. Every round ends converged (DEBUG DIGEST equal everywhere) and the counter
 * INCRed by every acknowledged write is at least the number of acknowledgements (nothing
 * acknowledged lost). Every round also writes and reads through the database's base URL
 * from a random region with the sync token: a read is never older than the token.
 * Replay a failure with CHAOS_SEED=<seed> npm test.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { base } from "./edge.ts";
import { batch, cmd, digest, freshDb, info, inNode, pipeline, restart, trackReplica, until } from "./nodes.ts";

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ROUNDS = 30;
const NODES = ["master", "r1", "r2"];
const READ_REGIONS = ["wnam", "enam", "weur", "apac", "oc"] as const;

const FAULTS = [
  "kill-from-master",
  "kill-from-replica",
  "overflow-backlog",
  "restart-master",
  "restart-replica",
  "drop-handshake",
  "drop-transfer",
  "drop-replay",
  "r2-fail-write",
  "r2-fail-read",
  "r2-corrupt",
  "failover",
] as const;

describe("chaos", () => {
  it(`k. ${ROUNDS} rounds of random faults with writes throughout: converged every round, no acknowledged write lost`, async () => {
    const seed = Number((env as unknown as Record<string, string>).CHAOS_SEED || Date.now() % 1_000_000);
    console.log(`chaos seed: ${seed} (replay with CHAOS_SEED=${seed})`);
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const db = freshDb("k");
    let acked = 0;
    let attempted = 0;
    let round = 0;
    /** The current master (FAILOVER moves it) and its replicas. */
    let cur = "master";
    let REPLICAS = NODES.filter((n) => n !== cur);
    /** Base-URL reads checked against the sync token. */
    let token = 0;
    let edgeReads = 0;
    const edgeServedBy: Record<string, number> = {};
    /** A pipeline of writes; counts the INCRs the master acknowledged. */
    const writes = async (n: number, head: (string | number)[][] = []) => {
      const cmds = [...head, ...batch(round * 100 + Math.floor(rnd() * 100), n)];
      const incrs = cmds.filter((c) => c[0] === "INCR").length;
      attempted += incrs;
      try {
        const res = await pipeline(db, cur, cmds);
        acked += res.filter((r, i) => cmds[i]![0] === "INCR" && typeof r === "number").length;
        return res;
      } catch {
        return null; // not acknowledged (the master restarted under it)
      }
    };
    /** Write then read through the base URL (router, sync token): the read never older than the write. */
    const edge = async () => {
      const region = pick(READ_REGIONS);
      const w = await base(db, ["INCR", "edge"], { region, token }).catch(() => null);
      if (!w || w.status !== 200) return; // e.g. a master restarting under it: not acknowledged
      token = Math.max(token, w.token);
      const r = await base(db, ["GET", "edge"], { region, token });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(Number(r.body.result), `read from ${region} by ${r.servedBy} older than the token`).toBeGreaterThanOrEqual(w.body.result);
      edgeReads++;
      edgeServedBy[r.servedBy!] = (edgeServedBy[r.servedBy!] ?? 0) + 1;
    };
    await writes(40);
    trackReplica(db, "master"); // FAILOVER can make it a replica
    for (const r of REPLICAS) expect(await cmd(db, r, "REPLICAOF", "master", "0")).toBe("OK");
    const log: string[] = [];
    for (round = 1; round <= ROUNDS; round++) {
      const fault = pick(FAULTS);
      const victim = pick(REPLICAS);
      log.push(`${round}:${fault}:${victim}`);
      await writes(10);
      await edge();
      switch (fault) {
        case "failover": {
          // Every replica must be online for FAILOVER TO to accept the target.
          await until(`round ${round} replicas online before FAILOVER`, async () => {
            for (const r of REPLICAS) if ((await info(db, r)).master_link_status !== "up") return false;
            return true;
          });
          expect(await cmd(db, cur, "FAILOVER", "TO", victim)).toBe("OK");
          const old = cur;
          await until(`round ${round} FAILOVER to ${victim}`, async () => (await info(db, victim)).role === "master" && (await info(db, old)).master_failover_state === "no-failover");
          cur = victim;
          REPLICAS = NODES.filter((n) => n !== cur);
          await edge(); // the router follows the new master
          break;
        }
        case "kill-from-master":
          await writes(20, [["CLIENT", "KILL", "TYPE", "replica"]]);
          break;
        case "kill-from-replica":
          await cmd(db, victim, "CLIENT", "KILL", "TYPE", "master");
          break;
        case "overflow-backlog":
          await cmd(db, cur, "CONFIG", "SET", "repl-backlog-size", "16384");
          await writes(150, [["CLIENT", "KILL", "TYPE", "replica"]]);
          await cmd(db, cur, "CONFIG", "SET", "repl-backlog-size", String(64 * 1024 * 1024));
          break;
        case "restart-master":
          await restart(db, cur);
          break;
        case "restart-replica":
          await restart(db, victim);
          break;
        case "drop-handshake":
        case "drop-transfer":
        case "drop-replay": {
          await cmd(db, victim, "DEBUG", "REPL-DROP", fault.slice(5));
          // A full resync walks every phase: overflow the backlog while the link is down.
          await cmd(db, cur, "CONFIG", "SET", "repl-backlog-size", "16384");
          await writes(150, [["CLIENT", "KILL", "TYPE", "replica"]]);
          await cmd(db, cur, "CONFIG", "SET", "repl-backlog-size", String(64 * 1024 * 1024));
          break;
        }
        case "r2-fail-write":
        case "r2-fail-read":
        case "r2-corrupt":
          if (fault === "r2-fail-write") await cmd(db, cur, "DEBUG", "R2-FAIL", pick(["put", "part"]), 1 + Math.floor(rnd() * 2));
          else if (fault === "r2-fail-read") await cmd(db, victim, "DEBUG", "R2-FAIL", "get", 1);
          else await cmd(db, victim, "DEBUG", "R2-CORRUPT", pick(["flip", "truncate"]));
          await cmd(db, cur, "CONFIG", "SET", "repl-backlog-size", "16384");
          await writes(150, [["CLIENT", "KILL", "TYPE", "replica"]]);
          await cmd(db, cur, "CONFIG", "SET", "repl-backlog-size", String(64 * 1024 * 1024));
          break;
      }
      await writes(10);
      await edge();
      // Converged: every replica linked, acked, and equal to the master.
      try {
        await until(
          `round ${round} (${fault}) replicas online`,
          async () => {
            for (const r of REPLICAS) if ((await info(db, r)).master_link_status !== "up") return false;
            return true;
          },
          30_000,
        );
        expect(await cmd(db, cur, "WAIT", REPLICAS.length, 20_000)).toBe(REPLICAS.length);
        const d = await digest(db, cur);
        for (const r of REPLICAS) expect(await digest(db, r), `round ${round} ${fault} ${r}`).toBe(d);
      } catch (e) {
        throw new Error(`chaos seed ${seed}, round ${round} (${log.join(" ")}): ${String(e)}`);
      }
      // Clear any fault that did not fire (e.g. a drop phase the sync skipped).
      for (const r of REPLICAS) await inNode(db, r, (n) => (n.replica.dropAt = null));
    }
    const counter = Number(await cmd(db, cur, "GET", "counter"));
    expect(counter).toBeGreaterThanOrEqual(acked);
    expect(counter).toBeLessThanOrEqual(attempted);
    expect(edgeReads).toBeGreaterThan(ROUNDS); // most write-then-read pairs went through
    console.log(
      `chaos seed ${seed}: ${ROUNDS} rounds, faults ${log.join(" ")}; ${acked} acknowledged INCRs, counter ${counter}; ` +
        `${edgeReads} base-URL reads served by ${JSON.stringify(edgeServedBy)}`,
    );
  }, 300_000);
});
