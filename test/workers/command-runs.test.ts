/**
 * Runs of plain SETs and GETs (Engine.executeRun, what REST pipelines and pipelined socket
 * messages use) have exactly the replies, data, INFO counts and WATCH effects of the same
 * commands executed one by one, and a stream with the same commands per key in the same order.
 */
import { describe, expect, it } from "vitest";
import { newSession, type Session } from "../../src/keyspace/command.ts";
import { runKindOf, type Engine } from "../../src/keyspace/engine.ts";
import { SET_ROWS_PER_STATEMENT } from "../../src/keyspace/store.ts";
import { KEY_BYTES_MAX, STRING_CHUNK_BYTES } from "../../src/limits.ts";
import type { Reply } from "../../src/protocol/reply.ts";
import { str, utf8 } from "../../src/util/bytes.ts";
import { norm, stream, withEngine, type EngineHarness } from "./harness.ts";
import { bulk, openResp } from "./resp-socket.ts";
import { freshDb } from "./nodes.ts";

const T0 = 1_700_000_000_000;
const BIG = "x".repeat(STRING_CHUNK_BYTES + 10); // a string stored in two rows (one chunk row)

type Cmd = (string | Uint8Array)[];
const argv = (c: Cmd) => c.map((a) => (typeof a === "string" ? utf8(a) : a));

/** The same starting data: every case the fast path must hand over. */
function prepare(h: EngineHarness): void {
  h.setNow(T0);
  h.run("RPUSH", "L", "a", "b");
  h.run("HSET", "H", "f", "v");
  h.run("SADD", "S", "m");
  h.run("SET", "BIG", BIG);
  h.run("SET", "T", "old", "PX", 1_000_000); // a live TTL: SET removes it
  h.run("SET", "E", "old", "PX", 10); // expired once the clock moves: DEL comes first
  h.run("SET", "E2", "old", "PX", 10);
  h.run("SET", "W", "watched");
  h.setNow(T0 + 100);
}

/** Commands with runs broken by every case; `k…` keys are new or plain strings. */
function commands(): Cmd[] {
  const c: Cmd[] = [
    ["SET", "a", "1"],
    ["SET", "b", "2"],
    ["set", "a", "3"], // twice in one run: the last value wins
    ["SET", "L", "was a list"],
    ["SET", "BIG", "was chunked"],
    ["SET", "T", "no ttl now"],
    ["SET", "E", "new"],
    ["SET", "W", "changed"],
    ["SET", "H", "x"],
    ["SET", "H", "y"], // the general path twice on one key, in order
    ["GET", "a"],
    ["GET", "nothing"],
    ["get", "S"], // WRONGTYPE
    ["GET", "E2"], // expired: DEL propagated
    ["GET", "E2"],
    ["GET", "a"],
    ["INCR", "n"],
    ["GET", "n"],
    ["SET", "k".repeat(KEY_BYTES_MAX + 1), "too long"], // ERR: the run is refused, each answers alone
    ["SET", "z", "1"],
  ];
  for (let i = 0; i < SET_ROWS_PER_STATEMENT * 2 + 5; i++) c.push(["SET", `k${i % 70}`, `v${i}`]);
  c.push(["SET", "G", BIG]); // too big for one row: not a run member
  for (let i = 0; i < 150; i++) c.push(["GET", `k${i % 80}`]);
  c.push(["SELECT", "3"], ["SET", "a", "in 3"], ["SET", "b", "in 3"], ["GET", "a"], ["GET", "b"]);
  return c;
}

/** Execute in runs as the REST pipeline does (`byRuns`), or one by one. */
function execute(engine: Engine, s: Session, cmds: Cmd[], byRuns: boolean): Reply[] {
  const out: Reply[] = [];
  for (let i = 0; i < cmds.length; ) {
    const kind = runKindOf(argv(cmds[i]!));
    let end = i + 1;
    if (byRuns && kind !== null) while (end < cmds.length && runKindOf(argv(cmds[end]!)) === kind) end++;
    const run = end - i > 1 ? engine.executeRun(s, kind!, cmds.slice(i, end).map(argv)) : null;
    if (run) out.push(...run);
    else for (let j = i; j < end; j++) out.push(engine.execute(s, argv(cmds[j]!)) as Reply);
    i = end;
  }
  return out;
}

interface Outcome {
  replies: unknown[];
  rows: unknown[];
  elements: unknown[];
  perKey: Record<string, string[][]>;
  wrapped: number;
  calls: Record<string, { calls: number; rejected: number; failed: number }>;
  commands: number;
  errors: number;
  watchDirty: boolean;
}

async function outcome(byRuns: boolean, cmds: Cmd[] = commands()): Promise<Outcome> {
  let o: Outcome | null = null;
  await withEngine((h) => {
    prepare(h);
    const watcher = newSession();
    h.engine.execute(watcher, argv(["WATCH", "W"]));
    const before = stream(h).length;
    const replies = execute(h.engine, h.session, cmds, byRuns).map(norm);
    const sql = h.engine.ks.sql;
    const rows = sql.exec("SELECT db, key, type, expire_ms, val, card, nchunks FROM kv_keys ORDER BY db, key").toArray().map((r) => ({ ...r, key: str(new Uint8Array(r.key as ArrayBuffer)) }));
    const elements = ["kv_list", "kv_hash", "kv_set", "kv_strchunk"].map((t) => sql.exec(`SELECT count(*) AS n FROM ${t}`).one().n);
    const perKey: Record<string, string[][]> = {};
    let wrapped = 0;
    let db = "0";
    for (const c of stream(h).slice(before)) {
      const name = c[0]!.toLowerCase();
      if (name === "multi") wrapped++;
      if (name === "select") db = c[1]!;
      if (name === "multi" || name === "exec" || name === "select") continue;
      (perKey[`${db}:${c[1]}`] ??= []).push(c);
    }
    const stats = h.engine.stats;
    o = { replies, rows, elements, perKey, wrapped, calls: Object.fromEntries([...stats.calls].map(([n, c]) => [n, { calls: c.calls, rejected: c.rejected, failed: c.failed }])), commands: stats.commands, errors: stats.errorReplies, watchDirty: watcher.watchDirty };
  });
  return o!;
}

describe("runs of plain SETs and GETs", () => {
  it("answer, store, count and propagate exactly as the commands one by one", async () => {
    const one = await outcome(false);
    const runs = await outcome(true);
    expect(runs.replies).toEqual(one.replies);
    expect(runs.rows).toEqual(one.rows);
    expect(runs.elements).toEqual(one.elements);
    expect(runs.perKey).toEqual(one.perKey);
    expect(runs.wrapped).toBe(one.wrapped);
    expect(runs.calls).toEqual(one.calls);
    expect(runs.commands).toBe(one.commands);
    expect(runs.errors).toBe(one.errors);
    expect(runs.watchDirty).toBe(true);
    expect(one.watchDirty).toBe(true);
    // What the cases above must show, so the comparison is not vacuous.
    expect(one.replies.slice(10, 16)).toEqual(["3", null, { err: "WRONGTYPE Operation against a key holding the wrong kind of value" }, null, null, "3"]);
    expect(one.perKey["0:E"]).toEqual([["DEL", "E"], ["SET", "E", "new"]]);
    expect(one.perKey["0:E2"]).toEqual([["DEL", "E2"]]);
    expect(one.perKey["3:a"]).toEqual([["SET", "a", "in 3"]]);
    expect(one.elements).toEqual([0, 0, 1, 1]); // the list, the hash and BIG's chunks were replaced; G is chunked
  });

  it("are refused (null) where a command must answer alone: MULTI, write pause, NOPERM, READONLY, a snapshot being written", async () => {
    await withEngine((h) => {
      const e = h.engine;
      const sets = [argv(["SET", "a", "1"]), argv(["SET", "b", "2"])];
      const gets = [argv(["GET", "a"]), argv(["GET", "b"])];
      const multi = newSession();
      e.execute(multi, argv(["MULTI"]));
      expect(e.executeRun(multi, "set", sets)).toBeNull();
      expect(e.executeRun(multi, "get", gets)).toBeNull();
      const ro = newSession({ readOnlyToken: true });
      expect(e.executeRun(ro, "set", sets)).toBeNull();
      expect(e.executeRun(ro, "get", gets)?.map(norm)).toEqual([null, null]);
      e.writePause = new Promise(() => {});
      expect(e.executeRun(h.session, "set", sets)).toBeNull();
      expect(e.executeRun(h.session, "get", gets)?.map(norm)).toEqual([null, null]);
      e.writePause = null;
      e.ks.hooks.writesWatched = () => true;
      expect(e.executeRun(h.session, "set", sets)).toBeNull();
      e.ks.hooks.writesWatched = undefined;
      e.replicaMode = true;
      e.ks.expiryMode = "replica";
      expect(e.executeRun(h.session, "set", sets)).toBeNull();
      expect(e.ks.peek(0, utf8("a"))).toBeNull();
    });
  });

  it("on a replica: GET runs answer, an expired key is nil and nothing is deleted or propagated", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      h.run("SET", "e", "old", "PX", 10);
      h.run("SET", "s", "v");
      h.setNow(T0 + 100);
      const before = h.stream().length;
      h.engine.replicaMode = true;
      h.engine.ks.expiryMode = "replica";
      const r = h.engine.executeRun(h.session, "get", [argv(["GET", "e"]), argv(["GET", "s"]), argv(["GET", "e"])]);
      expect(r?.map(norm)).toEqual([null, "v", null]);
      expect(h.engine.ks.peek(0, utf8("e"))).not.toBeNull();
      expect(h.stream().length).toBe(before);
    });
  });

  it("a pipelined socket message of SETs, GETs and other commands is answered in order", async () => {
    const db = freshDb("runs");
    const c = await openResp(`/db/${db}/nodes/master/ws`);
    const cmds: string[][] = [];
    let expected = "";
    for (let i = 0; i < 300; i++) {
      cmds.push(["SET", `k${i}`, `v${i}`]);
      expected += "+OK\r\n";
      if (i % 97 === 0) {
        cmds.push(["INCR", "n"]);
        expected += `:${i / 97 + 1}\r\n`;
      }
    }
    for (let i = 0; i < 300; i++) {
      cmds.push(["GET", `k${(i * 7) % 310}`]);
      expected += bulk((i * 7) % 310 < 300 ? `v${(i * 7) % 310}` : null);
    }
    cmds.push(["GET", "n"]);
    expected += bulk("4");
    c.sendAll(...cmds);
    await c.expect(expected);
    c.close();
  });
});
