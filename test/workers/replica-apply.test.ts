/**
 * The replica's apply: frames split anywhere (inside a command, inside a MULTI block) are
 * applied command by command, a MULTI block only once its EXEC arrived, and the backlog gets
 * exactly the bytes received, in order.
 */
import { describe, expect, it } from "vitest";
import { encodeCommand } from "../../src/protocol/resp.ts";
import { concat } from "../../src/util/bytes.ts";
import { cmd, freshDb, inNode } from "./nodes.ts";

interface ApplyHook {
  apply(frames: Uint8Array[]): void;
}

describe("replica apply", () => {
  it("split frames and a MULTI block across frames: atomic, forwarded byte for byte", async () => {
    const db = freshDb("apply");
    await cmd(db, "rx", "PING");
    const res = await inNode(db, "rx", (n) => {
      const stream = concat([
        encodeCommand(["SELECT", "0"]),
        encodeCommand(["SET", "a", "1"]),
        encodeCommand(["MULTI"]),
        encodeCommand(["SET", "b", "2"]),
        encodeCommand(["INCR", "a"]),
        encodeCommand(["EXEC"]),
        encodeCommand(["SET", "c", new Uint8Array([0, 13, 10, 255])]),
      ]);
      const start = n.backlog.offset;
      const rep = n.replica as unknown as ApplyHook;
      const get = (k: string) => n.engine.ks.peek(0, new TextEncoder().encode(k));
      const seen: { offset: number; a: boolean; b: boolean }[] = [];
      // Cut inside "SET a", inside the MULTI block, and inside EXEC.
      const cuts = [20, 45, 60, stream.length - 30, stream.length];
      let from = 0;
      for (const c of cuts) {
        rep.apply([stream.subarray(from, c)]);
        from = c;
        seen.push({ offset: n.backlog.offset - start, a: get("a") !== null, b: get("b") !== null });
      }
      n.backlog.flush();
      const bytes = concat([...n.backlog.readFrom(start)]);
      return { seen, equal: bytes.length === stream.length && bytes.every((x, i) => x === stream[i]), a: n.engine.ks.getString(get("a")!), total: stream.length };
    });
    expect(res.equal).toBe(true);
    expect(new TextDecoder().decode(res.a)).toBe("2");
    // The MULTI block is neither applied nor forwarded before its EXEC: b appears with it.
    const multiAt = encodeCommand(["SELECT", "0"]).length + encodeCommand(["SET", "a", "1"]).length;
    for (const s of res.seen.filter((x) => !x.b)) expect(s.offset).toBeLessThanOrEqual(multiAt);
    for (const s of res.seen.filter((x) => x.b)) expect(s.offset).toBeGreaterThan(multiAt);
    expect(res.seen[res.seen.length - 1]!.offset).toBe(res.total);
    expect(res.seen.some((s) => s.a && !s.b)).toBe(true);
  });
});
