/**
 * DEBUG DIGEST / DIGEST-VALUE against values printed by redis-server 7.0.15 for the same
 * datasets (see /work/shared/research/exp/digest.py; the second dataset was loaded into
 * redis-server 7.0.15 and its DEBUG DIGEST read back). Rows are written straight through
 * the Keyspace API and SQL so these tests do not depend on the command implementations.
 */
import { describe, expect, it } from "vitest";
import { datasetDigest, valueDigest } from "../../src/keyspace/digest.ts";
import { TYPE, type TypeCode } from "../../src/keyspace/schema.ts";
import type { Keyspace, KeyMeta } from "../../src/keyspace/store.ts";
import { utf8 } from "../../src/util/bytes.ts";
import { withEngine } from "./harness.ts";

const ZEROS = "0".repeat(40);
const FAR_FUTURE_MS = Date.now() + 1_000_000_000;

type Value =
  | { type: "string"; v: Uint8Array | string }
  | { type: "list"; v: string[] }
  | { type: "set"; v: string[] }
  | { type: "hash"; v: [string, string][] }
  | { type: "zset"; v: [string, number][] };

function put(ks: Keyspace, db: number, key: string, val: Value, expireMs: number | null = null): KeyMeta {
  const m = ks.create(db, utf8(key), TYPE[val.type] as TypeCode, expireMs);
  switch (val.type) {
    case "string":
      ks.writeString(m, typeof val.v === "string" ? utf8(val.v) : val.v);
      return m;
    case "list":
      val.v.forEach((e, i) => ks.sql.exec("INSERT INTO kv_list (kid, pos, value) VALUES (?, ?, ?)", m.id, i, utf8(e)));
      m.lhead = 0;
      m.ltail = val.v.length;
      break;
    case "set":
      for (const e of val.v) ks.sql.exec("INSERT INTO kv_set (kid, member) VALUES (?, ?)", m.id, utf8(e));
      break;
    case "hash":
      for (const [f, v] of val.v) ks.sql.exec("INSERT INTO kv_hash (kid, field, value) VALUES (?, ?, ?)", m.id, utf8(f), utf8(v));
      break;
    case "zset":
      for (const [e, s] of val.v) ks.sql.exec("INSERT INTO kv_zset (kid, member, score) VALUES (?, ?, ?)", m.id, utf8(e), s);
      break;
  }
  m.card = val.v.length;
  ks.saveCollection(m);
  return m;
}

/** The 7-key dataset of digest.py, one key with a TTL; `order` permutes insertion. */
function loadBasic(ks: Keyspace, order: number[] = [0, 1, 2, 3, 4, 5, 6]): void {
  const keys: [string, Value, number | null][] = [
    ["str", { type: "string", v: "hello" }, null],
    ["withttl", { type: "string", v: "v" }, FAR_FUTURE_MS],
    ["list", { type: "list", v: ["a", "b", "c"] }, null],
    ["set", { type: "set", v: ["x", "y"] }, null],
    ["hash", { type: "hash", v: [["f1", "v1"], ["f2", "v2"]] }, null],
    ["zset", { type: "zset", v: [["m1", 1.5], ["m2", -2]] }, null],
    ["after", { type: "string", v: "1" }, null],
  ];
  for (const i of order) {
    const [k, v, e] = keys[i]!;
    put(ks, 0, k, v, e);
  }
}

describe("DEBUG DIGEST", () => {
  it("is all zeros for an empty dataset", async () => {
    await withEngine((h) => {
      expect(datasetDigest(h.engine.ks)).toBe(ZEROS);
    });
  });

  it("matches redis-server 7.0.15 on the digest.py dataset (strings, TTL, list, set, hash, zset)", async () => {
    await withEngine((h) => {
      loadBasic(h.engine.ks);
      expect(datasetDigest(h.engine.ks)).toBe("0592c9888e721de5aab09d1e473c07a1fd9ee18d");
    });
  });

  it("does not depend on insertion order of keys or elements", async () => {
    await withEngine((h) => {
      const ks = h.engine.ks;
      loadBasic(ks, [6, 5, 4, 3, 2, 1, 0]);
      expect(datasetDigest(ks)).toBe("0592c9888e721de5aab09d1e473c07a1fd9ee18d");
    });
  });

  it("counts TTL presence, not its value", async () => {
    await withEngine((h) => {
      const ks = h.engine.ks;
      loadBasic(ks);
      const m = ks.peek(0, utf8("withttl"))!;
      ks.setExpire(m, FAR_FUTURE_MS + 12345);
      expect(datasetDigest(ks)).toBe("0592c9888e721de5aab09d1e473c07a1fd9ee18d");
      ks.setExpire(m, null);
      expect(datasetDigest(ks)).not.toBe("0592c9888e721de5aab09d1e473c07a1fd9ee18d");
    });
  });

  it("includes keys that are logically expired but still stored (Redis walks the dict)", async () => {
    await withEngine((h) => {
      const ks = h.engine.ks;
      loadBasic(ks);
      ks.setExpire(ks.peek(0, utf8("withttl"))!, 1);
      expect(datasetDigest(ks)).toBe("0592c9888e721de5aab09d1e473c07a1fd9ee18d");
    });
  });

  it("mixes each non-empty db once, in ascending order (db 0 + db 3)", async () => {
    await withEngine((h) => {
      const ks = h.engine.ks;
      put(ks, 3, "k", { type: "string", v: "v" });
      loadBasic(ks);
      expect(datasetDigest(ks)).toBe("9d042abad8455183b5f57ecb84d4c4a53928be94");
    });
  });

  it("streams big values: chunked string, 3000-element list, %.17g scores, inf (redis-server 7.0.15)", async () => {
    await withEngine((h) => {
      const ks = h.engine.ks;
      const big = new Uint8Array(2_500_000);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) % 256;
      const bm = put(ks, 0, "big", { type: "string", v: big });
      expect(bm.nchunks).toBeGreaterThan(0);
      put(ks, 5, "L", { type: "list", v: Array.from({ length: 3000 }, (_, i) => `e${i}`) });
      const z: [string, number][] = Array.from({ length: 2000 }, (_, i) => [`m${i}`, i / 10] as [string, number]);
      z.push(["pinf", Infinity], ["ninf", -Infinity], ["tiny", 1e-300], ["huge", 1.5e300]);
      const zm = put(ks, 5, "z", { type: "zset", v: z });
      put(ks, 5, "h", { type: "hash", v: Array.from({ length: 1500 }, (_, i) => [`f${i}`, `v${i * 3}`] as [string, string]) });
      put(ks, 5, "s", { type: "set", v: Array.from({ length: 1500 }, (_, i) => `s${i}`) });
      put(ks, 5, "t", { type: "string", v: "x" }, FAR_FUTURE_MS);
      expect(datasetDigest(ks)).toBe("29dd55b4ecacc582e279d4e26aa20c9eb7ab6011");
      expect(valueDigest(ks, ks.peek(5, utf8("z")))).toBe("8fc03a1532788538a8c26aac3586823ea02eae81");
      expect(valueDigest(ks, zm)).toBe("8fc03a1532788538a8c26aac3586823ea02eae81");
    });
  });
});

describe("DEBUG DIGEST-VALUE", () => {
  it("matches redis-server 7.0.15 per key: type + value + TTL presence, no key name", async () => {
    await withEngine((h) => {
      const ks = h.engine.ks;
      loadBasic(ks);
      const cases: [string, string][] = [
        ["str", "36b23a1456b2dce2c3ed252c456761301dba8060"],
        ["withttl", "311b17018163335616e089f6b951c82c477335ac"],
        ["zset", "2810f5adfcaae3bf62b990a68cd1b8ad5774474f"],
      ];
      for (const [k, want] of cases) expect(valueDigest(ks, ks.peek(0, utf8(k))), k).toBe(want);
      expect(valueDigest(ks, ks.peek(0, utf8("nokey")))).toBe(ZEROS);
      expect(valueDigest(ks, null)).toBe(ZEROS);
    });
  });

  it("is independent of the key name and db", async () => {
    await withEngine((h) => {
      const ks = h.engine.ks;
      const m = put(ks, 7, "other-name", { type: "string", v: "hello" });
      expect(valueDigest(ks, m)).toBe("36b23a1456b2dce2c3ed252c456761301dba8060");
    });
  });
});
