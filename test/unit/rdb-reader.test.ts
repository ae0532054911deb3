import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Crc64 } from "../../src/protocol/rdb/crc64.ts";
import { RdbError } from "../../src/protocol/rdb/format.ts";
import { type RdbEvent, type RdbLimits, RdbReader, readRdb, readRdbBytes } from "../../src/protocol/rdb/reader.ts";
import { ELEMENT_BYTES_MAX, KEY_BYTES_MAX, RDB_BLOB_BYTES_MAX, VALUE_BYTES_MAX } from "../../src/limits.ts";
import { concat, utf8 } from "../../src/util/bytes.ts";
import {
  bytes,
  intset,
  listpack,
  type Model,
  rdbLen,
  rdbStr,
  readModel,
  ziplist,
  zipmap,
} from "../fixtures/rdb/model.ts";

/** Appends EOF and the CRC64 trailer (or a zero trailer: "checksum disabled"). */
function seal(body: Uint8Array, crc: "crc" | "zero" = "crc"): Uint8Array {
  const withEof = concat([body, Uint8Array.of(0xff)]);
  const trailer = crc === "crc" ? new Crc64().update(withEof).bytesLE() : new Uint8Array(8);
  return concat([withEof, trailer]);
}

function i64le(v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(v), true);
  return b;
}
function f64le(v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, true);
  return b;
}

/** A small file with every opcode and encoding we read, built byte by byte. */
const GOLDEN_BODY = bytes(
  "REDIS0011",
  0xfa, rdbStr("redis-ver"), rdbStr("7.2.4"),
  0xfa, rdbStr("redis-bits"), 0xc0, 64,
  0xfa, rdbStr("ctime"), 0xc2, 0x00, 0xf1, 0x53, 0x65, // int32 LE 1700000000
  0xf5, rdbStr("#!lua name=lib\nredis.register_function('f', function() return 1 end)"),
  0xfe, 0x00,
  0xfb, 0x0c, 0x02,
  // 0 string, raw, with IDLE and FREQ before it
  0xf8, rdbLen(100), 0xf9, 5, 0x00, rdbStr("s"), rdbStr("hello"),
  // 0 string, int-encoded 16 bit, with EXPIRETIME_MS
  0xfc, i64le(4102444800000), 0x00, rdbStr("i16"), 0xc1, 0x39, 0x30,
  // 0 string, LZF ("abc" ×4 in 7 bytes), with EXPIRETIME (seconds)
  0xfd, 0x00, 0xf1, 0x53, 0x65, 0x00, rdbStr("lzf"), 0xc3, 7, 12, 0x02, 0x61, 0x62, 0x63, 0xe0, 0x00, 0x02,
  // 1 list
  0x01, rdbStr("l1"), 3, rdbStr("a"), 0xc0, 0xff, rdbStr(""),
  // 2 set
  0x02, rdbStr("s2"), 2, rdbStr("x"), rdbStr(Uint8Array.of(0, 0xff, 0xfe)),
  // 3 zset (old text scores: "1.5", +inf, -inf)
  0x03, rdbStr("z3"), 3, rdbStr("a"), 3, "1.5", rdbStr("b"), 254, rdbStr("c"), 255,
  // 4 hash
  0x04, rdbStr("h4"), 2, rdbStr("f1"), rdbStr("v1"), rdbStr("f2"), 0xc0, 0x07,
  // 5 zset2 (binary scores)
  0x05, rdbStr("z5"), 2, rdbStr("m"), f64le(-2.25), rdbStr("n"), f64le(1e300),
  // 9 zipmap
  0x09, rdbStr("h9"), rdbStr(zipmap([["zf", "zv"], ["k", ""]], 2)),
  // 10 ziplist list with every integer width
  0x0a, rdbStr("l10"), rdbStr(ziplist(["s", 0, 12, 13, -100, 1000, -70000, 2 ** 30, -(2 ** 40), "x".repeat(70)])),
  // 11 intsets of each width
  0x0b, rdbStr("s11a"), rdbStr(intset(2, [-3, 7])),
  0x0b, rdbStr("s11b"), rdbStr(intset(4, [-70000, 70000])),
  0x0b, rdbStr("s11c"), rdbStr(intset(8, [-(2n ** 63n), 2n ** 62n])),
  // 12 zset ziplist, 13 hash ziplist
  0x0c, rdbStr("z12"), rdbStr(ziplist(["a", 1, "b", "2.5", "c", "-inf"])),
  0x0d, rdbStr("h13"), rdbStr(ziplist(["f", "v", "n", 5])),
  // 14 quicklist (ziplist nodes)
  0x0e, rdbStr("l14"), 2, rdbStr(ziplist(["a", 1])), rdbStr(ziplist(["b"])),
  // 16 hash listpack, 17 zset listpack, 20 set listpack
  0x10, rdbStr("h16"), rdbStr(listpack(["f", "v", "n", -1])),
  0x11, rdbStr("z17"), rdbStr(listpack(["a", 5, "b", "1e+100", "c", -3000])),
  0x14, rdbStr("s20"), rdbStr(listpack(["m", 100000, -(2 ** 33), "y".repeat(100)])),
  // 18 quicklist2: a packed node with every listpack integer width, a plain node
  0x12, rdbStr("l18"), 2,
  2, rdbStr(listpack([0, 127, -1, 4095, -4096, 30000, -8000000, 2 ** 31 - 1, -(2n ** 63n), "z".repeat(300)])),
  1, rdbStr("plain element"),
  0xfe, 0x03,
  0x00, rdbStr("other-db"), rdbStr("v"),
);

const GOLDEN_MODEL: Model = {
  0: {
    s: { type: "string", value: "hello", expireMs: null },
    i16: { type: "string", value: "12345", expireMs: 4102444800000 },
    lzf: { type: "string", value: "abcabcabcabc", expireMs: 1700000000000 },
    l1: { type: "list", items: ["a", "-1", ""], expireMs: null },
    s2: { type: "set", members: ["\x00\xff\xfe", "x"], expireMs: null },
    z3: { type: "zset", members: { a: 1.5, b: Infinity, c: -Infinity }, expireMs: null },
    h4: { type: "hash", fields: { f1: "v1", f2: "7" }, expireMs: null },
    z5: { type: "zset", members: { m: -2.25, n: 1e300 }, expireMs: null },
    h9: { type: "hash", fields: { zf: "zv", k: "" }, expireMs: null },
    l10: {
      type: "list",
      items: ["s", "0", "12", "13", "-100", "1000", "-70000", String(2 ** 30), String(-(2 ** 40)), "x".repeat(70)],
      expireMs: null,
    },
    s11a: { type: "set", members: ["-3", "7"], expireMs: null },
    s11b: { type: "set", members: ["-70000", "70000"], expireMs: null },
    s11c: { type: "set", members: [String(-(2n ** 63n)), String(2n ** 62n)], expireMs: null },
    z12: { type: "zset", members: { a: 1, b: 2.5, c: -Infinity }, expireMs: null },
    h13: { type: "hash", fields: { f: "v", n: "5" }, expireMs: null },
    l14: { type: "list", items: ["a", "1", "b"], expireMs: null },
    h16: { type: "hash", fields: { f: "v", n: "-1" }, expireMs: null },
    z17: { type: "zset", members: { a: 5, b: 1e100, c: -3000 }, expireMs: null },
    s20: { type: "set", members: ["-8589934592", "100000", "m", "y".repeat(100)], expireMs: null },
    l18: {
      type: "list",
      items: [
        "0", "127", "-1", "4095", "-4096", "30000", "-8000000", String(2 ** 31 - 1), String(-(2n ** 63n)),
        "z".repeat(300), "plain element",
      ],
      expireMs: null,
    },
  },
  3: { "other-db": { type: "string", value: "v", expireMs: null } },
};

const GOLDEN = seal(GOLDEN_BODY);

describe("rdb reader: golden bytes", () => {
  it("reads every opcode and encoding", () => {
    const m = readModel(GOLDEN);
    expect(m.model).toEqual(GOLDEN_MODEL);
    expect(m.aux).toEqual({ "redis-ver": "7.2.4", "redis-bits": "64", ctime: "1700000000" });
    expect(m.end).toEqual({ t: "end", crc: new Crc64().update(GOLDEN.subarray(0, GOLDEN.length - 8)).hex() });
    expect(m.rdbTypes["0:l18"]).toBe(18);
    expect(m.rdbTypes["0:s11c"]).toBe(11);
  });

  it("emits the events in file order", () => {
    const evs = [...readRdbBytes(GOLDEN)];
    expect(evs.slice(0, 7).map((e) => e.t)).toEqual(["header", "aux", "aux", "aux", "function", "db", "resize"]);
    expect(evs[0]).toEqual({ t: "header", version: 11 });
    expect(evs[6]).toEqual({ t: "resize", dbSize: 12, expiresSize: 2 });
    const fn = evs[4] as RdbEvent & { t: "function" };
    expect(new TextDecoder().decode(fn.code)).toMatch(/^#!lua name=lib/);
    const s = evs[7] as RdbEvent & { t: "key" };
    expect(s).toMatchObject({ t: "key", db: 0, type: "string", rdbType: 0, expireMs: null, count: null });
    expect(evs[8]).toEqual({ t: "keyEnd" });
    const l1 = evs.find((e) => e.t === "key" && new TextDecoder().decode(e.key) === "l1");
    expect(l1).toMatchObject({ type: "list", count: 3 });
    expect(evs.at(-1)!.t).toBe("end");
  });

  it("reads the same at every split point and byte by byte", () => {
    const want = readModel(GOLDEN).model;
    for (let cut = 0; cut <= GOLDEN.length; cut++) {
      const r = new RdbReader();
      const evs: RdbEvent[] = [];
      r.push(GOLDEN.subarray(0, cut));
      for (let e = r.next(); e; e = r.next()) evs.push(e);
      r.push(GOLDEN.subarray(cut));
      for (let e = r.next(); e; e = r.next()) evs.push(e);
      r.finish();
      expect(evs.at(-1)!.t).toBe("end");
    }
    expect(readModel(GOLDEN, 1).model).toEqual(want);
    expect(readModel(GOLDEN, 7, 1).model).toEqual(want);
  });

  it("reads listpack and ziplist strings with 32-bit lengths", () => {
    const long = "q".repeat(20000);
    const file = seal(
      bytes("REDIS0011", 0x14, rdbStr("lp"), rdbStr(listpack([long, "x"])), 0x0a, rdbStr("zl"), rdbStr(ziplist([long]))),
    );
    expect(readModel(file).model).toEqual({
      0: {
        lp: { type: "set", members: [long, "x"], expireMs: null },
        zl: { type: "list", items: [long], expireMs: null },
      },
    });
  });

  it("accepts a zero checksum (rdbchecksum no) and versions before 5 without a trailer", () => {
    expect(readModel(seal(GOLDEN_BODY, "zero")).end).toEqual({ t: "end", crc: null });
    const v4 = bytes("REDIS0004", 0xfe, 0, 0x00, rdbStr("k"), rdbStr("v"), 0xff);
    const m = readModel(v4);
    expect(m.model).toEqual({ 0: { k: { type: "string", value: "v", expireMs: null } } });
    expect(m.end).toEqual({ t: "end", crc: null });
  });

  it("reads a dump.rdb written by redis-server 7.0.15 (listpack, intset, quicklist2 with a plain node, LZF)", () => {
    const file = new Uint8Array(readFileSync(new URL("../fixtures/rdb/redis-7.0.15-small.rdb", import.meta.url)));
    const m = readModel(file);
    expect(m.aux["redis-ver"]).toBe("7.0.15");
    expect(m.end?.crc).toMatch(/^[0-9a-f]{16}$/);
    expect(m.model).toEqual({
      0: {
        "str:short": { type: "string", value: "hello", expireMs: null },
        "str:int": { type: "string", value: "12345", expireMs: null },
        "str:neg": { type: "string", value: "-70000", expireMs: null },
        "str:big": { type: "string", value: "3000000000", expireMs: null },
        "str:lzf": { type: "string", value: "abcdefgh".repeat(20), expireMs: null },
        "str:ttl": { type: "string", value: "v", expireMs: 4102444800000 },
        "set:int": { type: "set", members: ["-5", "1", "2", "3", "70000"], expireMs: null },
        "set:str": { type: "set", members: ["a", "b", "c"], expireMs: null },
        "hash:small": { type: "hash", fields: { f1: "v1", f2: "42" }, expireMs: null },
        "zset:small": { type: "zset", members: { a: 1.5, b: -2, c: 3, d: Infinity }, expireMs: null },
        "list:q": { type: "list", items: ["a", "b", "1", "-200", "70000", "9000000000"], expireMs: null },
        "list:plain": { type: "list", items: ["small", "x".repeat(60), "tail"], expireMs: null },
      },
      2: { db2key: { type: "string", value: "db2val", expireMs: null } },
    });
    expect(m.rdbTypes).toMatchObject({ "0:set:int": 11, "0:hash:small": 16, "0:zset:small": 17, "0:list:q": 18 });
  });
});

describe("rdb reader: streaming", () => {
  it("hands out big collections in bounded batches", () => {
    const items = Array.from({ length: 2500 }, (_, i) => rdbStr(`item-${i}`));
    const file = seal(bytes("REDIS0009", 0x01, rdbStr("big"), rdbLen(2500), ...items));
    const r = new RdbReader({ batchItemsMax: 100 });
    r.push(file);
    const sizes: number[] = [];
    for (let e = r.next(); e; e = r.next()) if (e.t === "values") sizes.push(e.values.length);
    r.finish();
    expect(sizes.length).toBe(25);
    expect(Math.max(...sizes)).toBe(100);
  });

  it("returns a partial batch when the input runs out mid-collection", () => {
    const file = seal(bytes("REDIS0009", 0x02, rdbStr("s"), 3, rdbStr("a"), rdbStr("b"), rdbStr("c")));
    const r = new RdbReader();
    const cut = file.indexOf(0x62); // inside "b": "a" is complete, "b" is not
    r.push(file.subarray(0, cut));
    const first: RdbEvent[] = [];
    for (let e = r.next(); e; e = r.next()) first.push(e);
    expect(first.map((e) => e.t)).toEqual(["header", "key", "values"]);
    expect((first[2] as RdbEvent & { t: "values" }).values.map((v) => new TextDecoder().decode(v))).toEqual(["a"]);
    r.push(file.subarray(cut));
    const rest: RdbEvent[] = [];
    for (let e = r.next(); e; e = r.next()) rest.push(e);
    expect(rest.map((e) => e.t)).toEqual(["values", "keyEnd", "end"]);
    r.finish();
  });

  it("keeps its buffer bounded while streaming a large file in small chunks", () => {
    const parts: Uint8Array[] = [bytes("REDIS0009", 0x02, rdbStr("big"), rdbLen(200_000))];
    for (let i = 0; i < 200_000; i++) parts.push(rdbStr(`member:${i}`));
    const file = seal(concat(parts));
    const r = new RdbReader();
    let n = 0;
    let maxBuf = 0;
    for (let i = 0; i < file.length; i += 4096) {
      r.push(file.subarray(i, i + 4096));
      for (let e = r.next(); e; e = r.next()) if (e.t === "values") n += e.values.length;
      maxBuf = Math.max(maxBuf, r.bufferBytes);
    }
    r.finish();
    expect(n).toBe(200_000);
    expect(maxBuf).toBeLessThanOrEqual(64 * 1024);
  });

  it("grows for a big string and shrinks back afterwards", () => {
    const big = new Uint8Array(3 << 20).fill(7);
    const file = seal(bytes("REDIS0009", 0x00, rdbStr("k"), rdbStr(big), 0x00, rdbStr("k2"), rdbStr("v")));
    const r = new RdbReader();
    let got: Uint8Array | undefined;
    for (let i = 0; i < file.length; i += 65536) {
      r.push(file.subarray(i, i + 65536));
      for (let e = r.next(); e; e = r.next()) if (e.t === "key" && e.value?.length === big.length) got = e.value;
    }
    r.finish();
    expect(got?.every((x) => x === 7)).toBe(true);
    expect(r.bufferBytes).toBeLessThan(1 << 20);
  });

  it("reads from an async iterable and gives back what follows the RDB", async () => {
    const file = concat([seal(bytes("REDIS0010", 0x00, rdbStr("k"), rdbStr("v"))), utf8("*1\r\n$4\r\nPING\r\n")]);
    async function* chunks() {
      for (let i = 0; i < file.length; i += 5) yield file.subarray(i, i + 5);
    }
    const ts: string[] = [];
    for await (const e of readRdb(chunks())) ts.push(e.t);
    expect(ts).toEqual(["header", "key", "keyEnd", "end"]);
    const r = new RdbReader();
    r.push(file);
    while (r.next());
    expect(r.done).toBe(true);
    expect(new TextDecoder().decode(r.leftover())).toBe("*1\r\n$4\r\nPING\r\n");
  });
});

describe("rdb reader: bad input", () => {
  const readAll = (file: Uint8Array) => readModel(file);

  it("detects a corrupted byte through the checksum", () => {
    const bad = GOLDEN.slice();
    const at = bad.indexOf(0x68); // the "h" of "hello"... or any earlier "h": a value byte
    bad[at] = 0x48;
    expect(() => readAll(bad)).toThrow(/checksum mismatch/);
  });

  it("fails with RdbError, never another error, for any single corrupted byte", () => {
    for (let i = 0; i < GOLDEN.length; i++) {
      // A flipped version digit can name a version < 5, which has no checksum to catch it.
      if (i >= 5 && i <= 8) continue;
      for (const flip of [0xff, 0x01, 0x80]) {
        const bad = GOLDEN.slice();
        bad[i]! ^= flip;
        let err: unknown = null;
        try {
          readAll(bad);
        } catch (e) {
          err = e;
        }
        if (!(err instanceof RdbError)) throw new Error(`byte ${i} ^ ${flip}: ${String(err)}`);
      }
    }
  });

  it("fails with RdbError for every truncation point", () => {
    for (let n = 0; n < GOLDEN.length; n++) {
      expect(() => readAll(GOLDEN.subarray(0, n)), `length ${n}`).toThrow(RdbError);
    }
    expect(() => readAll(GOLDEN.subarray(0, 100))).toThrow(/truncated RDB/);
  });

  it("refuses bad headers and versions", () => {
    expect(() => readAll(seal(bytes("RESP00009")))).toThrow(/no REDIS magic/);
    expect(() => readAll(seal(bytes("REDIS0000")))).toThrow(/version "0000"/);
    expect(() => readAll(seal(bytes("REDIS0013")))).toThrow(/version "0013"/);
    expect(() => readAll(seal(bytes("REDIS00x9")))).toThrow(RdbError);
    for (let v = 1; v <= 12; v++) {
      const file = seal(bytes(`REDIS${String(v).padStart(4, "0")}`));
      expect(() => (v < 5 ? readAll(file.subarray(0, 10)) : readAll(file))).not.toThrow();
    }
  });

  it("refuses what it cannot load, naming it", () => {
    expect(() => readAll(seal(bytes("REDIS0009", 0xf7, rdbLen(1), rdbLen(2))))).toThrow(/MODULE_AUX/);
    expect(() => readAll(seal(bytes("REDIS0009", 0x07, rdbStr("m"))))).toThrow(/module value/);
    expect(() => readAll(seal(bytes("REDIS0009", 0x15, rdbStr("st"))))).toThrow(/stream/);
    expect(() => readAll(seal(bytes("REDIS0009", 0xf6, rdbStr("x"))))).toThrow(/FUNCTION/);
    expect(() => readAll(seal(bytes("REDIS0009", 0x30, rdbStr("k"))))).toThrow(/unknown RDB value type 48/);
    expect(() => readAll(seal(bytes("REDIS0009", 0x05, rdbStr("z"), 1, rdbStr("m"), f64le(NaN))))).toThrow(/NaN/);
    expect(() =>
      readAll(seal(bytes("REDIS0009", 0x12, rdbStr("l"), 1, 3, rdbStr("x")))),
    ).toThrow(/unknown container 3/);
    expect(() => readAll(seal(bytes("REDIS0009", 0x11, rdbStr("z"), rdbStr(listpack(["a", "nope"])))))).toThrow(
      /bad zset score/,
    );
  });

  it("enforces the string size limit", () => {
    const file = seal(bytes("REDIS0009", 0x00, rdbStr("k"), rdbStr("x".repeat(100))));
    const r = new RdbReader({ limits: { value: 99 } });
    r.push(file);
    expect(() => {
      while (r.next());
    }).toThrow(/string value of 100 bytes exceeds VALUE_BYTES_MAX \(99 bytes\)/);
    expect(() => r.next()).toThrow(RdbError); // stays failed
  });
});

describe("rdb reader: the service's limits apply while reading", () => {
  const K = KEY_BYTES_MAX;
  const E = ELEMENT_BYTES_MAX;
  /** All events of a file, or the error it raised. */
  const outcome = (file: Uint8Array, limits?: Partial<RdbLimits>): string => {
    try {
      for (const _ of readRdbBytes(file, { limits }));
      return "ok";
    } catch (e) {
      expect(e).toBeInstanceOf(RdbError);
      return (e as Error).message;
    }
  };
  /** An LZF string header claiming `ulen` bytes from `clen` compressed ones (the bytes do not follow). */
  const lzfHeader = (clen: number, ulen: number) => bytes(0xc3, rdbLen(clen), rdbLen(ulen));

  it("keys: KEY_BYTES_MAX, at the limit accepted", () => {
    expect(outcome(seal(bytes("REDIS0009", 0x00, rdbStr("k".repeat(K)), rdbStr("v"))))).toBe("ok");
    expect(outcome(seal(bytes("REDIS0009", 0x00, rdbStr("k".repeat(100 * 1024)), rdbStr("v"))))).toMatch(
      /^key of 102400 bytes exceeds KEY_BYTES_MAX \(65536 bytes\) \(at byte \d+\)$/,
    );
  });

  it("string values: VALUE_BYTES_MAX, checked on an LZF string's claimed length before its bytes arrive", () => {
    // 16 MiB + 1 claimed by a 5-byte compressed string: refused from the header alone,
    // without waiting for (or allocating) anything.
    const bomb = bytes("REDIS0009", 0x00, rdbStr("k"), lzfHeader(5, VALUE_BYTES_MAX + 1));
    const r = new RdbReader();
    r.push(bomb);
    expect(() => r.next() && r.next() && r.next()).toThrow(/^string value of 16777217 bytes exceeds VALUE_BYTES_MAX \(16777216 bytes\)/);
    expect(r.bufferBytes).toBeLessThanOrEqual(64 * 1024);
    // The bomb: 100 MiB claimed.
    expect(outcome(seal(bytes("REDIS0009", 0x00, rdbStr("k"), lzfHeader(4, 100 * 1024 * 1024), 0, 0, 0, 0)))).toMatch(
      /^string value of 104857600 bytes exceeds VALUE_BYTES_MAX/,
    );
    // Compressed data longer than what it claims to expand to is corrupt (Redis never writes it).
    expect(outcome(seal(bytes("REDIS0009", 0x00, rdbStr("k"), lzfHeader(30, 20), new Uint8Array(30))))).toMatch(
      /^LZF string of 30 bytes claims to expand to only 20/,
    );
  });

  it("collection elements: ELEMENT_BYTES_MAX in plain encodings, for every type", () => {
    const big = "e".repeat(E + 1);
    const msg = /^collection element of 1048577 bytes exceeds ELEMENT_BYTES_MAX \(1048576 bytes\)/;
    expect(outcome(seal(bytes("REDIS0009", 0x01, rdbStr("l"), 2, rdbStr("a"), rdbStr(big))))).toMatch(msg);
    expect(outcome(seal(bytes("REDIS0009", 0x02, rdbStr("s"), 1, rdbStr(big))))).toMatch(msg);
    expect(outcome(seal(bytes("REDIS0009", 0x04, rdbStr("h"), 1, rdbStr("f"), rdbStr(big))))).toMatch(msg);
    expect(outcome(seal(bytes("REDIS0009", 0x04, rdbStr("h"), 1, rdbStr(big), rdbStr("v"))))).toMatch(msg);
    expect(outcome(seal(bytes("REDIS0009", 0x05, rdbStr("z"), 1, rdbStr(big), f64le(1))))).toMatch(msg);
    expect(outcome(seal(bytes("REDIS0009", 0x12, rdbStr("l"), 1, 1, rdbStr(big))))).toMatch(msg); // quicklist2 plain node
    expect(outcome(seal(bytes("REDIS0009", 0x05, rdbStr("z"), 1, rdbStr("e".repeat(E)), f64le(1))))).toBe("ok");
  });

  it("collection elements inside listpacks and ziplists obey ELEMENT_BYTES_MAX too", () => {
    const lim = { element: 10 };
    const msg = /^collection element of 11 bytes exceeds ELEMENT_BYTES_MAX \(10 bytes\)/;
    expect(outcome(seal(bytes("REDIS0009", 0x10, rdbStr("h"), rdbStr(listpack(["f", "v".repeat(11)])))), lim)).toMatch(msg);
    expect(outcome(seal(bytes("REDIS0009", 0x14, rdbStr("s"), rdbStr(listpack(["m".repeat(11)])))), lim)).toMatch(msg);
    expect(outcome(seal(bytes("REDIS0009", 0x0a, rdbStr("l"), rdbStr(ziplist(["x".repeat(11)])))), lim)).toMatch(msg);
    expect(outcome(seal(bytes("REDIS0009", 0x12, rdbStr("l"), 1, 2, rdbStr(listpack(["x".repeat(11)])))), lim)).toMatch(msg);
    expect(outcome(seal(bytes("REDIS0009", 0x12, rdbStr("l"), 1, 2, rdbStr(listpack(["x".repeat(10)])))), lim)).toBe("ok");
  });

  it("encoded containers, AUX fields and FUNCTION libraries: RDB_BLOB_BYTES_MAX", () => {
    expect(outcome(seal(bytes("REDIS0009", 0x10, rdbStr("h"), lzfHeader(3, RDB_BLOB_BYTES_MAX + 1), 0, 0, 0)))).toMatch(
      /^encoded string \(listpack, ziplist, intset, zipmap, AUX or FUNCTION\) of 16777217 bytes exceeds RDB_BLOB_BYTES_MAX \(16777216 bytes\)/,
    );
    expect(outcome(seal(bytes("REDIS0009", 0xfa, rdbStr("a".repeat(20)), rdbStr("v"))), { blob: 19 })).toMatch(/^encoded string .* of 20 bytes exceeds RDB_BLOB_BYTES_MAX/);
    expect(outcome(seal(bytes("REDIS0009", 0xf5, rdbStr("#!lua name=x\n".padEnd(30)))), { blob: 29 })).toMatch(/of 30 bytes exceeds RDB_BLOB_BYTES_MAX/);
  });
});
