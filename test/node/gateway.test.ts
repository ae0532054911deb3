/**
 * The RESP gateway (tools/gateway.ts) between real Redis clients and the Worker's
 * WebSocket endpoint: ioredis and (when installed) redis-cli over TCP.
 */
import { execFile } from "node:child_process";
import { connect } from "node:net";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeService, startGateway, type Gateway } from "../../tools/gateway.ts";
import { startWorker, type TestWorker } from "./support/worker.ts";

const run = promisify(execFile);

let w: TestWorker;
let gw: Gateway;
const clients: Redis[] = [];

function client(port = gw.port): Redis {
  const c = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 1, retryStrategy: () => null });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  w = await startWorker();
  gw = await startGateway({ port: 0, url: w.url, db: "gateway-test", token: w.token });
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await gw?.close();
  await w?.dispose();
});

/** Send raw bytes on a fresh TCP connection and collect everything until the peer closes or `ms` pass. */
function rawExchange(port: number, bytes: string, ms = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let out = "";
    const timer = setTimeout(() => {
      s.destroy();
      resolve(out);
    }, ms);
    s.on("data", (d) => (out += d.toString("latin1")));
    s.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.on("error", reject);
    s.write(bytes);
  });
}

describe("gateway", () => {
  it("PING through ioredis", async () => {
    expect(await client().ping()).toBe("PONG");
  });

  it("SET/GET of binary data, byte for byte", async () => {
    const r = client();
    const bytes = Buffer.alloc(256 * 4);
    for (let i = 0; i < bytes.length; i++) bytes[i] = i & 0xff;
    expect(await r.set("gw:bin", bytes)).toBe("OK");
    const back = await r.getBuffer("gw:bin");
    expect(back?.equals(bytes)).toBe(true);
    const crlf = Buffer.from("a\r\nb\r\n$3\r\n*1\r\n\0");
    await r.set(Buffer.from([0xff, 0x00, 0x0d, 0x0a]), crlf);
    expect((await r.getBuffer(Buffer.from([0xff, 0x00, 0x0d, 0x0a])))?.equals(crlf)).toBe(true);
  });

  it("a 1 MiB value", async () => {
    const r = client();
    const big = Buffer.alloc(1024 * 1024, "x");
    big[0] = 0;
    expect(await r.set("gw:big", big)).toBe("OK");
    expect((await r.getBuffer("gw:big"))?.equals(big)).toBe(true);
  });

  it("pipelining 1000 commands", async () => {
    const r = client();
    const p = r.pipeline();
    for (let i = 0; i < 1000; i++) p.incr("gw:counter");
    const res = await p.exec();
    expect(res).toHaveLength(1000);
    expect(res!.every(([err]) => err === null)).toBe(true);
    expect(res![999]![1]).toBe(1000);
    expect(await r.get("gw:counter")).toBe("1000");
  });

  it("MULTI/EXEC", async () => {
    const r = client();
    const res = await r.multi().set("gw:tx", "1").incr("gw:tx").get("gw:tx").exec();
    expect(res).toEqual([
      [null, "OK"],
      [null, 2],
      [null, "2"],
    ]);
  });

  it("errors come back as RESP errors", async () => {
    const r = client();
    await r.set("gw:str", "x");
    await expect(r.lpush("gw:str", "y")).rejects.toThrow(/WRONGTYPE/);
    await expect(r.call("nosuchcommand")).rejects.toThrow(/unknown command/);
  });

  it("raw RESP written in odd fragments is reassembled (frame boundaries carry no meaning)", async () => {
    const out = await new Promise<string>((resolve, reject) => {
      const s = connect(gw.port, "127.0.0.1");
      let got = "";
      s.on("data", (d) => {
        got += d.toString("latin1");
        if (got.split("\r\n").length > 3) {
          s.end();
          resolve(got);
        }
      });
      s.on("error", reject);
      const msg = "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n";
      let i = 0;
      const tick = () => {
        if (i >= msg.length) return;
        s.write(msg.slice(i, i + 3));
        i += 3;
        setTimeout(tick, 5);
      };
      tick();
    });
    expect(out).toBe("+PONG\r\n$5\r\nhello\r\n");
  });

  it("a bad token: the client gets a RESP error and the connection closes", async () => {
    const bad = await startGateway({ port: 0, url: w.url, token: "wrong" });
    try {
      const out = await rawExchange(bad.port, "*1\r\n$4\r\nPING\r\n");
      expect(out).toBe("-ERR gateway: WRONGPASS invalid or missing auth token\r\n");
    } finally {
      await bad.close();
    }
  });

  it("checks --url and --token at start: a bad URL, a dead server and a wrong token are reported before listening", async () => {
    await expect(probeService({ url: "not a url", token: w.token })).rejects.toThrow("--url 'not a url' is not a URL (e.g. http://127.0.0.1:8787)");
    await expect(probeService({ url: "ftp://127.0.0.1:1", token: w.token })).rejects.toThrow(/^--url must be http:\/\/ or https:\/\//);
    await expect(probeService({ url: "http://127.0.0.1:1", token: w.token })).rejects.toThrow(/^cannot reach http:\/\/127\.0\.0\.1:1: .*npm start/);
    await expect(probeService({ url: w.url, token: "wrong" })).rejects.toThrow(`${w.url} refused the token (401): check --token`);
    await expect(probeService({ url: w.url, db: "gateway-test", token: w.token })).resolves.toBeUndefined();
  });

  it("without a token, clients AUTH with theirs (redis-cli -a, ioredis password): NOAUTH before, WRONGPASS for a bad one", async () => {
    const open = await startGateway({ port: 0, url: w.url, db: "gateway-auth" });
    try {
      const rw = new Redis({ port: open.port, host: "127.0.0.1", password: w.token, maxRetriesPerRequest: 1, retryStrategy: () => null });
      clients.push(rw);
      expect(await rw.set("a", "1")).toBe("OK");
      expect(await rw.get("a")).toBe("1");
      const ro = new Redis({ port: open.port, host: "127.0.0.1", username: "default", password: w.readonlyToken, maxRetriesPerRequest: 1, retryStrategy: () => null });
      clients.push(ro);
      expect(await ro.get("a")).toBe("1");
      await expect(ro.set("a", "2")).rejects.toThrow(/^NOPERM /);
      expect(await rawExchange(open.port, "PING\r\n", 500)).toBe("-NOAUTH Authentication required.\r\n");
      // As Redis: a refused AUTH keeps the connection, and the client may try again on it.
      const wrongpass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
      expect(await rawExchange(open.port, "AUTH nope\r\nPING\r\nAUTH a b c\r\nAUTH\r\nHELLO 3\r\n", 1500)).toBe(
        wrongpass +
          "-NOAUTH Authentication required.\r\n" +
          "-ERR syntax error\r\n" +
          "-ERR wrong number of arguments for 'auth' command\r\n" +
          "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n",
      );
      expect(await rawExchange(open.port, `AUTH nope\r\nHELLO 2 AUTH default nope\r\nAUTH ${w.token}\r\nGET a\r\n`, 2500)).toBe(wrongpass + wrongpass + "+OK\r\n$1\r\n1\r\n");
      expect(await rawExchange(open.port, `AUTH ${w.token}\r\nGET a\r\n`, 1000)).toBe("+OK\r\n$1\r\n1\r\n");
    } finally {
      await open.close();
    }
  });

  it("a pinned node: /db/{db}/nodes/{node}/ws", async () => {
    const pinned = await startGateway({ port: 0, url: w.url, db: "gateway-test", node: "master", token: w.token });
    try {
      expect(pinned.wsUrl).toMatch(/\/db\/gateway-test\/nodes\/master\/ws$/);
      const r = client(pinned.port);
      await client().set("gw:pinned", "seen");
      expect(await r.get("gw:pinned")).toBe("seen");
    } finally {
      await pinned.close();
    }
  });

  it("the WebSocket endpoint directly: ?_token= (browsers cannot set headers), read-only token", async () => {
    const exchange = (url: string, send: string) =>
      new Promise<string>((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.binaryType = "nodebuffer";
        ws.on("open", () => ws.send(Buffer.from(send)));
        ws.on("message", (d: Buffer) => {
          resolve(d.toString("latin1"));
          ws.close();
        });
        ws.on("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
        ws.on("error", reject);
      });
    const base = w.url.replace(/^http/, "ws") + "/db/gateway-test/ws";
    expect(await exchange(`${base}?_token=${w.token}`, "PING\r\n")).toBe("+PONG\r\n");
    expect(await exchange(`${base}?_token=${w.readonlyToken}`, "SET gw:ro x\r\n")).toMatch(/^-NOPERM /);
    await expect(exchange(`${base}?_token=wrong`, "PING\r\n")).rejects.toThrow(/HTTP 401/);
  });

  it("frames many sockets send back to back keep each socket's order (the node runs frames that arrive together in one event)", async () => {
    const url = w.url.replace(/^http/, "ws") + "/db/gateway-frames/ws";
    const frames = 240;
    const runSocket = (i: number) =>
      new Promise<[string, string]>((resolve, reject) => {
        const incr = `*2\r\n$4\r\nINCR\r\n$3\r\nn:${i}\r\n`;
        const send: string[] = [];
        const want: string[] = [];
        for (let k = 1; k <= frames; k++) {
          if (k % 10 === 0) {
            // A MULTI block over three frames.
            send.push("*1\r\n$5\r\nMULTI\r\n", incr, "*1\r\n$4\r\nEXEC\r\n");
            want.push(`+OK\r\n+QUEUED\r\n*1\r\n:${k}\r\n`);
          } else {
            send.push(incr);
            want.push(`:${k}\r\n`);
          }
        }
        const expected = want.join("");
        const ws = new WebSocket(url, { headers: { authorization: `Bearer ${w.token}` } });
        ws.binaryType = "nodebuffer";
        ws.on("open", () => {
          for (const f of send) ws.send(Buffer.from(f));
        });
        let got = "";
        ws.on("message", (d: Buffer) => {
          got += d.toString("latin1");
          if (got.length >= expected.length) {
            ws.close();
            resolve([got, expected]);
          }
        });
        ws.on("error", reject);
      });
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => runSocket(i)));
    for (const [got, want] of results) expect(got).toBe(want);
  });

  it("redis-cli through the gateway (when installed)", async () => {
    const has = await run("redis-cli", ["--version"]).then(
      () => true,
      () => false,
    );
    if (!has) return;
    const cli = (...args: string[]) => run("redis-cli", ["-p", String(gw.port), ...args]).then((r) => r.stdout.trim());
    expect(await cli("ping")).toBe("PONG");
    expect(await cli("set", "gw:cli", "from redis-cli")).toBe("OK");
    expect(await cli("get", "gw:cli")).toBe("from redis-cli");
  });

  it("redis-benchmark through the gateway reads the server's CONFIG (save, appendonly) without a warning", async () => {
    const has = await run("redis-benchmark", ["--version"]).then(
      () => true,
      () => false,
    );
    if (!has) return;
    const r = await run("redis-benchmark", ["-p", String(gw.port), "-t", "set", "-n", "200", "-P", "10", "-q"]);
    const out = r.stdout + r.stderr;
    expect(out).not.toMatch(/Could not fetch server CONFIG/);
    expect(out).toMatch(/SET: [\d.]+ requests per second/);
  });
});
