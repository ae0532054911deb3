/**
 * client-output-buffer-limit for WebSocket clients that acknowledge what they consumed (our
 * gateway: src/pubsub/socket-output.ts). Here the test plays the gateway: it asks with
 * `x-edge-replica-acks: 1` and sends `ACK <total>` text frames, or never does.
 */
import { afterAll, describe, expect, it } from "vitest";
import { ACK_HEADER, formatAck } from "../../src/pubsub/socket-output.ts";
import { cmd, freshDb, info, releaseReplicas } from "./nodes.ts";
import { forgetSockets, openWs } from "./ws-client.ts";

afterAll(releaseReplicas);

const resp = (...args: string[]) => `*${args.length}\r\n` + args.map((a) => `$${a.length}\r\n${a}\r\n`).join("");
const disconnections = async (db: string) => Number((await info(db, "master", "stats")).client_output_buffer_limit_disconnections);
const PAYLOAD = "x".repeat(16 * 1024);
const CONFIRM = "*3\r\n$9\r\nsubscribe\r\n$4\r\nfeed\r\n:1\r\n";
const FRAME = resp("message", "feed", PAYLOAD);

describe("gateway sockets (x-edge-replica-acks)", () => {
  it("the node echoes the header only when asked; text frames are ACKs on such a socket and RESP on others", async () => {
    const db = freshDb("sockout");
    const acking = await openWs(db, "test-token", false, { [ACK_HEADER]: "1" });
    expect(acking.upgrade.get(ACK_HEADER)).toBe("1");
    const plain = await openWs(db);
    expect(plain.upgrade.get(ACK_HEADER)).toBeNull();
    // On the acking socket a text frame is never a command: only the binary PING answers.
    acking.text(formatAck(0));
    acking.text(resp("SET", "k", "from-text"));
    acking.frame(resp("PING"));
    expect(await acking.read()).toBe("+PONG\r\n");
    expect(await cmd(db, "master", "EXISTS", "k")).toBe(0);
    // Elsewhere text frames carry RESP, as before.
    plain.text(resp("SET", "k", "v"));
    expect(await plain.read()).toBe("+OK\r\n");
    acking.close();
    plain.close();
  });

  it("a subscriber that never acknowledges is disconnected at the pubsub hard limit and counted; one that acknowledges is not", async () => {
    const db = freshDb("sockout");
    expect(await cmd(db, "master", "CONFIG", "SET", "client-output-buffer-limit", "pubsub 256kb 0 0")).toBe("OK");
    const before = await disconnections(db);
    const silent = await openWs(db, "test-token", false, { [ACK_HEADER]: "1" });
    const acking = await openWs(db, "test-token", false, { [ACK_HEADER]: "1" });
    const confirm = "*3\r\n$9\r\nsubscribe\r\n$4\r\nfeed\r\n:1\r\n";
    silent.frame(resp("SUBSCRIBE", "feed"));
    acking.frame(resp("SUBSCRIBE", "feed"));
    const frameLen = resp("message", "feed", PAYLOAD).length;
    expect(await silent.readBytes(confirm.length)).toBe(confirm);
    expect(await acking.readBytes(confirm.length)).toBe(confirm);
    let consumed = confirm.length;
    let published = 0;
    let receivers = 2;
    // 256 KiB = 16 messages of 16 KiB with framing: the 16th crosses the limit.
    while (receivers === 2 && published < 64) {
      receivers = (await cmd(db, "master", "PUBLISH", "feed", PAYLOAD)) as number;
      published++;
      expect((await acking.readBytes(frameLen)).length).toBe(frameLen);
      consumed += frameLen;
      acking.text(formatAck(consumed));
      if (published === 4) {
        // CLIENT LIST's omem of a gateway socket: what its gateway has not acknowledged.
        const list = String(await cmd(db, "master", "CLIENT", "LIST", "TYPE", "pubsub"));
        const omems = [...list.matchAll(/ omem=(\d+) /g)].map((m) => Number(m[1]));
        expect(omems).toHaveLength(2);
        expect(Math.max(...omems)).toBe(confirm.length + 4 * frameLen);
      }
    }
    // The message that crosses the limit still counts the subscriber (as in Redis, whose client
    // is freed after the PUBLISH); the next PUBLISH reaches one.
    expect(published).toBe(Math.ceil((256 * 1024 - confirm.length) / frameLen) + 1);
    expect(receivers).toBe(1);
    expect(await disconnections(db)).toBe(before + 1);
    expect(await silent.closed).toBe(1008);
    // The acknowledging one keeps receiving.
    expect(await cmd(db, "master", "PUBLISH", "feed", "after")).toBe(1);
    expect(await acking.read()).toBe(resp("message", "feed", "after"));
    acking.close();
  });

  it("a client that is not subscribed is in the normal class: unlimited by default, limited once configured", async () => {
    const db = freshDb("sockout");
    expect(await cmd(db, "master", "SET", "big", PAYLOAD)).toBe("OK");
    const before = await disconnections(db);
    const c = await openWs(db, "test-token", false, { [ACK_HEADER]: "1" });
    const reply = `$${PAYLOAD.length}\r\n${PAYLOAD}\r\n`;
    // 40 replies of 16 KiB never acknowledged: normal 0 0 0 does not limit.
    for (let i = 0; i < 40; i++) c.frame(resp("GET", "big"));
    expect((await c.readBytes(40 * reply.length)).length).toBe(40 * reply.length);
    expect(await disconnections(db)).toBe(before);
    expect(await cmd(db, "master", "CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0")).toBe("OK");
    // 640 KiB unacknowledged so far; 24 more replies pass 1 MiB.
    for (let i = 0; i < 30; i++) c.frame(resp("GET", "big"));
    expect(await c.closed).toBe(1008);
    expect(await disconnections(db)).toBe(before + 1);
  });

  it("after hibernation a socket counts from 0 again, and the gateway's larger totals are taken as its new start", async () => {
    const db = freshDb("sockout");
    expect(await cmd(db, "master", "CONFIG", "SET", "client-output-buffer-limit", "pubsub 256kb 0 0")).toBe("OK");
    const silent = await openWs(db, "test-token", false, { [ACK_HEADER]: "1" });
    const acking = await openWs(db, "test-token", false, { [ACK_HEADER]: "1" });
    silent.frame(resp("SUBSCRIBE", "feed"));
    acking.frame(resp("SUBSCRIBE", "feed"));
    expect(await silent.readBytes(CONFIRM.length)).toBe(CONFIRM);
    expect(await acking.readBytes(CONFIRM.length)).toBe(CONFIRM);
    let consumed = CONFIRM.length;
    const publishOne = async () => {
      const n = (await cmd(db, "master", "PUBLISH", "feed", PAYLOAD)) as number;
      expect((await acking.readBytes(FRAME.length)).length).toBe(FRAME.length);
      consumed += FRAME.length;
      acking.text(formatAck(consumed));
      return n;
    };
    // Half the limit before: the silent socket holds ~128 KiB unacknowledged.
    for (let i = 0; i < 8; i++) expect(await publishOne()).toBe(2);
    await forgetSockets(db);
    // After waking, the silent socket is dropped only once 256 KiB were sent since then (the
    // 16th message; the 17th PUBLISH reaches one): what it held before is forgotten. The acking
    // one, whose totals include the earlier life's bytes, is never dropped.
    let published = 0;
    let receivers = 2;
    while (receivers === 2 && published < 64) {
      receivers = await publishOne();
      published++;
    }
    expect(published).toBe(Math.ceil((256 * 1024) / FRAME.length) + 1);
    expect(receivers).toBe(1);
    expect(await silent.closed).toBe(1008);
    expect(await cmd(db, "master", "PUBLISH", "feed", "after")).toBe(1);
    expect(await acking.read()).toBe(resp("message", "feed", "after"));
    acking.close();
  });
});
