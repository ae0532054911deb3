import { describe, expect, it } from "vitest";
import { stripTokenParam } from "../../src/http/router.ts";

describe("router: the token query parameter never reaches a command", () => {
  it.each([
    ["_token=abc", ""],
    ["%5Ftoken=abc", ""],
    ["%5ftoken=abc&ex=10", "ex=10"],
    ["_%74oken=abc&a=%20b", "a=%20b"],
    ["_token&x=1", "x=1"],
    ["a=1&_token=s&b=2", "a=1&b=2"],
    ["_tokenx=1", "_tokenx=1"],
    ["token=1", "token=1"],
    ["%ZZ=1&_token=2", "%ZZ=1"],
  ])("%s → %s", (q, want) => {
    expect(stripTokenParam(q)).toBe(want);
  });
});
