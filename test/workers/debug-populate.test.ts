/**
 * DEBUG POPULATE count [prefix] [size] (node/populate.ts): Redis 7.0.15's keys, values and
 * errors; keys already there left alone; written as replicated SET NX, so a replica converges;
 * the work yields between slices, so other commands answer while it runs.
 */
import { afterAll, describe, expect, it } from "vitest";
import { parsePopulate, populateValue } from "../../src/node/populate.ts";
import { cmd, CommandError, digest, freshDb, info, pipeline, releaseReplicas, until } from "./nodes.ts";

afterAll(releaseReplicas);

describe("DEBUG POPULATE", () => {
  it("writes key:<n> = value:<n>, or the prefix and size asked (zero-filled, as redis-server); keys already there stay", async () => {
    const db = freshDb("pop");
    await cmd(db, "master", "SET", "key:5", "mine");
    await cmd(db, "master", "RPUSH", "key:6", "x");
    expect(await cmd(db, "master", "DEBUG", "POPULATE", "100")).toBe("OK");
    expect(await cmd(db, "master", "DBSIZE")).toBe(100);
    expect(await cmd(db, "master", "GET", "key:99")).toBe("value:99");
    expect(await cmd(db, "master", "GET", "key:5")).toBe("mine");
    expect(await cmd(db, "master", "TYPE", "key:6")).toBe("list");
    expect(await cmd(db, "master", "DEBUG", "POPULATE", "3", "q", "4")).toBe("OK");
    expect(await cmd(db, "master", "GET", "q:2")).toBe("valu");
    expect(await cmd(db, "master", "DEBUG", "POPULATE", "10", "p", "12")).toBe("OK");
    expect(await cmd(db, "master", "GET", "p:3")).toBe("value:3\u0000\u0000\u0000\u0000\u0000");
    // Into the session's database.
    expect(await pipeline(db, "master", [["SELECT", "2"], ["DEBUG", "POPULATE", "5"], ["DBSIZE"]])).toEqual(["OK", "OK", 5]);
    expect(await cmd(db, "master", "DBSIZE")).toBe(103 + 10);
  });

  it("answers Redis's errors, our bounds, and READONLY on a replica; inside MULTI it is refused", async () => {
    const db = freshDb("pop");
    const err = (...a: string[]) => cmd(db, "master", "DEBUG", ...a).then(() => "no error", (e: CommandError) => e.message);
    expect(await err("POPULATE", "-1")).toBe("ERR value is out of range, must be positive");
    expect(await err("POPULATE", "1", "k", "-5")).toBe("ERR value is out of range, must be positive");
    expect(await err("POPULATE")).toBe("ERR unknown subcommand or wrong number of arguments for 'POPULATE'. Try DEBUG HELP.");
    expect(await err("populate", "1", "a", "b", "c")).toBe("ERR unknown subcommand or wrong number of arguments for 'populate'. Try DEBUG HELP.");
    expect(await err("POPULATE", "10000001")).toMatch(/at most 10000000 keys/);
    expect(await err("POPULATE", "1000", "k", "2000000")).toMatch(/at most 1073741824 bytes/);
    expect(await cmd(db, "master", "DBSIZE")).toBe(0);
    const r = await pipeline(db, "master", [["MULTI"], ["DEBUG", "POPULATE", "5"], ["EXEC"]]);
    expect(JSON.stringify(r[2])).toMatch(/not allowed inside MULTI/);
    expect(await cmd(db, "r1", "REPLICAOF", "master")).toBe("OK");
    expect(await cmd(db, "r1", "DEBUG", "POPULATE", "5").catch((e: Error) => e.message)).toMatch(/^READONLY/);
  });

  it("is replicated: a replica converges (DEBUG DIGEST equal)", async () => {
    const db = freshDb("pop");
    await cmd(db, "master", "SET", "seed", "1");
    expect(await cmd(db, "r1", "REPLICAOF", "master")).toBe("OK");
    await until("r1 linked", async () => (await info(db, "r1")).master_link_status === "up");
    expect(await cmd(db, "master", "DEBUG", "POPULATE", "2000", "key", "32")).toBe("OK");
    expect(await cmd(db, "master", "WAIT", 1, 20_000)).toBe(1);
    expect(await cmd(db, "r1", "DBSIZE")).toBe(2001);
    expect(await digest(db, "r1")).toBe(await digest(db, "master"));
  });

  it("yields between slices: other commands answer while it runs", async () => {
    const db = freshDb("pop");
    const big = cmd(db, "master", "DEBUG", "POPULATE", "40000");
    // The first DBSIZE that finds keys is answered between two slices, before the last one.
    let seen = 0;
    await until("the populate started", async () => (seen = Number(await cmd(db, "master", "DBSIZE"))) > 0);
    expect(seen).toBeLessThan(40000);
    expect(await big).toBe("OK");
    expect(await cmd(db, "master", "DBSIZE")).toBe(40000);
  }, 60_000);
});

describe("populate's parts", () => {
  it("parses as Redis with our bounds; values as redis-server writes them", () => {
    expect(parsePopulate(["3"])).toEqual({ count: 3, prefix: "key", size: 0 });
    expect(parsePopulate(["0", "p", "0"])).toEqual({ count: 0, prefix: "p", size: 0 });
    expect(parsePopulate(["1.5"])).toBe("ERR value is out of range, must be positive");
    expect(parsePopulate(["99999999999999999"])).toBe("ERR value is out of range, must be positive");
    // A value is allocated before its SET: never past what a SET takes.
    expect(parsePopulate(["1", "k", String(1024 * 1024 * 1024)])).toBe(`ERR DEBUG POPULATE values are at most ${16 * 1024 * 1024} bytes`);
    expect(new TextDecoder().decode(populateValue(12, 0))).toBe("value:12");
    expect([...populateValue(1, 9)]).toEqual([...new TextEncoder().encode("value:1"), 0, 0]);
    expect(new TextDecoder().decode(populateValue(123, 3))).toBe("val");
  });
});
