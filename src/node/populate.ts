/**
 * DEBUG POPULATE count [prefix] [size]: Redis's way to fill a database for a test, with its
 * key and value forms (`key:0`…, `value:0`… or the value's first bytes in `size` zero-filled
 * bytes) and its rule that a key already there is left alone. Two differences, both for what
 * this system promises: each key is written as `SET key value NX` through the engine, so it
 * is stored, counted and replicated like any write (redis-server's populate is not
 * propagated, so its replicas miss the keys); and the work runs in bounded slices that yield
 * to other events (redis-server blocks until it is done), so other
 * clients can see a database partly populated.
 */
import { DEBUG_POPULATE_BYTES_MAX, DEBUG_POPULATE_KEYS_MAX, VALUE_BYTES_MAX } from "../limits.ts";
import { newSession, type Session } from "../keyspace/command.ts";
import type { Engine } from "../keyspace/engine.ts";
import { OK, RedisError, type Reply } from "../protocol/reply.ts";
import { utf8 } from "../util/bytes.ts";
import { yieldToOtherEvents } from "../util/yield.ts";

/**
 * Longest run of SETs in one event: POPULATE_SLICE_MS, or POPULATE_SLICE_KEYS keys (~10–30 ms
 * locally) where the clock does not move while code runs (deployed Workers advance it only
 * between I/O).
 */
export const POPULATE_SLICE_MS = 10;
export const POPULATE_SLICE_KEYS = 1000;

export interface PopulateArgs {
  count: number;
  prefix: string;
  /** 0: the value is `value:<n>` as it is. */
  size: number;
}

const NX = utf8("NX");
const SET = utf8("SET");

/** Parse DEBUG POPULATE's 1–3 arguments (after the subcommand) as Redis does, within our bounds; an error text, or the arguments. */
export function parsePopulate(args: readonly string[]): PopulateArgs | string {
  const count = nonNegative(args[0]!);
  if (count === null) return "ERR value is out of range, must be positive";
  const size = args.length === 3 ? nonNegative(args[2]!) : 0;
  if (size === null) return "ERR value is out of range, must be positive";
  if (size > VALUE_BYTES_MAX) return `ERR DEBUG POPULATE values are at most ${VALUE_BYTES_MAX} bytes`;
  if (count > DEBUG_POPULATE_KEYS_MAX) return `ERR DEBUG POPULATE writes at most ${DEBUG_POPULATE_KEYS_MAX} keys a call`;
  if (count * Math.max(size, 16) > DEBUG_POPULATE_BYTES_MAX) return `ERR DEBUG POPULATE writes at most ${DEBUG_POPULATE_BYTES_MAX} bytes of values a call`;
  return { count, prefix: args.length >= 2 ? args[1]! : "key", size };
}

function nonNegative(s: string): number | null {
  if (!/^\d{1,16}$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/** The value Redis writes for key number `j`. */
export function populateValue(j: number, size: number): Uint8Array {
  const text = utf8(`value:${j}`);
  if (size === 0) return text;
  const v = new Uint8Array(size);
  v.set(size < text.length ? text.subarray(0, size) : text);
  return v;
}

/**
 * Write the keys into database `db` of `engine`, a slice at a time. Stops at the first error
 * (a write refused: READONLY after a FAILOVER, a key too long) and answers it.
 */
export async function populate(engine: Engine, db: number, a: PopulateArgs, yieldNow: () => Promise<void> = yieldToOtherEvents): Promise<Reply> {
  const s: Session = newSession({ db, name: "debug-populate" });
  for (let j = 0; j < a.count; ) {
    const sliceStart = Date.now();
    const sliceEnd = Math.min(a.count, j + POPULATE_SLICE_KEYS);
    do {
      let r = engine.execute(s, [SET, utf8(`${a.prefix}:${j}`), populateValue(j, a.size), NX]);
      if (r instanceof Promise) r = await r; // a write pause (FAILOVER) held it
      if (r instanceof RedisError) return r;
      j++;
    } while (j < sliceEnd && Date.now() - sliceStart < POPULATE_SLICE_MS);
    if (j < a.count) await yieldNow();
  }
  return OK;
}
