/**
 * Behaviours Redis 7.0's own test suite expects (issue 11 item 5): writes that change
 * nothing do not invalidate WATCH, CONFIG SET inside MULTI is queued, INFO has every section.
 * Reference replies recorded from redis-server 7.0.15.
 */
import { describe, expect, it } from "vitest";
import { newSession } from "../../src/keyspace/command.ts";
import { type Reply, Verbatim } from "../../src/protocol/reply.ts";
import { encodeReply } from "../../src/protocol/resp.ts";
import { utf8 } from "../../src/util/bytes.ts";
import { norm, run, withEngine } from "./harness.ts";

describe("WATCH: a write that changes nothing keeps the transaction", () => {
  it("WATCH on a missing key survives FLUSHALL and FLUSHDB of an empty database", async () => {
    await withEngine((h) => {
      const other = newSession();
      h.run("watch", "x");
      h.engine.execute(other, [utf8("flushall")]);
      h.engine.execute(other, [utf8("flushdb")]);
      h.run("multi");
      h.run("ping");
      expect(run(h, "exec")).toEqual(["+PONG"]);
    });
  });

  it("FLUSHDB of another database with the watched name does not touch it; of its own does", async () => {
    await withEngine((h) => {
      const other = newSession({ db: 1 });
      h.run("set", "x", "1");
      h.engine.execute(other, [utf8("set"), utf8("y"), utf8("1")]);
      h.run("watch", "x");
      h.engine.execute(other, [utf8("flushdb")]); // db 1: x lives in db 0
      h.run("multi");
      h.run("get", "x");
      expect(run(h, "exec")).toEqual(["1"]);
      h.run("watch", "x");
      h.engine.execute(other, [utf8("flushall")]);
      h.run("multi");
      h.run("get", "x");
      expect(run(h, "exec")).toBe("(nil array)");
    });
  });

  it("SMOVE of a member the destination already holds touches the source only", async () => {
    await withEngine((h) => {
      const other = newSession();
      run(h, "sadd", "src", "a", "b");
      run(h, "sadd", "dst", "a");
      h.run("watch", "dst");
      expect(h.engine.execute(other, ["smove", "src", "dst", "a"].map(utf8))).toBe(1);
      h.run("multi");
      h.run("scard", "dst");
      expect(run(h, "exec")).toEqual([1]);
      h.run("watch", "src");
      expect(h.engine.execute(other, ["smove", "src", "dst", "b"].map(utf8))).toBe(1);
      h.run("multi");
      h.run("scard", "dst");
      expect(run(h, "exec")).toBe("(nil array)");
      // A member added to the destination touches it.
      run(h, "sadd", "src", "c");
      h.run("watch", "dst");
      h.engine.execute(other, ["smove", "src", "dst", "c"].map(utf8));
      h.run("multi");
      h.run("scard", "dst");
      expect(run(h, "exec")).toBe("(nil array)");
    });
  });
});

describe("MULTI: commands Redis 7.0 queues", () => {
  it("CONFIG SET is queued and its error comes back from EXEC; CONFIG GET, HELLO and DEBUG DIGEST run inside EXEC", async () => {
    await withEngine((h) => {
      expect(run(h, "multi")).toBe("+OK");
      expect(run(h, "config", "set", "maxmemory-policy", "bogus")).toBe("+QUEUED");
      expect(run(h, "config", "get", "nosuch")).toBe("+QUEUED");
      expect(run(h, "debug", "digest")).toBe("+QUEUED");
      expect(run(h, "hello", "2")).toBe("+QUEUED");
      expect(run(h, "debug", "restart")).toBe("+QUEUED");
      const r = run(h, "exec") as unknown[];
      expect(r[0]).toEqual({ err: "ERR unsupported in the harness" });
      expect(r[2]).toBe("+" + "0".repeat(40));
      expect(r[4]).toEqual({ err: "ERR DEBUG RESTART is not allowed inside MULTI" });
    });
  });
});

describe("MULTI: CLIENT and WAIT queue as in Redis 7.0", () => {
  // redis-server 7.0.15: MULTI, CLIENT SETNAME x, CLIENT GETNAME, WAIT 0 0, WAIT 1 100,
  // CLIENT UNBLOCK 99999, CLIENT KILL ID 99999, EXEC → [OK, "x", 0, 0, 0, 0]: WAIT inside a
  // transaction answers the replicas acked so far without waiting.
  it("CLIENT subcommands and WAIT are queued and run by EXEC without blocking", async () => {
    await withEngine((h) => {
      expect(run(h, "multi")).toBe("+OK");
      for (const argv of [
        ["client", "setname", "x"],
        ["client", "getname"],
        ["wait", "0", "0"],
        ["wait", "1", "100"],
        ["client", "unblock", "99999"],
        ["client", "kill", "id", "99999"],
      ]) {
        expect(run(h, ...argv)).toBe("+QUEUED");
      }
      const r = h.run("exec");
      expect(r instanceof Promise).toBe(false);
      expect(norm(r as Reply)).toEqual(["+OK", "x", 0, 0, 0, 0]);
      // Scripts still refuse WAIT (noscript), as redis-server does.
      expect(run(h, "eval", "return redis.call('wait', 0, 0)", "0")).toMatchObject({ err: expect.stringContaining("This Redis command is not allowed from script") });
    });
  });
});

describe("INFO: every section Redis 7.0 prints", () => {
  const text = (r: unknown) => (r as Verbatim).text;
  const headers = (s: string) => s.split("\r\n").filter((l) => l.startsWith("# "));

  it("INFO, INFO all and INFO everything list the sections in Redis's order", async () => {
    await withEngine((h) => {
      run(h, "set", "a", "1");
      run(h, "lpush", "a", "x"); // WRONGTYPE: counted in errorstats
      const def = [
        "# Server",
        "# Clients",
        "# Memory",
        "# Persistence",
        "# Stats",
        "# Replication",
        "# CPU",
        "# Modules",
        "# Errorstats",
        "# Cluster",
        "# Keyspace",
      ];
      expect(headers(text(h.run("info")))).toEqual(def);
      expect(headers(text(h.run("info", "default")))).toEqual(def);
      const all = [...def.slice(0, 8), "# Commandstats", "# Errorstats", "# Latencystats", "# Cluster", "# Keyspace"];
      expect(headers(text(h.run("info", "all")))).toEqual(all);
      expect(headers(text(h.run("info", "everything")))).toEqual(all);
      expect(headers(text(h.run("info", "keyspace", "CPU")))).toEqual(["# CPU", "# Keyspace"]);
      const full = text(h.run("info", "everything"));
      expect(full).toContain("errorstat_WRONGTYPE:count=1");
      expect(full).toContain("cmdstat_set:calls=1,");
      expect(full).toContain("db0:keys=1,expires=0,avg_ttl=0");
      expect(full).toMatch(/total_error_replies:1\r\n/);
      expect(full).toContain("cluster_enabled:0");
      expect(Number(/used_memory:(\d+)/.exec(full)![1])).toBeGreaterThan(0);
    });
  });
});

describe("unknown command: redis-server 7.0.15's bytes", () => {
  it("quotes the name and up to 128 bytes of arguments raw, each cut at a NUL byte", async () => {
    await withEngine((h) => {
      const b = (...x: number[]) => Uint8Array.from(x);
      const enc = new TextEncoder();
      // Recorded from redis-server 7.0.15 for the same argv.
      const cases: [Uint8Array[], Uint8Array][] = [
        [[enc.encode("a\0b"), enc.encode("x\0y"), b(0xff, 0xfe)], Uint8Array.from([...enc.encode("-ERR unknown command 'a', with args beginning with: 'x' '"), 0xff, 0xfe, ...enc.encode("' \r\n")])],
        [[b(0xc3, 0xa9, 0x74, 0xff), enc.encode("z".repeat(200))], Uint8Array.from([...enc.encode("-ERR unknown command '"), 0xc3, 0xa9, 0x74, 0xff, ...enc.encode(`', with args beginning with: '${"z".repeat(128)}' \r\n`)])],
        [[enc.encode("q"), enc.encode("a".repeat(100)), enc.encode("b".repeat(100))], enc.encode(`-ERR unknown command 'q', with args beginning with: '${"a".repeat(100)}' '${"b".repeat(25)}' \r\n`)],
      ];
      for (const [argv, want] of cases) expect(Array.from(encodeReply(h.engine.execute(h.session, argv) as Reply))).toEqual(Array.from(want));
    });
  });

  it("unknown subcommands are quoted the same way (OBJECT CONFIG SCRIPT FUNCTION CLIENT; PUBSUB needs a node's hub)", async () => {
    await withEngine((h) => {
      const enc = new TextEncoder();
      const cases: [string, number[], number[]][] = [
        ["OBJECT", [0xff, 0, 0x7a], [0xff]],
        ["CONFIG", [0xff, 0x61, 0x62, 0x63], [0xff, 0x61, 0x62, 0x63]],
        ["SCRIPT", [0xfe], [0xfe]],
        ["FUNCTION", [0x78, 0xff], [0x78, 0xff]],
        ["CLIENT", [0xff, 0xff], [0xff, 0xff]],
      ];
      for (const [cmd, arg, quoted] of cases) {
        const argv = [enc.encode(cmd), Uint8Array.from(arg), ...(cmd === "OBJECT" ? [enc.encode("k")] : [])];
        const want = [...enc.encode("-ERR unknown subcommand '"), ...quoted, ...enc.encode(`'. Try ${cmd} HELP.\r\n`)];
        expect([cmd, Array.from(encodeReply(h.engine.execute(h.session, argv) as Reply))]).toEqual([cmd, want]);
      }
    });
  });
});
