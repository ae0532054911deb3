/**
 * Section 3 — replication, ours (master node → replica node r1 in one database, over
 * the service's internal WebSocket link) side by side with redis-server master → replica
 * (two processes on loopback, `REPLICAOF 127.0.0.1 <port>`):
 *   a) lag at a fixed write rate,
 *   b) full-sync time for N keys (default 100k and 1M),
 *   c) bytes of a partial resync after `CLIENT KILL TYPE master`,
 *   d) master write latency idle vs while a full sync (snapshot) is in progress,
 *   e) workerd RSS before / during / after the largest full sync,
 *   f) a second full sync of the largest size into the replica that already holds the data
 *      (ours: the loaded generation replaces the old one, deleted in the background; redis:
 *      the replica flushes its old data first), with the worst stalls during it and for
 *      BENCH_RESYNC_TAIL_MS after it.
 * With BENCH_VERBOSE=1 every stall of at least BENCH_STALL_LOG_MS (50) is printed with its wall-clock
 * start, to line it up with the workerd log.
 */
import type { RedisServer } from "../../test/node/support/redis-server.ts";
import type { BenchContext } from "./context.ts";
import {
  digest,
  envInt,
  envInts,
  info,
  now,
  ok,
  pipelined,
  sleep,
  stats,
  text,
  waitFor,
  workerdRssMiB,
  type Arg,
  type RespClient,
} from "./lib.ts";

const S = "3 replication";
/** redis-server replication settings that make the comparison fair: no 5 s diskless-sync delay. */
const REDIS_REPL_ARGS = ["--repl-diskless-sync-delay", "0"];

/** One side of a master → replica pair, ours or redis, behind the same interface. */
interface Pair {
  who: "ours" | "redis";
  master: RespClient;
  replica: RespClient;
  /** Make the replica follow the master (REPLICAOF). */
  link(): Promise<void>;
  /** A fresh connection to the master (for concurrent work). */
  masterConn(): Promise<RespClient>;
  /** A fresh connection to the replica (PINGs during a full sync). */
  replicaConn(): Promise<RespClient>;
}

async function oursPair(ctx: BenchContext, db: string, replicaNode = "r1"): Promise<Pair> {
  const master = await ctx.node(db, "master");
  const replica = await ctx.node(db, replicaNode);
  return {
    who: "ours",
    master,
    replica,
    link: async () => void ok(await replica.call("REPLICAOF", "master", "0"), "REPLICAOF"),
    masterConn: () => ctx.node(db, "master"),
    replicaConn: () => ctx.node(db, replicaNode),
  };
}

async function redisPair(ctx: BenchContext): Promise<Pair & { servers: RedisServer[] }> {
  const ms = await ctx.redis(REDIS_REPL_ARGS);
  const rs = await ctx.redis(REDIS_REPL_ARGS);
  const master = await ctx.redisClient(ms);
  const replica = await ctx.redisClient(rs);
  return {
    who: "redis",
    master,
    replica,
    servers: [ms, rs],
    link: async () => void ok(await replica.call("REPLICAOF", "127.0.0.1", String(ms.port)), "REPLICAOF"),
    masterConn: () => ctx.redisClient(ms),
    replicaConn: () => ctx.redisClient(rs),
  };
}

async function waitLinkUp(p: Pair, timeoutMs: number, everyMs = 50): Promise<void> {
  await waitFor(`${p.who}: replica link up`, timeoutMs, everyMs, async () =>
    (await info(p.replica, "replication")).master_link_status === "up" ? true : null,
  );
}

/** Wait until the replica has applied everything the master has (offsets equal). */
async function waitCaughtUp(p: Pair, timeoutMs: number): Promise<void> {
  await waitFor(`${p.who}: replica caught up`, timeoutMs, 20, async () => {
    const m = Number((await info(p.master, "replication")).master_repl_offset);
    const r = await info(p.replica, "replication");
    return r.master_link_status === "up" && Number(r.slave_repl_offset) >= m ? true : null;
  });
}

function* msetCmds(from: number, to: number, perCmd: number, tag: string): Generator<Arg[]> {
  for (let i = from; i < to; i += perCmd) {
    const c: Arg[] = ["MSET"];
    for (let j = i; j < Math.min(to, i + perCmd); j++) c.push(`${tag}:${j}`, `value-${String(j).padStart(10, "0")}`);
    yield c;
  }
}

/** Stalls at least this long are printed (BENCH_VERBOSE=1) with their wall-clock start. */
const STALL_LOG_MS = process.env.BENCH_VERBOSE === "1" ? envInt("BENCH_STALL_LOG_MS", 50, 50) : Infinity;

function logStall(what: string, ms: number): void {
  if (ms >= STALL_LOG_MS) console.log(`stall: ${what} ${ms.toFixed(0)} ms from ${new Date(Date.now() - ms).toISOString().slice(11, 23)}`);
}

export async function replication(ctx: BenchContext): Promise<void> {
  await lagAndPartial(ctx);
  await fullSyncs(ctx);
}

// ─── a) lag and c) partial resync ────────────────────────────────────────────

async function lagAndPartial(ctx: BenchContext): Promise<void> {
  const rate = envInt("BENCH_LAG_RATE", 300, 200);
  const seconds = envInt("BENCH_LAG_SECONDS", 20, 4);
  const k = envInt("BENCH_PSYNC_CMDS", 1000, 200);
  const { results } = ctx;
  const pairs = [await oursPair(ctx, ctx.freshDb("lag")), await redisPair(ctx)];
  const lag: Record<string, ReturnType<typeof stats>> = {};
  const ack: Record<string, ReturnType<typeof stats>> = {};
  const psync: Record<string, { bytes: number; ms: number }> = {};

  for (const p of pairs) {
    await p.link();
    await waitLinkUp(p, 60_000);
    console.log(`[3a] ${p.who}: lag at ${rate} writes/s for ${seconds} s`);
    const r = await measureLag(p, rate, seconds);
    lag[p.who] = stats(r.lagMs);
    ack[p.who] = stats(r.ackMs);
    if (r.missing > 0) results.problem(`${p.who}: ${r.missing} of ${r.count} lag samples never observed on the replica`);

    console.log(`[3c] ${p.who}: partial resync after CLIENT KILL TYPE master, ${k} SETs`);
    psync[p.who] = await partialResync(p, k);
  }

  for (const q of ["p50", "p99"] as const) {
    results.add({
      section: S,
      metric: `lag ${q} at ${rate} writes/s`,
      unit: "ms",
      ours: lag.ours![q],
      redis: lag.redis![q],
      how:
        `open-loop SET lag <i> on the master at ${rate}/s for ${seconds} s (one connection, pipelined), while a second connection ` +
        "polls GET lag on the replica back to back; lag(i) = time the first poll reply showing ≥ i arrived − time the master's ack of write i arrived " +
        "(clamped at 0; resolution = one replica GET round trip)",
      note: `${lag.ours!.n} / ${lag.redis!.n} samples`,
    });
  }
  for (const q of ["p50", "p99"] as const) {
    results.add({
      section: S,
      metric: `master write ack ${q} at ${rate} writes/s (during the lag run)`,
      unit: "ms",
      ours: ack.ours![q],
      redis: ack.redis![q],
      how: "send → reply of each SET of the lag run, with the replica attached",
    });
  }
  results.add({
    section: S,
    metric: `partial resync: stream bytes for ${k} SETs`,
    unit: "bytes",
    ours: psync.ours!.bytes,
    redis: psync.redis!.bytes,
    how:
      `linked replica; CLIENT KILL TYPE master on the replica; ${k} × SET psync:<i> <16 bytes> pipelined on the master; ` +
      "bytes = master_repl_offset after − before; sync_partial_ok on the master +1 checked; digests equal after catch-up",
  });
  results.add({
    section: S,
    metric: `partial resync: kill → replica caught up`,
    unit: "ms",
    ours: psync.ours!.ms,
    redis: psync.redis!.ms,
    how: "from CLIENT KILL TYPE master until the replica's slave_repl_offset ≥ the master's (redis reconnects from its 1 s cron; ours after its reconnect backoff)",
  });
}

async function measureLag(p: Pair, rate: number, seconds: number): Promise<{ lagMs: number[]; ackMs: number[]; count: number; missing: number }> {
  const count = Math.max(1, Math.round(rate * seconds));
  const sentAt = new Float64Array(count);
  const ackAt = new Float64Array(count).fill(NaN);
  const seenAt = new Float64Array(count).fill(NaN);
  ok(await p.master.call("SET", "lag", "-1"), "SET");
  await waitCaughtUp(p, 30_000);

  let writerDone = false;
  let failure: Error | null = null;
  const writer = (async () => {
    const t0 = now();
    const acks: Promise<void>[] = [];
    let i = 0;
    while (i < count) {
      const due = Math.min(count, Math.floor(((now() - t0) * rate) / 1000) + 1);
      for (; i < due; i++) {
        const j = i;
        sentAt[j] = now();
        acks.push(
          p.master.call("SET", "lag", String(j)).then(
            (v) => {
              ok(v, "SET");
              ackAt[j] = now();
            },
            (e: Error) => void (failure ??= e),
          ),
        );
      }
      if (failure) break;
      await sleep(1);
    }
    await Promise.all(acks);
    writerDone = true;
  })();

  let lastSeen = -1;
  const pollDeadline = () => now() + 30_000;
  let deadline = Infinity;
  while (lastSeen < count - 1 && !failure) {
    if (writerDone && deadline === Infinity) deadline = pollDeadline();
    if (now() > deadline) break;
    const v = await p.replica.call("GET", "lag");
    const t = now();
    const n = Number(text(ok(v, "GET")));
    for (let j = lastSeen + 1; j <= n && j < count; j++) seenAt[j] = t;
    if (n > lastSeen) lastSeen = n;
  }
  await writer;
  if (failure) throw failure;

  const lagMs: number[] = [];
  const ackMs: number[] = [];
  let missing = 0;
  for (let j = 0; j < count; j++) {
    ackMs.push(ackAt[j]! - sentAt[j]!);
    if (Number.isNaN(seenAt[j]!)) missing++;
    else lagMs.push(Math.max(0, seenAt[j]! - ackAt[j]!));
  }
  return { lagMs, ackMs, count, missing };
}

async function partialResync(p: Pair, k: number): Promise<{ bytes: number; ms: number }> {
  await waitCaughtUp(p, 60_000);
  const before = Number((await info(p.master, "stats")).sync_partial_ok);
  const off0 = Number((await info(p.master, "replication")).master_repl_offset);
  const t0 = now();
  ok(await p.replica.call("CLIENT", "KILL", "TYPE", "master"), "CLIENT KILL TYPE master");
  const cmds: Arg[][] = [];
  for (let i = 0; i < k; i++) cmds.push(["SET", `psync:${i}`, `v${String(i).padStart(15, "0")}`]);
  for (const r of await p.master.send(cmds)) ok(r, "SET");
  const off1 = Number((await info(p.master, "replication")).master_repl_offset);
  await waitFor(`${p.who}: replica caught up after the partial resync`, 60_000, 5, async () => {
    const r = await info(p.replica, "replication");
    return r.master_link_status === "up" && Number(r.slave_repl_offset) >= off1 ? true : null;
  });
  const ms = now() - t0;
  const after = Number((await info(p.master, "stats")).sync_partial_ok);
  if (after !== before + 1) throw new Error(`${p.who}: expected one partial resync, sync_partial_ok went ${before} → ${after}`);
  const [dm, dr] = [await digest(p.master), await digest(p.replica)];
  if (dm !== dr) throw new Error(`${p.who}: digests differ after the partial resync: ${dm} vs ${dr}`);
  return { bytes: off1 - off0, ms };
}

// ─── b) full sync, d) write latency during a snapshot, e) memory ─────────────

async function fullSyncs(ctx: BenchContext): Promise<void> {
  const sizes = envInts("BENCH_SYNC_KEYS", [100_000, 1_000_000], [10_000]).sort((a, b) => a - b);
  const latOps = envInt("BENCH_LAT_OPS", 300, 100);
  const digestMax = envInt("BENCH_DIGEST_MAX_KEYS", 1_000_000, 1_000_000);
  const tailMs = envInt("BENCH_RESYNC_TAIL_MS", 5000, 1000);
  const { results } = ctx;
  if (sizes.some((n) => n > digestMax)) {
    results.problem(
      `DEBUG DIGEST skipped above ${digestMax} keys (BENCH_DIGEST_MAX_KEYS): the replica is checked with DBSIZE and 200 sampled GETs instead.`,
    );
  }
  const largest = sizes[sizes.length - 1]!;

  for (const size of sizes) {
    const isLargest = size === largest;
    const row: Record<string, Record<string, number>> = { ours: {}, redis: {} };
    const lat: Record<string, { idle: number[]; busy: number[] }> = {};
    const replicaPing: Record<string, number> = {};
    const resync: Record<string, { s: number; masterMax: number; replicaMax: number }> = {};
    for (const who of ["ours", "redis"] as const) {
      const pair = who === "ours" ? await oursPair(ctx, ctx.freshDb(`fs${size}`)) : await redisPair(ctx);
      const f = row[who]!;
      console.log(`[3b] ${who}: filling the master with ${size.toLocaleString("en-US")} keys`);
      let t = now();
      await pipelined(pair.master, msetCmds(0, size, 500, "key"), 20, 2, "MSET fill");
      f.fill = (now() - t) / 1000;

      const rssBefore = who === "ours" ? await workerdRssMiB() : null;
      if (isLargest) {
        console.log(`[3d] ${who}: ${latOps} single SETs on the idle master`);
        lat[who] = { idle: await setLatencies(pair.master, latOps, () => false, "idle"), busy: [] };
      }

      console.log(`[3b] ${who}: REPLICAOF on a fresh replica, waiting for master_link_status:up`);
      const timeoutMs = 120_000 + size * 0.6;
      let peakRss = rssBefore ?? 0;
      let syncing = true;
      let sampling = true;
      const rssSampler = (async () => {
        if (who !== "ours") return;
        while (sampling) {
          const r = await workerdRssMiB();
          if (r !== null) peakRss = Math.max(peakRss, r);
          await sleep(250);
        }
      })();
      const busyConn = isLargest ? await warm(await pair.masterConn()) : null;
      const pingConn = isLargest ? await warm(await pair.replicaConn()) : null;
      t = now();
      await pair.link();
      // The replica's longest stall: back-to-back PINGs to it from REPLICAOF until link up.
      const pinger = pingConn
        ? (async () => {
            let worst = 0;
            while (syncing) {
              const t1 = now();
              await pingConn.call("PING"); // an error reply (redis: LOADING) is an answer too
              worst = Math.max(worst, now() - t1);
              logStall(`${who} replica PING`, now() - t1);
            }
            replicaPing[who] = worst;
          })()
        : Promise.resolve();
      const writer = busyConn
        ? (async () => {
            lat[who]!.busy = await setLatencies(busyConn, latOps * 20, () => !syncing, "busy");
          })()
        : Promise.resolve();
      try {
        try {
          await waitLinkUp(pair, timeoutMs, 20);
        } finally {
          syncing = false;
          await writer;
          await pinger;
        }
        f.sync = (now() - t) / 1000;
        await waitCaughtUp(pair, 120_000);
        t = now();
        if (size > digestMax) {
          // DEBUG DIGEST costs ~50 µs per key on ours (a minute at 1M keys): check a sample instead.
          await spotCheck(pair, size, 200);
          f.digest = NaN;
          f.total = NaN;
        } else try {
          const dm = await digest(pair.master, timeoutMs);
          f.digest = (now() - t) / 1000;
          const dr = await digest(pair.replica, timeoutMs);
          if (dm !== dr) results.problem(`${who}: after the full sync of ${size} keys the digests differ: ${dm} vs ${dr}`);
          f.total = f.sync + (now() - t) / 1000;
        } catch (e) {
          results.problem(`${who}: DEBUG DIGEST after the full sync of ${size} keys failed after ${((now() - t) / 1000).toFixed(0)} s: ${(e as Error).message}`);
          f.digest ??= NaN;
          f.total = NaN;
        }
        if (isLargest) resync[who] = await resyncOverData(pair, timeoutMs, tailMs);
      } finally {
        sampling = false;
        await rssSampler;
      }
      if (who === "ours") {
        f.rssBefore = rssBefore ?? NaN;
        f.rssPeak = peakRss;
        f.rssAfter = (await workerdRssMiB()) ?? NaN;
      } else {
        f.rssMaster = Number((await info(pair.master, "memory")).used_memory_rss) / 2 ** 20;
        f.rssReplica = Number((await info(pair.replica, "memory")).used_memory_rss) / 2 ** 20;
        for (const s of (pair as Pair & { servers: RedisServer[] }).servers) await s.stop();
      }
      console.log(`    ${who}: ${JSON.stringify(Object.fromEntries(Object.entries(f).map(([k, v]) => [k, Math.round(v * 1000) / 1000])))}`);
    }
    const o = row.ours!;
    const r = row.redis!;
    const n = size.toLocaleString("en-US");
    results.add({ section: S, metric: `fill master with ${n} keys`, unit: "s", ours: o.fill!, redis: r.fill!, how: "MSET of 500 keys per command, 20 commands per message, 2 messages in flight; keys key:<i>, 16-byte values" });
    results.add({
      section: S,
      metric: `full sync of ${n} keys (REPLICAOF → link up)`,
      unit: "s",
      ours: o.sync!,
      redis: r.sync!,
      how: "REPLICAOF on a fresh replica (ours: REPLICAOF master 0 to node r1; redis: REPLICAOF 127.0.0.1 <port>, repl-diskless-sync-delay 0), INFO replication polled every 20 ms until master_link_status:up",
    });
    if (!Number.isNaN(o.total!) && !Number.isNaN(r.total!)) results.add({
      section: S,
      metric: `full sync of ${n} keys (→ DEBUG DIGEST equal)`,
      unit: "s",
      ours: o.total!,
      redis: r.total!,
      how: `the above, then the replica caught up and DEBUG DIGEST computed on both (the digest time is included; above ${digestMax} keys not measured, see problems)`,
    });
    if (!Number.isNaN(o.digest!) && !Number.isNaN(r.digest!)) results.add({ section: S, metric: `DEBUG DIGEST of ${n} keys`, unit: "s", ours: o.digest!, redis: r.digest!, how: "one DEBUG DIGEST on the master" });
    if (isLargest) {
      for (const phase of ["idle", "busy"] as const) {
        const so = stats(lat.ours![phase]);
        const sr = stats(lat.redis![phase]);
        for (const q of phase === "idle" ? (["p50", "p99"] as const) : (["p50", "p99", "max"] as const)) {
          results.add({
            section: S,
            metric: `master SET latency ${q}, ${n}-key master, ${phase === "idle" ? "idle" : "during a full sync"}`,
            unit: "ms",
            ours: so[q],
            redis: sr[q],
            how:
              phase === "idle"
                ? `${latOps} single SETs one at a time on one connection, no replica`
                : "single SETs one at a time on a second connection from REPLICAOF until master_link_status:up on the new replica " +
                  "(local workerd runs every Durable Object of the Worker on one thread, so a long synchronous step on the replica — " +
                  "the snapshot load and swap — stalls the master here too; in production they are separate isolates)",
            note: `${so.n} / ${sr.n} samples`,
          });
        }
      }
      results.add({
        section: S,
        metric: `replica PING latency max during the ${n}-key full sync`,
        unit: "ms",
        ours: replicaPing.ours ?? null,
        redis: replicaPing.redis ?? null,
        how: "back-to-back PINGs to the replica on their own connection from REPLICAOF until master_link_status:up (the replica's longest stall: loading, swap)",
      });
      results.add({ section: S, metric: `memory before the ${n}-key full sync (ours: workerd RSS; redis: master used_memory_rss)`, unit: "MiB", ours: o.rssBefore!, redis: r.rssMaster!, how: "ps -o rss of the workerd processes under this bench; redis INFO memory" });
      results.add({ section: S, metric: `memory peak during the ${n}-key full sync and digests (redis: replica RSS after)`, unit: "MiB", ours: o.rssPeak!, redis: r.rssReplica!, how: "workerd RSS sampled every 250 ms from REPLICAOF until both digests were computed (master and replica objects share the process); redis replica used_memory_rss (it holds the whole keyspace)" });
      results.add({ section: S, metric: `memory after the ${n}-key full sync`, unit: "MiB", ours: o.rssAfter!, redis: null, how: "workerd RSS" });
      const ro = resync.ours!;
      const rr = resync.redis!;
      results.add({
        section: S,
        metric: `second full sync of ${n} keys into the replica holding them (REPLICAOF → link up)`,
        unit: "s",
        ours: ro.s,
        redis: rr.s,
        how: "after the above: REPLICAOF NO ONE then REPLICAOF <master> on the replica (its new replid forces a full resync); ours swaps the loaded generation in and deletes the old one in the background (and reuses the master's snapshot when its backlog still covers it), redis flushes the old data first and writes a new RDB",
      });
      results.add({
        section: S,
        metric: `master SET latency max / replica PING max during that second sync and ${tailMs / 1000} s after`,
        unit: "ms",
        ours: Math.max(ro.masterMax, ro.replicaMax),
        redis: Math.max(rr.masterMax, rr.replicaMax),
        how: `single SETs one at a time on the master and back-to-back PINGs to the replica, from REPLICAOF until ${tailMs} ms (BENCH_RESYNC_TAIL_MS) after link up (ours deletes the replaced rows meanwhile)`,
        note: `ours master ${ro.masterMax.toFixed(0)} / replica ${ro.replicaMax.toFixed(0)}; redis ${rr.masterMax.toFixed(0)} / ${rr.replicaMax.toFixed(0)}`,
      });
    }
  }
}

/**
 * A second full sync into a replica that holds the data already (REPLICAOF NO ONE gives it a
 * new replid, so the next REPLICAOF cannot continue): seconds to link up, and the longest
 * master SET and replica PING from REPLICAOF until `tailMs` after link up.
 */
async function resyncOverData(p: Pair, timeoutMs: number, tailMs: number): Promise<{ s: number; masterMax: number; replicaMax: number }> {
  console.log(`[3f] ${p.who}: a second full sync into the replica holding the data`);
  await waitCaughtUp(p, 120_000);
  ok(await p.replica.call("REPLICAOF", "NO", "ONE"), "REPLICAOF NO ONE");
  const [setConn, pingConn] = [await warm(await p.masterConn()), await warm(await p.replicaConn())];
  let watching = true;
  const sets = setLatencies(setConn, Number.MAX_SAFE_INTEGER, () => !watching, "resync");
  const pings = (async () => {
    let worst = 0;
    while (watching) {
      const t1 = now();
      await pingConn.call("PING");
      worst = Math.max(worst, now() - t1);
      logStall(`${p.who} replica PING (second sync)`, now() - t1);
    }
    return worst;
  })();
  const t = now();
  let s = NaN;
  try {
    await p.link();
    await waitLinkUp(p, timeoutMs, 20);
    s = (now() - t) / 1000;
    await sleep(tailMs);
  } finally {
    watching = false;
  }
  const masterMax = Math.max(0, ...(await sets));
  const replicaMax = await pings;
  await waitCaughtUp(p, 120_000);
  const [dm, dr] = [await p.master.call("DBSIZE"), await p.replica.call("DBSIZE")];
  if (dm !== dr) throw new Error(`${p.who}: DBSIZE differs after the second full sync: ${String(dm)} vs ${String(dr)}`);
  return { s, masterMax, replicaMax };
}

/**
 * A connection that has answered once: the first command on a new connection pays for its
 * setup (locally up to ~100 ms through wrangler's proxy), which is not a stall of the node.
 */
async function warm(c: RespClient): Promise<RespClient> {
  await c.call("PING");
  return c;
}

/** DBSIZE equal and `n` random keys equal on master and replica. */
async function spotCheck(p: Pair, size: number, n: number): Promise<void> {
  const [a, b] = [await p.master.call("DBSIZE"), await p.replica.call("DBSIZE")];
  if (a !== b) throw new Error(`${p.who}: DBSIZE differs after the full sync: master ${String(a)}, replica ${String(b)}`);
  const keys: Arg[][] = [];
  for (let i = 0; i < n; i++) keys.push(["GET", `key:${Math.floor(Math.random() * size)}`]);
  const [x, y] = [await p.master.send(keys), await p.replica.send(keys)];
  for (let i = 0; i < n; i++) {
    if (text(x[i]!) !== text(y[i]!)) throw new Error(`${p.who}: ${String(keys[i]![1])} differs after the full sync`);
  }
}

/** Single SETs one at a time until `n` are done or `stop()` says so; latencies in ms. */
async function setLatencies(c: RespClient, n: number, stop: () => boolean, tag: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n && !stop(); i++) {
    const t = now();
    ok(await c.call("SET", `lat:${tag}:${i}`, "x"), "SET");
    out.push(now() - t);
    logStall(`master SET (${tag})`, now() - t);
  }
  return out;
}
