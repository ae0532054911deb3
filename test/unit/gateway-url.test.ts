import { describe, expect, it } from "vitest";
import { wsUrlFor } from "../../tools/gateway.ts";

describe("gateway WebSocket address", () => {
  it("the master by default, one node with --node, the nearest replica with --read-nearest", () => {
    expect(wsUrlFor({ url: "http://127.0.0.1:8787/", db: "app" })).toBe("ws://127.0.0.1:8787/db/app/ws");
    expect(wsUrlFor({ url: "https://x.example", db: "app", node: "r1" })).toBe("wss://x.example/db/app/nodes/r1/ws");
    expect(wsUrlFor({ url: "https://x.example", db: "app", readNearest: true })).toBe("wss://x.example/db/app/ws?read=nearest");
    expect(wsUrlFor({ url: "https://x.example", readNearest: true })).toBe("wss://x.example/db/default/ws?read=nearest");
  });
});
