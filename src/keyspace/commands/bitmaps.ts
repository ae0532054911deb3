/**
 * Bitmap commands on strings (Redis 7.0 bitops.c): SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
 * BITFIELD, BITFIELD_RO. Bit 0 is the most significant bit of byte 0.
 *
 * Cost: a string lives in rows of `Keyspace.chunkBytes` (64 KiB). SETBIT and BITFIELD read and
 * rewrite only the rows holding the bits they touch (plus the new rows when the value
 * grows); BITCOUNT and BITPOS read only the rows of their range, one row at a time.
 *
 * Limits: offsets are parsed as Redis does (a bit offset whose byte is at or past Redis's
 * default proto-max-bulk-len, 512 MB, is "ERR bit offset is not an integer or out of range"),
 * so reads far past the end answer 0 like redis-server. A write that would grow the value
 * past VALUE_BYTES_MAX answers the same error, as redis-server does with
 * `proto-max-bulk-len` set to our value limit.
 *
 * Propagation: SETBIT, BITOP and BITFIELD go to replicas verbatim when they changed the
 * value (they are deterministic). A BITFIELD whose SET/INCRBY all failed (OVERFLOW FAIL) but
 * created or grew the key is propagated too: redis-server leaves its replicas without that
 * key, we keep ours equal to the master.
 */
import { VALUE_BYTES_MAX } from "../../limits.ts";
import type { Reply } from "../../protocol/reply.ts";
import { parseI64 } from "../../util/numbers.ts";
import { i64Arg, opt, readKey, writeKey } from "../args.ts";
import { type CommandSpec, type Ctx, cmd } from "../command.ts";
import { E, fail } from "../errors.ts";
import { TYPE } from "../schema.ts";
import type { KeyMeta } from "../store.ts";
import { checkOverflow, getField, intReply, type Overflow, toSigned } from "./bitfield-ints.ts";
import { combineInto, firstByteNot, invert, popcount, POPCOUNT } from "../../util/bits.ts";

/** Redis's default proto-max-bulk-len: the bound getBitOffsetFromArgument checks offsets against. */
const PROTO_MAX_BULK_LEN_BYTES = 512 * 1024 * 1024;

const BIT_OFFSET_ERR = "ERR bit offset is not an integer or out of range";
const BITFIELD_TYPE_ERR = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

// --- arguments ---------------------------------------------------------------------------

/**
 * A bit offset (getBitOffsetFromArgument). With `bits` > 0, "#n" means n × bits (BITFIELD).
 * Always below 2^32, so a plain number.
 */
function bitOffsetArg(b: Uint8Array, bits = 0): number {
  const hash = bits > 0 && b[0] === 0x23; // '#'
  let v = parseI64(hash ? b.subarray(1) : b);
  if (v === null) fail(BIT_OFFSET_ERR);
  if (hash) v = BigInt.asIntN(64, v * BigInt(bits)); // C's long long multiply
  if (v < 0n || v >> 3n >= BigInt(PROTO_MAX_BULK_LEN_BYTES)) fail(BIT_OFFSET_ERR);
  return Number(v);
}

/** A write reaching byte `byte` must stay within our value limit. */
function checkWritableByte(byte: number): void {
  if (byte >= VALUE_BYTES_MAX) fail(BIT_OFFSET_ERR);
}

/** A long long index (start/end) clamped to ±2^53: compared only with lengths ≤ 2^27 bits. */
function indexArg(b: Uint8Array): number {
  const v = i64Arg(b);
  const lim = BigInt(Number.MAX_SAFE_INTEGER);
  return Number(v > lim ? lim : v < -lim ? -lim : v);
}

/** BYTE|BIT option: true for BIT; syntax error otherwise. */
function isBitUnit(b: Uint8Array): boolean {
  const o = opt(b);
  if (o === "bit") return true;
  if (o === "byte") return false;
  fail(E.syntax);
}

// --- reading a range row by row ----------------------------------------------------------

/** Calls `fn` with consecutive slices of bytes [start, end) of `m`, at most one row each. */
function forEachSlice(ctx: Ctx, m: KeyMeta, start: number, end: number, fn: (bytes: Uint8Array, base: number) => boolean | void): void {
  for (let s = start; s < end; ) {
    const e = Math.min(end, (Math.floor(s / ctx.ks.chunkBytes) + 1) * ctx.ks.chunkBytes);
    if (fn(ctx.ks.getStringRange(m, s, e), s) === true) return;
    s = e;
  }
}

/**
 * Normalize Redis's start/end (BITCOUNT, BITPOS) to an inclusive bit range, or null when
 * empty. `endArg` null means "to the end" (BITPOS without end).
 */
function bitRange(len: number, startArg: number, endArg: number | null, isBit: boolean): [number, number] | null {
  const total = isBit ? len * 8 : len;
  let start = startArg;
  let end = endArg ?? (isBit ? len * 8 + 7 : len - 1);
  if (start < 0) start = total + start;
  if (end < 0) end = total + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= total) end = total - 1;
  if (start > end) return null;
  return isBit ? [start, end] : [start * 8, end * 8 + 7];
}

// --- SETBIT GETBIT -----------------------------------------------------------------------

function setbit(ctx: Ctx): Reply {
  const key = ctx.argv[1]!;
  const offset = bitOffsetArg(ctx.argv[2]!);
  const on = i64Arg(ctx.argv[3]!, "ERR bit is not an integer or out of range");
  if (on !== 0n && on !== 1n) fail("ERR bit is not an integer or out of range");
  const byte = Math.floor(offset / 8);
  checkWritableByte(byte);
  let m = writeKey(ctx, key, TYPE.string);
  const mask = 1 << (7 - (offset % 8));
  if (!m || byte >= m.card) {
    // Grows the value (zero-filled): the bit was 0.
    if (!m) m = ctx.ks.create(ctx.db, key, TYPE.string);
    ctx.ks.patchString(m, byte, Uint8Array.of(on === 1n ? mask : 0));
    ctx.dirty++;
    return 0;
  }
  // Read the bit's row once, and when the bit changes write that row back whole.
  const base = byte - (byte % ctx.ks.chunkBytes);
  const row = ctx.ks.getStringRange(m, base, Math.min(m.card, base + ctx.ks.chunkBytes));
  const old = row[byte - base]!;
  const was = (old & mask) !== 0;
  if (was !== (on === 1n)) {
    const next = row.slice();
    next[byte - base] = old ^ mask;
    ctx.ks.patchString(m, base, next);
    ctx.dirty++;
  }
  return was ? 1 : 0;
}

function getbit(ctx: Ctx): Reply {
  const offset = bitOffsetArg(ctx.argv[2]!);
  const m = readKey(ctx, ctx.argv[1]!, TYPE.string);
  const byte = Math.floor(offset / 8);
  if (!m || byte >= m.card) return 0;
  return (ctx.ks.getStringRange(m, byte, byte + 1)[0]! >> (7 - (offset % 8))) & 1;
}

// --- BITCOUNT BITPOS ---------------------------------------------------------------------

/** BITCOUNT key [start end [BYTE|BIT]]: reads only the rows of the range. */
function bitcount(ctx: Ctx): Reply {
  const argv = ctx.argv;
  const m = readKey(ctx, argv[1]!, TYPE.string);
  if (!m) return 0;
  let range: [number, number] | null;
  if (argv.length === 4 || argv.length === 5) {
    const start = indexArg(argv[2]!);
    const end = indexArg(argv[3]!);
    if (start < 0 && end < 0 && start > end) return 0;
    range = bitRange(m.card, start, end, argv.length === 5 && isBitUnit(argv[4]!));
  } else if (argv.length === 2) {
    range = bitRange(m.card, 0, -1, false);
  } else {
    fail(E.syntax);
  }
  if (!range) return 0;
  const [sbit, ebit] = range;
  const sb = Math.floor(sbit / 8);
  const eb = Math.floor(ebit / 8);
  let count = 0;
  let first = 0;
  let last = 0;
  forEachSlice(ctx, m, sb, eb + 1, (bytes, base) => {
    count += popcount(bytes);
    if (base === sb) first = bytes[0]!;
    if (base + bytes.length === eb + 1) last = bytes[bytes.length - 1]!;
  });
  // Take away the bits of the first and last byte that lie outside a BIT range.
  const before = first & ~(0xff >> (sbit & 7)) & 0xff;
  const after = last & ((1 << (7 - (ebit & 7))) - 1);
  return count - POPCOUNT[before]! - POPCOUNT[after]!;
}

/** BITPOS key bit [start [end [BYTE|BIT]]]. */
function bitpos(ctx: Ctx): Reply {
  const argv = ctx.argv;
  const bitArg = i64Arg(argv[2]!);
  if (bitArg !== 0n && bitArg !== 1n) fail("ERR The bit argument must be 1 or 0.");
  const bit = Number(bitArg);
  const m = readKey(ctx, argv[1]!, TYPE.string);
  if (!m) return bit ? -1 : 0;
  let range: [number, number] | null;
  let endGiven = false;
  if (argv.length >= 4 && argv.length <= 6) {
    const start = indexArg(argv[3]!);
    const isBit = argv.length === 6 && isBitUnit(argv[5]!);
    let end: number | null = null;
    if (argv.length >= 5) {
      end = indexArg(argv[4]!);
      endGiven = true;
    }
    range = bitRange(m.card, start, end, isBit);
  } else if (argv.length === 3) {
    range = bitRange(m.card, 0, -1, false);
  } else {
    fail(E.syntax);
  }
  if (!range) return -1;
  const [sbit, ebit] = range;
  const sb = Math.floor(sbit / 8);
  const eb = Math.floor(ebit / 8);
  const skip: 0 | 0xff = bit ? 0 : 0xff;
  let found = -1;
  forEachSlice(ctx, m, sb, eb + 1, (bytes, base) => {
    for (let i = 0; i < bytes.length; i++) {
      // A byte of only the other bit has none of the wanted ones, wherever the range cuts it.
      i = firstByteNot(bytes, skip, i);
      if (i === bytes.length) break;
      const at = base + i;
      const lo = at === sb ? sbit & 7 : 0;
      const hi = at === eb ? ebit & 7 : 7;
      const v = bytes[i]!;
      for (let k = lo; k <= hi; k++) {
        if (((v >> (7 - k)) & 1) === bit) {
          found = at * 8 + k;
          return true;
        }
      }
    }
  });
  if (found >= 0) return found;
  // Looking for a clear bit past the range's end: the value reads as zero-padded on the right.
  return bit === 1 || endGiven ? -1 : ebit + 1;
}

// --- BITOP -------------------------------------------------------------------------------

type BitOp = "and" | "or" | "xor" | "not";

/**
 * BITOP op dest src...: the result is as long as the longest source (≤ VALUE_BYTES_MAX, as
 * every source is); sources are read one row at a time; an empty result deletes dest.
 */
function bitop(ctx: Ctx): Reply {
  const argv = ctx.argv;
  const op = opt(argv[1]!);
  if (op !== "and" && op !== "or" && op !== "xor" && op !== "not") fail(E.syntax);
  if (op === "not" && argv.length !== 4) fail("ERR BITOP NOT must be called with a single source key.");
  const dest = argv[2]!;
  const sources: (KeyMeta | null)[] = [];
  let maxlen = 0;
  for (let j = 3; j < argv.length; j++) {
    const m = readKey(ctx, argv[j]!, TYPE.string);
    sources.push(m);
    if (m && m.card > maxlen) maxlen = m.card;
  }
  if (maxlen === 0) {
    const d = ctx.ks.lookupWrite(ctx.db, dest);
    if (d) {
      ctx.ks.deleteKey(d);
      ctx.dirty++;
    }
    return 0;
  }
  const out = new Uint8Array(maxlen);
  combine(ctx, op as BitOp, sources, out);
  const d = ctx.ks.lookupWrite(ctx.db, dest);
  if (d && d.type === TYPE.string) {
    ctx.ks.writeString(d, out);
    if (d.expireMs !== null) ctx.ks.setExpire(d, null);
  } else {
    if (d) ctx.ks.deleteKey(d);
    ctx.ks.createString(ctx.db, dest, out, null);
  }
  ctx.dirty++;
  return maxlen;
}

/** out[i] = op over the sources' byte i (missing bytes read as 0), row by row. */
function combine(ctx: Ctx, op: BitOp, sources: (KeyMeta | null)[], out: Uint8Array): void {
  for (let base = 0; base < out.length; base += ctx.ks.chunkBytes) {
    const end = Math.min(out.length, base + ctx.ks.chunkBytes);
    const slice = out.subarray(base, end);
    sources.forEach((m, j) => {
      const bytes = m && base < m.card ? ctx.ks.getStringRange(m, base, Math.min(end, m.card)) : new Uint8Array(0);
      if (j === 0) {
        slice.set(bytes, 0); // the rest of the row is already 0
        if (op === "not") invert(slice);
        return;
      }
      combineInto(op as "and" | "or" | "xor", slice, bytes);
    });
  }
}

// --- BITFIELD ----------------------------------------------------------------------------

interface FieldOp {
  kind: "get" | "set" | "incrby";
  offset: number;
  bits: number;
  signed: boolean;
  value: bigint;
  overflow: Overflow;
}

/** A BITFIELD type: i1..i64 or u1..u63. */
function fieldType(b: Uint8Array): { signed: boolean; bits: number } {
  const signed = b[0] === 0x69; // 'i'
  if (!signed && b[0] !== 0x75) fail(BITFIELD_TYPE_ERR); // 'u'
  const n = parseI64(b.subarray(1));
  if (n === null || n < 1n || n > (signed ? 64n : 63n)) fail(BITFIELD_TYPE_ERR);
  return { signed, bits: Number(n) };
}

function parseFieldOps(ctx: Ctx): FieldOp[] {
  const argv = ctx.argv;
  const ops: FieldOp[] = [];
  let overflow: Overflow = "wrap";
  for (let j = 2; j < argv.length; j++) {
    const rem = argv.length - j - 1;
    const sub = opt(argv[j]!);
    let kind: FieldOp["kind"];
    if (sub === "get" && rem >= 2) kind = "get";
    else if (sub === "set" && rem >= 3) kind = "set";
    else if (sub === "incrby" && rem >= 3) kind = "incrby";
    else if (sub === "overflow" && rem >= 1) {
      const o = opt(argv[++j]!);
      if (o !== "wrap" && o !== "sat" && o !== "fail") fail("ERR Invalid OVERFLOW type specified");
      overflow = o;
      continue;
    } else fail(E.syntax);
    const { signed, bits } = fieldType(argv[j + 1]!);
    const offset = bitOffsetArg(argv[j + 2]!, bits);
    const value = kind === "get" ? 0n : i64Arg(argv[j + 3]!);
    ops.push({ kind, offset, bits, signed, value, overflow });
    j += kind === "get" ? 2 : 3;
  }
  return ops;
}

/** Byte access to a string being changed: its rows are loaded on first touch, written back by flush(). */
class RowCache {
  private rows = new Map<number, Uint8Array>();
  private dirtyRows = new Set<number>();
  constructor(
    private ctx: Ctx,
    private m: KeyMeta,
  ) {}
  private row(c: number): Uint8Array {
    let r = this.rows.get(c);
    if (!r) {
      const base = c * this.ctx.ks.chunkBytes;
      r = this.ctx.ks.getStringRange(this.m, base, Math.min(this.m.card, base + this.ctx.ks.chunkBytes)).slice();
      this.rows.set(c, r);
    }
    return r;
  }
  get(i: number): number {
    if (i >= this.m.card) return 0;
    return this.row(Math.floor(i / this.ctx.ks.chunkBytes))[i % this.ctx.ks.chunkBytes]!;
  }
  set(i: number, v: number): void {
    const c = Math.floor(i / this.ctx.ks.chunkBytes);
    this.row(c)[i % this.ctx.ks.chunkBytes] = v;
    this.dirtyRows.add(c);
  }
  flush(): void {
    for (const c of [...this.dirtyRows].sort((a, b) => a - b)) this.ctx.ks.patchString(this.m, c * this.ctx.ks.chunkBytes, this.rows.get(c)!);
  }
}

function setField(c: RowCache, offset: number, bits: number, value: bigint): void {
  for (let j = 0; j < bits; j++, offset++) {
    const bit = Number((value >> BigInt(bits - 1 - j)) & 1n);
    const i = Math.floor(offset / 8);
    const mask = 1 << (7 - (offset % 8));
    c.set(i, bit ? c.get(i) | mask : c.get(i) & ~mask & 0xff);
  }
}

function bitfieldGeneric(ro: boolean) {
  return (ctx: Ctx): Reply => {
    const key = ctx.argv[1]!;
    const ops = parseFieldOps(ctx);
    const writes = ops.filter((o) => o.kind !== "get");
    if (writes.length === 0) {
      const m = readKey(ctx, key, TYPE.string);
      return ops.map((o) => {
        const byte = Math.floor(o.offset / 8);
        const bytes = m && byte < m.card ? ctx.ks.getStringRange(m, byte, Math.min(m.card, byte + 9)) : new Uint8Array(0);
        const u = getField((i) => bytes[i - byte] ?? 0, o.offset, o.bits);
        return intReply(o.signed ? toSigned(u, o.bits) : u);
      });
    }
    if (ro) fail("ERR BITFIELD_RO only supports the GET subcommand");
    let highest = -1;
    for (const o of writes) highest = Math.max(highest, o.offset + o.bits - 1);
    checkWritableByte(Math.floor(highest / 8));
    let m = writeKey(ctx, key, TYPE.string);
    const newLen = Math.floor(highest / 8) + 1;
    let grown = false;
    if (!m || m.card < newLen) {
      if (!m) m = ctx.ks.create(ctx.db, key, TYPE.string);
      ctx.ks.patchString(m, newLen - 1, Uint8Array.of(0)); // zero-fill up to the highest byte written
      grown = true;
    }
    const rows = new RowCache(ctx, m);
    const byteAt = (i: number) => rows.get(i);
    let changes = 0;
    const out: Reply[] = ops.map((o) => {
      const raw = getField(byteAt, o.offset, o.bits);
      if (o.kind === "get") return intReply(o.signed ? toSigned(raw, o.bits) : raw);
      const old = o.signed ? toSigned(raw, o.bits) : raw;
      let next: bigint;
      let overflowed: boolean;
      let wrapped: bigint;
      if (o.kind === "incrby") {
        [overflowed, wrapped] = checkOverflow(o.signed, old, o.value, o.bits, o.overflow);
        next = overflowed ? wrapped : old + o.value;
      } else {
        const v = o.signed ? o.value : BigInt.asUintN(64, o.value);
        [overflowed, wrapped] = checkOverflow(o.signed, v, 0n, o.bits, o.overflow);
        next = overflowed ? wrapped : v;
      }
      if (overflowed && o.overflow === "fail") return null;
      setField(rows, o.offset, o.bits, BigInt.asUintN(o.bits, next));
      if (grown || next !== old) changes++;
      return intReply(o.kind === "incrby" ? next : old);
    });
    rows.flush();
    ctx.dirty += changes > 0 ? changes : grown ? 1 : 0;
    return out;
  };
}

export const bitmapCommands: CommandSpec[] = [
  cmd("setbit", 4, ["write", "denyoom"], [1, 1, 1], setbit),
  cmd("getbit", 3, ["readonly", "fast"], [1, 1, 1], getbit),
  cmd("bitcount", -2, ["readonly"], [1, 1, 1], bitcount),
  cmd("bitpos", -3, ["readonly"], [1, 1, 1], bitpos),
  cmd("bitop", -4, ["write", "denyoom"], [2, -1, 1], bitop),
  cmd("bitfield", -2, ["write", "denyoom"], [1, 1, 1], bitfieldGeneric(false)),
  cmd("bitfield_ro", -2, ["readonly", "fast"], [1, 1, 1], bitfieldGeneric(true)),
];
