/**
 * Arguments far beyond a collection's size (issue 6 item 3's audit) cost what the collection
 * and the result warrant and answer as redis-server 7.0.15 does (replies recorded from it):
 * counts, offsets and limits up to LONG_MAX, which SQLite would refuse as bound doubles.
 */
import { describe, expect, it } from "vitest";
import type { Reply } from "../../src/protocol/reply.ts";
import { utf8 } from "../../src/util/bytes.ts";
import { norm, run, withEngine } from "./harness.ts";

const BIG = "9223372036854775807";
const NBIG = "-9223372036854775807";

describe("huge counts, offsets and indexes", () => {
  it("lists, sorted sets, scans and strings answer as redis-server", async () => {
    await withEngine((h) => {
      run(h, "rpush", "l", "a", "b", "a", "c");
      run(h, "zadd", "z", "1", "a", "2", "b", "3", "c");
      run(h, "sadd", "s", "a", "b", "c");
      run(h, "hset", "h", "a", "1", "b", "2");
      run(h, "set", "str", "hello");
      const cases: [string[], unknown][] = [
        [["lrem", "l", BIG, "a"], 2],
        [["lrem", "l", NBIG, "zz"], 0],
        [["lrange", "l", NBIG, BIG], ["b", "c"]],
        [["ltrim", "l", NBIG, BIG], "+OK"],
        [["lpos", "l", "c", "RANK", BIG, "COUNT", BIG, "MAXLEN", BIG], []],
        [["lpos", "l", "c", "RANK", NBIG], null],
        [["lpop", "l", BIG], ["b", "c"]],
        [["zrange", "z", NBIG, BIG], ["a", "b", "c"]],
        [["zrange", "z", "-inf", "+inf", "BYSCORE", "LIMIT", BIG, BIG], []],
        [["zrange", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "0", BIG], ["a", "b", "c"]],
        [["zrange", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", NBIG], ["b", "c"]],
        [["zrange", "z", "-", "+", "BYLEX", "LIMIT", BIG, "1"], []],
        [["zrange", "z", "-", "+", "BYLEX", "LIMIT", "1", BIG], ["b", "c"]],
        [["zrangebyscore", "z", "-inf", "+inf", "LIMIT", "1", BIG], ["b", "c"]],
        [["zrevrangebyscore", "z", "+inf", "-inf", "LIMIT", "0", BIG], ["c", "b", "a"]],
        [["zremrangebyrank", "z", BIG, NBIG], 0],
        [["zscan", "z", "0", "COUNT", BIG], ["0", ["a", "1", "b", "2", "c", "3"]]],
        [["hscan", "h", "0", "COUNT", BIG], ["0", ["a", "1", "b", "2"]]],
        [["getrange", "str", NBIG, BIG], "hello"],
        [["getrange", "str", BIG, NBIG], ""],
        [["setrange", "str", BIG, "x"], { err: "ERR string exceeds maximum allowed size (proto-max-bulk-len)" }],
        [["hrandfield", "h", BIG, "WITHVALUES"], { err: "ERR value is out of range" }],
        [["expire", "str", BIG], { err: "ERR invalid expire time in 'expire' command" }],
        [["set", "str", "v", "PX", BIG], { err: "ERR invalid expire time in 'set' command" }],
        [["zpopmin", "z", BIG], ["a", 1, "b", 2, "c", 3]],
      ];
      for (const [args, want] of cases) expect(run(h, ...args), args.join(" ")).toEqual(want);
      const scan = run(h, "scan", "0", "COUNT", BIG) as [string, string[]];
      expect(scan[0]).toBe("0");
      expect(scan[1].sort()).toEqual(["h", "s", "str"]);
      expect((run(h, "sscan", "s", "0", "COUNT", BIG) as [string, string[]])[1].sort()).toEqual(["a", "b", "c"]);
    });
  });

  it("a sorted set past the whole-reply size pages ZSCAN with a huge COUNT", async () => {
    await withEngine((h) => {
      run(h, "zadd", "big", ...Array.from({ length: 300 }, (_, i) => [String(i), `m${i}`]).flat());
      const [cursor, items] = run(h, "zscan", "big", "0", "COUNT", BIG) as [string, string[]];
      expect(cursor).toBe("0");
      expect(items.length).toBe(600);
      expect(run(h, "zrange", "big", "-inf", "+inf", "BYSCORE", "LIMIT", "299", BIG)).toEqual(["m299"]);
    });
  });
});

describe("many items in one command (found by the 2026-11-30 audit)", () => {
  it("ZUNION of 150,000 members, BITFIELD of 150,000 SETs, struct.pack of 300 KB: no 'Maximum call stack size exceeded'", async () => {
    await withEngine((h) => {
      // Built and sent as arrays: spreading 300,000 arguments into a call overflows the stack here too.
      const exec = (argv: string[]) => norm(h.engine.execute(h.session, argv.map(utf8)) as Reply);
      for (let b = 0; b < 150_000; b += 10_000) {
        const argv = ["zadd", "z"];
        for (let i = b; i < b + 10_000; i++) argv.push(String(i), `m${i}`);
        expect(exec(argv)).toBe(10_000);
      }
      expect(run(h, "zunionstore", "zd", "2", "z", "z")).toBe(150_000);
      expect(run(h, "zscore", "zd", "m149999")).toBe(299998);
      expect((run(h, "zunion", "1", "z") as string[]).length).toBe(150_000);
      const bitfield = ["bitfield", "bf"];
      for (let i = 0; i < 150_000; i++) bitfield.push("SET", "u1", String(i), "1");
      expect((exec(bitfield) as number[]).length).toBe(150_000);
      expect(run(h, "bitcount", "bf")).toBe(150_000);
      expect(run(h, "eval", "return #struct.pack('c0', string.rep('x', 300000))", "0")).toBe(300_000);
    });
  });

  it("a key named by an option (SORT … STORE, GEORADIUS … STORE/STOREDIST) obeys the key limit; nothing is created", async () => {
    await withEngine((h) => {
      const long = "K".repeat(64 * 1024 + 1);
      run(h, "rpush", "l", "3", "1", "2");
      run(h, "geoadd", "g", "13.361389", "38.115556", "m1");
      const tooBig = { err: "ERR key exceeds the limit of 65536 bytes" };
      expect(run(h, "sort", "l", "store", long)).toEqual(tooBig);
      expect(run(h, "georadius", "g", "13.36", "38.11", "10", "km", "store", long)).toEqual(tooBig);
      expect(run(h, "georadiusbymember", "g", "m1", "10", "km", "storedist", long)).toEqual(tooBig);
      expect(run(h, "dbsize")).toBe(2);
      expect(run(h, "sort", "l", "store", "dst")).toBe(3);
    });
  });
});
