/**
 * OUTPUT_BYTES_MAX (limits.ts): the values a client's replies carry before they are sent are
 * counted as they are read (Keyspace.charge), and a command that would pass the limit is
 * refused before it reads or writes anything. A REST request's replies leave together, so they
 * share one budget; a socket sends as replies gather, so only one command's reply is bounded.
 * Without it, `MGET big big …` on a 16 MiB value made a reply bigger than the isolate.
 */
import { describe, expect, it } from "vitest";
import { OUTPUT_BYTES_MAX, VALUE_BYTES_MAX } from "../../src/limits.ts";
import { run, withEngine } from "./harness.ts";
import { cmd, CommandError, freshDb, pipeline } from "./nodes.ts";
import { openResp } from "./resp-socket.ts";

const REFUSED = `ERR reply exceeds the output limit of ${OUTPUT_BYTES_MAX} bytes (values not yet sent to the client)`;
const MiB = 1024 * 1024;

/** A string key of `mib` MiB, written in 1 MiB appends. */
async function bigString(db: string, key: string, mib: number): Promise<void> {
  await pipeline(db, "master", Array.from({ length: mib }, (_, i) => [i === 0 ? "SET" : "APPEND", key, String.fromCharCode(97 + i).repeat(MiB)]));
}

const refused = (r: unknown) => r instanceof CommandError && r.message === REFUSED;

describe("output bytes per request", () => {
  it("REST: MGET of a big value repeated is refused; a pipeline's later reads are refused once the budget is spent, its writes and small reads still run", async () => {
    const db = freshDb("outbytes");
    await bigString(db, "big", VALUE_BYTES_MAX / MiB);
    expect(await cmd(db, "master", "STRLEN", "big")).toBe(VALUE_BYTES_MAX);
    await expect(cmd(db, "master", "MGET", "big", "big", "big")).rejects.toThrow(REFUSED);
    // One 16 MiB value fits.
    expect(((await cmd(db, "master", "GET", "big")) as string).length).toBe(VALUE_BYTES_MAX);

    await cmd(db, "master", "SET", "small", "s");
    const r = await pipeline(db, "master", [
      ["GET", "big"],
      ["GET", "big"],
      ["GETDEL", "big"],
      ["SET", "after", "1"],
      ["GET", "small"],
      ["GETRANGE", "big", "0", "9"],
      ["GET", "big"],
    ]);
    expect((r[0] as string).length).toBe(VALUE_BYTES_MAX);
    expect(r.slice(1).map((x) => (refused(x) ? "refused" : x))).toEqual(["refused", "refused", "OK", "s", "aaaaaaaaaa", "refused"]);
    // The refused GETDEL changed nothing.
    expect(await cmd(db, "master", "STRLEN", "big")).toBe(VALUE_BYTES_MAX);
    // Runs of GETs (the engine's run path) are counted too.
    const gets = await pipeline(db, "master", [["GET", "small"], ["GET", "big"], ["GET", "big"], ["GET", "small"]]);
    expect(gets.map((x) => (refused(x) ? "refused" : typeof x === "string" ? x.length : x))).toEqual([1, VALUE_BYTES_MAX, "refused", 1]);
  }, 120_000);

  it("REST: whole-collection reads and repeated fields are counted; /multi-exec shares one budget", async () => {
    const db = freshDb("outbytes-coll");
    const field = "f".repeat(MiB);
    const n = OUTPUT_BYTES_MAX / MiB + 2;
    for (let i = 0; i < n; i += 4) {
      await pipeline(db, "master", [
        ["HSET", "h", ...Array.from({ length: 4 }, (_, j) => [`k${i + j}`, field]).flat()],
        ["RPUSH", "l", ...Array.from({ length: 4 }, () => field)],
      ]);
    }
    for (const c of [["HGETALL", "h"], ["HVALS", "h"], ["LRANGE", "l", "0", "-1"], ["HMGET", "h", ...Array(n).fill("k0")], ["SORT", "l", "BY", "nosort"]]) {
      await expect(cmd(db, "master", ...c), c[0]).rejects.toThrow(REFUSED);
    }
    expect(((await cmd(db, "master", "HKEYS", "h")) as string[]).length).toBeGreaterThanOrEqual(n);
    expect(((await cmd(db, "master", "LRANGE", "l", "0", "9")) as string[]).length).toBe(10);
    const tx = await pipeline(db, "master", [["MULTI"], ...Array.from({ length: n }, () => ["LINDEX", "l", "0"]), ["EXEC"]]);
    const exec = (tx[tx.length - 1] as unknown[]).map((x) => (typeof x === "string" && x.length === MiB ? "value" : x));
    expect(exec).toEqual([...Array(OUTPUT_BYTES_MAX / MiB).fill("value"), ...Array(2).fill({ error: REFUSED })]);
  }, 120_000);

  it("a socket sends replies as they gather: a pipeline of big GETs is answered in full, one reply past the limit is refused", async () => {
    const db = freshDb("outbytes-ws");
    await bigString(db, "v", 9);
    const s = await openResp(`/db/${db}/ws`);
    try {
      // 27 MiB of replies in one frame: more than OUTPUT_BYTES_MAX together, each well under it.
      s.sendAll(["GET", "v"], ["GET", "v"], ["GET", "v"], ["MGET", "v", "v", "v"], ["PING"]);
      for (let i = 0; i < 3; i++) expect((await s.bulkText()).length).toBe(9 * MiB);
      await s.expect(`-${REFUSED}\r\n`);
      await s.expect("+PONG\r\n");
    } finally {
      s.close();
    }
  }, 120_000);

  it("a script's calls share its budget; the replication stream and internal reads are never counted", async () => {
    await withEngine((h) => {
      run(h, "SET", "v", "x".repeat(8 * MiB));
      const loop = "local n = 0 for i = 1, 4 do n = n + #redis.call('GET', KEYS[1]) end return n";
      expect(run(h, "EVAL", loop, "1", "v")).toEqual({ err: expect.stringContaining(REFUSED) });
      expect(run(h, "EVAL", loop.replace("4", "2"), "1", "v")).toBe(16 * MiB);
      // Reads that are not replies (APPEND extends the value; MSET's values are arguments).
      const before = h.session.outputBytes;
      h.engine.execute(h.session, ["APPEND", "v", "y"].map((a) => new TextEncoder().encode(a)));
      expect(h.session.outputBytes).toBe(before);
      expect(h.engine.ks.outputLeft).toBe(Number.POSITIVE_INFINITY);
      // What a command read for its reply stays counted until the transport sends it.
      h.engine.execute(h.session, ["GETRANGE", "v", "0", "99"].map((a) => new TextEncoder().encode(a)));
      expect(h.session.outputBytes).toBe(before + 100);
    });
  });
});
