/**
 * A command trickled over a client WebSocket in thousands of tiny frames, through wrangler
 * (the network path real clients take): it runs once with the right result, the connection
 * goes on, and a trickled line that never ends is refused at 64 KiB with the data unchanged.
 * (The Workers pool cannot carry this test: see test/workers/resp-input.test.ts.)
 */
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeCommand } from "../../src/protocol/resp.ts";
import { startWorker, type TestWorker } from "./support/worker.ts";

let w: TestWorker;
beforeAll(async () => {
  w = await startWorker();
});
afterAll(async () => {
  await w?.dispose();
});

async function rest(db: string, ...args: (string | number)[]): Promise<unknown> {
  const res = await fetch(`${w.url}/db/${db}`, {
    method: "POST",
    headers: { authorization: `Bearer ${w.token}`, "content-type": "application/json" },
    body: JSON.stringify(args),
  });
  const body = (await res.json()) as { result?: unknown; error?: string };
  if (body.error !== undefined) throw new Error(body.error);
  return body.result;
}

interface Conn {
  ws: WebSocket;
  /** Everything received so far, once it is at least `n` bytes (or the socket closed). */
  received(n: number): Promise<string>;
  closed: Promise<number>;
}

function open(db: string): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${w.url.replace(/^http/, "ws")}/db/${db}/ws`, { headers: { authorization: `Bearer ${w.token}` } });
    ws.binaryType = "nodebuffer";
    let text = "";
    let waiter: (() => void) | null = null;
    let done = false;
    ws.on("message", (d: Buffer) => {
      text += d.toString("latin1");
      waiter?.();
    });
    const closed = new Promise<number>((r) =>
      ws.on("close", (code) => {
        done = true;
        waiter?.();
        r(code);
      }),
    );
    ws.on("error", reject);
    ws.on("open", () =>
      resolve({
        ws,
        closed,
        async received(n) {
          while (text.length < n && !done) await new Promise<void>((r) => (waiter = r));
          return text;
        },
      }),
    );
  });
}

describe("RESP trickled over a WebSocket", () => {
  it("a 2,000-argument command in 2-byte frames runs once; the connection goes on", async () => {
    const db = `trickle${Date.now()}`;
    const argv = ["RPUSH", "list"];
    for (let i = 0; i < 2000; i++) argv.push(`value-${i}`);
    const enc = encodeCommand(argv);
    const c = await open(db);
    for (let o = 0; o < enc.length; o += 2) c.ws.send(enc.subarray(o, o + 2));
    c.ws.send(Buffer.from("PING\r\n"));
    expect(await c.received(":2000\r\n+PONG\r\n".length)).toBe(":2000\r\n+PONG\r\n");
    expect(await rest(db, "LLEN", "list")).toBe(2000);
    expect(await rest(db, "LRANGE", "list", 0, 2)).toEqual(["value-0", "value-1", "value-2"]);
    expect(await rest(db, "LINDEX", "list", -1)).toBe("value-1999");
    c.ws.close();
  });

  it("a bulk count line trickled without its end: refused at 64 KiB, closed, data unchanged", async () => {
    const db = `trickle${Date.now()}`;
    await rest(db, "SET", "k", "v");
    const digest = await rest(db, "DEBUG", "DIGEST");
    const c = await open(db);
    c.ws.send(Buffer.from("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$"));
    const digits = Buffer.from("9".repeat(64));
    for (let i = 0; i < 1100 && c.ws.readyState === WebSocket.OPEN; i++) c.ws.send(digits);
    expect(await c.received(1)).toBe("-ERR Protocol error: too big bulk count string\r\n");
    expect(await c.closed).toBe(1002);
    expect(await rest(db, "DEBUG", "DIGEST")).toBe(digest);
    expect(await rest(db, "GET", "k")).toBe("v");
  });
});
