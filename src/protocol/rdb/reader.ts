/**
 * An incremental, memory-bounded RDB parser. Feed it bytes in any split with `push()`,
 * pull events with `next()` until it returns `undefined` (it wants more bytes), and call
 * `finish()` when the input has ended (a file that stops early is an RdbError).
 *
 * Events come in file order: `header`, `aux`*, `function`*, then per database `db`,
 * `resize`?, and per key `key`, then the key's elements in batches (`values` for lists
 * and sets, `fields` for hashes, `members` for sorted sets), then `keyEnd`; last `end`.
 * A collection of a million elements is never held whole: the parser keeps at most one
 * RDB string (one element, or one listpack/ziplist/intset blob) plus the unread input.
 *
 * The idea: every step parses one unit (an opcode with its arguments, a key header, an
 * element, a quicklist node) from a cursor over the buffered bytes. A step that runs out
 * of bytes throws the private NEED_MORE marker; the cursor rewinds to the last committed
 * position and the step is retried after the next push. Steps change parser state only
 * after all of their reads succeeded, so a retry is always clean. The CRC64 covers every
 * committed byte up to and including the EOF opcode.
 */
import { Crc64 } from "./crc64.ts";
import {
  QuicklistContainer,
  RDB_VERSION_CRC_MIN,
  RDB_VERSION_MAX,
  RDB_VERSION_MIN,
  RdbEnc,
  RdbError,
  RdbOpcode,
  RdbType,
  type RdbValueType,
  decimalBytes,
} from "./format.ts";
import { decodeListpack } from "./listpack.ts";
import { lzfDecompress } from "./lzf.ts";
import { type ItemKind, decodeBlob, logicalType, parseScore } from "./values.ts";
import { decodeZiplist } from "./ziplist.ts";
import { str } from "../../util/bytes.ts";
import { ELEMENT_BYTES_MAX, KEY_BYTES_MAX, RDB_BLOB_BYTES_MAX, VALUE_BYTES_MAX } from "../../limits.ts";
/** Most elements per `values` / `fields` / `members` event. */
export const RDB_BATCH_ITEMS_MAX = 1024;

export type RdbEvent =
  | { t: "header"; version: number }
  /** An AUX field (redis-ver, repl-id, repl-offset, …); integer-encoded values as decimal text. */
  | { t: "aux"; key: string; value: string }
  /** A FUNCTION2 library (its source code); loading it is the caller's choice. */
  | { t: "function"; code: Uint8Array }
  | { t: "db"; db: number }
  /** RESIZEDB: a size hint for the current database. */
  | { t: "resize"; dbSize: number; expiresSize: number }
  /**
   * A key starts. `value` is set for strings only. `count` is the number of elements
   * (hash: pairs) when the encoding states it up front, else null (quicklists).
   * `rdbType` is the on-disk type byte (RdbType). A collection may end with no elements
   * at all (old files can hold empty ziplists): Redis drops such keys, so should you.
   */
  | {
      t: "key";
      db: number;
      key: Uint8Array;
      type: RdbValueType;
      rdbType: number;
      expireMs: number | null;
      count: number | null;
      value?: Uint8Array;
    }
  /** List elements (in order) or set members of the current key. */
  | { t: "values"; values: Uint8Array[] }
  /** Hash fields of the current key; `values[i]` belongs to `fields[i]`. */
  | { t: "fields"; fields: Uint8Array[]; values: Uint8Array[] }
  /** Sorted-set members of the current key; `scores[i]` belongs to `members[i]`. */
  | { t: "members"; members: Uint8Array[]; scores: number[] }
  | { t: "keyEnd" }
  /** EOF. `crc` is the verified checksum in hex, or null when the file carries none (0 or version < 5). */
  | { t: "end"; crc: string | null };

/**
 * What an RDB string is, for its size limit: the service's own limits apply while reading,
 * before anything is allocated (an LZF string's claimed length is checked before it is
 * decompressed), so a file cannot make a key no command could reach or a value no command
 * could have written.
 */
export type RdbStringKind = "key" | "value" | "element" | "blob";

/** Largest string of each kind, in bytes. */
export type RdbLimits = Record<RdbStringKind, number>;

/** The service's limits (src/limits.ts). */
export const RDB_DEFAULT_LIMITS: Readonly<RdbLimits> = Object.freeze({
  key: KEY_BYTES_MAX,
  value: VALUE_BYTES_MAX,
  element: ELEMENT_BYTES_MAX,
  blob: RDB_BLOB_BYTES_MAX,
});

/** How a refusal names each limit. */
const LIMIT_NAMES: Record<RdbStringKind, [what: string, limit: string]> = {
  key: ["key", "KEY_BYTES_MAX"],
  value: ["string value", "VALUE_BYTES_MAX"],
  element: ["collection element", "ELEMENT_BYTES_MAX"],
  blob: ["encoded string (listpack, ziplist, intset, zipmap, AUX or FUNCTION)", "RDB_BLOB_BYTES_MAX"],
};

export interface RdbReaderOptions {
  /** Size limits per kind of string; default RDB_DEFAULT_LIMITS. */
  limits?: Partial<RdbLimits>;
  /** Most elements per batch event; default RDB_BATCH_ITEMS_MAX. */
  batchItemsMax?: number;
}

type State =
  | { s: "header" }
  | { s: "top" }
  | { s: "keyEnd" }
  /** Elements of a plain (type 1–5) collection, one RDB string (or pair) each. */
  | { s: "plain"; rdbType: number; remaining: number }
  /** Elements already decoded from a blob, handed out in batches. */
  | {
      s: "pending";
      kind: ItemKind;
      items: Uint8Array[];
      scores: number[] | null;
      at: number;
      after: State;
    }
  /** Quicklist nodes still to read (v1: ziplists; v2: container + listpack or plain element). */
  | { s: "quicklist"; v2: boolean; remaining: number }
  | { s: "trailer" }
  | { s: "done" }
  | { s: "failed"; error: Error };

/** Immutable states and events, shared. */
const TOP_STATE: State = { s: "top" };
const KEY_END_STATE: State = { s: "keyEnd" };
const KEY_END: RdbEvent = Object.freeze({ t: "keyEnd" });

/** Thrown by reads that run past the buffered bytes; never escapes `next()`. */
const NEED_MORE = Symbol("need more");

const INITIAL_BUFFER_BYTES = 64 * 1024;
const MAGIC = "REDIS";

export class RdbReader {
  private buf = new Uint8Array(INITIAL_BUFFER_BYTES);
  /** Unconsumed bytes are buf[start, end); buf[crcPos, start) is consumed but not yet in the CRC. */
  private start = 0;
  private end = 0;
  private crcPos = 0;
  private pos = 0;
  private state: State = { s: "header" };
  private readonly crc = new Crc64();
  private readonly limits: RdbLimits;
  private readonly batchItemsMax: number;
  private version = 0;
  private db = 0;
  private expireMs: number | null = null;
  /** Bytes consumed so far (for error messages). */
  private offset = 0;

  constructor(opts: RdbReaderOptions = {}) {
    this.limits = { ...RDB_DEFAULT_LIMITS, ...opts.limits };
    this.batchItemsMax = opts.batchItemsMax ?? RDB_BATCH_ITEMS_MAX;
  }

  /** The RDB version from the header (0 until it has been read). */
  get rdbVersion(): number {
    return this.version;
  }

  /** True once the EOF opcode and the checksum have been read. */
  get done(): boolean {
    return this.state.s === "done";
  }

  /** Bytes of input buffer currently allocated (grows to about twice the largest string). */
  get bufferBytes(): number {
    return this.buf.length;
  }

  /** Adds input. The chunk is copied; the caller may reuse it. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.end + chunk.length > this.buf.length) this.makeRoom(chunk.length);
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** The next event, or undefined when more input is needed (or the file is done). */
  next(): RdbEvent | undefined {
    for (;;) {
      const st = this.state;
      if (st.s === "failed") throw st.error;
      if (st.s === "done") {
        this.maybeShrink();
        return undefined;
      }
      this.pos = this.start;
      let ev: RdbEvent | null;
      try {
        ev = this.step(st);
      } catch (e) {
        if (e === NEED_MORE) {
          this.pos = this.start;
          this.maybeShrink();
          return undefined;
        }
        const error =
          e instanceof RdbError
            ? new RdbError(`${e.message} (at byte ${this.offset + (this.pos - this.start)})`)
            : (e as Error);
        this.state = { s: "failed", error };
        throw error;
      }
      this.offset += this.pos - this.start;
      this.start = this.pos;
      if (ev) return ev;
    }
  }

  /** Declares the end of input; throws RdbError if the file is incomplete. */
  finish(): void {
    if (this.state.s === "failed") throw this.state.error;
    if (this.state.s !== "done") {
      const error = new RdbError(
        `truncated RDB: input ended at byte ${this.offset + (this.end - this.start)} while reading ${this.state.s}`,
      );
      this.state = { s: "failed", error };
      throw error;
    }
  }

  /** Bytes pushed after the end of the RDB (e.g. the replication stream that follows it). */
  leftover(): Uint8Array {
    return this.state.s === "done" ? this.buf.slice(this.start, this.end) : new Uint8Array(0);
  }

  /* --- buffer --- */

  private makeRoom(extra: number): void {
    this.flushCrc();
    const live = this.end - this.start;
    const need = live + extra;
    if (need <= this.buf.length && need * 4 > this.buf.length) {
      this.buf.copyWithin(0, this.start, this.end);
    } else {
      // Grow to twice what is needed (amortized copies), or shrink after a big string left.
      let cap = INITIAL_BUFFER_BYTES;
      while (cap < need * 2) cap *= 2;
      const nb = new Uint8Array(cap);
      nb.set(this.buf.subarray(this.start, this.end));
      this.buf = nb;
    }
    this.start = 0;
    this.crcPos = 0;
    this.pos = 0;
    this.end = live;
  }

  /** After a big string has been consumed, gives the memory back. */
  private maybeShrink(): void {
    if (this.buf.length > 4 * INITIAL_BUFFER_BYTES && (this.end - this.start) * 4 < this.buf.length) {
      this.makeRoom(0);
    }
  }

  private flushCrc(): void {
    if (this.start > this.crcPos && this.state.s !== "done") {
      this.crc.update(this.buf.subarray(this.crcPos, this.start));
    }
    this.crcPos = this.start;
  }

  /* --- primitive reads (throw NEED_MORE when short) --- */

  private u8(): number {
    if (this.pos >= this.end) throw NEED_MORE;
    return this.buf[this.pos++]!;
  }

  private view(n: number): Uint8Array {
    if (this.end - this.pos < n) throw NEED_MORE;
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  private dv(n: number): DataView {
    const v = this.view(n);
    return new DataView(v.buffer, v.byteOffset, n);
  }

  /** A length (rdbLoadLen); an encoded-string marker here is corruption. */
  private len(): number {
    const b = this.u8();
    switch (b >> 6) {
      case 0:
        return b & 0x3f;
      case 1:
        return ((b & 0x3f) << 8) | this.u8();
      case 2:
        if (b === 0x80) return this.dv(4).getUint32(0, false);
        if (b === 0x81) {
          const d = this.dv(8);
          const hi = d.getUint32(0, false);
          if (hi > 0x1fffff) throw new RdbError("length beyond 2^53");
          return hi * 2 ** 32 + d.getUint32(4, false);
        }
        throw new RdbError(`bad length byte 0x${b.toString(16)}`);
      default:
        throw new RdbError("encoded string where a length was expected");
    }
  }

  /**
   * An RDB string (rdbGenericLoadStringObject): raw, integer-encoded or LZF. A fresh copy.
   * Its length (an LZF string's compressed and claimed lengths) is checked against the
   * limit of its kind before the bytes are waited for or allocated.
   */
  private string(kind: RdbStringKind): Uint8Array {
    const b = this.u8();
    if (b >> 6 === 3) {
      switch (b & 0x3f) {
        case RdbEnc.INT8:
          return decimalBytes(this.dv(1).getInt8(0));
        case RdbEnc.INT16:
          return decimalBytes(this.dv(2).getInt16(0, true));
        case RdbEnc.INT32:
          return decimalBytes(this.dv(4).getInt32(0, true));
        case RdbEnc.LZF: {
          const clen = this.len();
          const ulen = this.len();
          this.checkStringLen(kind, ulen);
          // Compressed data is never longer than what it expands to (else it is stored raw).
          if (clen > ulen) throw new RdbError(`LZF string of ${clen} bytes claims to expand to only ${ulen}`);
          return lzfDecompress(this.view(clen), ulen);
        }
        default:
          throw new RdbError(`unknown string encoding ${b & 0x3f}`);
      }
    }
    this.pos--;
    const n = this.len();
    this.checkStringLen(kind, n);
    return this.view(n).slice();
  }

  private checkStringLen(kind: RdbStringKind, n: number): void {
    const max = this.limits[kind];
    if (n > max) {
      const [what, name] = LIMIT_NAMES[kind];
      throw new RdbError(`${what} of ${n} bytes exceeds ${name} (${max} bytes)`);
    }
  }

  /** Elements decoded from a blob are elements too. */
  private checkElements(items: Uint8Array[]): void {
    for (const x of items) this.checkStringLen("element", x.length);
  }

  /** A zset score: binary double (ZSET_2) or the old length-prefixed text form (ZSET). */
  private score(binary: boolean): number {
    let v: number;
    if (binary) {
      v = this.dv(8).getFloat64(0, true);
    } else {
      const n = this.u8();
      if (n === 253) v = Number.NaN;
      else if (n === 254) v = Infinity;
      else if (n === 255) v = -Infinity;
      else v = parseScore(this.view(n));
    }
    if (Number.isNaN(v)) throw new RdbError("zset with NaN score");
    return v;
  }

  /* --- steps --- */

  private step(st: State): RdbEvent | null {
    switch (st.s) {
      case "header":
        return this.stepHeader();
      case "top":
        return this.stepTop();
      case "keyEnd":
        this.state = TOP_STATE;
        return KEY_END;
      case "plain":
        return this.stepPlain(st);
      case "pending":
        return this.stepPending(st);
      case "quicklist":
        return this.stepQuicklist(st);
      case "trailer":
        return this.stepTrailer();
      case "done":
      case "failed":
        return null;
    }
  }

  private stepHeader(): RdbEvent {
    const h = this.view(9);
    const text = String.fromCharCode(...h);
    if (!text.startsWith(MAGIC)) throw new RdbError("not an RDB file (no REDIS magic)");
    const digits = text.slice(5);
    const version = /^\d{4}$/.test(digits) ? Number(digits) : Number.NaN;
    if (!(version >= RDB_VERSION_MIN && version <= RDB_VERSION_MAX)) {
      throw new RdbError(
        `can't handle RDB format version ${JSON.stringify(digits)} (accepted: ${RDB_VERSION_MIN}–${RDB_VERSION_MAX})`,
      );
    }
    this.version = version;
    this.state = TOP_STATE;
    return { t: "header", version };
  }

  private stepTop(): RdbEvent | null {
    const op = this.u8();
    switch (op) {
      case RdbOpcode.AUX: {
        const k = this.string("blob");
        const v = this.string("blob");
        return { t: "aux", key: str(k), value: str(v) };
      }
      case RdbOpcode.SELECTDB: {
        const db = this.len();
        this.db = db;
        return { t: "db", db };
      }
      case RdbOpcode.RESIZEDB: {
        const dbSize = this.len();
        const expiresSize = this.len();
        return { t: "resize", dbSize, expiresSize };
      }
      case RdbOpcode.EXPIRETIME_MS: {
        // Little-endian since RDB 9; older files were native-endian, in practice little.
        this.expireMs = Number(this.dv(8).getBigInt64(0, true));
        return null;
      }
      case RdbOpcode.EXPIRETIME: {
        this.expireMs = this.dv(4).getInt32(0, true) * 1000;
        return null;
      }
      case RdbOpcode.IDLE:
        this.len();
        return null;
      case RdbOpcode.FREQ:
        this.u8();
        return null;
      case RdbOpcode.SLOT_INFO:
        this.len();
        this.len();
        this.len();
        return null;
      case RdbOpcode.FUNCTION2:
        return { t: "function", code: this.string("blob") };
      case RdbOpcode.FUNCTION_PRE_GA:
        throw new RdbError("pre-release FUNCTION opcode (Redis 7.0 RC) is not supported");
      case RdbOpcode.MODULE_AUX:
        throw new RdbError("module auxiliary data (MODULE_AUX) is not supported: the RDB needs Redis modules");
      case RdbOpcode.EOF:
        this.state = { s: "trailer" };
        return null;
      default:
        return this.stepKey(op);
    }
  }

  /** A key: type byte already read; reads the key and whatever of the value comes at once. */
  private stepKey(rdbType: number): RdbEvent {
    const type = logicalType(rdbType);
    const key = this.string("key");
    let count: number | null = null;
    let value: Uint8Array | undefined;
    let next: State;
    switch (rdbType) {
      case RdbType.STRING:
        value = this.string("value");
        next = KEY_END_STATE;
        break;
      case RdbType.LIST:
      case RdbType.SET:
      case RdbType.ZSET:
      case RdbType.HASH:
      case RdbType.ZSET_2:
        count = this.len();
        next = count > 0 ? { s: "plain", rdbType, remaining: count } : KEY_END_STATE;
        break;
      case RdbType.LIST_QUICKLIST:
      case RdbType.LIST_QUICKLIST_2: {
        const nodes = this.len();
        next =
          nodes > 0
            ? { s: "quicklist", v2: rdbType === RdbType.LIST_QUICKLIST_2, remaining: nodes }
            : KEY_END_STATE;
        break;
      }
      default: {
        const p = decodeBlob(rdbType, this.string("blob"));
        this.checkElements(p.items);
        count = p.kind === "values" ? p.items.length : p.items.length / 2;
        next = { s: "pending", kind: p.kind, items: p.items, scores: p.scores, at: 0, after: KEY_END_STATE };
        break;
      }
    }
    const ev: RdbEvent = { t: "key", db: this.db, key, type, rdbType, expireMs: this.expireMs, count, value };
    this.expireMs = null;
    this.state = next;
    return ev;
  }

  private stepPlain(st: Extract<State, { s: "plain" }>): RdbEvent {
    const a: Uint8Array[] = [];
    const b: Uint8Array[] = [];
    const scores: number[] = [];
    const max = this.batchItemsMax;
    const rdbType = st.rdbType;
    let good = this.pos;
    try {
      while (st.remaining > 0 && a.length < max) {
        const x = this.string("element");
        if (rdbType === RdbType.HASH) {
          b.push(this.string("element"));
        } else if (rdbType === RdbType.ZSET_2 || rdbType === RdbType.ZSET) {
          scores.push(this.score(rdbType === RdbType.ZSET_2));
        }
        a.push(x);
        st.remaining--;
        good = this.pos;
      }
    } catch (e) {
      if (e !== NEED_MORE || a.length === 0) throw e;
      this.pos = good;
    }
    if (st.remaining === 0) this.state = KEY_END_STATE;
    switch (rdbType) {
      case RdbType.HASH:
        return { t: "fields", fields: a, values: b };
      case RdbType.ZSET:
      case RdbType.ZSET_2:
        return { t: "members", members: a, scores };
      default:
        return { t: "values", values: a };
    }
  }

  private stepPending(st: Extract<State, { s: "pending" }>): RdbEvent | null {
    const per = st.kind === "values" ? 1 : 2;
    const total = st.items.length / per;
    if (st.at >= total) {
      this.state = st.after;
      return null;
    }
    const from = st.at;
    const to = Math.min(total, from + this.batchItemsMax);
    st.at = to;
    if (st.kind === "values") return { t: "values", values: st.items.slice(from, to) };
    const a: Uint8Array[] = [];
    const b: Uint8Array[] = [];
    for (let i = from; i < to; i++) {
      a.push(st.items[2 * i]!);
      b.push(st.items[2 * i + 1]!);
    }
    if (st.kind === "fields") return { t: "fields", fields: a, values: b };
    return { t: "members", members: a, scores: st.scores!.slice(from, to) };
  }

  private stepQuicklist(st: Extract<State, { s: "quicklist" }>): RdbEvent | null {
    let items: Uint8Array[];
    if (st.v2) {
      const container = this.len();
      if (container === QuicklistContainer.PLAIN) items = [this.string("element")];
      else if (container === QuicklistContainer.PACKED) items = decodeListpack(this.string("blob"));
      else throw new RdbError(`quicklist node with unknown container ${container}`);
    } else {
      items = decodeZiplist(this.string("blob"));
    }
    this.checkElements(items);
    const after: State =
      st.remaining > 1 ? { s: "quicklist", v2: st.v2, remaining: st.remaining - 1 } : KEY_END_STATE;
    this.state = { s: "pending", kind: "values", items, scores: null, at: 0, after };
    return null;
  }

  private stepTrailer(): RdbEvent {
    // The EOF opcode is consumed: bring the CRC up to date before reading the trailer.
    this.flushCrc();
    if (this.version < RDB_VERSION_CRC_MIN) {
      this.state = { s: "done" };
      return { t: "end", crc: null };
    }
    const trailer = this.view(8);
    const zero = trailer.every((x) => x === 0);
    if (!zero && !this.crc.matchesLE(trailer)) {
      let stored = "";
      for (let i = 7; i >= 0; i--) stored += trailer[i]!.toString(16).padStart(2, "0");
      throw new RdbError(`RDB checksum mismatch: file says ${stored}, content gives ${this.crc.hex()}`);
    }
    this.state = { s: "done" };
    return { t: "end", crc: zero ? null : this.crc.hex() };
  }
}

/**
 * Reads a whole RDB from an async source of chunks (a ReadableStream in Node 20 and workerd
 * is one), yielding events; throws RdbError when it is corrupt or ends early.
 */
export async function* readRdb(
  source: AsyncIterable<Uint8Array>,
  opts?: RdbReaderOptions,
): AsyncGenerator<RdbEvent> {
  const r = new RdbReader(opts);
  for await (const chunk of source) {
    r.push(chunk);
    for (let ev = r.next(); ev; ev = r.next()) yield ev;
  }
  for (let ev = r.next(); ev; ev = r.next()) yield ev;
  r.finish();
}

/** Reads a whole in-memory RDB, yielding events (for tools and tests). */
export function* readRdbBytes(bytes: Uint8Array, opts?: RdbReaderOptions): Generator<RdbEvent> {
  const r = new RdbReader(opts);
  r.push(bytes);
  for (let ev = r.next(); ev; ev = r.next()) yield ev;
  r.finish();
}
