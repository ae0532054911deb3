/**
 * A RESP connection that keeps every value it receives, in order, with its raw bytes:
 * replies and out-of-band pub/sub messages alike (the pipelining client pairs replies with
 * requests and cannot hold pushes). Over TCP (redis-server, the gateway) or a node's
 * WebSocket. `take(until)` waits for the values up to and including the first that matches.
 */
import net from "node:net";
import WebSocket from "ws";
import { encodeCommand, RespParser, type RespValue } from "../../../src/protocol/resp.ts";

export interface Frame {
  /** The value's bytes as sent (latin1), so `>` push and `*` array stay apart. */
  raw: string;
  v: RespValue;
}

/** Longest wait for expected frames (a stuck comparison fails with what arrived). */
const FRAME_WAIT_MS = 20_000;

export class RespStream {
  private readonly parser = new RespParser("reply");
  private readonly frames: Frame[] = [];
  private pending = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private closed: Error | null = null;

  private constructor(private readonly write: (b: Uint8Array) => void, readonly name: string) {}

  static tcp(port: number, name = `tcp:${port}`): Promise<RespStream> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, "127.0.0.1");
      const s = new RespStream((b) => sock.write(b), name);
      sock.on("data", (d: Buffer) => s.feed(d));
      sock.on("close", () => s.fail(new Error(`${name}: closed`)));
      sock.once("error", reject);
      sock.once("connect", () => {
        s.end = () => sock.destroy();
        resolve(s);
      });
    });
  }

  static ws(url: string, token: string, name = "ws"): Promise<RespStream> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` }, perMessageDeflate: false });
      ws.binaryType = "nodebuffer";
      const s = new RespStream((b) => ws.send(b, { binary: true }), name);
      ws.on("message", (d: Buffer) => s.feed(d));
      ws.on("close", () => s.fail(new Error(`${name}: closed`)));
      ws.once("error", reject);
      ws.once("open", () => {
        s.end = () => ws.close();
        resolve(s);
      });
    });
  }

  end: () => void = () => {};

  /** Send commands back to back in one write. */
  send(...cmds: string[][]): void {
    this.write(Buffer.concat(cmds.map((c) => Buffer.from(encodeCommand(c)))));
  }

  /** The frames received up to and including the first for which `last` holds (removed from the stream). */
  take(last: (f: Frame) => boolean, what = "a frame"): Promise<Frame[]> {
    return this.waitFor(() => {
      const i = this.frames.findIndex(last);
      return i < 0 ? null : i + 1;
    }, what);
  }

  /** The next `n` frames. */
  next(n = 1): Promise<Frame[]> {
    return this.waitFor(() => (this.frames.length >= n ? n : null), `${n} frame(s)`);
  }

  private async waitFor(count: () => number | null, what: string): Promise<Frame[]> {
    const deadline = Date.now() + FRAME_WAIT_MS;
    while (true) {
      const n = count();
      if (n !== null) return this.frames.splice(0, n);
      if (this.closed) throw this.closed;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no ${what} within ${FRAME_WAIT_MS} ms; got ${JSON.stringify(this.frames.map((f) => f.raw))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  private feed(d: Buffer): void {
    this.pending = Buffer.concat([this.pending, d]);
    this.parser.push(new Uint8Array(d));
    while (true) {
      const v = this.parser.next();
      if (v === undefined) break;
      const raw = this.pending.subarray(0, this.parser.lastBytes).toString("latin1");
      this.pending = this.pending.subarray(this.parser.lastBytes);
      this.frames.push({ raw, v });
    }
    this.wake?.();
  }

  private fail(e: Error): void {
    this.closed = e;
    this.wake?.();
  }
}
