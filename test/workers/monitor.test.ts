/** MONITOR over WebSocket RESP: every command the node executes, in Redis's line format. */
import { SELF } from "cloudflare:test";
import { expect, it } from "vitest";
import { cmd, freshDb } from "./nodes.ts";

/** A MONITOR socket on the database's base address: its lines as they arrive. */
async function monitorLines(db: string) {
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
  const arrived = () => new Promise<void>((r) => (wake = r));
  const next = async (): Promise<string> => {
    while (lines.length === 0) await arrived();
    return lines.shift()!;
  };
  ws.send("*1\r\n$7\r\nMONITOR\r\n");
  return { ws, lines, next, arrived };
}

it("MONITOR streams the commands of other clients as +<time> [<db> <addr>] \"cmd\" \"args\"", async () => {
  const db = freshDb("mon");
  await cmd(db, "master", "PING"); // create the node
  const { ws, next } = await monitorLines(db);
  expect(await next()).toBe("+OK");
  await cmd(db, "master", "SET", "k", "a\"b\n");
  expect(await next()).toMatch(/^\+\d+\.\d{6} \[0 [^\]]+\] "SET" "k" "a\\"b\\n"$/);
  await cmd(db, "master", "SELECT", "2");
  // Shown once it ran, in the database it selected (redis-server 7.0.15 does the same).
  expect(await next()).toMatch(/^\+\d+\.\d{6} \[2 [^\]]+\] "SELECT" "2"$/);
  ws.close(1000, "done");
});

it("MONITOR shows what runs, as redis-server 7.0.15: not refused or admin commands, a transaction's commands when EXEC runs them (then EXEC), a script's as [db lua], passwords redacted", async () => {
  const db = freshDb("mon2");
  await cmd(db, "master", "PING");
  const { ws, lines, next, arrived } = await monitorLines(db);
  expect(await next()).toBe("+OK");
  const client = await SELF.fetch(`https://example.com/db/${db}/nodes/master/ws`, { headers: { Upgrade: "websocket", authorization: "Bearer test-token" } });
  const c = client.webSocket!;
  (c as unknown as { binaryType: string }).binaryType = "arraybuffer";
  c.accept();
  let replies = "";
  let replyWake: (() => void) | null = null;
  c.addEventListener("message", (e) => {
    replies += typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer);
    replyWake?.();
  });
  // One frame, in order; PING last marks the end.
  c.send(
    "MULTI\r\nSET a 1\r\nGET a\r\nEXEC\r\nGET\r\nNOSUCH x\r\nCONFIG GET maxmemory\r\nAUTH foo bar\r\nHELLO 2 AUTH default secret\r\n" +
      "MULTI\r\nSET c 1\r\nSET c\r\nEXEC\r\nEVAL \"redis.call('set','x','y') return 1\" 0\r\nPING\r\n",
  );
  while (!replies.endsWith("+PONG\r\n")) await new Promise<void>((r) => (replyWake = r));
  while (!lines.some((l) => l.endsWith('"PING"'))) await arrived();
  const shown = lines.map((l) => l.replace(/^\+\d+\.\d{6} /, ""));
  const at = shown[0]!.slice(0, shown[0]!.indexOf("]") + 1);
  expect(shown).toEqual([
    `${at} "MULTI"`,
    `${at} "SET" "a" "1"`,
    `${at} "GET" "a"`,
    `${at} "EXEC"`,
    `${at} "AUTH" "(redacted)" "(redacted)"`,
    `${at} "HELLO" "2" "AUTH" "(redacted)" "(redacted)"`,
    `${at} "MULTI"`,
    `${at} "EXEC"`,
    `${at} "EVAL" "redis.call('set','x','y') return 1" "0"`,
    `[0 lua] "set" "x" "y"`,
    `${at} "PING"`,
  ]);
  c.close(1000, "done");
  ws.close(1000, "done");
});
