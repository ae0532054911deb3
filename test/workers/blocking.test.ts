/**
 * Blocking commands over WebSocket RESP (issue 11 item 1): a client blocked on an empty key
 * is served by a later write from another connection, FIFO per key, from the key that became
 * ready; timeouts, CLIENT UNBLOCK, MULTI, CLIENT LIST/INFO, a closing connection, REST's cap,
 * a restart, and replication of the served pop as its non-blocking form.
 */
import { afterAll, describe, expect, it } from "vitest";
import { attach, cmd, CommandError, converged, freshDb, info, pipeline, releaseReplicas, restart, stub, until } from "./nodes.ts";
import { arr, bulk, openResp } from "./resp-socket.ts";
import { H_DB, H_NODE } from "../../src/http/node-protocol.ts";
import { withEngine } from "./harness.ts";
import { newSession } from "../../src/keyspace/command.ts";
import { NilArray, Simple } from "../../src/protocol/reply.ts";

afterAll(releaseReplicas);

const blocked = async (db: string, n: number, node = "master") =>
  until(`${n} blocked clients`, async () => (await info(db, node, "clients")).blocked_clients === String(n));

describe("blocking commands over WebSocket", () => {
  it("BLPOP waits for a push from another connection; clients blocked on a key are served first-blocked first", async () => {
    const db = freshDb("bl");
    const [a, b, p] = [await openResp(`/db/${db}/ws`), await openResp(`/db/${db}/ws`), await openResp(`/db/${db}/ws`)];
    a.send("BLPOP", "k", "0");
    await blocked(db, 1);
    b.send("BRPOP", "k", "0");
    await blocked(db, 2);
    p.send("RPUSH", "k", "x", "y", "z");
    await p.expect(":3\r\n");
    await a.expect(arr("k", "x"));
    await b.expect(arr("k", "z"));
    expect(await cmd(db, "master", "LRANGE", "k", "0", "-1")).toEqual(["y"]);
    expect((await info(db, "master", "clients")).blocked_clients).toBe("0");
  });

  it("a client is served from the key that became ready, keys in the order they became ready (MULTI/EXEC)", async () => {
    const db = freshDb("bl");
    const [a, c, p] = [await openResp(`/db/${db}/ws`), await openResp(`/db/${db}/ws`), await openResp(`/db/${db}/ws`)];
    a.send("BLPOP", "a", "b", "0");
    await blocked(db, 1);
    c.send("BLPOP", "b", "a", "0");
    await blocked(db, 2);
    p.sendAll(["MULTI"], ["RPUSH", "b", "1"], ["RPUSH", "a", "2", "3"], ["EXEC"]);
    await p.expect("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:2\r\n");
    // b became ready first: its first waiter (a) pops b; then a's waiters: c (a has left).
    await a.expect(arr("b", "1"));
    await c.expect(arr("a", "2"));
  });

  it("BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP are served with their replies", async () => {
    const db = freshDb("bl");
    const cs = await Promise.all([0, 1, 2, 3, 4, 5].map(() => openResp(`/db/${db}/ws`)));
    const p = await openResp(`/db/${db}/ws`);
    cs[0]!.send("BLMOVE", "l1", "d1", "LEFT", "RIGHT", "0");
    cs[1]!.send("BRPOPLPUSH", "l2", "d2", "0");
    cs[2]!.send("BLMPOP", "0", "2", "l3", "l4", "RIGHT", "COUNT", "2");
    cs[3]!.send("BZPOPMIN", "z1", "0");
    cs[4]!.send("BZPOPMAX", "z1", "0");
    cs[5]!.send("BZMPOP", "0", "1", "z2", "MAX", "COUNT", "5");
    await blocked(db, 6);
    p.sendAll(["RPUSH", "l1", "x"], ["RPUSH", "l2", "y"], ["RPUSH", "l4", "p", "q", "r"], ["ZADD", "z1", "1", "a", "2", "b", "3", "c"], ["ZADD", "z2", "1", "a", "2", "b"]);
    await p.expect(":1\r\n:1\r\n:3\r\n:3\r\n:2\r\n");
    await cs[0]!.expect(bulk("x"));
    await cs[1]!.expect(bulk("y"));
    await cs[2]!.expect(`*2\r\n${bulk("l4")}${arr("r", "q")}`);
    await cs[3]!.expect(arr("z1", "a", "1"));
    await cs[4]!.expect(arr("z1", "c", "3"));
    await cs[5]!.expect(`*2\r\n${bulk("z2")}*2\r\n${arr("b", "2")}${arr("a", "1")}`);
    expect(await pipeline(db, "master", [["LRANGE", "d1", "0", "-1"], ["LRANGE", "d2", "0", "-1"], ["LRANGE", "l4", "0", "-1"], ["ZRANGE", "z1", "0", "-1"], ["EXISTS", "z2"]])).toEqual([["x"], ["y"], ["p"], ["b"], 0]);
  });

  it("a key with data answers at once as the non-blocking form; wrong type is WRONGTYPE", async () => {
    const db = freshDb("bl");
    const a = await openResp(`/db/${db}/ws`);
    a.sendAll(["RPUSH", "l", "a", "b"], ["SET", "s", "v"], ["BLPOP", "none", "l", "0"], ["BLPOP", "none", "s", "l", "0"], ["BZPOPMIN", "l", "0"]);
    await a.expect(`:2\r\n+OK\r\n${arr("l", "a")}-WRONGTYPE Operation against a key holding the wrong kind of value\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n`);
  });

  it("timeouts: sub-second, null array in RESP2 and _ in RESP3; bad and negative timeouts are errors", async () => {
    const db = freshDb("bl");
    const a = await openResp(`/db/${db}/ws`);
    a.sendAll(["BLPOP", "k", "0.05"], ["BLMOVE", "k", "d", "LEFT", "LEFT", "0.01"], ["BZMPOP", "0.02", "1", "z", "MIN"]);
    await a.expect("*-1\r\n*-1\r\n*-1\r\n");
    a.sendAll(["BLPOP", "k", "-1"], ["BLPOP", "k", "abc"], ["BLPOP", "k", "inf"], ["BLMPOP", "abc", "0", "k", "LEFT"]);
    await a.expect("-ERR timeout is negative\r\n-ERR timeout is not a float or out of range\r\n-ERR timeout is negative\r\n-ERR numkeys should be greater than 0\r\n");
    a.sendAll(["HELLO", "3"], ["BRPOPLPUSH", "k", "d", "0.01"]);
    await (async () => {
      // skip HELLO's map, then the RESP3 null
      let l = "";
      while (l !== "_") l = await a.line();
    })();
    expect((await info(db, "master", "clients")).blocked_clients).toBe("0");
  });

  it("inside MULTI they do not block: the timeout reply (nil array, or nil bulk for BLMOVE/BRPOPLPUSH)", async () => {
    const db = freshDb("bl");
    const a = await openResp(`/db/${db}/ws`);
    a.sendAll(["MULTI"], ["BLPOP", "k", "0"], ["BLMOVE", "k", "d", "LEFT", "LEFT", "0"], ["BRPOPLPUSH", "k", "d", "0"], ["BZPOPMIN", "k", "0"], ["BLPOP", "k", "-1"], ["EXEC"]);
    await a.expect("+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*5\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n-ERR timeout is negative\r\n");
  });

  it("a blocked client's next commands wait behind it; CLIENT LIST shows it blocked; CLIENT UNBLOCK TIMEOUT|ERROR", async () => {
    const db = freshDb("bl");
    const [a, p] = [await openResp(`/db/${db}/ws`), await openResp(`/db/${db}/ws`)];
    a.send("CLIENT", "ID");
    const id = Number((await a.line()).slice(1));
    a.sendAll(["BLPOP", "k", "0"], ["PING"]);
    await blocked(db, 1);
    p.send("CLIENT", "LIST", "ID", String(id));
    expect(await p.bulkText()).toMatch(new RegExp(`^id=${id} addr=.* flags=b db=0 sub=0 psub=0 ssub=0 multi=-1 .* cmd=blpop user=default redir=-1 resp=2\n$`));
    p.sendAll(["CLIENT", "UNBLOCK", String(id), "ERROR"], ["CLIENT", "UNBLOCK", String(id)], ["CLIENT", "UNBLOCK", "x"], ["CLIENT", "UNBLOCK", "1", "foo"]);
    await p.expect(":1\r\n:0\r\n-ERR value is not an integer or out of range\r\n-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n");
    await a.expect("-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n+PONG\r\n");
    a.send("BZPOPMAX", "z", "0");
    await blocked(db, 1);
    p.send("CLIENT", "UNBLOCK", String(id), "TIMEOUT");
    await p.expect(":1\r\n");
    await a.expect("*-1\r\n");
  });

  it("CLIENT UNBLOCK also ends a WAIT (TIMEOUT: the replicas acked so far; ERROR: UNBLOCKED); WAIT shows as blocked", async () => {
    const db = freshDb("bl");
    const [a, p] = [await openResp(`/db/${db}/ws`), await openResp(`/db/${db}/ws`)];
    a.send("CLIENT", "ID");
    const id = Number((await a.line()).slice(1));
    a.send("WAIT", "1", "0");
    await blocked(db, 1);
    p.send("CLIENT", "LIST", "ID", String(id));
    expect(await p.bulkText()).toMatch(/ flags=b .* cmd=wait /);
    p.send("CLIENT", "UNBLOCK", String(id), "TIMEOUT");
    await p.expect(":1\r\n");
    await a.expect(":0\r\n");
    a.send("WAIT", "1", "0");
    await blocked(db, 1);
    p.send("CLIENT", "UNBLOCK", String(id), "ERROR");
    await p.expect(":1\r\n");
    await a.expect("-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    await blocked(db, 0);
  });

  it("CLIENT LIST lists every open connection; TYPE and ID filters; CLIENT KILL ID closes another one", async () => {
    const db = freshDb("bl");
    const [a, b] = [await openResp(`/db/${db}/ws`), await openResp(`/db/${db}/ws`)];
    b.send("CLIENT", "ID");
    const idB = Number((await b.line()).slice(1));
    b.send("SUBSCRIBE", "ch");
    await b.expect("*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
    a.send("CLIENT", "LIST");
    const lines = (await a.bulkText()).split("\n");
    expect(lines.length).toBe(3);
    expect(lines[0]).toMatch(/^id=\d+ .* flags=N .* cmd=client\|list /);
    expect(lines[1]).toMatch(new RegExp(`^id=${idB} .* flags=P db=0 sub=1 psub=0 .* cmd=subscribe `));
    expect(lines[2]).toBe("");
    a.send("CLIENT", "LIST", "TYPE", "pubsub");
    expect(await a.bulkText()).toMatch(new RegExp(`^id=${idB} [^\n]*\n$`));
    a.sendAll(["CLIENT", "LIST", "TYPE", "foo"], ["CLIENT", "LIST", "ID", "abc"], ["CLIENT", "LIST", "ID"], ["CLIENT", "LIST", "ID", "0"]);
    await a.expect("-ERR Unknown client type 'foo'\r\n-ERR Invalid client ID\r\n-ERR syntax error\r\n$0\r\n\r\n");
    a.send("CLIENT", "KILL", "ID", String(idB));
    await a.expect(":1\r\n");
    expect(await b.closed).toBe(1000);
    a.sendAll(["CLIENT", "KILL", "ID", String(idB)], ["CLIENT", "KILL", "1.2.3.4:5"], ["CLIENT", "KILL", "ID", "0"]);
    await a.expect(":0\r\n-ERR No such client\r\n-ERR client-id should be greater than 0\r\n");
  });

  it("a connection that closes while blocked leaves the registry; the next push is not consumed", async () => {
    const db = freshDb("bl");
    const a = await openResp(`/db/${db}/ws`);
    a.send("BLPOP", "k", "0");
    await blocked(db, 1);
    a.close();
    await blocked(db, 0);
    expect(await cmd(db, "master", "RPUSH", "k", "v")).toBe(1);
    expect(await cmd(db, "master", "LLEN", "k")).toBe(1);
  });

  it("a client blocked forever stays blocked through an idle node (no event, no timer) and is then served", async () => {
    const db = freshDb("bl");
    const a = await openResp(`/db/${db}/ws`);
    a.send("BLPOP", "k", "0");
    await blocked(db, 1);
    // The scenario is an idle period: nothing reaches the node for 3 s (workerd must neither
    // cancel the pending message event as hung nor hibernate the object under it).
    await new Promise((r) => setTimeout(r, 3000));
    expect(await cmd(db, "master", "RPUSH", "k", "late")).toBe(1);
    await a.expect(arr("k", "late"));
  });

  it("DEBUG RESTART drops a blocked client's socket (no hibernation while blocked); nothing is left blocked", async () => {
    const db = freshDb("bl");
    const a = await openResp(`/db/${db}/ws`);
    a.send("BLPOP", "k", "0");
    await blocked(db, 1);
    await restart(db, "master");
    expect(await a.closed).toBeGreaterThan(0);
    expect((await info(db, "master", "clients")).blocked_clients).toBe("0");
    expect(await cmd(db, "master", "RPUSH", "k", "v")).toBe(1);
    expect(await cmd(db, "master", "LLEN", "k")).toBe(1);
  });

  it("a served pop reaches the replica as its non-blocking form: digests equal; a replica refuses them (READONLY)", async () => {
    const db = freshDb("blr");
    await cmd(db, "master", "PING");
    await attach(db, "r1");
    const cs = await Promise.all([0, 1, 2, 3].map(() => openResp(`/db/${db}/nodes/master/ws`)));
    cs[0]!.send("BLMOVE", "src", "dst", "RIGHT", "LEFT", "0");
    cs[1]!.send("BLPOP", "dst", "0");
    cs[2]!.send("BZMPOP", "0", "1", "z", "MIN", "COUNT", "2");
    cs[3]!.send("BLMPOP", "0", "1", "m", "LEFT");
    await blocked(db, 4);
    // BLMOVE's push onto dst serves the BLPOP in a second round.
    await pipeline(db, "master", [["RPUSH", "src", "a", "b"], ["ZADD", "z", "1", "x", "2", "y", "3", "w"], ["RPUSH", "m", "1", "2"]]);
    await cs[0]!.expect(bulk("b"));
    await cs[1]!.expect(arr("dst", "b"));
    await cs[2]!.expect(`*2\r\n${bulk("z")}*2\r\n${arr("x", "1")}${arr("y", "2")}`);
    await cs[3]!.expect(`*2\r\n${bulk("m")}${arr("1")}`);
    await converged(db, ["r1"]);
    expect(await cmd(db, "r1", "LRANGE", "src", "0", "-1")).toEqual(["a"]);
    expect(await cmd(db, "r1", "EXISTS", "dst")).toBe(0);
    await expect(cmd(db, "r1", "BLPOP", "k", "0")).rejects.toThrow(new CommandError("READONLY You can't write against a read only replica."));
  });

  it("the read-only token gets NOPERM (they are @write), CLIENT UNBLOCK too (@admin)", async () => {
    const db = freshDb("bl");
    const ro = await openResp(`/db/${db}/ws`, "test-readonly-token");
    ro.sendAll(["BLPOP", "k", "0"], ["BZMPOP", "0", "1", "z", "MIN"], ["CLIENT", "UNBLOCK", "1"]);
    await ro.expect(
      "-NOPERM this user has no permissions to run the 'blpop' command\r\n" +
        "-NOPERM this user has no permissions to run the 'bzmpop' command\r\n" +
        "-NOPERM this user has no permissions to run the 'client|unblock' command\r\n",
    );
  });

  it("REST: a blocking command waits for a push (capped by REST_BLOCK_MS_MAX); times out with null; /multi-exec does not block", async () => {
    const db = freshDb("bl");
    expect(await cmd(db, "master", "BLPOP", "k", "0.05")).toBeNull();
    const waiting = cmd(db, "master", "BLPOP", "k", "0");
    await blocked(db, 1);
    expect(await cmd(db, "master", "RPUSH", "k", "v")).toBe(1);
    expect(await waiting).toEqual(["k", "v"]);
    const res = await stub(db, "master").fetch(
      new Request("https://node/rest/multi-exec", {
        method: "POST",
        headers: { "content-type": "application/json", [H_DB]: db, [H_NODE]: "master" },
        body: JSON.stringify([["BLPOP", "k", "0"], ["BLMOVE", "k", "d", "LEFT", "LEFT", "0"]]),
      }),
    );
    expect(await res.json()).toEqual([{ result: null }, { result: null }]);
  });
});

describe("blocking commands in the engine: propagation, caps, role change", () => {
  const enc = (...a: string[]) => a.map((x) => new TextEncoder().encode(x));
  /** The stream as commands, one per line (RESP arrays of bulk strings). */
  const commands = (bytes: Uint8Array): string[] => {
    const parts = new TextDecoder().decode(bytes).split("\r\n");
    const out: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      if (!parts[i]!.startsWith("*")) continue;
      const n = Number(parts[i]!.slice(1));
      const args: string[] = [];
      for (let j = 0; j < n; j++) args.push(parts[i + 2 + 2 * j]!);
      out.push(args.join(" "));
      i += 2 * n;
    }
    return out.filter((c) => !c.startsWith("SELECT"));
  };

  it("a served client's pop is propagated after the write, as its non-blocking form (Redis 7.0.15's AOF)", async () => {
    await withEngine(async (h) => {
      const e = h.engine;
      const s = () => newSession();
      const waits = [
        e.execute(s(), enc("BLPOP", "l1", "l2", "0")),
        e.execute(s(), enc("BLMOVE", "l3", "d", "LEFT", "RIGHT", "0")),
        e.execute(s(), enc("BLMPOP", "0", "1", "l4", "RIGHT", "COUNT", "5")),
        e.execute(s(), enc("BZPOPMIN", "z1", "0")),
        e.execute(s(), enc("BZMPOP", "0", "1", "z2", "MAX")),
        e.execute(s(), enc("BRPOPLPUSH", "l5", "d2", "0")),
      ];
      expect(e.blocked.size).toBe(6);
      h.run("MULTI");
      h.run("RPUSH", "l2", "a");
      h.run("RPUSH", "l3", "b");
      h.run("RPUSH", "l4", "c", "d");
      h.run("ZADD", "z1", "1", "m");
      h.run("ZADD", "z2", "1", "m", "2", "n");
      h.run("RPUSH", "l5", "e");
      h.run("EXEC");
      const replies = await Promise.all(waits);
      expect(replies.map((r) => JSON.stringify(r, (_k, v) => (v instanceof Uint8Array ? new TextDecoder().decode(v) : v)))).toEqual([
        '["l2","a"]',
        '"b"',
        '["l4",["d","c"]]',
        '["z1","m",{"v":1}]', // scores are doubles (a bulk string in RESP2)
        '["z2",[["n",{"v":2}]]]',
        '"e"',
      ]);
      // Non-blocking forms too (keys with data): LPOP / LMOVE with the caller's words.
      h.run("RPUSH", "n", "x", "y");
      h.run("BLPOP", "n", "0");
      h.run("BLMOVE", "n", "n", "Left", "RIGHT", "0");
      expect(commands(h.stream())).toEqual([
        "MULTI",
        "RPUSH l2 a",
        "RPUSH l3 b",
        "RPUSH l4 c d",
        "ZADD z1 1 m",
        "ZADD z2 1 m 2 n",
        "RPUSH l5 e",
        "EXEC",
        "LPOP l2",
        "LMOVE l3 d left right",
        "RPOP l4 2",
        "ZPOPMIN z1",
        "ZPOPMAX z2 1",
        "RPOPLPUSH l5 d2",
        "RPUSH n x y",
        "LPOP n",
        "LMOVE n n Left RIGHT",
      ]);
    });
  });

  it("a session's cap (REST_BLOCK_MS_MAX) ends its wait with the timeout reply; forever becomes the cap", async () => {
    await withEngine(async (h) => {
      const t0 = 1_700_000_000_000;
      h.setNow(t0);
      const s = newSession({ blockCapAtMs: t0 + 30 });
      const p = h.engine.execute(s, enc("BLPOP", "k", "0"));
      expect(h.engine.blocked.size).toBe(1);
      h.setNow(t0 + 30); // the engine's clock reaches the cap; its timer fires ~30 ms later
      const r = await p;
      expect(r).toBeInstanceOf(NilArray);
      expect(h.engine.blocked.size).toBe(0);
    });
  });

  it("WATCH: a served pop invalidates a watcher of the popped key only", async () => {
    await withEngine(async (h) => {
      const e = h.engine;
      const w = newSession();
      e.execute(w, enc("WATCH", "other"));
      const served = e.execute(newSession(), enc("BLPOP", "k", "other", "0"));
      h.run("RPUSH", "k", "v");
      await served;
      e.execute(w, enc("MULTI"));
      e.execute(w, enc("PING"));
      expect(e.execute(w, enc("EXEC"))).toEqual([new Simple("PONG")]);
      e.execute(w, enc("WATCH", "k"));
      const again = e.execute(newSession(), enc("BLPOP", "k", "0"));
      h.run("RPUSH", "k", "v2");
      await again;
      e.execute(w, enc("MULTI"));
      e.execute(w, enc("PING"));
      expect(e.execute(w, enc("EXEC"))).toBeInstanceOf(NilArray);
    });
  });
});

describe("blocked clients when the master becomes a replica", () => {
  it("are released with Redis's UNBLOCKED error", async () => {
    const db = freshDb("blrole");
    await cmd(db, "other", "PING");
    const a = await openResp(`/db/${db}/nodes/master/ws`);
    a.send("BLPOP", "k", "0");
    await blocked(db, 1);
    expect(await cmd(db, "master", "REPLICAOF", "other")).toBe("OK");
    await a.expect("-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)\r\n");
    await cmd(db, "master", "REPLICAOF", "NO", "ONE");
  });
});
