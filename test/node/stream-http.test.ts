/**
 * Streaming endpoints over real HTTP (the Worker under workerd, Node's fetch as the client):
 * `/monitor` the Upstash way, and a subscriber that stops reading its SSE stream is dropped
 * past `client-output-buffer-limit pubsub` once the bytes it leaves unread reach our side
 * (the kernel's and the runtime's buffers in between fill first).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker, type TestWorker } from "./support/worker.ts";
import { sseEvents } from "../shared/sse-events.ts";

let w: TestWorker;

beforeAll(async () => {
  w = await startWorker();
});
afterAll(async () => {
  await w?.dispose();
});

async function rest(db: string, ...args: string[]): Promise<unknown> {
  const res = await fetch(`${w.url}/db/${db}/nodes/master`, { method: "POST", headers: { authorization: `Bearer ${w.token}` }, body: JSON.stringify(args) });
  const body = (await res.json()) as { result?: unknown; error?: string };
  if (body.error) throw new Error(body.error);
  return body.result;
}

/** POST a streaming endpoint; `next` answers the next SSE event. */
async function open(path: string) {
  const ac = new AbortController();
  const res = await fetch(`${w.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${w.token}`, accept: "text/event-stream" }, signal: ac.signal });
  expect(res.status).toBe(200);
  const { next } = sseEvents(res.body!);
  return {
    next,
    close: () => ac.abort(),
  };
}

describe("streaming endpoints over real HTTP", () => {
  it("POST /monitor streams `data: \"OK\"` then every command in MONITOR's format", async () => {
    const m = await open("/db/mon-http/monitor");
    expect(await m.next()).toBe('data: "OK"');
    await rest("mon-http", "SET", "mk", "v 1");
    expect(await m.next()).toMatch(/^data: \d+\.\d{6} \[0 [^\]]+\] "SET" "mk" "v 1"$/);
    await rest("mon-http", "HSET", "h", "f", "\x01");
    expect(await m.next()).toMatch(/"HSET" "h" "f" "\\x01"$/);
    m.close();
  });

  it("a subscriber that stops reading is dropped past the pubsub hard limit; the reading one keeps its messages", async () => {
    const db = "obuf-http";
    expect(await rest(db, "CONFIG", "SET", "client-output-buffer-limit", "pubsub 256kb 0 0")).toBe("OK");
    const slow = await open(`/db/${db}/nodes/master/subscribe/big`);
    const fast = await open(`/db/${db}/nodes/master/subscribe/big`);
    expect(await slow.next()).toBe("data: subscribe,big,1");
    expect(await fast.next()).toBe("data: subscribe,big,1");
    const payload = "p".repeat(64 * 1024);
    let sent = 0;
    // At most 256 MiB: far more than the buffers between the node and this process hold.
    for (let receivers = 2; receivers === 2; sent++) {
      if (sent >= 4096) throw new Error("the slow subscriber was never dropped");
      receivers = (await rest(db, "PUBLISH", "big", payload)) as number;
      expect(await fast.next()).toBe(`data: message,big,${payload}`);
    }
    const stats = String(await rest(db, "INFO", "stats"));
    expect(stats).toMatch(/client_output_buffer_limit_disconnections:1\r\n/);
    expect(await rest(db, "PUBSUB", "NUMSUB", "big")).toEqual(["big", 1]);
    slow.close();
    fast.close();
  });
});
