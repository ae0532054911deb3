/**
 * One big WebSocket message runs in slices of CLIENT_SLICE_BYTES (each its own event): the
 * replies of each slice go out before the next slice runs, all in order, and a MULTI block
 * that straddles a slice boundary stays one atomic EXEC. A REST /pipeline runs in slices of
 * REST_SLICE_COMMANDS (seen as one stream frame per slice), /multi-exec in one event.
 */
import { describe, expect, it } from "vitest";
import { CLIENT_SLICE_BYTES, REST_SLICE_COMMANDS } from "../../src/limits.ts";
import { encodeCommand } from "../../src/protocol/resp.ts";
import { concat } from "../../src/util/bytes.ts";
import { attach, cmd, freshDb, info, inNode, pipeline, until } from "./nodes.ts";
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

  it("a REST pipeline runs in slices of REST_SLICE_COMMANDS: one stream frame per slice, replies in order", async () => {
    const db = freshDb("restslices");
    await cmd(db, "master", "CONFIG", "SET", "repl-ping-replica-period", "3600");
    await cmd(db, "master", "SET", "seed", "1");
    await attach(db, "r1");
    const offset = async (node: string) => Number((await info(db, node)).master_repl_offset);
    const sent = () => inNode(db, "master", (n) => n.master.list()[0]!.framesSent);
    await until("r1 caught up", async () => (await offset("r1")) === (await offset("master")));
    const before = await sent();
    const n = REST_SLICE_COMMANDS * 3 + 1;
    const cmds: string[][] = [];
    for (let i = 0; i < n; i++) cmds.push(i % 2 === 0 ? ["SET", "k", String(i)] : ["GET", "k"]);
    const res = await pipeline(db, "master", cmds);
    expect(res).toEqual(cmds.map((c, i) => (c[0] === "SET" ? "OK" : String(i - 1))));
    expect((await sent()) - before).toBe(4);
    await until("r1 caught up", async () => (await offset("r1")) === (await offset("master")));
    expect(await cmd(db, "r1", "GET", "k")).toBe(String(n - 1));
  });
});
