/**
 * INFO stats counters that used to be fixed at 0: keyspace_hits / keyspace_misses (read
 * lookups, as Redis's lookupKeyRead counts them), total_connections_received and
 * instantaneous_ops_per_sec; and CONFIG RESETSTAT, which used to answer OK without resetting
 * anything.
 */
import { describe, expect, it } from "vitest";
import { H_DB, H_NODE, NODE_ORIGIN } from "../../src/http/node-protocol.ts";
import { Verbatim } from "../../src/protocol/reply.ts";
import { withEngine } from "./harness.ts";
import { cmd, freshDb, info, pipeline, stub } from "./nodes.ts";

const stats = async (db: string) => info(db, "master", "stats");
const hitsMisses = async (db: string) => {
  const s = await stats(db);
  return [Number(s.keyspace_hits), Number(s.keyspace_misses)];
};

describe("INFO stats", () => {
  it("keyspace_hits / keyspace_misses count read lookups: single commands, runs of GETs, MGET; writes and walks count nothing", async () => {
    const db = freshDb("st");
    await pipeline(db, "master", [
      ["SET", "a", "1"],
      ["SET", "b", "2"],
      ["RPUSH", "l", "x"],
      ["HSET", "h", "f", "v"],
      ["INCR", "n"],
      ["DEL", "nothing"],
      ["SET", "x", "1", "PX", "1"],
    ]);
    expect(await hitsMisses(db)).toEqual([0, 0]); // writes look keys up for writing: not counted
    expect(await cmd(db, "master", "GET", "a")).toBe("1");
    expect(await cmd(db, "master", "GET", "zz")).toBe(null);
    expect(await hitsMisses(db)).toEqual([1, 1]);
    // A run of GETs takes the many-keys path: 3 found (one of them a list: WRONGTYPE, still a hit), 2 not.
    const r = await pipeline(db, "master", [["GET", "a"], ["GET", "b"], ["GET", "m1"], ["GET", "l"], ["GET", "m2"]]);
    expect(r.slice(0, 3)).toEqual(["1", "2", null]);
    expect(await hitsMisses(db)).toEqual([4, 3]);
    await cmd(db, "master", "MGET", "a", "m3", "b");
    expect(await hitsMisses(db)).toEqual([6, 4]);
    await cmd(db, "master", "EXISTS", "a", "m4");
    await cmd(db, "master", "TYPE", "h");
    await cmd(db, "master", "HGET", "nohash", "f");
    expect(await hitsMisses(db)).toEqual([8, 6]);
    // The key with PX 1 has expired by now: reading it is a miss.
    await new Promise((res) => setTimeout(res, 5));
    expect(await cmd(db, "master", "GET", "x")).toBe(null);
    expect(await hitsMisses(db)).toEqual([8, 7]);
    await cmd(db, "master", "SCAN", "0", "COUNT", "100");
    await cmd(db, "master", "RANDOMKEY");
    await cmd(db, "master", "DBSIZE");
    expect(await hitsMisses(db)).toEqual([8, 7]);
  });

  it("total_connections_received counts REST requests and WebSocket connections", async () => {
    const db = freshDb("st");
    const before = Number((await stats(db)).total_connections_received);
    expect(before).toBeGreaterThanOrEqual(1); // the INFO request itself
    await cmd(db, "master", "PING");
    await cmd(db, "master", "PING");
    expect(Number((await stats(db)).total_connections_received)).toBe(before + 3);
    const res = await stub(db, "master").fetch(new Request(`${NODE_ORIGIN}/ws`, { headers: { Upgrade: "websocket", [H_DB]: db, [H_NODE]: "master" } }));
    expect(res.status).toBe(101);
    res.webSocket!.accept();
    res.webSocket!.close(1000, "done");
    expect(Number((await stats(db)).total_connections_received)).toBe(before + 5);
  });

  it("CONFIG RESETSTAT resets the counters (commands, hits, misses, errors, commandstats, connections, syncs)", async () => {
    const db = freshDb("st");
    await cmd(db, "master", "SET", "a", "1");
    await cmd(db, "master", "GET", "a");
    await cmd(db, "master", "GET", "b");
    await cmd(db, "master", "INCR", "a", "b").catch(() => null); // an error: wrong arity
    const s0 = await stats(db);
    expect(Number(s0.total_commands_processed)).toBeGreaterThan(3);
    expect(Number(s0.total_error_replies)).toBe(1);
    expect(await cmd(db, "master", "CONFIG", "RESETSTAT")).toBe("OK");
    const s = await stats(db);
    // The INFO that reads them counts as a command and as a connection, as in Redis.
    expect(Number(s.total_commands_processed)).toBe(1);
    expect(Number(s.total_connections_received)).toBe(1);
    expect([s.keyspace_hits, s.keyspace_misses, s.total_error_replies, s.expired_keys, s.sync_full]).toEqual(["0", "0", "0", "0", "0"]);
    const cs = (await cmd(db, "master", "INFO", "commandstats")) as string;
    expect(cs).not.toMatch(/cmdstat_set:/);
    expect(cs).toMatch(/cmdstat_info:calls=2/);
    expect((await cmd(db, "master", "INFO", "errorstats")) as string).not.toMatch(/errorstat_ERR/);
    await expect(cmd(db, "master", "CONFIG", "RESETSTAT", "x")).rejects.toThrow(/wrong number of arguments/);
  });

  it("INFO commandstats counts calls, usec, rejected and failed calls as redis-server 7.0.15 does", async () => {
    const db = freshDb("cs");
    await pipeline(db, "master", [
      ["SET", "a", "1"],
      ["GET", "a"],
      ["INCR", "a", "b"], // rejected: arity
      ["SET", "s", "x"],
      ["INCR", "s"], // failed: not an integer
      ["HGET", "a", "f"], // failed: WRONGTYPE
      ["SET", "onlykey"], // rejected
      ["MULTI"],
      ["INCR", "a", "b"], // rejected as it is queued
      ["EXEC"], // failed: EXECABORT
      ["CLIENT", "ID"], // counted per subcommand: client|id
      ["CONFIG", "GET", "maxmemory"],
      ["CLIENT", "NOSUCHSUB"], // an unknown subcommand: not counted at all
      ["CLIENT", "NOSUCHSUB2"],
    ]);
    const lines = ((await cmd(db, "master", "INFO", "commandstats")) as string).split("\r\n").filter((l) => l.startsWith("cmdstat_"));
    const stat = new Map(lines.map((l) => [l.slice(8, l.indexOf(":")), Object.fromEntries(l.slice(l.indexOf(":") + 1).split(",").map((kv) => kv.split("=")))]));
    // What redis-server 7.0.15 answered for the same commands (its usec aside).
    const counts = (c: string) => {
      const v = stat.get(c)!;
      return [Number(v.calls), Number(v.rejected_calls), Number(v.failed_calls)];
    };
    expect(counts("set")).toEqual([2, 1, 0]);
    expect(counts("get")).toEqual([1, 0, 0]);
    expect(counts("hget")).toEqual([1, 0, 1]);
    expect(counts("incr")).toEqual([1, 2, 1]);
    expect(counts("exec")).toEqual([1, 0, 1]);
    expect(counts("multi")).toEqual([1, 0, 0]);
    expect(counts("client|id")).toEqual([1, 0, 0]);
    expect(counts("config|get")).toEqual([1, 0, 0]);
    expect([...stat.keys()].filter((k) => k.startsWith("client") || k.startsWith("config")).sort()).toEqual(["client|id", "config|get"]);
    for (const v of stat.values()) {
      expect(Number(v.usec)).toBeGreaterThanOrEqual(0);
      expect(v.usec_per_call).toBe((Number(v.calls) > 0 ? Number(v.usec) / Number(v.calls) : 0).toFixed(2));
    }
  });

  it("INFO stats lists its fields in redis-server's order, the node's own after them", async () => {
    const db = freshDb("st");
    const text = (await cmd(db, "master", "INFO", "stats")) as string;
    const names = text.split("\r\n").filter((l) => l.includes(":")).map((l) => l.slice(0, l.indexOf(":")));
    expect(names.slice(0, 3)).toEqual(["total_connections_received", "total_commands_processed", "instantaneous_ops_per_sec"]);
    const order = ["rejected_connections", "sync_full", "sync_partial_ok", "sync_partial_err", "expired_keys", "evicted_keys", "keyspace_hits", "keyspace_misses", "pubsub_channels", "pubsub_patterns", "pubsubshard_channels"];
    expect(names.filter((n) => order.includes(n))).toEqual(order);
    expect(names.indexOf("repl_stream_frames_sent")).toBeGreaterThan(names.indexOf("total_error_replies"));
    expect(new Set(names).size).toBe(names.length);
  });

  it("INFO memory counts the cached scripts and their bytes", async () => {
    const db = freshDb("st");
    const mem = async () => {
      const m = await info(db, "master", "memory");
      return [Number(m.number_of_cached_scripts), Number(m.used_memory_scripts)];
    };
    expect(await mem()).toEqual([0, 0]);
    await cmd(db, "master", "SCRIPT", "LOAD", "return 1");
    await cmd(db, "master", "EVAL", "return redis.call('get', KEYS[1])", 1, "k");
    expect(await mem()).toEqual([2, "return 1".length + "return redis.call('get', KEYS[1])".length]);
    await cmd(db, "master", "SCRIPT", "FLUSH");
    expect(await mem()).toEqual([0, 0]);
  });

  it("instantaneous_ops_per_sec follows the command rate (engine clock)", async () => {
    await withEngine((h) => {
      const ops = () => {
        const r = h.run("INFO", "stats");
        expect(r).toBeInstanceOf(Verbatim);
        return Number(/instantaneous_ops_per_sec:(\d+)/.exec((r as Verbatim).text)![1]);
      };
      let t = 1_000_000;
      h.setNow(t);
      expect(ops()).toBe(0);
      // 50 commands every 10 ms for 2 s: 5,000 a second (the INFO calls add a few).
      for (let i = 0; i < 200; i++) {
        for (let j = 0; j < 50; j++) h.run("SET", "k", "v");
        t += 10;
        h.setNow(t);
      }
      const busy = ops();
      expect(busy).toBeGreaterThanOrEqual(4900);
      expect(busy).toBeLessThanOrEqual(5100);
      // 10 s with nothing: the rate falls to about nothing.
      t += 10_000;
      h.setNow(t);
      expect(ops()).toBeLessThanOrEqual(1);
    });
  });
});
