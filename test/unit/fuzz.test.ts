/**
 * The short run of the pure fuzz targets (test/fuzz/targets.ts) inside `npm test`: random
 * and mutated RESP streams split at random points, REST JSON bodies and paths, damaged RDB
 * files. The long run is `npm run fuzz`. Replay: FUZZ_SEED=<seed printed> npm test.
 */
import { describe, expect, it } from "vitest";
import { iterationsFromEnv, seedFromEnv } from "../fuzz/random.ts";
import { Failure, type FuzzTarget, formatReport, runPureFuzz } from "../fuzz/targets.ts";

describe("fuzz (pure level, short run)", () => {
  it("no input crashes a parser, breaks an invariant or takes too long", () => {
    const seed = seedFromEnv(process.env);
    const iterations = iterationsFromEnv(process.env, 400);
    console.log(`fuzz seed ${seed} (replay with FUZZ_SEED=${seed}), ${iterations} inputs per target`);
    const report = runPureFuzz({ seed, iterations });
    console.log(formatReport(report));
    expect(report.failures, formatReport(report)).toEqual([]);
    // Every target both accepted and refused something: the generators reach both sides.
    for (const [name, s] of Object.entries(report.stats)) {
      expect(s.accepted, name).toBeGreaterThan(0);
      expect(s.refused, name).toBeGreaterThan(0);
    }
  });

  it("the runner reports a target that throws something unexpected, with its seed", () => {
    const broken: FuzzTarget = {
      name: "broken",
      run(rng) {
        if (rng.int(4) === 0) throw new TypeError("boom");
        if (rng.int(4) === 0) throw new Failure("invariant", "00ff");
        return { outcome: "accepted" };
      },
    };
    const report = runPureFuzz({ seed: 7, iterations: 50, targets: [broken] });
    expect(report.failures.length).toBeGreaterThan(0);
    expect(report.failures.some((f) => f.message.includes("TypeError: boom"))).toBe(true);
    expect(report.failures.some((f) => f.message === "invariant" && f.input === "00ff")).toBe(true);
    expect(formatReport(report)).toContain("FUZZ_SEED=7");
    // Same seed, same inputs.
    const again = runPureFuzz({ seed: 7, iterations: 50, targets: [broken] });
    expect(again.failures.map((f) => f.iteration)).toEqual(report.failures.map((f) => f.iteration));
  });
});
