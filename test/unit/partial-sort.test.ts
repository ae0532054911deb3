/** Redis's partial quicksort (src/keyspace/partial-sort.ts): the wanted prefix is sorted. */
import { describe, expect, it } from "vitest";
import { partialSort } from "../../src/keyspace/partial-sort.ts";

describe("partialSort", () => {
  it("puts what a full sort would put in the wanted positions, for sizes across its thresholds", () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (const n of [1, 2, 6, 7, 8, 20, 40, 41, 100, 500]) {
      for (const k of [1, 3, Math.ceil(n / 2), n]) {
        if (k > n) continue;
        const xs = Array.from({ length: n }, () => Math.floor(rnd() * (n / 3 + 1)));
        const want = [...xs].sort((a, b) => a - b);
        const got = [...xs];
        partialSort(got, (a, b) => a - b, 0, k - 1);
        expect(got.slice(0, k)).toEqual(want.slice(0, k));
        expect([...got].sort((a, b) => a - b)).toEqual(want); // a permutation
      }
    }
  });
});
