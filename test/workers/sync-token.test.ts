/**
 * Sync tokens tell the truth (SPEC §4): the answer's `upstash-sync-token` is the offset this
 * node's data has reached, never the caller's token echoed back; and the token query
 * parameter authenticates without ever becoming data, however its name is encoded.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { cmd, freshDb } from "./nodes.ts";

const AUTH = { authorization: "Bearer test-token", "content-type": "application/json" };

describe("sync tokens and the token parameter", () => {
  it("a token the node has not reached is not echoed: the answer carries the node's own offset", async () => {
    const db = freshDb("tok");
    const w = await SELF.fetch(`https://example.com/db/${db}`, { method: "POST", headers: AUTH, body: '["SET","k","v"]' });
    const offset = Number(w.headers.get("upstash-sync-token"));
    await w.body?.cancel();
    expect(offset).toBeGreaterThan(0);
    const ahead = String(offset + 1_000_000);
    const r = await SELF.fetch(`https://example.com/db/${db}`, { method: "POST", headers: { ...AUTH, "upstash-sync-token": ahead }, body: '["GET","k"]' });
    expect(await r.json()).toEqual({ result: "v" });
    expect(r.headers.get("upstash-sync-token")).toBe(String(offset));
  });

  it.each(["_token", "%5Ftoken", "%5ftoken", "_%74oken"])("?%s=… authenticates and never reaches the command", async (param) => {
    const db = freshDb("tokq");
    const r = await SELF.fetch(`https://example.com/db/${db}/set/k/v?${param}=test-token`);
    expect(await r.json()).toEqual({ result: "OK" });
    expect(await cmd(db, "master", "GET", "k")).toBe("v");
    expect(await cmd(db, "master", "DBSIZE")).toBe(1);
  });
});
