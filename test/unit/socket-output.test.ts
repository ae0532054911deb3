/** Bounded output of gateway WebSocket clients (src/pubsub/socket-output.ts): ACK frames and the limit decision. */
import { describe, expect, it } from "vitest";
import { ACK_FRAME_CHARS_MAX, formatAck, parseAck, SocketOutput } from "../../src/pubsub/socket-output.ts";

const limit = (hardBytes: number, softBytes: number, softSeconds: number) => ({ hardBytes, softBytes, softSeconds });

describe("ACK frames", () => {
  it("round-trips totals and refuses anything else", () => {
    expect(parseAck(formatAck(0))).toBe(0);
    expect(parseAck(formatAck(123_456_789))).toBe(123_456_789);
    for (const bad of ["ACK", "ACK ", "ACK -1", "ACK 1.5", "ack 5", "ACK 5 ", " ACK 5", "ACK 12345678901234567", "*1\r\n$4\r\nPING\r\n", "ACK 0x10"]) {
      expect(parseAck(bad), bad).toBeNull();
    }
    expect(parseAck("ACK " + "9".repeat(ACK_FRAME_CHARS_MAX))).toBeNull();
  });
});

describe("SocketOutput", () => {
  it("counts sent − acknowledged and drops at the hard limit; what the client consumed no longer counts", () => {
    const o = new SocketOutput(true);
    const l = limit(1000, 0, 0);
    o.sent(600);
    o.sent(300);
    expect(o.unackedBytes).toBe(900);
    expect(o.check(l, 0)).toBeNull();
    o.sent(100);
    expect(o.check(l, 0)).toBe("hard limit: 1000 unacknowledged bytes >= 1000");
    o.acked(600);
    expect(o.unackedBytes).toBe(400);
    expect(o.check(l, 0)).toBeNull();
  });

  it("drops a client past the soft limit longer than soft-seconds, not one that catches up", () => {
    const o = new SocketOutput(true);
    const l = limit(0, 100, 2);
    o.sent(150);
    expect(o.check(l, 0)).toBeNull(); // past soft: the clock starts
    expect(o.check(l, 1500)).toBeNull();
    o.acked(150); // caught up
    expect(o.check(l, 2500)).toBeNull(); // below soft: the clock stops
    o.sent(150);
    expect(o.check(l, 3000)).toBeNull(); // a new clock
    expect(o.check(l, 4900)).toBeNull();
    expect(o.check(l, 5001)).toBe("soft limit: 150 unacknowledged bytes >= 100 for 2 s");
  });

  it("never limits with 0 0 0 (Redis's unlimited normal class)", () => {
    const o = new SocketOutput(true);
    o.sent(1e9);
    expect(o.check(limit(0, 0, 0), 0)).toBeNull();
  });

  it("ignores an older total and never turns over-acknowledgement into credit", () => {
    const o = new SocketOutput(true);
    o.sent(500);
    o.acked(400);
    o.acked(100); // reordered: ignored
    expect(o.unackedBytes).toBe(100);
    o.acked(900); // more than sent (cannot happen in one life): no credit for later bytes
    expect(o.unackedBytes).toBe(0);
    o.sent(50);
    expect(o.unackedBytes).toBe(50);
  });

  it("after hibernation: counts what was sent since waking until the first ACK, then aligns on the gateway's total", () => {
    const o = new SocketOutput(false);
    o.sent(300);
    // No ACK since waking: what was sent since then is unconsumed as far as we know.
    expect(o.unackedBytes).toBe(300);
    expect(o.check(limit(300, 0, 0), 0)).toBe("hard limit: 300 unacknowledged bytes >= 300");
    const w = new SocketOutput(false);
    w.sent(300);
    // The gateway's total includes the earlier life's bytes: taken as "all consumed so far".
    w.acked(1_000_000);
    expect(w.unackedBytes).toBe(0);
    w.sent(200);
    w.acked(1_000_100);
    expect(w.unackedBytes).toBe(100);
  });
});
