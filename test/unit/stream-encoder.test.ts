import { describe, expect, it } from "vitest";
import { encodeCommand } from "../../src/protocol/resp.ts";
import { StreamEncoder } from "../../src/replication/stream-encoder.ts";
import { concat } from "../../src/util/bytes.ts";

describe("StreamEncoder", () => {
  it("writes the same bytes as encodeCommand, one view per unit", () => {
    const e = new StreamEncoder();
    const cmds: (string | Uint8Array)[][] = [["SET", "k", "v"], ["MULTI"], ["DEL", new Uint8Array([0, 255, 13, 10])], ["EXEC"]];
    e.begin();
    e.command(cmds[0]!);
    const a = e.end();
    e.begin();
    for (const c of cmds.slice(1)) e.command(c);
    const b = e.end();
    expect(a).toEqual(encodeCommand(cmds[0]!));
    expect(b).toEqual(concat(cmds.slice(1).map(encodeCommand)));
  });

  it("views stay valid when the arena fills up, and a unit larger than an arena is whole", () => {
    const e = new StreamEncoder();
    const views: Uint8Array[] = [];
    const want: Uint8Array[] = [];
    for (let i = 0; i < 5000; i++) {
      const c = ["SET", `key:${i}`, "x".repeat(i % 50)];
      e.begin();
      e.command(c);
      views.push(e.end());
      want.push(encodeCommand(c));
    }
    const big = ["SET", "big", "y".repeat(200_000)];
    e.begin();
    e.command(["MULTI"]);
    e.command(big);
    e.command(["EXEC"]);
    const v = e.end();
    expect(v).toEqual(concat([encodeCommand(["MULTI"]), encodeCommand(big), encodeCommand(["EXEC"])]));
    views.forEach((x, i) => expect(x).toEqual(want[i]));
  });
});
