import { describe, expect, it } from "vitest";
import { Crc64 } from "../../src/protocol/rdb/crc64.ts";
import { RdbReader } from "../../src/protocol/rdb/reader.ts";
import { RdbWriter } from "../../src/protocol/rdb/writer.ts";
import { concat, toHex, utf8 } from "../../src/util/bytes.ts";
import { B, bytes, type Model, type ModelKey, readModel, writeModel } from "../fixtures/rdb/model.ts";

function collect(opts?: ConstructorParameters<typeof RdbWriter>[1]) {
  const parts: Uint8Array[] = [];
  const w = new RdbWriter({ write: (b) => parts.push(b) }, opts);
  return { w, parts, file: () => concat(parts) };
}

/** Seeded PRNG so failures reproduce. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  const int = (n: number) => Math.floor(next() * n);
  const bin = (max: number) => {
    const n = int(max + 1);
    let s = "";
    for (let i = 0; i < n; i++) s += String.fromCharCode(int(4) === 0 ? int(256) : 97 + int(3));
    return s;
  };
  const numText = () => String([0, 1, -1, 127, 128, -129, 32767, 40000, -2147483648, 2147483648, int(1e6)][int(11)]);
  return { next, int, bin, numText };
}

function randomModel(seed: number): Model {
  const r = rng(seed);
  const model: Model = {};
  const now = 1_900_000_000_000;
  for (const db of [0, 1, 15]) {
    const keys: Record<string, ModelKey> = {};
    const nkeys = 1 + r.int(40);
    for (let k = 0; k < nkeys; k++) {
      const key = `${db}:${k}:${r.bin(6)}`;
      const expireMs = r.int(3) === 0 ? now + r.int(1e9) : null;
      const val = () => (r.int(3) === 0 ? r.numText() : r.bin(r.int(10) === 0 ? 300 : 12));
      const size = 1 + (r.int(8) === 0 ? r.int(3000) : r.int(10));
      switch (r.int(5)) {
        case 0:
          keys[key] = { type: "string", value: r.int(20) === 0 ? "" : val(), expireMs };
          break;
        case 1:
          keys[key] = { type: "list", items: Array.from({ length: size }, val), expireMs };
          break;
        case 2: {
          const s = new Set<string>();
          while (s.size < size) s.add(val() + (s.size % 7 === 6 ? String(s.size) : ""));
          keys[key] = { type: "set", members: [...s].sort(), expireMs };
          break;
        }
        case 3: {
          const m: Record<string, number> = {};
          const scores = [0, -0.5, 1e-300, 3.141592653589793, -Infinity, Infinity, 2 ** 53, -17];
          for (let i = 0; i < size; i++) m[val() + i] = r.int(3) === 0 ? scores[r.int(scores.length)]! : r.next() * 1e6;
          keys[key] = { type: "zset", members: m, expireMs };
          break;
        }
        default: {
          const f: Record<string, string> = {};
          for (let i = 0; i < size; i++) f[val() + i] = val();
          keys[key] = { type: "hash", fields: f, expireMs };
        }
      }
    }
    model[db] = keys;
  }
  return model;
}

describe("rdb writer: golden bytes", () => {
  it("writes header, aux, SELECTDB/RESIZEDB, each type, expiry and the CRC trailer", () => {
    const { w, file } = collect();
    w.header({ "redis-ver": "7.0.15", "redis-bits": 64 });
    w.selectDb(0, 6, 1);
    w.stringKey(utf8("k"), utf8("v"), null);
    w.stringKey(utf8("n"), utf8("300"), 1700000000000);
    w.beginList(utf8("l"), 2, null);
    w.listItem(utf8("a"));
    w.listItem(utf8("12"));
    w.endKey();
    w.beginSet(utf8("s"), 1, null);
    w.setMember(utf8("m"));
    w.endKey();
    w.beginZset(utf8("z"), 1, null);
    w.zsetMember(utf8("m"), 1.5);
    w.endKey();
    w.beginHash(utf8("h"), 1, null);
    w.hashField(utf8("f"), utf8("v"));
    w.endKey();
    const crc = w.end();
    const body = bytes(
      "REDIS0009",
      0xfa, 9, "redis-ver", 6, "7.0.15",
      0xfa, 10, "redis-bits", 0xc0, 64,
      0xfe, 0, 0xfb, 6, 1,
      0x00, 1, "k", 1, "v",
      0xfc, 0x00, 0x68, 0xe5, 0xcf, 0x8b, 0x01, 0x00, 0x00, 0x00, 1, "n", 0xc1, 0x2c, 0x01,
      0x01, 1, "l", 2, 1, "a", 0xc0, 12,
      0x02, 1, "s", 1, 1, "m",
      0x05, 1, "z", 1, 1, "m", 0, 0, 0, 0, 0, 0, 0xf8, 0x3f,
      0x04, 1, "h", 1, 1, "f", 1, "v",
      0xff,
    );
    const want = concat([body, new Crc64().update(body).bytesLE()]);
    expect(toHex(file())).toBe(toHex(want));
    expect(crc).toBe(new Crc64().update(body).hex());
  });

  it("uses each length form and writes REDIS0010 on request", () => {
    const { w, file } = collect({ version: 10 });
    w.header({});
    w.selectDb(5, 64, 16383);
    w.selectDb(1, 16384, 2 ** 32);
    w.end();
    const f = file();
    expect(toHex(f.subarray(0, f.length - 8))).toBe(
      toHex(
        bytes(
          "REDIS0010",
          0xfe, 5, 0xfb, 0x40, 0x40, 0x7f, 0xff,
          0xfe, 1, 0xfb, 0x80, 0x00, 0x00, 0x40, 0x00, 0x81, 0, 0, 0, 1, 0, 0, 0, 0,
          0xff,
        ),
      ),
    );
    const r = new RdbReader();
    r.push(f);
    const evs = [];
    for (let e = r.next(); e; e = r.next()) evs.push(e);
    expect(evs).toContainEqual({ t: "resize", dbSize: 16384, expiresSize: 2 ** 32 });
    expect(evs).toContainEqual({ t: "resize", dbSize: 64, expiresSize: 16383 });
  });

  it("writes a function library as RDB_OPCODE_FUNCTION2 + its code (RDB 10 only)", () => {
    const code = "#!lua name=l\nredis.register_function('f', function() return 1 end)";
    const { w, file } = collect({ version: 10 });
    w.header({});
    w.functionLibrary(utf8(code));
    w.stringKey(utf8("k"), utf8("v"), null);
    w.end();
    const f = file();
    expect(new TextDecoder().decode(f.subarray(0, 9))).toBe("REDIS0010");
    expect(f[9]).toBe(0xf5); // right after the header (no AUX fields here)
    const r = new RdbReader();
    r.push(f);
    const evs = [];
    for (let e = r.next(); e; e = r.next()) evs.push(e);
    expect(evs).toContainEqual({ t: "function", code: utf8(code) });
    const v9 = collect();
    v9.w.header({});
    expect(() => v9.w.functionLibrary(utf8(code))).toThrow(/version 10/);
  });

  it("int-encodes only canonical int32 text, as Redis does", () => {
    const enc = (s: string) => {
      const { w, file } = collect();
      w.header({});
      w.stringKey(utf8("k"), B(s), null);
      w.end();
      const f = file();
      return toHex(f.subarray(9 + 3, f.length - 9));
    };
    expect(enc("0")).toBe("c000");
    expect(enc("-128")).toBe("c080");
    expect(enc("128")).toBe("c18000");
    expect(enc("-32769")).toBe("c2ff7fffff");
    expect(enc("2147483647")).toBe("c2ffffff7f");
    expect(enc("-2147483648")).toBe("c200000080");
    expect(enc("2147483648")).toBe(toHex(bytes(10, "2147483648")));
    for (const raw of ["007", "-0", "+1", " 1", "1 ", "", "-", "1e3", "12345678901"]) {
      expect(enc(raw)).toBe(toHex(bytes(raw.length, raw)));
    }
  });
});

describe("rdb writer: assertions", () => {
  it("refuses empty collections and wrong element counts", () => {
    const { w } = collect();
    w.header({});
    expect(() => w.beginSet(utf8("s"), 0, null)).toThrow(/at least one element/);
    w.beginList(utf8("l"), 2, null);
    w.listItem(utf8("a"));
    expect(() => w.endKey()).toThrow(/1 announced elements missing/);
    w.listItem(utf8("b"));
    expect(() => w.listItem(utf8("c"))).toThrow(/more elements than announced/);
    w.endKey();
    expect(() => w.setMember(utf8("x"))).toThrow(/outside a set key/);
    w.beginHash(utf8("h"), 1, null);
    expect(() => w.listItem(utf8("x"))).toThrow(/outside a list key/);
    expect(() => w.stringKey(utf8("k"), utf8("v"), null)).toThrow(/still open/);
    expect(() => w.end()).toThrow(/still open/);
  });

  it("refuses calls out of order and NaN scores", () => {
    const { w } = collect();
    expect(() => w.stringKey(utf8("k"), utf8("v"), null)).toThrow(/before header/);
    w.header({});
    expect(() => w.header({})).toThrow(/first, once/);
    w.beginZset(utf8("z"), 1, null);
    expect(() => w.zsetMember(utf8("m"), NaN)).toThrow(/NaN/);
    w.zsetMember(utf8("m"), 1);
    w.endKey();
    w.end();
    expect(() => w.selectDb(1)).toThrow(/ended/);
  });
});

describe("rdb writer → reader round trip", () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`random keyspace, seed ${seed}`, () => {
      const model = randomModel(seed);
      const file = writeModel(model, { "redis-ver": "7.0.15", "repl-offset": 12345 }, { chunkBytes: 64 + seed * 100 });
      for (const chunk of [file.length, 1000, 37]) {
        const got = readModel(file, chunk, 1 + seed * 7);
        expect(got.model).toEqual(model);
        expect(got.aux).toEqual({ "redis-ver": "7.0.15", "repl-offset": "12345" });
        expect(got.end?.crc).toMatch(/^[0-9a-f]{16}$/);
      }
    });
  }

  it("streams values larger than a chunk straight to the sink", () => {
    const big = new Uint8Array(300_000).map((_, i) => i * 7);
    const { w, parts, file } = collect({ chunkBytes: 4096 });
    w.header({});
    w.beginList(utf8("l"), 3, 4102444800000);
    w.listItem(big);
    w.listItem(new Uint8Array(4000).fill(1)); // less than a chunk: buffered
    w.listItem(utf8("x"));
    w.endKey();
    w.end();
    expect(parts.some((p) => p === big)).toBe(true);
    expect(Math.max(...parts.filter((p) => p !== big).map((p) => p.length))).toBeLessThanOrEqual(4096);
    expect(w.bytesWritten).toBe(file().length);
    const m = readModel(file(), 999).model;
    const l = m[0]!["l"]!;
    expect(l.expireMs).toBe(4102444800000);
    expect(l.type === "list" && l.items.map((s) => s.length)).toEqual([300_000, 4000, 1]);
  });

  it("streams a 1,000,000-member set from writer to reader without holding it", () => {
    const r = new RdbReader();
    let members = 0;
    let maxBuf = 0;
    const w = new RdbWriter({
      write: (b) => {
        r.push(b);
        for (let e = r.next(); e; e = r.next()) if (e.t === "values") members += e.values.length;
        maxBuf = Math.max(maxBuf, r.bufferBytes);
      },
    });
    w.header({ "redis-ver": "7.0.15" });
    w.selectDb(0, 1, 0);
    w.beginSet(utf8("big"), 1_000_000, null);
    for (let i = 0; i < 1_000_000; i++) w.setMember(utf8(`m${i}`));
    w.endKey();
    w.end();
    r.finish();
    expect(members).toBe(1_000_000);
    expect(maxBuf).toBeLessThanOrEqual(256 * 1024);
  });
});
