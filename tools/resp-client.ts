/**
 * A minimal pipelining RESP client for tools and Node-side tests: the same `send(batch)`
 * over TCP (a real redis-server) and over WebSocket (a node's `/ws` endpoint), so one
 * command stream can be replayed against both and the replies compared value by value.
 * Replies are parsed with our RespParser in "reply" mode: bulk → Uint8Array, nil → null,
 * integer → number (bigint past 2^53), status → Simple, error → RedisError.
 *
 * Each request has a timeout that names the command (RESP_REPLY_TIMEOUT_S, default 60 s;
 * the bench raises it: a DEBUG DIGEST of a million keys legitimately takes longer).
 */
import net from "node:net";
import WebSocket from "ws";
import { encodeCommand, RespParser, type RespValue } from "../src/protocol/resp.ts";
import { concat } from "../src/util/bytes.ts";

export type { RespValue };
export type Arg = string | Uint8Array;

/** Default time a request may wait for its replies (RESP_REPLY_TIMEOUT_S, seconds; read per request). */
export function replyTimeoutMs(): number {
  return Number(process.env.RESP_REPLY_TIMEOUT_S ?? "60") * 1000;
}

export interface RespClient {
  /** Send `cmds` back to back (one write) and resolve with their replies, in order. */
  send(cmds: readonly (readonly Arg[])[], timeoutMs?: number): Promise<RespValue[]>;
  /** One command, one reply. */
  call(...argv: Arg[]): Promise<RespValue>;
  /** One command, one reply, with its own timeout. */
  callT(timeoutMs: number, ...argv: Arg[]): Promise<RespValue>;
  close(): Promise<void>;
}

interface Pending {
  want: number;
  got: RespValue[];
  resolve(v: RespValue[]): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

class Pipeline {
  private readonly parser = new RespParser("reply");
  private readonly queue: Pending[] = [];
  private dead: Error | null = null;

  constructor(
    private readonly write: (bytes: Uint8Array) => void,
    private readonly name: string,
  ) {}

  feed(chunk: Uint8Array): void {
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
        this.fail(new Error(`${this.name}: reply received with no command pending`));
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

  send(cmds: readonly (readonly Arg[])[], timeoutMs = replyTimeoutMs()): Promise<RespValue[]> {
    if (this.dead) return Promise.reject(this.dead);
    if (cmds.length === 0) return Promise.resolve([]);
    const out = concat(cmds.map((c) => encodeCommand(c)));
    const what = cmds.length === 1 ? cmds[0]!.slice(0, 3).map((a) => (typeof a === "string" ? a : `<${a.length} bytes>`)).join(" ") : `${cmds.length} commands (${String(cmds[0]![0])} …)`;
    return new Promise<RespValue[]>((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(new Error(`${this.name}: no reply to ${what} within ${Math.round(timeoutMs / 1000)} s`)),
        timeoutMs,
      );
      this.queue.push({ want: cmds.length, got: [], resolve, reject, timer });
      this.write(out);
    });
  }
}

function client(p: Pipeline, close: () => Promise<void>): RespClient {
  return {
    send: (cmds, t) => p.send(cmds, t),
    call: async (...argv) => (await p.send([argv]))[0]!,
    callT: async (t, ...argv) => (await p.send([argv], t))[0]!,
    close,
  };
}

/** Connect to a RESP server over TCP (redis-server). */
export function connectTcp(port: number, host = "127.0.0.1"): Promise<RespClient> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({ port, host });
    sock.setNoDelay(true);
    const p = new Pipeline((b) => sock.write(b), `redis:${port}`);
    let closed = false;
    sock.on("data", (d: Buffer) => p.feed(d));
    sock.on("close", () => {
      closed = true;
      p.fail(new Error(`redis:${port}: connection closed`));
    });
    sock.once("error", (e) => {
      p.fail(e);
      reject(e);
    });
    sock.once("connect", () =>
      resolve(
        client(p, () =>
          closed
            ? Promise.resolve()
            : new Promise<void>((res) => {
                sock.once("close", () => res());
                sock.end();
              }),
        ),
      ),
    );
  });
}

/** Connect to a node's RESP-over-WebSocket endpoint (`ws://host/db/<db>/nodes/<node>/ws`). */
export function connectWs(url: string, token?: string): Promise<RespClient> {
  const name = url.replace(/^.*\/db\//, "").replace(/\/ws$/, "");
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: token ? { Authorization: `Bearer ${token}` } : {}, perMessageDeflate: false, maxPayload: 0 });
    ws.binaryType = "nodebuffer";
    const p = new Pipeline((b) => ws.send(b, { binary: true }), name);
    ws.on("message", (data: WebSocket.RawData) => {
      const chunks = Array.isArray(data) ? data : [data instanceof ArrayBuffer ? Buffer.from(data) : data];
      for (const c of chunks) p.feed(c);
    });
    ws.on("close", (code, reason) => p.fail(new Error(`${name}: websocket closed: ${code} ${reason.toString()}`)));
    ws.once("unexpected-response", (req, res) => {
      const e = new Error(`${name}: websocket upgrade refused: HTTP ${res.statusCode}`);
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
