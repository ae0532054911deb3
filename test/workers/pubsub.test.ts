/**
 * Pub/sub over WebSocket RESP (issue 11 item 4): Redis 7.0's replies byte for byte in RESP2
 * and RESP3, the subscribed context, the read-only token, and PUBLISH at the master reaching
 * a subscriber on a replica through the replication stream.
 */
import { runInDurableObject, SELF } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import { createReplica, untilServedBy } from "./edge.ts";
import { sseEvents } from "../shared/sse-events.ts";
import { openResp } from "./resp-socket.ts";
import { PUBSUB_LIMIT_ERROR } from "../../src/pubsub/hub.ts";
import { PUBSUB_NAME_BYTES_PER_CONN_MAX, PUBSUB_SUBSCRIPTIONS_PER_CONN_MAX } from "../../src/pubsub/registry.ts";
import { attach, cmd, freshDb, info, releaseReplicas, stub, until } from "./nodes.ts";
import type { Node } from "../../src/node/node.ts";

afterAll(releaseReplicas);

/** A RESP WebSocket through the router; `expect` waits for exactly these bytes next. */
const open = openResp;

const sub = (kind: string, name: string | null, n: number) => `*3\r\n$${kind.length}\r\n${kind}\r\n${name === null ? "$-1" : `$${name.length}\r\n${name}`}\r\n:${n}\r\n`;
const push = (kind: string, name: string, n: number) => `>3\r\n$${kind.length}\r\n${kind}\r\n$${name.length}\r\n${name}\r\n:${n}\r\n`;

describe("pub/sub over RESP WebSockets", () => {
  it("RESP2: SUBSCRIBE/PSUBSCRIBE confirmations, message and pmessage, subscribed context, UNSUBSCRIBE", async () => {
    const db = freshDb("ps");
    await cmd(db, "master", "PING");
    const s = await open(`/db/${db}/ws`);
    const p = await open(`/db/${db}/ws`);
    s.send("SUBSCRIBE", "news", "sport");
    await s.expect(sub("subscribe", "news", 1) + sub("subscribe", "sport", 2));
    s.send("PSUBSCRIBE", "n*");
    await s.expect(sub("psubscribe", "n*", 3));
    s.send("GET", "k");
    await s.expect("-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n");
    s.send("PING");
    await s.expect("*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    s.send("MULTI");
    await s.expect("-ERR Can't execute 'multi': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n");
    p.send("PUBLISH", "news", "hello");
    await p.expect(":2\r\n");
    await s.expect("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$5\r\nhello\r\n");
    p.send("PUBSUB", "NUMSUB", "news", "none");
    await p.expect("*4\r\n$4\r\nnews\r\n:1\r\n$4\r\nnone\r\n:0\r\n");
    p.send("PUBSUB", "NUMPAT");
    await p.expect(":1\r\n");
    p.send("PUBSUB", "CHANNELS", "s*");
    await p.expect("*1\r\n$5\r\nsport\r\n");
    p.send("PUBSUB", "CHANNELS", "a", "b");
    await p.expect("-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n");
    p.send("PUBSUB", "NUMPAT", "x");
    await p.expect("-ERR wrong number of arguments for 'pubsub|numpat' command\r\n");
    p.send("PUBSUB", "FOO");
    await p.expect("-ERR unknown subcommand 'FOO'. Try PUBSUB HELP.\r\n");
    // Inside MULTI, SUBSCRIBE's confirmation is written inline in EXEC's array (redis-server 7.0.15's bytes).
    const m = await open(`/db/${db}/ws`);
    m.sendAll(["MULTI"], ["SUBSCRIBE", "x"], ["EXEC"]);
    await m.expect("+OK\r\n+QUEUED\r\n*1\r\n" + sub("subscribe", "x", 1));
    m.close();
    // The subscribed context refuses commands as they arrive, not as EXEC runs them: a PUBLISH
    // queued after a PSUBSCRIBE runs (redis-server 7.0.15's bytes; pub/sub differential seed 3147437395).
    const q = await open(`/db/${db}/ws`);
    q.sendAll(["MULTI"], ["PSUBSCRIBE", "a*"], ["PUBLISH", "zz", "m"], ["PSUBSCRIBE", "news.*"], ["EXEC"]);
    await q.expect("+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n" + sub("psubscribe", "a*", 1) + ":0\r\n" + sub("psubscribe", "news.*", 2));
    q.close();
    s.send("UNSUBSCRIBE");
    await s.expect(sub("unsubscribe", "news", 2) + sub("unsubscribe", "sport", 1));
    s.send("PUNSUBSCRIBE");
    await s.expect(sub("punsubscribe", "n*", 0));
    s.send("PUNSUBSCRIBE");
    await s.expect(sub("punsubscribe", null, 0));
    // Out of subscribed mode: any command again, and nobody receives.
    s.send("PING");
    await s.expect("+PONG\r\n");
    p.send("PUBLISH", "news", "x");
    await p.expect(":0\r\n");
    s.close();
    p.close();
  });

  it("RESP3: push frames, other commands allowed, a message to itself comes before PUBLISH's reply", async () => {
    const db = freshDb("ps3");
    await cmd(db, "master", "PING");
    const s = await open(`/db/${db}/ws`);
    s.sendAll(["HELLO", "3"], ["SUBSCRIBE", "c"]);
    await s.skipTo(">3\r\n$9\r\nsubscribe"); // past HELLO's map
    await s.expect(push("subscribe", "c", 1));
    s.send("SET", "k", "v");
    await s.expect("+OK\r\n");
    s.send("PUBLISH", "c", "m");
    await s.expect(">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n:1\r\n");
    s.send("UNSUBSCRIBE", "c");
    await s.expect(push("unsubscribe", "c", 0));
    s.send("UNSUBSCRIBE");
    await s.expect(">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n");
    s.close();
  });

  it("PUBLISH needs the read-write token; the read-only token may subscribe", async () => {
    const db = freshDb("psro");
    await cmd(db, "master", "PING");
    const ro = await open(`/db/${db}/ws`, "test-readonly-token");
    ro.send("PUBLISH", "c", "m");
    await ro.expect("-NOPERM this user has no permissions to run the 'publish' command\r\n");
    ro.send("SUBSCRIBE", "c");
    await ro.expect(sub("subscribe", "c", 1));
    expect(await cmd(db, "master", "PUBLISH", "c", "m")).toBe(1);
    await ro.expect("*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n");
    ro.close();
  });

  it("over REST, SUBSCRIBE is refused and PUBLISH answers the receivers", async () => {
    const db = freshDb("psrest");
    await expect(cmd(db, "master", "SUBSCRIBE", "c")).rejects.toThrow("ERR 'subscribe' is not available over REST");
    expect(await cmd(db, "master", "PUBLISH", "c", "m")).toBe(0);
  });

  it("a subscriber on a replica receives a message published at the master", async () => {
    const db = freshDb("psrepl");
    await cmd(db, "master", "PING");
    await attach(db, "r1");
    const s = await open(`/db/${db}/nodes/r1/ws`);
    s.send("SUBSCRIBE", "events");
    await s.expect(sub("subscribe", "events", 1));
    const s3 = await open(`/db/${db}/nodes/r1/ws`);
    s3.sendAll(["HELLO", "3"], ["PSUBSCRIBE", "ev*"]);
    await s3.skipTo(">3\r\n$10\r\npsubscribe");
    await s3.expect(push("psubscribe", "ev*", 1));
    // At the master nobody listens: PUBLISH answers 0, the replica delivers all the same.
    expect(await cmd(db, "master", "PUBLISH", "events", "from-master")).toBe(0);
    await s.expect("*3\r\n$7\r\nmessage\r\n$6\r\nevents\r\n$11\r\nfrom-master\r\n");
    await s3.expect(">4\r\n$8\r\npmessage\r\n$3\r\nev*\r\n$6\r\nevents\r\n$11\r\nfrom-master\r\n");
    // From a script, PUBLISH is propagated too.
    expect(await cmd(db, "master", "EVAL", "return redis.call('publish', KEYS[1], ARGV[1])", "1", "events", "from-lua")).toBe(0);
    await s.expect("*3\r\n$7\r\nmessage\r\n$6\r\nevents\r\n$8\r\nfrom-lua\r\n");
    await s3.expect(">4\r\n$8\r\npmessage\r\n$3\r\nev*\r\n$6\r\nevents\r\n$8\r\nfrom-lua\r\n");
    // A client PUBLISH on the replica is local: it reaches the replica's subscribers only.
    expect(await cmd(db, "r1", "PUBLISH", "events", "local")).toBe(2);
    await s.expect("*3\r\n$7\r\nmessage\r\n$6\r\nevents\r\n$5\r\nlocal\r\n");
    s.close();
    s3.close();
  });
});

describe("sharded pub/sub over RESP WebSockets (Redis 7.0 without cluster)", () => {
  it("SSUBSCRIBE/SPUBLISH/SUNSUBSCRIBE and PUBSUB SHARD*: redis-server 7.0.15's bytes in RESP2 and RESP3", async () => {
    const db = freshDb("sps");
    await cmd(db, "master", "PING");
    const s = await open(`/db/${db}/ws`);
    const p = await open(`/db/${db}/ws`);
    s.send("SSUBSCRIBE", "q", "r");
    await s.expect(sub("ssubscribe", "q", 1) + sub("ssubscribe", "r", 2));
    s.send("SUBSCRIBE", "r");
    await s.expect(sub("subscribe", "r", 1));
    s.send("GET", "k");
    await s.expect("-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n");
    // Refused there, EXEC answers EXECABORT and a container names its subcommand (redis-server 7.0.15).
    s.sendAll(["EXEC"], ["PUBSUB", "NUMPAT"]);
    await s.expect(
      "-EXECABORT Transaction discarded because of: Can't execute 'exec': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n" +
        "-ERR Can't execute 'pubsub|numpat': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );
    const s3 = await open(`/db/${db}/ws`);
    s3.sendAll(["HELLO", "3"], ["SSUBSCRIBE", "r"]);
    await s3.skipTo(">3\r\n$10\r\nssubscribe");
    await s3.expect(push("ssubscribe", "r", 1));
    // SPUBLISH reaches the shard subscribers only; PUBLISH the channel subscribers only.
    p.send("SPUBLISH", "r", "hi");
    await p.expect(":2\r\n");
    await s.expect("*3\r\n$8\r\nsmessage\r\n$1\r\nr\r\n$2\r\nhi\r\n");
    await s3.expect(">3\r\n$8\r\nsmessage\r\n$1\r\nr\r\n$2\r\nhi\r\n");
    p.send("PUBLISH", "r", "yo");
    await p.expect(":1\r\n");
    await s.expect("*3\r\n$7\r\nmessage\r\n$1\r\nr\r\n$2\r\nyo\r\n");
    const stats = await info(db, "master", "stats");
    expect([stats.pubsub_channels, stats.pubsub_patterns, stats.pubsubshard_channels]).toEqual(["1", "0", "2"]);
    p.send("PUBSUB", "SHARDNUMSUB", "r", "q", "none");
    await p.expect("*6\r\n$1\r\nr\r\n:2\r\n$1\r\nq\r\n:1\r\n$4\r\nnone\r\n:0\r\n");
    p.send("PUBSUB", "SHARDCHANNELS", "q*");
    await p.expect("*1\r\n$1\r\nq\r\n");
    p.send("PUBSUB", "NUMSUB", "q");
    await p.expect("*2\r\n$1\r\nq\r\n:0\r\n");
    p.send("PUBSUB", "SHARDCHANNELS", "a", "b");
    await p.expect("-ERR unknown subcommand or wrong number of arguments for 'SHARDCHANNELS'. Try PUBSUB HELP.\r\n");
    p.send("PUBSUB", "HELP", "x");
    await p.expect("-ERR wrong number of arguments for 'pubsub|help' command\r\n");
    p.send("PUBSUB", "HELP");
    await p.expect("*14\r\n+PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+CHANNELS [<pattern>]\r\n");
    await p.skipTo("+SHARDNUMSUB");
    await p.expect("+SHARDNUMSUB [<shardchannel> ...]\r\n+    Return the number of subscribers for the specified shard level channel(s)\r\n+HELP\r\n+    Prints this help.\r\n");
    // CLIENT INFO counts each kind (s3 is in RESP3, where any command may run).
    s3.send("CLIENT", "INFO");
    await s3.skipTo(" sub=");
    await s3.expect(" sub=0 psub=0 ssub=1 ");
    // SSUBSCRIBE inside EXEC is refused (EXEC's client is DENY_BLOCKING); SUBSCRIBE is not.
    const m = await open(`/db/${db}/ws`);
    m.sendAll(["MULTI"], ["SSUBSCRIBE", "a"], ["SUBSCRIBE", "b"], ["EXEC"]);
    await m.expect("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n-ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client\r\n" + sub("subscribe", "b", 1));
    m.close();
    s.send("SUNSUBSCRIBE", "z");
    await s.expect(sub("sunsubscribe", "z", 2));
    s.send("UNSUBSCRIBE");
    await s.expect(sub("unsubscribe", "r", 0));
    s.send("SUNSUBSCRIBE");
    await s.expect(sub("sunsubscribe", "q", 1) + sub("sunsubscribe", "r", 0));
    s.send("SUNSUBSCRIBE");
    await s.expect(sub("sunsubscribe", null, 0));
    s.send("PING");
    await s.expect("+PONG\r\n");
    s3.send("SUNSUBSCRIBE");
    await s3.skipTo(">3\r\n$12");
    await s3.expect(">3\r\n$12\r\nsunsubscribe\r\n$1\r\nr\r\n:0\r\n");
    s.close();
    s3.close();
    p.close();
  });

  it("CLIENT KILL TYPE pubsub ends subscribed connections (WebSocket and SSE); TYPE normal leaves them", async () => {
    const db = freshDb("pskill");
    await cmd(db, "master", "PING");
    const ws = await open(`/db/${db}/ws`);
    ws.send("SSUBSCRIBE", "k1");
    await ws.expect(sub("ssubscribe", "k1", 1));
    const plain = await open(`/db/${db}/ws`);
    plain.send("PING");
    await plain.expect("+PONG\r\n");
    const s = await sse(`/db/${db}/nodes/master/subscribe/k2`);
    expect(await s.next()).toBe("data: subscribe,k2,1");
    expect(await cmd(db, "master", "CLIENT", "KILL", "TYPE", "normal")).toBe(1);
    expect(await cmd(db, "master", "PUBSUB", "SHARDNUMSUB", "k1")).toEqual(["k1", 1]);
    expect(await cmd(db, "master", "CLIENT", "KILL", "TYPE", "pubsub")).toBe(2);
    expect(await cmd(db, "master", "PUBSUB", "SHARDNUMSUB", "k1")).toEqual(["k1", 0]);
    expect(await cmd(db, "master", "PUBSUB", "NUMSUB", "k2")).toEqual(["k2", 0]);
    await expect(s.next()).rejects.toThrow("stream ended");
  });

  it("SPUBLISH at the master reaches a shard subscriber on a replica; shard channels are kept in the attachment", async () => {
    const db = freshDb("spsrepl");
    await cmd(db, "master", "PING");
    await attach(db, "r1");
    const s = await open(`/db/${db}/nodes/r1/ws`);
    s.send("SSUBSCRIBE", "orders");
    await s.expect(sub("ssubscribe", "orders", 1));
    expect(await cmd(db, "master", "SPUBLISH", "orders", "from-master")).toBe(0);
    await s.expect("*3\r\n$8\r\nsmessage\r\n$6\r\norders\r\n$11\r\nfrom-master\r\n");
    // A client SPUBLISH on the replica is local to it, as PUBLISH.
    expect(await cmd(db, "r1", "SPUBLISH", "orders", "local")).toBe(1);
    await s.expect("*3\r\n$8\r\nsmessage\r\n$6\r\norders\r\n$5\r\nlocal\r\n");
    const saved = await runInDurableObject(stub(db, "r1"), (_n: Node, state: DurableObjectState) =>
      state.getWebSockets().flatMap((ws) => ((ws.deserializeAttachment() as { subs?: { shard?: Uint8Array[] } }).subs?.shard ?? []).map((x) => new TextDecoder().decode(x))),
    );
    expect(saved).toEqual(["orders"]);
    // The read-only token may SSUBSCRIBE but not SPUBLISH.
    const ro = await open(`/db/${db}/ws`, "test-readonly-token");
    ro.sendAll(["SPUBLISH", "orders", "m"], ["SSUBSCRIBE", "orders"]);
    await ro.expect("-NOPERM this user has no permissions to run the 'spublish' command\r\n" + sub("ssubscribe", "orders", 1));
    ro.close();
    s.close();
  });
});

/** An Upstash SSE subscription through the router; `next` waits for the next `data:` line. */
async function sse(path: string, servedBy?: string, region?: string) {
  const headers: Record<string, string> = { authorization: "Bearer test-token", accept: "text/event-stream" };
  if (region) headers["x-debug-client-region"] = region;
  const res = await SELF.fetch(`https://example.com${path}`, { method: "POST", headers, body: "[]" });
  expect(res.status).toBe(200);
  if (servedBy) expect(res.headers.get("x-served-by")).toBe(servedBy);
  expect(res.headers.get("content-type")).toBe("text/event-stream");
  const { reader, next } = sseEvents(res.body!);
  return {
    next,
    cancel: () => reader.cancel(),
  };
}

describe("Upstash pub/sub over server-sent events", () => {
  it("POST /subscribe/{channel} and /psubscribe/{pattern} stream Upstash's comma-joined events; a cancelled stream unsubscribes", async () => {
    const db = freshDb("sse");
    await cmd(db, "master", "PING");
    const a = await sse(`/db/${db}/subscribe/chat`);
    expect(await a.next()).toBe("data: subscribe,chat,1");
    const p = await sse(`/db/${db}/psubscribe/ch*`);
    expect(await p.next()).toBe("data: psubscribe,ch*,1");
    expect(await cmd(db, "master", "PUBLISH", "chat", '{"hi":1}')).toBe(2);
    expect(await a.next()).toBe('data: message,chat,{"hi":1}');
    expect(await p.next()).toBe('data: pmessage,ch*,chat,{"hi":1}');
    await a.cancel();
    // A gone client is noticed when a write to it fails: then it is unsubscribed.
    await until("the cancelled subscriber is dropped", async () => (await cmd(db, "master", "PUBLISH", "chat", "x")) === 1);
    expect(await cmd(db, "master", "PUBSUB", "NUMSUB", "chat")).toEqual(["chat", 0]);
    expect(await p.next()).toBe("data: pmessage,ch*,chat,x");
    await p.cancel();
  });

  it("a subscriber on a replica's SSE stream receives what the master publishes", async () => {
    const db = freshDb("sserepl");
    await cmd(db, "master", "PING");
    await attach(db, "r1");
    const s = await sse(`/db/${db}/nodes/r1/subscribe/news`);
    expect(await s.next()).toBe("data: subscribe,news,1");
    await cmd(db, "master", "PUBLISH", "news", "line1\nline2");
    expect(await s.next()).toBe("data: message,news,line1\ndata: line2");
    await s.cancel();
  });

  it("through the base URL a subscriber is served by the nearest replica and receives the master's messages", async () => {
    const db = freshDb("ssenear");
    await cmd(db, "master", "PING");
    await createReplica(db, "asia", "apac");
    await untilServedBy(db, "apac", "asia");
    const s = await sse(`/db/${db}/subscribe/feed`, "asia", "oc");
    expect(await s.next()).toBe("data: subscribe,feed,1");
    expect(await cmd(db, "master", "PUBLISH", "feed", "hello")).toBe(0);
    expect(await s.next()).toBe("data: message,feed,hello");
    await s.cancel();
  });

  it("a connection's subscriptions fill its hibernation attachment up to the limit, then SUBSCRIBE is refused", async () => {
    const db = freshDb("pslim");
    await cmd(db, "master", "PING");
    const s = await open(`/db/${db}/ws`);
    const per = Math.floor(PUBSUB_NAME_BYTES_PER_CONN_MAX / PUBSUB_SUBSCRIPTIONS_PER_CONN_MAX);
    const names = Array.from({ length: PUBSUB_SUBSCRIPTIONS_PER_CONN_MAX }, (_, i) => String(i).padStart(per, "x"));
    s.send("SUBSCRIBE", ...names);
    await s.skipTo(sub("subscribe", names.at(-1)!, PUBSUB_SUBSCRIPTIONS_PER_CONN_MAX));
    await s.expect(sub("subscribe", names.at(-1)!, PUBSUB_SUBSCRIPTIONS_PER_CONN_MAX));
    s.send("SUBSCRIBE", "one-more");
    await s.expect(`-${PUBSUB_LIMIT_ERROR}\r\n`);
    const saved = await runInDurableObject(stub(db, "master"), (_n: Node, state: DurableObjectState) =>
      state
        .getWebSockets()
        .map((ws) => (ws.deserializeAttachment() as { subs?: { channel: Uint8Array[] } }).subs?.channel.length ?? 0)
        .reduce((a, b) => a + b, 0),
    );
    expect(saved).toBe(PUBSUB_SUBSCRIPTIONS_PER_CONN_MAX);
    s.close();
  });
});
