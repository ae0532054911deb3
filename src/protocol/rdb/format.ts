/**
 * RDB constants shared by the reader and the writer (Redis `src/rdb.h`), and the one error
 * type for bad RDB input. Byte layouts are described in /work/shared/research/redis.md §2.
 */

/** The RDB versions we accept when reading ("REDIS0001" … "REDIS0012"). */
export const RDB_VERSION_MIN = 1;
export const RDB_VERSION_MAX = 12;
/** From this version on, a CRC64 trailer follows the EOF opcode (rdb.c: `rdbver >= 5`). */
export const RDB_VERSION_CRC_MIN = 5;

/** Opcodes: bytes at the top level that are not value types. */
export const RdbOpcode = {
  SLOT_INFO: 0xf4,
  FUNCTION2: 0xf5,
  FUNCTION_PRE_GA: 0xf6,
  MODULE_AUX: 0xf7,
  IDLE: 0xf8,
  FREQ: 0xf9,
  AUX: 0xfa,
  RESIZEDB: 0xfb,
  EXPIRETIME_MS: 0xfc,
  EXPIRETIME: 0xfd,
  SELECTDB: 0xfe,
  EOF: 0xff,
} as const;

/** Value type bytes (the on-disk encodings; several map to one logical type). */
export const RdbType = {
  STRING: 0,
  LIST: 1,
  SET: 2,
  ZSET: 3,
  HASH: 4,
  ZSET_2: 5,
  MODULE_PRE_GA: 6,
  MODULE_2: 7,
  HASH_ZIPMAP: 9,
  LIST_ZIPLIST: 10,
  SET_INTSET: 11,
  ZSET_ZIPLIST: 12,
  HASH_ZIPLIST: 13,
  LIST_QUICKLIST: 14,
  STREAM_LISTPACKS: 15,
  HASH_LISTPACK: 16,
  ZSET_LISTPACK: 17,
  LIST_QUICKLIST_2: 18,
  STREAM_LISTPACKS_2: 19,
  SET_LISTPACK: 20,
  STREAM_LISTPACKS_3: 21,
} as const;

/** Length-prefix forms (rdb.h RDB_6BITLEN …); `ENCVAL` marks a specially encoded string. */
export const RdbLen = {
  BITS6: 0,
  BITS14: 1,
  BITS32: 0x80,
  BITS64: 0x81,
  ENCVAL: 3,
} as const;

/** Special string encodings that follow an ENCVAL length byte (low 6 bits). */
export const RdbEnc = {
  INT8: 0,
  INT16: 1,
  INT32: 2,
  LZF: 3,
} as const;

/** Quicklist-2 node containers (quicklist.h). */
export const QuicklistContainer = {
  PLAIN: 1,
  PACKED: 2,
} as const;

/** The logical value types our keyspace knows. */
export type RdbValueType = "string" | "list" | "set" | "zset" | "hash";

/** Bad RDB input: corrupt, truncated, wrong checksum, or a feature we do not load. */
export class RdbError extends Error {
  override name = "RdbError";
}

/** An integer as the decimal string bytes Redis would reply with ("-12" → 2d 31 32). */
export function decimalBytes(v: number | bigint): Uint8Array {
  const s = v.toString();
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
