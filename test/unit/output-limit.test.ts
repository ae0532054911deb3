import { describe, expect, it } from "vitest";
import {
  applyOutputLimits,
  formatOutputLimits,
  OUTPUT_LIMIT_DEFAULTS,
  OUTPUT_LIMITS_DEFAULT_TEXT,
  OutputLimitWatch,
  parseOutputLimits,
} from "../../src/replication/output-limit.ts";

describe("client-output-buffer-limit parsing", () => {
  it("has Redis 7's defaults in CONFIG GET form", () => {
    expect(OUTPUT_LIMITS_DEFAULT_TEXT).toBe("normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
    expect(parseOutputLimits(OUTPUT_LIMITS_DEFAULT_TEXT)).toEqual(OUTPUT_LIMIT_DEFAULTS);
  });

  it.each([
    ["replica 256mb 64mb 60", { hardBytes: 256 * 1024 * 1024, softBytes: 64 * 1024 * 1024, softSeconds: 60 }],
    ["slave 1k 2kb 3", { hardBytes: 1000, softBytes: 2048, softSeconds: 3 }],
    ["REPLICA 0 0 0", { hardBytes: 0, softBytes: 0, softSeconds: 0 }],
  ])("%s sets the replica class only", (text, want) => {
    const r = applyOutputLimits(OUTPUT_LIMIT_DEFAULTS, text);
    if (typeof r === "string") throw new Error(r);
    expect(r.slave).toEqual(want);
    expect(r.normal).toEqual(OUTPUT_LIMIT_DEFAULTS.normal);
    expect(r.pubsub).toEqual(OUTPUT_LIMIT_DEFAULTS.pubsub);
  });

  it("several classes at once, formatted back", () => {
    const r = applyOutputLimits(OUTPUT_LIMIT_DEFAULTS, "normal 1 2 3 pubsub 4 5 6");
    if (typeof r === "string") throw new Error(r);
    expect(formatOutputLimits(r)).toBe("normal 1 2 3 slave 268435456 67108864 60 pubsub 4 5 6");
  });

  it.each([
    ["", "Wrong number of arguments in buffer limit configuration."],
    ["replica 1 2", "Wrong number of arguments in buffer limit configuration."],
    ["master 1 2 3", "Invalid client class specified in buffer limit configuration."],
    ["replica 10mbs 1 1", "Error in hard, soft or soft_seconds setting in buffer limit configuration."],
    ["replica 1 -1 1", "Error in hard, soft or soft_seconds setting in buffer limit configuration."],
    ["replica 1 1 x", "Error in hard, soft or soft_seconds setting in buffer limit configuration."],
  ])("refuses %j", (text, msg) => {
    expect(applyOutputLimits(OUTPUT_LIMIT_DEFAULTS, text)).toBe(msg);
  });
});

describe("OutputLimitWatch", () => {
  const limit = { hardBytes: 1000, softBytes: 500, softSeconds: 2 };

  it("drops at once at the hard limit", () => {
    const w = new OutputLimitWatch();
    expect(w.check(999, limit, 0)).toBeNull();
    expect(w.check(1000, limit, 0)).toMatch(/^hard limit/);
  });

  it("drops past the soft limit only after soft-seconds without a break", () => {
    const w = new OutputLimitWatch();
    expect(w.check(600, limit, 0)).toBeNull();
    expect(w.check(600, limit, 2000)).toBeNull();
    expect(w.check(600, limit, 2001)).toMatch(/^soft limit/);
  });

  it("a dip under the soft limit restarts the period", () => {
    const w = new OutputLimitWatch();
    expect(w.check(600, limit, 0)).toBeNull();
    expect(w.check(100, limit, 1500)).toBeNull();
    expect(w.check(600, limit, 1600)).toBeNull();
    expect(w.check(600, limit, 3000)).toBeNull();
    expect(w.check(600, limit, 3601)).toMatch(/^soft limit/);
  });

  it("zero limits never drop", () => {
    const w = new OutputLimitWatch();
    expect(w.check(1e12, { hardBytes: 0, softBytes: 0, softSeconds: 0 }, 0)).toBeNull();
  });
});
