/** Argument parsing shared by the command files, with Redis's error replies. */
import { ELEMENT_BYTES_MAX, KEY_BYTES_MAX, VALUE_BYTES_MAX } from "../limits.ts";
import { str } from "../util/bytes.ts";
import { parseDouble, parseI64, parseSafeInt } from "../util/numbers.ts";
import type { Ctx } from "./command.ts";
import { E, fail } from "./errors.ts";
import type { TypeCode } from "./schema.ts";
import type { KeyMeta } from "./store.ts";

/** A key of `type` for reading, or null; WRONGTYPE when it holds another type. */
export function readKey(ctx: Ctx, key: Uint8Array, type: TypeCode): KeyMeta | null {
  const m = ctx.ks.lookupRead(ctx.db, key);
  if (m && m.type !== type) fail(E.wrongType);
  return m;
}

/** A key of `type` about to change (lookupWrite runs the snapshot hook first), or null; WRONGTYPE for another type. */
export function writeKey(ctx: Ctx, key: Uint8Array, type: TypeCode): KeyMeta | null {
  const m = ctx.ks.lookupWrite(ctx.db, key);
  if (m && m.type !== type) fail(E.wrongType);
  return m;
}

/** A C `long` argument as a JS number; values beyond 2^53 only matter as "out of range". */
export function longArg(b: Uint8Array, msg: string = E.notInt): number {
  return Number(i64Arg(b, msg));
}

/** Lowercase ASCII text of an option argument ("ex", "withscores"…). */
export function opt(b: Uint8Array): string {
  return str(b).toLowerCase();
}

/** An integer argument that fits a JS number, else ERR value is not an integer or out of range. */
export function intArg(b: Uint8Array, msg: string = E.notInt): number {
  const v = parseSafeInt(b);
  if (v === null) fail(msg);
  return v;
}

/** A full int64 argument. */
export function i64Arg(b: Uint8Array, msg: string = E.notInt): bigint {
  const v = parseI64(b);
  if (v === null) fail(msg);
  return v;
}

/** A double argument (inf allowed, NaN refused). */
export function floatArg(b: Uint8Array, msg: string = E.notFloat): number {
  const v = parseDouble(b);
  if (v === null) fail(msg);
  return v;
}

/** Redis's start/end normalization for index ranges (LRANGE, LTRIM, ZRANGE by rank); null when empty. */
export function normRange(start: number, end: number, len: number): [number, number] | null {
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (start > end || start >= len) return null;
  if (end >= len) end = len - 1;
  return [start, end];
}

/** A string value within VALUE_BYTES_MAX. */
export function checkValue(v: Uint8Array): Uint8Array {
  if (v.length > VALUE_BYTES_MAX) fail(E.tooBig("value", VALUE_BYTES_MAX));
  return v;
}

/**
 * A key named by an option rather than a key position (SORT … STORE, GEORADIUS … STORE): the
 * engine checks key positions only, so such a key is checked here against KEY_BYTES_MAX.
 */
export function checkKey(k: Uint8Array): Uint8Array {
  if (k.length > KEY_BYTES_MAX) fail(E.tooBig("key", KEY_BYTES_MAX));
  return k;
}

/** A collection element (field, member, list item) within ELEMENT_BYTES_MAX. */
export function checkElement(v: Uint8Array): Uint8Array {
  if (v.length > ELEMENT_BYTES_MAX) fail(E.tooBig("element", ELEMENT_BYTES_MAX));
  return v;
}

/** A long in [1, LONG_MAX] (getRangeLongFromObjectOrReply): `msg` covers both bad forms (numkeys and COUNT of LMPOP/ZMPOP/SINTERCARD). */
export function atLeastOneArg(b: Uint8Array, msg: string): number {
  const v = parseI64(b);
  if (v === null || v < 1n) fail(msg);
  return Number(v);
}

/**
 * The arguments of LMPOP/ZMPOP (Redis's mpopGenericCommand): `numkeys key… <where> [COUNT n]`.
 * Returns the index of the first key, the index past the last one, the parsed `where` and the
 * count (1 when absent).
 */
export function mpopArgs<W>(argv: Uint8Array[], where: (b: Uint8Array) => W): { firstKey: number; endKey: number; where: W; count: number } {
  const numkeys = atLeastOneArg(argv[1]!, "ERR numkeys should be greater than 0");
  const whereIdx = 1 + numkeys + 1;
  if (whereIdx >= argv.length) fail(E.syntax);
  const w = where(argv[whereIdx]!);
  let count = -1;
  for (let j = whereIdx + 1; j < argv.length; j++) {
    if (count === -1 && opt(argv[j]!) === "count" && j + 1 < argv.length) {
      count = atLeastOneArg(argv[++j]!, "ERR count should be greater than 0");
    } else fail(E.syntax);
  }
  return { firstKey: 2, endKey: whereIdx, where: w, count: count === -1 ? 1 : count };
}

/** A long in [0, LONG_MAX] (getPositiveLongFromObjectOrReply): `msg` covers both bad forms. */
export function nonNegativeArg(b: Uint8Array, msg: string): number {
  const v = parseI64(b);
  if (v === null || v < 0n) fail(msg);
  return Number(v);
}
