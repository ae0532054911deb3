import { describe, expect, it } from "vitest";
import { ACK_LAG_SAMPLES_MAX, AckLagSamples } from "../../src/replication/ack-lag.ts";

describe("AckLagSamples", () => {
  it("summarizes nothing before the first sample", () => {
    expect(new AckLagSamples().summary()).toBeNull();
  });

  it("nearest-rank p50/p99/max", () => {
    const s = new AckLagSamples();
    for (let i = 100; i >= 1; i--) s.add(i);
    expect(s.summary()).toEqual({ samples: 100, p50: 50, p99: 99, max: 100 });
  });

  it("keeps only the last ACK_LAG_SAMPLES_MAX samples", () => {
    const s = new AckLagSamples();
    s.add(1_000_000); // the oldest: pushed out below
    for (let i = 0; i < ACK_LAG_SAMPLES_MAX; i++) s.add(7);
    expect(s.summary()).toEqual({ samples: ACK_LAG_SAMPLES_MAX, p50: 7, p99: 7, max: 7 });
  });
});
