/**
 * Incremental RESP parser: input arrives split at any byte boundary (WebSocket frames and
 * TCP reads carry no meaning) and every byte is examined a bounded number of times, however
 * finely it is split.
 *
 * The idea: the parser is a resumable state machine. Input bytes live in one growable
 * buffer that is appended to in place (grown geometrically, compacted once as much has been
 * consumed as is left), so a push never copies the whole backlog. Whatever has been parsed
 * is consumed at once: the arguments of an unfinished command are kept, the search for the
 * end of a line resumes where it stopped, and a bulk's payload is waited for by length.
 * Invariant: `examinedBytes` (bytes searched or copied) stays within a small constant times
 * the bytes pushed; the tests assert it.
 *
 * What one connection may hold is bounded as in Redis: a line without its end (inline
 * command, `*N`, `$N`) at most INLINE_BYTES_MAX, an unfinished command at most
 * QUERY_BUFFER_BYTES_MAX; above either the parser throws ProtocolError, the caller replies
 * with the error and closes the connection. Error texts are Redis 7.0's (networking.c).
 */
import { QUERY_BUFFER_BYTES_MAX, RESP_ARG_OVERHEAD_BYTES } from "../limits.ts";
import { parseI64 } from "../util/numbers.ts";
import { RedisError, Simple } from "./reply.ts";

/** Largest bulk string accepted from a client (Redis: proto-max-bulk-len). */
export const BULK_BYTES_MAX = 32 * 1024 * 1024;
/** Most elements in one multibulk request (Redis before 7.0: 1024*1024). */
export const MULTIBULK_ITEMS_MAX = 1024 * 1024;
/** Longest inline command or header line without its end (Redis: PROTO_INLINE_MAX_SIZE). */
export const INLINE_BYTES_MAX = 64 * 1024;
/** Deepest nesting of aggregates in a reply. */
export const REPLY_DEPTH_MAX = 64;
/** A bulk at least this big that fills the input buffer is handed over without a copy (Redis: PROTO_MBULK_BIG_ARG). */
const BIG_ARG_BYTES = 32 * 1024;
/** Smallest input buffer allocated. */
const BUFFER_BYTES_MIN = 4096;
/** An emptied input buffer larger than this is released instead of kept for the next input. */
const BUFFER_KEEP_BYTES_MAX = 64 * 1024;

const BULK_MAX = BigInt(BULK_BYTES_MAX);
const ITEMS_MAX = BigInt(MULTIBULK_ITEMS_MAX);
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const EMPTY = new Uint8Array(0);

/** A value parsed from RESP input. Requests are always `Uint8Array[]`. */
export type RespValue = Uint8Array | null | number | bigint | Simple | RedisError | RespValue[];

/** Protocol errors close the connection, as in Redis. */
export class ProtocolError extends Error {}

/**
 * "request": what clients (and a master's stream) send: multibulk and inline commands,
 * yielding `Uint8Array[]`. "reply": every RESP2/RESP3 type, as a client reads replies.
 */
export type RespMode = "request" | "reply";

export interface RespParserOptions {
  /** Most bytes an unfinished value may hold (default: QUERY_BUFFER_BYTES_MAX for requests, none for replies). */
  queryBytesMax?: number;
}

/** How a line ends: Redis's inline commands at "\n", its headers at the first "\r" (the next byte is skipped unread), replies at "\r\n". */
type LineEnd = "lf" | "cr" | "crlf";

/** An aggregate being filled. */
interface Frame {
  items: RespValue[];
  left: number;
}

/** Results of one step besides a complete value. */
const MORE = Symbol("more input needed");
const OPENED = Symbol("header consumed");
type Step = RespValue | typeof MORE | typeof OPENED;

/**
 * `push()` input, then call `next()` until it returns undefined. `lastBytes` is the raw
 * size of the value last returned. After a ProtocolError the parser is dead: every later
 * `next()` throws the same error.
 */
export class RespParser {
  private buf: Uint8Array = EMPTY;
  private start = 0;
  private end = 0;
  /** Whether `buf` is ours to write into (a pushed chunk is adopted read-only when nothing else is buffered). */
  private owned = false;
  /** Bytes of the current line already searched for its end. */
  private scanned = 0;
  /** Aggregates being filled, outermost first (a request's multibulk is the only frame). */
  private readonly stack: Frame[] = [];
  /** Elements parsed so far into the unfinished value (charged RESP_ARG_OVERHEAD_BYTES each). */
  private parsedItems = 0;
  /** Length of the bulk whose payload is awaited, or -1; and its type byte. */
  private bulkLen = -1;
  private bulkType = 0;
  /** Bytes consumed since the parser was made, and where the unfinished value began (-1: none). */
  private consumed = 0;
  private valueStart = -1;
  private failed: ProtocolError | null = null;
  private readonly queryBytesMax: number;

  /** Raw size of the value last returned by next(). */
  lastBytes = 0;
  /** Bytes searched or copied so far: the parser's work, for tests that it stays linear. */
  examinedBytes = 0;

  constructor(
    private readonly mode: RespMode = "request",
    opts: RespParserOptions = {},
  ) {
    this.queryBytesMax = opts.queryBytesMax ?? (mode === "request" ? QUERY_BUFFER_BYTES_MAX : Number.POSITIVE_INFINITY);
  }

  /** Raw bytes received and not yet returned as a value (including the parsed part of an unfinished one). */
  get buffered(): number {
    return (this.valueStart < 0 ? 0 : this.consumed - this.valueStart) + this.end - this.start;
  }

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    if (n === 0 || this.failed) return;
    const live = this.end - this.start;
    if (this.owned && this.buf.length - this.end >= n) {
      this.buf.set(chunk, this.end);
      this.end += n;
      this.examinedBytes += n;
      return;
    }
    if (live === 0) {
      // Nothing waiting: parse the chunk where it is.
      this.buf = chunk;
      this.start = 0;
      this.end = n;
      this.owned = false;
      return;
    }
    const need = live + n;
    if (this.owned && this.buf.length >= need && this.start >= live) {
      // At least as much consumed as is left: moving the rest down is paid for by the consumed bytes.
      this.buf.copyWithin(0, this.start, this.end);
    } else {
      let cap = Math.max(2 * need, BUFFER_BYTES_MIN);
      // Awaiting a bulk's payload (which starts at `start`): no more room than the payload needs,
      // so a 32 MiB argument costs 32 MiB, and the full buffer can be handed over uncopied.
      if (this.bulkLen >= 0) cap = Math.max(need, Math.min(cap, this.bulkLen + 2));
      const nb = new Uint8Array(cap);
      nb.set(this.buf.subarray(this.start, this.end));
      this.buf = nb;
      this.owned = true;
    }
    this.buf.set(chunk, live);
    this.start = 0;
    this.end = need;
    this.examinedBytes += need;
  }

  /** The next complete value, or undefined when more input is needed. Throws ProtocolError. */
  next(): RespValue | undefined {
    if (this.failed) throw this.failed;
    try {
      return this.step();
    } catch (e) {
      if (e instanceof ProtocolError) this.failed = e;
      throw e;
    }
  }

  private step(): RespValue | undefined {
    while (true) {
      let v: Step;
      if (this.bulkLen >= 0) {
        v = this.bulk();
      } else {
        if (this.start === this.end) return this.wait();
        if (this.valueStart < 0) {
          // A bare "\n" is a keepalive from a master preparing a snapshot; not part of any value.
          if (this.mode === "reply" && this.buf[this.start] === 10) {
            this.consume(1);
            continue;
          }
          this.valueStart = this.consumed;
        }
        v = this.mode === "request" ? this.requestLine() : this.replyLine();
      }
      if (v === MORE) return this.wait();
      if (v === OPENED) continue;
      // A complete value: it ends the aggregates it completes, or is returned.
      while (true) {
        const top = this.stack[this.stack.length - 1];
        if (!top) {
          this.lastBytes = this.consumed - this.valueStart;
          this.valueStart = -1;
          this.parsedItems = 0;
          return v;
        }
        top.items.push(v);
        this.parsedItems++;
        if (--top.left > 0) break;
        this.stack.pop();
        v = top.items;
      }
    }
  }

  /** More input is needed; first check what this connection already holds. */
  private wait(): undefined {
    if (this.buffered + this.parsedItems * RESP_ARG_OVERHEAD_BYTES > this.queryBytesMax) {
      throw new ProtocolError(`Protocol error: client reached max query buffer length (${this.queryBytesMax} bytes)`);
    }
    return undefined;
  }

  private consume(n: number): void {
    this.start += n;
    this.consumed += n;
    this.scanned = 0;
    if (this.start < this.end) return;
    this.start = 0;
    this.end = 0;
    if (!this.owned || this.buf.length > BUFFER_KEEP_BYTES_MAX) {
      this.buf = EMPTY;
      this.owned = false;
    }
  }

  /**
   * Index of the end of the line that starts at `start`, or -1 when it is not here yet.
   * Resumes the search where the previous call stopped. A line longer than INLINE_BYTES_MAX
   * is refused with `tooBig` as soon as that many bytes have no end, whatever the split.
   */
  private lineEnd(kind: LineEnd, tooBig: string): number {
    const b = this.buf;
    const s = this.start;
    const e = this.end;
    let i = s + this.scanned;
    for (; i < e; i++) {
      this.examinedBytes++;
      const c = b[i];
      if (kind === "lf") {
        if (c === 10) return i;
      } else if (c === 13) {
        if (i + 1 >= e) break; // the byte after "\r" decides; look at this "\r" again next time
        if (kind === "cr" || b[i + 1] === 10) return i;
      }
      if (i - s >= INLINE_BYTES_MAX) throw new ProtocolError(tooBig);
    }
    this.scanned = i - s;
    return -1;
  }

  /** Redis's processInlineBuffer / processMultibulkBuffer, one line at a time. */
  private requestLine(): Step {
    const b = this.buf;
    const s = this.start;
    if (this.stack.length === 0) {
      if (b[s] !== 0x2a /* * */) {
        const e = this.lineEnd("lf", "Protocol error: too big inline request");
        if (e < 0) return MORE;
        const line = b.subarray(s, e > s && b[e - 1] === 13 ? e - 1 : e);
        this.examinedBytes += line.length;
        const argv = splitArgs(line);
        this.consume(e + 1 - s);
        return argv;
      }
      const e = this.lineEnd("cr", "Protocol error: too big mbulk count string");
      if (e < 0) return MORE;
      const n = parseI64(b.subarray(s + 1, e));
      if (n === null || n > ITEMS_MAX) throw new ProtocolError("Protocol error: invalid multibulk length");
      this.consume(e + 2 - s);
      // `*0` and `*-1` are skipped by Redis; they come out as an empty command the caller ignores.
      if (n <= 0n) return [];
      this.stack.push({ items: [], left: Number(n) });
      return OPENED;
    }
    const e = this.lineEnd("cr", "Protocol error: too big bulk count string");
    if (e < 0) return MORE;
    if (b[s] !== 0x24 /* $ */) {
      throw new ProtocolError(`Protocol error: expected '$', got '${String.fromCharCode(b[s]!)}'`);
    }
    const len = parseI64(b.subarray(s + 1, e));
    if (len === null || len < 0n || len > BULK_MAX) throw new ProtocolError("Protocol error: invalid bulk length");
    this.consume(e + 2 - s);
    this.bulkLen = Number(len);
    this.bulkType = 0x24;
    return OPENED;
  }

  /** The payload of the awaited bulk; like Redis, the two bytes after it are skipped unread. */
  private bulk(): Step {
    const len = this.bulkLen;
    const total = len + 2;
    if (this.end - this.start < total) return MORE;
    let v: Uint8Array;
    if (this.owned && this.start === 0 && this.end === total && len >= BIG_ARG_BYTES && this.buf.length <= 2 * total) {
      // The buffer holds exactly this big argument: hand it over instead of copying it.
      v = this.buf.subarray(0, len);
      this.buf = EMPTY;
      this.owned = false;
      this.consume(total);
    } else {
      v = this.buf.slice(this.start, this.start + len);
      this.examinedBytes += len;
      this.consume(total);
    }
    this.bulkLen = -1;
    if (this.bulkType === 0x21 /* ! */) return new RedisError(new TextDecoder().decode(v));
    if (this.bulkType === 0x3d /* = */) return v.subarray(4);
    return v;
  }

  private replyLine(): Step {
    const b = this.buf;
    const s = this.start;
    const t = b[s]!;
    const e = this.lineEnd("crlf", "Protocol error: too big inline request");
    if (e < 0) return MORE;
    const body = b.subarray(s + 1, e);
    const after = e + 2 - s;
    switch (t) {
      case 0x2b /* + */:
      case 0x2c /* , (a double, as its text) */:
        this.consume(after);
        return new Simple(latin1(body));
      case 0x2d /* - */:
        this.consume(after);
        return new RedisError(latin1(body));
      case 0x3a /* : */: {
        const v = parseI64(body);
        if (v === null) throw new ProtocolError("Protocol error: invalid integer");
        this.consume(after);
        return v >= SAFE_MIN && v <= SAFE_MAX ? Number(v) : v;
      }
      case 0x23 /* # */:
        this.consume(after);
        return body.length === 1 && body[0] === 0x74 /* t */ ? 1 : 0;
      case 0x5f /* _ */:
        this.consume(after);
        return null;
      case 0x24 /* $ */:
      case 0x3d /* = */:
      case 0x21 /* ! */: {
        const len = parseI64(body);
        if (len === null || len > BULK_MAX) throw new ProtocolError("Protocol error: invalid bulk length");
        this.consume(after);
        if (len < 0n) return null;
        this.bulkLen = Number(len);
        this.bulkType = t;
        return OPENED;
      }
      case 0x2a /* * */:
      case 0x7e /* ~ */:
      case 0x3e /* > */:
      case 0x25 /* % */: {
        const n = parseI64(body);
        if (n === null) throw new ProtocolError("Protocol error: invalid multibulk length");
        this.consume(after);
        if (n < 0n) return null;
        if (n === 0n) return [];
        if (this.stack.length >= REPLY_DEPTH_MAX) throw new ProtocolError("Protocol error: nesting too deep");
        // A map's pairs come flattened.
        this.stack.push({ items: [], left: Number(t === 0x25 ? 2n * n : n) });
        return OPENED;
      }
      default:
        throw new ProtocolError(`Protocol error: unexpected type byte '${String.fromCharCode(t)}'`);
    }
  }
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (let j = 0; j < b.length; j++) s += String.fromCharCode(b[j]!);
  return s;
}

/**
 * sdssplitargs: split an inline command into arguments, honouring "double quotes" with
 * \n \r \t \b \a \\ \" \xHH escapes and 'single quotes' with \'.
 */
export function splitArgs(line: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0;
  const n = line.length;
  const isSpace = (c: number | undefined) => c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12;
  while (true) {
    while (i < n && isSpace(line[i])) i++;
    if (i >= n) return out;
    const cur: number[] = [];
    let inq = false;
    let insq = false;
    while (true) {
      const c = line[i];
      if (inq) {
        if (i >= n) throw new ProtocolError("Protocol error: unbalanced quotes in request");
        if (c === 0x5c && i + 3 < n && line[i + 1] === 0x78 && isHex(line[i + 2]!) && isHex(line[i + 3]!)) {
          cur.push(parseInt(String.fromCharCode(line[i + 2]!, line[i + 3]!), 16));
          i += 3;
        } else if (c === 0x5c && i + 1 < n) {
          i++;
          const e = line[i]!;
          cur.push(e === 0x6e ? 10 : e === 0x72 ? 13 : e === 0x74 ? 9 : e === 0x62 ? 8 : e === 0x61 ? 7 : e);
        } else if (c === 0x22) {
          if (i + 1 < n && !isSpace(line[i + 1])) throw new ProtocolError("Protocol error: unbalanced quotes in request");
          inq = false;
          i++;
          break;
        } else cur.push(c!);
      } else if (insq) {
        if (i >= n) throw new ProtocolError("Protocol error: unbalanced quotes in request");
        if (c === 0x5c && i + 1 < n && line[i + 1] === 0x27) {
          i++;
          cur.push(0x27);
        } else if (c === 0x27) {
          if (i + 1 < n && !isSpace(line[i + 1])) throw new ProtocolError("Protocol error: unbalanced quotes in request");
          insq = false;
          i++;
          break;
        } else cur.push(c!);
      } else {
        if (i >= n || isSpace(c)) break;
        if (c === 0x22) inq = true;
        else if (c === 0x27) insq = true;
        else cur.push(c!);
      }
      i++;
    }
    out.push(Uint8Array.from(cur));
  }
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}
