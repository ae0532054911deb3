/**
 * Streaming clients over HTTP (issue 11 item 4): bounded output for SSE subscribers and
 * `/monitor` (client-output-buffer-limit), and `/monitor` itself, the Upstash way.
 */
import { runInDurableObject, SELF } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import type { Node } from "../../src/node/node.ts";
import { STREAM_PENDING_BYTES_MAX } from "../../src/pubsub/output-bound.ts";
import type { StreamClients } from "../../src/pubsub/streams.ts";
import { cmd, freshDb, info, releaseReplicas, stub, until } from "./nodes.ts";
import { sseEvents } from "../shared/sse-events.ts";

afterAll(releaseReplicas);

/** A streaming POST through the router; `next` waits for the next SSE event. */
async function stream(path: string, token = "test-token") {
  const res = await SELF.fetch(`https://example.com${path}`, { method: "POST", headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" }, body: "[]" });
  const { reader, next } = sseEvents(res.body!);
  return {
    res,
    next,
    /** Read what is left; resolves with how the stream ended. */
    async drain(): Promise<"ended" | "errored"> {
      try {
        while (!(await reader.read()).done);
        return "ended";
      } catch {
        return "errored";
      }
    },
    cancel: () => reader.cancel(),
  };
}

const streamsOf = (n: Node) => (n as unknown as { streams: StreamClients }).streams;
const disconnections = async (db: string) => Number((await info(db, "master", "stats")).client_output_buffer_limit_disconnections);

/** Messages published (the fast subscriber reads each) until PUBLISH reaches only `receivers`; how many it took. */
async function publishUntil(db: string, receivers: number, payload: string, fast: { next(): Promise<string> }, max: number): Promise<number> {
  for (let i = 1; i <= max; i++) {
    const n = await cmd(db, "master", "PUBLISH", "feed", payload);
    expect(await fast.next()).toBe(`data: message,feed,${payload}`);
    if (n === receivers) return i;
  }
  throw new Error(`PUBLISH still reached more than ${receivers} after ${max} messages`);
}

describe("bounded output of SSE subscribers (client-output-buffer-limit pubsub)", () => {
  it("a subscriber that does not read is dropped past the hard limit; the one that reads keeps receiving", async () => {
    const db = freshDb("obuf");
    expect(await cmd(db, "master", "CONFIG", "SET", "client-output-buffer-limit", "pubsub 64kb 0 0")).toBe("OK");
    const before = await disconnections(db);
    const slow = await stream(`/db/${db}/nodes/master/subscribe/feed`);
    const fast = await stream(`/db/${db}/nodes/master/subscribe/feed`);
    expect(await slow.next()).toBe("data: subscribe,feed,1");
    expect(await fast.next()).toBe("data: subscribe,feed,1");
    const payload = "x".repeat(4096);
    // The slow one never reads again: what it does not take piles up until the limit drops it.
    const sent = await publishUntil(db, 1, payload, fast, 2000);
    expect(sent).toBeGreaterThan(64 * 1024 / 4096);
    expect(await disconnections(db)).toBe(before + 1);
    const [pending, numsub] = await runInDurableObject(stub(db, "master"), async (n: Node) => [streamsOf(n).pendingBytes, await n.engine.execute(n.newSession(false, "t"), ["PUBSUB", "NUMSUB", "feed"].map((s) => new TextEncoder().encode(s)))]);
    expect((numsub as unknown[])[1]).toBe(1);
    // Only the fast subscriber's few unread bytes are still counted (the slow one's were released).
    expect(pending).toBeLessThan(64 * 1024);
    // The slow client finds its stream cut once it reads again.
    expect(await slow.drain()).toMatch(/ended|errored/);
    expect(await cmd(db, "master", "PUBLISH", "feed", "after")).toBe(1);
    expect(await fast.next()).toBe("data: message,feed,after");
    await fast.cancel();
  });

  it("the soft limit: a subscriber still past it at a later message than the one that crossed it is dropped (soft-seconds 0)", async () => {
    const db = freshDb("obufsoft");
    expect(await cmd(db, "master", "CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 32kb 0")).toBe("OK");
    const before = await disconnections(db);
    const slow = await stream(`/db/${db}/nodes/master/subscribe/feed`);
    const fast = await stream(`/db/${db}/nodes/master/subscribe/feed`);
    expect(await slow.next()).toBe("data: subscribe,feed,1");
    expect(await fast.next()).toBe("data: subscribe,feed,1");
    const sent = await publishUntil(db, 1, "y".repeat(4096), fast, 2000);
    // Past the soft limit, well before the per-stream ceiling (hard limit 0: none).
    expect(sent).toBeGreaterThan(32 * 1024 / 4096);
    expect(sent * 4096).toBeLessThan(STREAM_PENDING_BYTES_MAX / 4);
    expect(await disconnections(db)).toBe(before + 1);
    await fast.cancel();
  });

  it("a server-side WebSocket has no bufferedAmount in workerd: WebSocket subscribers cannot be measured", async () => {
    const db = freshDb("obufws");
    const res = await SELF.fetch(`https://example.com/db/${db}/nodes/master/ws`, { headers: { Upgrade: "websocket", authorization: "Bearer test-token" } });
    res.webSocket!.accept();
    const seen = await runInDurableObject(stub(db, "master"), (_n: Node, state: DurableObjectState) => state.getWebSockets().map((ws) => "bufferedAmount" in ws));
    expect(seen).toEqual([false]);
    res.webSocket!.close(1000, "done");
  });
});

describe("/monitor over server-sent events (Upstash)", () => {
  it("streams `data: \"OK\"` then each executed command in MONITOR's format; a cancelled stream stops", async () => {
    const db = freshDb("mon");
    await cmd(db, "master", "PING");
    const m = await stream(`/db/${db}/monitor`);
    expect(m.res.status).toBe(200);
    expect(m.res.headers.get("content-type")).toBe("text/event-stream");
    expect(m.res.headers.get("x-served-by")).toBe("master");
    expect(await m.next()).toBe('data: "OK"');
    await cmd(db, "master", "SET", "k", 'a "q"\n');
    expect(await m.next()).toMatch(/^data: \d+\.\d{6} \[0 [^\]]+\] "SET" "k" "a \\"q\\"\\n"$/);
    await cmd(db, "master", "SELECT", "2");
    await m.cancel();
    // A gone client is noticed when a write to it fails; then nothing is formatted for it.
    await until("the cancelled /monitor stream is dropped", async () => {
      await cmd(db, "master", "PING");
      return runInDurableObject(stub(db, "master"), (n: Node) => !streamsOf(n).monitoring);
    });
  });

  it("needs admin permission (the read-only token gets NOPERM) and can be pinned to a node", async () => {
    const db = freshDb("monro");
    await cmd(db, "master", "PING");
    const ro = await SELF.fetch(`https://example.com/db/${db}/monitor`, { method: "POST", headers: { authorization: "Bearer test-readonly-token" } });
    expect(ro.status).toBe(400);
    expect(await ro.json()).toEqual({ error: "NOPERM this user has no permissions to run the 'monitor' command" });
    const pinned = await stream(`/db/${db}/nodes/master/monitor`);
    expect(await pinned.next()).toBe('data: "OK"');
    await cmd(db, "master", "GET", "x");
    expect(await pinned.next()).toMatch(/"GET" "x"$/);
    await pinned.cancel();
  });

  it("a /monitor stream that does not read is dropped past the normal class's hard limit", async () => {
    const db = freshDb("monobuf");
    expect(await cmd(db, "master", "CONFIG", "SET", "client-output-buffer-limit", "normal 32kb 0 0")).toBe("OK");
    const before = await disconnections(db);
    const m = await stream(`/db/${db}/monitor`);
    expect(await m.next()).toBe('data: "OK"');
    const value = "v".repeat(4096);
    let i = 0;
    await until("the slow /monitor stream is dropped", async () => {
      await cmd(db, "master", "SET", `k${i++}`, value);
      return (await disconnections(db)) === before + 1;
    });
    expect(i).toBeGreaterThan(32 * 1024 / 4096);
    expect(await runInDurableObject(stub(db, "master"), (n: Node) => streamsOf(n).monitoring)).toBe(false);
    expect(await m.drain()).toMatch(/ended|errored/);
  });
});
