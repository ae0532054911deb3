/**
 * The stream travels in batches (one frame per event per replica, a chained replica forwards
 * each applied batch as one frame) and flow control (client-output-buffer-limit replica):
 * a replica that stops reading is dropped, then partially resyncs and converges.
 */
import { describe, expect, it } from "vitest";
import { H_DB, H_NODE, NODE_ORIGIN } from "../../src/http/node-protocol.ts";
import { attach, cmd, converged, digest, freshDb, info, inNode, pipeline, stub, until } from "./nodes.ts";

const offset = async (db: string, node: string) => Number((await info(db, node)).master_repl_offset);

/** Frames the node has sent to each of its replicas, by name. */
const frames = (db: string, node: string) =>
  inNode(db, node, (n) => Object.fromEntries(n.master.list().map((r) => [r.name, r.framesSent])) as Record<string, number>);

/** Wait until every node has the offset of `from`. */
async function caughtUp(db: string, from: string, nodes: string[]): Promise<number> {
  const want = await offset(db, from);
  for (const n of nodes) await until(`${n} at offset ${want}`, async () => (await offset(db, n)) === want);
  return want;
}

async function multiExec(db: string, node: string, cmds: (string | number)[][]): Promise<unknown[]> {
  const res = await stub(db, node).fetch(
    new Request(`${NODE_ORIGIN}/rest/multi-exec`, {
      method: "POST",
      headers: { "content-type": "application/json", [H_DB]: db, [H_NODE]: node },
      body: JSON.stringify(cmds),
    }),
  );
  return ((await res.json()) as { result?: unknown }[]).map((b) => b.result);
}

describe("stream batching", () => {
  it("one event's propagated commands reach each replica, and a chained replica's replica, as one frame", async () => {
    const db = freshDb("frame");
    await cmd(db, "master", "CONFIG", "SET", "repl-ping-replica-period", "3600");
    await cmd(db, "master", "SET", "seed", "1");
    await attach(db, "r1");
    await attach(db, "r2");
    await cmd(db, "r1", "CONFIG", "SET", "repl-ping-replica-period", "3600");
    expect(await cmd(db, "r3", "REPLICAOF", "r1")).toBe("OK"); // chained: master → r1 → r3
    await until("r3 linked to r1", async () => (await info(db, "r3")).master_host === "r1" && (await info(db, "r3")).master_link_status === "up");
    await caughtUp(db, "master", ["r1", "r2", "r3"]);

    // A pipeline of 100 SETs: 100 propagated commands in one event.
    const m0 = await frames(db, "master");
    const c0 = await frames(db, "r1");
    const res = await pipeline(
      db,
      "master",
      Array.from({ length: 100 }, (_, i) => ["SET", `k${i}`, `v${i}`]),
    );
    expect(res.every((r) => r === "OK")).toBe(true);
    await caughtUp(db, "master", ["r1", "r2", "r3"]);
    const m1 = await frames(db, "master");
    const c1 = await frames(db, "r1");
    expect(m1.r1! - m0.r1!).toBe(1);
    expect(m1.r2! - m0.r2!).toBe(1);
    expect(c1.r3! - c0.r3!).toBe(1);

    // A transaction: MULTI … EXEC travels as one frame too.
    const tx = await multiExec(db, "master", [
      ["SET", "a", "1"],
      ["INCR", "a"],
      ["RPUSH", "l", "x", "y"],
      ["DEL", "k0"],
    ]);
    expect(tx).toEqual(["OK", 2, 2, 1]);
    await caughtUp(db, "master", ["r1", "r2", "r3"]);
    const m2 = await frames(db, "master");
    const c2 = await frames(db, "r1");
    expect(m2.r1! - m1.r1!).toBe(1);
    expect(m2.r2! - m1.r2!).toBe(1);
    expect(c2.r3! - c1.r3!).toBe(1);

    const d = await digest(db, "master");
    for (const r of ["r1", "r2", "r3"]) expect(await digest(db, r)).toBe(d);
    expect(await cmd(db, "r3", "GET", "a")).toBe("2");
    expect(await cmd(db, "r3", "EXISTS", "k0")).toBe(0);
  });

  it("frames that queue up on a replica are applied together and forwarded as exactly the bytes received", async () => {
    const db = freshDb("coal");
    await cmd(db, "master", "CONFIG", "SET", "repl-ping-replica-period", "3600");
    await attach(db, "r1");
    await cmd(db, "r1", "DEBUG", "REPL-PAUSE", "1");
    const before = await inNode(db, "r1", (n) => ({ batches: n.replica.applyBatches, frames: n.replica.applyFrames }));
    for (let i = 0; i < 5; i++) await pipeline(db, "master", [["SET", `p${i}`, "x"], ["INCR", "n"]]);
    await cmd(db, "r1", "DEBUG", "REPL-PAUSE", "0");
    await caughtUp(db, "master", ["r1"]);
    const after = await inNode(db, "r1", (n) => ({ batches: n.replica.applyBatches, frames: n.replica.applyFrames }));
    expect(after.frames - before.frames).toBe(5);
    expect(after.batches - before.batches).toBe(1);
    // Byte for byte the master's stream: the replica's backlog holds what the master's holds.
    const tail = (n: { backlog: { offset: number; readFrom(o: number): Generator<Uint8Array> } }, from: number) => {
      const parts = [...n.backlog.readFrom(from)];
      return parts.map((p) => Array.from(p).join(",")).join(",");
    };
    const from = (await offset(db, "master")) - 200;
    expect(await inNode(db, "r1", (n) => tail(n, from))).toBe(await inNode(db, "master", (n) => tail(n, from)));
    await converged(db, ["r1"]);
  });
});

describe("flow control: client-output-buffer-limit replica", () => {
  it("CONFIG SET/GET client-output-buffer-limit in Redis's syntax", async () => {
    const db = freshDb("obufcfg");
    expect(await cmd(db, "master", "CONFIG", "GET", "client-output-buffer-limit")).toEqual([
      "client-output-buffer-limit",
      "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    ]);
    expect(await cmd(db, "master", "CONFIG", "SET", "client-output-buffer-limit", "replica 64kb 32kb 5")).toBe("OK");
    expect(await cmd(db, "master", "CONFIG", "GET", "client-output-buffer-limit")).toEqual([
      "client-output-buffer-limit",
      "normal 0 0 0 slave 65536 32768 5 pubsub 33554432 8388608 60",
    ]);
    await expect(cmd(db, "master", "CONFIG", "SET", "client-output-buffer-limit", "replica 1mb")).rejects.toThrow(
      "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of arguments in buffer limit configuration.",
    );
    await expect(cmd(db, "master", "CONFIG", "SET", "client-output-buffer-limit", "master 1mb 1mb 1")).rejects.toThrow(
      "Invalid client class specified in buffer limit configuration.",
    );
    await expect(cmd(db, "master", "CONFIG", "SET", "client-output-buffer-limit", "replica 10mbs 1mb 1")).rejects.toThrow(
      "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
    );
    // Refused values changed nothing.
    expect((await cmd(db, "master", "CONFIG", "GET", "client-output-buffer-limit")) as string[]).toContain(
      "normal 0 0 0 slave 65536 32768 5 pubsub 33554432 8388608 60",
    );
    // Persisted: the status reports it.
    const s = await stub(db, "master").status();
    expect(s.outputBufferLimit).toEqual({ hardBytes: 65536, softBytes: 32768, softSeconds: 5 });
  });

  it("a replica that stops reading is dropped at the hard limit, then partially resyncs and converges", async () => {
    const db = freshDb("obuf");
    await cmd(db, "master", "CONFIG", "SET", "repl-ping-replica-period", "3600");
    await cmd(db, "master", "CONFIG", "SET", "client-output-buffer-limit", "replica 64kb 0 0");
    await pipeline(db, "master", Array.from({ length: 50 }, (_, i) => ["SET", `seed${i}`, "v"]));
    await attach(db, "r1");
    await converged(db, ["r1"]);
    const made = await inNode(db, "master", (n) => n.snapshots.made);
    const r1Before = await inNode(db, "r1", (n) => ({ full: n.replica.fullSyncs, partial: n.replica.partialSyncs }));

    await cmd(db, "r1", "DEBUG", "REPL-PAUSE", "1");
    // Write until the master drops the stalled replica (each pipeline ~30 KB of stream).
    let round = 0;
    while ((await info(db, "master", "stats")).client_output_buffer_limit_disconnections === "0") {
      expect(round).toBeLessThan(20); // 64 KiB is passed within a few rounds
      const status = await stub(db, "master").status();
      const r = status.replicas.find((x) => x.name === "r1");
      if (r) expect(r.unackedBytes).toBeLessThan(64 * 1024);
      await pipeline(
        db,
        "master",
        Array.from({ length: 1000 }, (_, i) => ["SET", `w${round}:${i}`, "v"]),
      );
      round++;
    }
    expect(round).toBeGreaterThanOrEqual(2);
    await cmd(db, "r1", "DEBUG", "REPL-PAUSE", "0");
    await until("r1 relinked with a partial resync", async () => {
      const p = await inNode(db, "r1", (n) => n.replica.partialSyncs);
      return p > r1Before.partial && (await info(db, "r1")).master_link_status === "up";
    });
    await converged(db, ["r1"]);
    expect(await inNode(db, "master", (n) => n.snapshots.made)).toBe(made);
    expect(await inNode(db, "r1", (n) => n.replica.fullSyncs)).toBe(r1Before.full);
    expect(Number((await info(db, "master", "stats")).client_output_buffer_limit_disconnections)).toBeGreaterThanOrEqual(1);
    expect(await cmd(db, "r1", "DBSIZE")).toBe(await cmd(db, "master", "DBSIZE"));
  });

  it("the soft limit drops a replica that stays above it for longer than soft-seconds", async () => {
    const db = freshDb("obufsoft");
    await cmd(db, "master", "CONFIG", "SET", "repl-ping-replica-period", "3600");
    await cmd(db, "master", "CONFIG", "SET", "client-output-buffer-limit", "replica 0 16kb 1");
    await cmd(db, "master", "SET", "seed", "1");
    await attach(db, "r1");
    await converged(db, ["r1"]);
    await cmd(db, "r1", "DEBUG", "REPL-PAUSE", "1");
    await pipeline(db, "master", Array.from({ length: 1000 }, (_, i) => ["SET", `s${i}`, "v"]));
    // Above the soft limit but not yet for a second: still attached.
    expect((await info(db, "master", "stats")).client_output_buffer_limit_disconnections).toBe("0");
    expect((await info(db, "master")).connected_slaves).toBe("1");
    // The master's cron notices the period ran out, with no further write.
    await until("soft limit disconnection", async () => (await info(db, "master", "stats")).client_output_buffer_limit_disconnections === "1", 10_000);
    await cmd(db, "r1", "DEBUG", "REPL-PAUSE", "0");
    await until("r1 back", async () => (await info(db, "r1")).master_link_status === "up");
    await converged(db, ["r1"]);
  });
});
