/**
 * Arguments far beyond a collection's size (issue 6 item 3's audit) cost what the collection
 * and the result warrant and answer as redis-server 7.0.15 does (replies recorded from it):
 * counts, offsets and limits up to LONG_MAX, which SQLite would refuse as bound doubles.
 */
import { describe, expect, it } from "vitest";
import { run, withEngine } from "./harness.ts";

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
