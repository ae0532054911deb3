/**
 * A minimal pipelining RESP2 client for node-side tests: the same `send(batch)` over TCP
 * (a real redis-server) and over WebSocket (our node's `/ws` endpoint), so one command
 * stream can be replayed against both and the replies compared value by value.
 *
 * Replies are parsed with our own RespParser in "reply" mode: bulk → Uint8Array, nil →
 * null, integer → number (bigint past 2^53), status → Simple, error → RedisError.
 */
import net from "node:net";
import WebSocket from "ws";
import { encodeCommand, RespParser, type RespValue } from "../../../src/protocol/resp.ts";

export type { RespValue };
export type Arg = string | Uint8Array;

/** How long a batch may wait for its replies before the client gives up. */
const REPLY_TIMEOUT_MS = 60_000;

interface Pending {
  want: number;
  got: RespValue[];
  resolve(v: RespValue[]): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export interface RespClient {
  /** Send `cmds` back to back (one write) and resolve with their replies, in order. */
  send(cmds: readonly (readonly Arg[])[]): Promise<RespValue[]>;
  /** One command, one reply. */
  call(...argv: Arg[]): Promise<RespValue>;
  close(): Promise<void>;
}

/** The transport-independent half: a reply queue fed by `feed`, failed by `fail`. */
class Pipeline {
  private readonly parser = new RespParser("reply");
  private readonly queue: Pending[] = [];
  private dead: Error | null = null;

  constructor(private readonly write: (bytes: Uint8Array) => void) {}

  feed(chunk: Uint8Array): void {
    // Copy: Buffers from sockets can be views into pooled memory, and replies keep slices.
    this.parser.push(new Uint8Array(chunk));
    while (true) {
      let v: RespValue | undefined;
      try {
        v = this.parser.next();
      } catch (e) {
        this.fail(e as Error);
        return;
      }
      if (v === undefined) return;
      const p = this.queue[0];
      if (!p) {
        this.fail(new Error("reply received with no command pending"));
        return;
      }
      p.got.push(v);
      if (p.got.length === p.want) {
        this.queue.shift();
        clearTimeout(p.timer);
        p.resolve(p.got);
      }
    }
  }

  fail(e: Error): void {
    if (!this.dead) this.dead = e;
    for (const p of this.queue.splice(0)) {
      clearTimeout(p.timer);
      p.reject(e);
    }
  }

  send(cmds: readonly (readonly Arg[])[]): Promise<RespValue[]> {
    if (this.dead) return Promise.reject(this.dead);
    if (cmds.length === 0) return Promise.resolve([]);
    const parts = cmds.map((c) => encodeCommand(c));
    let n = 0;
    for (const p of parts) n += p.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return new Promise<RespValue[]>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`no reply within ${REPLY_TIMEOUT_MS} ms`)), REPLY_TIMEOUT_MS);
      this.queue.push({ want: cmds.length, got: [], resolve, reject, timer });
      this.write(out);
    });
  }
}

function client(p: Pipeline, close: () => Promise<void>): RespClient {
  return {
    send: (cmds) => p.send(cmds),
    call: async (...argv) => (await p.send([argv]))[0]!,
    close,
  };
}

/** Connect to a RESP server over TCP (redis-server). */
export function connectTcp(port: number, host = "127.0.0.1"): Promise<RespClient> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({ port, host });
    sock.setNoDelay(true);
    const p = new Pipeline((b) => sock.write(b));
    sock.on("data", (d: Buffer) => p.feed(d));
    sock.on("close", () => p.fail(new Error("connection closed")));
    sock.once("error", (e) => {
      p.fail(e);
      reject(e);
    });
    sock.once("connect", () =>
      resolve(
        client(
          p,
          () =>
            new Promise<void>((res) => {
              sock.once("close", () => res());
              sock.end();
            }),
        ),
      ),
    );
  });
}

/**
 * Connect to our node's RESP-over-WebSocket endpoint: `url` is `ws://host/db/<db>/ws`
 * (or `/db/<db>/nodes/<node>/ws`); `token` goes in `Authorization: Bearer`.
 * Commands are sent as binary messages; replies may arrive split across messages.
 */
export function connectWs(url: string, token?: string): Promise<RespClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    ws.binaryType = "nodebuffer";
    const p = new Pipeline((b) => ws.send(b, { binary: true }));
    ws.on("message", (data: WebSocket.RawData, isBinary: boolean) => {
      if (!isBinary) {
        p.feed(new TextEncoder().encode(data.toString()));
        return;
      }
      const chunks = Array.isArray(data) ? data : [data instanceof ArrayBuffer ? Buffer.from(data) : data];
      for (const c of chunks) p.feed(c);
    });
    ws.on("close", (code, reason) => p.fail(new Error(`websocket closed: ${code} ${reason.toString()}`)));
    ws.once("unexpected-response", (req, res) => {
      const e = new Error(`websocket upgrade refused: HTTP ${res.statusCode}`);
      req.destroy();
      p.fail(e);
      reject(e);
    });
    ws.once("error", (e) => {
      p.fail(e);
      reject(e);
    });
    ws.once("open", () =>
      resolve(
        client(
          p,
          () =>
            new Promise<void>((res) => {
              if (ws.readyState === WebSocket.CLOSED) return res();
              ws.once("close", () => res());
              ws.close();
            }),
        ),
      ),
    );
  });
}
