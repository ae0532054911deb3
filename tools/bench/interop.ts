/**
 * Replication interop with real Redis (issue 10), side by side with redis-server → redis-server
 * in the same run:
 *   a) an outside redis-server master (DEBUG POPULATE N) → our node (`REPLICAOF 127.0.0.1 port`);
 *   b) our master (that node after `REPLICAOF NO ONE`, N keys) → a real redis-server replica
 *      through the gateway (`--replicaof <gateway> --masterauth <replication secret>`).
 * Each time is from the REPLICAOF (or the replica's start) until the replica's link is up and
 * its offset has reached the master's; digests are compared after each.
 */
import { startGateway } from "../gateway.ts";
import type { BenchContext } from "./context.ts";
import { digest, envInt, info, now, ok, waitFor, type RespClient } from "./lib.ts";

const S = "interop";

/** Poll until `replica` is linked and at `master`'s offset. */
async function caughtUp(what: string, master: RespClient, replica: RespClient, timeoutMs: number): Promise<void> {
  await waitFor(what, timeoutMs, 100, async () => {
    const m = Number((await info(master, "replication")).master_repl_offset);
    const r = await info(replica, "replication");
    return r.master_link_status === "up" && Number(r.slave_repl_offset) >= m ? true : null;
  });
}

export async function interop(ctx: BenchContext): Promise<void> {
  const n = envInt("BENCH_INTEROP_KEYS", 1_000_000, 10_000);
  const timeoutMs = 600_000;
  const { results } = ctx;

  // The outside master, and the redis → redis reference.
  // No diskless-sync delay (Redis waits 5 s by default for more replicas): both sides start at once.
  const source = await ctx.redis(["--repl-diskless-sync-delay", "0"]);
  const src = await ctx.redisClient(source);
  ok(await src.callT(timeoutMs, "DEBUG", "POPULATE", String(n)), "DEBUG POPULATE");
  const refServer = await ctx.redis();
  const ref = await ctx.redisClient(refServer);
  let t0 = now();
  ok(await ref.call("REPLICAOF", "127.0.0.1", String(source.port)), "REPLICAOF");
  await caughtUp("redis → redis", src, ref, timeoutMs);
  const redisToRedisS = (now() - t0) / 1000;
  await ref.call("REPLICAOF", "NO", "ONE");
  const srcDigest = await digest(src);

  // a) redis-server → our node.
  const db = ctx.freshDb("interop");
  const ours = await ctx.node(db, "master");
  ok(await ours.call("PING"), "PING");
  t0 = now();
  ok(await ours.call("REPLICAOF", "127.0.0.1", String(source.port)), "REPLICAOF outside");
  await caughtUp("redis → ours", src, ours, timeoutMs);
  const redisToOursS = (now() - t0) / 1000;
  const oursDigest = await digest(ours);
  if (oursDigest !== srcDigest) results.problem(`interop: our node's digest ${oursDigest} differs from the outside master's ${srcDigest}`);
  results.add({
    section: S,
    metric: `full sync of ${n.toLocaleString("en")} keys from a redis-server master (REPLICAOF → at the master's offset)`,
    unit: "s",
    ours: redisToOursS,
    redis: redisToRedisS,
    how: `redis-server DEBUG POPULATE ${n} (--repl-diskless-sync-delay 0); ours: REPLICAOF 127.0.0.1 <port> on a node (EXTERNAL_MASTERS allows 127.0.0.1); redis: REPLICAOF on a second redis-server; until master_link_status:up and slave_repl_offset ≥ master_repl_offset; digests compared`,
  });

  // b) our master → a real redis-server replica through the gateway.
  ok(await ours.call("REPLICAOF", "NO", "ONE"), "REPLICAOF NO ONE");
  const gw = await startGateway({ port: 0, url: ctx.worker.url, db, node: "master", token: ctx.worker.token });
  try {
    t0 = now();
    const replica = await ctx.redis(["--replicaof", "127.0.0.1", String(gw.port), "--masterauth", ctx.worker.replicationSecret]);
    const rc = await ctx.redisClient(replica);
    await caughtUp("ours → redis", ours, rc, timeoutMs);
    const oursToRedisS = (now() - t0) / 1000;
    const replicaDigest = await digest(rc);
    if (replicaDigest !== oursDigest) results.problem(`interop: the redis-server replica's digest ${replicaDigest} differs from our master's ${oursDigest}`);
    results.add({
      section: S,
      metric: `full sync of ${n.toLocaleString("en")} keys into a real redis-server replica (start → at the master's offset)`,
      unit: "s",
      ours: oursToRedisS,
      redis: redisToRedisS,
      how: `ours: redis-server --replicaof <gateway> --masterauth <REPLICATION_SECRET> against our master holding the same ${n} keys (the node above after REPLICAOF NO ONE); redis: the redis → redis time above`,
    });
  } finally {
    await gw.close();
  }
}
