/** MULTI/EXEC/DISCARD/WATCH in the engine, and how transactions reach the stream. */
import { describe, expect, it } from "vitest";
import { newSession } from "../../src/keyspace/command.ts";
import { NIL_ARRAY, RedisError, Simple } from "../../src/protocol/reply.ts";
import { str, utf8 } from "../../src/util/bytes.ts";
import { decodeCommands, withEngine } from "./harness.ts";

const text = (r: unknown) => (r instanceof Uint8Array ? str(r) : r instanceof Simple ? r.s : r instanceof RedisError ? `-${r.msg}` : r);


describe("transactions", () => {
  it("MULTI queues, EXEC runs atomically and replies per command, wrapped in MULTI/EXEC in the stream", async () => {
    await withEngine((h) => {
      expect(text(h.run("multi"))).toBe("OK");
      expect(text(h.run("set", "a", "1"))).toBe("QUEUED");
      expect(text(h.run("incr", "a"))).toBe("QUEUED");
      expect(text(h.run("lpush", "a", "x"))).toBe("QUEUED"); // fails at run time: WRONGTYPE
      expect(text(h.run("get", "a"))).toBe("QUEUED");
      const r = h.run("exec") as unknown[];
      expect(r.map(text)).toEqual(["OK", 2, "-WRONGTYPE Operation against a key holding the wrong kind of value", "2"]);
      expect(decodeCommands(h.stream())).toEqual([["SELECT", "0"], ["MULTI"], ["set", "a", "1"], ["incr", "a"], ["EXEC"]]);
    });
  });

  it("a single write inside MULTI is propagated bare; nested MULTI and EXEC/DISCARD without MULTI are errors", async () => {
    await withEngine((h) => {
      h.run("multi");
      expect(text(h.run("multi"))).toBe("-ERR MULTI calls can not be nested");
      h.run("set", "k", "v");
      h.run("get", "k");
      expect((h.run("exec") as unknown[]).map(text)).toEqual(["OK", "v"]);
      expect(decodeCommands(h.stream())).toEqual([["SELECT", "0"], ["set", "k", "v"]]);
      expect(text(h.run("exec"))).toBe("-ERR EXEC without MULTI");
      expect(text(h.run("discard"))).toBe("-ERR DISCARD without MULTI");
    });
  });

  it("a command refused while queueing aborts the whole transaction (EXECABORT), nothing runs", async () => {
    await withEngine((h) => {
      h.run("multi");
      h.run("set", "a", "1");
      expect(text(h.run("get"))).toBe("-ERR wrong number of arguments for 'get' command");
      expect(text(h.run("nosuch"))).toMatch(/^-ERR unknown command 'nosuch'/);
      expect(text(h.run("exec"))).toBe("-EXECABORT Transaction discarded because of previous errors.");
      expect(h.run("exists", "a")).toBe(0);
      expect(h.stream().length).toBe(0);
    });
  });

  it("DISCARD drops the queue", async () => {
    await withEngine((h) => {
      h.run("multi");
      h.run("set", "a", "1");
      expect(text(h.run("discard"))).toBe("OK");
      expect(h.run("exists", "a")).toBe(0);
    });
  });

  it("WATCH: EXEC answers nil when a watched key changed (another session, an expiry), runs otherwise", async () => {
    await withEngine((h) => {
      const other = newSession();
      h.run("set", "w", "1");
      h.run("watch", "w");
      h.engine.execute(other, [utf8("set"), utf8("w"), utf8("2")]);
      h.run("multi");
      h.run("set", "w", "3");
      expect(h.run("exec")).toBe(NIL_ARRAY);
      expect(text(h.run("get", "w"))).toBe("2");
      // Unchanged watched key: runs.
      h.run("watch", "w");
      h.run("multi");
      h.run("set", "w", "4");
      expect((h.run("exec") as unknown[]).map(text)).toEqual(["OK"]);
      // A write that changes nothing does not invalidate.
      h.run("watch", "w");
      h.engine.execute(other, [utf8("del"), utf8("missing")]);
      h.run("multi");
      h.run("get", "w");
      expect((h.run("exec") as unknown[]).map(text)).toEqual(["4"]);
      // UNWATCH forgets.
      h.run("watch", "w");
      h.engine.execute(other, [utf8("set"), utf8("w"), utf8("5")]);
      h.run("unwatch");
      h.run("multi");
      h.run("get", "w");
      expect((h.run("exec") as unknown[]).map(text)).toEqual(["5"]);
      // A key expired by the master (lazily, on access by another session) counts as changed.
      h.run("set", "t", "v", "PX", "100");
      h.run("watch", "t");
      h.setNow(Date.now() + 1000);
      h.engine.execute(other, [utf8("get"), utf8("t")]);
      h.run("multi");
      h.run("set", "t", "again");
      expect(h.run("exec")).toBe(NIL_ARRAY);
      expect(text(h.run("watch"))).toBe("-ERR wrong number of arguments for 'watch' command");
      h.run("multi");
      expect(text(h.run("watch", "x"))).toBe("-ERR WATCH inside MULTI is not allowed");
      h.run("discard");
    });
  });
});

describe("expiry", () => {
  it("lazy expiry on a master deletes on access and propagates DEL; active expiry deletes in batches", async () => {
    await withEngine((h) => {
      const t0 = Date.now();
      h.run("set", "a", "1", "PX", "50");
      h.run("set", "b", "1", "PX", "50");
      h.run("set", "c", "1");
      h.setNow(t0 + 1000);
      expect(h.run("get", "a")).toBeNull();
      expect(h.engine.activeExpire(100)).toBe(1); // b
      expect(h.engine.ks.dbSize(0)).toBe(1);
      const cmds = decodeCommands(h.stream()).map((c) => c.join(" "));
      expect(cmds.filter((c) => c.startsWith("DEL"))).toEqual(["DEL a", "DEL b"]);
      expect(cmds.some((c) => /^SET a 1 PXAT \d+$/.test(c))).toBe(true);
    });
  });

  it("a replica never deletes expired keys but reports them missing; its stream applier sees them", async () => {
    await withEngine((h) => {
      const t0 = Date.now();
      h.run("set", "a", "1", "PX", "50");
      h.engine.replicaMode = true;
      h.engine.ks.expiryMode = "replica";
      h.setNow(t0 + 1000);
      expect(h.run("get", "a")).toBeNull();
      expect(h.run("exists", "a")).toBe(0);
      expect(h.run("ttl", "a")).toBe(-2);
      expect(h.engine.activeExpire(100)).toBe(0);
      expect(h.engine.ks.dbSize(0)).toBe(1);
      const master = newSession({ isMasterLink: true });
      expect(text(h.engine.applyFromMaster(master, [utf8("DEL"), utf8("a")]))).toBe(1);
      expect(h.engine.ks.dbSize(0)).toBe(0);
    });
  });
});
