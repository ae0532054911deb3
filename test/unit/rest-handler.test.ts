/**
 * handleRest against a fake node (a tiny in-memory command set with MULTI/EXEC queueing),
 * so the request → commands → JSON path is tested without a Durable Object.
 */
import { describe, expect, it } from "vitest";
import { newSession, type Session } from "../../src/keyspace/command.ts";
import type { RunKind } from "../../src/keyspace/engine.ts";
import { H_READONLY, NODE_ORIGIN, type RestTarget } from "../../src/http/node-protocol.ts";
import { handleRest } from "../../src/http/rest.ts";
import { NIL_ARRAY, OK, PONG, QUEUED, RedisError, type Reply } from "../../src/protocol/reply.ts";
import { PIPELINE_COMMANDS_MAX, REQUEST_BYTES_MAX, REST_SLICE_COMMANDS } from "../../src/limits.ts";

const td = new TextDecoder();
const te = new TextEncoder();

class FakeNode implements RestTarget {
  data = new Map<string, Uint8Array>();
  offset = 100;
  log: string[][] = [];
  open = new Set<number>();
  waited: number[] = [];
  /** Kind and length of each run handed to executeRun; `declineRuns` makes it answer null. */
  runs: string[] = [];
  declineRuns = false;

  newSession(readOnlyToken: boolean, addr: string): Session {
    const s = newSession({ readOnlyToken, addr });
    this.open.add(s.id);
    return s;
  }
  closeSession(s: Session): void {
    this.open.delete(s.id);
  }
  syncToken(): number {
    return this.offset;
  }
  async waitForOffset(offset: number, _timeoutMs: number): Promise<boolean> {
    this.waited.push(offset);
    return false;
  }
  executeRun(s: Session, kind: RunKind, cmds: readonly Uint8Array[][]): Reply[] | null {
    if (this.declineRuns) return null;
    this.runs.push(`${kind}×${cmds.length}`);
    return cmds.map((c) => this.execute(s, c as Uint8Array[]) as Reply);
  }
  execute(s: Session, argv: Uint8Array[]): Reply | Promise<Reply> {
    const a = argv.map((x) => td.decode(x));
    const name = a[0]!.toLowerCase();
    if (s.multi && name !== "exec") {
      if (name === "nope") {
        s.multiError = true;
        return new RedisError("ERR unknown command 'nope'");
      }
      s.multi.push(argv);
      return QUEUED;
    }
    if (name === "multi") {
      s.multi = [];
      return OK;
    }
    if (name === "exec") {
      const q = s.multi!;
      const aborted = s.multiError;
      s.multi = null;
      if (aborted) return new RedisError("EXECABORT Transaction discarded because of previous errors.");
      return q.map((c) => this.execute(s, c) as Reply);
    }
    this.log.push(a);
    switch (name) {
      case "ping":
        return PONG;
      case "set":
        if (s.readOnlyToken) return new RedisError("NOPERM no write for you");
        this.data.set(a[1]!, argv[2]!);
        this.offset += 10;
        return OK;
      case "get":
        return this.data.get(a[1]!) ?? null;
      case "incr": {
        const v = Number(td.decode(this.data.get(a[1]!) ?? te.encode("0"))) + 1;
        this.data.set(a[1]!, te.encode(String(v)));
        this.offset += 10;
        return v;
      }
      case "nil":
        return NIL_ARRAY;
      case "sleep":
        return new Promise<Reply>((r) => setTimeout(() => r(OK), 5));
      default:
        return new RedisError(`ERR unknown command '${a[0]}'`);
    }
  }
}

function req(path: string, init: RequestInit & { json?: unknown } = {}): Request {
  const headers = new Headers(init.headers);
  let body = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers.set("content-type", "application/json");
  }
  return new Request(NODE_ORIGIN + path, { method: init.method ?? (body !== undefined ? "POST" : "GET"), headers, body });
}

async function call(node: FakeNode, r: Request) {
  const res = await handleRest(r, node);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.status, token: res.headers.get("upstash-sync-token"), body: (await res.json()) as any };
}

describe("handleRest", () => {
  it("body form: one command", async () => {
    const n = new FakeNode();
    expect(await call(n, req("/rest", { json: ["SET", "k", "v"] }))).toEqual({ status: 200, token: "110", body: { result: "OK" } });
    expect(await call(n, req("/rest", { json: ["get", "k"] }))).toEqual({ status: 200, token: "110", body: { result: "v" } });
    expect(await call(n, req("/rest", { json: ["get", "nothing"] }))).toMatchObject({ status: 200, body: { result: null } });
    expect(await call(n, req("/rest", { json: ["bogus"] }))).toMatchObject({ status: 400, body: { error: "ERR unknown command 'bogus'" } });
    expect(n.open.size).toBe(0);
  });

  it("base64 encoding on request", async () => {
    const n = new FakeNode();
    const h = { "upstash-encoding": "base64" };
    expect((await call(n, req("/rest", { json: ["set", "k", "bar"], headers: h }))).body).toEqual({ result: "OK" });
    expect((await call(n, req("/rest", { json: ["get", "k"], headers: h }))).body).toEqual({ result: "YmFy" });
    expect((await call(n, req("/rest", { json: ["ping"], headers: h }))).body).toEqual({ result: "UE9ORw==" });
  });

  it("path form: GET and POST with body and query", async () => {
    const n = new FakeNode();
    expect((await call(n, req("/rest/set/foo/bar"))).body).toEqual({ result: "OK" });
    expect((await call(n, req("/rest/get/foo"))).body).toEqual({ result: "bar" });
    const bin = new Uint8Array([0, 255, 10, 13]);
    expect((await call(n, req("/rest/set/bin", { method: "POST", body: bin }))).body).toEqual({ result: "OK" });
    expect([...n.data.get("bin")!]).toEqual([0, 255, 10, 13]);
    expect((await call(n, req("/rest/get/bin", { headers: { "upstash-encoding": "base64" } }))).body).toEqual({ result: "AP8KDQ==" });
    await call(n, req("/rest/set/q?EX=100", { method: "POST", body: "val" }));
    expect(n.log.at(-1)).toEqual(["set", "q", "val", "EX", "100"]);
  });

  it("pipeline: plain SETs and GETs in a row go to executeRun together, within a slice", async () => {
    const n = new FakeNode();
    const body = [["SET", "a", "1"], ["set", "b", "2"], ["GET", "a"], ["get", "b"], ["get", "c"], ["incr", "a"], ["set", "x", "1", "EX", "5"], ["SET", "c", "3"], ["get", "a", "extra"]];
    const r = await call(n, req("/rest/pipeline", { json: body }));
    expect(r.body).toEqual([{ result: "OK" }, { result: "OK" }, { result: "1" }, { result: "2" }, { result: null }, { result: 2 }, { result: "OK" }, { result: "OK" }, { result: "2" }]);
    // SET with options, one SET alone and a GET of the wrong arity are not runs.
    expect(n.runs).toEqual(["set×2", "get×3"]);
    const many = Array.from({ length: 600 }, (_, i) => ["SET", `k${i}`, "v"]);
    n.runs = [];
    await call(n, req("/rest/pipeline", { json: many }));
    expect(REST_SLICE_COMMANDS).toBe(250);
    expect(n.runs).toEqual(["set×250", "set×250", "set×100"]); // a run never crosses a slice
    // A node that declines a run answers the same, command by command.
    const m = new FakeNode();
    m.declineRuns = true;
    expect((await call(m, req("/rest/pipeline", { json: body }))).body).toEqual(r.body);
    expect(m.runs).toEqual([]);
  });

  it("pipeline: per-item results and errors, status 200, one session", async () => {
    const n = new FakeNode();
    const r = await call(n, req("/rest/pipeline", { json: [["set", "a", 1], ["incr", "a"], ["bogus"], ["sleep"], ["get", "a"]] }));
    expect(r).toEqual({
      status: 200,
      token: "120",
      body: [{ result: "OK" }, { result: 2 }, { error: "ERR unknown command 'bogus'" }, { result: "OK" }, { result: "2" }],
    });
    expect(n.open.size).toBe(0);
  });

  it("multi-exec: MULTI, commands, EXEC; EXECABORT → 400; control commands refused", async () => {
    const n = new FakeNode();
    const ok = await call(n, req("/rest/multi-exec", { json: [["set", "a", "x"], ["get", "a"], ["bogus"]] }));
    expect(ok).toEqual({ status: 200, token: "110", body: [{ result: "OK" }, { result: "x" }, { error: "ERR unknown command 'bogus'" }] });
    const aborted = await call(n, req("/rest/multi-exec", { json: [["set", "b", "y"], ["nope"]] }));
    expect(aborted.status).toBe(400);
    expect(aborted.body.error).toMatch(/^EXECABORT .*Command 2 \[ nope \]: ERR unknown command 'nope'/);
    expect(n.data.has("b")).toBe(false);
    const ctl = await call(n, req("/rest/multi-exec", { json: [["set", "c", "z"], ["exec"]] }));
    expect(ctl).toMatchObject({ status: 400, body: { error: "ERR command 2: EXEC is not allowed in /multi-exec" } });
    expect(n.data.has("c")).toBe(false);
  });

  it("bad input: nothing runs", async () => {
    const n = new FakeNode();
    const bad = async (r: Request) => {
      const out = await call(n, r);
      expect(out.status).toBe(400);
      return out.body.error as string;
    };
    expect(await bad(req("/rest", { method: "POST", body: "[\"set\",\"k\"" }))).toMatch(/^ERR failed to parse request body: /);
    expect(await bad(req("/rest", { json: [] }))).toMatch(/empty/);
    expect(await bad(req("/rest", { json: { cmd: "get" } }))).toMatch(/JSON array/);
    expect(await bad(req("/rest", { json: ["set", "k", null] }))).toMatch(/argument 3 is null/);
    expect(await bad(req("/rest/pipeline", { json: [["set", "k", "v"], ["set", "k", { a: 1 }]] }))).toMatch(/command 2: argument 3 is object/);
    expect(await bad(req("/rest/pipeline", { json: Array(PIPELINE_COMMANDS_MAX + 1).fill(["set", "k", "v"]) }))).toMatch(/too many commands/);
    expect(await bad(req("/rest"))).toMatch(/no command/);
    expect(n.log).toEqual([]);
  });

  it("oversized body → 413, by Content-Length or by counting a stream", async () => {
    const n = new FakeNode();
    const big = new Request(NODE_ORIGIN + "/rest/set/k", { method: "POST", body: "x", headers: { "content-length": String(REQUEST_BYTES_MAX + 1) } });
    expect(await call(n, big)).toMatchObject({ status: 413, body: { error: "ERR max request size exceeded" } });
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent > REQUEST_BYTES_MAX) return c.close();
        const chunk = new Uint8Array(4 * 1024 * 1024);
        sent += chunk.length;
        c.enqueue(chunk);
      },
    });
    const chunked = new Request(NODE_ORIGIN + "/rest/set/k", { method: "POST", body: stream, duplex: "half" } as RequestInit);
    expect(await call(n, chunked)).toMatchObject({ status: 413, body: { error: "ERR max request size exceeded" } });
    expect(n.log).toEqual([]);
  });

  it("sync tokens: the answer carries this node's offset, never the caller's token; wait only when ahead", async () => {
    const n = new FakeNode();
    const a = await call(n, req("/rest", { json: ["ping"], headers: { "upstash-sync-token": "" } }));
    expect(a.token).toBe("100");
    const b = await call(n, req("/rest", { json: ["ping"], headers: { "upstash-sync-token": "50" } }));
    expect(b.token).toBe("100");
    expect(n.waited).toEqual([]);
    const c = await call(n, req("/rest", { json: ["ping"], headers: { "upstash-sync-token": "500" } }));
    // The node did not reach 500 within the wait: the answer says where its data is.
    expect(c.token).toBe("100");
    expect(n.waited).toEqual([500]);
    const d = await call(n, req("/rest", { json: ["ping"], headers: { "upstash-sync-token": "garbage" } }));
    expect(d.token).toBe("100");
  });

  it("the read-only flag reaches the session", async () => {
    const n = new FakeNode();
    const r = await call(n, req("/rest", { json: ["set", "k", "v"], headers: { [H_READONLY]: "1" } }));
    expect(r).toMatchObject({ status: 400, body: { error: "NOPERM no write for you" } });
  });
});
