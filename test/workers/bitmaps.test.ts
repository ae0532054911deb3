/**
 * Bitmap commands (issue 11 item 3): replies and error texts recorded from redis-server
 * 7.0.15, what they propagate, that a change inside a 16 MiB value touches one 1 MiB row
 * (statements and bytes written counted through a wrapper around the object's SQLite
 * handle), our value limit, and a replica converging on all of it (DEBUG DIGEST).
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { firstByteNot } from "../../src/util/bits.ts";
import { newSession } from "../../src/keyspace/command.ts";
import { Engine } from "../../src/keyspace/engine.ts";
import { STRING_CHUNK_BYTES, VALUE_BYTES_MAX } from "../../src/limits.ts";
import type { Reply } from "../../src/protocol/reply.ts";
import { utf8 } from "../../src/util/bytes.ts";
import { countingSql, type EngineHarness, norm, run, stream, stubServices, withEngine } from "./harness.ts";
import { attach, cmd, converged, freshDb, pipeline } from "./nodes.ts";

const WRONGTYPE = { err: "WRONGTYPE Operation against a key holding the wrong kind of value" };
const BIT_OFFSET_ERR = { err: "ERR bit offset is not an integer or out of range" };
const TYPE_ERR = { err: "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is." };

const bin = (...xs: number[]) => new Uint8Array(xs);
const r = (h: EngineHarness, ...args: (string | number | Uint8Array)[]) => norm(h.run(...args));

function propagated(h: EngineHarness, ...cmds: (string | number)[][]): string[][] {
  const before = stream(h).length;
  for (const c of cmds) h.run(...c);
  return stream(h).slice(before).filter((c) => c[0] !== "SELECT");
}

describe("bitmaps: replies as redis-server 7.0.15", () => {
  it("SETBIT / GETBIT", async () => {
    await withEngine((h) => {
      expect(run(h, "setbit", "k", 7, 1)).toBe(0);
      expect(run(h, "setbit", "k", 7, 1)).toBe(1);
      expect(run(h, "setbit", "k", 7, 0)).toBe(1);
      expect(run(h, "setbit", "k", 100, 1)).toBe(0);
      expect(run(h, "strlen", "k")).toBe(13);
      expect(h.run("get", "k")).toEqual(bin(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8));
      expect(run(h, "getbit", "k", 100)).toBe(1);
      expect(run(h, "getbit", "k", 101)).toBe(0);
      expect(run(h, "getbit", "k", 4294967295)).toBe(0);
      expect(run(h, "getbit", "k", 4294967296)).toEqual(BIT_OFFSET_ERR);
      expect(run(h, "setbit", "k", 4294967296, 1)).toEqual(BIT_OFFSET_ERR);
      expect(run(h, "setbit", "k", -1, 1)).toEqual(BIT_OFFSET_ERR);
      expect(run(h, "setbit", "k", 1, 2)).toEqual({ err: "ERR bit is not an integer or out of range" });
      expect(run(h, "setbit", "k", 1, "x")).toEqual({ err: "ERR bit is not an integer or out of range" });
      expect(run(h, "getbit", "nokey", 5)).toBe(0);
      expect(run(h, "lpush", "lst", "x")).toBe(1);
      expect(run(h, "getbit", "lst", 0)).toEqual(WRONGTYPE);
      expect(run(h, "setbit", "lst", 0, 1)).toEqual(WRONGTYPE);
      expect(run(h, "bitcount", "lst")).toEqual(WRONGTYPE);
    });
  });

  it("BITCOUNT with BYTE and BIT ranges", async () => {
    await withEngine((h) => {
      run(h, "set", "s", "foobar");
      expect(run(h, "bitcount", "s")).toBe(26);
      expect(run(h, "bitcount", "s", 0, 0)).toBe(4);
      expect(run(h, "bitcount", "s", 1, 1)).toBe(6);
      expect(run(h, "bitcount", "s", 1, 1, "BYTE")).toBe(6);
      expect(run(h, "bitcount", "s", 5, 30, "BIT")).toBe(17);
      expect(run(h, "bitcount", "s", -2, -1)).toBe(7);
      expect(run(h, "bitcount", "s", -1, -2)).toBe(0);
      expect(run(h, "bitcount", "s", -1, -2, "FOO")).toBe(0);
      expect(run(h, "bitcount", "s", 0, 1, "FOO")).toEqual({ err: "ERR syntax error" });
      expect(run(h, "bitcount", "s", 0)).toEqual({ err: "ERR syntax error" });
      expect(run(h, "bitcount", "s", 0, "x")).toEqual({ err: "ERR value is not an integer or out of range" });
      expect(run(h, "bitcount", "nokey", 0)).toBe(0);
      expect(run(h, "bitcount", "s", 0, -1, "BIT", "extra")).toEqual({ err: "ERR syntax error" });
    });
  });

  it("BITPOS", async () => {
    await withEngine((h) => {
      h.run("set", "p", bin(0xff, 0xf0, 0x00));
      expect(run(h, "bitpos", "p", 0)).toBe(12);
      h.run("set", "p2", bin(0x00, 0xff, 0xf0));
      expect(run(h, "bitpos", "p2", 1, 0)).toBe(8);
      expect(run(h, "bitpos", "p2", 1, 2, -1, "BYTE")).toBe(16);
      expect(run(h, "bitpos", "p2", 1, 7, 15, "BIT")).toBe(8);
      h.run("set", "z", bin(0, 0, 0));
      expect(run(h, "bitpos", "z", 1)).toBe(-1);
      h.run("set", "ones", bin(0xff, 0xff, 0xff));
      expect(run(h, "bitpos", "ones", 0)).toBe(24);
      expect(run(h, "bitpos", "ones", 0, 0)).toBe(24);
      expect(run(h, "bitpos", "ones", 0, 0, -1)).toBe(-1);
      expect(run(h, "bitpos", "ones", 0, 1, 10, "BIT")).toBe(-1);
      expect(run(h, "bitpos", "nokey", 0)).toBe(0);
      expect(run(h, "bitpos", "nokey", 1)).toBe(-1);
      run(h, "set", "s", "foobar");
      expect(run(h, "bitpos", "s", 2)).toEqual({ err: "ERR The bit argument must be 1 or 0." });
      expect(run(h, "bitpos", "s", "x")).toEqual({ err: "ERR value is not an integer or out of range" });
      expect(run(h, "bitpos", "s", 1, 0, -1, "FOO")).toEqual({ err: "ERR syntax error" });
      expect(run(h, "bitpos", "s", 0, 100)).toBe(-1);
    });
  });

  it("BITOP AND OR XOR NOT; an empty result deletes the destination; the destination loses its TTL", async () => {
    await withEngine((h) => {
      run(h, "set", "a", "foof");
      run(h, "set", "b", "obar");
      expect(run(h, "bitop", "AND", "dest", "a", "b")).toBe(4);
      expect(run(h, "get", "dest")).toBe("fbab");
      expect(run(h, "bitop", "OR", "dest", "a", "b")).toBe(4);
      expect(run(h, "get", "dest")).toBe("ooov");
      expect(run(h, "bitop", "XOR", "dest", "a", "b", "nokey")).toBe(4);
      expect(h.run("get", "dest")).toEqual(bin(0x09, 0x0d, 0x0e, 0x14));
      expect(run(h, "expire", "dest", 1000)).toBe(1);
      expect(run(h, "bitop", "NOT", "dest", "a")).toBe(4);
      expect(h.run("get", "dest")).toEqual(bin(0x99, 0x90, 0x90, 0x99));
      expect(run(h, "ttl", "dest")).toBe(-1);
      expect(run(h, "bitop", "NOT", "dest", "a", "b")).toEqual({ err: "ERR BITOP NOT must be called with a single source key." });
      expect(run(h, "bitop", "FOO", "dest", "a")).toEqual({ err: "ERR syntax error" });
      run(h, "set", "short", "ab");
      expect(run(h, "bitop", "AND", "dest", "a", "short")).toBe(4);
      expect(h.run("get", "dest")).toEqual(bin(0x60, 0x62, 0, 0));
      expect(run(h, "bitop", "AND", "dest", "nokey")).toBe(0);
      expect(run(h, "exists", "dest")).toBe(0);
      run(h, "lpush", "lst", "x");
      expect(run(h, "bitop", "AND", "dest", "a", "lst")).toEqual(WRONGTYPE);
      expect(run(h, "bitop", "OR", "lst", "a")).toBe(4); // a destination of another type is replaced
      expect(run(h, "type", "lst")).toBe("+string");
    });
  });

  it("BITFIELD GET/SET/INCRBY, OVERFLOW WRAP/SAT/FAIL, # offsets, BITFIELD_RO", async () => {
    await withEngine((h) => {
      expect(run(h, "bitfield", "bf", "SET", "i8", 0, -100, "GET", "u4", 0, "INCRBY", "u2", 100, 1, "OVERFLOW", "SAT", "INCRBY", "i8", 0, -100)).toEqual([0, 9, 1, -128]);
      const inc5 = Array.from({ length: 5 }, () => ["INCRBY", "u2", "102", "1"]).flat();
      expect(run(h, "bitfield", "bf", ...inc5)).toEqual([1, 2, 3, 0, 1]);
      expect(run(h, "bitfield", "bf", "OVERFLOW", "FAIL", ...inc5.slice(0, 16))).toEqual([2, 3, null, null]);
      expect(run(h, "bitfield", "bf", "OVERFLOW", "SAT", "SET", "i63", "#1", "-9223372036854775808", "GET", "i63", "#1")).toEqual([29360128, 4611686018427387903n]);
      expect(run(h, "bitfield", "bf", "SET", "u8", "#3", 300, "GET", "u8", "#3", "SET", "i64", 64, "-9223372036854775808", "INCRBY", "i64", 64, -1)).toEqual([0, 44, -4, 9223372036854775807n]);
      expect(run(h, "bitfield", "bf", "GET", "u64", 0)).toEqual(TYPE_ERR);
      expect(run(h, "bitfield", "bf", "GET", "i65", 0)).toEqual(TYPE_ERR);
      expect(run(h, "bitfield", "bf", "GET", "u8", "#-1")).toEqual(BIT_OFFSET_ERR);
      expect(run(h, "bitfield", "bf", "GET", "u8", -1)).toEqual(BIT_OFFSET_ERR);
      expect(run(h, "bitfield", "bf", "OVERFLOW", "FOO", "GET", "u8", 0)).toEqual({ err: "ERR Invalid OVERFLOW type specified" });
      expect(run(h, "bitfield", "bf", "FOO")).toEqual({ err: "ERR syntax error" });
      expect(run(h, "bitfield", "bf", "GET", "u8")).toEqual({ err: "ERR syntax error" });
      expect(run(h, "bitfield", "bf", "SET", "u8", 0, "x")).toEqual({ err: "ERR value is not an integer or out of range" });
      expect(run(h, "bitfield_ro", "bf", "GET", "u8", 0, "GET", "i4", 4)).toEqual([128, 0]);
      expect(run(h, "bitfield_ro", "bf", "SET", "u8", 0, 1)).toEqual({ err: "ERR BITFIELD_RO only supports the GET subcommand" });
      expect(run(h, "bitfield_ro", "nokey", "GET", "u8", 0)).toEqual([0]);
      run(h, "lpush", "lst", "x");
      expect(run(h, "bitfield", "lst", "GET", "u8", 0)).toEqual(WRONGTYPE);
      expect(run(h, "bitfield", "lst", "SET", "u8", 0, 1)).toEqual(WRONGTYPE);
      expect(run(h, "bitfield", "nokey")).toEqual([]);
      expect(run(h, "bitfield", "bf", "INCRBY", "u63", 0, "9223372036854775807")).toEqual([4611686112916668415n]);
      // A failed INCRBY still creates the key, zero-filled up to the field (as redis-server).
      expect(run(h, "bitfield", "bf2", "OVERFLOW", "FAIL", "INCRBY", "u2", 100, 5)).toEqual([null]);
      expect(run(h, "strlen", "bf2")).toBe(13);
    });
  });
});

describe("bitmaps: BITFIELD overflow edges, one key in sequence (recorded from redis-server 7.0.15)", () => {
  it("SET and INCRBY at the limits of i8 u8 i63 u63 i64 with WRAP and SAT", async () => {
    await withEngine((h) => {
      const seq: [string, unknown][] = [
        ["OVERFLOW SAT SET u8 0 -1", [0]],
        ["OVERFLOW WRAP SET u8 0 -1 GET u8 0", [255, 255]],
        ["OVERFLOW SAT SET i63 0 -9223372036854775808 GET i63 0", [-36028797018963968n, 4611686018427387903n]],
        ["OVERFLOW WRAP SET i63 0 -9223372036854775808 GET i63 0", [4611686018427387903n, 0]],
        ["OVERFLOW WRAP SET i8 0 127 INCRBY i8 0 1", [0, -128]],
        ["OVERFLOW SAT SET i8 0 -128 INCRBY i8 0 -1", [-128, -128]],
        ["OVERFLOW WRAP SET u8 0 255 INCRBY u8 0 1", [128, 0]],
        ["OVERFLOW SAT SET u8 0 0 INCRBY u8 0 -1", [0, 0]],
        ["OVERFLOW WRAP SET i64 0 9223372036854775807 INCRBY i64 0 1", [0, -9223372036854775808n]],
        ["OVERFLOW SAT SET i64 0 -9223372036854775808 INCRBY i64 0 -9223372036854775808", [-9223372036854775808n, -9223372036854775808n]],
        ["OVERFLOW WRAP SET u63 0 9223372036854775807 INCRBY u63 0 -9223372036854775808", [4611686018427387904n, 9223372036854775807n]],
        ["overflow wrap set u3 1 -5 incrby i5 3 -20", [7, 11]],
      ];
      for (const [args, want] of seq) expect(run(h, "bitfield", "q", ...args.split(" ")), args).toEqual(want);
    });
  });
});

describe("bitmaps: replication forms", () => {
  it("verbatim when something changed, nothing otherwise", async () => {
    await withEngine((h) => {
      expect(propagated(h, ["setbit", "k", "3", "1"], ["setbit", "k", "3", "1"], ["getbit", "k", "3"])).toEqual([["setbit", "k", "3", "1"]]);
      // Growing the value is a change even when the bit written is 0.
      expect(propagated(h, ["setbit", "k", "40", "0"])).toEqual([["setbit", "k", "40", "0"]]);
      expect(propagated(h, ["bitfield", "k", "GET", "u8", "0"], ["bitfield", "k", "SET", "u8", "0", "17"], ["bitfield_ro", "k", "GET", "u4", "0"])).toEqual([["bitfield", "k", "SET", "u8", "0", "17"]]);
      expect(propagated(h, ["bitfield", "k", "OVERFLOW", "FAIL", "INCRBY", "u4", "0", "100"])).toEqual([]);
      expect(propagated(h, ["bitop", "NOT", "d", "k"], ["bitop", "AND", "none", "nokey"], ["bitop", "AND", "d", "nokey"])).toEqual([
        ["bitop", "NOT", "d", "k"],
        ["bitop", "AND", "d", "nokey"],
      ]);
      expect(propagated(h, ["bitcount", "k"], ["bitpos", "k", "1"])).toEqual([]);
    });
  });
});

interface Counted {
  run(...args: (string | number)[]): Reply;
  /** Statements of the last run, and the bytes of the blobs they wrote. */
  statements: string[];
  blobBytesWritten: number;
  blobRowsRead: number;
}

let counter = 0;

async function withCountedEngine(fn: (h: Counted) => void): Promise<void> {
  const stub = env.NODES.get(env.NODES.idFromName(`bitmaps-${Date.now()}-${counter++}`));
  await runInDurableObject(stub, (_obj: unknown, state: DurableObjectState) => {
    const real = state.storage.sql;
    const h: Counted = { statements: [], blobBytesWritten: 0, blobRowsRead: 0, run: () => null };
    const sql = countingSql(real, (query, binds) => {
      h.statements.push(query);
      if (!/^\s*SELECT/i.test(query)) for (const b of binds) if (b instanceof Uint8Array || b instanceof ArrayBuffer) h.blobBytesWritten += b.byteLength;
      if (/SELECT (substr\()?(val|data)\b/.test(query)) h.blobRowsRead++;
    });
    const engine = new Engine(sql);
    engine.node = stubServices;
    const session = newSession();
    h.run = (...args) => {
      h.statements = [];
      h.blobBytesWritten = 0;
      h.blobRowsRead = 0;
      const out = engine.execute(session, args.map((a) => utf8(String(a))));
      if (out instanceof Promise) throw new Error("async command");
      return out;
    };
    fn(h);
  });
}

describe("bitmaps: a change inside a 16 MiB value touches one row (STRING_CHUNK_BYTES)", () => {
  it("rows of zeros are not stored: a bit set far out costs two rows, and reads, digests and BITOP see the zeros", async () => {
    await withEngine((h) => {
      const sql = h.engine.ks.sql;
      const rows = () => sql.exec("SELECT count(*) AS n FROM kv_strchunk").one().n as number;
      const last = VALUE_BYTES_MAX * 8 - 1;
      expect(h.run("setbit", "far", last, 1)).toBe(0);
      expect(rows()).toBe(1); // the last row; the first lives in the key's row
      expect(h.run("strlen", "far")).toBe(VALUE_BYTES_MAX);
      expect([h.run("bitcount", "far"), h.run("bitpos", "far", 1), h.run("getbit", "far", last - 1), h.run("getbit", "far", last)]).toEqual([1, last, 0, 1]);
      const whole = h.run("get", "far") as Uint8Array;
      expect([whole.length, firstByteNot(whole, 0), whole[VALUE_BYTES_MAX - 1]]).toEqual([VALUE_BYTES_MAX, VALUE_BYTES_MAX - 1, 1]);
      // The same value written whole (SET of the bytes) is stored and digested alike.
      h.run("set", "copy", whole);
      expect(rows()).toBe(2);
      expect(h.run("debug", "digest-value", "far")).toEqual(h.run("debug", "digest-value", "copy"));
      // A row set to zeros again goes away; one set in the middle comes.
      h.run("setbit", "far", last, 0);
      h.run("setbit", "far", 5 * STRING_CHUNK_BYTES * 8, 1);
      expect(rows()).toBe(2);
      expect(h.run("bitcount", "far")).toBe(1);
      // BITOP over mostly-zero values writes only the rows that are not zeros.
      h.run("bitop", "or", "both", "far", "copy");
      expect(rows()).toBe(2 + 2);
      expect(h.run("bitcount", "both")).toBe(2);
      h.run("bitop", "not", "ones", "far");
      expect(h.run("bitcount", "ones")).toBe(VALUE_BYTES_MAX * 8 - 1);
    });
  });

  it("SETBIT, BITFIELD, SETRANGE write one row; BITCOUNT/BITPOS/GETBIT read only the rows of their range", async () => {
    await withCountedEngine((h) => {
      expect(h.run("setrange", "big", VALUE_BYTES_MAX - 1, "x")).toBe(VALUE_BYTES_MAX);
      const mid = 5 * STRING_CHUNK_BYTES + 3; // a byte in the sixth row
      expect(h.run("setbit", "big", mid * 8 + 1, 1)).toBe(0);
      expect(h.blobBytesWritten).toBe(STRING_CHUNK_BYTES);
      expect(h.blobRowsRead).toBe(1);
      expect(h.statements.length).toBeLessThanOrEqual(4);
      expect(h.run("setbit", "big", 1, 1)).toBe(0); // in the first row (kv_keys.val)
      expect(h.blobBytesWritten).toBe(STRING_CHUNK_BYTES);
      expect(h.blobRowsRead).toBe(1);
      expect(h.run("getrange", "big", 0, 0)).toEqual(new Uint8Array([0x40]));
      expect(h.blobRowsRead).toBe(1);
      expect(h.run("bitfield", "big", "SET", "u16", mid * 8 + 8, 0xffff, "GET", "u8", mid * 8)).toEqual([0, 0x40]);
      expect(h.blobBytesWritten).toBe(STRING_CHUNK_BYTES);
      expect(h.run("setrange", "big", mid + 100, "abc")).toBe(VALUE_BYTES_MAX);
      expect(h.blobBytesWritten).toBe(STRING_CHUNK_BYTES);
      expect(h.run("getbit", "big", mid * 8 + 1)).toBe(1);
      expect(h.blobRowsRead).toBe(1);
      expect(h.run("bitcount", "big", mid, mid + 2)).toBe(1 + 16);
      expect(h.blobRowsRead).toBe(1);
      expect(h.run("bitpos", "big", 1, mid)).toBe(mid * 8 + 1);
      expect(h.blobRowsRead).toBe(1);
      // A range across a row boundary reads the two rows.
      expect(h.run("bitcount", "big", 6 * STRING_CHUNK_BYTES - 1, 6 * STRING_CHUNK_BYTES, "BYTE")).toBe(0);
      expect(h.blobRowsRead).toBe(2);
      // The whole value: 2 (SETBITs) + 16 (u16) + popcount("abc") + popcount("x").
      expect(h.run("bitcount", "big")).toBe(2 + 16 + (3 + 3 + 4) + 4);
      expect(h.blobRowsRead).toBe(VALUE_BYTES_MAX / STRING_CHUNK_BYTES);
      // Nothing written when nothing changes.
      expect(h.run("setbit", "big", mid * 8 + 1, 1)).toBe(1);
      expect(h.blobBytesWritten).toBe(0);
    });
  });

  it("writes past VALUE_BYTES_MAX are refused and change nothing; reads past it answer 0", async () => {
    await withEngine((h) => {
      const lastBit = VALUE_BYTES_MAX * 8 - 1;
      expect(run(h, "setbit", "k", lastBit + 1, 1)).toEqual(BIT_OFFSET_ERR);
      expect(run(h, "bitfield", "k", "SET", "u8", lastBit - 6, 1)).toEqual(BIT_OFFSET_ERR);
      expect(run(h, "bitfield", "k", "SET", "u8", "#16777216", 1)).toEqual(BIT_OFFSET_ERR);
      expect(run(h, "exists", "k")).toBe(0);
      expect(run(h, "getbit", "k", lastBit + 1)).toBe(0);
      expect(run(h, "bitfield", "k", "GET", "u8", lastBit + 1)).toEqual([0]);
      expect(run(h, "setbit", "k", lastBit, 1)).toBe(0);
      expect(run(h, "strlen", "k")).toBe(VALUE_BYTES_MAX);
      expect(run(h, "bitpos", "k", 1)).toBe(lastBit);
      expect(run(h, "bitcount", "k", -1, -1, "BIT")).toBe(1);
    });
  });
});

describe("bitmaps: a replica converges", () => {
  it("SETBIT BITOP BITFIELD on the master, DEBUG DIGEST equal on the replica", async () => {
    const db = freshDb("bitmaps");
    await attach(db, "r1");
    await pipeline(db, "master", [
      ["SETBIT", "b1", "7", "1"],
      ["SETBIT", "b1", "8388609", "1"], // grows into a second row
      ["SETBIT", "b2", "100", "1"],
      ["BITOP", "OR", "o", "b1", "b2"],
      ["BITOP", "NOT", "n", "b2"],
      ["BITFIELD", "f", "SET", "i8", "0", "-100", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "-100"],
      ["BITFIELD", "f2", "OVERFLOW", "FAIL", "INCRBY", "u2", "100", "5"],
      ["BITFIELD", "f", "GET", "u8", "0"],
    ]);
    await converged(db, ["r1"]);
    expect(await cmd(db, "r1", "BITCOUNT", "o")).toBe(3);
    expect(await cmd(db, "r1", "STRLEN", "f2")).toBe(13);
    expect(await cmd(db, "r1", "BITFIELD_RO", "f", "GET", "i8", "0")).toEqual([-128]);
  });
});
