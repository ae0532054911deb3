import { describe, expect, it } from "vitest";
import { withEngine } from "./harness.ts";

describe("harness", () => {
  it("runs the engine over Durable Object SQLite and refuses unknown commands", async () => {
    await withEngine((h) => {
      const r = h.run("nosuchcmd", "a", "b");
      expect(r).toBeInstanceOf(Error);
      expect((r as Error).message).toBe("ERR unknown command 'nosuchcmd', with args beginning with: 'a' 'b' ");
      expect(h.engine.ks.dbSize(0)).toBe(0);
    });
  });
});
