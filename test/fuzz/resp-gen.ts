/**
 * RESP inputs for the fuzz harness: streams of valid commands (multibulk and inline),
 * hand-made malformed headers, random bytes, and mutations of all of these; reply streams
 * for the reply-mode parser. Commands come from a small vocabulary of data commands on
 * a few colliding keys, none of which can block, sleep, flush or reconfigure a node, nor set
 * a TTL (a key expiring on its own would change the data between two digests).
 */
import { NIL_ARRAY, OK, type Reply, RespDouble, RespMap, RespSet, Simple, Verbatim } from "../../src/protocol/reply.ts";
import { RedisError } from "../../src/protocol/reply.ts";
import { encodeCommand, encodeReply } from "../../src/protocol/resp.ts";
import { INTERESTING_NUMBERS, mutate } from "./mutate.ts";
import { concatBytes, type Rng } from "./random.ts";

const te = new TextEncoder();

/** Commands a fuzzed input may run against a node: data reads and writes only. */
export const SAFE_COMMANDS = [
  "SET", "GET", "DEL", "EXISTS", "INCR", "APPEND", "STRLEN", "GETRANGE", "SETRANGE", "MSET", "MGET",
  "RPUSH", "LPUSH", "LRANGE", "LPOP", "LLEN", "LINDEX", "SADD", "SREM", "SMEMBERS", "SCARD",
  "HSET", "HGET", "HDEL", "HGETALL", "ZADD", "ZRANGE", "ZREM", "ZSCORE", "TTL",
  "TYPE", "PING", "ECHO", "DBSIZE",
] as const;

function arg(rng: Rng): Uint8Array {
  switch (rng.int(6)) {
    case 0:
      return rng.word(3);
    case 1:
      return te.encode(rng.pick(INTERESTING_NUMBERS));
    case 2:
      return rng.bytes(rng.size(64));
    case 3:
      return te.encode(String(rng.range(-5, 100)));
    default:
      return rng.word(6);
  }
}

/** A random command from the safe vocabulary, with 0..6 random arguments. */
export function randomArgv(rng: Rng): Uint8Array[] {
  const argv = [te.encode(rng.bool(0.9) ? rng.pick(SAFE_COMMANDS) : rng.pick(SAFE_COMMANDS).toLowerCase())];
  const n = rng.int(7);
  for (let i = 0; i < n; i++) argv.push(arg(rng));
  return argv;
}

/** An inline command: words, sometimes quoted with escapes. */
function inline(rng: Rng): Uint8Array {
  const words = [rng.pick(SAFE_COMMANDS) as string];
  const n = rng.int(5);
  for (let i = 0; i < n; i++) {
    const w = new TextDecoder().decode(rng.word(5));
    const q = rng.int(6);
    words.push(q === 0 ? `"${w}\\x41\\n"` : q === 1 ? `'${w}\\''` : q === 2 ? `"${w}` : w);
  }
  return te.encode(words.join(rng.bool(0.8) ? " " : "\t") + (rng.bool(0.8) ? "\r\n" : "\n"));
}

/** Headers and fragments that sit on the parser's edges. */
function edge(rng: Rng): Uint8Array {
  const num = rng.pick(INTERESTING_NUMBERS);
  switch (rng.int(9)) {
    case 0:
      return te.encode(`*${num}\r\n`);
    case 1:
      return te.encode(`*1\r\n$${num}\r\n`);
    case 2:
      return te.encode(`*2\r\n$4\r\nECHO\r\n${rng.pick(["$", ":", "+", "x", "*", "\r\n"])}${num}\r\n`);
    case 3:
      return concatBytes([te.encode(rng.pick(["", "*", "$", "*1\r\n$"])), Uint8Array.of(0), new Uint8Array(rng.size(2048)).fill(0x41)]);
    case 4:
      return te.encode(`${rng.pick(["*", "$", ""])}${"9".repeat(rng.size(600))}`);
    case 5:
      return te.encode("\r\n".repeat(rng.range(1, 5)));
    case 6:
      return te.encode(`*-1\r\n*0\r\n`);
    case 7:
      return te.encode(`*1\r${rng.pick(["X", "\n", "\r"])}$4\r${rng.pick(["X", "\n"])}PING\r\n`);
    default:
      return rng.bytes(rng.size(512));
  }
}

/** A request stream: a few valid commands and edge fragments, then maybe mutated. */
export function requestStream(rng: Rng): Uint8Array {
  const parts: Uint8Array[] = [];
  const n = rng.range(1, 6);
  for (let i = 0; i < n; i++) {
    const r = rng.float();
    parts.push(r < 0.55 ? encodeCommand(randomArgv(rng)) : r < 0.75 ? inline(rng) : edge(rng));
  }
  const stream = concatBytes(parts);
  return rng.bool(0.7) ? mutate(rng, stream) : stream;
}

function randomReply(rng: Rng, depth: number): Reply {
  switch (rng.int(depth > 3 ? 9 : 12)) {
    case 0:
      return rng.bytes(rng.size(40));
    case 1:
      return null;
    case 2:
      return rng.range(-1000, 1000);
    case 3:
      return rng.bool() ? 9223372036854775807n : -9223372036854775808n;
    case 4:
      return new Simple(new TextDecoder().decode(rng.word(6)));
    case 5:
      return new RedisError(`ERR ${new TextDecoder().decode(rng.word(6))}`);
    case 6:
      return new RespDouble(rng.pick([0, -1.5, 1e300, Number.POSITIVE_INFINITY, 3.25]));
    case 7:
      return rng.bool() ? NIL_ARRAY : OK;
    case 8:
      return new Verbatim(new TextDecoder().decode(rng.word(8)));
    case 9:
      return new RespMap([[rng.word(3), randomReply(rng, depth + 1)]]);
    case 10:
      return new RespSet([randomReply(rng, depth + 1), randomReply(rng, depth + 1)]);
    default: {
      const out: Reply[] = [];
      const n = rng.int(5);
      for (let i = 0; i < n; i++) out.push(randomReply(rng, depth + 1));
      return out;
    }
  }
}

/** A reply stream in RESP2 or RESP3, maybe mutated, maybe with keepalive newlines. */
export function replyStream(rng: Rng): Uint8Array {
  const parts: Uint8Array[] = [];
  const n = rng.range(1, 5);
  for (let i = 0; i < n; i++) {
    if (rng.bool(0.1)) parts.push(Uint8Array.of(10));
    parts.push(encodeReply(randomReply(rng, 0), rng.bool() ? 2 : 3));
  }
  if (rng.bool(0.05)) parts.push(te.encode("*1\r\n".repeat(rng.range(60, 70))));
  const stream = concatBytes(parts);
  return rng.bool(0.7) ? mutate(rng, stream) : stream;
}
