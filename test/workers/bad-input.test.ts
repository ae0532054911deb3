/**
 * Bad input through the public router (REST and WebSocket RESP): every malformed request
 * gets Redis's error or a clear one, and the data is unchanged afterwards (DEBUG DIGEST).
 * Also durability: acknowledged writes survive a restart of the node.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { cmd, freshDb, restart } from "./nodes.ts";

const AUTH = { authorization: "Bearer test-token", "content-type": "application/json" };

async function rest(db: string, body: string | Uint8Array, headers: Record<string, string> = AUTH, path = "") {
  const res = await SELF.fetch(`https://example.com/db/${db}${path}`, { method: "POST", headers, body });
  const text = await res.text();
  let json: { result?: unknown; error?: string } | null = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, json, text };
}

/** A WebSocket RESP client through the router. */
async function ws(db: string): Promise<{ send(b: string | Uint8Array): Promise<string>; closed: Promise<number> }> {
  const res = await SELF.fetch(`https://example.com/db/${db}/ws`, { headers: { Upgrade: "websocket", authorization: "Bearer test-token" } });
  const sock = res.webSocket!;
  (sock as unknown as { binaryType: string }).binaryType = "arraybuffer";
  sock.accept();
  const queue: string[] = [];
  let wake: (() => void) | null = null;
  sock.addEventListener("message", (e) => {
    queue.push(typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer));
    wake?.();
  });
  const closed = new Promise<number>((r) => sock.addEventListener("close", (e) => r(e.code)));
  return {
    async send(b) {
      sock.send(b);
      while (queue.length === 0) await new Promise<void>((r) => (wake = r));
      return queue.shift()!;
    },
    closed,
  };
}

describe("bad input changes nothing", () => {
  it("REST: bad JSON, unknown command, arity, WRONGTYPE, non-integer, out of range, oversized key/value/request, tokens", async () => {
    const db = freshDb("bad");
    await cmd(db, "master", "SET", "s", "v");
    await cmd(db, "master", "RPUSH", "l", "a", "b");
    const digest = await cmd(db, "master", "DEBUG", "DIGEST");
    const cases: [string | Uint8Array, number, RegExp, Record<string, string>?, string?][] = [
      ["[\"SET\", \"s\"", 400, /^ERR .*pars/i],
      ['{"cmd":"GET"}', 400, /^ERR /],
      ["[]", 400, /^ERR /],
      ['["SET", "s", {"x":1}]', 400, /^ERR /],
      ['["NOSUCH", "a"]', 400, /^ERR unknown command 'NOSUCH', with args beginning with: 'a' $/],
      ['["GET"]', 400, /^ERR wrong number of arguments for 'get' command$/],
      ['["LPUSH", "s", "x"]', 400, /^WRONGTYPE Operation against a key holding the wrong kind of value$/],
      ['["INCRBY", "s", "abc"]', 400, /^ERR value is not an integer or out of range$/],
      ['["EXPIRE", "s", "9223372036854775807"]', 400, /^ERR invalid expire time in 'expire' command$/],
      ['["SETRANGE", "s", "-1", "x"]', 400, /^ERR offset is out of range$/],
      ['["LSET", "l", "99", "x"]', 400, /^ERR index out of range$/],
      ['["SELECT", "16"]', 400, /^ERR DB index is out of range$/],
      [JSON.stringify(["SET", "k".repeat(64 * 1024 + 1), "v"]), 400, /key exceeds the limit of 65536 bytes/],
      [JSON.stringify(["SET", "s", "v".repeat(16 * 1024 * 1024 + 1)]), 400, /value exceeds the limit of 16777216 bytes/],
      [new Uint8Array(32 * 1024 * 1024 + 1).fill(32), 413, /^ERR max request size exceeded$/],
      ['["SET", "s", "x"]', 401, /WRONGPASS/, { "content-type": "application/json" }],
      ['["SET", "s", "x"]', 401, /WRONGPASS/, { authorization: "Bearer nope" }],
      ['["SET", "s", "x"]', 400, /^NOPERM/, { authorization: "Bearer test-readonly-token" }],
      [JSON.stringify(Array.from({ length: 1001 }, () => ["GET", "s"])), 400, /1000|too many|pipeline/i, AUTH, "/pipeline"],
    ];
    for (const [body, status, re, headers, path] of cases) {
      const r = await rest(db, body, headers ?? AUTH, path ?? "");
      expect(r.status, `${String(body).slice(0, 60)} → ${r.text.slice(0, 200)}`).toBe(status);
      expect(r.json?.error ?? "", String(body).slice(0, 60)).toMatch(re);
    }
    expect(await cmd(db, "master", "DEBUG", "DIGEST")).toBe(digest);
    expect(await cmd(db, "master", "GET", "s")).toBe("v");
  });

  it("WebSocket: errors as RESP replies; malformed RESP closes the connection; nothing changes", async () => {
    const db = freshDb("badws");
    await cmd(db, "master", "SET", "s", "v");
    const digest = await cmd(db, "master", "DEBUG", "DIGEST");
    const c = await ws(db);
    expect(await c.send("*2\r\n$3\r\nGET\r\n$1\r\ns\r\n")).toBe("$1\r\nv\r\n");
    expect(await c.send("*1\r\n$3\r\nGET\r\n")).toBe("-ERR wrong number of arguments for 'get' command\r\n");
    expect(await c.send("*3\r\n$5\r\nLPUSH\r\n$1\r\ns\r\n$1\r\nx\r\n")).toBe("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    expect(await c.send("INCRBY s 1\r\n")).toBe("-ERR value is not an integer or out of range\r\n");
    expect(await c.send("*2\r\n$3\r\nSET\r\nxx\r\n")).toMatch(/^-ERR Protocol error: expected '\$', got 'x'\r\n$/);
    expect(await c.closed).toBe(1002);
    expect(await cmd(db, "master", "DEBUG", "DIGEST")).toBe(digest);
  });
});

describe("durability", () => {
  it("every acknowledged write is there after DEBUG RESTART of the node", async () => {
    const db = freshDb("dur");
    const n = 500;
    const writes: (string | number)[][] = [];
    for (let i = 0; i < n; i++) writes.push(["SET", `k${i}`, `v${i}`], ["HSET", "h", `f${i}`, i], ["RPUSH", "l", i], ["ZADD", "z", i, `m${i}`]);
    for (let i = 0; i < writes.length; i += 1000) {
      const res = await SELF.fetch(`https://example.com/db/${db}/pipeline`, { method: "POST", headers: AUTH, body: JSON.stringify(writes.slice(i, i + 1000)) });
      expect(res.status).toBe(200);
      const items = (await res.json()) as { result?: unknown; error?: string }[];
      for (const it of items) expect(it.error).toBeUndefined();
    }
    const digest = await cmd(db, "master", "DEBUG", "DIGEST");
    const offset = (await cmd(db, "master", "INFO", "replication")) as string;
    await restart(db, "master");
    expect(await cmd(db, "master", "DEBUG", "DIGEST")).toBe(digest);
    expect(await cmd(db, "master", "DBSIZE")).toBe(n + 3);
    expect(await cmd(db, "master", "GET", `k${n - 1}`)).toBe(`v${n - 1}`);
    expect(await cmd(db, "master", "LLEN", "l")).toBe(n);
    // The replication offset and id survive too.
    const after = (await cmd(db, "master", "INFO", "replication")) as string;
    const pick = (s: string, k: string) => new RegExp(`${k}:(\\S+)`).exec(s)?.[1];
    expect(pick(after, "master_replid")).toBe(pick(offset, "master_replid"));
    expect(pick(after, "master_repl_offset")).toBe(pick(offset, "master_repl_offset"));
  });
});
