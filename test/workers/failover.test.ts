/**
 * FAILOVER (Redis 7.0 semantics), chained replicas and PSYNC2 siblings: no acknowledged write
 * lost, digests equal, offsets continuous, partial resyncs where Redis gets them, and the
 * router following the new master.
 */
import { describe, expect, it } from "vitest";
import { base, createReplica } from "./edge.ts";
import { openResp } from "./resp-socket.ts";
import { cmd, digest, freshDb, info, inNode, pipeline, restart, trackReplica, until, write } from "./nodes.ts";

async function role(db: string, node: string): Promise<string> {
  return (await info(db, node)).role!;
}

/** Stop a replica's REPLCONF ACKs (it keeps applying the stream): its master never sees it caught up. */
async function muteAcks(db: string, node: string, mute: boolean): Promise<void> {
  await inNode(db, node, (n) => {
    const r = n.replica as unknown as Record<string, unknown>;
    if (mute) r.sendAck = () => {};
    else delete r.sendAck;
  });
}

describe("FAILOVER", () => {
  it("under continuous writes through the base URL: 0 acknowledged writes lost, digests equal, the router follows", async () => {
    const db = freshDb("fo");
    await base(db, ["SET", "seed", "1"]);
    await createReplica(db, "r1", "weur");
    await createReplica(db, "r2", "apac");
    trackReplica(db, "master"); // becomes a replica below; released after the file
    const r2FullBefore = await inNode(db, "r2", (n) => n.replica.fullSyncs);

    let stop = false;
    const acked: number[] = [];
    const failed: string[] = [];
    const servedBy = new Set<string>();
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const n = w * 1_000_000 + i;
        const a = await base(db, [["SET", `w:${n}`, String(n)], ["INCR", "counter"]], { sub: "/pipeline" }).catch((e: unknown) => ({ status: 0, body: String(e), servedBy: null }));
        if (a.status === 200 && Array.isArray(a.body) && a.body.every((x: { error?: string }) => x.error === undefined)) {
          acked.push(n);
          servedBy.add(a.servedBy!);
        } else failed.push(JSON.stringify(a.body));
      }
    };
    const writers = [writer(1), writer(2)];
    await until("some writes", async () => acked.length >= 20);
    expect(await cmd(db, "master", "FAILOVER", "TO", "r1")).toBe("OK");
    await until("failover done", async () => (await role(db, "r1")) === "master" && (await info(db, "master")).master_failover_state === "no-failover");
    expect(await role(db, "master")).toBe("slave");
    expect((await info(db, "master")).master_host).toBe("r1");
    // The router follows: writes through /db/{db} reach r1.
    const before = acked.length;
    await until("writes served by r1", async () => servedBy.has("r1") && acked.length > before + 20);
    stop = true;
    await Promise.all(writers);
    // r2 follows r1 with a partial resync (PSYNC2), never a snapshot.
    await until("r2 follows r1", async () => {
      const i = await info(db, "r2");
      return i.master_host === "r1" && i.master_link_status === "up";
    });
    expect(await inNode(db, "r2", (n) => n.replica.fullSyncs)).toBe(r2FullBefore);
    expect(await cmd(db, "r1", "WAIT", 2, 20_000)).toBe(2);
    const d = await digest(db, "r1");
    expect(await digest(db, "master")).toBe(d);
    expect(await digest(db, "r2")).toBe(d);
    // Every acknowledged write is on the new master.
    const got = (await pipeline(db, "r1", acked.map((n) => ["GET", `w:${n}`]))) as (string | null)[];
    expect(got.filter((v, i) => v !== String(acked[i])).length).toBe(0);
    expect(Number(await cmd(db, "r1", "GET", "counter"))).toBeGreaterThanOrEqual(acked.length);
    console.log(`failover under writes: ${acked.length} acknowledged, ${failed.length} refused (${failed.slice(0, 2).join(" ")})`);
    // Offsets stayed comparable: the old master's history is r1's replid2.
    const r1 = await info(db, "r1");
    expect(Number(r1.second_repl_offset)).toBeGreaterThan(0);
    expect((await info(db, "master")).master_replid).toBe(r1.master_replid);
  }, 180_000);

  it("a WebSocket opened on the database's base address follows the master: closed (1012) when it is demoted; a pinned one stays", async () => {
    const db = freshDb("fows");
    await cmd(db, "master", "SET", "k", "v");
    await createReplica(db, "r1", "weur");
    trackReplica(db, "master");
    expect(await cmd(db, "master", "WAIT", 1, 5000)).toBe(1);
    const routed = await openResp(`/db/${db}/ws`);
    const pinned = await openResp(`/db/${db}/nodes/master/ws`);
    routed.send("SET", "a", "1");
    await routed.expect("+OK\r\n");
    expect(await cmd(db, "master", "FAILOVER", "TO", "r1")).toBe("OK");
    expect(await routed.closed).toBe(1012);
    await until("r1 is the master", async () => (await role(db, "r1")) === "master");
    // Pinned to the node: it stays, and the node answers as the replica it now is (as Redis does).
    pinned.send("SET", "b", "1");
    await pinned.expect("-READONLY You can't write against a read only replica.\r\n");
    pinned.close();
    // Reconnecting through the base address reaches the new master.
    const again = await openResp(`/db/${db}/ws`);
    again.send("SET", "c", "1");
    await again.expect("+OK\r\n");
    again.close();
    expect(await cmd(db, "r1", "MGET", "a", "c")).toEqual(["1", "1"]);
  });

  it("TIMEOUT aborts when the target never catches up; writes wait during the pause and then succeed; ABORT; FORCE", async () => {
    const db = freshDb("fot");
    await cmd(db, "master", "SET", "k", "v");
    await createReplica(db, "r1", "weur");
    trackReplica(db, "master");
    await cmd(db, "master", "WAIT", 1, 5000);
    await muteAcks(db, "r1", true);
    await cmd(db, "master", "SET", "k", "v2"); // r1 applies it but never says so

    // TIMEOUT: writes are paused meanwhile, then resume on the same master.
    const t0 = Date.now();
    expect(await cmd(db, "master", "FAILOVER", "TO", "r1", "TIMEOUT", 300)).toBe("OK");
    expect((await info(db, "master")).master_failover_state).toBe("waiting-for-sync");
    expect(await cmd(db, "master", "GET", "k")).toBe("v2"); // reads are not paused
    expect(await cmd(db, "master", "SET", "k", "v3")).toBe("OK"); // waited for the pause
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect((await info(db, "master")).master_failover_state).toBe("no-failover");
    expect(await role(db, "master")).toBe("master");

    // ABORT while waiting.
    expect(await cmd(db, "master", "FAILOVER")).toBe("OK");
    await expect(cmd(db, "master", "FAILOVER")).rejects.toThrow("ERR FAILOVER already in progress.");
    const pending = cmd(db, "master", "INCR", "n");
    expect(await cmd(db, "master", "FAILOVER", "ABORT")).toBe("OK");
    expect(await pending).toBe(1);
    await expect(cmd(db, "master", "FAILOVER", "ABORT")).rejects.toThrow("ERR No failover in progress.");
    expect(await role(db, "master")).toBe("master");

    // FORCE: after the timeout, fail over anyway (r1 has the data, it just did not ack it).
    expect(await cmd(db, "master", "FAILOVER", "TO", "r1", "TIMEOUT", 100, "FORCE")).toBe("OK");
    await until("forced failover", async () => (await role(db, "r1")) === "master");
    await until("old master follows", async () => (await info(db, "master")).master_link_status === "up");
    expect(await cmd(db, "r1", "GET", "k")).toBe("v3");
    expect(await cmd(db, "r1", "GET", "n")).toBe("1");
    expect(await digest(db, "master")).toBe(await digest(db, "r1"));
    await muteAcks(db, "r1", false);
  });

  it("refuses bad use with Redis's errors", async () => {
    const db = freshDb("foerr");
    await cmd(db, "master", "SET", "k", "v");
    await expect(cmd(db, "master", "FAILOVER")).rejects.toThrow("ERR FAILOVER requires connected replicas.");
    await createReplica(db, "r1", "weur");
    await expect(cmd(db, "r1", "FAILOVER")).rejects.toThrow("ERR FAILOVER is not valid when server is a replica.");
    await expect(cmd(db, "master", "FAILOVER", "TO", "nosuch")).rejects.toThrow("ERR FAILOVER target HOST and PORT is not a replica.");
    await expect(cmd(db, "master", "FAILOVER", "TO", "r1", "FORCE")).rejects.toThrow("ERR FAILOVER with force option requires both a timeout and target HOST and IP.");
    await expect(cmd(db, "master", "FAILOVER", "TIMEOUT", 0)).rejects.toThrow("ERR FAILOVER timeout must be greater than 0");
    await expect(cmd(db, "master", "FAILOVER", "TIMEOUT", "x")).rejects.toThrow("ERR value is not an integer or out of range");
    await expect(cmd(db, "master", "FAILOVER", "BOGUS")).rejects.toThrow("ERR syntax error");
    await expect(cmd(db, "master", "FAILOVER", "ABORT")).rejects.toThrow("ERR No failover in progress.");
    expect((await info(db, "master")).master_failover_state).toBe("no-failover");
    expect(await role(db, "master")).toBe("master");
  });
});

describe("chained replicas and PSYNC2", () => {
  it("chained: r2 from r1 from master: same offsets, digests equal; a restart of r1 resumes both with +CONTINUE", async () => {
    const db = freshDb("chain");
    await write(db, 1);
    expect(await cmd(db, "r1", "REPLICAOF", "master")).toBe("OK");
    await until("r1 up", async () => (await info(db, "r1")).master_link_status === "up");
    expect(await cmd(db, "r2", "REPLICAOF", "r1")).toBe("OK");
    await until("r2 up", async () => (await info(db, "r2")).master_link_status === "up");
    await write(db, 2);
    const sameOffsets = async () => {
      const m = Number((await info(db, "master")).master_repl_offset);
      const o1 = Number((await info(db, "r1")).master_repl_offset);
      const o2 = Number((await info(db, "r2")).master_repl_offset);
      return o1 === m && o2 === m;
    };
    await until("same offsets", sameOffsets);
    const d = await digest(db, "master");
    expect(await digest(db, "r1")).toBe(d);
    expect(await digest(db, "r2")).toBe(d);
    const fullBefore = Number((await info(db, "master", "stats")).sync_full);
    const r2 = await inNode(db, "r2", (n) => ({ full: n.replica.fullSyncs, partial: n.replica.partialSyncs }));

    await restart(db, "r1");
    await write(db, 3);
    await until("both back", async () => (await info(db, "r1")).master_link_status === "up" && (await info(db, "r2")).master_link_status === "up");
    await until("same offsets after restart", sameOffsets);
    expect(await inNode(db, "r1", (n) => ({ full: n.replica.fullSyncs, partial: n.replica.partialSyncs >= 1 }))).toEqual({ full: 0, partial: true });
    const r2After = await inNode(db, "r2", (n) => ({ full: n.replica.fullSyncs, partial: n.replica.partialSyncs }));
    expect(r2After.full).toBe(r2.full);
    expect(r2After.partial).toBeGreaterThan(r2.partial);
    expect(Number((await info(db, "master", "stats")).sync_full)).toBe(fullBefore);
    const d2 = await digest(db, "master");
    expect(await digest(db, "r1")).toBe(d2);
    expect(await digest(db, "r2")).toBe(d2);
  });

  it("PSYNC2 siblings: after promoting r1, r2 REPLICAOF r1 gets +CONTINUE, no snapshot", async () => {
    const db = freshDb("sib");
    await write(db, 1);
    for (const r of ["r1", "r2"]) {
      expect(await cmd(db, r, "REPLICAOF", "master")).toBe("OK");
    }
    await until("both up", async () => (await info(db, "r1")).master_link_status === "up" && (await info(db, "r2")).master_link_status === "up");
    await write(db, 2);
    expect(await cmd(db, "master", "WAIT", 2, 20_000)).toBe(2);
    const oldReplid = (await info(db, "master")).master_replid;
    const r2Full = await inNode(db, "r2", (n) => n.replica.fullSyncs);
    expect(await cmd(db, "r1", "REPLICAOF", "NO", "ONE")).toBe("OK");
    const r1 = await info(db, "r1");
    expect(r1.master_replid2).toBe(oldReplid);
    expect(await cmd(db, "r1", "SET", "after", "promotion")).toBe("OK");
    expect(await cmd(db, "r2", "REPLICAOF", "r1")).toBe("OK");
    await until("r2 follows r1", async () => (await info(db, "r2")).master_link_status === "up");
    expect(await inNode(db, "r2", (n) => n.replica.fullSyncs)).toBe(r2Full);
    expect(Number((await info(db, "r1", "stats")).sync_full)).toBe(0);
    expect(Number((await info(db, "r1", "stats")).sync_partial_ok)).toBeGreaterThanOrEqual(1);
    expect(await cmd(db, "r1", "WAIT", 1, 20_000)).toBe(1);
    expect(await digest(db, "r2")).toBe(await digest(db, "r1"));
    expect(await cmd(db, "r2", "GET", "after")).toBe("promotion");
  });
});
