/**
 * RESP2/RESP3: an encoder for replies and commands. The incremental parser is in
 * resp-parser.ts and re-exported here.
 */
import { utf8 } from "../util/bytes.ts";
import { formatG17 } from "../util/numbers.ts";
import {
  NilArray,
  RedisError,
  type Reply,
  RespDouble,
  BigNumber,
  RespMap,
  RespSet,
  Simple,
  Verbatim,
  Push,
  ReplySequence,
} from "./reply.ts";

export {
  BULK_BYTES_MAX,
  INLINE_BYTES_MAX,
  MULTIBULK_ITEMS_MAX,
  ProtocolError,
  REPLY_DEPTH_MAX,
  RespParser,
  type RespMode,
  type RespParserOptions,
  type RespValue,
  splitArgs,
} from "./resp-parser.ts";

export type RespVersion = 2 | 3;

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
    if (r.raw) w.bytes(errorLineBytes(r.raw));
    else w.text(errorLine(r.msg));
    w.ascii("\r\n");
  } else if (r instanceof NilArray) {
    w.ascii(resp === 3 ? "_\r\n" : "*-1\r\n");
  } else if (r instanceof RespDouble) {
    const s = r.text ?? formatG17(r.v);
    if (resp === 3) w.ascii(`,${s}\r\n`);
    else w.ascii(`$${s.length}\r\n${s}\r\n`);
  } else if (r instanceof BigNumber) {
    if (resp === 3) {
      w.ascii("(");
      w.bytes(r.digits);
      w.ascii("\r\n");
    } else writeReply(w, r.digits, resp);
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
  } else if (r instanceof Push) {
    w.ascii(resp === 3 ? `>${r.items.length}\r\n` : `*${r.items.length}\r\n`);
    for (const x of r.items) writeReply(w, x, resp);
  } else if (r instanceof ReplySequence) {
    for (const x of r.replies) writeReply(w, x, resp);
  } else {
    throw new Error("unknown reply value");
  }
}

/**
 * An error's text as one protocol line, as Redis 7.0's addReplyErrorFormat makes it: line
 * ends trimmed from the end of the message, then every CR or LF left a space (not a run of
 * them one space: `unknown command 'a\r\nb'` is `'a  b'` from redis-server). Its trim of the
 * start never applies there: the line it trims starts with the error's `-`.
 */
export function errorLine(msg: string): string {
  return msg.replace(/[\r\n]+$/, "").replace(/[\r\n]/g, " ");
}

/** `errorLine` of a message's bytes. */
export function errorLineBytes(raw: Uint8Array): Uint8Array {
  let end = raw.length;
  while (end > 0 && (raw[end - 1] === 0x0d || raw[end - 1] === 0x0a)) end--;
  const out = raw.slice(0, end);
  for (let i = 0; i < out.length; i++) if (out[i] === 0x0d || out[i] === 0x0a) out[i] = 0x20;
  return out;
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

