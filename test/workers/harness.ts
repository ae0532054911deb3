/**
 * Drive the Engine directly over a real Durable Object's SQLite storage, for command-level
 * tests: a fresh object per call (unique name), no WebSocket or REST in the way.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { newSession, type NodeServices, type Session } from "../../src/keyspace/command.ts";
import { Engine, type StreamSink } from "../../src/keyspace/engine.ts";
import { NilArray, RedisError, type Reply, RespDouble, Simple } from "../../src/protocol/reply.ts";
import { RespParser } from "../../src/protocol/resp.ts";
import { str, utf8 } from "../../src/util/bytes.ts";

let counter = 0;

export interface EngineHarness {
  engine: Engine;
  session: Session;
  /** Run one command; string arguments are UTF-8 encoded. */
  run(...args: (string | number | Uint8Array)[]): Reply;
  /** Everything propagated so far, as one byte string. */
  stream(): Uint8Array;
  /** Move the engine's clock (ms). */
  setNow(ms: number): void;
}

export const stubServices: NodeServices = {
  infoSection: () => null,
  role: () => [utf8("master"), 0, []],
  configGet: () => [],
  configSet: () => "ERR unsupported in the harness",
  resetStats: () => {},
  debugEnabled: () => true,
  debugRestart: async () => null,
  debugPopulate: () => new RedisError("ERR unsupported in the harness"),
  debugFault: () => null,
  replicaOf: async () => null,
  replicaOfOutside: async () => null,
  clientKill: () => 0,
  wait: async () => 0,
  waitNow: () => 0,
  replOffset: () => 0,
  isReplica: () => false,
  runId: () => "0".repeat(40),
  checkToken: async (t) => (t === "rw" ? "read-write" : t === "ro" ? "read-only" : null),
};

/** Run `fn` with an engine over fresh storage inside a Durable Object. */
export async function withEngine(fn: (h: EngineHarness) => void | Promise<void>): Promise<void> {
  const stub = env.NODES.get(env.NODES.idFromName(`harness-${Date.now()}-${counter++}`));
  await runInDurableObject(stub, async (_obj: unknown, state: DurableObjectState) => {
    const chunks: Uint8Array[] = [];
    const sink: StreamSink = { feed: (b) => chunks.push(b) };
    let now = Date.now();
    const engine = new Engine(state.storage.sql, { sink, clock: () => now });
    engine.node = stubServices;
    const session = newSession();
    const h: EngineHarness = {
      engine,
      session,
      run: (...args) => {
        const argv = args.map((a) => (a instanceof Uint8Array ? a : utf8(String(a))));
        const r = engine.execute(session, argv);
        if (r instanceof Promise) throw new Error("async command in the harness");
        session.outputBytes = 0; // as a transport that sent the reply
        return r;
      },
      stream: () => {
        let n = 0;
        for (const c of chunks) n += c.length;
        const out = new Uint8Array(n);
        let o = 0;
        for (const c of chunks) {
          out.set(c, o);
          o += c.length;
        }
        return out;
      },
      setNow: (ms) => {
        now = ms;
      },
    };
    await fn(h);
  });
}

/** Replies as plain JSON-able values: bulk → string, +OK → "+OK", error → { err }. */
export function norm(r: Reply): unknown {
  if (r instanceof Uint8Array) return str(r);
  if (r instanceof Simple) return `+${r.s}`;
  if (r instanceof RedisError) return { err: r.msg };
  if (r instanceof NilArray) return "(nil array)";
  if (r instanceof RespDouble) return r.v;
  if (Array.isArray(r)) return r.map(norm);
  return r;
}

/** Run one command and normalize its reply (see norm). */
export function run(h: EngineHarness, ...args: (string | number)[]): unknown {
  return norm(h.run(...args));
}

/** Stream bytes decoded into commands. */
export function decodeCommands(bytes: Uint8Array): string[][] {
  const p = new RespParser("request");
  p.push(bytes);
  const out: string[][] = [];
  for (let c = p.next(); c !== undefined; c = p.next()) out.push((c as Uint8Array[]).map(str));
  return out;
}

/** Everything the engine propagated so far, decoded. */
export function stream(h: EngineHarness): string[][] {
  return decodeCommands(h.stream());
}

/**
 * A Durable Object's SQLite handle that reports every statement to `onExec` before running it
 * (tests that count statements, rows or bytes a command costs).
 */
export function countingSql(real: SqlStorage, onExec: (query: string, binds: unknown[]) => void): SqlStorage {
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "exec") {
        return (query: string, ...binds: unknown[]) => {
          onExec(query, binds);
          return target.exec(query, ...(binds as SqlStorageValue[]));
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
