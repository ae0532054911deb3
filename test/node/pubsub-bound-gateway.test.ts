/**
 * client-output-buffer-limit for subscribers that come through the TCP gateway (tools/gateway.ts,
 * src/pubsub/socket-output.ts): the gateway acknowledges what its TCP client consumed, so a
 * subscriber that stops reading is disconnected once its unconsumed bytes reach the pubsub hard
 * limit, counted in INFO stats, while a subscriber that reads receives every message.
 */
import { connect, type Socket } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type Gateway } from "../../tools/gateway.ts";
import { startWorker, type TestWorker } from "./support/worker.ts";

let w: TestWorker;
let gw: Gateway;
const clients: Redis[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  w = await startWorker();
  gw = await startGateway({ port: 0, url: w.url, db: "pubsub-bound", token: w.token });
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  for (const s of sockets) s.destroy();
  await gw?.close();
  await w?.dispose();
});

function client(): Redis {
  const c = new Redis({ port: gw.port, host: "127.0.0.1", maxRetriesPerRequest: 1, retryStrategy: () => null });
  clients.push(c);
  return c;
}

/** A raw TCP subscriber: counts the bytes it reads and tells when the gateway closed it. */
interface RawSubscriber {
  sock: Socket;
  bytes: () => number;
  /** Resolves once it has read at least `n` bytes. */
  read: (n: number) => Promise<void>;
  ended: Promise<void>;
}
function rawSubscriber(channel: string): Promise<RawSubscriber> {
  return new Promise((resolve, reject) => {
    const sock = connect(gw.port, "127.0.0.1");
    sockets.push(sock);
    let n = 0;
    let confirmed = false;
    const ended = new Promise<void>((r) => sock.once("close", () => r()));
    const read = (want: number) =>
      new Promise<void>((r) => {
        const check = () => {
          if (n < want) return;
          sock.off("data", check);
          r();
        };
        sock.on("data", check);
        check();
      });
    sock.on("data", (d: Buffer) => {
      n += d.length;
      if (!confirmed && d.toString("latin1").includes(`subscribe\r\n$${channel.length}\r\n${channel}\r\n:1\r\n`)) {
        confirmed = true;
        resolve({ sock, bytes: () => n, read, ended });
      }
    });
    sock.once("error", reject);
    sock.once("connect", () => sock.write(`*2\r\n$9\r\nSUBSCRIBE\r\n$${channel.length}\r\n${channel}\r\n`));
  });
}

/** Bytes of one RESP2 `message` frame of MESSAGE_BYTES on `channel`. */
const messageFrameBytes = (channel: string) => `*3\r\n$7\r\nmessage\r\n$${channel.length}\r\n${channel}\r\n$${MESSAGE_BYTES}\r\n`.length + MESSAGE_BYTES + 2;
const disconnections = async (c: Redis) => Number(/client_output_buffer_limit_disconnections:(\d+)/.exec(await c.info("stats"))![1]);

/** Message size, messages per pipelined batch, and the most we publish before calling it a failure. */
const MESSAGE_BYTES = 16 * 1024;
const BATCH = 4; // 64 KiB: a batch is delivered in one go, so it must stay well under the limit
const PUBLISHED_BYTES_MAX = 96 * 1024 * 1024;

describe("client-output-buffer-limit pubsub through the gateway", () => {
  it("disconnects a subscriber that stops reading, counts it, and a reading subscriber receives everything", async () => {
    const ctl = client();
    expect(await ctl.config("SET", "client-output-buffer-limit", "pubsub 256kb 0 0")).toBe("OK");
    const before = await disconnections(ctl);

    const slow = await rawSubscriber("feed");
    slow.sock.pause(); // stops reading: the kernel buffers fill, then the gateway stops flushing

    const reader = client();
    let received = 0;
    let receivedBytes = 0;
    let wanted: { n: number; done: () => void } | null = null;
    reader.on("messageBuffer", (_ch: Buffer, m: Buffer) => {
      received++;
      receivedBytes += m.length;
      if (wanted && received >= wanted.n) wanted.done();
    });
    /** Resolves once the reading subscriber has received `n` messages. */
    const receivedAll = async (n: number) => {
      if (received < n) await new Promise<void>((done) => (wanted = { n, done }));
    };
    await reader.subscribe("feed");

    const payload = Buffer.alloc(MESSAGE_BYTES, 0x61);
    let published = 0;
    let receivers = 2;
    while (receivers === 2) {
      expect(published * MESSAGE_BYTES, "published without the slow subscriber being dropped").toBeLessThan(PUBLISHED_BYTES_MAX);
      const p = ctl.pipeline();
      for (let i = 0; i < BATCH; i++) p.publish("feed", payload);
      const counts = (await p.exec())!.map(([err, n]) => (err ? -1 : (n as number)));
      published += BATCH;
      // PUBLISH answers how many received it: 1 once the slow subscriber was dropped.
      receivers = Math.min(...counts);
      for (const n of counts) expect([1, 2]).toContain(n);
      // A reader keeps up: the next batch waits for it (not for the slow one).
      await receivedAll(published);
    }
    expect(await disconnections(ctl)).toBe(before + 1);
    expect(await ctl.pubsub("NUMSUB", "feed")).toEqual(["feed", 1]);

    // The reading subscriber got every message, byte for byte.
    await receivedAll(published);
    expect(received).toBe(published);
    expect(receivedBytes).toBe(published * MESSAGE_BYTES);

    // The slow one, reading again, gets what was queued for it and then the close.
    slow.sock.resume();
    await slow.ended;
    expect(slow.bytes()).toBeLessThan(published * MESSAGE_BYTES);
    expect(slow.bytes()).toBeGreaterThan(256 * 1024);
  });

  it("a subscriber that reads is never dropped under a small limit (the gateway acknowledges as it flushes)", async () => {
    const ctl = client();
    expect(await ctl.config("SET", "client-output-buffer-limit", "pubsub 256kb 0 0")).toBe("OK");
    const before = await disconnections(ctl);
    const sub = await rawSubscriber("steady");
    const payload = Buffer.alloc(MESSAGE_BYTES, 0x62);
    let published = 0;
    // 4 MiB, 16 times the limit, in batches smaller than the limit.
    while (published * MESSAGE_BYTES < 4 * 1024 * 1024) {
      const p = ctl.pipeline();
      for (let i = 0; i < 8; i++) p.publish("steady", payload);
      for (const [err, n] of (await p.exec())!) expect([err, n]).toEqual([null, 1]);
      published += 8;
      // Let it catch up before the next batch (a reader, not a race against the publisher).
      await sub.read(published * messageFrameBytes("steady"));
    }
    expect(await disconnections(ctl)).toBe(before);
    expect(await ctl.pubsub("NUMSUB", "steady")).toEqual(["steady", 1]);
  });
});
