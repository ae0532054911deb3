/**
 * A RESP client over a WebSocket through the router, for tests that need several
 * connections (blocking commands, pub/sub): send commands, wait for exact reply bytes.
 */
import { SELF } from "cloudflare:test";
import { expect } from "vitest";

export interface RespSocket {
  send(...args: string[]): void;
  /** Several commands in one frame: the test pool may reorder frames sent back to back. */
  sendAll(...cmds: string[][]): void;
  /** Wait for exactly these bytes next. */
  expect(bytes: string): Promise<void>;
  /** The next line of the reply stream, without its CRLF. */
  line(): Promise<string>;
  /** The next reply, a bulk string: its text. */
  bulkText(): Promise<string>;
  /** Drop everything before the next occurrence of `marker` (a reply whose bytes vary). */
  skipTo(marker: string): Promise<void>;
  /** Resolves with the close code once the node closed the socket. */
  closed: Promise<number>;
  close(): void;
}

export const resp = (args: string[]): string => `*${args.length}\r\n` + args.map((a) => `$${new TextEncoder().encode(a).length}\r\n${a}\r\n`).join("");
export const bulk = (s: string | null): string => (s === null ? "$-1\r\n" : `$${new TextEncoder().encode(s).length}\r\n${s}\r\n`);
export const arr = (...items: (string | null)[]): string => `*${items.length}\r\n` + items.map(bulk).join("");

export async function openResp(path: string, token = "test-token"): Promise<RespSocket> {
  const res = await SELF.fetch(`https://example.com${path}`, { headers: { Upgrade: "websocket", authorization: `Bearer ${token}` } });
  const ws = res.webSocket!;
  (ws as unknown as { binaryType: string }).binaryType = "arraybuffer";
  ws.accept();
  let buf = "";
  let wake: (() => void) | null = null;
  const closed = new Promise<number>((resolve) => {
    ws.addEventListener("close", (e) => {
      resolve(e.code);
      wake?.();
    });
  });
  ws.addEventListener("message", (e) => {
    buf += typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer);
    wake?.();
  });
  return {
    send: (...args) => ws.send(resp(args)),
    sendAll: (...cmds) => ws.send(cmds.map(resp).join("")),
    async expect(bytes) {
      while (buf.length < bytes.length) await new Promise<void>((r) => (wake = r));
      const got = buf.slice(0, bytes.length);
      buf = buf.slice(bytes.length);
      expect(got).toBe(bytes);
    },
    async line() {
      while (!buf.includes("\r\n")) await new Promise<void>((r) => (wake = r));
      const i = buf.indexOf("\r\n");
      const l = buf.slice(0, i);
      buf = buf.slice(i + 2);
      return l;
    },
    async bulkText() {
      while (!buf.includes("\r\n")) await new Promise<void>((r) => (wake = r));
      const i = buf.indexOf("\r\n");
      const head = buf.slice(0, i);
      expect(head).toMatch(/^\$\d+$/);
      const n = Number(head.slice(1));
      while (buf.length < i + 2 + n + 2) await new Promise<void>((r) => (wake = r));
      const text = buf.slice(i + 2, i + 2 + n);
      buf = buf.slice(i + 2 + n + 2);
      return text;
    },
    async skipTo(marker) {
      while (!buf.includes(marker)) await new Promise<void>((r) => (wake = r));
      buf = buf.slice(buf.indexOf(marker));
    },
    closed,
    close: () => ws.close(1000, "done"),
  };
}
