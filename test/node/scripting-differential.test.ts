/**
 * Differential test of Lua scripting: the same scripts (hand-written and generated from a
 * seed) sent to a real redis-server 7.0 over TCP and to our master over RESP/WebSocket;
 * every reply must be equal, error texts included, and DEBUG DIGEST must then be equal on
 * redis-server, our master and our replica (scripts replicate as effects).
 *
 *   npx vitest run --project node test/node/scripting-differential.test.ts
 *   SCRIPT_DIFF_SEED=123 …   replay a seed (printed by every run)
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomSeed, showArgv, showReply } from "./support/command-gen.ts";
import { type RedisServer, startRedisServer } from "./support/redis-server.ts";
import { connectWs, type RespClient, type RespValue } from "./support/resp-client.ts";
import { restCommand, startWorker, type TestWorker } from "./support/worker.ts";

const SEED = process.env.SCRIPT_DIFF_SEED !== undefined ? Number(process.env.SCRIPT_DIFF_SEED) >>> 0 : randomSeed();
/** Generated scripts on top of the hand-written ones. */
const GENERATED = 200;

type Cmd = (string | number)[];

const ev = (body: string, keys: string[] = [], args: (string | number)[] = []): Cmd => ["EVAL", body, keys.length, ...keys, ...args];

/** Hand-written scripts: one per rule or library behaviour worth pinning. */
function handWritten(): Cmd[] {
  const c: Cmd[] = [];
  // Conversions Lua → reply.
  for (const v of ["1", "-1", "0", "3.99", "-3.99", "2^53", "2^31", "-2^31 - 1", "1e15", "0.5", "true", "false", "nil", "'str'", "''"]) c.push(ev(`return ${v}`));
  c.push(ev("return {1, 2, 3.99, 'a', false, nil, 5}"), ev("return {1, {2, {3, {'x'}}}, 'y'}"), ev("return {}"), ev("return {nil, 1}"));
  c.push(ev("return {ok='FINE'}"), ev("return {err='MY custom error'}"), ev("return {err='no code'}"), ev("return redis.status_reply('YES')"));
  c.push(ev("return redis.error_reply('MY err')"), ev("return redis.error_reply('-MY err')"), ev("return redis.error_reply('plain')"));
  c.push(ev("return redis.status_reply(1)"), ev("return redis.error_reply()"), ev("return {1, {ok='in'}, {err='ERR nested'}}"));
  c.push(ev("return {double=3.5}"), ev("return {map={a=1}}"), ev("return {set={a=true}}"));
  // Conversions reply → Lua.
  c.push(["SET", "s", "hello"], ["HSET", "h", "f", "1"], ["RPUSH", "l", "a", "b", "c"], ["SADD", "st", "x"], ["ZADD", "z", "1.5", "m"]);
  c.push(ev("return type(redis.call('get', 'nosuch'))"), ev("return type(redis.call('get', 's'))"), ev("return type(redis.call('incr', 'cnt'))"));
  c.push(ev("local r = redis.call('ping') return type(r) .. r.ok"), ev("return redis.call('lrange', 'l', 0, -1)"));
  c.push(ev("local r = redis.pcall('incr', 's') return type(r) .. ' ' .. r.err"), ev("return redis.call('zscore', 'z', 'm')"));
  c.push(ev("return redis.call('hgetall', 'h')"), ev("return redis.call('smembers', 'st')"), ev("return redis.call('exists', 'nosuch', 's')"));
  c.push(ev("redis.setresp(3) local r = redis.call('hgetall', 'h') return r.map.f"), ev("redis.setresp(3) return redis.call('zscore', 'z', 'm').double"));
  c.push(ev("redis.setresp(3) return type(redis.call('get', 'nosuch'))"), ev("redis.setresp(3) local s = redis.call('smembers', 'st') return s.set.x"));
  c.push(ev("redis.setresp(4)"), ev("redis.setresp()"), ev("return redis.call('type', 's')"));
  // KEYS / ARGV.
  c.push(ev("return {KEYS[1], KEYS[2], ARGV[1], ARGV[2]}", ["k1", "k2"], ["a1", "a2"]), ev("return #KEYS .. ':' .. #ARGV"));
  c.push(ev("return ARGV", [], ["", "x", "\u0000\u00ff"]), ev("return KEYS", ["a", "b", "c"]), ev("return ARGV[3]", [], ["1", "2"]));
  c.push(["EVAL", "return 1", 2, "a"], ["EVAL", "return 1", -1], ["EVAL", "return 1", "x"], ["EVAL", "return 1", "1.5"], ["EVAL", "return 1"]);
  c.push(["EVAL", "return {KEYS[1], ARGV[1]}", "1", "k", "a"], ["EVAL", "return #KEYS", "3", "a", "b", "c"]);
  // Errors raised and caught.
  c.push(ev("return x"), ev("x = 1"), ev("local t = nil return t.x"), ev("return 1 + nil"), ev("error('boom')"), ev("error({err='MY boom'})"));
  c.push(ev("error()"), ev("return 1 +"), ev("return redis.call('nosuch')"), ev("return redis.call('get')"), ev("return redis.call()"));
  c.push(ev("return redis.call('get', {})"), ev("return redis.pcall('get', {})"), ev("return redis.call('incr', 's')"));
  c.push(ev("local ok, e = pcall(function() error('inner') end) return {tostring(ok), e}"), ev("return pcall(redis.call, 'incr', 's')"));
  c.push(ev("local ok, e = pcall(redis.call, 'incr', 's') return e"), ev("local ok, e = pcall(error, {err='X y'}) return e.err"));
  c.push(ev("string.foo = 1"), ev("rawset(_G, 'y', 1)"), ev("redis.call = nil"), ev("return redis.call('multi')"), ev("return redis.call('eval', 'return 1', 0)"));
  c.push(ev("local t = setmetatable({}, {__index=function() return 7 end}) return t.x"), ev("return select('#', 1, 2, 3)"));
  c.push(ev("return {pcall(error)}"), ev("return tostring(nil) .. tostring(true)"));
  // Globals Redis provides.
  c.push(ev("return type(unpack) .. type(loadstring) .. type(table.getn) .. type(math.pow) .. type(string.gfind)"));
  c.push(ev("return {unpack({1, 2, 3})}"), ev("return loadstring('return 1 + 1')()"), ev("return table.getn({1, 2, 3})"));
  c.push(ev("return getfenv"), ev("return type(print)"), ev("return type(dofile)"), ev("return _VERSION"), ev("return redis.REDIS_VERSION"));
  c.push(ev("return type(math.maxinteger)"), ev("return type(utf8)"), ev("return type(table.pack)"), ev("return type(string.pack)"));
  // Numbers as Lua 5.1 prints them.
  for (const v of ["3", "10/2", "1/3", "0.1", "1e14", "1e20", "2^53", "-0.5", "123456.789", "1e300", "1/0", "-1/0", "100", "7.0", "123456789012345", "2.5e-5", "1.00000000000005", "0.000123456789012345"]) c.push(ev(`return tostring(${v})`));
  c.push(ev("return 1e15 .. ' ' .. 0.00001 .. ' ' .. 10/2 .. ' ' .. 2^63 .. ' ' .. -1/3"), ev("return ('x' .. 1.5e300):len()"));
  c.push(ev("return 2147483647 + 1"), ev("return 1000 * 3600 * 24 * 30"), ev("return 0xff + 0x10"), ev("return tonumber('3000000000') * 2"));
  c.push(ev("return math.floor(3.7) .. ' ' .. math.ceil(3.2)"), ev("return tostring(tonumber('0x10'))"), ev("return tonumber('abc')"));
  c.push(ev("return string.format('%d %s %5.2f', 3, 'x', 1.5)"), ev("return string.rep('ab', 3)"), ev("return ('x'):upper()"));
  c.push(ev("return redis.call('set', 'f', 3.5)"), ev("return redis.call('get', 'f')"), ev("return redis.call('set', 'f', 1/3)"), ev("return redis.call('get', 'f')"));
  c.push(ev("return redis.call('incrby', 'n', 10)"), ev("return redis.call('incrbyfloat', 'fl', 0.5)"));
  // math.random is Redis's rand48.
  c.push(ev("math.randomseed(42) return {math.random(100), math.random(1, 10), math.floor(math.random() * 1000)}"));
  // Libraries.
  c.push(ev("return cjson.encode({1, 2, 3, 'a/b', true, false})"), ev("return cjson.encode({a = {1, 2}})"), ev("return cjson.encode('x\\n\"y')"));
  c.push(ev("return cjson.encode({[1]=1, [3]=3})"), ev("return cjson.encode({[1]=1, [20]=3})"), ev("return cjson.encode(1/0)"), ev("return cjson.encode({})"));
  c.push(ev("return cjson.decode('[1, 2, {\"a\": [3]}]')[3].a[1]"), ev("return cjson.decode('\"\\\\u00e9\"')"), ev("return cjson.decode('{bad')"));
  c.push(ev("return cjson.encode(cjson.decode('[1.5, null, \"x\"]'))"), ev("return type(cjson.null)"), ev("return cjson.encode(3.14159265358979)"));
  c.push(ev("return bit.band(0xff, 0x0f)"), ev("return bit.bor(1, 2, 4)"), ev("return bit.bxor(-1, 5)"), ev("return bit.lshift(1, 31)"));
  c.push(ev("return bit.rshift(-1, 28)"), ev("return bit.arshift(-256, 4)"), ev("return bit.tohex(255)"), ev("return bit.tohex(-1, -4)"));
  c.push(ev("return bit.bnot(0)"), ev("return bit.tobit(2^32 + 5)"), ev("return bit.rol(1, 33)"), ev("return bit.bswap(0x12345678)"));
  c.push(ev("return struct.pack('>I2', 258)"), ev("return {struct.unpack('<i4', struct.pack('<i4', -2))}"), ev("return struct.size('>iHb')"));
  c.push(ev("return {struct.unpack('>s', struct.pack('>s', 'hello'))}"), ev("return struct.pack('<d', 1.5)"), ev("return {struct.unpack('>h', '\\255\\254')}"));
  c.push(ev("return {struct.unpack('B', '')}"), ev("return struct.pack('bBhH', -1, 255, -2, 65535)"));
  c.push(ev("return cmsgpack.pack({1, 2, 3})"), ev("return cmsgpack.pack('abc', 300, -40, 1.5, true)"), ev("return cmsgpack.pack({a = 1})"));
  c.push(ev("return {cmsgpack.unpack(cmsgpack.pack(1, 'x', {1, 2}))}"), ev("return cmsgpack.pack(2^40, -2^40, 0.1)"), ev("return cmsgpack.unpack('\\196')"));
  c.push(ev("return redis.sha1hex('')"), ev("return redis.sha1hex('abc')"), ev("return redis.sha1hex()"));
  c.push(ev("redis.log(redis.LOG_WARNING, 'from a script') return 1"), ev("redis.log('x', 'y')"), ev("redis.log(9, 'y')"), ev("redis.log(1)"));
  c.push(ev("return redis.set_repl(redis.REPL_ALL)"), ev("redis.set_repl(99)"), ev("return redis.replicate_commands()"));
  // Writes of every type (replicated as effects; DEBUG DIGEST compares at the end).
  c.push(ev("redis.call('set', KEYS[1], ARGV[1]) redis.call('expire', KEYS[1], 1000) return redis.call('ttl', KEYS[1])", ["w:s"], ["v"]));
  c.push(ev("redis.call('hset', KEYS[1], 'a', 1, 'b', 2) return redis.call('hincrby', KEYS[1], 'a', 5)", ["w:h"]));
  c.push(ev("redis.call('rpush', KEYS[1], 1, 2, 3) redis.call('lpop', KEYS[1]) return redis.call('llen', KEYS[1])", ["w:l"]));
  c.push(ev("redis.call('sadd', KEYS[1], 'a', 'b', 'c') redis.call('srem', KEYS[1], 'a') return redis.call('scard', KEYS[1])", ["w:st"]));
  c.push(ev("redis.call('zadd', KEYS[1], 1, 'a', 2, 'b') return redis.call('zincrby', KEYS[1], 1.5, 'a')", ["w:z"]));
  c.push(ev("redis.call('set', 'w:tmp', 1) return redis.call('del', 'w:tmp', 'nosuch')"), ev("return redis.call('incrbyfloat', 'w:f', '1.25')"));
  c.push(ev("redis.call('set', 'w:x', 1) redis.call('incr', 's') redis.call('set', 'w:y', 2)"), ev("return redis.call('get', 'w:x')"));
  c.push(ev("redis.call('select', 1) redis.call('set', 'in1', 'v') return redis.call('get', 'in1')"), ev("return redis.call('get', 'in1')"));
  c.push(ev("return redis.call('getex', 's', 'ex', 100)"), ev("return redis.call('setex', 'w:e', 100, 'x')"));
  // EVAL_RO and no-writes refuse writes; shebang flags.
  c.push(["EVAL_RO", "return redis.call('set', 'ro', 1)", 0], ["EVAL_RO", "return redis.call('get', 's')", 0]);
  c.push(ev("#!lua flags=no-writes\nreturn redis.call('set', 'ro', 1)"), ev("#!lua flags=no-writes\nreturn redis.call('get', 's')"));
  c.push(["EVAL_RO", "#!lua\nreturn 1", 0], ["EVAL_RO", "#!lua flags=no-writes\nreturn 1", 0]);
  for (const f of ["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys", "no-writes,allow-oom", "", "bogus", "no-writes,bogus"]) c.push(ev(`#!lua flags=${f}\nreturn 1`));
  c.push(ev("#!lua\nreturn 1"), ev("#!lua name=x\nreturn 1"), ev("#!python\nreturn 1"), ev("#!lua"), ev("#!lua flags=no-writes\nreturn x"));
  c.push(ev("#!lua\nreturn redis.call('set', 'sb', 1)"));
  // EVALSHA after SCRIPT LOAD / FLUSH.
  const body = "return 'cached:' .. ARGV[1]";
  const sha = createHash("sha1").update(body).digest("hex");
  c.push(["EVALSHA", sha, 0, "x"], ["SCRIPT", "LOAD", body], ["EVALSHA", sha, 0, "x"], ["EVALSHA", sha.toUpperCase(), 0, "y"], ["EVALSHA_RO", sha, 0, "z"]);
  c.push(["SCRIPT", "EXISTS", sha, "0000000000000000000000000000000000000000"], ["SCRIPT", "FLUSH", "SYNC"], ["EVALSHA", sha, 0, "x"]);
  c.push(["SCRIPT", "LOAD", "return 1 +"], ["SCRIPT", "LOAD"], ["SCRIPT", "FLUSH", "x"], ["SCRIPT", "NOSUCH"], ["EVALSHA", "abc", 0]);
  c.push(["EVALSHA_RO", "0000000000000000000000000000000000000000", 0], ["SCRIPT", "KILL"]);
  // Functions.
  const lib = (name: string, body: string) => `#!lua name=${name}\n${body}`;
  c.push(["FUNCTION", "FLUSH"], ["FUNCTION", "LOAD", lib("l1", "redis.register_function('f1', function(keys, args) return {keys[1], args[1], #keys, #args} end)")]);
  c.push(["FCALL", "f1", 1, "k", "a"], ["FCALL", "f1", 0], ["FCALL_RO", "f1", 0], ["FCALL", "nosuch", 0], ["FCALL", "f1", "x"], ["FCALL", "f1", 3, "a"], ["FCALL", "f1", -1]);
  c.push(["FUNCTION", "LOAD", lib("l1", "redis.register_function('f1', function() return 1 end)")]);
  c.push(["FUNCTION", "LOAD", "REPLACE", lib("l1", "redis.register_function('f1', function(keys) return redis.call('incr', keys[1]) end)")]);
  c.push(["FCALL", "f1", 1, "fk"], ["FCALL_RO", "f1", 1, "fk"], ["FUNCTION", "LIST"], ["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "l*"], ["FUNCTION", "LIST", "LIBRARYNAME"]);
  c.push(["FUNCTION", "LOAD", lib("l2", "redis.register_function{function_name='f2', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reads'}")]);
  c.push(["FCALL_RO", "f2", 1, "fk"], ["FUNCTION", "LIST", "LIBRARYNAME", "l2"], ["FUNCTION", "STATS"]);
  c.push(["FUNCTION", "LOAD", lib("l3", "redis.register_function('f1', function() return 1 end)")], ["FUNCTION", "LOAD", "return 1"]);
  c.push(["FUNCTION", "LOAD", lib("l3", "return string.len('x')")], ["FUNCTION", "LOAD", lib("l3", "redis.call('ping')")], ["FUNCTION", "LOAD", lib("l3", "local x = 1")]);
  c.push(["FUNCTION", "LOAD", lib("l3", "redis.register_function('f3', function() return string.upper('x') .. x end)")], ["FCALL", "f3", 0]);
  c.push(["FUNCTION", "LOAD", lib("l4", "redis.register_function('f4', function() end) redis.register_function('f4', function() end)")]);
  c.push(["FUNCTION", "LOAD", lib("l4", "redis.register_function('bad name', function() end)")], ["FUNCTION", "LOAD", lib("l4", "redis.register_function{function_name='f4', callback=function() end, flags={'bogus'}}")]);
  c.push(["FUNCTION", "LOAD", "#!lua\nreturn 1"], ["FUNCTION", "LOAD", "#!js name=x\nreturn 1"], ["FUNCTION", "LOAD", "#!lua name=a name=b\n"], ["FUNCTION", "LOAD", "#!lua name=x foo=y\n"]);
  c.push(["FUNCTION", "LOAD", lib("l4", "redis.register_function('f4', 'notfn')")], ["FUNCTION", "LOAD", lib("l4", "redis.register_function()")], ["FUNCTION", "LOAD", "BOGUS", "x"]);
  c.push(["FUNCTION", "LOAD", lib("l5", "redis.register_function{function_name='f5', callback=function() return redis.call('set', 'x', 1) end, flags={'no-writes'}}")], ["FCALL", "f5", 0]);
  c.push(["FUNCTION", "RESTORE", "garbage"], ["FUNCTION", "RESTORE", "x", "BOGUS"], ["FUNCTION", "RESTORE", "x", "APPEND", "y"], ["FUNCTION", "RESTORE"], ["FUNCTION", "DUMP", "x"]);
  c.push(["FUNCTION", "DELETE", "l5"], ["FUNCTION", "DELETE", "l5"], ["FCALL", "f5", 0], ["FUNCTION", "KILL"], ["FUNCTION", "FLUSH", "bad"]);
  return c;
}

// --- generated scripts ---------------------------------------------------------------------

function rng(seed: number): () => number {
  let s = seed || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function generated(seed: number, count: number): Cmd[] {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const num = () => pick([String(int(-1000, 1000)), String(int(0, 100000) / 8), String(int(-50, 50) / 4), String(int(1, 9) * 10 ** int(0, 12))]);
  const out: Cmd[] = [];
  for (let i = 0; i < count; i++) {
    switch (int(0, 9)) {
      case 0:
        out.push(ev(`return ${num()} ${pick(["+", "-", "*"])} ${num()}`));
        break;
      case 1:
        out.push(ev(`return tostring(${num()} ${pick(["+", "-", "*", "/"])} ${num()})`));
        break;
      case 2:
        out.push(ev(`return {${Array.from({ length: int(0, 6) }, () => pick([num(), `'s${int(0, 9)}'`, "true", "false", "nil"])).join(", ")}}`));
        break;
      case 3:
        out.push(ev(`return redis.call('incrby', KEYS[1], ARGV[1])`, [`g:n${int(0, 4)}`], [String(int(-100, 100))]));
        break;
      case 4:
        out.push(ev(`redis.call('hset', KEYS[1], ARGV[1], ARGV[2]) return redis.call('hlen', KEYS[1])`, [`g:h${int(0, 3)}`], [`f${int(0, 9)}`, String(int(0, 99))]));
        break;
      case 5:
        out.push(ev(`return redis.call('${pick(["lpush", "rpush"])}', KEYS[1], ARGV[1], ARGV[2])`, [`g:l${int(0, 3)}`], [`e${int(0, 9)}`, `e${int(0, 9)}`]));
        break;
      case 6:
        out.push(ev(`redis.call('zadd', KEYS[1], ARGV[1], ARGV[2]) return redis.call('zrange', KEYS[1], 0, -1, 'withscores')`, [`g:z${int(0, 2)}`], [String(int(-20, 20) / 2), `m${int(0, 5)}`]));
        break;
      case 7:
        out.push(ev(`return cjson.encode({${Array.from({ length: int(0, 5) }, () => pick([num(), `'x${int(0, 9)}'`, "true"])).join(", ")}})`));
        break;
      case 8:
        out.push(ev(`return bit.${pick(["band", "bor", "bxor"])}(${int(-100000, 100000)}, ${int(-100000, 100000)})`));
        break;
      default:
        out.push(ev(`local v = redis.call('sadd', KEYS[1], ARGV[1]) return {v, redis.call('scard', KEYS[1]), redis.call('sismember', KEYS[1], ARGV[1])}`, [`g:s${int(0, 3)}`], [`m${int(0, 9)}`]));
    }
  }
  return out;
}

// --- the run -------------------------------------------------------------------------------

let redis: RedisServer;
let worker: TestWorker;

beforeAll(async () => {
  [redis, worker] = await Promise.all([startRedisServer(), startWorker()]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), worker?.dispose()]);
});

const rest = (db: string, node: string, argv: Cmd) => restCommand(worker, db, node, argv);

const text = (v: RespValue): string =>
  v instanceof Uint8Array ? new TextDecoder().decode(v) : v !== null && typeof v === "object" && "s" in v ? String(v.s) : showReply(v);

describe("scripting: differential against redis-server 7.0", () => {
  it(`every reply and DEBUG DIGEST (master, replica) equal for the hand-written and ${GENERATED} generated scripts (seed ${SEED})`, async () => {
    const db = `sdiff${SEED}`;
    expect((await rest(db, "r1", ["REPLICAOF", "master"])).result).toBe("OK");
    const cmds = [...handWritten(), ...generated(SEED, GENERATED)];
    const scripts = cmds.filter((c) => String(c[0]).toUpperCase().startsWith("EVAL")).length;
    expect(scripts).toBeGreaterThanOrEqual(200);
    const [a, b]: [RespClient, RespClient] = await Promise.all([redis.connect(), connectWs(`${worker.url.replace(/^http/, "ws")}/db/${db}/ws`, worker.token)]);
    try {
      await Promise.all([a.send([["FLUSHALL"], ["SCRIPT", "FLUSH"]]), b.send([["FLUSHALL"], ["SCRIPT", "FLUSH"]])]);
      const mismatches: string[] = [];
      for (const c of cmds) {
        const argv = c.map(String);
        const [ra, rb] = await Promise.all([a.call(...argv), b.call(...argv)]);
        if (showReply(ra) !== showReply(rb)) mismatches.push(`${showArgv(argv)}\n    redis: ${showReply(ra)}\n    ours:  ${showReply(rb)}`);
      }
      console.log(`scripting differential: seed=${SEED}, ${cmds.length} commands (${scripts} scripts), ${mismatches.length} mismatches`);
      expect(mismatches, mismatches.slice(0, 30).join("\n")).toEqual([]);
      const [[da], [dm]] = await Promise.all([a.send([["DEBUG", "DIGEST"]]), b.send([["WAIT", "1", "10000"], ["DEBUG", "DIGEST"]]).then((r) => [r[1]!])]);
      expect(text(dm!)).toBe(text(da!));
      const dr = await rest(db, "r1", ["DEBUG", "DIGEST"]);
      expect(dr.result).toBe(text(da!));
    } finally {
      await Promise.all([a.close(), b.close()]);
      await rest(db, "r1", ["REPLICAOF", "NO", "ONE"]);
    }
  });
});
