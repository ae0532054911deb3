/**
 * Client frames from several sockets that arrive together run in one event (node/coalesce.ts):
 * each socket still gets its replies, a MULTI block whose frames ran in different events stays
 * one transaction, and a replica ends with the master's data. Each socket waits for a reply
 * before its next frame: frames a test isolate sends back to back on one socket can reach the
 * object out of order in this pool (NOTES; test/node/gateway.test.ts checks real clients' order).
 */
import { describe, expect, it } from "vitest";
import { encodeCommand } from "../../src/protocol/resp.ts";
import { concat } from "../../src/util/bytes.ts";
import { attach, cmd, converged, freshDb } from "./nodes.ts";
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
});
