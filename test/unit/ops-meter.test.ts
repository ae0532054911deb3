import { describe, expect, it } from "vitest";
import { OPS_SAMPLE_MS, OpsMeter } from "../../src/keyspace/ops-meter.ts";

describe("OpsMeter (INFO instantaneous_ops_per_sec)", () => {
  it("is 0 before any sample is old enough to measure from", () => {
    const m = new OpsMeter();
    expect(m.perSecond(1000, 0)).toBe(0);
    m.sample(1000, 0);
    expect(m.perSecond(1000 + OPS_SAMPLE_MS - 1, 500)).toBe(0);
  });

  it("a steady rate over the window", () => {
    const m = new OpsMeter();
    // 2,000 commands a second, counted every 10 ms for 5 s: samples at most every 100 ms.
    for (let t = 0; t <= 5000; t += 10) m.sample(t, 2 * t);
    expect(m.perSecond(5000, 10_000)).toBe(2000);
    expect(m.perSecond(5050, 10_100)).toBe(2000);
  });

  it("measures from the oldest sample inside the last 1.6 s, not from the start", () => {
    const m = new OpsMeter();
    m.sample(0, 0);
    m.sample(10_000, 1_000_000); // a million commands long ago
    for (let t = 10_100; t <= 12_000; t += 100) m.sample(t, 1_000_000 + (t - 10_000)); // then 1,000/s
    const r = m.perSecond(12_000, 1_002_000);
    expect(r).toBeGreaterThanOrEqual(990);
    expect(r).toBeLessThanOrEqual(1010);
  });

  it("after an idle stretch the rate falls: the last sample before the window is the base", () => {
    const m = new OpsMeter();
    for (let t = 0; t <= 1000; t += 100) m.sample(t, t * 10); // 10,000/s for a second
    // 9 s later, nothing more ran: 0 commands since the last sample.
    expect(m.perSecond(10_000, 10_000)).toBe(0);
    // A burst of 900 commands after 9 s of nothing: measured over the 9 s since the last sample.
    expect(m.perSecond(10_000, 10_900)).toBe(100);
  });

  it("keeps a bounded number of samples, and reset forgets them", () => {
    const m = new OpsMeter();
    for (let t = 0; t < 100_000; t += 100) m.sample(t, t);
    expect((m as unknown as { times: number[] }).times.length).toBeLessThanOrEqual(17);
    m.reset();
    expect(m.perSecond(200_000, 5)).toBe(0);
  });
});
