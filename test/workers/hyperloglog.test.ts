/**
 * HyperLogLog commands in the engine (replies, error texts and replication forms as
 * redis-server 7.0.15 gives them) and a replica converging on them, the cached cardinality
 * that PFCOUNT writes included.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newSession } from "../../src/keyspace/command.ts";
import { Engine } from "../../src/keyspace/engine.ts";
import { HLL_DENSE_BYTES } from "../../src/keyspace/hyperloglog.ts";
import { VALUE_BYTES_MAX } from "../../src/limits.ts";
import type { Reply } from "../../src/protocol/reply.ts";
import { utf8 } from "../../src/util/bytes.ts";
import { countingSql, norm, run, stream, stubServices, withEngine } from "./harness.ts";
import { attach, cmd, converged, digest, freshDb, pipeline, waitReplicas } from "./nodes.ts";

const NOT_HLL = { err: "WRONGTYPE Key is not a valid HyperLogLog string value." };
const WRONGTYPE = { err: "WRONGTYPE Operation against a key holding the wrong kind of value" };
const CORRUPT = { err: "INVALIDOBJ Corrupted HLL object detected" };
const hexOf = (v: unknown) => Buffer.from(v as Uint8Array).toString("hex");

describe("PFADD / PFCOUNT / PFMERGE in the engine", () => {
  it("replies and the stored value as redis-server 7.0.15", async () => {
    await withEngine((h) => {
      expect(run(h, "pfadd", "k", "a", "b", "c")).toBe(1);
      expect(run(h, "pfadd", "k", "a")).toBe(0);
      expect(hexOf(h.run("get", "k"))).toBe("48594c4c01000000000000000000008060f38050b1844bfb80425a");
      expect(run(h, "pfcount", "k")).toBe(3);
      // The cardinality is cached in the value (bytes 8..15, little-endian, top bit clear).
      expect(hexOf(h.run("get", "k"))).toBe("48594c4c01000000030000000000000060f38050b1844bfb80425a");
      expect(run(h, "pfadd", "e")).toBe(1);
      expect(run(h, "pfadd", "e")).toBe(0);
      expect(run(h, "pfcount", "e")).toBe(0);
      expect(run(h, "pfcount", "nokey")).toBe(0);
      expect(run(h, "pfadd", "k2", "c", "d")).toBe(1);
      expect(run(h, "pfcount", "k", "k2", "nokey")).toBe(4);
      expect(run(h, "pfmerge", "m", "k", "k2")).toBe("+OK");
      expect(run(h, "pfcount", "m")).toBe(4);
      expect(run(h, "pfmerge", "fresh")).toBe("+OK");
      expect(run(h, "type", "fresh")).toBe("+string");
      expect(run(h, "pfcount", "fresh")).toBe(0);
    });
  });

  it("a sparse value turns dense past hll-sparse-max-bytes (3000): 12,304 bytes", async () => {
    await withEngine((h) => {
      const els = Array.from({ length: 3000 }, (_, i) => `el${i}`);
      expect(run(h, "pfadd", "k", ...els.slice(0, 1000))).toBe(1);
      const sparse = run(h, "strlen", "k") as number;
      expect(sparse).toBeLessThanOrEqual(3000);
      expect(run(h, "pfadd", "k", ...els.slice(1000))).toBe(1);
      expect(run(h, "strlen", "k")).toBe(HLL_DENSE_BYTES);
      expect((h.run("get", "k") as Uint8Array)[4]).toBe(0); // dense
      const n = run(h, "pfcount", "k") as number;
      expect(Math.abs(n - 3000)).toBeLessThan(60);
    });
  });

  it("errors: other types, strings that are not HLLs, corrupt sparse values; nothing changes", async () => {
    await withEngine((h) => {
      run(h, "rpush", "l", "x");
      run(h, "set", "s", "hello");
      expect(run(h, "pfadd", "l", "a")).toEqual(WRONGTYPE);
      expect(run(h, "pfcount", "l")).toEqual(WRONGTYPE);
      expect(run(h, "pfadd", "s", "a")).toEqual(NOT_HLL);
      expect(run(h, "pfcount", "s")).toEqual(NOT_HLL);
      expect(run(h, "pfcount", "nokey", "s")).toEqual(NOT_HLL);
      expect(run(h, "pfmerge", "d", "s")).toEqual(NOT_HLL);
      expect(run(h, "pfmerge", "s", "nokey")).toEqual(NOT_HLL);
      expect(run(h, "exists", "d")).toBe(0);
      // A sparse header with no opcodes: PFADD finds no register to raise.
      const empty = Uint8Array.from([0x48, 0x59, 0x4c, 0x4c, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80]);
      h.run("set", "c", empty);
      expect(run(h, "pfadd", "c", "a")).toEqual(CORRUPT);
      expect(run(h, "pfcount", "c")).toEqual(CORRUPT);
      expect(run(h, "pfcount", "c", "nokey")).toEqual(CORRUPT);
      expect(run(h, "pfmerge", "d", "c")).toEqual(CORRUPT);
      expect(hexOf(h.run("get", "c"))).toBe(hexOf(empty));
      expect(run(h, "exists", "d")).toBe(0);
      expect(run(h, "pfadd")).toEqual({ err: "ERR wrong number of arguments for 'pfadd' command" });
    });
  });

  it("replication forms: PFADD/PFMERGE verbatim when they changed something; PFCOUNT when it refreshed the cache", async () => {
    await withEngine((h) => {
      run(h, "pfadd", "k", "a", "b");
      run(h, "pfadd", "k", "a"); // no change: not propagated
      run(h, "pfcount", "k"); // stale cache: stored, propagated
      run(h, "pfcount", "k"); // cached: nothing
      run(h, "pfcount", "k", "nokey"); // several keys: never writes
      run(h, "pfmerge", "m", "k");
      run(h, "pfadd", "bad", "x");
      run(h, "set", "s", "v");
      run(h, "pfadd", "s", "x"); // error: nothing
      expect(stream(h)).toEqual([
        ["SELECT", "0"],
        ["pfadd", "k", "a", "b"],
        ["pfcount", "k"],
        ["pfmerge", "m", "k"],
        ["pfadd", "bad", "x"],
        ["set", "s", "v"],
      ]);
    });
  });

  it("inside a script, the PFCOUNT that refreshed the cache is among the script's effects", async () => {
    await withEngine((h) => {
      run(h, "pfadd", "k", "a", "b");
      const before = stream(h).length;
      expect(run(h, "eval", "return redis.call('pfcount', KEYS[1])", "1", "k")).toBe(2);
      const effects = stream(h).slice(before);
      expect(effects[0]).toEqual(["MULTI"]);
      expect(effects.at(-2)).toEqual(["pfcount", "k"]);
      expect(effects.at(-1)).toEqual(["EXEC"]);
    });
  });

  it("PFCOUNT that refreshes the cache invalidates a WATCH of the key (signalModifiedKey)", async () => {
    await withEngine((h) => {
      run(h, "pfadd", "k", "a");
      run(h, "watch", "k");
      run(h, "pfcount", "k");
      run(h, "multi");
      run(h, "get", "k");
      expect(norm(h.run("exec"))).toBe("(nil array)");
      run(h, "watch", "k");
      run(h, "pfcount", "k"); // cached now: not a change
      run(h, "multi");
      run(h, "pfcount", "k");
      expect(run(h, "exec")).toEqual([1]);
    });
  });
});

describe("cost of crafted values", () => {
  it("PFCOUNT/PFMERGE of a 16 MiB string that starts like a sparse HLL read only its first row, and answer INVALIDOBJ", async () => {
    const stub = env.NODES.get(env.NODES.idFromName(`hll-cost-${Date.now()}`));
    await runInDurableObject(stub, (_obj: unknown, state: DurableObjectState) => {
      let chunkReads = 0;
      const sql = countingSql(state.storage.sql, (query) => {
        if (/FROM kv_strchunk/.test(query) && /^\s*SELECT/i.test(query)) chunkReads++;
      });
      const engine = new Engine(sql);
      engine.node = stubServices;
      const session = newSession();
      const run1 = (...args: (string | number | Uint8Array)[]) => norm(engine.execute(session, args.map((a) => (a instanceof Uint8Array ? a : utf8(String(a))))) as Reply);
      const head = Uint8Array.from([0x48, 0x59, 0x4c, 0x4c, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x7f, 0xff]);
      expect(run1("set", "big", head)).toBe("+OK");
      expect(run1("setrange", "big", VALUE_BYTES_MAX - 1, "x")).toBe(VALUE_BYTES_MAX);
      chunkReads = 0;
      expect(run1("pfcount", "big")).toEqual(CORRUPT);
      expect(run1("pfcount", "big", "nokey")).toEqual(CORRUPT);
      expect(run1("pfmerge", "dest", "big")).toEqual(CORRUPT);
      expect(chunkReads).toBe(0);
      expect(run1("exists", "dest")).toBe(0);
    });
  });
});

describe("replication of HyperLogLogs", () => {
  it("a replica converges on PFADD, PFMERGE and the cache PFCOUNT writes; a client's PFCOUNT on the replica stays local", async () => {
    const db = freshDb("hll");
    await cmd(db, "master", "PING");
    await attach(db, "r1");
    const els = Array.from({ length: 2500 }, (_, i) => `e${i}`);
    const res = await pipeline(db, "master", [
      ["PFADD", "small", "a", "b", "c"],
      ["PFADD", "big", ...els.slice(0, 1200)],
      ["PFADD", "big", ...els.slice(1200)],
      ["PFMERGE", "both", "small", "big"],
      ["PFCOUNT", "small"],
      ["PFCOUNT", "both"],
      ["PFADD", "later", "x"],
    ]);
    for (const r of res) expect(r).not.toBeInstanceOf(Error);
    await converged(db, ["r1"]);
    expect(await cmd(db, "r1", "STRLEN", "big")).toBe(HLL_DENSE_BYTES);
    expect(await cmd(db, "r1", "PFCOUNT", "small")).toBe(3);
    // A client's PFCOUNT on the replica stores the cache there only (as a Redis replica does)…
    expect(await cmd(db, "r1", "PFCOUNT", "later")).toBe(1);
    expect(await digest(db, "r1")).not.toBe(await digest(db, "master"));
    // …and the master's own PFCOUNT, propagated, brings both to the same bytes again.
    expect(await cmd(db, "master", "PFCOUNT", "later")).toBe(1);
    await waitReplicas(db, 1);
    await converged(db, ["r1"]);
    expect(await cmd(db, "r1", "PFCOUNT", "big", "both")).toBe(await cmd(db, "master", "PFCOUNT", "big", "both"));
  });
});
