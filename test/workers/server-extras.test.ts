/**
 * What clients ask a server besides data (replies and errors as redis-server 7.0.15 gives
 * them): SLOWLOG, the CONFIG parameters clients and job queues check, CLIENT's tracking
 * subcommands (tracking is not built: off), HELP of CONFIG/CLIENT/COMMAND/SLOWLOG, COMMAND
 * LIST FILTERBY, the cluster commands of a server without cluster support, and a script's
 * big number under RESP3.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { cmd, commandError, freshDb, until } from "./nodes.ts";
import { openResp } from "./resp-socket.ts";

const err = commandError;

describe("SLOWLOG", () => {
  it("logs commands over slowlog-log-slower-than, newest first, bounded by slowlog-max-len; args shaped and passwords redacted", async () => {
    const db = freshDb("slow");
    expect(await cmd(db, "master", "CONFIG", "GET", "slowlog-*")).toEqual(["slowlog-log-slower-than", "10000", "slowlog-max-len", "128"]);
    expect(await cmd(db, "master", "SLOWLOG", "LEN")).toBe(0);
    await cmd(db, "master", "CONFIG", "SET", "slowlog-log-slower-than", "0");
    await cmd(db, "master", "SET", "k", "v".repeat(200));
    await cmd(db, "master", "RPUSH", "l", ...Array.from({ length: 40 }, (_, i) => String(i)));
    await cmd(db, "master", "CONFIG", "SET", "masterauth", "s3cret");
    const entries = (await cmd(db, "master", "SLOWLOG", "GET", "3")) as unknown[][];
    expect(entries).toHaveLength(3);
    const [configSet, rpush, set] = entries;
    // Newest first, ids increasing with age going down.
    expect((configSet![0] as number) > (rpush![0] as number) && (rpush![0] as number) > (set![0] as number)).toBe(true);
    expect(configSet![3]).toEqual(["CONFIG", "SET", "masterauth", "(redacted)"]);
    const rpushArgs = rpush![3] as string[];
    expect(rpushArgs).toHaveLength(32);
    expect(rpushArgs[31]).toBe("... (11 more arguments)");
    expect((set![3] as string[])[2]).toBe("v".repeat(128) + "... (72 more bytes)");
    expect(typeof set![2]).toBe("number");
    expect(Math.abs((set![1] as number) - Date.now() / 1000)).toBeLessThan(60);
    await cmd(db, "master", "CONFIG", "SET", "slowlog-max-len", "2");
    expect(await cmd(db, "master", "SLOWLOG", "LEN")).toBe(2);
    expect(((await cmd(db, "master", "SLOWLOG", "GET", "-1")) as unknown[]).length).toBe(2);
    await cmd(db, "master", "CONFIG", "SET", "slowlog-log-slower-than", "-1");
    expect(await cmd(db, "master", "SLOWLOG", "RESET")).toBe("OK");
    await cmd(db, "master", "SET", "k", "v");
    expect(await cmd(db, "master", "SLOWLOG", "LEN")).toBe(0);
    expect(await err(cmd(db, "master", "SLOWLOG", "GET", "-2"))).toBe("ERR count should be greater than or equal to -1");
    expect(await err(cmd(db, "master", "SLOWLOG", "GET", "x"))).toBe("ERR count should be greater than or equal to -1");
    expect(await err(cmd(db, "master", "SLOWLOG", "GET", "1", "2"))).toBe("ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.");
    expect(await err(cmd(db, "master", "SLOWLOG", "LEN", "x"))).toBe("ERR wrong number of arguments for 'slowlog|len' command");
    expect(await err(cmd(db, "master", "SLOWLOG", "FOO"))).toBe("ERR unknown subcommand 'FOO'. Try SLOWLOG HELP.");
    expect(await err(cmd(db, "master", "CONFIG", "SET", "slowlog-log-slower-than", "-2"))).toMatch(/^ERR CONFIG SET failed .*argument must be between -1 and/);
  });

  it("MULTI, WATCH and a script's commands are logged too (EXEC is not), as redis-server 7.0.15", async () => {
    const db = freshDb("slowtx");
    await cmd(db, "master", "CONFIG", "SET", "slowlog-log-slower-than", "0");
    const res = await openResp(`/db/${db}/nodes/master/ws`);
    res.sendAll(["SLOWLOG", "RESET"], ["WATCH", "w"], ["MULTI"], ["SET", "a", "1"], ["EXEC"], ["EVAL", "redis.call('set','b','2') return 1", "0"]);
    await res.expect("+OK\r\n+OK\r\n+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n:1\r\n");
    res.close();
    const entries = (await cmd(db, "master", "SLOWLOG", "GET", "-1")) as unknown[][];
    const shown = entries.map((e) => `${(e[3] as string[]).join(" ")} @${e[4]}`).reverse();
    expect(shown.slice(1, 6).map((l) => l.replace(/@(?!\?:0).*$/, "@client"))).toEqual([
      "WATCH w @client",
      "MULTI @client",
      "SET a 1 @client",
      "set b 2 @?:0",
      "EVAL redis.call('set','b','2') return 1 0 @client",
    ]);
  });

  it("a run of SETs taken together is logged command by command (threshold 0)", async () => {
    const db = freshDb("slowrun");
    await cmd(db, "master", "CONFIG", "SET", "slowlog-log-slower-than", "0");
    await cmd(db, "master", "SLOWLOG", "RESET");
    const res = await openResp(`/db/${db}/nodes/master/ws`);
    res.sendAll(["SET", "a", "1"], ["SET", "b", "2"], ["SET", "c", "3"], ["PING"]);
    await res.expect("+OK\r\n+OK\r\n+OK\r\n+PONG\r\n");
    res.close();
    const names = ((await cmd(db, "master", "SLOWLOG", "GET", "-1")) as string[][][]).map((e) => e[3]!.join(" "));
    expect(names).toEqual(expect.arrayContaining(["SET a 1", "SET b 2", "SET c 3", "PING"]));
    expect(names.indexOf("SET c 3")).toBeLessThan(names.indexOf("SET a 1"));
  });
});

describe("CONFIG, CLIENT, COMMAND, cluster commands", () => {
  it("CONFIG GET reports maxmemory, maxmemory-policy, notify-keyspace-events, timeout as they are here; SET takes only those values", async () => {
    const db = freshDb("cfg");
    expect(await cmd(db, "master", "CONFIG", "GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "noeviction"]);
    expect(await cmd(db, "master", "CONFIG", "GET", "maxmemory", "notify-keyspace-events", "timeout")).toEqual(["maxmemory", "0", "notify-keyspace-events", "", "timeout", "0"]);
    expect(await cmd(db, "master", "CONFIG", "SET", "maxmemory-policy", "noeviction")).toBe("OK");
    expect(await cmd(db, "master", "CONFIG", "SET", "notify-keyspace-events", "")).toBe("OK");
    expect(await err(cmd(db, "master", "CONFIG", "SET", "maxmemory-policy", "allkeys-lru"))).toBe(
      "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - keys are never evicted",
    );
    expect(await err(cmd(db, "master", "CONFIG", "SET", "notify-keyspace-events", "KEA"))).toMatch(/keyspace notifications are not supported$/);
    // Memory parameters: Redis's own text for a value that is not a memory value.
    expect(await err(cmd(db, "master", "CONFIG", "SET", "repl-backlog-size", "abc"))).toBe(
      "ERR CONFIG SET failed (possibly related to argument 'repl-backlog-size') - argument must be a memory value",
    );
    expect(await err(cmd(db, "master", "CONFIG", "SET", "repl-backlog-size", "2gb"))).toBe(
      "ERR CONFIG SET failed (possibly related to argument 'repl-backlog-size') - argument must be between 16384 and 1073741824 inclusive",
    );
    expect(await err(cmd(db, "master", "CONFIG", "SET", "hash-max-listpack-value", "-5"))).toMatch(/argument must be a memory value$/);
    expect(await err(cmd(db, "master", "CONFIG", "SET", "repl-timeout", "abc"))).toMatch(/argument couldn't be parsed into an integer$/);
    const help = (await cmd(db, "master", "CONFIG", "HELP")) as string[];
    expect(help[0]).toBe("CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    expect(help.at(-2)).toBe("HELP");
  });

  it("CLIENT: HELP, tracking off and its queries, KILL USER and LADDR", async () => {
    const db = freshDb("cli");
    const help = (await cmd(db, "master", "CLIENT", "HELP")) as string[];
    expect(help[0]).toBe("CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    expect(help).toContain("TRACKINGINFO");
    expect(await cmd(db, "master", "CLIENT", "TRACKING", "off")).toBe("OK");
    expect(await err(cmd(db, "master", "CLIENT", "TRACKING", "on"))).toMatch(/^ERR server assisted client side caching/);
    expect(await err(cmd(db, "master", "CLIENT", "TRACKING", "maybe"))).toBe("ERR syntax error");
    expect(await cmd(db, "master", "CLIENT", "GETREDIR")).toBe(-1);
    expect(await cmd(db, "master", "CLIENT", "TRACKINGINFO")).toEqual(["flags", ["off"], "redirect", -1, "prefixes", []]);
    expect(await err(cmd(db, "master", "CLIENT", "CACHING", "yes"))).toBe(
      "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
    );
    expect(await err(cmd(db, "master", "CLIENT", "TRACKING", "off", "foo"))).toBe("ERR syntax error");
    expect(await err(cmd(db, "master", "CLIENT", "TRACKING", "off", "REDIRECT", "99999"))).toBe("ERR The client ID you want redirect to does not exist");
    expect(await cmd(db, "master", "CLIENT", "TRACKING", "off", "BCAST", "PREFIX", "a", "NOLOOP")).toBe("OK");
    expect(await err(cmd(db, "master", "CLIENT", "KILL"))).toBe("ERR wrong number of arguments for 'client|kill' command");
    expect(await cmd(db, "master", "CLIENT", "KILL", "USER", "default", "LADDR", "1.2.3.4:5")).toBe(0);
    expect(await err(cmd(db, "master", "CLIENT", "KILL", "USER", "nosuchuser"))).toBe("ERR No such user 'nosuchuser'");
  });

  it("CLIENT PAUSE WRITE: writes and EVAL wait, reads run; UNPAUSE releases them in order", async () => {
    const db = freshDb("pause");
    await cmd(db, "master", "SET", "k", "old");
    const writer = await openResp(`/db/${db}/nodes/master/ws`);
    expect(await cmd(db, "master", "CLIENT", "PAUSE", "600000", "WRITE")).toBe("OK");
    writer.sendAll(["SET", "k", "new"], ["EVAL", "return redis.call('incr', 'n')", "0"], ["GET", "k"]);
    // Reads from other clients run; the writes have not.
    expect(await cmd(db, "master", "GET", "k")).toBe("old");
    expect(await cmd(db, "master", "EXISTS", "n")).toBe(0);
    expect(String(await cmd(db, "master", "INFO", "replication"))).toContain("role:master");
    expect(await cmd(db, "master", "CLIENT", "UNPAUSE")).toBe("OK");
    await writer.expect("+OK\r\n:1\r\n$3\r\nnew\r\n");
    writer.close();
    expect(await cmd(db, "master", "GET", "k")).toBe("new");
  });

  it("CLIENT PAUSE ALL: every client command waits until the pause ends; errors as redis-server 7.0.15", async () => {
    const db = freshDb("pauseall");
    const t0 = Date.now();
    expect(await cmd(db, "master", "CLIENT", "PAUSE", "300")).toBe("OK"); // ALL is the default
    expect(await cmd(db, "master", "PING")).toBe("PONG");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(await err(cmd(db, "master", "CLIENT", "PAUSE", "x"))).toBe("ERR timeout is not an integer or out of range");
    expect(await err(cmd(db, "master", "CLIENT", "PAUSE", "-1"))).toBe("ERR timeout is negative");
    expect(await err(cmd(db, "master", "CLIENT", "PAUSE", "10", "foo"))).toBe("ERR CLIENT PAUSE mode must be WRITE or ALL");
    expect(await err(cmd(db, "master", "CLIENT", "PAUSE", "10", "write", "extra"))).toBe(
      "ERR unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP.",
    );
    expect(await err(cmd(db, "master", "CLIENT", "PAUSE"))).toBe("ERR wrong number of arguments for 'client|pause' command");
    expect(await err(cmd(db, "master", "CLIENT", "UNPAUSE", "x"))).toBe("ERR wrong number of arguments for 'client|unpause' command");
  });

  it("COMMAND: HELP, LIST FILTERBY PATTERN / MODULE / ACLCAT", async () => {
    const db = freshDb("cmd");
    // Names match without case, as Redis matches them.
    expect(((await cmd(db, "master", "COMMAND", "LIST", "FILTERBY", "PATTERN", "PF*")) as string[]).sort()).toEqual(
      ((await cmd(db, "master", "COMMAND", "LIST", "FILTERBY", "PATTERN", "pf*")) as string[]).sort(),
    );
    const pf = ((await cmd(db, "master", "COMMAND", "LIST", "FILTERBY", "PATTERN", "pf*")) as string[]).sort();
    expect(pf).toEqual(expect.arrayContaining(["pfadd", "pfcount", "pfmerge"]));
    expect(pf.every((n) => n.startsWith("pf"))).toBe(true);
    expect(await cmd(db, "master", "COMMAND", "LIST", "FILTERBY", "MODULE", "x")).toEqual([]);
    const blocking = (await cmd(db, "master", "COMMAND", "LIST", "FILTERBY", "ACLCAT", "blocking")) as string[];
    expect(blocking).toEqual(expect.arrayContaining(["blpop", "brpop", "bzpopmin"]));
    expect(blocking).not.toContain("lpop");
    expect(await err(cmd(db, "master", "COMMAND", "LIST", "FILTERBY", "FOO", "x"))).toBe("ERR syntax error");
    expect(await cmd(db, "master", "COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch")).toEqual([]); // as Redis: no such category
    expect(((await cmd(db, "master", "COMMAND", "HELP")) as string[])[0]).toBe("COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
  });

  it("CLUSTER, READONLY, READWRITE, ASKING: cluster support disabled; LATENCY and MODULE as a server without them", async () => {
    const db = freshDb("clu");
    for (const c of [["CLUSTER", "INFO"], ["READONLY"], ["READWRITE"], ["ASKING"]]) {
      expect(await err(cmd(db, "master", ...c))).toBe("ERR This instance has cluster support disabled");
    }
    expect(await err(cmd(db, "master", "CLUSTER"))).toBe("ERR wrong number of arguments for 'cluster' command");
    // Not a CLUSTER subcommand at all: unknown, and not counted (a client's words must not grow INFO commandstats).
    expect(await err(cmd(db, "master", "CLUSTER", "aaa"))).toBe("ERR unknown subcommand 'aaa'. Try CLUSTER HELP.");
    expect(String(await cmd(db, "master", "INFO", "commandstats"))).not.toContain("cluster|aaa");
    expect(await cmd(db, "master", "LATENCY", "LATEST")).toEqual([]);
    expect(await cmd(db, "master", "LATENCY", "HISTORY", "command")).toEqual([]);
    expect(await cmd(db, "master", "MODULE", "LIST")).toEqual([]);
    expect(await err(cmd(db, "master", "MODULE", "LOAD", "/x.so"))).toMatch(/^ERR modules are not supported/);
  });

  it("WAIT takes any int64 count and timeout; a timeout past a timer's range waits (it returned at once)", async () => {
    const db = freshDb("wait");
    expect(await cmd(db, "master", "WAIT", "9223372036854775807", "1")).toBe(0);
    expect(await cmd(db, "master", "WAIT", "0", "9223372036854775807")).toBe(0);
    const res = await openResp(`/db/${db}/nodes/master/ws`);
    res.send("CLIENT", "ID");
    const id = (await res.line()).slice(1);
    res.send("WAIT", "1", "3000000000");
    await until("WAIT blocked", async () => String(await cmd(db, "master", "INFO", "clients")).includes("blocked_clients:1"));
    expect(await cmd(db, "master", "CLIENT", "UNBLOCK", id, "TIMEOUT")).toBe(1);
    await res.expect(":0\r\n");
    res.close();
  });

  it("RESET ends the connection's MULTI and WATCH and turns CLIENT REPLY back on, as redis-server 7.0.15", async () => {
    const db = freshDb("reset");
    const res = await openResp(`/db/${db}/nodes/master/ws`);
    res.sendAll(["DEL", "x"], ["MULTI"], ["SET", "x", "1"], ["RESET"], ["GET", "x"], ["EXEC"]);
    await res.expect(":0\r\n+OK\r\n+QUEUED\r\n+RESET\r\n$-1\r\n-ERR EXEC without MULTI\r\n");
    res.sendAll(["SET", "w", "1"], ["WATCH", "w"], ["RESET"]);
    await res.expect("+OK\r\n+OK\r\n+RESET\r\n");
    await cmd(db, "master", "SET", "w", "2");
    res.sendAll(["MULTI"], ["PING"], ["EXEC"]);
    await res.expect("+OK\r\n+QUEUED\r\n*1\r\n+PONG\r\n");
    res.sendAll(["CLIENT", "REPLY", "OFF"], ["RESET"], ["PING"]);
    await res.expect("+RESET\r\n+PONG\r\n");
    // A SKIP already applying to the RESET still applies to it.
    res.sendAll(["CLIENT", "REPLY", "SKIP"], ["RESET"], ["PING"]);
    await res.expect("+PONG\r\n");
    res.close();
  });

  it("/multi-exec refuses commands that need a connection (SUBSCRIBE, MONITOR…) before anything runs: one item per command stays true", async () => {
    const db = freshDb("mxsub");
    for (const [body, n, name] of [
      [[["subscribe", "c"], ["set", "m9", "1"]], 1, "subscribe"],
      [[["set", "m9", "1"], ["psubscribe", "x*"], ["get", "m9"]], 2, "psubscribe"],
      [[["monitor"], ["ping"]], 1, "monitor"],
    ] as const) {
      const res = await SELF.fetch(`https://example.com/db/${db}/multi-exec`, { method: "POST", headers: { authorization: "Bearer test-token" }, body: JSON.stringify(body) });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe(`ERR command ${n}: '${name}' is not available over REST`);
    }
    expect(await cmd(db, "master", "EXISTS", "m9")).toBe(0);
  });

  it("INFO of a replica whose link was never up: master_link_down_since_seconds:-1, as redis-server 7.0.15", async () => {
    const db = freshDb("down");
    // Nothing listens on port 1: the link never comes up.
    expect(await cmd(db, "r9", "REPLICAOF", "127.0.0.1", "1")).toBe("OK");
    try {
      const text = String(await cmd(db, "r9", "INFO", "replication"));
      expect(text).toContain("master_link_status:down");
      expect(text).toContain("master_link_down_since_seconds:-1");
    } finally {
      expect(await cmd(db, "r9", "REPLICAOF", "NO", "ONE")).toBe("OK");
    }
  });

  it("a script's {big_number=…}: `(` under RESP3, a bulk string under RESP2", async () => {
    const db = freshDb("big");
    const res = await openResp(`/db/${db}/nodes/master/ws`);
    res.send("EVAL", "return {big_number='123'}", "0");
    await res.expect("$3\r\n123\r\n");
    res.sendAll(["HELLO", "3"], ["PING"]); // one frame: the test pool may reorder frames sent back to back
    await res.skipTo("+PONG"); // the HELLO map's bytes vary; PING's reply ends it
    await res.expect("+PONG\r\n");
    res.send("EVAL", "return {big_number='123'}", "0");
    await res.expect("(123\r\n");
    res.send("EVAL", "return {big_number='1\\r\\n2'}", "0");
    await res.expect("(1  2\r\n");
    res.close();
  });
});
