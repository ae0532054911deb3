/**
 * The published @upstash/redis SDK (1.39)'s `subscribe()`/`psubscribe()` over server-sent
 * events against the local Worker: messages published at the master reach a subscriber on
 * the master and one on a replica (the replica receives PUBLISH through the stream).
 */
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker, type TestWorker } from "./support/worker.ts";

let w: TestWorker;
let redis: Redis;

beforeAll(async () => {
  w = await startWorker();
  redis = new Redis({ url: w.url, token: w.token });
});
afterAll(async () => {
  await w?.dispose();
});

/** One raw REST command on a node of the default database. */
async function onNode(node: string, ...args: string[]): Promise<unknown> {
  const res = await fetch(`${w.url}/db/default/nodes/${node}`, { method: "POST", headers: { authorization: `Bearer ${w.token}` }, body: JSON.stringify(args) });
  return ((await res.json()) as { result?: unknown }).result;
}

/** The next event of `type` on a subscriber. */
function nextEvent<T>(sub: object, type: string): Promise<T> {
  const s = sub as { on(type: string, listener: (d: unknown) => void): void };
  return new Promise((resolve) => s.on(type, (d) => resolve(d as T)));
}

describe("@upstash/redis subscribe() over SSE", () => {
  it("subscribe and psubscribe receive messages published at the master", async () => {
    const sub = redis.subscribe<{ n: number }>(["sdk-chan"]);
    const psub = redis.psubscribe<{ n: number }>(["sdk-*"]);
    expect(await nextEvent<number>(sub, "subscribe")).toBe(1);
    expect(await nextEvent<number>(psub, "psubscribe")).toBe(1);
    const msg = nextEvent(sub, "message");
    const pmsg = nextEvent(psub, "pmessage");
    expect(await redis.publish("sdk-chan", { n: 1 })).toBe(2);
    expect(await msg).toEqual({ channel: "sdk-chan", message: { n: 1 } });
    expect(await pmsg).toEqual({ pattern: "sdk-*", channel: "sdk-chan", message: { n: 1 } });
    await sub.unsubscribe();
    await psub.unsubscribe();
  });

  it("a subscriber on a replica receives what is published at the master", async () => {
    expect(await onNode("r1", "REPLICAOF", "master")).toBe("OK");
    for (let i = 0; i < 400; i++) {
      const info = String(await onNode("r1", "INFO", "replication"));
      if (info.includes("master_link_status:up")) break;
      await new Promise((r) => setTimeout(r, 50)); // polling the link state: no event to await across processes
    }
    const atReplica = new Redis({ url: `${w.url}/db/default/nodes/r1`, token: w.token });
    const sub = atReplica.subscribe<string>(["repl-feed"]);
    expect(await nextEvent<number>(sub, "subscribe")).toBe(1);
    const msg = nextEvent(sub, "message");
    // Nobody listens at the master: it answers 0, and the replica delivers all the same.
    expect(await redis.publish("repl-feed", "hello")).toBe(0);
    expect(await msg).toEqual({ channel: "repl-feed", message: "hello" });
    await sub.unsubscribe();
    expect(await onNode("r1", "REPLICAOF", "NO", "ONE")).toBe("OK");
  });
});
