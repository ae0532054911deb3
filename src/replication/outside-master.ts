/**
 * The link to an outside Redis master (SPEC §3 "Outside masters"): Redis's own replica
 * handshake (replication.c syncWithMaster) over a byte stream, as a plain state machine.
 * The node gives it a transport (a `cloudflare:sockets` TCP socket; a fake one in tests)
 * and a sink that does the work: load the RDB payload, apply the command stream.
 *
 *   PING → [AUTH [user] pass] → REPLCONF listening-port 0 → REPLCONF capa eof capa psync2
 *   → PSYNC replid offset+1 | PSYNC ? -1
 *   → +CONTINUE [replid]                     : the stream follows
 *   → +FULLRESYNC replid offset, then the RDB : `$<len>\r\n<len bytes>` or, diskless,
 *     `$EOF:<40-byte mark>\r\n<bytes><mark>`, then the stream.
 *
 * The RDB payload is passed on chunk by chunk as it arrives: only the last MARK_BYTES-1
 * bytes of a diskless payload are held back (they could be the start of the end mark),
 * so a payload of any size costs no more memory than one received chunk.
 *
 * The master may send a bare "\n" while it prepares the RDB (a keepalive, replication.c
 * "newline" before the bulk header): skipped wherever a reply line is expected.
 */
import { encodeCommand } from "../protocol/resp.ts";
import { concat } from "../util/bytes.ts";

/** The end mark of a diskless payload (`$EOF:<mark>`): RDB_EOF_MARK_SIZE in Redis. */
export const MARK_BYTES = 40;
/** A reply line of the handshake (or the bulk header) longer than this is a protocol error. */
export const HANDSHAKE_LINE_BYTES_MAX = 1024;

/**
 * The link's states, in order:
 * - ping: PING sent, waiting for its reply.
 * - auth: AUTH sent (only with masterauth).
 * - port: REPLCONF listening-port sent.
 * - capa: REPLCONF capa sent.
 * - psync: PSYNC sent, waiting for +FULLRESYNC / +CONTINUE.
 * - bulk-header: after +FULLRESYNC, waiting for `$len` or `$EOF:mark`.
 * - bulk-len / bulk-eof: receiving the RDB payload in one of its two forms.
 * - stream: receiving the command stream.
 * - failed: the link must be dropped (see `failure`); nothing more is read.
 */
export type OutsideLinkState = "ping" | "auth" | "port" | "capa" | "psync" | "bulk-header" | "bulk-len" | "bulk-eof" | "stream" | "failed";

const TRANSITIONS: Record<OutsideLinkState, readonly OutsideLinkState[]> = {
  ping: ["auth", "port", "failed"],
  auth: ["port", "failed"],
  port: ["capa", "failed"],
  capa: ["psync", "failed"],
  psync: ["bulk-header", "stream", "failed"],
  "bulk-header": ["bulk-len", "bulk-eof", "failed"],
  "bulk-len": ["stream", "failed"],
  "bulk-eof": ["stream", "failed"],
  stream: ["failed"],
  failed: [],
};

/** Where the bytes go (the node), and how they leave (the socket). */
export interface OutsideTransport {
  write(bytes: Uint8Array): void;
}

export interface OutsideSink {
  /** +FULLRESYNC: a payload follows (its form and size come with the bulk header: `bulkSize`). */
  fullResync(replid: string, offset: number): void;
  /** A piece of the RDB payload, in order. */
  rdbChunk(bytes: Uint8Array): void;
  /** The whole payload arrived; the stream follows (at the FULLRESYNC offset). */
  rdbDone(): void;
  /** +CONTINUE: the master accepted our cached master; `replid` is its id when it changed. */
  continued(replid: string | null): void;
  /** Command stream bytes, exactly as received (the node applies them and counts the offset). */
  stream(bytes: Uint8Array): void;
}

export interface OutsideLinkOptions {
  /** CONFIG masteruser / masterauth. */
  user: string | null;
  pass: string | null;
  /** Our cached master (meta.replid, backlog offset), or null for `PSYNC ? -1`. */
  cached: { replid: string; offset: number } | null;
}

export class OutsideMasterLink {
  state: OutsideLinkState = "ping";
  /** Why the link failed (state `failed`), for the log and INFO. */
  failure = "";
  /** Payload bytes still expected (`$len` form) and bytes received (both forms), for INFO. */
  private bulkLeft = 0;
  bulkRead = 0;
  /** The payload's size from a `$len` header; null for the diskless form (unknown until the mark). */
  bulkSize: number | null = null;
  /** The diskless end mark and the payload bytes held back because they may begin it. */
  private mark: Uint8Array | null = null;
  private held: Uint8Array = new Uint8Array(0);
  /** Bytes of a reply line received so far (handshake states only). */
  private line: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly opts: OutsideLinkOptions,
    private readonly transport: OutsideTransport,
    private readonly sink: OutsideSink,
  ) {}

  /** Send the first command; call once the connection is open. */
  start(): void {
    this.send(["PING"]);
  }

  /** Answer REPLCONF GETACK, and the cron's REPLCONF ACK every second. */
  ack(offset: number): void {
    if (this.state === "stream") this.send(["REPLCONF", "ACK", String(offset)]);
  }

  /** Bytes from the master, in order, in chunks of any size. */
  receive(bytes: Uint8Array): void {
    let b = bytes;
    while (b.length > 0 && this.state !== "failed") {
      switch (this.state) {
        case "stream":
          this.sink.stream(b);
          return;
        case "bulk-len": {
          const n = Math.min(this.bulkLeft, b.length);
          this.bulkLeft -= n;
          this.bulkRead += n;
          this.sink.rdbChunk(b.subarray(0, n));
          b = b.subarray(n);
          if (this.bulkLeft === 0) this.payloadDone();
          break;
        }
        case "bulk-eof":
          b = this.eofBytes(b);
          break;
        default: {
          const nl = b.indexOf(0x0a);
          if (nl < 0) {
            this.line = concat([this.line, b]);
            if (this.line.length > HANDSHAKE_LINE_BYTES_MAX) this.fail(`reply line from the master longer than ${HANDSHAKE_LINE_BYTES_MAX} bytes`);
            return;
          }
          const whole = concat([this.line, b.subarray(0, nl)]);
          this.line = new Uint8Array(0);
          b = b.subarray(nl + 1);
          const text = new TextDecoder().decode(whole.at(-1) === 0x0d ? whole.subarray(0, -1) : whole);
          if (text.length === 0) break; // a keepalive newline
          this.onLine(text);
        }
      }
    }
  }

  private onLine(line: string): void {
    switch (this.state) {
      case "ping":
        // Redis accepts -NOAUTH / -NOPERM here: the AUTH that follows settles it.
        if (line.startsWith("-") && !line.startsWith("-NOAUTH") && !line.startsWith("-NOPERM")) {
          return this.fail(`error reply to PING from master: ${line}`);
        }
        if (this.opts.pass !== null) {
          this.transition("auth");
          this.send(this.opts.user !== null ? ["AUTH", this.opts.user, this.opts.pass] : ["AUTH", this.opts.pass]);
          return;
        }
        return this.sendPort();
      case "auth":
        if (line.startsWith("-")) return this.fail(`unable to AUTH to MASTER: ${line}`);
        return this.sendPort();
      case "port":
        // REPLCONF errors are not critical, as in Redis (an old master).
        this.transition("capa");
        this.send(["REPLCONF", "capa", "eof", "capa", "psync2"]);
        return;
      case "capa": {
        this.transition("psync");
        const c = this.opts.cached;
        this.send(c ? ["PSYNC", c.replid, String(c.offset + 1)] : ["PSYNC", "?", "-1"]);
        return;
      }
      case "psync":
        return this.onPsyncReply(line);
      case "bulk-header":
        return this.onBulkHeader(line);
      default:
        return this.fail(`unexpected reply line in state ${this.state}: ${line}`);
    }
  }

  private sendPort(): void {
    this.transition("port");
    this.send(["REPLCONF", "listening-port", "0"]);
  }

  private onPsyncReply(line: string): void {
    if (line.startsWith("+FULLRESYNC")) {
      const [, replid, off] = line.split(" ");
      if (!replid || !/^[0-9a-f]{40}$/.test(replid) || !/^\d{1,18}$/.test(off ?? "")) return this.fail(`bad FULLRESYNC reply: ${line}`);
      this.transition("bulk-header");
      this.sink.fullResync(replid, Number(off));
      return;
    }
    if (line.startsWith("+CONTINUE")) {
      const replid = line.split(" ")[1] ?? null;
      if (replid !== null && !/^[0-9a-f]{40}$/.test(replid)) return this.fail(`bad CONTINUE reply: ${line}`);
      this.transition("stream");
      this.sink.continued(replid);
      return;
    }
    // -NOMASTERLINK, -LOADING, an old master without PSYNC: retry later.
    this.fail(`PSYNC refused: ${line}`);
  }

  private onBulkHeader(line: string): void {
    if (line.startsWith("-")) return this.fail(`master aborted the transfer: ${line}`);
    if (line.startsWith("$EOF:")) {
      const mark = line.slice(5);
      if (mark.length !== MARK_BYTES) return this.fail(`bad EOF mark in the bulk header: ${line}`);
      this.mark = new TextEncoder().encode(mark);
      this.held = new Uint8Array(0);
      this.bulkRead = 0;
      this.bulkSize = null;
      this.transition("bulk-eof");
      return;
    }
    if (!/^\$\d{1,15}$/.test(line)) return this.fail(`bad bulk header from master: ${line.slice(0, 64)}`);
    this.bulkLeft = Number(line.slice(1));
    this.bulkSize = this.bulkLeft;
    this.bulkRead = 0;
    this.transition("bulk-len");
    if (this.bulkLeft === 0) this.payloadDone();
  }

  /**
   * Diskless payload bytes: everything except a tail that could be the start of the mark is
   * payload; once the mark is seen, what follows it is the stream. Returns that rest.
   */
  private eofBytes(b: Uint8Array): Uint8Array {
    const mark = this.mark!;
    const win = this.held.length ? concat([this.held, b]) : b;
    const at = indexOf(win, mark);
    if (at >= 0) {
      if (at > 0) this.sink.rdbChunk(win.subarray(0, at));
      this.bulkRead += at;
      this.held = new Uint8Array(0);
      this.payloadDone();
      return win.subarray(at + MARK_BYTES);
    }
    const keep = Math.min(win.length, MARK_BYTES - 1);
    const out = win.length - keep;
    if (out > 0) {
      this.sink.rdbChunk(win.subarray(0, out));
      this.bulkRead += out;
    }
    this.held = win.slice(out);
    return new Uint8Array(0);
  }

  private payloadDone(): void {
    this.transition("stream");
    this.sink.rdbDone();
  }

  private fail(why: string): void {
    if (this.state === "failed") return;
    this.failure = why;
    this.transition("failed");
  }

  private transition(to: OutsideLinkState): void {
    if (!TRANSITIONS[this.state].includes(to)) throw new Error(`outside master link: illegal transition ${this.state} → ${to}`);
    this.state = to;
  }

  private send(argv: string[]): void {
    this.transport.write(encodeCommand(argv));
  }
}

/** The first position of `needle` in `hay`, or -1. */
function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  const first = needle[0]!;
  for (let i = hay.indexOf(first); i >= 0 && i + needle.length <= hay.length; i = hay.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}
