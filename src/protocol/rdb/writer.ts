/**
 * A streaming RDB writer: bytes go to a synchronous sink in chunks as keys are added,
 * so a snapshot of any size is written with one chunk of memory. It writes only what
 * every Redis from 5.0 on loads: header `REDIS0009` (or `REDIS0010`), AUX fields,
 * SELECTDB + RESIZEDB, EXPIRETIME_MS, the simple types 0 string, 1 list, 2 set, 4 hash,
 * 5 zset2, EOF and the CRC64 trailer (SPEC §3 "Snapshot format").
 *
 * Collections are streamed: `beginX(key, count, …)` states the element count up front
 * (the RDB length prefix), then exactly `count` elements follow, then `endKey()`.
 * Calling out of order, announcing zero elements or writing more or fewer elements than
 * announced is a programmer error and fails an assertion: such a file would be corrupt.
 *
 * Not checked (the caller's duty, or Redis refuses the file): no duplicate set members
 * or hash fields, keys unique per database.
 */
import { assert } from "../../util/assert.ts";
import { Crc64 } from "./crc64.ts";
import { RdbEnc, RdbLen, RdbOpcode, RdbType } from "./format.ts";

/** Where the bytes go. `write` must take the bytes before returning (it may keep the array). */
export interface RdbSink {
  write(bytes: Uint8Array): void;
}

export interface RdbWriterOptions {
  /** RDB version in the header; default 9 (loads in Redis 5.0–7.x and Valkey). */
  version?: 9 | 10;
  /** Size of the chunks handed to the sink; default RDB_WRITER_CHUNK_BYTES. */
  chunkBytes?: number;
}

/** Default chunk handed to the sink. Strings at least this large go to the sink as they are. */
export const RDB_WRITER_CHUNK_BYTES = 64 * 1024;

type CollectionKind = "list" | "set" | "zset" | "hash";

const COLLECTION_TYPE = {
  list: RdbType.LIST,
  set: RdbType.SET,
  zset: RdbType.ZSET_2,
  hash: RdbType.HASH,
} as const;

/** Longest string Redis tries to store as an integer (rdbTryIntegerEncoding). */
const INT_ENCODING_CHARS_MAX = 11;

export class RdbWriter {
  private readonly sink: RdbSink;
  private readonly version: 9 | 10;
  private readonly chunkBytes: number;
  private buf: Uint8Array;
  private dv: DataView;
  private n = 0;
  private readonly crc = new Crc64();
  private phase: "new" | "body" | "ended" = "new";
  private open: { kind: CollectionKind; remaining: number } | null = null;
  private written = 0;

  constructor(sink: RdbSink, opts: RdbWriterOptions = {}) {
    this.sink = sink;
    this.version = opts.version ?? 9;
    this.chunkBytes = opts.chunkBytes ?? RDB_WRITER_CHUNK_BYTES;
    assert(this.version === 9 || this.version === 10, "RDB version must be 9 or 10");
    assert(this.chunkBytes >= 64, "chunkBytes must be at least 64");
    this.buf = new Uint8Array(this.chunkBytes);
    this.dv = new DataView(this.buf.buffer);
  }

  /** Bytes handed to the sink so far (after `end()`: the file size). */
  get bytesWritten(): number {
    return this.written;
  }

  /**
   * Writes "REDIS000v" and the AUX fields, in the order given. Redis writes redis-ver,
   * redis-bits, ctime, used-mem, repl-stream-db, repl-id, repl-offset, aof-base;
   * integer values are stored int-encoded as Redis does (numbers or canonical decimal text).
   */
  header(aux: Readonly<Record<string, string | number>>): void {
    assert(this.phase === "new", "header() must come first, once");
    this.phase = "body";
    this.ascii(`REDIS${String(this.version).padStart(4, "0")}`);
    for (const [k, v] of Object.entries(aux)) {
      this.byte(RdbOpcode.AUX);
      this.string(asciiBytes(k));
      this.string(asciiBytes(typeof v === "number" ? String(v) : v));
    }
  }

  /**
   * A function library (RDB_OPCODE_FUNCTION2 and its code, as Redis 7.0 writes it right
   * after the AUX fields). Needs RDB version 10: redis-server 7.0 loads it.
   */
  functionLibrary(code: Uint8Array): void {
    this.assertBetweenKeys();
    assert(this.version >= 10, "function libraries need RDB version 10");
    this.byte(RdbOpcode.FUNCTION2);
    this.string(code);
  }

  /** SELECTDB, and RESIZEDB when `dbSize` is given (a hint for the loader). */
  selectDb(db: number, dbSize?: number, expiresSize = 0): void {
    this.assertBetweenKeys();
    assert(Number.isSafeInteger(db) && db >= 0, `bad db ${db}`);
    this.byte(RdbOpcode.SELECTDB);
    this.len(db);
    if (dbSize !== undefined) {
      this.byte(RdbOpcode.RESIZEDB);
      this.len(dbSize);
      this.len(expiresSize);
    }
  }

  /** A string key. `expireMs` is an absolute Unix time in milliseconds, or null. */
  stringKey(key: Uint8Array, value: Uint8Array, expireMs: number | null): void {
    this.keyHeader(RdbType.STRING, key, expireMs);
    this.string(value);
  }

  /** A list of `count` (> 0) elements; then `listItem` × count, then `endKey()`. */
  beginList(key: Uint8Array, count: number, expireMs: number | null): void {
    this.begin("list", key, count, expireMs);
  }

  listItem(value: Uint8Array): void {
    this.item("list");
    this.string(value);
  }

  /** A set of `count` (> 0) distinct members; then `setMember` × count, then `endKey()`. */
  beginSet(key: Uint8Array, count: number, expireMs: number | null): void {
    this.begin("set", key, count, expireMs);
  }

  setMember(member: Uint8Array): void {
    this.item("set");
    this.string(member);
  }

  /** A sorted set of `count` (> 0) distinct members; then `zsetMember` × count, then `endKey()`. */
  beginZset(key: Uint8Array, count: number, expireMs: number | null): void {
    this.begin("zset", key, count, expireMs);
  }

  /** A member and its score, stored as a little-endian binary double (ZSET_2). */
  zsetMember(member: Uint8Array, score: number): void {
    assert(!Number.isNaN(score), "zset score is NaN");
    this.item("zset");
    this.string(member);
    this.room(8);
    this.dv.setFloat64(this.n, score, true);
    this.n += 8;
  }

  /** A hash of `count` (> 0) distinct fields; then `hashField` × count, then `endKey()`. */
  beginHash(key: Uint8Array, count: number, expireMs: number | null): void {
    this.begin("hash", key, count, expireMs);
  }

  hashField(field: Uint8Array, value: Uint8Array): void {
    this.item("hash");
    this.string(field);
    this.string(value);
  }

  /** Closes the collection opened by `beginX`; all announced elements must have been written. */
  endKey(): void {
    const o = this.open;
    assert(o !== null, "endKey() without an open collection");
    assert(o.remaining === 0, `${o.kind} key ended with ${o.remaining} announced elements missing`);
    this.open = null;
  }

  /** Writes EOF and the CRC64 trailer, flushes, and returns the CRC in hex. */
  end(): string {
    this.assertBetweenKeys();
    this.byte(RdbOpcode.EOF);
    this.flushChunk();
    const hex = this.crc.hex();
    this.emit(this.crc.bytesLE(), false);
    this.phase = "ended";
    return hex;
  }

  /** Hands buffered bytes to the sink now (e.g. before awaiting an upload). */
  flush(): void {
    this.flushChunk();
  }

  /* --- keys --- */

  private assertBetweenKeys(): void {
    assert(this.phase === "body", `RDB writer is ${this.phase === "new" ? "before header()" : "ended"}`);
    assert(this.open === null, `${this.open?.kind} key still open: call endKey()`);
  }

  private keyHeader(type: number, key: Uint8Array, expireMs: number | null): void {
    this.assertBetweenKeys();
    if (expireMs !== null) {
      assert(Number.isSafeInteger(expireMs), `bad expireMs ${expireMs}`);
      this.byte(RdbOpcode.EXPIRETIME_MS);
      this.room(8);
      this.dv.setBigInt64(this.n, BigInt(expireMs), true);
      this.n += 8;
    }
    this.byte(type);
    this.string(key);
  }

  private begin(kind: CollectionKind, key: Uint8Array, count: number, expireMs: number | null): void {
    assert(Number.isSafeInteger(count) && count > 0, `${kind} must have at least one element (count ${count})`);
    this.keyHeader(COLLECTION_TYPE[kind], key, expireMs);
    this.len(count);
    this.open = { kind, remaining: count };
  }

  private item(kind: CollectionKind): void {
    const o = this.open;
    assert(o !== null && o.kind === kind, `${kind} element outside a ${kind} key`);
    assert(o.remaining > 0, `${kind} has more elements than announced`);
    o.remaining--;
  }

  /* --- encodings --- */

  private byte(b: number): void {
    this.room(1);
    this.buf[this.n++] = b;
  }

  private ascii(s: string): void {
    this.room(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.n++] = s.charCodeAt(i);
  }

  /** rdbSaveLen: 6-bit, 14-bit, 32-bit or 64-bit big-endian. */
  private len(v: number): void {
    assert(Number.isSafeInteger(v) && v >= 0, `bad length ${v}`);
    this.room(9);
    if (v < 1 << 6) {
      this.buf[this.n++] = v;
    } else if (v < 1 << 14) {
      this.buf[this.n++] = (RdbLen.BITS14 << 6) | (v >> 8);
      this.buf[this.n++] = v & 0xff;
    } else if (v <= 0xffffffff) {
      this.buf[this.n++] = RdbLen.BITS32;
      this.dv.setUint32(this.n, v, false);
      this.n += 4;
    } else {
      this.buf[this.n++] = RdbLen.BITS64;
      this.dv.setUint32(this.n, Math.floor(v / 2 ** 32), false);
      this.dv.setUint32(this.n + 4, v >>> 0, false);
      this.n += 8;
    }
  }

  /** rdbSaveRawString: int-encoded when the bytes are a canonical int32, else length + bytes. */
  private string(b: Uint8Array): void {
    const iv = canonicalInt32(b);
    if (iv !== null) {
      this.room(5);
      const ENC = RdbLen.ENCVAL << 6;
      if (iv >= -128 && iv <= 127) {
        this.buf[this.n++] = ENC | RdbEnc.INT8;
        this.dv.setInt8(this.n, iv);
        this.n += 1;
      } else if (iv >= -32768 && iv <= 32767) {
        this.buf[this.n++] = ENC | RdbEnc.INT16;
        this.dv.setInt16(this.n, iv, true);
        this.n += 2;
      } else {
        this.buf[this.n++] = ENC | RdbEnc.INT32;
        this.dv.setInt32(this.n, iv, true);
        this.n += 4;
      }
      return;
    }
    this.len(b.length);
    if (b.length <= this.buf.length - this.n) {
      this.buf.set(b, this.n);
      this.n += b.length;
    } else if (b.length < this.chunkBytes) {
      this.flushChunk();
      this.buf.set(b, 0);
      this.n = b.length;
    } else {
      this.flushChunk();
      this.emit(b, true);
    }
  }

  /* --- output --- */

  private room(k: number): void {
    if (this.n + k > this.buf.length) this.flushChunk();
  }

  private flushChunk(): void {
    if (this.n === 0) return;
    const out = this.buf.subarray(0, this.n);
    // The sink may keep `out`: never write into this array again.
    this.buf = new Uint8Array(this.chunkBytes);
    this.dv = new DataView(this.buf.buffer);
    this.n = 0;
    this.emit(out, true);
  }

  private emit(bytes: Uint8Array, crc: boolean): void {
    if (crc) this.crc.update(bytes);
    this.written += bytes.length;
    this.sink.write(bytes);
  }
}

/**
 * The value if `b` is the canonical decimal text of an int32 (what rdbTryIntegerEncoding
 * accepts: string2ll round-trips, fits the INT8/16/32 encodings), else null.
 */
function canonicalInt32(b: Uint8Array): number | null {
  const n = b.length;
  if (n === 0 || n > INT_ENCODING_CHARS_MAX) return null;
  let i = 0;
  const neg = b[0] === 0x2d;
  if (neg) {
    if (n === 1) return null;
    i = 1;
  }
  if (b[i] === 0x30) return n === 1 ? 0 : null; // "0" only: no leading zeros, no "-0"
  let v = 0;
  for (; i < n; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return null;
    v = v * 10 + d;
  }
  if (neg) v = -v;
  return v >= -2147483648 && v <= 2147483647 ? v : null;
}

function asciiBytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
