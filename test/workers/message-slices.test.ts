/**
 * One big WebSocket message runs in slices of CLIENT_SLICE_BYTES (each its own event): the
 * replies of each slice go out before the next slice runs, all in order, and a MULTI block
 * that straddles a slice boundary stays one atomic EXEC.
 */
import { describe, expect, it } from "vitest";
import { CLIENT_SLICE_BYTES } from "../../src/limits.ts";
import { encodeCommand } from "../../src/protocol/resp.ts";
import { concat } from "../../src/util/bytes.ts";
import { cmd, freshDb } from "./nodes.ts";
import { openWs } from "./ws-client.ts";

describe("a big client message runs in slices", () => {
  it("replies come in several messages, in order, and a MULTI block across a boundary stays atomic", async () => {
    const db = freshDb("slices");
    await cmd(db, "master", "PING");
    const incr = encodeCommand(["INCR", "n"]);
    const perSlice = Math.ceil(CLIENT_SLICE_BYTES / incr.length);
    const total = perSlice * 3 + 10;
    // MULTI a few commands before the first boundary, EXEC a few after it.
    const multiAt = perSlice - 3;
    const parts: Uint8Array[] = [];
    const want: string[] = [];
    let n = 0;
    let queued = 0;
    for (let i = 0; i < total; i++) {
      if (i === multiAt) {
        parts.push(encodeCommand(["MULTI"]));
        want.push("+OK\r\n");
      }
      parts.push(incr);
      if (i >= multiAt && i < multiAt + 6) {
        want.push("+QUEUED\r\n");
        queued++;
        if (queued === 6) {
          parts.push(encodeCommand(["EXEC"]));
          want.push(`*6\r\n${Array.from({ length: 6 }, () => `:${++n}\r\n`).join("")}`);
        }
      } else want.push(`:${++n}\r\n`);
    }
    const expected = want.join("");
    const ws = await openWs(db, "test-token", true);
    ws.frame(concat(parts));
    let got = "";
    let messages = 0;
    while (got.length < expected.length) {
      const m = await ws.read();
      if (m === undefined) break;
      got += m;
      messages++;
    }
    ws.close();
    expect(got).toBe(expected);
    expect(messages).toBeGreaterThanOrEqual(3);
    expect(await cmd(db, "master", "GET", "n")).toBe(String(total));
  });
});
