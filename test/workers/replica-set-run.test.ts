/**
 * The replica's apply of plain SETs in runs (multi-row statements) and in bounded slices:
 * the data, TTLs, types, WATCH invalidation, command counts and forwarded bytes are exactly
 * those of applying the same stream one command at a time through the general path.
 */
import { describe, expect, it } from "vitest";
import { newSession } from "../../src/keyspace/command.ts";
import { SET_ROWS_PER_STATEMENT } from "../../src/keyspace/store.ts";
import { encodeCommand } from "../../src/protocol/resp.ts";
import { concat, utf8 } from "../../src/util/bytes.ts";
import type { Node } from "../../src/node/node.ts";
import { attach, cmd, digest, freshDb, info, inNode, until } from "./nodes.ts";

interface ApplyHook {
  apply(frames: Uint8Array[], slice?: { ms: number; bytes: number }): boolean;
}

const BIG = "x".repeat(1024 * 1024 + 10); // a string stored in chunk rows

/** The same starting data on a node: a list, a hash, a chunked string, a key with a TTL. */
async function prepare(db: string, node: string): Promise<void> {
  await cmd(db, node, "RPUSH", "L", "a", "b");
  await cmd(db, node, "HSET", "H", "f", "v");
  await cmd(db, node, "SET", "BIG", BIG);
  await cmd(db, node, "SET", "T", "old", "PX", 1_000_000);
  await cmd(db, node, "SET", "W", "watched");
}

/** A stream with runs of plain SETs broken by every case the fast path must hand over. */
function streamCommands(): (string | Uint8Array)[][] {
  const c: (string | Uint8Array)[][] = [
    ["SELECT", "0"],
    ["SET", "a", "1"],
    ["SET", "b", "2"],
    ["set", "a", "3"], // the same key twice in one run: the last value wins
    ["SET", "L", "was a list"],
    ["SET", "BIG", "was chunked"],
    ["SET", "T", "no ttl now"],
    ["SET", "E", "old", "PXAT", "1"], // stored already expired (a replica keeps it)
    ["SET", "E", "new"],
    ["SET", "empty", ""],
    ["SET", "H", "h1"],
    ["SET", "H", "h2"],
    ["SET", "W", "changed"],
    ["SET", "bin", new Uint8Array([0, 13, 10, 255])],
  ];
  // More than one statement's worth of rows, with repeats across statement boundaries.
  for (let i = 0; i < SET_ROWS_PER_STATEMENT * 3 + 7; i++) c.push(["SET", `k${i % 120}`, `v${i}`]);
  c.push(["INCR", "a"], ["SET", "a", "10"], ["SELECT", "3"], ["SET", "a", "db3"]);
  c.push(["MULTI"], ["SET", "m1", "1"], ["SET", "m2", "2"], ["EXEC"]);
  c.push(["SET", "after", "exec"], ["SELECT", "0"], ["RPUSH", "L2", "x"], ["SET", "L2", "y"], ["SET", "last", "1"]);
  return c;
}

const stream = () => concat(streamCommands().map((c) => encodeCommand(c)));

function watchW(n: Node) {
  const s = newSession({});
  n.engine.execute(s, [utf8("WATCH"), utf8("W")]);
  return s;
}

async function observe(db: string, node: string) {
  return {
    digest: await digest(db, node),
    ttlT: await cmd(db, node, "TTL", "T"),
    ttlE: await cmd(db, node, "PTTL", "E"),
    types: await Promise.all(["L", "BIG", "H", "L2", "empty"].map((k) => cmd(db, node, "TYPE", k))),
    values: await Promise.all(["a", "BIG", "H", "E", "empty", "k5", "W"].map((k) => cmd(db, node, "GET", k))),
    db3: await inNode(db, node, (n) => {
      const m = n.engine.ks.peek(3, utf8("a"));
      return m ? new TextDecoder().decode(n.engine.ks.getString(m)) : null;
    }),
    sets: await inNode(db, node, (n) => n.engine.stats.calls.get("set")?.calls),
  };
}

describe("replica apply: plain SET runs and slices", () => {
  it("applies as the general path does, command by command", async () => {
    const db = freshDb("setrun");
    for (const n of ["fast", "slow", "sliced"]) await prepare(db, n);
    const bytes = stream();

    // The general path, one command at a time.
    const slowWatch = await inNode(db, "slow", (n) => {
      const w = watchW(n);
      const s = newSession({ isMasterLink: true });
      for (const c of streamCommands()) n.engine.applyFromMaster(s, c.map((a) => (typeof a === "string" ? utf8(a) : a)));
      return w.watchDirty;
    });

    // The replica's apply, all at once.
    const fast = await inNode(db, "fast", (n) => {
      const w = watchW(n);
      const start = n.backlog.offset;
      const more = (n.replica as unknown as ApplyHook).apply([bytes]);
      n.backlog.flush();
      const fwd = concat([...n.backlog.readFrom(start)]);
      return { more, dirty: w.watchDirty, forwarded: fwd.length === bytes.length && fwd.every((x, i) => x === bytes[i]) };
    });
    expect(fast.more).toBe(false);
    expect(fast.dirty).toBe(true);
    expect(slowWatch).toBe(true);
    expect(fast.forwarded).toBe(true);

    // In slices of 200 bytes: each run stops between commands, never inside the MULTI block.
    const sliced = await inNode(db, "sliced", (n) => {
      const rep = n.replica as unknown as ApplyHook;
      const start = n.backlog.offset;
      const offsets: number[] = [];
      let more = rep.apply([bytes], { ms: 60_000, bytes: 200 });
      offsets.push(n.backlog.offset - start);
      let runs = 1;
      while (more && runs < 10_000) {
        more = rep.apply([], { ms: 60_000, bytes: 200 });
        offsets.push(n.backlog.offset - start);
        runs++;
      }
      n.backlog.flush();
      const fwd = concat([...n.backlog.readFrom(start)]);
      return { runs, offsets, forwarded: fwd.length === bytes.length && fwd.every((x, i) => x === bytes[i]) };
    });
    expect(sliced.runs).toBeGreaterThan(10);
    expect(sliced.forwarded).toBe(true);
    for (let i = 1; i < sliced.offsets.length - 1; i++) expect(sliced.offsets[i]!).toBeGreaterThan(sliced.offsets[i - 1]!);
    expect(sliced.offsets[sliced.offsets.length - 1]).toBe(bytes.length);
    const cmds = streamCommands();
    const multiAt = concat(cmds.slice(0, cmds.findIndex((c) => c[0] === "MULTI")).map((c) => encodeCommand(c))).length;
    const execEnd = concat(cmds.slice(0, cmds.findIndex((c) => c[0] === "EXEC") + 1).map((c) => encodeCommand(c))).length;
    for (const o of sliced.offsets) expect(o <= multiAt || o >= execEnd).toBe(true);

    const want = await observe(db, "slow");
    expect(want.ttlT).toBe(-1);
    expect(want.ttlE).toBe(-1);
    expect(want.types).toEqual(["string", "string", "string", "string", "string"]);
    expect(want.values).toEqual(["10", "was chunked", "h2", "new", "", "v125", "changed"]);
    expect(want.db3).toBe("db3");
    expect(await observe(db, "fast")).toEqual(want);
    expect(await observe(db, "sliced")).toEqual(want);
    expect(want.digest).not.toBe("0".repeat(40));
  });

  it("a slice of the live stream acknowledges what it applied (no wait for the cron's timer)", async () => {
    const db = freshDb("sliceack");
    await cmd(db, "master", "SET", "seed", "1");
    await attach(db, "r1");
    const offset = async (node: string) => Number((await info(db, node)).master_repl_offset);
    await until("r1 caught up", async () => (await offset("r1")) === (await offset("master")));
    const acks = await inNode(db, "r1", (n) => {
      type Hooks = { send(argv: string[]): void; onStream(b: Uint8Array): void; lastAckSentMs: number };
      const rep = n.replica as unknown as Hooks;
      const sent: string[][] = [];
      const real = rep.send;
      rep.send = (argv) => void sent.push(argv);
      try {
        rep.lastAckSentMs = 0; // the last ACK is old
        rep.onStream(new Uint8Array(0)); // a frame arrives: one slice runs
        rep.onStream(new Uint8Array(0)); // another at once: no second ACK yet
      } finally {
        rep.send = real;
      }
      return { sent, offset: n.backlog.offset };
    });
    expect(acks.sent).toEqual([["REPLCONF", "ACK", String(acks.offset)]]);

    // The master keeps the replica's lag at each ACK (admin API: replicas[].ackLag).
    await cmd(db, "master", "SET", "after", "1");
    await until("an ACK of r1 with a lag sample", async () => (await inNode(db, "master", (n) => n.status().replicas[0]?.ackLag?.samples ?? 0)) > 0);
    const lag = await inNode(db, "master", (n) => n.status().replicas[0]!.ackLag!);
    expect(lag.p50).toBeGreaterThanOrEqual(0);
    expect(lag.p99).toBeGreaterThanOrEqual(lag.p50);
    expect(lag.max).toBeGreaterThanOrEqual(lag.p99);
  });
});
