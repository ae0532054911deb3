/**
 * SET key value runs as one upsert statement when it can; every case it cannot take goes
 * the general way with the same result and the same stream.
 */
import { describe, expect, it } from "vitest";
import { utf8 } from "../../src/util/bytes.ts";
import { run, stream, withEngine } from "./harness.ts";

const T0 = 1_700_000_000_000;

describe("SET fast path", () => {
  it("new key and overwrite keep Redis semantics: same row id, TTL removed, one SET propagated each", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      expect(run(h, "set", "k", "a")).toBe("+OK");
      const id = h.engine.ks.peek(0, utf8("k"))!.id;
      expect(run(h, "pexpire", "k", 5000)).toBe(1);
      expect(run(h, "set", "k", "b")).toBe("+OK");
      expect(h.engine.ks.peek(0, utf8("k"))!.id).toBe(id);
      expect(run(h, "pttl", "k")).toBe(-1);
      expect(run(h, "get", "k")).toBe("b");
      expect(stream(h).filter((c) => c[0]!.toLowerCase() === "set")).toEqual([
        ["set", "k", "a"],
        ["set", "k", "b"],
      ]);
    });
  });

  it("falls back for another type, a chunked string and an expired key (DEL propagated with it)", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      run(h, "sadd", "s", "x");
      expect(run(h, "set", "s", "v")).toBe("+OK");
      expect(run(h, "type", "s")).toBe("+string");
      expect(h.engine.ks.sql.exec("SELECT count(*) AS n FROM kv_set").one().n).toBe(0);

      const big = "z".repeat(3 * 1024 * 1024);
      run(h, "set", "big", big);
      expect(h.engine.ks.peek(0, utf8("big"))!.nchunks).toBeGreaterThan(0);
      expect(run(h, "set", "big", "small")).toBe("+OK");
      expect(run(h, "get", "big")).toBe("small");
      expect(h.engine.ks.sql.exec("SELECT count(*) AS n FROM kv_strchunk").one().n).toBe(0);

      run(h, "set", "e", "old", "px", 10);
      h.setNow(T0 + 20);
      const before = stream(h).length;
      expect(run(h, "set", "e", "new")).toBe("+OK");
      // Redis 7.0: the lazy-expire DEL and the SET are one execution unit, wrapped.
      expect(stream(h).slice(before)).toEqual([["MULTI"], ["DEL", "e"], ["set", "e", "new"], ["EXEC"]]);
      expect(run(h, "get", "e")).toBe("new");
      expect(run(h, "pttl", "e")).toBe(-1);
    });
  });

  it("a replica applying the stream overwrites a key whose TTL passed (no DEL of its own)", async () => {
    await withEngine((h) => {
      h.setNow(T0);
      run(h, "set", "e", "old", "px", 10);
      h.setNow(T0 + 20);
      const ks = h.engine.ks;
      ks.expiryMode = "stream";
      expect(ks.setPlainString(0, utf8("e"), utf8("new"))).toBe(true);
      ks.expiryMode = "master";
      expect(ks.peek(0, utf8("e"))!.expireMs).toBeNull();
      expect(run(h, "get", "e")).toBe("new");
    });
  });

  it("is off while a snapshot watches writes (serialize-before-mutate needs the old value)", async () => {
    await withEngine((h) => {
      const ks = h.engine.ks;
      run(h, "set", "k", "a");
      ks.hooks.writesWatched = () => true;
      const seen: number[] = [];
      ks.hooks.beforeWrite = (m) => seen.push(m.id);
      expect(ks.setPlainString(0, utf8("k"), utf8("b"))).toBe(false);
      expect(run(h, "set", "k", "b")).toBe("+OK");
      expect(seen).toEqual([ks.peek(0, utf8("k"))!.id]);
      expect(run(h, "get", "k")).toBe("b");
    });
  });
});
