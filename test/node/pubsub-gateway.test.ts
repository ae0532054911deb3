/**
 * Pub/sub through the TCP gateway (tools/gateway.ts): real TCP clients SUBSCRIBE, PSUBSCRIBE
 * and SSUBSCRIBE through it and receive what another connection publishes, in RESP2 frames
 * and, after HELLO 3, RESP3 push frames — byte for byte as redis-server 7.0.15 writes them.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type Gateway } from "../../tools/gateway.ts";
import { RespStream } from "./support/resp-stream.ts";
import { startWorker, type TestWorker } from "./support/worker.ts";

let w: TestWorker;
let gw: Gateway;
const open: RespStream[] = [];

beforeAll(async () => {
  w = await startWorker();
  gw = await startGateway({ port: 0, url: w.url, db: "pubsub-gateway", token: w.token });
});
afterAll(async () => {
  for (const s of open) s.end();
  await gw?.close();
  await w?.dispose();
});

async function conn(): Promise<RespStream> {
  const s = await RespStream.tcp(gw.port, `gateway:${open.length}`);
  open.push(s);
  return s;
}

const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
const frame = (type: "*" | ">", ...items: (string | number)[]) => `${type}${items.length}\r\n` + items.map((x) => (typeof x === "number" ? `:${x}\r\n` : bulk(x))).join("");
const raws = async (s: RespStream, n: number) => (await s.next(n)).map((f) => f.raw).join("");

describe("pub/sub through the TCP gateway", () => {
  it("RESP2: SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE receive PUBLISH and SPUBLISH from another connection", async () => {
    const sub = await conn();
    const pub = await conn();
    sub.send(["SUBSCRIBE", "news"], ["PSUBSCRIBE", "n*"], ["SSUBSCRIBE", "orders"]);
    expect(await raws(sub, 3)).toBe(frame("*", "subscribe", "news", 1) + frame("*", "psubscribe", "n*", 2) + frame("*", "ssubscribe", "orders", 1));
    pub.send(["PUBLISH", "news", "hello"]);
    expect(await raws(pub, 1)).toBe(":2\r\n");
    expect(await raws(sub, 2)).toBe(frame("*", "message", "news", "hello") + frame("*", "pmessage", "n*", "news", "hello"));
    pub.send(["SPUBLISH", "orders", "o-1"]);
    expect(await raws(pub, 1)).toBe(":1\r\n");
    expect(await raws(sub, 1)).toBe(frame("*", "smessage", "orders", "o-1"));
    // Subscribed RESP2: other commands are refused, PING answers ["pong", ""].
    sub.send(["GET", "k"], ["PING"]);
    expect(await raws(sub, 2)).toBe("-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n" + "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    sub.send(["UNSUBSCRIBE"], ["PUNSUBSCRIBE"], ["SUNSUBSCRIBE"], ["PING"]);
    expect(await raws(sub, 4)).toBe(frame("*", "unsubscribe", "news", 1) + frame("*", "punsubscribe", "n*", 0) + frame("*", "sunsubscribe", "orders", 0) + "+PONG\r\n");
    sub.end();
    pub.end();
  });

  it("RESP3 (HELLO 3): push frames, and other commands run between messages", async () => {
    const sub = await conn();
    const pub = await conn();
    sub.send(["HELLO", "3"]);
    await sub.next(1);
    sub.send(["SUBSCRIBE", "c3"], ["PSUBSCRIBE", "c*"], ["SSUBSCRIBE", "s3"]);
    expect(await raws(sub, 3)).toBe(frame(">", "subscribe", "c3", 1) + frame(">", "psubscribe", "c*", 2) + frame(">", "ssubscribe", "s3", 1));
    pub.send(["PUBLISH", "c3", "m"], ["SPUBLISH", "s3", "sm"]);
    expect(await raws(pub, 2)).toBe(":2\r\n:1\r\n");
    expect(await raws(sub, 3)).toBe(frame(">", "message", "c3", "m") + frame(">", "pmessage", "c*", "c3", "m") + frame(">", "smessage", "s3", "sm"));
    sub.send(["SET", "gw:ps", "v"], ["GET", "gw:ps"]);
    expect(await raws(sub, 2)).toBe("+OK\r\n" + bulk("v"));
    sub.end();
    pub.end();
  });

  it("redis-cli SUBSCRIBE through the gateway prints a published message", async () => {
    const cli = spawn("redis-cli", ["-p", String(gw.port), "SUBSCRIBE", "cli-chan"]);
    let out = "";
    /** Resolves once redis-cli has printed `text`. */
    const printed = (text: string) =>
      new Promise<void>((resolve, reject) => {
        const check = () => out.includes(text) && resolve();
        cli.stdout.on("data", check);
        cli.once("error", reject);
        cli.once("exit", () => reject(new Error(`redis-cli exited: ${out}`)));
        check();
      });
    cli.stdout.on("data", (d: Buffer) => (out += d.toString()));
    cli.stderr.on("data", (d: Buffer) => (out += d.toString()));
    try {
      // Its confirmation printed, the subscription is in place.
      await printed("subscribe\ncli-chan\n1\n");
      const pub = await conn();
      pub.send(["PUBLISH", "cli-chan", "from-gateway"]);
      expect((await pub.next(1))[0]!.raw).toBe(":1\r\n");
      await printed("from-gateway");
      expect(out.split("\n").map((l) => l.trim())).toEqual(expect.arrayContaining(["subscribe", "cli-chan", "1", "message", "from-gateway"]));
    } finally {
      cli.kill();
    }
  });
});
