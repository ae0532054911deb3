/** MONITOR over WebSocket RESP: every command the node executes, in Redis's line format. */
import { SELF } from "cloudflare:test";
import { expect, it } from "vitest";
import { cmd, freshDb } from "./nodes.ts";

it("MONITOR streams the commands of other clients as +<time> [<db> <addr>] \"cmd\" \"args\"", async () => {
  const db = freshDb("mon");
  await cmd(db, "master", "PING"); // create the node
  const res = await SELF.fetch(`https://example.com/db/${db}/ws`, { headers: { Upgrade: "websocket", authorization: "Bearer test-token" } });
  const ws = res.webSocket!;
  (ws as unknown as { binaryType: string }).binaryType = "arraybuffer";
  ws.accept();
  const lines: string[] = [];
  let wake: (() => void) | null = null;
  ws.addEventListener("message", (e) => {
    const text = typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer);
    lines.push(...text.split("\r\n").filter((l) => l !== ""));
    wake?.();
  });
  const next = async (): Promise<string> => {
    while (lines.length === 0) await new Promise<void>((r) => (wake = r));
    return lines.shift()!;
  };
  ws.send("*1\r\n$7\r\nMONITOR\r\n");
  expect(await next()).toBe("+OK");
  await cmd(db, "master", "SET", "k", "a\"b\n");
  expect(await next()).toMatch(/^\+\d+\.\d{6} \[0 [^\]]+\] "SET" "k" "a\\"b\\n"$/);
  await cmd(db, "master", "SELECT", "2");
  expect(await next()).toMatch(/^\+\d+\.\d{6} \[0 [^\]]+\] "SELECT" "2"$/);
  ws.close(1000, "done");
});
