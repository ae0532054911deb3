import { describe, expect, it } from "vitest";
import { cmd, digest, freshDb, info, inNode, pipeline, until } from "./nodes.ts";

/** Writes a batch of keys of every type on the master. */
async function writeBatch(db: string, round: number, n = 50): Promise<void> {
  const cmds: (string | number)[][] = [];
  for (let i = 0; i < n; i++) {
    const k = `${round}:${i}`;
    cmds.push(["SET", `s:${k}`, `v${i}-${round}`]);
    cmds.push(["RPUSH", `l:${i % 7}`, k]);
    // SADD/HSET join once sets and hashes land

    cmds.push(["ZADD", `z:${i % 4}`, i, k]);
  }
  const res = await pipeline(db, "master", cmds);
  for (const r of res) expect(r).not.toBeInstanceOf(Error);
}

/** WAIT on the master until `n` replicas acked everything written so far. */
async function waitReplicas(db: string, n: number): Promise<void> {
  const got = await cmd(db, "master", "WAIT", n, 15000);
  expect(got).toBeGreaterThanOrEqual(n);
}

describe("replication", () => {
  it("a. a fresh replica full-resyncs and converges while writes continue", async () => {
    const db = freshDb("a");
    await writeBatch(db, 0, 200);
    expect(await cmd(db, "r1", "REPLICAOF", "master", "0")).toBe("OK");
    // Writes while the replica connects and loads.
    for (let round = 1; round <= 5; round++) await writeBatch(db, round);
    await until("replica online", async () => (await info(db, "r1")).master_link_status === "up");
    await writeBatch(db, 6);
    await waitReplicas(db, 1);
    expect(await digest(db, "r1")).toBe(await digest(db, "master"));
    const ri = await info(db, "r1");
    const mi = await info(db, "master");
    expect(ri.master_repl_offset).toBe(mi.master_repl_offset);
    expect(ri.master_replid).toBe(mi.master_replid);
    expect(mi.connected_slaves).toBe("1");
    expect(await inNode(db, "master", (n) => n.snapshots.made)).toBe(1);
  });
});
