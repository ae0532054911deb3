import { describe, expect, it } from "vitest";
import { compileGlob, globMatch, globStats } from "../../src/keyspace/glob.ts";
import { GLOB_CASES } from "../fixtures/glob/cases.ts";

const latin1 = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));

describe("glob matching (Redis 7.0 stringmatchlen semantics)", () => {
  it.each(GLOB_CASES)("$pattern vs $subject → $match", ({ pattern, subject, match }) => {
    expect(globMatch(latin1(pattern), latin1(subject))).toBe(match);
  });

  it("without case: ASCII letters fold, escaped bytes inside a class do not", () => {
    const m = (p: string, s: string) => globMatch(latin1(p), latin1(s), true);
    expect(m("ABC", "abc")).toBe(true);
    expect(m("a*C", "Abc")).toBe(true);
    expect(m("\\A", "a")).toBe(true);
    expect(m("[A-C]", "b")).toBe(true);
    expect(m("[a-c]", "B")).toBe(true);
    expect(m("[X]", "x")).toBe(true);
    expect(m("[\\X]", "x")).toBe(false);
    expect(m("[\\X]", "X")).toBe(true);
    // 'Z'..'a' lowers to 'z'..'a': an empty range, as in Redis.
    expect(m("[Z-a]", "_")).toBe(false);
    expect(m("\xc9", "\xe9")).toBe(false); // C-locale tolower: ASCII only
    expect(m("maxmemory*", "MAXMEMORY-policy")).toBe(true);
  });

  it("a compiled pattern answers many subjects", () => {
    const g = compileGlob(latin1("user:*:name"));
    expect(["user:1:name", "user::name", "user:1:nam", "xuser:1:name"].map((s) => g.match(latin1(s)))).toEqual([true, true, false, false]);
    expect(compileGlob(latin1("*")).all).toBe(true);
    expect(compileGlob(latin1("**")).all).toBe(false);
  });

  it("work is bounded by (subject + 1) × (pattern + 1) steps, even for the exponential case", () => {
    const cases: [string, string][] = [
      [`${"a*".repeat(20)}b`, "a".repeat(40)],
      [`${"*a".repeat(50)}*b`, "a".repeat(1000)],
      [`${"*?".repeat(100)}x`, "y".repeat(2000)],
      [`*${"[a-z]".repeat(30)}!`, "q".repeat(3000)],
      ["*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", "a".repeat(10_000)],
    ];
    for (const [p, s] of cases) {
      globStats.steps = 0;
      expect(globMatch(latin1(p), latin1(s))).toBe(false);
      expect(globStats.steps).toBeGreaterThan(0);
      expect(globStats.steps, p).toBeLessThanOrEqual((s.length + 1) * (p.length + 1));
    }
    // A pattern needing more bytes than the subject has is refused without matching.
    globStats.steps = 0;
    expect(globMatch(latin1(`*${"a".repeat(100)}*`), latin1("a".repeat(99)))).toBe(false);
    expect(globStats.steps).toBe(0);
    expect(globMatch(latin1(`*${"a".repeat(99)}*`), latin1("a".repeat(99)))).toBe(true);
    // The case: 20 stars against 40 bytes.
    globStats.steps = 0;
    globMatch(latin1(`${"a*".repeat(20)}b`), latin1("a".repeat(40)));
    expect(globStats.steps).toBeLessThan(2_000);
  });
});
