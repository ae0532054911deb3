/** Bounded output of streaming clients (src/pubsub/output-bound.ts): Redis's limits plus the node's ceilings. */
import { describe, expect, it } from "vitest";
import { PendingPool, STREAM_PENDING_BYTES_MAX, STREAM_PENDING_BYTES_TOTAL_MAX, StreamOutput } from "../../src/pubsub/output-bound.ts";

const limit = (hardBytes: number, softBytes: number, softSeconds: number) => ({ hardBytes, softBytes, softSeconds });

describe("StreamOutput", () => {
  it("drops a client whose unread bytes reach the hard limit; what it read no longer counts", () => {
    const pool = new PendingPool();
    const o = new StreamOutput(pool);
    const l = limit(1000, 0, 0);
    expect(o.admit(600, l, 0)).toBeNull();
    expect(o.admit(300, l, 0)).toBeNull();
    expect([o.pendingBytes, pool.totalBytes]).toEqual([900, 900]);
    expect(o.admit(100, l, 0)).toBe("hard limit: 1000 unread bytes >= 1000");
    // A refused admission counts nothing.
    expect(o.pendingBytes).toBe(900);
    o.drained(600);
    expect(o.admit(100, l, 0)).toBeNull();
    expect(pool.totalBytes).toBe(400);
  });

  it("drops a client that stays past the soft limit longer than soft-seconds, not one that catches up", () => {
    const o = new StreamOutput(new PendingPool());
    const l = limit(0, 100, 2);
    expect(o.admit(150, l, 0)).toBeNull(); // past soft: the clock starts
    expect(o.admit(10, l, 1500)).toBeNull();
    o.drained(160); // caught up
    expect(o.admit(10, l, 2500)).toBeNull(); // below soft: the clock stops
    expect(o.admit(150, l, 3000)).toBeNull(); // past soft again: a new clock
    expect(o.admit(10, l, 4900)).toBeNull();
    expect(o.admit(10, l, 5001)).toBe("soft limit: 180 unread bytes >= 100 for 2 s");
  });

  it("with no configured limit (Redis 0 0 0) the ceilings still hold, per stream and per node", () => {
    const pool = new PendingPool();
    const unlimited = limit(0, 0, 0);
    const a = new StreamOutput(pool);
    expect(a.admit(STREAM_PENDING_BYTES_MAX, unlimited, 0)).toBeNull();
    expect(a.admit(1, unlimited, 0)).toBe(`ceiling: ${STREAM_PENDING_BYTES_MAX + 1} unread bytes > ${STREAM_PENDING_BYTES_MAX}`);
    const others = Array.from({ length: STREAM_PENDING_BYTES_TOTAL_MAX / STREAM_PENDING_BYTES_MAX - 1 }, () => new StreamOutput(pool));
    for (const o of others) expect(o.admit(STREAM_PENDING_BYTES_MAX, unlimited, 0)).toBeNull();
    expect(pool.totalBytes).toBe(STREAM_PENDING_BYTES_TOTAL_MAX);
    const last = new StreamOutput(pool);
    expect(last.admit(1, unlimited, 0)).toMatch(/^node ceiling: /);
    // A gone stream gives its share back.
    a.release();
    expect(pool.totalBytes).toBe(STREAM_PENDING_BYTES_TOTAL_MAX - STREAM_PENDING_BYTES_MAX);
    expect(last.admit(1, unlimited, 0)).toBeNull();
  });
});
