/**
 * The command table (keyspace/table.ts) and the engine's checks made from it before a
 * command runs: unknown command, arity, key length, read-only token, replica mode.
 * Reference values recorded from redis-server 7.0.15 (`COMMAND INFO`, error replies).
 */
import { describe, expect, it } from "vitest";
import type { CommandFlag, CommandSpec } from "../../src/keyspace/command.ts";
import { COMMANDS, keyIndexes, TRANSACTION_COMMANDS } from "../../src/keyspace/table.ts";
import { KEY_BYTES_MAX } from "../../src/limits.ts";
import { NilArray, RedisError, type Reply, RespDouble, RespMap, RespSet, Simple } from "../../src/protocol/reply.ts";
import { str } from "../../src/util/bytes.ts";
import { type EngineHarness, withEngine } from "./harness.ts";

/** Replies as plain values: bulk → string, +OK → "+OK", error → { err }. */
function norm(r: Reply): unknown {
  if (r instanceof Uint8Array) return str(r);
  if (r instanceof Simple) return `+${r.s}`;
  if (r instanceof RedisError) return { err: r.msg };
  if (r instanceof NilArray) return "(nil array)";
  if (r instanceof RespDouble) return r.v;
  if (r instanceof RespSet) return r.items.map(norm);
  if (r instanceof RespMap) return r.entries.map(([k, v]) => [norm(k), norm(v)]);
  if (Array.isArray(r)) return r.map(norm);
  return r;
}

function run(h: EngineHarness, ...args: (string | number | Uint8Array)[]): unknown {
  return norm(h.run(...args));
}

/** The data set, as text, to show that a refused command changed nothing. */
function dump(h: EngineHarness): unknown {
  const keys = (h.run("keys", "*") as Uint8Array[]).map(str).sort();
  return keys.map((k) => [k, run(h, "type", k), run(h, "pttl", k), value(h, k)]);
}

function value(h: EngineHarness, k: string): unknown {
  switch (run(h, "type", k)) {
    case "+string":
      return run(h, "get", k);
    case "+list":
      return run(h, "lrange", k, 0, -1);
    case "+set":
      return (run(h, "smembers", k) as string[]).sort();
    case "+hash":
      return run(h, "hgetall", k);
    case "+zset":
      return run(h, "zrange", k, 0, -1, "withscores");
    default:
      return "?";
  }
}

const VALID_FLAGS: ReadonlySet<CommandFlag> = new Set<CommandFlag>([
  "write",
  "readonly",
  "pubsub",
  "loading",
  "admin",
  "noscript",
  "fast",
  "denyoom",
  "stale",
  "no-multi",
  "async",
  "blocking",
]);

/** Every command /work/shared/SPEC.md §2 lists (copied from there), lowercase. */
const SPEC_COMMANDS = {
  keys: "DEL UNLINK EXISTS TYPE EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL EXPIRETIME PERSIST KEYS SCAN RENAME RENAMENX DBSIZE FLUSHDB FLUSHALL SELECT RANDOMKEY COPY",
  strings:
    "GET SET SETNX SETEX PSETEX MGET MSET MSETNX GETSET GETDEL GETEX INCR INCRBY DECR DECRBY INCRBYFLOAT APPEND STRLEN GETRANGE SETRANGE",
  hashes: "HSET HSETNX HGET HMGET HMSET HDEL HEXISTS HLEN HKEYS HVALS HGETALL HINCRBY HINCRBYFLOAT HSTRLEN HSCAN HRANDFIELD",
  lists: "LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LREM LTRIM LINSERT LPOS LMOVE RPOPLPUSH",
  sets: "SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE SUNION SINTER SDIFF SUNIONSTORE SINTERSTORE SDIFFSTORE SSCAN",
  zsets:
    "ZADD ZREM ZSCORE ZMSCORE ZINCRBY ZCARD ZCOUNT ZRANGE ZRANGEBYSCORE ZREVRANGE ZREVRANGEBYSCORE ZRANK ZREVRANK ZPOPMIN ZPOPMAX ZREMRANGEBYRANK ZREMRANGEBYSCORE ZSCAN",
  server: "PING ECHO TIME INFO ROLE DBSIZE CONFIG COMMAND",
};
/** Transactions: handled by the engine itself rather than the table. */
const SPEC_TRANSACTION_COMMANDS = ["multi", "exec", "discard", "watch", "unwatch"];

/**
 * redis-server 7.0.15 `COMMAND INFO` for every command in our table:
 * [arity, firstKey, lastKey, step, flags among write/readonly/fast/denyoom].
 * (admin/stale are left out: Redis 7 puts them on the subcommands of CONFIG/CLIENT.)
 */
const REDIS_7_0_15: Record<string, [number, number, number, number, string]> = {
  del: [-2, 1, -1, 1, "write"],
  unlink: [-2, 1, -1, 1, "fast write"],
  exists: [-2, 1, -1, 1, "fast readonly"],
  type: [2, 1, 1, 1, "fast readonly"],
  expire: [-3, 1, 1, 1, "fast write"],
  pexpire: [-3, 1, 1, 1, "fast write"],
  expireat: [-3, 1, 1, 1, "fast write"],
  pexpireat: [-3, 1, 1, 1, "fast write"],
  ttl: [2, 1, 1, 1, "fast readonly"],
  pttl: [2, 1, 1, 1, "fast readonly"],
  expiretime: [2, 1, 1, 1, "fast readonly"],
  pexpiretime: [2, 1, 1, 1, "fast readonly"],
  persist: [2, 1, 1, 1, "fast write"],
  keys: [2, 0, 0, 0, "readonly"],
  scan: [-2, 0, 0, 0, "readonly"],
  randomkey: [1, 0, 0, 0, "readonly"],
  rename: [3, 1, 2, 1, "write"],
  renamenx: [3, 1, 2, 1, "fast write"],
  copy: [-3, 1, 2, 1, "denyoom write"],
  move: [3, 1, 1, 1, "fast write"],
  select: [2, 0, 0, 0, "fast"],
  dbsize: [1, 0, 0, 0, "fast readonly"],
  flushdb: [-1, 0, 0, 0, "write"],
  flushall: [-1, 0, 0, 0, "write"],
  get: [2, 1, 1, 1, "fast readonly"],
  set: [-3, 1, 1, 1, "denyoom write"],
  setnx: [3, 1, 1, 1, "denyoom fast write"],
  setex: [4, 1, 1, 1, "denyoom write"],
  psetex: [4, 1, 1, 1, "denyoom write"],
  mget: [-2, 1, -1, 1, "fast readonly"],
  mset: [-3, 1, -1, 2, "denyoom write"],
  msetnx: [-3, 1, -1, 2, "denyoom write"],
  getset: [3, 1, 1, 1, "denyoom fast write"],
  getdel: [2, 1, 1, 1, "fast write"],
  getex: [-2, 1, 1, 1, "fast write"],
  incr: [2, 1, 1, 1, "denyoom fast write"],
  decr: [2, 1, 1, 1, "denyoom fast write"],
  incrby: [3, 1, 1, 1, "denyoom fast write"],
  decrby: [3, 1, 1, 1, "denyoom fast write"],
  incrbyfloat: [3, 1, 1, 1, "denyoom fast write"],
  append: [3, 1, 1, 1, "denyoom fast write"],
  strlen: [2, 1, 1, 1, "fast readonly"],
  getrange: [4, 1, 1, 1, "readonly"],
  setrange: [4, 1, 1, 1, "denyoom write"],
  hset: [-4, 1, 1, 1, "denyoom fast write"],
  hsetnx: [4, 1, 1, 1, "denyoom fast write"],
  hget: [3, 1, 1, 1, "fast readonly"],
  hmget: [-3, 1, 1, 1, "fast readonly"],
  hmset: [-4, 1, 1, 1, "denyoom fast write"],
  hdel: [-3, 1, 1, 1, "fast write"],
  hexists: [3, 1, 1, 1, "fast readonly"],
  hlen: [2, 1, 1, 1, "fast readonly"],
  hkeys: [2, 1, 1, 1, "readonly"],
  hvals: [2, 1, 1, 1, "readonly"],
  hgetall: [2, 1, 1, 1, "readonly"],
  hincrby: [4, 1, 1, 1, "denyoom fast write"],
  hincrbyfloat: [4, 1, 1, 1, "denyoom fast write"],
  hstrlen: [3, 1, 1, 1, "fast readonly"],
  hscan: [-3, 1, 1, 1, "readonly"],
  hrandfield: [-2, 1, 1, 1, "readonly"],
  lpush: [-3, 1, 1, 1, "denyoom fast write"],
  rpush: [-3, 1, 1, 1, "denyoom fast write"],
  lpushx: [-3, 1, 1, 1, "denyoom fast write"],
  rpushx: [-3, 1, 1, 1, "denyoom fast write"],
  lpop: [-2, 1, 1, 1, "fast write"],
  rpop: [-2, 1, 1, 1, "fast write"],
  llen: [2, 1, 1, 1, "fast readonly"],
  lrange: [4, 1, 1, 1, "readonly"],
  lindex: [3, 1, 1, 1, "readonly"],
  lset: [4, 1, 1, 1, "denyoom write"],
  lrem: [4, 1, 1, 1, "write"],
  ltrim: [4, 1, 1, 1, "write"],
  linsert: [5, 1, 1, 1, "denyoom write"],
  lpos: [-3, 1, 1, 1, "readonly"],
  lmove: [5, 1, 2, 1, "denyoom write"],
  rpoplpush: [3, 1, 2, 1, "denyoom write"],
  sadd: [-3, 1, 1, 1, "denyoom fast write"],
  srem: [-3, 1, 1, 1, "fast write"],
  smembers: [2, 1, 1, 1, "readonly"],
  sismember: [3, 1, 1, 1, "fast readonly"],
  smismember: [-3, 1, 1, 1, "fast readonly"],
  scard: [2, 1, 1, 1, "fast readonly"],
  spop: [-2, 1, 1, 1, "fast write"],
  srandmember: [-2, 1, 1, 1, "readonly"],
  smove: [4, 1, 2, 1, "fast write"],
  sunion: [-2, 1, -1, 1, "readonly"],
  sinter: [-2, 1, -1, 1, "readonly"],
  sdiff: [-2, 1, -1, 1, "readonly"],
  sunionstore: [-3, 1, -1, 1, "denyoom write"],
  sinterstore: [-3, 1, -1, 1, "denyoom write"],
  sdiffstore: [-3, 1, -1, 1, "denyoom write"],
  sscan: [-3, 1, 1, 1, "readonly"],
  zadd: [-4, 1, 1, 1, "denyoom fast write"],
  zincrby: [4, 1, 1, 1, "denyoom fast write"],
  zrem: [-3, 1, 1, 1, "fast write"],
  zscore: [3, 1, 1, 1, "fast readonly"],
  zmscore: [-3, 1, 1, 1, "fast readonly"],
  zcard: [2, 1, 1, 1, "fast readonly"],
  zcount: [4, 1, 1, 1, "fast readonly"],
  zrange: [-4, 1, 1, 1, "readonly"],
  zrangebyscore: [-4, 1, 1, 1, "readonly"],
  zrevrange: [-4, 1, 1, 1, "readonly"],
  zrevrangebyscore: [-4, 1, 1, 1, "readonly"],
  zrangebylex: [-4, 1, 1, 1, "readonly"],
  zrevrangebylex: [-4, 1, 1, 1, "readonly"],
  zrank: [3, 1, 1, 1, "fast readonly"],
  zrevrank: [3, 1, 1, 1, "fast readonly"],
  zpopmin: [-2, 1, 1, 1, "fast write"],
  zpopmax: [-2, 1, 1, 1, "fast write"],
  zremrangebyrank: [4, 1, 1, 1, "write"],
  zremrangebyscore: [4, 1, 1, 1, "write"],
  zscan: [-3, 1, 1, 1, "readonly"],
  // Scripting (redis-cli command info eval evalsha eval_ro evalsha_ro script fcall fcall_ro function, 7.0.15): keys are movable (numkeys).
  eval: [-3, 0, 0, 0, ""],
  evalsha: [-3, 0, 0, 0, ""],
  eval_ro: [-3, 0, 0, 0, "readonly"],
  evalsha_ro: [-3, 0, 0, 0, "readonly"],
  script: [-2, 0, 0, 0, ""],
  fcall: [-3, 0, 0, 0, ""],
  fcall_ro: [-3, 0, 0, 0, "readonly"],
  function: [-2, 0, 0, 0, ""],
  ping: [-1, 0, 0, 0, "fast"],
  echo: [2, 0, 0, 0, "fast"],
  time: [1, 0, 0, 0, "fast"],
  info: [-1, 0, 0, 0, ""],
  command: [-1, 0, 0, 0, ""],
  config: [-2, 0, 0, 0, ""],
  debug: [-2, 0, 0, 0, ""],
  role: [1, 0, 0, 0, "fast"],
  replicaof: [3, 0, 0, 0, ""],
  failover: [-1, 0, 0, 0, ""],
  slaveof: [3, 0, 0, 0, ""],
  client: [-2, 0, 0, 0, ""],
  wait: [3, 0, 0, 0, ""],
  hello: [-1, 0, 0, 0, "fast"],
  quit: [-1, 0, 0, 0, "fast"],
  reset: [1, 0, 0, 0, "fast"],
  lastsave: [1, 0, 0, 0, "fast"],
  monitor: [1, 0, 0, 0, ""],
  subscribe: [-2, 0, 0, 0, ""],
  psubscribe: [-2, 0, 0, 0, ""],
  unsubscribe: [-1, 0, 0, 0, ""],
  punsubscribe: [-1, 0, 0, 0, ""],
  publish: [3, 0, 0, 0, "fast"],
  pubsub: [-2, 0, 0, 0, ""],
  ssubscribe: [-2, 1, -1, 1, ""],
  sunsubscribe: [-1, 1, -1, 1, ""],
  spublish: [3, 1, 1, 1, "fast"],
  auth: [-2, 0, 0, 0, "fast"],
  // Issue 11 item 2 (redis-cli -p 16500 COMMAND INFO … against redis-server 7.0.15).
  zunion: [-3, 0, 0, 0, "readonly"],
  zinter: [-3, 0, 0, 0, "readonly"],
  zdiff: [-3, 0, 0, 0, "readonly"],
  zunionstore: [-4, 1, 1, 1, "denyoom write"],
  zinterstore: [-4, 1, 1, 1, "denyoom write"],
  zdiffstore: [-4, 1, 1, 1, "denyoom write"],
  zintercard: [-3, 0, 0, 0, "readonly"],
  zrangestore: [-5, 1, 2, 1, "denyoom write"],
  zmpop: [-4, 0, 0, 0, "write"],
  geoadd: [-5, 1, 1, 1, "denyoom write"],
  geodist: [-4, 1, 1, 1, "readonly"],
  geohash: [-2, 1, 1, 1, "readonly"],
  geopos: [-2, 1, 1, 1, "readonly"],
  geosearch: [-7, 1, 1, 1, "readonly"],
  geosearchstore: [-8, 1, 2, 1, "denyoom write"],
  georadius: [-6, 1, 1, 1, "denyoom write"],
  georadius_ro: [-6, 1, 1, 1, "readonly"],
  georadiusbymember: [-5, 1, 1, 1, "denyoom write"],
  georadiusbymember_ro: [-5, 1, 1, 1, "readonly"],
  zrandmember: [-2, 1, 1, 1, "readonly"],
  zlexcount: [4, 1, 1, 1, "fast readonly"],
  zremrangebylex: [4, 1, 1, 1, "write"],
  lmpop: [-4, 0, 0, 0, "write"],
  sintercard: [-3, 0, 0, 0, "readonly"],
  lcs: [-3, 1, 2, 1, "readonly"],
  substr: [4, 1, 1, 1, "readonly"],
  touch: [-2, 1, -1, 1, "fast readonly"],
  swapdb: [3, 0, 0, 0, "fast write"],
  object: [-2, 0, 0, 0, ""],
  memory: [-2, 0, 0, 0, ""],
  dump: [2, 1, 1, 1, "readonly"],
  restore: [-4, 1, 1, 1, "denyoom write"],
  sort: [-2, 1, 1, 1, "denyoom write"],
  sort_ro: [-2, 1, 1, 1, "readonly"],
  setbit: [4, 1, 1, 1, "denyoom write"],
  getbit: [3, 1, 1, 1, "fast readonly"],
  bitcount: [-2, 1, 1, 1, "readonly"],
  bitpos: [-3, 1, 1, 1, "readonly"],
  bitop: [-4, 2, -1, 1, "denyoom write"],
  bitfield: [-2, 1, 1, 1, "denyoom write"],
  bitfield_ro: [-2, 1, 1, 1, "fast readonly"],
  pfadd: [-2, 1, 1, 1, "denyoom fast write"],
  pfcount: [-2, 1, -1, 1, "readonly"],
  pfmerge: [-2, 1, -1, 1, "denyoom write"],
  // redis-cli command info blpop brpop brpoplpush blmove blmpop bzpopmin bzpopmax bzmpop (7.0.15)
  blpop: [-3, 1, -2, 1, "write"],
  brpop: [-3, 1, -2, 1, "write"],
  brpoplpush: [4, 1, 2, 1, "denyoom write"],
  blmove: [6, 1, 2, 1, "denyoom write"],
  blmpop: [-5, 0, 0, 0, "write"],
  bzpopmin: [-3, 1, -2, 1, "fast write"],
  bzpopmax: [-3, 1, -2, 1, "fast write"],
  bzmpop: [-5, 0, 0, 0, "write"],
  // redis-cli command info slowlog latency module cluster readonly readwrite asking (7.0.15)
  slowlog: [-2, 0, 0, 0, ""],
  latency: [-2, 0, 0, 0, ""],
  module: [-2, 0, 0, 0, ""],
  cluster: [-2, 0, 0, 0, ""],
  readonly: [1, 0, 0, 0, "fast"],
  readwrite: [1, 0, 0, 0, "fast"],
  asking: [1, 0, 0, 0, "fast"],
};

const specs = [...COMMANDS.values()];
/**
 * Commands whose key positions name data keys. Sharded pub/sub (SSUBSCRIBE, SUNSUBSCRIBE,
 * SPUBLISH) declares its channels as keys too (Redis 7.0's `not_key` key specs, for cluster slot
 * routing): they neither read nor write, and SUNSUBSCRIBE may have none.
 */
const specsWithKeys = specs.filter((s) => s.firstKey > 0 && !s.flags.includes("pubsub"));

describe("command table: shape of every entry", () => {
  it.each(specs.map((s) => [s.name, s] as const))("%s", (_name, s: CommandSpec) => {
    expect(s.name).toBe(s.name.toLowerCase());
    expect(s.name).toMatch(/^[a-z][a-z0-9_-]*$/); // sort_ro, as Redis spells it
    expect(COMMANDS.get(s.name)).toBe(s);
    expect(Number.isInteger(s.arity) && s.arity !== 0).toBe(true);
    for (const f of s.flags) expect(VALID_FLAGS.has(f), `flag ${f}`).toBe(true);
    expect(new Set(s.flags).size).toBe(s.flags.length);
    expect(s.flags.includes("write") && s.flags.includes("readonly")).toBe(false);
    expect(typeof s.handler).toBe("function");
    for (const v of [s.firstKey, s.lastKey, s.step]) expect(Number.isInteger(v)).toBe(true);
    expect(s.firstKey).toBeGreaterThanOrEqual(0);
    if (s.firstKey === 0) {
      expect([s.lastKey, s.step]).toEqual([0, 0]);
    } else if (s.flags.includes("pubsub")) {
      // Shard channels as keys (see specsWithKeys): positions valid, no data access.
      expect([s.step, s.lastKey !== 0]).toEqual([1, true]);
      expect(s.flags.some((f) => f === "write" || f === "readonly")).toBe(false);
    } else {
      expect(s.step).toBeGreaterThanOrEqual(1);
      expect(s.lastKey).not.toBe(0);
      if (s.lastKey > 0) expect(s.firstKey).toBeLessThanOrEqual(s.lastKey);
      // The first key must fit within the minimal argument count; a fixed arity holds the last key too.
      expect(s.firstKey).toBeLessThan(Math.abs(s.arity));
      if (s.arity > 0 && s.lastKey > 0) expect(s.lastKey).toBeLessThan(s.arity);
      // A data command with keys either writes or reads, never both nor neither.
      expect(s.flags.filter((f) => f === "write" || f === "readonly").length).toBe(1);
    }
  });

  it("covers every command with keys (sanity of the filter)", () => {
    expect(specsWithKeys.length).toBeGreaterThan(90);
  });
});

describe("command table: keyIndexes", () => {
  const spec = (n: string) => COMMANDS.get(n)!;
  it.each([
    ["get", 2, [1]],
    ["set", 5, [1]],
    ["del", 4, [1, 2, 3]],
    ["mget", 2, [1]],
    ["mset", 5, [1, 3]],
    ["mset", 7, [1, 3, 5]],
    ["msetnx", 3, [1]],
    ["rename", 3, [1, 2]],
    ["lmove", 5, [1, 2]],
    ["blpop", 4, [1, 2]],
    ["bzpopmin", 3, [1]],
    ["smove", 4, [1, 2]],
    ["sunionstore", 4, [1, 2, 3]],
    ["copy", 5, [1, 2]],
    ["ping", 2, []],
    ["keys", 2, []],
    ["scan", 6, []],
    ["flushall", 2, []],
  ] as const)("%s with %i arguments → %j", (name, argc, want) => {
    expect(keyIndexes(spec(name), argc)).toEqual(want);
  });

  it("every command with keys, at its minimal argument count, names valid argument positions", () => {
    for (const s of specsWithKeys) {
      for (const argc of [Math.abs(s.arity), Math.abs(s.arity) + 1, Math.abs(s.arity) + 4]) {
        if (s.arity > 0 && argc !== s.arity) continue;
        const idx = keyIndexes(s, argc);
        expect(idx.length, `${s.name} argc ${argc}`).toBeGreaterThan(0);
        expect(idx[0]).toBe(s.firstKey);
        for (const i of idx) {
          expect(i, s.name).toBeGreaterThanOrEqual(1);
          expect(i, s.name).toBeLessThan(argc);
        }
      }
    }
  });
});

describe("command table: matches the specification and redis-server 7.0.15", () => {
  it.each(Object.entries(SPEC_COMMANDS))("SPEC §2 %s commands are all in the table", (_group, list) => {
    const missing = list
      .split(/\s+/)
      .map((n) => n.toLowerCase())
      .filter((n) => !COMMANDS.has(n));
    expect(missing).toEqual([]);
  });

  it("SPEC §2 transaction commands are handled by the engine", async () => {
    await withEngine((h) => {
      expect(run(h, "watch", "k")).toBe("+OK");
      expect(run(h, "unwatch")).toBe("+OK");
      expect(run(h, "multi")).toBe("+OK");
      expect(run(h, "discard")).toBe("+OK");
      expect(run(h, "multi")).toBe("+OK");
      expect(run(h, "set", "k", "v")).toBe("+QUEUED");
      expect(run(h, "exec")).toEqual(["+OK"]);
      for (const n of SPEC_TRANSACTION_COMMANDS) {
        const r = h.run(n, "x", "y");
        // Each is known: wrong arity (or WATCH working), never "unknown command".
        expect(r instanceof RedisError ? r.msg : "").not.toMatch(/unknown command/);
      }
    });
  });

  it("every table entry agrees with redis-server 7.0.15 on arity, key positions and flags", () => {
    const ours: Record<string, [number, number, number, number, string]> = {};
    for (const s of specs) {
      const flags = s.flags.filter((f) => f === "write" || f === "readonly" || f === "fast" || f === "denyoom");
      ours[s.name] = [s.arity, s.firstKey, s.lastKey, s.step, [...flags].sort().join(" ")];
    }
    // One deliberate difference: REPLICAOF/SLAVEOF take a node name with the port optional
    // (SPEC §5's contract is `["REPLICAOF","master"]`); Redis's arity is 3.
    expect(ours).toEqual({ ...REDIS_7_0_15, replicaof: [-2, 0, 0, 0, ""], slaveof: [-2, 0, 0, 0, ""] });
  });

  it("REPLICAOF takes a node name with the port optional, and at most one more argument", async () => {
    await withEngine((h) => {
      expect(run(h, "replicaof", "a", "b", "c")).toEqual({ err: "ERR wrong number of arguments for 'replicaof' command" });
      expect(run(h, "replicaof", "bad name!")).toEqual({ err: "ERR Invalid node name" });
    });
  });

  it("COMMAND COUNT equals the table size; COMMAND COUNT x is an arity error", async () => {
    await withEngine((h) => {
      expect(run(h, "command", "count")).toBe(COMMANDS.size + TRANSACTION_COMMANDS.length);
      expect(run(h, "COMMAND", "COUNT")).toBe(COMMANDS.size + TRANSACTION_COMMANDS.length);
      expect(run(h, "command", "count", "x")).toEqual({ err: "ERR wrong number of arguments for 'command|count' command" });
      expect((h.run("command") as Reply[]).length).toBe(COMMANDS.size + TRANSACTION_COMMANDS.length);
      expect((h.run("command", "list") as Reply[]).length).toBe(COMMANDS.size + TRANSACTION_COMMANDS.length);
    });
  });

  it("COMMAND INFO get set mset zadd answers like redis-server 7.0.15", async () => {
    await withEngine((h) => {
      const r = run(h, "command", "info", "get", "set", "mset", "zadd", "nosuch") as unknown[][];
      // redis-cli -p 6431 command info get set mset zadd (7.0.15): name, arity, flags, first, last, step.
      const want = [
        ["get", 2, ["+readonly", "+fast"], 1, 1, 1],
        ["set", -3, ["+write", "+denyoom"], 1, 1, 1],
        ["mset", -3, ["+write", "+denyoom"], 1, -1, 2],
        ["zadd", -4, ["+write", "+denyoom", "+fast"], 1, 1, 1],
      ];
      expect(r.length).toBe(5);
      for (let i = 0; i < want.length; i++) {
        const [name, arity, flags, first, last, step] = want[i]!;
        const got = r[i]!;
        expect(got.slice(0, 2)).toEqual([name, arity]);
        expect([...(got[2] as string[])].sort()).toEqual([...(flags as string[])].sort());
        expect(got.slice(3, 6)).toEqual([first, last, step]);
        // Redis 7 replies have 10 fields (ACL categories, tips, key specs, subcommands follow).
        expect(got.length).toBe(10);
      }
      expect(r[4]).toBeNull();
      // Names are case-insensitive.
      expect((run(h, "command", "info", "GET") as unknown[][])[0]![0]).toBe("get");
    });
  });

  // redis-server 7.0.15: COMMAND INFO multi → ["multi", 1, [noscript loading stale fast allow_busy], 0, 0, 0, …];
  // COMMAND COUNT includes them. Here the transaction commands live in the engine, not the table,
  // so COMMAND INFO answers nil for them. Known gap; flip to `it` when the table lists them.
  it("COMMAND INFO multi exec discard watch unwatch are not nil (as in Redis)", async () => {
    await withEngine((h) => {
      const r = h.run("command", "info", ...SPEC_TRANSACTION_COMMANDS) as Reply[];
      expect(r.filter((x) => x === null)).toEqual([]);
    });
  });
});

describe("engine checks made from the table", () => {
  it("unknown command: Redis 7.0's message quoting the first arguments", async () => {
    await withEngine((h) => {
      expect(run(h, "foo", "a", "b")).toEqual({ err: "ERR unknown command 'foo', with args beginning with: 'a' 'b' " });
      expect(run(h, "foo")).toEqual({ err: "ERR unknown command 'foo', with args beginning with: " });
      expect(run(h, "FOO")).toEqual({ err: "ERR unknown command 'FOO', with args beginning with: " });
      // Truncation, as redis-server 7.0.15 answers (args text stops once it reaches 128 bytes).
      const a200 = "a".repeat(200);
      expect(run(h, "foo", a200)).toEqual({
        err: `ERR unknown command 'foo', with args beginning with: '${"a".repeat(128)}' `,
      });
      const b60 = "b".repeat(60);
      expect(run(h, "foo", b60, b60, b60, "x")).toEqual({
        err: `ERR unknown command 'foo', with args beginning with: '${b60}' '${b60}' 'bb' `,
      });
      expect(run(h, "c".repeat(150), "x")).toEqual({
        err: `ERR unknown command '${"c".repeat(128)}', with args beginning with: 'x' `,
      });
      expect(h.stream().length).toBe(0);
    });
  });

  it("wrong arity: ERR wrong number of arguments, with the lowercase name", async () => {
    await withEngine((h) => {
      expect(run(h, "get")).toEqual({ err: "ERR wrong number of arguments for 'get' command" });
      expect(run(h, "GET", "a", "b")).toEqual({ err: "ERR wrong number of arguments for 'get' command" });
      expect(run(h, "set", "k")).toEqual({ err: "ERR wrong number of arguments for 'set' command" });
      expect(run(h, "mset", "k")).toEqual({ err: "ERR wrong number of arguments for 'mset' command" });
      expect(run(h, "zadd", "z", "1")).toEqual({ err: "ERR wrong number of arguments for 'zadd' command" });
      expect(run(h, "dbsize")).toBe(0);
      expect(h.stream().length).toBe(0);
    });
  });

  it("every table entry refuses one argument too few (or too many for a fixed arity)", async () => {
    await withEngine((h) => {
      for (const s of specs) {
        const min = Math.abs(s.arity);
        const tooFew = min - 1;
        if (tooFew >= 1) {
          const argv = [s.name, ...Array.from({ length: tooFew - 1 }, (_, i) => `a${i}`)];
          expect(run(h, ...argv), `${s.name} with ${tooFew}`).toEqual({ err: `ERR wrong number of arguments for '${s.name}' command` });
        }
        if (s.arity > 0) {
          const argv = [s.name, ...Array.from({ length: s.arity }, (_, i) => `a${i}`)];
          expect(run(h, ...argv), `${s.name} with ${s.arity + 1}`).toEqual({ err: `ERR wrong number of arguments for '${s.name}' command` });
        }
      }
      expect(run(h, "dbsize")).toBe(0);
      expect(h.stream().length).toBe(0);
    });
  });

  it("read-only session: writes answer NOPERM and change nothing; reads work", async () => {
    await withEngine((h) => {
      h.run("set", "k", "v1");
      h.run("rpush", "l", "a", "b");
      h.run("pexpire", "l", 100_000);
      const before = dump(h);
      const streamBefore = h.stream().length;
      h.session.readOnlyToken = true;
      const writes: (string | number)[][] = [
        ["set", "k", "v2"],
        ["SET", "new", "x"],
        ["del", "k"],
        ["rpush", "l", "c"],
        ["persist", "l"],
        ["flushall"],
        ["flushdb"],
        ["rename", "k", "k2"],
        ["incr", "n"],
      ];
      for (const w of writes) {
        const name = String(w[0]).toLowerCase();
        expect(run(h, ...w), name).toEqual({ err: `NOPERM this user has no permissions to run the '${name}' command` });
      }
      expect(run(h, "get", "k")).toBe("v1");
      expect(run(h, "lrange", "l", 0, -1)).toEqual(["a", "b"]);
      expect(run(h, "dbsize")).toBe(2);
      // Inside MULTI: the write is refused when queued and EXEC aborts.
      expect(run(h, "multi")).toBe("+OK");
      expect(run(h, "set", "k", "v3")).toEqual({ err: "NOPERM this user has no permissions to run the 'set' command" });
      expect(run(h, "exec")).toEqual({ err: "EXECABORT Transaction discarded because of previous errors." });
      h.session.readOnlyToken = false;
      expect(dump(h)).toEqual(before);
      expect(h.stream().length).toBe(streamBefore);
    });
  });

  it("replica mode: writes answer READONLY and change nothing; reads work; the master link still writes", async () => {
    await withEngine((h) => {
      h.run("set", "k", "v1");
      h.run("sadd", "s", "m");
      const before = dump(h);
      const streamBefore = h.stream().length;
      h.engine.replicaMode = true;
      for (const w of [["set", "k", "v2"], ["del", "k"], ["sadd", "s", "n"], ["flushall"], ["expire", "k", "10"], ["getdel", "k"]]) {
        expect(run(h, ...w), w[0]).toEqual({ err: "READONLY You can't write against a read only replica." });
      }
      expect(run(h, "get", "k")).toBe("v1");
      expect(run(h, "smembers", "s")).toEqual(["m"]);
      expect(run(h, "exists", "k", "s", "nope")).toBe(2);
      expect(run(h, "ttl", "k")).toBe(-1);
      expect(run(h, "ping")).toBe("+PONG");
      expect(dump(h)).toEqual(before);
      expect(h.stream().length).toBe(streamBefore);
      // The replication link's writes are applied on a replica.
      h.session.isMasterLink = true;
      expect(run(h, "set", "k", "from-master")).toBe("+OK");
      h.session.isMasterLink = false;
      expect(run(h, "get", "k")).toBe("from-master");
      h.engine.replicaMode = false;
      expect(run(h, "set", "k", "v3")).toBe("+OK");
    });
  });

  it("replica with a down link and replica-serve-stale-data no: MASTERDOWN except for stale commands", async () => {
    await withEngine((h) => {
      h.run("set", "k", "v");
      h.engine.replicaMode = true;
      h.engine.masterDown = true;
      const masterDown = { err: "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'." };
      expect(run(h, "get", "k")).toEqual(masterDown);
      expect(run(h, "dbsize")).toEqual(masterDown);
      expect(run(h, "echo", "x")).toEqual(masterDown); // ECHO has no "stale" flag in Redis 7.0
      expect(run(h, "command", "count")).toBe(COMMANDS.size + TRANSACTION_COMMANDS.length);
      h.engine.masterDown = false;
      expect(run(h, "get", "k")).toBe("v");
    });
  });

  // redis-server 7.0.15 (--replicaof a dead master, --replica-serve-stale-data no) answers PING
  // with MASTERDOWN: PING has no "stale" flag in 7.0. Here ping is flagged stale and answers PONG.
  // Known deviation; flip to `it` if it is fixed.
  it("stale replica: PING answers MASTERDOWN as in redis-server 7.0.15", async () => {
    await withEngine((h) => {
      h.engine.replicaMode = true;
      h.engine.masterDown = true;
      expect(run(h, "ping")).toEqual({ err: "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'." });
    });
  });

  it("a key longer than 64 KiB is refused with a clear error and nothing changes", async () => {
    await withEngine((h) => {
      const tooLong = "k".repeat(KEY_BYTES_MAX + 1);
      const longest = "k".repeat(KEY_BYTES_MAX);
      const msg = { err: `ERR key exceeds the limit of ${KEY_BYTES_MAX} bytes` };
      h.run("set", "a", "1");
      const before = dump(h);
      const streamBefore = h.stream().length;
      expect(run(h, "set", tooLong, "v")).toEqual(msg);
      expect(run(h, "get", tooLong)).toEqual(msg);
      // The long key is not the first one: every key position is checked before anything runs.
      expect(run(h, "mset", "b", "2", tooLong, "3")).toEqual(msg);
      expect(run(h, "del", "a", tooLong)).toEqual(msg);
      expect(run(h, "rename", "a", tooLong)).toEqual(msg);
      expect(run(h, "sunionstore", "dst", "a", tooLong)).toEqual(msg);
      expect(run(h, "hset", tooLong, "f", "v")).toEqual(msg);
      expect(dump(h)).toEqual(before);
      expect(h.stream().length).toBe(streamBefore);
      // Exactly 64 KiB is fine; a long VALUE at a non-key position of MSET is not a key.
      expect(run(h, "set", longest, "v")).toBe("+OK");
      expect(run(h, "mset", "c", tooLong)).toBe("+OK");
      expect(run(h, "strlen", "c")).toBe(KEY_BYTES_MAX + 1);
      expect(run(h, "dbsize")).toBe(3);
    });
  });
});
