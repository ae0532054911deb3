/**
 * DUMP and RESTORE with Redis's payload: the RDB serialization of one value (type byte and
 * value, as in an RDB file), the RDB version as two little-endian bytes (10, Redis 7.0's),
 * and the CRC64 of everything before it, eight bytes little-endian (Redis's createDumpPayload).
 *
 * Both directions reuse the snapshot's RDB code (src/protocol/rdb/): DUMP writes a one-key
 * file with an empty key name through RdbWriter and cuts the value out of it; RESTORE wraps
 * the value into a one-key file and reads it with the streaming reader, so every encoding
 * redis-server produces (listpack, intset, quicklist, ziplist…) is accepted, within the
 * reader's size limits. Our payloads use the plain encodings (types 0 1 2 4 5), which every
 * Redis since 5.0 restores. A RESTOREd value is checked whole (duplicates, empty
 * collections) before anything is written: a bad payload changes nothing.
 */
import { appendAll } from "../../util/arrays.ts";
import { RdbError, RdbWriter, crc64, readRdbBytes } from "../../protocol/rdb/index.ts";
import { RDB_VERSION_MAX } from "../../protocol/rdb/format.ts";
import { OK, type Reply } from "../../protocol/reply.ts";
import { concat, own } from "../../util/bytes.ts";
import { i64Arg, opt } from "../args.ts";
import { type CommandSpec, type Ctx, cmd } from "../command.ts";
import { E, fail } from "../errors.ts";
import { TYPE, type TypeCode } from "../schema.ts";
import type { KeyMeta } from "../store.ts";

/** The RDB version DUMP writes (Redis 7.0's RDB_VERSION). RESTORE accepts up to this one. */
const DUMP_RDB_VERSION = 10;
/** Largest DUMP payload built (it must fit a RESTORE argument back). */
export const DUMP_PAYLOAD_BYTES_MAX = 16 * 1024 * 1024;
const FILE_HEADER = new TextEncoder().encode(`REDIS00${DUMP_RDB_VERSION}`);

/** The payload of a key: RDB value + version + CRC64 (createDumpPayload). */
export function dumpPayload(ctx: Ctx, m: KeyMeta): Uint8Array {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const w = new RdbWriter(
    {
      write: (b) => {
        size += b.length;
        if (size > DUMP_PAYLOAD_BYTES_MAX + FILE_HEADER.length + 16) fail(`ERR DUMP payload exceeds the limit of ${DUMP_PAYLOAD_BYTES_MAX} bytes`);
        chunks.push(b.slice());
      },
    },
    { version: DUMP_RDB_VERSION },
  );
  w.header({});
  const empty = new Uint8Array(0);
  const ks = ctx.ks;
  switch (m.type) {
    case TYPE.string:
      w.stringKey(empty, ks.getString(m), null);
      break;
    case TYPE.list:
      w.beginList(empty, m.card, null);
      for (const v of ks.elements(m)) w.listItem(v as Uint8Array);
      w.endKey();
      break;
    case TYPE.set:
      w.beginSet(empty, m.card, null);
      for (const v of ks.elements(m)) w.setMember(v as Uint8Array);
      w.endKey();
      break;
    case TYPE.zset:
      w.beginZset(empty, m.card, null);
      for (const [member, score] of ks.elements(m) as Iterable<[Uint8Array, number]>) w.zsetMember(member, score);
      w.endKey();
      break;
    case TYPE.hash:
      w.beginHash(empty, m.card, null);
      for (const [f, v] of ks.elements(m) as Iterable<[Uint8Array, Uint8Array]>) w.hashField(f, v);
      w.endKey();
      break;
  }
  w.end();
  const file = concat(chunks);
  // "REDIS0010" | type | key "" (one 0x00 length byte) | value | EOF | CRC64
  const typeAndValue = concat([file.subarray(FILE_HEADER.length, FILE_HEADER.length + 1), file.subarray(FILE_HEADER.length + 2, file.length - 9)]);
  const body = concat([typeAndValue, new Uint8Array([DUMP_RDB_VERSION & 0xff, DUMP_RDB_VERSION >> 8])]);
  return concat([body, crcLE(crc64(0n, body))]);
}

function crcLE(c: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, c, true);
  return out;
}

/** verifyDumpPayload: at least version + CRC, a version we read, a matching CRC. */
function verifyPayload(p: Uint8Array): boolean {
  if (p.length < 10) return false;
  const version = p[p.length - 10]! | (p[p.length - 9]! << 8);
  if (version > Math.min(RDB_VERSION_MAX, DUMP_RDB_VERSION)) return false;
  const want = new DataView(p.buffer, p.byteOffset + p.length - 8, 8).getBigUint64(0, true);
  return crc64(0n, p.subarray(0, p.length - 8)) === want;
}

/** A decoded value, checked whole before it is written. */
type Decoded =
  | { type: typeof TYPE.string; value: Uint8Array }
  | { type: typeof TYPE.list; values: Uint8Array[] }
  | { type: typeof TYPE.set; values: Uint8Array[] }
  | { type: typeof TYPE.hash; fields: Uint8Array[]; values: Uint8Array[] }
  | { type: typeof TYPE.zset; members: Uint8Array[]; scores: number[] };

const BAD = "ERR Bad data format";
const latin = new TextDecoder("latin1");

function distinct(xs: Uint8Array[]): boolean {
  return new Set(xs.map((x) => latin.decode(x))).size === xs.length;
}

/** The value of a payload (already verified), or ERR Bad data format. */
function decodePayload(p: Uint8Array): Decoded {
  const value = p.subarray(0, p.length - 10);
  if (value.length < 1) fail(BAD);
  // A one-key RDB file: header, the type byte, an empty key name, the value, EOF, no CRC (0).
  const file = concat([FILE_HEADER, value.subarray(0, 1), new Uint8Array([0]), value.subarray(1), new Uint8Array([0xff, 0, 0, 0, 0, 0, 0, 0, 0])]);
  let out: Decoded | null = null;
  let keys = 0;
  let ended = false;
  try {
    for (const ev of readRdbBytes(file)) {
      switch (ev.t) {
        case "key":
          keys++;
          if (ev.type === "string") out = { type: TYPE.string, value: ev.value! };
          else if (ev.type === "list") out = { type: TYPE.list, values: [] };
          else if (ev.type === "set") out = { type: TYPE.set, values: [] };
          else if (ev.type === "hash") out = { type: TYPE.hash, fields: [], values: [] };
          else out = { type: TYPE.zset, members: [], scores: [] };
          break;
        case "values":
          if (out?.type === TYPE.list || out?.type === TYPE.set) appendAll(out.values, ev.values);
          break;
        case "fields":
          if (out?.type === TYPE.hash) {
            appendAll(out.fields, ev.fields);
            appendAll(out.values, ev.values);
          }
          break;
        case "members":
          if (out?.type === TYPE.zset) {
            appendAll(out.members, ev.members);
            appendAll(out.scores, ev.scores);
          }
          break;
        case "end":
          ended = true;
          break;
        case "header":
        case "aux":
        case "db":
        case "resize":
        case "keyEnd":
        case "function":
          break;
      }
    }
  } catch (e) {
    if (e instanceof RdbError) fail(BAD);
    throw e;
  }
  if (!out || keys !== 1 || !ended) fail(BAD);
  switch (out.type) {
    case TYPE.string:
      break;
    case TYPE.list:
      if (!out.values.length) fail(BAD);
      break;
    case TYPE.set:
      if (!out.values.length || !distinct(out.values)) fail(BAD);
      break;
    case TYPE.hash:
      if (!out.fields.length || !distinct(out.fields)) fail(BAD);
      break;
    case TYPE.zset:
      if (!out.members.length || !distinct(out.members) || out.scores.some((s) => Number.isNaN(s))) fail(BAD);
      break;
  }
  return out;
}

function store(ctx: Ctx, key: Uint8Array, d: Decoded, expireMs: number | null): void {
  const ks = ctx.ks;
  if (d.type === TYPE.string) {
    ks.createString(ctx.db, key, d.value, expireMs);
    return;
  }
  const m = ks.create(ctx.db, key, d.type as TypeCode, expireMs);
  const sql = ks.sql;
  switch (d.type) {
    case TYPE.list:
      d.values.forEach((v, i) => sql.exec("INSERT INTO kv_list (kid, pos, value) VALUES (?, ?, ?)", m.id, i, own(v)));
      m.lhead = 0;
      m.ltail = d.values.length;
      m.card = d.values.length;
      break;
    case TYPE.set:
      for (const v of d.values) sql.exec("INSERT INTO kv_set (kid, member) VALUES (?, ?)", m.id, own(v));
      m.card = d.values.length;
      break;
    case TYPE.hash:
      d.fields.forEach((f, i) => sql.exec("INSERT INTO kv_hash (kid, field, value) VALUES (?, ?, ?)", m.id, own(f), own(d.values[i]!)));
      m.card = d.fields.length;
      break;
    case TYPE.zset:
      // + 0: Redis's zset stores -0 as 0 on load too (zzlInsert of a double formatted back).
      d.members.forEach((x, i) => sql.exec("INSERT INTO kv_zset (kid, member, score) VALUES (?, ?, ?)", m.id, own(x), d.scores[i]! + 0));
      m.card = d.members.length;
      break;
  }
  ks.saveCollection(m);
}

function dump(ctx: Ctx): Reply {
  const m = ctx.ks.lookupRead(ctx.db, ctx.argv[1]!);
  return m ? ctx.ks.charged(dumpPayload(ctx, m)) : null;
}

/** RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f] (restoreCommand's order of checks). */
function restore(ctx: Ctx): Reply {
  const argv = ctx.argv;
  let replace = false;
  let absttl = false;
  let idle = -1n;
  let freq = -1n;
  for (let j = 4; j < argv.length; j++) {
    const o = opt(argv[j]!);
    const more = argv.length - j - 1;
    if (o === "replace") replace = true;
    else if (o === "absttl") absttl = true;
    else if (o === "idletime" && more >= 1 && freq === -1n) {
      idle = i64Arg(argv[++j]!);
      if (idle < 0n) fail("ERR Invalid IDLETIME value, must be >= 0");
    } else if (o === "freq" && more >= 1 && idle === -1n) {
      freq = i64Arg(argv[++j]!);
      if (freq < 0n || freq > 255n) fail("ERR Invalid FREQ value, must be >= 0 and <= 255");
    } else fail(E.syntax);
  }
  const key = argv[1]!;
  const existing = ctx.ks.lookupWrite(ctx.db, key);
  if (!replace && existing) fail("BUSYKEY Target key name already exists.");
  let ttl = i64Arg(argv[2]!);
  if (ttl < 0n) fail("ERR Invalid TTL value, must be >= 0");
  if (!verifyPayload(argv[3]!)) fail("ERR DUMP payload version or checksum are wrong");
  const d = decodePayload(argv[3]!);
  if (existing) ctx.ks.deleteKey(existing);
  if (ttl && !absttl) ttl += BigInt(ctx.now);
  if (ttl && Number(ttl) <= ctx.now && ctx.ks.expiryMode === "master") {
    // Already expired: nothing is created; a replaced key is deleted (propagated as DEL).
    if (existing) {
      ctx.dirty++;
      ctx.rewrite(["DEL", key]);
    }
    return OK;
  }
  store(ctx, key, d, ttl ? Number(ttl) : null);
  if (ttl && !absttl) {
    // Propagated with an absolute TTL, so a replica expires it at the same instant.
    const rewritten: (Uint8Array | string)[] = [...argv];
    rewritten[2] = String(ttl);
    rewritten.push("ABSTTL");
    ctx.rewrite(rewritten);
  }
  ctx.dirty++;
  return OK;
}

export const dumpCommands: CommandSpec[] = [
  cmd("dump", 2, ["readonly"], [1, 1, 1], dump),
  cmd("restore", -4, ["write", "denyoom"], [1, 1, 1], restore, ["write", "dangerous"]),
];
