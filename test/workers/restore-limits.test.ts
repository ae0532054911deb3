/**
 * Restores obey the limits (issue 6 item 4): crafted RDB files through the snapshot loader
 * (duplicates, empty keys, cardinalities: what needs the keyspace's SQLite) and through
 * `PUT /db/{db}/admin/restore`, where each bad file answers 400 with the reason and the
 * master's data is unchanged (DEBUG DIGEST). The reader's own limit checks are unit-tested
 * in test/unit/rdb-reader.test.ts.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Crc64 } from "../../src/protocol/rdb/crc64.ts";
import { RdbError } from "../../src/protocol/rdb/format.ts";
import { SnapshotLoader } from "../../src/replication/loader.ts";
import { concat } from "../../src/util/bytes.ts";
import { bytes, intset, listpack, rdbLen, rdbStr, ziplist } from "../fixtures/rdb/model.ts";
import { withEngine } from "./harness.ts";
import { cmd, freshDb } from "./nodes.ts";

function seal(body: Uint8Array): Uint8Array {
  const withEof = concat([body, Uint8Array.of(0xff)]);
  return concat([withEof, new Crc64().update(withEof).bytesLE()]);
}

function f64le(v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, true);
  return b;
}

const file = (...xs: (number | string | Uint8Array)[]) => seal(bytes("REDIS0009", 0xfe, 0, ...xs));

/** Each refused file and (part of) its error text. */
const REFUSED: [name: string, rdb: Uint8Array, error: RegExp][] = [
  ["duplicate set members (plain set)", file(0x02, rdbStr("s"), 3, rdbStr("a"), rdbStr("b"), rdbStr("a")), /^Duplicate set members detected \(key 's' in DB 0\)$/],
  ["duplicate set members (intset)", file(0x0b, rdbStr("s"), rdbStr(intset(2, [1, 1]))), /^Duplicate set members detected/],
  ["duplicate set members (set listpack)", file(0x14, rdbStr("s"), rdbStr(listpack(["x", "x"]))), /^Duplicate set members detected/],
  ["duplicate hash fields (plain hash)", file(0x04, rdbStr("h"), 2, rdbStr("f"), rdbStr("1"), rdbStr("f"), rdbStr("2")), /^Duplicate hash fields detected \(key 'h' in DB 0\)$/],
  ["duplicate hash fields (listpack)", file(0x10, rdbStr("h"), rdbStr(listpack(["f", "1", "f", "2"]))), /^Duplicate hash fields detected/],
  ["duplicate zset members (zset2)", file(0x05, rdbStr("z"), 2, rdbStr("m"), f64le(1), rdbStr("m"), f64le(2)), /^Duplicate zset fields detected \(key 'z' in DB 0\)$/],
  ["duplicate zset members (ziplist)", file(0x0c, rdbStr("z"), rdbStr(ziplist(["m", 1, "m", 2]))), /^Duplicate zset fields detected/],
  ["a key twice in one database", file(0x00, rdbStr("k"), rdbStr("1"), 0x00, rdbStr("k"), rdbStr("2")), /^RDB has duplicated key 'k' in DB 0$/],
  ["a key above KEY_BYTES_MAX", file(0x00, rdbStr("k".repeat(100 * 1024)), rdbStr("v")), /^key of 102400 bytes exceeds KEY_BYTES_MAX \(65536 bytes\)/],
  [
    "an LZF bomb (4 bytes claiming 100 MiB)",
    file(0x00, rdbStr("k"), 0xc3, rdbLen(4), rdbLen(100 * 1024 * 1024), 0, 0, 0, 0),
    /^string value of 104857600 bytes exceeds VALUE_BYTES_MAX \(16777216 bytes\)/,
  ],
  ["an element above ELEMENT_BYTES_MAX", file(0x02, rdbStr("s"), 1, rdbStr("m".repeat(1024 * 1024 + 1))), /^collection element of 1048577 bytes exceeds ELEMENT_BYTES_MAX/],
];

describe("snapshot loader: what Redis 7.0's loader refuses", () => {
  it.each(REFUSED)("refuses %s", async (_name, rdb, error) => {
    await withEngine((h) => {
      const loader = new SnapshotLoader(h.engine.ks);
      let err: unknown = null;
      try {
        loader.push(rdb);
        loader.finishAny();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RdbError);
      expect((err as Error).message).toMatch(error);
      loader.discard();
      // Nothing reached a live database (the staged rows are garbage the cron deletes).
      expect(h.run("dbsize")).toBe(0);
      expect(h.engine.ks.dbStats().reduce((n, d) => n + d.keys, 0)).toBe(0);
    });
  });

  it("skips empty collections as Redis does and stores true cardinalities", async () => {
    await withEngine((h) => {
      const loader = new SnapshotLoader(h.engine.ks);
      loader.push(
        file(
          0x02, rdbStr("empty-set"), 0,
          0x04, rdbStr("empty-hash"), 0,
          0x10, rdbStr("empty-listpack"), rdbStr(listpack([])),
          0x12, rdbStr("empty-quicklist"), 0,
          0x0e, rdbStr("empty-ziplists"), 1, rdbStr(ziplist([])),
          0x02, rdbStr("s"), 2, rdbStr("a"), rdbStr("b"),
          0x04, rdbStr("h"), 1, rdbStr("f"), rdbStr("v"),
          0x00, rdbStr("empty-string"), rdbStr(""),
        ),
      );
      const res = loader.finishAny();
      loader.swap();
      expect(res.keys).toBe(3);
      expect(res.emptyKeysSkipped).toBe(5);
      expect(h.run("dbsize")).toBe(3);
      expect(h.run("exists", "empty-set", "empty-hash", "empty-listpack", "empty-quicklist", "empty-ziplists")).toBe(0);
      expect(h.run("scard", "s")).toBe(2);
      expect(h.run("hlen", "h")).toBe(1);
      expect(h.run("strlen", "empty-string")).toBe(0);
    });
  });
});

const AUTH = { authorization: "Bearer test-token" };

describe("PUT /admin/restore refuses bad files and changes nothing", () => {
  it("each bad file answers 400 with its reason; the master's digest is unchanged", async () => {
    const db = freshDb("rlim");
    await cmd(db, "master", "SET", "keep", "me");
    await cmd(db, "master", "SADD", "set", "a", "b", "c");
    await cmd(db, "master", "HSET", "hash", "f", "v");
    const before = await cmd(db, "master", "DEBUG", "DIGEST");
    for (const [name, rdb, error] of REFUSED) {
      const res = await SELF.fetch(`https://example.com/db/${db}/admin/restore`, { method: "PUT", headers: AUTH, body: rdb });
      expect(res.status, name).toBe(400);
      const body = (await res.json()) as { error: string };
      expect(body.error.startsWith("ERR restore failed: "), name).toBe(true);
      expect(body.error.slice("ERR restore failed: ".length), name).toMatch(error);
      expect(await cmd(db, "master", "DEBUG", "DIGEST"), name).toBe(before);
    }
    expect(await cmd(db, "master", "SCARD", "set")).toBe(3);
  });

  it("an empty body is refused before anything is staged", async () => {
    const db = freshDb("rlim");
    await cmd(db, "master", "SET", "keep", "me");
    const before = await cmd(db, "master", "DEBUG", "DIGEST");
    const res = await SELF.fetch(`https://example.com/db/${db}/admin/restore`, { method: "PUT", headers: AUTH, body: new Uint8Array(0) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "ERR restore failed: empty body: PUT the bytes of an RDB file" });
    expect(await cmd(db, "master", "DEBUG", "DIGEST")).toBe(before);
  });

  it("a file with empty collections restores without them, with true cardinalities", async () => {
    const db = freshDb("rempty");
    await cmd(db, "master", "SET", "old", "1");
    const rdb = file(
      0x02, rdbStr("empty-set"), 0,
      0x10, rdbStr("empty-hash"), rdbStr(listpack([])),
      0x0b, rdbStr("ints"), rdbStr(intset(2, [1, 2, 3])),
      0x04, rdbStr("h"), 2, rdbStr("a"), rdbStr("1"), rdbStr("b"), rdbStr("2"),
    );
    const res = await SELF.fetch(`https://example.com/db/${db}/admin/restore`, { method: "PUT", headers: AUTH, body: rdb });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { restored: number }).restored).toBe(2);
    expect(await cmd(db, "master", "DBSIZE")).toBe(2);
    expect(await cmd(db, "master", "EXISTS", "empty-set", "empty-hash", "old")).toBe(0);
    expect(await cmd(db, "master", "SCARD", "ints")).toBe(3);
    expect(await cmd(db, "master", "HLEN", "h")).toBe(2);
  });
});
