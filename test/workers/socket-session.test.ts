/**
 * A socket's session state: CLIENT REPLY ON|OFF|SKIP (Redis 7.0's semantics; a REST request
 * refuses it), and what must survive hibernation — the database, the protocol, the token a
 * later AUTH switched to, the CLIENT SETNAME name and CLIENT REPLY OFF. Several commands go in
 * one frame where no reply comes back to wait for (frames the test isolate sends back to back
 * can be reordered; a frame's commands cannot).
 */
import { runInDurableObject } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import { newSession, reserveSessionIds } from "../../src/keyspace/command.ts";
import type { Node } from "../../src/node/node.ts";
import { cmd, CommandError, freshDb, pipeline, releaseReplicas, stub, until } from "./nodes.ts";
import { forgetSockets, openWs } from "./ws-client.ts";

afterAll(releaseReplicas);

const resp = (...args: string[]) => `*${args.length}\r\n` + args.map((a) => `$${a.length}\r\n${a}\r\n`).join("");

describe("CLIENT REPLY", () => {
  it("OFF silences every reply until ON; SKIP silences itself and the next command only", async () => {
    const db = freshDb("reply");
    const ws = await openWs(db);
    ws.frame(resp("CLIENT", "REPLY", "OFF") + resp("SET", "a", "1") + resp("GET", "a") + resp("INCR", "a") + resp("CLIENT", "REPLY", "ON") + resp("GET", "a"));
    expect(await ws.readBytes("+OK\r\n$1\r\n2\r\n".length)).toBe("+OK\r\n$1\r\n2\r\n");
    // The silenced commands ran: SET and INCR took effect.
    expect(await cmd(db, "master", "GET", "a")).toBe("2");
    ws.frame(resp("CLIENT", "REPLY", "SKIP") + resp("INCR", "a") + resp("INCR", "a") + resp("PING"));
    expect(await ws.readBytes(":4\r\n+PONG\r\n".length)).toBe(":4\r\n+PONG\r\n");
    // A run of SETs (the engine's many-keys path) is silenced reply by reply: SKIP takes the first only.
    ws.frame(resp("CLIENT", "REPLY", "SKIP") + resp("SET", "x", "1") + resp("SET", "y", "2") + resp("SET", "z", "3"));
    expect(await ws.readBytes("+OK\r\n+OK\r\n".length)).toBe("+OK\r\n+OK\r\n");
    ws.frame(resp("PING"));
    expect(await ws.read()).toBe("+PONG\r\n");
    // SKIP while OFF changes nothing: still silent until ON.
    ws.frame(resp("CLIENT", "REPLY", "OFF") + resp("CLIENT", "REPLY", "SKIP") + resp("INCR", "a") + resp("INCR", "a") + resp("CLIENT", "REPLY", "ON") + resp("GET", "a"));
    expect(await ws.readBytes("+OK\r\n$1\r\n6\r\n".length)).toBe("+OK\r\n$1\r\n6\r\n");
    ws.close();
  });

  it("bad use answers Redis's errors; over REST it is refused (a request always gets its response)", async () => {
    const db = freshDb("reply");
    const ws = await openWs(db);
    ws.frame(resp("CLIENT", "REPLY", "MAYBE"));
    expect(await ws.read()).toBe("-ERR syntax error\r\n");
    ws.frame(resp("CLIENT", "REPLY"));
    expect(await ws.read()).toBe("-ERR wrong number of arguments for 'client|reply' command\r\n");
    ws.frame(resp("CLIENT", "SETINFO", "LIB-NAME", "x"));
    expect(await ws.read()).toBe("-ERR unknown subcommand 'SETINFO'. Try CLIENT HELP.\r\n");
    ws.close();
    await expect(cmd(db, "master", "CLIENT", "REPLY", "OFF")).rejects.toThrow(CommandError);
    await expect(cmd(db, "master", "CLIENT", "REPLY", "OFF")).rejects.toThrow(/REST request always gets its response/);
  });
});

describe("a socket's session after hibernation", () => {
  it("keeps its database, its AUTH (a read-write socket that switched to the read-only token stays read-only), its name and CLIENT REPLY OFF", async () => {
    const db = freshDb("hib");
    const ws = await openWs(db);
    ws.frame(resp("SELECT", "3"));
    expect(await ws.read()).toBe("+OK\r\n");
    ws.frame(resp("CLIENT", "SETNAME", "worker-7"));
    expect(await ws.read()).toBe("+OK\r\n");
    ws.frame(resp("AUTH", "test-readonly-token"));
    expect(await ws.read()).toBe("+OK\r\n");
    ws.frame(resp("SET", "k", "v"));
    expect(await ws.read()).toMatch(/^-NOPERM/);
    await forgetSockets(db);
    ws.frame(resp("SET", "k", "v"));
    expect(await ws.read()).toMatch(/^-NOPERM/);
    ws.frame(resp("CLIENT", "GETNAME"));
    expect(await ws.read()).toBe("$8\r\nworker-7\r\n");
    ws.frame(resp("AUTH", "test-token") + resp("SET", "k", "in-db-3"));
    expect(await ws.readBytes("+OK\r\n+OK\r\n".length)).toBe("+OK\r\n+OK\r\n");
    await forgetSockets(db);
    ws.frame(resp("GET", "k"));
    expect(await ws.read()).toBe("$7\r\nin-db-3\r\n");
    ws.frame(resp("CLIENT", "REPLY", "OFF") + resp("SET", "silent", "1"));
    // No reply to wait for: wait for its effect (database 3).
    await until("the silenced SET ran", async () => (await pipeline(db, "master", [["SELECT", "3"], ["GET", "silent"]]))[1] === "1");
    await forgetSockets(db);
    ws.frame(resp("SET", "silent2", "1") + resp("CLIENT", "REPLY", "ON") + resp("ECHO", "back"));
    expect(await ws.readBytes("+OK\r\n$4\r\nback\r\n".length)).toBe("+OK\r\n$4\r\nback\r\n");
    ws.close();
  });
});

describe("CLIENT ID across hibernation", () => {
  it("a rebuilt socket keeps its id, and later sockets get ids above it", async () => {
    const db = freshDb("hibid");
    const ws = await openWs(db);
    ws.frame(resp("CLIENT", "ID"));
    const id = Number(/^:(\d+)\r\n$/.exec((await ws.read())!)![1]);
    await forgetSockets(db);
    ws.frame(resp("CLIENT", "ID"));
    expect(await ws.read()).toBe(`:${id}\r\n`);
    ws.frame(resp("CLIENT", "LIST", "ID", String(id)));
    expect(await ws.read()).toMatch(new RegExp(`id=${id} `));
    const other = await openWs(db);
    other.frame(resp("CLIENT", "ID"));
    expect(Number(/^:(\d+)\r\n$/.exec((await other.read())!)![1])).toBeGreaterThan(id);
    ws.close();
    other.close();
  });

  it("a new instance starts its ids above the highest a socket got (reserveSessionIds, from node_identity)", async () => {
    const db = freshDb("hibid");
    const ws = await openWs(db);
    ws.frame(resp("CLIENT", "ID"));
    const id = Number(/^:(\d+)\r\n$/.exec((await ws.read())!)![1]);
    const stored = await runInDurableObject(stub(db, "master"), (_n: Node, state: DurableObjectState) =>
      Number(state.storage.sql.exec("SELECT v FROM node_identity WHERE k = 'socket-ids'").one().v),
    );
    expect(stored).toBe(id);
    const ahead = newSession().id + 1000;
    reserveSessionIds(ahead);
    expect(newSession().id).toBe(ahead + 1);
    reserveSessionIds(5); // never backwards
    expect(newSession().id).toBe(ahead + 2);
    ws.close();
  });
});

describe("a transaction across the object leaving memory", () => {
  it("a socket in MULTI or WATCH keeps the node awake; if its state is lost anyway, the socket is closed before any queued command runs", async () => {
    const db = freshDb("hibtx");
    const ws = await openWs(db);
    ws.frame(resp("MULTI"));
    expect(await ws.read()).toBe("+OK\r\n");
    ws.frame(resp("SET", "a", "1"));
    expect(await ws.read()).toBe("+QUEUED\r\n");
    // While a transaction is open the node holds a timer (a pending timer keeps a Durable Object from hibernating).
    expect(await runInDurableObject(stub(db, "master"), (n: Node) => (n as unknown as { connections: { keepAwake: unknown } }).connections.keepAwake !== null)).toBe(true);
    await forgetSockets(db); // evicted anyway: the queue is gone
    ws.frame(resp("SET", "b", "2") + resp("EXEC"));
    expect(await ws.closed).toBe(1011);
    // Nothing of the transaction ran: neither the queued SET nor the one after it.
    expect(await cmd(db, "master", "EXISTS", "a", "b")).toBe(0);
  });

  it("the timer stops once no socket has a transaction open; WATCH alone also holds it", async () => {
    const db = freshDb("hibtx");
    const ws = await openWs(db);
    const keepAwake = () => runInDurableObject(stub(db, "master"), (n: Node) => (n as unknown as { connections: { keepAwake: unknown } }).connections.keepAwake !== null);
    ws.frame(resp("WATCH", "k"));
    expect(await ws.read()).toBe("+OK\r\n");
    expect(await keepAwake()).toBe(true);
    ws.frame(resp("MULTI"));
    expect(await ws.read()).toBe("+OK\r\n");
    ws.frame(resp("SET", "k", "v"));
    expect(await ws.read()).toBe("+QUEUED\r\n");
    ws.frame(resp("EXEC"));
    expect(await ws.read()).toBe("*1\r\n+OK\r\n");
    expect(await keepAwake()).toBe(false);
    ws.close();
  });
});
