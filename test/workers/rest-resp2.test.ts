/**
 * `Upstash-Response-Format: resp2` (Upstash's REST docs; research/upstash.md §1.5): the
 * replies' RESP2 bytes as application/octet-stream instead of JSON, for one command and for
 * /pipeline (one reply after another); /multi-exec stays JSON; any other format, or resp2
 * with `Upstash-Encoding: base64`, is a 400.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { freshDb } from "./nodes.ts";

const AUTH = { authorization: "Bearer test-token" };

async function call(db: string, path: string, init: { body?: BodyInit; headers?: Record<string, string> } = {}) {
  const res = await SELF.fetch(`https://example.com/db/${db}${path}`, {
    method: init.body === undefined ? "GET" : "POST",
    body: init.body,
    headers: { ...AUTH, ...init.headers },
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { status: res.status, type: res.headers.get("content-type"), token: res.headers.get("upstash-sync-token"), bytes, text: new TextDecoder("latin1").decode(bytes) };
}

const RESP2 = { "upstash-response-format": "resp2" };

describe("Upstash-Response-Format: resp2", () => {
  it("one command, binary values, a pipeline and errors answer in RESP2 bytes; /multi-exec stays JSON", async () => {
    const db = freshDb("resp2");
    const value = Uint8Array.of(0, 0xff, 0x0d, 0x0a, 0x80);
    expect((await call(db, "/set/bin", { body: value, headers: { ...RESP2, "content-type": "application/octet-stream" } })).text).toBe("+OK\r\n");
    const got = await call(db, "/get/bin", { headers: RESP2 });
    expect([got.status, got.type]).toEqual([200, "application/octet-stream"]);
    expect(Number(got.token)).toBeGreaterThan(0);
    expect(Array.from(got.bytes)).toEqual([...new TextEncoder().encode("$5\r\n"), ...value, 0x0d, 0x0a]);
    expect((await call(db, "/get/missing", { headers: RESP2 })).text).toBe("$-1\r\n");
    // The body form and the same statuses as JSON: a command's error is a 400.
    const err = await call(db, "", { body: JSON.stringify(["INCR", "bin"]), headers: RESP2 });
    expect([err.status, err.text]).toEqual([400, "-ERR value is not an integer or out of range\r\n"]);
    const pipe = await call(db, "/pipeline", {
      body: JSON.stringify([["SET", "k", "v"], ["GET", "k"], ["RPUSH", "l", "a", "b"], ["LRANGE", "l", "0", "-1"], ["HGETALL", "nohash"], ["INCR", "k"]]),
      headers: RESP2,
    });
    expect([pipe.status, pipe.type, pipe.text]).toEqual([
      200,
      "application/octet-stream",
      "+OK\r\n$1\r\nv\r\n:2\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n*0\r\n-ERR value is not an integer or out of range\r\n",
    ]);
    const tx = await call(db, "/multi-exec", { body: JSON.stringify([["GET", "k"]]), headers: RESP2 });
    expect([tx.status, tx.type, JSON.parse(tx.text)]).toEqual([200, "application/json", [{ result: "v" }]]);
    // json is the default, and may be named.
    expect(JSON.parse((await call(db, "/get/k", { headers: { "upstash-response-format": "JSON" } })).text)).toEqual({ result: "v" });
  });

  it("another format, or resp2 with base64, is refused before anything runs", async () => {
    const db = freshDb("resp2-bad");
    const xml = await call(db, "/set/k/v", { headers: { "upstash-response-format": "xml" } });
    expect([xml.status, JSON.parse(xml.text)]).toEqual([400, { error: "ERR upstash-response-format must be json or resp2, not 'xml'" }]);
    const both = await call(db, "/set/k/v", { headers: { ...RESP2, "upstash-encoding": "base64" } });
    expect(both.status).toBe(400);
    expect(JSON.parse(both.text).error).toMatch(/resp2 cannot be combined with Upstash-Encoding: base64/);
    expect(JSON.parse((await call(db, "/exists/k")).text)).toEqual({ result: 0 });
  });
});
