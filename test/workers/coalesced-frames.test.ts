/**
 * Client frames from several sockets that arrive together run in one turn (node/turns.ts):
 * each socket still gets its replies, a MULTI block whose frames ran in different events stays
 * one transaction, and a replica ends with the master's data. Each socket waits for a reply
 * before its next frame: frames a test isolate sends back to back on one socket can reach the
 * object out of order in this pool (NOTES; test/node/gateway.test.ts checks real clients' order).
 */
import { describe, expect, it } from "vitest";
import { CLIENT_SLICE_BYTES } from "../../src/limits.ts";
import { encodeCommand } from "../../src/protocol/resp.ts";
import { concat } from "../../src/util/bytes.ts";
import { attach, cmd, converged, freshDb, inNode } from "./nodes.ts";
import { openWs, type RawWs } from "./ws-client.ts";

/** Send one frame and read its replies (`reply`'s length of bytes; they may come in several messages). */
async function exchange(ws: RawWs, frame: Uint8Array, reply: string): Promise<string> {
  ws.frame(frame);
  return ws.readBytes(reply.length);
}

describe("client frames from many sockets", () => {
  it("every socket gets its replies, MULTI blocks over several frames stay atomic, the replica converges", async () => {
    const db = freshDb("coalesce");
    await cmd(db, "master", "PING");
    await attach(db, "r1");
    const sockets = 6;
    const rounds = 30;
    const conns = await Promise.all(Array.from({ length: sockets }, () => openWs(db, "test-token", true)));
    await Promise.all(
      conns.map(async (ws, s) => {
        for (let f = 1; f <= rounds; f++) {
          const pair = concat([encodeCommand(["INCR", `own:${s}`]), encodeCommand(["SET", `last:${s}`, String(f)])]);
          if (f % 10 === 0) {
            expect(await exchange(ws, encodeCommand(["MULTI"]), "+OK\r\n")).toBe("+OK\r\n");
            expect(await exchange(ws, pair, "+QUEUED\r\n+QUEUED\r\n")).toBe("+QUEUED\r\n+QUEUED\r\n");
            expect(await exchange(ws, encodeCommand(["EXEC"]), `*2\r\n:${f}\r\n+OK\r\n`)).toBe(`*2\r\n:${f}\r\n+OK\r\n`);
          } else {
            expect(await exchange(ws, pair, `:${f}\r\n+OK\r\n`)).toBe(`:${f}\r\n+OK\r\n`);
          }
        }
        ws.close();
      }),
    );
    for (let s = 0; s < sockets; s++) {
      expect(await cmd(db, "master", "GET", `own:${s}`)).toBe(String(rounds));
      expect(await cmd(db, "master", "GET", `last:${s}`)).toBe(String(rounds));
    }
    await converged(db, ["r1"]);
  });

  it("frames that run together still stop at CLIENT_SLICE_BYTES per event, counted across sockets", async () => {
    const db = freshDb("coalesce-bound");
    await cmd(db, "master", "PING");
    const sleeper = await openWs(db, "test-token", true);
    const conns = await Promise.all(Array.from({ length: 4 }, () => openWs(db, "test-token", true)));
    const value = "v".repeat(80);
    const frames = conns.map((_, s) => concat(Array.from({ length: 400 }, (_, i) => encodeCommand(["SET", `k${s}:${String(i).padStart(6, "0")}`, value]))));
    const largest = frames.reduce((n, f) => Math.max(n, f.length), 0);
    expect(largest).toBeLessThan(CLIENT_SLICE_BYTES);
    expect(largest * 4).toBeGreaterThan(2 * CLIENT_SLICE_BYTES);
    // The node busy-waits while the four frames arrive: they run together after it.
    sleeper.frame(encodeCommand(["DEBUG", "SLEEP", "0.3"]));
    frames.forEach((f, s) => conns[s]!.frame(f));
    expect(await sleeper.readBytes(5)).toBe("+OK\r\n");
    const ok = "+OK\r\n".repeat(400);
    for (const ws of conns) expect(await ws.readBytes(ok.length)).toBe(ok);
    for (const ws of [sleeper, ...conns]) ws.close();
    // One backlog row per event that wrote: none may hold much more than a slice of commands.
    const rows = await inNode(db, "master", (n) => n.sql.exec("SELECT len FROM repl_backlog WHERE len > 0").toArray().map((r) => r.len as number));
    const command = frames[0]!.length / 400;
    expect(rows.reduce((a, b) => a + b, 0)).toBeGreaterThan(4 * 400 * command);
    expect(Math.max(...rows)).toBeLessThanOrEqual(CLIENT_SLICE_BYTES + 2 * command);
  });
});
