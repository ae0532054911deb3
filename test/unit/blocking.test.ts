/**
 * The blocked-client registry (keyspace/blocking.ts): FIFO per key, keys served in the order
 * they became ready and signalled once per round, clients leaving every queue, deadlines;
 * and the timeout argument as redis-server 7.0.15 reads it (recorded with redis-cli).
 */
import { describe, expect, it } from "vitest";
import { BlockingRegistry } from "../../src/keyspace/blocking.ts";
import { timeoutArg } from "../../src/keyspace/commands/blocking.ts";
import { RedisError } from "../../src/protocol/reply.ts";
import { str, utf8 } from "../../src/util/bytes.ts";

const k = utf8;
const ids = (cs: { id: number }[]) => cs.map((c) => c.id);

function reg() {
  return new BlockingRegistry<string>();
}

describe("BlockingRegistry", () => {
  it("queues clients per key first-blocked first, and a client blocked on several keys in each", () => {
    const r = reg();
    r.block({ id: 1, db: 0, keys: [k("a"), k("b")], kind: "list", deadlineMs: null, data: "one" });
    r.block({ id: 2, db: 0, keys: [k("b")], kind: "list", deadlineMs: null, data: "two" });
    r.block({ id: 3, db: 1, keys: [k("a")], kind: "zset", deadlineMs: null, data: "three" });
    expect(ids(r.waiters(0, k("a")))).toEqual([1]);
    expect(ids(r.waiters(0, k("b")))).toEqual([1, 2]);
    expect(ids(r.waiters(1, k("a")))).toEqual([3]);
    expect(r.size).toBe(3);
    expect(r.keyCount).toBe(3);
    expect(r.unblock(1)?.data).toBe("one");
    expect(ids(r.waiters(0, k("b")))).toEqual([2]);
    expect(r.waiters(0, k("a"))).toEqual([]);
    expect(r.keyCount).toBe(2);
    expect(r.unblock(1)).toBeUndefined();
  });

  it("a key named twice queues the client once; a client cannot block twice", () => {
    const r = reg();
    const e = r.block({ id: 1, db: 0, keys: [k("a"), k("a"), k("b")], kind: "list", deadlineMs: null, data: "" });
    expect(e.keys.map(str)).toEqual(["a", "b"]);
    expect(ids(r.waiters(0, k("a")))).toEqual([1]);
    expect(() => r.block({ id: 1, db: 0, keys: [k("c")], kind: "list", deadlineMs: null, data: "" })).toThrow(/already blocked/);
  });

  it("ready keys: only keys someone waits for, in signal order, once per round; signals while serving start the next round", () => {
    const r = reg();
    r.block({ id: 1, db: 0, keys: [k("a")], kind: "list", deadlineMs: null, data: "" });
    r.block({ id: 2, db: 0, keys: [k("b")], kind: "list", deadlineMs: null, data: "" });
    r.signal(0, k("nobody"));
    expect(r.hasReady).toBe(false);
    r.signal(0, k("b"));
    r.signal(0, k("a"));
    r.signal(0, k("b"));
    r.signal(1, k("a")); // another database
    const round = r.takeReady();
    expect(round.map((x) => `${x.db}:${str(x.key)}`)).toEqual(["0:b", "0:a"]);
    expect(r.hasReady).toBe(false);
    r.signal(0, k("a"));
    expect(r.takeReady().map((x) => str(x.key))).toEqual(["a"]);
  });

  it("signalDb readies every blocked key of a database (SWAPDB)", () => {
    const r = reg();
    r.block({ id: 1, db: 2, keys: [k("x"), k("y")], kind: "list", deadlineMs: null, data: "" });
    r.block({ id: 2, db: 3, keys: [k("z")], kind: "list", deadlineMs: null, data: "" });
    r.signalDb(2);
    expect(r.takeReady().map((x) => `${x.db}:${str(x.key)}`)).toEqual(["2:x", "2:y"]);
  });

  it("deadlines: the earliest one, the clients past theirs (taken out), and those that have one", () => {
    const r = reg();
    expect(r.nextDeadline()).toBeNull();
    r.block({ id: 1, db: 0, keys: [k("a")], kind: "list", deadlineMs: 500, data: "" });
    r.block({ id: 2, db: 0, keys: [k("a")], kind: "list", deadlineMs: null, data: "" });
    r.block({ id: 3, db: 0, keys: [k("a")], kind: "list", deadlineMs: 200, data: "" });
    r.block({ id: 4, db: 0, keys: [k("b")], kind: "list", deadlineMs: 300, data: "" });
    expect(r.nextDeadline()).toBe(200);
    expect(r.withDeadline).toBe(3);
    expect(ids(r.takeExpired(199))).toEqual([]);
    r.unblock(3); // left before its deadline: its heap entry is stale
    expect(r.nextDeadline()).toBe(300);
    expect(ids(r.takeExpired(500))).toEqual([4, 1]);
    expect(r.nextDeadline()).toBeNull();
    expect(r.withDeadline).toBe(0);
    expect(ids(r.waiters(0, k("a")))).toEqual([2]);
    // A client that blocks again with another deadline: only the new one counts.
    r.block({ id: 4, db: 0, keys: [k("c")], kind: "list", deadlineMs: 900, data: "" });
    r.unblock(4);
    r.block({ id: 4, db: 0, keys: [k("c")], kind: "list", deadlineMs: 1000, data: "" });
    expect(ids(r.takeExpired(950))).toEqual([]);
    expect(ids(r.takeExpired(1000))).toEqual([4]);
  });

  it("20,000 clients with scattered deadlines time out in deadline order (the heap)", () => {
    const r = reg();
    const n = 20_000;
    for (let i = 0; i < n; i++) r.block({ id: i + 1, db: 0, keys: [k(`k${i % 100}`)], kind: "list", deadlineMs: (i * 7919) % n, data: "" });
    let last = -1;
    let count = 0;
    for (let t = 0; t < n; t += 1000) {
      for (const c of r.takeExpired(t)) {
        expect(c.deadlineMs!).toBeGreaterThanOrEqual(last);
        last = c.deadlineMs!;
        count++;
      }
    }
    expect(count + r.size).toBe(n);
    expect(r.nextDeadline()).toBe(19_001);
  });
});

describe("timeoutArg (redis-server 7.0.15: ceill(t*1000) ms, 0 = forever)", () => {
  const now = 1_000_000;
  const t = (s: string) => {
    try {
      return timeoutArg(utf8(s), now);
    } catch (e) {
      return (e as RedisError).msg;
    }
  };
  it.each([
    ["0", null],
    ["1", now + 1000],
    ["0.05", now + 50],
    ["0.0001", now + 1], // rounds up to 1 ms
    ["-0.0001", null], // ceil gives 0: forever, as redis-server does
    ["1.5e0", now + 1500],
    // t·1000 rounded in x87 long double, then ceill (checked against a C program with strtold/ceill)
    ["0.123456789", now + 124],
    ["0.0015", now + 2],
    ["12.345", now + 12345],
    ["0x10", now + 16000],
    ["-1", "ERR timeout is negative"],
    ["inf", "ERR timeout is negative"],
    ["-inf", "ERR timeout is negative"],
    ["1e400", "ERR timeout is negative"],
    ["9223372036854775807", "ERR timeout is negative"],
    ["abc", "ERR timeout is not a float or out of range"],
    ["nan", "ERR timeout is not a float or out of range"],
    [" 1", "ERR timeout is not a float or out of range"],
    ["1 ", "ERR timeout is not a float or out of range"],
    ["", "ERR timeout is not a float or out of range"],
  ])("%s", (arg, want) => {
    expect(t(arg)).toEqual(want);
  });
});
