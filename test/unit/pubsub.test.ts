/** The pub/sub registry and hub (src/pubsub/): who receives what, replies, limits, restore. */
import { describe, expect, it } from "vitest";
import { newSession, type Session } from "../../src/keyspace/command.ts";
import { encodeReply } from "../../src/protocol/resp.ts";
import { RedisError, type Reply } from "../../src/protocol/reply.ts";
import { PubSubHub, type SavedSubscriptions } from "../../src/pubsub/hub.ts";
import { PUBSUB_NAME_BYTES_PER_CONN_MAX, PUBSUB_SUBSCRIPTIONS_PER_CONN_MAX, PubSubRegistry } from "../../src/pubsub/registry.ts";

const b = (s: string) => new TextEncoder().encode(s);
const t = (x: Uint8Array) => new TextDecoder().decode(x);
const wire = (r: Reply, resp: 2 | 3 = 2) => new TextDecoder().decode(encodeReply(r, resp));

describe("PubSubRegistry", () => {
  it("channel subscribers first, then each matching pattern's, once per (subscriber, pattern)", () => {
    const r = new PubSubRegistry<string>();
    expect(r.add("a", "channel", b("news"))).toBe("added");
    expect(r.add("a", "channel", b("news"))).toBe("exists");
    expect(r.add("b", "pattern", b("n*"))).toBe("added");
    expect(r.add("b", "pattern", b("ne?s"))).toBe("added");
    expect(r.add("a", "pattern", b("x*"))).toBe("added");
    const got = r.receivers(b("news")).map((x) => [x.sub, x.pattern && t(x.pattern)]);
    expect(got).toEqual([
      ["a", null],
      ["b", "n*"],
      ["b", "ne?s"],
    ]);
    expect(r.receivers(b("other"))).toEqual([]);
    expect(r.count("a")).toBe(2);
    expect(r.numSub(b("news"))).toBe(1);
    expect(r.numPat()).toBe(3);
    expect(r.activeChannels(null).map(t)).toEqual(["news"]);
    expect(r.activeChannels(b("x*"))).toEqual([]);
  });

  it("is binary-safe and forgets a name once its last subscriber leaves", () => {
    const r = new PubSubRegistry<number>();
    const ch = new Uint8Array([0xff, 0x00, 0x80]);
    r.add(1, "channel", ch);
    r.add(2, "channel", ch);
    expect(r.receivers(new Uint8Array([0xff, 0x00, 0x80])).length).toBe(2);
    expect(r.receivers(new Uint8Array([0xff, 0x00, 0x81])).length).toBe(0);
    expect(r.remove(1, "channel", ch)).toBe(true);
    expect(r.remove(1, "channel", ch)).toBe(false);
    expect(r.numSub(ch)).toBe(1);
    r.removeAll(2);
    expect(r.activeChannels(null)).toEqual([]);
    expect(r.count(2)).toBe(0);
  });

  it("bounds one connection's subscriptions by count and by name bytes", () => {
    const r = new PubSubRegistry<string>();
    for (let i = 0; i < PUBSUB_SUBSCRIPTIONS_PER_CONN_MAX; i++) expect(r.add("a", i % 2 ? "channel" : "pattern", b(`c${i}`))).toBe("added");
    expect(r.add("a", "channel", b("one-more"))).toBe("limit");
    expect(r.add("b", "channel", b("x".repeat(PUBSUB_NAME_BYTES_PER_CONN_MAX)))).toBe("added");
    expect(r.add("b", "channel", b("y"))).toBe("limit");
    expect(r.count("b")).toBe(1);
  });
});

function hubWith(): { hub: PubSubHub; got: Map<Session, string[]>; saved: Map<Session, SavedSubscriptions>; restores: number[] } {
  const got = new Map<Session, string[]>();
  const saved = new Map<Session, SavedSubscriptions>();
  const restores: number[] = [];
  const hub = new PubSubHub({
    deliver: (s, r) => got.set(s, [...(got.get(s) ?? []), wire(r, s.resp)]),
    save: (s, subs) => saved.set(s, subs),
    hasConnection: () => true,
    restoreAll: () => restores.push(1),
  });
  return { hub, got, saved, restores };
}

describe("PubSubHub", () => {
  it("answers SUBSCRIBE/UNSUBSCRIBE as Redis 7.0 does in RESP2 and RESP3", () => {
    const { hub } = hubWith();
    const s2 = newSession({ resp: 2 });
    expect(wire(hub.subscribe(s2, "channel", [b("a"), b("b")]), 2)).toBe("*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n");
    expect(wire(hub.subscribe(s2, "pattern", [b("a*")]), 2)).toBe("*3\r\n$10\r\npsubscribe\r\n$2\r\na*\r\n:3\r\n");
    expect(wire(hub.unsubscribe(s2, "channel", []), 2)).toBe("*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:2\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:1\r\n");
    expect(wire(hub.unsubscribe(s2, "channel", []), 2)).toBe("*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:1\r\n");
    const s3 = newSession({ resp: 3 });
    expect(wire(hub.subscribe(s3, "channel", [b("a")]), 3)).toBe(">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n");
    expect(wire(hub.unsubscribe(s3, "pattern", []), 3)).toBe(">3\r\n$12\r\npunsubscribe\r\n_\r\n:1\r\n");
  });

  it("PUBLISH counts and delivers message/pmessage frames; subscribed RESP2 refuses other commands", () => {
    const { hub, got, restores } = hubWith();
    const s2 = newSession({ resp: 2 });
    const s3 = newSession({ resp: 3 });
    hub.subscribe(s2, "channel", [b("ch")]);
    hub.subscribe(s3, "pattern", [b("c?")]);
    expect(hub.publish(b("ch"), b("hi"))).toBe(2);
    expect(restores.length).toBeGreaterThan(0);
    expect(got.get(s2)).toEqual(["*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"]);
    expect(got.get(s3)).toEqual([">4\r\n$8\r\npmessage\r\n$2\r\nc?\r\n$2\r\nch\r\n$2\r\nhi\r\n"]);
    expect(hub.contextError(s2, "get")).toBe("ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
    expect(hub.contextError(s2, "ping")).toBeNull();
    expect(hub.contextError(s3, "get")).toBeNull();
    expect(wire(hub.ping(s2, undefined)!, 2)).toBe("*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    expect(hub.ping(s3, undefined)).toBeNull();
    hub.reset(s2);
    expect(hub.contextError(s2, "get")).toBeNull();
    expect(hub.publish(b("ch"), b("x"))).toBe(1);
  });

  it("saves subscriptions and a rebuilt session adopts them (hibernation)", () => {
    const { hub, saved } = hubWith();
    const s = newSession();
    hub.subscribe(s, "channel", [b("a")]);
    hub.subscribe(s, "pattern", [b("p*")]);
    const keep = saved.get(s)!;
    expect([keep.channel.map(t), keep.pattern.map(t)]).toEqual([["a"], ["p*"]]);
    const fresh = hubWith();
    const woken = newSession();
    fresh.hub.adopt(woken, keep);
    expect(fresh.hub.publish(b("pq"), b("m"))).toBe(1);
    expect(fresh.hub.numSub(b("a"))).toBe(1);
    fresh.hub.drop(woken);
    expect(fresh.hub.numPat()).toBe(0);
  });

  it("past the limit the earned confirmations are delivered, then the error", () => {
    const { hub, got } = hubWith();
    const s = newSession();
    const names = Array.from({ length: PUBSUB_SUBSCRIPTIONS_PER_CONN_MAX + 1 }, (_, i) => b(`c${i}`));
    expect(() => hub.subscribe(s, "channel", names)).toThrow(RedisError);
    expect(got.get(s)!.length).toBe(PUBSUB_SUBSCRIPTIONS_PER_CONN_MAX);
    expect(hub.count(s)).toBe(PUBSUB_SUBSCRIPTIONS_PER_CONN_MAX);
  });
});

describe("sharded pub/sub (SSUBSCRIBE, Redis 7.0 without cluster)", () => {
  it("shard channels are their own namespace: own counts, smessage, no patterns", () => {
    const { hub, got } = hubWith();
    const s2 = newSession({ resp: 2 });
    const s3 = newSession({ resp: 3 });
    // The confirmation counts shard channels alone; SUBSCRIBE's counts channels + patterns alone.
    expect(wire(hub.subscribe(s2, "shard", [b("q"), b("r")]), 2)).toBe("*3\r\n$10\r\nssubscribe\r\n$1\r\nq\r\n:1\r\n*3\r\n$10\r\nssubscribe\r\n$1\r\nr\r\n:2\r\n");
    expect(wire(hub.subscribe(s2, "channel", [b("r")]), 2)).toBe("*3\r\n$9\r\nsubscribe\r\n$1\r\nr\r\n:1\r\n");
    expect(wire(hub.subscribe(s2, "pattern", [b("*")]), 2)).toBe("*3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:2\r\n");
    expect(hub.counts(s2)).toEqual({ channel: 1, pattern: 1, shard: 2 });
    expect(wire(hub.subscribe(s3, "shard", [b("r")]), 3)).toBe(">3\r\n$10\r\nssubscribe\r\n$1\r\nr\r\n:1\r\n");
    // SPUBLISH reaches shard subscribers only (not the channel `r` nor the pattern `*`).
    expect(hub.publishShard(b("r"), b("hi"))).toBe(2);
    expect(got.get(s2)).toEqual(["*3\r\n$8\r\nsmessage\r\n$1\r\nr\r\n$2\r\nhi\r\n"]);
    expect(got.get(s3)).toEqual([">3\r\n$8\r\nsmessage\r\n$1\r\nr\r\n$2\r\nhi\r\n"]);
    // PUBLISH does not reach shard subscribers: s2 gets message + pmessage, s3 nothing.
    expect(hub.publish(b("r"), b("x"))).toBe(2);
    expect(got.get(s3)!.length).toBe(1);
    expect(hub.channels(null, "shard").map(t).sort()).toEqual(["q", "r"]);
    expect(hub.channels(b("q*"), "shard").map(t)).toEqual(["q"]);
    expect(hub.channels(null).map(t)).toEqual(["r"]);
    expect([hub.numSub(b("r"), "shard"), hub.numSub(b("q"), "shard"), hub.numSub(b("q"))]).toEqual([2, 1, 0]);
    expect(hub.numPat()).toBe(1);
    expect(hub.infoStats()).toEqual(["pubsub_channels:1", "pubsub_patterns:1", "pubsubshard_channels:2"]);
  });

  it("a connection holding only shard channels is in subscribed mode; SUNSUBSCRIBE answers shard counts", () => {
    const { hub } = hubWith();
    const s = newSession({ resp: 2 });
    hub.subscribe(s, "shard", [b("a")]);
    expect(hub.contextError(s, "get")).toMatch(/^ERR Can't execute 'get'/);
    expect(wire(hub.ping(s, undefined)!, 2)).toBe("*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    // UNSUBSCRIBE with nothing held answers nil and the channel + pattern count (0), shard kept.
    expect(wire(hub.unsubscribe(s, "channel", []), 2)).toBe("*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
    expect(wire(hub.unsubscribe(s, "shard", [b("z")]), 2)).toBe("*3\r\n$12\r\nsunsubscribe\r\n$1\r\nz\r\n:1\r\n");
    expect(wire(hub.unsubscribe(s, "shard", []), 2)).toBe("*3\r\n$12\r\nsunsubscribe\r\n$1\r\na\r\n:0\r\n");
    expect(hub.contextError(s, "get")).toBeNull();
    expect(wire(hub.unsubscribe(s, "shard", []), 2)).toBe("*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n");
  });

  it("shard subscriptions are saved and adopted (hibernation), and count toward the per-connection limit", () => {
    const { hub, saved } = hubWith();
    const s = newSession();
    hub.subscribe(s, "shard", [b("s1")]);
    expect(saved.get(s)!.shard!.map(t)).toEqual(["s1"]);
    const fresh = hubWith();
    const woken = newSession();
    fresh.hub.adopt(woken, saved.get(s)!);
    expect(fresh.hub.publishShard(b("s1"), b("m"))).toBe(1);
    // An attachment saved before shard channels existed has no `shard` field.
    fresh.hub.adopt(newSession(), { channel: [b("c")], pattern: [] });
    expect(fresh.hub.numSub(b("c"))).toBe(1);
    const r = new PubSubRegistry<string>();
    for (let i = 0; i < PUBSUB_SUBSCRIPTIONS_PER_CONN_MAX; i++) r.add("a", i % 3 === 0 ? "shard" : "channel", b(`c${i}`));
    expect(r.add("a", "shard", b("more"))).toBe("limit");
    expect(r.total("a")).toBe(PUBSUB_SUBSCRIPTIONS_PER_CONN_MAX);
  });
});

describe("Redis 7.0 details the differential test found", () => {
  it("no pattern but the empty one matches the empty channel (`*` neither delivers nor lists it)", () => {
    const r = new PubSubRegistry<string>();
    r.add("a", "pattern", b("*"));
    r.add("b", "pattern", b(""));
    r.add("c", "channel", b(""));
    expect(r.receivers(b("")).map((x) => x.sub)).toEqual(["c", "b"]);
    expect(r.receivers(b("x")).map((x) => x.sub)).toEqual(["a"]);
    expect(r.activeChannels(b("*"))).toEqual([]);
    expect(r.activeChannels(null).map(t)).toEqual([""]);
  });

  it("a subscribed RESP2 connection's refusal names a subcommand in full, after PUBSUB's own checks", () => {
    const { hub } = hubWith();
    const s = newSession({ resp: 2 });
    hub.subscribe(s, "channel", [b("c")]);
    const ctx = (...argv: string[]) => hub.contextError(s, argv[0]!.toLowerCase(), argv.map(b));
    expect(ctx("PUBSUB", "NUMPAT")).toBe("ERR Can't execute 'pubsub|numpat': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
    expect(ctx("CONFIG", "GET", "x")).toMatch(/^ERR Can't execute 'config\|get'/);
    expect(ctx("PUBSUB", "NUMPAT", "x")).toBe("ERR wrong number of arguments for 'pubsub|numpat' command");
    expect(ctx("PUBSUB", "Nope")).toBe("ERR unknown subcommand 'Nope'. Try PUBSUB HELP.");
    expect(ctx("GET", "k")).toMatch(/^ERR Can't execute 'get'/);
  });
});

describe("Upstash SSE framing", () => {
  it("parses /subscribe, /psubscribe (percent-decoded) and /monitor paths", async () => {
    const { parseStreamPath } = await import("../../src/pubsub/streams.ts");
    expect(parseStreamPath("/subscribe/my%20chan")).toEqual({ command: "subscribe", names: ["my chan"] });
    expect(parseStreamPath("/PSUBSCRIBE/a*/b")).toEqual({ command: "psubscribe", names: ["a*", "b"] });
    expect(parseStreamPath("/subscribe")).toBeNull();
    expect(parseStreamPath("/get/k")).toBeNull();
    expect(parseStreamPath("/monitor")).toEqual({ command: "monitor" });
    expect(parseStreamPath("/MONITOR")).toEqual({ command: "monitor" });
    expect(parseStreamPath("/monitor/x")).toBeNull();
  });

  it("turns pushes into `data:` events as @upstash/redis parses them", async () => {
    const { sseEvents } = await import("../../src/pubsub/sse.ts");
    const { Push, ReplySequence } = await import("../../src/protocol/reply.ts");
    expect(sseEvents(new ReplySequence([new Push([b("subscribe"), b("a"), 1]), new Push([b("subscribe"), b("b"), 2])]))).toBe("data: subscribe,a,1\n\ndata: subscribe,b,2\n\n");
    expect(sseEvents(new Push([b("pmessage"), b("a*"), b("ab"), b("x,y")]))).toBe("data: pmessage,a*,ab,x,y\n\n");
    expect(sseEvents(new Push([b("message"), b("c"), b("1\r\n2")]))).toBe("data: message,c,1\ndata: 2\n\n");
    expect(sseEvents(new Push([b("unsubscribe"), null, 0]))).toBe("data: unsubscribe,,0\n\n");
  });
});
