/**
 * Scripts and replication in the Workers runtime: a script's writes reach the replica as
 * effects, the script cache reaches it too (SCRIPT LOAD in the stream, and the whole cache
 * after a full sync), read-only scripts run on the replica, writing ones are refused there.
 */
import { describe, expect, it } from "vitest";
import { attach, cmd, commandError, converged, freshDb, info, restart } from "./nodes.ts";

const INCR2 = "redis.call('incr', KEYS[1]) redis.call('rpush', KEYS[2], ARGV[1]) return redis.call('get', KEYS[1])";
const READ = "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])";

const error = commandError;

describe("scripts and replication", () => {
  it("a script loaded before the replica attached reaches it with the full sync; EVALSHA_RO and EVAL_RO run on the replica", async () => {
    const db = freshDb("sr");
    const readSha = (await cmd(db, "master", "SCRIPT", "LOAD", READ)) as string;
    expect(await cmd(db, "master", "EVAL", INCR2, 2, "c", "l", "x")).toBe("1");
    await attach(db, "r1");
    expect(await cmd(db, "master", "EVAL", INCR2, 2, "c", "l", "y")).toBe("2");
    await converged(db, ["r1"]);
    expect(await cmd(db, "r1", "EVALSHA_RO", readSha, 1, "c")).toBe("2");
    expect(await cmd(db, "r1", "EVALSHA", readSha, 1, "c")).toBe("2");
    expect(await cmd(db, "r1", "EVAL_RO", "return redis.call('lrange', KEYS[1], 0, -1)", 1, "l")).toEqual(["x", "y"]);
    // Loaded after the link is up: travels as SCRIPT LOAD in the stream.
    const later = (await cmd(db, "master", "SCRIPT", "LOAD", "return 'later'")) as string;
    await converged(db, ["r1"]);
    expect(await cmd(db, "r1", "SCRIPT", "EXISTS", later, readSha)).toEqual([1, 1]);
    // Writing scripts are refused on the replica, with Redis's texts.
    expect(await error(cmd(db, "r1", "EVAL", "#!lua\nreturn redis.call('incr', 'c')", 0))).toBe("READONLY Can not run script with write flag on readonly replica");
    const sha = (await cmd(db, "master", "SCRIPT", "LOAD", "return redis.call('incr', 'c')")) as string;
    expect(await error(cmd(db, "r1", "EVAL", "return redis.call('incr', 'c')", 0))).toBe(
      `READONLY You can't write against a read only replica. script: ${sha}, on @user_script:1.`,
    );
    // The cache survives a restart of the replica.
    await restart(db, "r1");
    expect(await cmd(db, "r1", "EVALSHA_RO", readSha, 1, "c")).toBe("2");
    await converged(db, ["r1"]);
  });

  it("scripts run on a replica add nothing to its stream: its offset stays its master's, and a partial resync loses nothing", async () => {
    const db = freshDb("srof");
    await cmd(db, "master", "SET", "a", "1");
    await attach(db, "r1");
    await converged(db, ["r1"]);
    const offsets = async () => [(await info(db, "master")).master_repl_offset, (await info(db, "r1")).slave_repl_offset];
    const [m0] = await offsets();
    // A new script by EVAL_RO (cached: SCRIPT LOAD propagated on a master), SCRIPT LOAD, SCRIPT FLUSH.
    expect(await cmd(db, "r1", "EVAL_RO", "return redis.call('GET', KEYS[1])", 1, "a")).toBe("1");
    expect(typeof (await cmd(db, "r1", "SCRIPT", "LOAD", "return 1"))).toBe("string");
    expect(await cmd(db, "r1", "SCRIPT", "FLUSH")).toBe("OK");
    expect(await offsets()).toEqual([m0, m0]);
    // Writes the replica misses, then a partial resync: every one of them arrives.
    await cmd(db, "r1", "DEBUG", "REPL-PAUSE", 1);
    for (let i = 0; i < 10; i++) await cmd(db, "master", "SET", `k${i}`, `v${i}`);
    expect(await cmd(db, "r1", "CLIENT", "KILL", "TYPE", "master")).toBe(1);
    await cmd(db, "r1", "DEBUG", "REPL-PAUSE", 0);
    await converged(db, ["r1"]);
    expect(await cmd(db, "r1", "MGET", "k0", "k1", "k9")).toEqual(["v0", "v1", "v9"]);
  });

  it("function libraries: loaded before and after the replica attached, FCALL_RO on the replica, kept across restarts, FUNCTION DELETE propagated", async () => {
    const db = freshDb("fr");
    const lib = (name: string, fn: string, body: string, flags = "") =>
      `#!lua name=${name}\nredis.register_function{function_name='${fn}', callback=function(keys, args) ${body} end${flags ? `, flags={'${flags}'}` : ""}}`;
    expect(await cmd(db, "master", "FUNCTION", "LOAD", lib("counter", "bump", "return redis.call('incr', keys[1])"))).toBe("counter");
    expect(await cmd(db, "master", "FCALL", "bump", 1, "c")).toBe(1);
    await attach(db, "r1");
    expect(await cmd(db, "master", "FUNCTION", "LOAD", lib("reader", "peek", "return redis.call('get', keys[1])", "no-writes"))).toBe("reader");
    expect(await cmd(db, "master", "FCALL", "bump", 1, "c")).toBe(2);
    await converged(db, ["r1"]);
    expect(await cmd(db, "r1", "FCALL_RO", "peek", 1, "c")).toBe("2");
    expect(await error(cmd(db, "r1", "FCALL", "bump", 1, "c"))).toBe("READONLY Can not run script with write flag on readonly replica");
    expect(await error(cmd(db, "r1", "FUNCTION", "LOAD", lib("x", "y", "return 1")))).toBe("READONLY You can't write against a read only replica.");
    const names = async (node: string) => ((await cmd(db, node, "FUNCTION", "LIST")) as unknown[][]).map((l) => l[1]).sort();
    expect(await names("r1")).toEqual(["counter", "reader"]);
    // Libraries are data: they survive a restart of the master and of the replica.
    await restart(db, "master");
    expect(await cmd(db, "master", "FCALL", "bump", 1, "c")).toBe(3);
    await restart(db, "r1");
    await converged(db, ["r1"]);
    expect(await cmd(db, "r1", "FCALL_RO", "peek", 1, "c")).toBe("3");
    expect(await cmd(db, "master", "FUNCTION", "DELETE", "reader")).toBe("OK");
    await converged(db, ["r1"]);
    expect(await names("r1")).toEqual(["counter"]);
    expect(await error(cmd(db, "r1", "FCALL_RO", "peek", 1, "c"))).toBe("ERR Function not found");
  });
});
