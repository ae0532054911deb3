/**
 * RESP2/RESP3: an encoder for replies and commands, and an incremental parser that takes
 * input split at any byte boundary (WebSocket frames and TCP reads carry no meaning).
 */
import { concat, utf8 } from "../util/bytes.ts";
import { formatG17 } from "../util/numbers.ts";
import {
  NilArray,
  RedisError,
  type Reply,
  RespDouble,
  RespMap,
  RespSet,
  Simple,
  Verbatim,
} from "./reply.ts";

export type RespVersion = 2 | 3;

/** Largest bulk string accepted from a client (Redis: proto-max-bulk-len). */
export const BULK_BYTES_MAX = 32 * 1024 * 1024;
/** Most elements in one multibulk request (Redis: 1024*1024). */
export const MULTIBULK_ITEMS_MAX = 1024 * 1024;
/** Longest inline command or status line. */
export const INLINE_BYTES_MAX = 64 * 1024;

const CRLF = utf8("\r\n");

/** Growable output buffer; avoids one allocation per reply element. */
export class ByteWriter {
  private buf: Uint8Array;
  length = 0;
  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
  }
  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.length));
    this.buf = nb;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  ascii(s: string): void {
    this.ensure(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.length++] = s.charCodeAt(i);
  }
  text(s: string): void {
    this.bytes(utf8(s));
  }
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.length);
    this.buf = new Uint8Array(256);
    this.length = 0;
    return out;
  }
}

/** Encode one reply in the given protocol version into `w`. */
export function writeReply(w: ByteWriter, r: Reply, resp: RespVersion = 2): void {
  if (r instanceof Uint8Array) {
    w.ascii(`$${r.length}\r\n`);
    w.bytes(r);
    w.ascii("\r\n");
  } else if (r === null) {
    w.ascii(resp === 3 ? "_\r\n" : "$-1\r\n");
  } else if (typeof r === "number" || typeof r === "bigint") {
    w.ascii(`:${r}\r\n`);
  } else if (Array.isArray(r)) {
    w.ascii(`*${r.length}\r\n`);
    for (const x of r) writeReply(w, x, resp);
  } else if (r instanceof Simple) {
    w.ascii("+");
    w.text(r.s);
    w.ascii("\r\n");
  } else if (r instanceof RedisError) {
    w.ascii("-");
    w.text(r.msg.replace(/[\r\n]+/g, " "));
    w.ascii("\r\n");
  } else if (r instanceof NilArray) {
    w.ascii(resp === 3 ? "_\r\n" : "*-1\r\n");
  } else if (r instanceof RespDouble) {
    const s = formatG17(r.v);
    if (resp === 3) w.ascii(`,${s}\r\n`);
    else w.ascii(`$${s.length}\r\n${s}\r\n`);
  } else if (r instanceof RespMap) {
    w.ascii(resp === 3 ? `%${r.entries.length}\r\n` : `*${r.entries.length * 2}\r\n`);
    for (const [k, v] of r.entries) {
      writeReply(w, k, resp);
      writeReply(w, v, resp);
    }
  } else if (r instanceof RespSet) {
    w.ascii(resp === 3 ? `~${r.items.length}\r\n` : `*${r.items.length}\r\n`);
    for (const x of r.items) writeReply(w, x, resp);
  } else if (r instanceof Verbatim) {
    const b = utf8(r.text);
    if (resp === 3) {
      w.ascii(`=${b.length + 4}\r\ntxt:`);
      w.bytes(b);
      w.ascii("\r\n");
    } else {
      w.ascii(`$${b.length}\r\n`);
      w.bytes(b);
      w.ascii("\r\n");
    }
  } else {
    throw new Error("unknown reply value");
  }
}

export function encodeReply(r: Reply, resp: RespVersion = 2): Uint8Array {
  const w = new ByteWriter();
  writeReply(w, r, resp);
  return w.take();
}

/** A command as a RESP array of bulk strings (what clients send and what the stream carries). */
export function encodeCommand(argv: readonly (Uint8Array | string)[]): Uint8Array {
  const w = new ByteWriter(64);
  writeCommand(w, argv);
  return w.take();
}

export function writeCommand(w: ByteWriter, argv: readonly (Uint8Array | string)[]): void {
  w.ascii(`*${argv.length}\r\n`);
  for (const a of argv) {
    const b = typeof a === "string" ? utf8(a) : a;
    w.ascii(`$${b.length}\r\n`);
    w.bytes(b);
    w.bytes(CRLF);
  }
}

/** A value parsed from RESP input. Requests are always `Uint8Array[]`. */
export type RespValue =
  | Uint8Array
  | null
  | number
  | bigint
  | Simple
  | RedisError
  | RespValue[];

/** Protocol errors close the connection, as in Redis. */
export class ProtocolError extends Error {}

type Mode = "request" | "reply";

/**
 * Incremental RESP parser. `push()` input, then call `next()` until it returns undefined.
 * In "request" mode it accepts multibulk and inline commands and yields `Uint8Array[]`;
 * in "reply" mode it accepts every RESP2/RESP3 type. `lastBytes` is the size of the
 * value last returned (replication offsets count these bytes).
 */
export class RespParser {
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  /** Chunks waiting while a big bulk string is incomplete (avoids quadratic copying). */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private need = 0;
  lastBytes = 0;

  constructor(private readonly mode: Mode = "request") {}

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.need > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.buf.length - this.pos + this.pendingBytes < this.need) return;
      this.flushPending();
      return;
    }
    if (this.pos >= this.buf.length) {
      this.buf = chunk;
      this.pos = 0;
    } else {
      this.buf = concat([this.buf.subarray(this.pos), chunk]);
      this.pos = 0;
    }
  }

  private flushPending(): void {
    this.buf = concat([this.buf.subarray(this.pos), ...this.pending]);
    this.pos = 0;
    this.pending = [];
    this.pendingBytes = 0;
    this.need = 0;
  }

  /** Bytes received but not yet parsed. */
  get buffered(): number {
    return this.buf.length - this.pos + this.pendingBytes;
  }

  /** Raw bytes not yet parsed (taken by a replica when the stream switches to a snapshot payload). */
  takeRest(): Uint8Array {
    if (this.pending.length) this.flushPending();
    const rest = this.buf.subarray(this.pos);
    this.buf = new Uint8Array(0);
    this.pos = 0;
    return rest;
  }

  /** The next complete value, or undefined when more input is needed. Throws ProtocolError. */
  next(): RespValue | undefined {
    if (this.need > 0) return undefined;
    const start = this.pos;
    if (start >= this.buf.length) return undefined;
    const v = this.mode === "request" ? this.parseRequest(start) : this.parseAny(start, 0);
    if (v === undefined) {
      this.pos = start;
      return undefined;
    }
    this.lastBytes = this.pos - start;
    if (this.pos === this.buf.length) {
      this.buf = new Uint8Array(0);
      this.pos = 0;
    }
    return v;
  }

  /** Index of "\r\n" at or after i, or -1. */
  private crlf(i: number): number {
    const b = this.buf;
    for (let j = i; j + 1 < b.length; j++) if (b[j] === 13 && b[j + 1] === 10) return j;
    return -1;
  }

  private line(i: number): [string, number] | undefined {
    const e = this.crlf(i);
    if (e < 0) {
      if (this.buf.length - i > INLINE_BYTES_MAX) throw new ProtocolError("Protocol error: too big inline request");
      return undefined;
    }
    let s = "";
    for (let j = i; j < e; j++) s += String.fromCharCode(this.buf[j]!);
    return [s, e + 2];
  }

  private int(s: string, what: string): number {
    if (!/^-?\d+$/.test(s)) throw new ProtocolError(`Protocol error: invalid ${what} length`);
    return parseInt(s, 10);
  }

  private parseRequest(start: number): RespValue | undefined {
    const b = this.buf;
    if (b[start] !== 0x2a /* * */) return this.parseInline(start);
    const l = this.line(start + 1);
    if (!l) return undefined;
    const n = this.int(l[0], "multibulk");
    if (n > MULTIBULK_ITEMS_MAX) throw new ProtocolError("Protocol error: invalid multibulk length");
    let p = l[1];
    const argv: Uint8Array[] = [];
    for (let k = 0; k < n; k++) {
      if (p >= b.length) return undefined;
      if (b[p] !== 0x24 /* $ */) {
        throw new ProtocolError(`Protocol error: expected '$', got '${String.fromCharCode(b[p]!)}'`);
      }
      const bl = this.line(p + 1);
      if (!bl) return undefined;
      const len = this.int(bl[0], "bulk");
      if (len < 0 || len > BULK_BYTES_MAX) throw new ProtocolError("Protocol error: invalid bulk length");
      p = bl[1];
      if (p + len + 2 > b.length) {
        this.need = p + len + 2 - start;
        return undefined;
      }
      if (b[p + len] !== 13 || b[p + len + 1] !== 10) throw new ProtocolError("Protocol error: bulk string not terminated by CRLF");
      argv.push(b.slice(p, p + len));
      p += len + 2;
    }
    this.pos = p;
    // `*0` and `*-1` are skipped by Redis; they come out as an empty command the caller ignores.
    return argv;
  }

  private parseInline(start: number): RespValue | undefined {
    const b = this.buf;
    let e = -1;
    for (let j = start; j < b.length; j++) {
      if (b[j] === 10) {
        e = j;
        break;
      }
    }
    if (e < 0) {
      if (b.length - start > INLINE_BYTES_MAX) throw new ProtocolError("Protocol error: too big inline request");
      return undefined;
    }
    const end = e > start && b[e - 1] === 13 ? e - 1 : e;
    this.pos = e + 1;
    return splitArgs(b.subarray(start, end));
  }

  private parseAny(start: number, depth: number): RespValue | undefined {
    const b = this.buf;
    if (start >= b.length) return undefined;
    if (depth > 64) throw new ProtocolError("Protocol error: nesting too deep");
    const t = b[start];
    if (t === 10) {
      // A bare newline is a keepalive from a master waiting on a snapshot; not part of the stream.
      this.pos = start + 1;
      return this.pos < b.length ? this.parseAny(this.pos, depth) : undefined;
    }
    const l = this.line(start + 1);
    if (!l) return undefined;
    const [s, after] = l;
    switch (t) {
      case 0x2b /* + */:
        this.pos = after;
        return new Simple(s);
      case 0x2d /* - */:
        this.pos = after;
        return new RedisError(s);
      case 0x3a /* : */: {
        if (!/^-?\d+$/.test(s)) throw new ProtocolError("Protocol error: invalid integer");
        this.pos = after;
        const v = BigInt(s);
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case 0x2c /* , */:
        this.pos = after;
        return new Simple(s);
      case 0x23 /* # */:
        this.pos = after;
        return s === "t" ? 1 : 0;
      case 0x5f /* _ */:
        this.pos = after;
        return null;
      case 0x24 /* $ */:
      case 0x3d /* = */:
      case 0x21 /* ! */: {
        const len = this.int(s, "bulk");
        if (len < 0) {
          this.pos = after;
          return null;
        }
        if (len > BULK_BYTES_MAX) throw new ProtocolError("Protocol error: invalid bulk length");
        if (after + len + 2 > b.length) {
          if (depth === 0) this.need = after + len + 2 - start;
          return undefined;
        }
        this.pos = after + len + 2;
        const v = b.slice(after, after + len);
        if (t === 0x21) return new RedisError(new TextDecoder().decode(v));
        return t === 0x3d ? v.subarray(4) : v;
      }
      case 0x2a /* * */:
      case 0x7e /* ~ */:
      case 0x3e /* > */:
      case 0x25 /* % */: {
        let n = this.int(s, "multibulk");
        if (n < 0) {
          this.pos = after;
          return null;
        }
        if (t === 0x25) n *= 2;
        const out: RespValue[] = [];
        let p = after;
        for (let k = 0; k < n; k++) {
          const v = this.parseAny(p, depth + 1);
          if (v === undefined) return undefined;
          out.push(v);
          p = this.pos;
        }
        this.pos = p;
        return out;
      }
      default:
        throw new ProtocolError(`Protocol error: unexpected type byte '${String.fromCharCode(t!)}'`);
    }
  }
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
