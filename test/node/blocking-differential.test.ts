/**
 * Differential test of the blocking commands: the same scenario — several client connections
 * blocking on lists and sorted sets, other connections pushing (plain, MULTI/EXEC, scripts),
 * CLIENT UNBLOCK, timeouts — run against a real redis-server 7.0 over TCP and against our
 * master over RESP/WebSocket, four clients on each side. After every step each side is let
 * settle (every client has its reply, or CLIENT LIST shows it blocked); the replies every
 * client received, and which clients are still blocked, must be equal; at the end DEBUG
 * DIGEST must be equal on redis-server, our master and our replica.
 *
 *   npx vitest run --project node test/node/blocking-differential.test.ts
 *   BLOCKING_DIFF_SEED=123 …   replay a seed (printed by every run)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomSeed, Rng, showArgv, showReply } from "./support/command-gen.ts";
import { type RedisServer, startRedisServer } from "./support/redis-server.ts";
import { connectWs, type RespClient, type RespValue } from "./support/resp-client.ts";
import { restCommand, startWorker, type TestWorker } from "./support/worker.ts";

const SEED = process.env.BLOCKING_DIFF_SEED !== undefined ? Number(process.env.BLOCKING_DIFF_SEED) >>> 0 : randomSeed();
/** Random steps after the scripted ones. */
const STEPS = 400;
const CLIENTS = 4;
/** A blocked command's reply may take as long as the whole run. */
const BLOCKED_REPLY_MS = 600_000;

type Cmd = string[];
const text = (v: RespValue): string =>
  typeof v === "number" || typeof v === "bigint"
    ? String(v)
    : v instanceof Uint8Array ? new TextDecoder().decode(v) : v !== null && typeof v === "object" && "s" in v ? String(v.s) : showReply(v);

/** One server's side of the scenario: its client connections and what each has received. */
class Side {
  readonly pending: (Promise<RespValue> | null)[] = [];
  readonly got: (RespValue | undefined)[] = [];
  ids: string[] = [];
  constructor(
    readonly name: string,
    readonly clients: RespClient[],
    readonly control: RespClient,
  ) {}

  async init(): Promise<void> {
    this.ids = await Promise.all(this.clients.map(async (c) => text(await c.call("CLIENT", "ID"))));
  }

  /** Send on client i; the reply is collected when it comes. */
  start(i: number, cmds: Cmd[]): void {
    const p = this.clients[i]!.send(cmds, BLOCKED_REPLY_MS).then((rs) => (rs.length === 1 ? rs[0]! : rs));
    this.pending[i] = p;
    void p.then(
      (v) => {
        if (this.pending[i] === p) this.got[i] = v;
      },
      () => {},
    );
  }

  /** Clients CLIENT LIST shows blocked (by index). */
  async blocked(): Promise<Set<number>> {
    const list = text(await this.control.call("CLIENT", "LIST"));
    const out = new Set<number>();
    for (const line of list.split("\n")) {
      const id = /^id=(\d+) /.exec(line)?.[1];
      if (id && / flags=[A-Za-z]*b/.test(line)) out.add(this.ids.indexOf(id));
    }
    out.delete(-1);
    return out;
  }

  /**
   * Wait until every client with a command out either has its reply or is blocked. A client
   * served by a write is unblocked in that write's event, so once CLIENT LIST (sent after it)
   * answers, an unblocked client's reply is on its way.
   */
  async settle(stepClient: number | null = null): Promise<Set<number>> {
    // First the step's command must have run: its reply came, or CLIENT LIST (on another
    // connection, which the server may read first) shows its client blocked. Only then is a
    // CLIENT LIST causally after it.
    if (stepClient !== null) while (this.got[stepClient] === undefined && !(await this.blocked()).has(stepClient));
    for (;;) {
      const blocked = await this.blocked();
      if (process.env.BLOCKING_DIFF_TRACE) console.log(`  ${this.name} blocked [${[...blocked]}] ids ${this.ids} got ${this.got.map((g) => g !== undefined)}`);
      let waiting = false;
      for (let i = 0; i < this.clients.length; i++) {
        if (!this.pending[i] || this.got[i] !== undefined || blocked.has(i)) continue;
        await this.pending[i];
        waiting = true;
      }
      if (!waiting) return blocked;
    }
  }

  /** Replies received since the last call, by client; clears them. */
  take(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.clients.length; i++) {
      if (this.got[i] === undefined) continue;
      out.push(`c${i}: ${showReply(this.got[i]!)}`);
      this.got[i] = undefined;
      this.pending[i] = null;
    }
    return out;
  }
}

/** The scenario's commands: blocking ones block clients, the others write or read. */
function blockingCommand(r: Rng): Cmd {
  const list = () => `l${r.int(3)}`;
  const zset = () => `z${r.int(2)}`;
  const lists = () => [...new Set(Array.from({ length: r.range(1, 3) }, list))];
  const zsets = () => [...new Set(Array.from({ length: r.range(1, 2) }, zset))];
  const t = r.pick(["0", "0", "100"]); // never expire during the run (timeouts are scripted)
  const end = () => r.pick(["LEFT", "RIGHT", "left"]);
  switch (r.int(8)) {
    case 0:
      return ["BLPOP", ...lists(), t];
    case 1:
      return ["BRPOP", ...lists(), t];
    case 2:
      return ["BLMOVE", list(), list(), end(), end(), t];
    case 3:
      return ["BRPOPLPUSH", list(), list(), t];
    case 4: {
      const ks = lists();
      return ["BLMPOP", t, String(ks.length), ...ks, end(), ...(r.int(2) ? ["COUNT", String(r.range(1, 3))] : [])];
    }
    case 5:
      return ["BZPOPMIN", ...zsets(), t];
    case 6:
      return ["BZPOPMAX", ...zsets(), t];
    default: {
      const ks = zsets();
      return ["BZMPOP", t, String(ks.length), ...ks, r.pick(["MIN", "MAX"]), ...(r.int(2) ? ["COUNT", String(r.range(1, 3))] : [])];
    }
  }
}

function writeCommands(r: Rng): Cmd[] {
  const list = () => `l${r.int(3)}`;
  const zset = () => `z${r.int(2)}`;
  const elems = () => Array.from({ length: r.range(1, 3) }, () => `e${r.int(20)}`);
  const one = (): Cmd => {
    switch (r.int(13)) {
      case 9:
        return ["SORT", list(), "ALPHA", "STORE", list()];
      case 10:
        return ["ZUNIONSTORE", zset(), "2", zset(), zset()];
      case 11:
        return ["COPY", list(), list()];
      case 12:
        // No random SWAPDB: when it readies several keys at once Redis serves them in its hash
        // table's order (scanDatabaseForReadyKeys), we in blocking order (a scripted step below).
        return ["ZRANGESTORE", zset(), zset(), "0", "-1"];
      case 0:
        return ["RPUSH", list(), ...elems()];
      case 1:
        return ["LPUSH", list(), ...elems()];
      case 2:
        return ["ZADD", zset(), ...elems().flatMap((e) => [String(r.range(-5, 5)), e])];
      case 3:
        return ["DEL", r.pick([list(), zset()])];
      case 4:
        return ["LMOVE", list(), list(), "LEFT", "RIGHT"];
      case 5:
        return ["SET", r.pick([list(), zset()]), "str"];
      case 6:
        return ["EVAL", "redis.call('rpush', KEYS[1], ARGV[1]) redis.call('zadd', KEYS[2], 1, ARGV[1]) return 1", "2", list(), zset(), `s${r.int(9)}`];
      case 7:
        return ["LRANGE", list(), "0", "-1"];
      default:
        return ["RENAME", list(), list()];
    }
  };
  if (r.int(4) === 0) return [["MULTI"], one(), one(), one(), ["EXEC"]];
  return [one()];
}

let redis: RedisServer;
let worker: TestWorker;

beforeAll(async () => {
  [redis, worker] = await Promise.all([startRedisServer(), startWorker()]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), worker?.dispose()]);
});

const rest = (db: string, node: string, argv: Cmd) => restCommand(worker, db, node, argv);

describe("blocking commands: differential against redis-server 7.0 with several connections", () => {
  it(`replies, blocked clients and DEBUG DIGEST equal for the scripted steps and ${STEPS} random ones (seed ${SEED})`, async () => {
    const db = `bdiff${SEED}`;
    expect((await rest(db, "r1", ["REPLICAOF", "master"])).result).toBe("OK");
    const url = `${worker.url.replace(/^http/, "ws")}/db/${db}/ws`;
    const connect = (side: "redis" | "ours") => (side === "redis" ? redis.connect() : connectWs(url, worker.token));
    const make = async (side: "redis" | "ours") =>
      new Side(side, await Promise.all(Array.from({ length: CLIENTS }, () => connect(side))), await connect(side));
    const [a, b] = await Promise.all([make("redis"), make("ours")]);
    const sides = [a, b];
    const mismatches: string[] = [];
    let steps = 0;
    /** Run one step on both sides (client i sends cmds), let them settle, compare. */
    const step = async (i: number, cmds: Cmd[], awaitReply = false) => {
      steps++;
      if (process.env.BLOCKING_DIFF_TRACE) console.log(`step ${steps}: c${i} ${cmds.map(showArgv).join(" ; ")}`);
      for (const s of sides) s.start(i, cmds);
      if (awaitReply) await Promise.all(sides.map((s) => s.pending[i]));
      const [ba, bb] = await Promise.all(sides.map((s) => s.settle(i)));
      const [ra, rb] = sides.map((s) => s.take());
      const show = (x: Set<number>) => [...x].sort().join(",");
      if (ra!.join("\n") !== rb!.join("\n") || show(ba!) !== show(bb!)) {
        mismatches.push(`step ${steps}: c${i} ${cmds.map(showArgv).join(" ; ")}\n    redis: ${ra!.join(" | ")} blocked [${show(ba!)}]\n    ours:  ${rb!.join(" | ")} blocked [${show(bb!)}]`);
      }
      return ba!;
    };
    try {
      await Promise.all(sides.map((s) => s.init()));
      await Promise.all(sides.map((s) => s.clients[0]!.call("FLUSHALL")));
      // --- scripted: FIFO, ready-key order, BLMOVE chains, wrong types, timeouts, MULTI ---
      await step(0, [["BLPOP", "a", "b", "0"]]);
      await step(1, [["BLPOP", "b", "a", "0"]]);
      await step(2, [["MULTI"], ["RPUSH", "b", "1"], ["RPUSH", "a", "2", "3"], ["EXEC"]]);
      await step(0, [["BLMOVE", "s", "d", "RIGHT", "LEFT", "0"]]);
      await step(1, [["BLPOP", "d", "0"]]);
      await step(2, [["BZPOPMIN", "d", "0"]]);
      await step(3, [["RPUSH", "s", "x", "y"]]);
      await step(3, [["ZADD", "d", "1", "m"]]);
      await step(0, [["SET", "str", "v"]]);
      await step(0, [["BLMOVE", "src2", "str", "LEFT", "RIGHT", "0"]]);
      await step(1, [["RPUSH", "src2", "v"]]); // c0 gets WRONGTYPE, src2 keeps v
      await step(0, [["BLPOP", "t", "0.02"]], true);
      await step(0, [["BZMPOP", "0.01", "1", "t", "MIN"]], true);
      await step(0, [["BLPOP", "t", "-1"]]);
      await step(0, [["BLMPOP", "x", "1", "t", "LEFT"]]);
      await step(0, [["BLMPOP", "0", "0", "t", "LEFT"]]);
      await step(0, [["MULTI"], ["BLPOP", "t", "0"], ["BLMOVE", "t", "u", "LEFT", "LEFT", "0"], ["EXEC"]]);
      await step(0, [["EVAL", "return redis.call('blmpop', '0', '1', KEYS[1], 'LEFT')", "1", "t"]]);
      await step(0, [["EVAL", "return redis.call('blpop', KEYS[1], '0')", "1", "t"]]);
      await step(0, [["BLPOP", "w", "0"]]);
      await step(1, [["CLIENT", "UNBLOCK", "0", "ERROR"]]);
      // SWAPDB brings a list under a blocked client (db 1's "w" becomes db 0's).
      await step(1, [["SELECT", "1"], ["RPUSH", "w", "from1"], ["SELECT", "0"]]);
      await step(1, [["SWAPDB", "0", "1"]]);
      await step(1, [["SWAPDB", "0", "1"]]);
      // --- random steps ---
      const r = new Rng(SEED);
      for (let n = 0; n < STEPS; n++) {
        const blocked = await sides[0]!.blocked();
        const idle = Array.from({ length: CLIENTS }, (_, i) => i).filter((i) => !blocked.has(i));
        if (idle.length === 0) {
          // Everyone waits: unblock one (ids differ per side, so each side names its own).
          const victim = r.pick([...blocked]);
          const how = r.pick(["TIMEOUT", "ERROR"]);
          steps++;
          const [ua, ub] = await Promise.all(sides.map((s) => s.control.call("CLIENT", "UNBLOCK", s.ids[victim]!, how)));
          const [ra, rb] = await Promise.all(sides.map(async (s) => (await s.settle(), s.take())));
          if (showReply(ua!) !== showReply(ub!) || ra!.join("\n") !== rb!.join("\n")) {
            mismatches.push(`step ${steps}: CLIENT UNBLOCK c${victim} ${how}\n    redis: ${showReply(ua!)} ${ra!.join(" | ")}\n    ours:  ${showReply(ub!)} ${rb!.join(" | ")}`);
          }
          continue;
        }
        const i = r.pick(idle);
        await step(i, r.int(5) < 2 ? [blockingCommand(r)] : writeCommands(r));
        if (mismatches.length > 20) break;
      }
      // Release whoever still waits, then compare the data.
      for (const s of sides) for (let i = 0; i < CLIENTS; i++) await s.control.call("CLIENT", "UNBLOCK", s.ids[i]!, "TIMEOUT");
      const [ra, rb] = await Promise.all(sides.map(async (s) => (await s.settle(), s.take())));
      if (ra!.join("\n") !== rb!.join("\n")) mismatches.push(`final unblock\n    redis: ${ra!.join(" | ")}\n    ours:  ${rb!.join(" | ")}`);
      console.log(`blocking differential: seed=${SEED}, ${steps} steps, ${mismatches.length} mismatches`);
      expect(mismatches, mismatches.slice(0, 20).join("\n")).toEqual([]);
      const [da, dm] = await Promise.all([a.control.call("DEBUG", "DIGEST"), b.control.send([["WAIT", "1", "10000"], ["DEBUG", "DIGEST"]]).then((x) => x[1]!)]);
      expect(text(dm)).toBe(text(da));
      expect(text(da)).not.toBe("0".repeat(40));
      expect((await rest(db, "r1", ["DEBUG", "DIGEST"])).result).toBe(text(da));
    } finally {
      await Promise.all(sides.flatMap((s) => [...s.clients, s.control].map((c) => c.close())));
      await rest(db, "r1", ["REPLICAOF", "NO", "ONE"]);
    }
  });
});
