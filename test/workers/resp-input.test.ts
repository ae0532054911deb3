/**
 * RESP input over a client WebSocket: Redis's "protocol desync" inputs get the error and a
 * close instead of a hang, and nothing refused changes the data (DEBUG DIGEST before and
 * after). A command trickled over thousands of frames is tested in test/node/resp-trickle.test.ts
 * through wrangler: in this pool a WebSocket opened from the test isolate delivers quickly
 * sent frames to the node out of order (seen: neighbouring frames swapped), which a
 * network client through wrangler does not; so here a multi-frame input starts with a PING
 * whose answer shows the first frame arrived first, and the frames after it are all alike.
 */
import { describe, expect, it } from "vitest";
import { cmd, freshDb } from "./nodes.ts";
import { openWs } from "./ws-client.ts";

describe("RESP over a client WebSocket", () => {
  // tests/unit/protocol.tcl "Protocol desync regression test": one of these, then bytes without a line end.
  it.each([
    ["\\x00", "\x00", "-ERR Protocol error: too big inline request\r\n"],
    ["*\\x00", "*\x00", "-ERR Protocol error: too big mbulk count string\r\n"],
    ["$\\x00", "$\x00", "-ERR Protocol error: too big inline request\r\n"],
  ])("desync %s: the error, a close, the data unchanged", async (_name, head, want) => {
    const db = freshDb("desync");
    await cmd(db, "master", "SET", "k", "v");
    await cmd(db, "master", "RPUSH", "l", "a", "b");
    const digest = await cmd(db, "master", "DEBUG", "DIGEST");
    const c = await openWs(db);
    const payload = "A".repeat(1024);
    // Frames sent back to back may be reordered in this pool: the head goes first, after a
    // PING whose answer shows it arrived; the frames after it are all alike.
    c.frame(`PING\r\n${head}${payload}`);
    expect(await c.read()).toBe("+PONG\r\n");
    // 80 KiB in 1 KiB frames: past the 64 KiB a line may have without its end.
    for (let i = 0; i < 80 && !c.isClosed(); i++) {
      try {
        c.frame(payload);
      } catch {
        break; // the node closed the socket already
      }
    }
    expect(await c.read()).toBe(want);
    expect(await c.closed).toBe(1002);
    expect(await cmd(db, "master", "DEBUG", "DIGEST")).toBe(digest);
  });

  it("a header line without its end inside a command → too big bulk count string", async () => {
    const db = freshDb("desync");
    await cmd(db, "master", "SET", "k", "v");
    const digest = await cmd(db, "master", "DEBUG", "DIGEST");
    const c = await openWs(db);
    c.frame(`PING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${"9".repeat(1024)}`);
    expect(await c.read()).toBe("+PONG\r\n");
    for (let i = 0; i < 70 && !c.isClosed(); i++) {
      try {
        c.frame("9".repeat(1024));
      } catch {
        break;
      }
    }
    expect(await c.read()).toBe("-ERR Protocol error: too big bulk count string\r\n");
    expect(await c.closed).toBe(1002);
    expect(await cmd(db, "master", "DEBUG", "DIGEST")).toBe(digest);
  });

  it("a refused command in the middle of a frame: the commands before it ran, nothing after", async () => {
    const db = freshDb("midframe");
    const c = await openWs(db);
    c.frame("SET a 1\r\n*2\r\n$3\r\nGET\r\n!bad\r\nSET b 2\r\n");
    expect(await c.readBytes("+OK\r\n-ERR Protocol error: expected '$', got '!'\r\n".length)).toBe(
      "+OK\r\n-ERR Protocol error: expected '$', got '!'\r\n",
    );
    expect(await c.closed).toBe(1002);
    expect(await cmd(db, "master", "GET", "a")).toBe("1");
    expect(await cmd(db, "master", "EXISTS", "b")).toBe(0);
  });
});
