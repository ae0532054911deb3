/**
 * The partial quicksort Redis uses when only the first `count` results of a GEO search are
 * returned (pqsort.c: Bentley–McIlroy three-way partitioning, recursing only into parts
 * that overlap the wanted range). It is not stable, so which of several equally distant
 * points come first is decided by its exact sequence of swaps; this is the same sequence,
 * re-derived over array indices, so the replies are the same as redis-server's.
 */

type Cmp<T> = (a: T, b: T) => number;

/** Sorts enough of `xs` in place that positions lo..hi hold what a full sort would put there. */
export function partialSort<T>(xs: T[], cmp: Cmp<T>, lo: number, hi: number): void {
  sortPart(xs, 0, xs.length, cmp, lo, hi);
}

function swap<T>(xs: T[], i: number, j: number): void {
  const t = xs[i]!;
  xs[i] = xs[j]!;
  xs[j] = t;
}

function swapRun<T>(xs: T[], i: number, j: number, n: number): void {
  for (let k = 0; k < n; k++) swap(xs, i + k, j + k);
}

function median3<T>(xs: T[], a: number, b: number, c: number, cmp: Cmp<T>): number {
  return cmp(xs[a]!, xs[b]!) < 0
    ? cmp(xs[b]!, xs[c]!) < 0
      ? b
      : cmp(xs[a]!, xs[c]!) < 0
        ? c
        : a
    : cmp(xs[b]!, xs[c]!) > 0
      ? b
      : cmp(xs[a]!, xs[c]!) < 0
        ? a
        : c;
}

/** Whether the part [start, start+n) holds some of the wanted positions [lo, hi]. */
const overlaps = (start: number, n: number, lo: number, hi: number): boolean =>
  !((lo < start && hi < start) || (lo > start + n - 1 && hi > start + n - 1));

function sortPart<T>(xs: T[], a: number, n: number, cmp: Cmp<T>, lo: number, hi: number): void {
  for (;;) {
    if (n < 7) {
      // Insertion sort of a small part.
      for (let m = a + 1; m < a + n; m++) for (let l = m; l > a && cmp(xs[l - 1]!, xs[l]!) > 0; l--) swap(xs, l, l - 1);
      return;
    }
    let pm = a + Math.floor(n / 2);
    if (n > 7) {
      let pl = a;
      let pn = a + n - 1;
      if (n > 40) {
        const d = Math.floor(n / 8);
        pl = median3(xs, pl, pl + d, pl + 2 * d, cmp);
        pm = median3(xs, pm - d, pm, pm + d, cmp);
        pn = median3(xs, pn - 2 * d, pn - d, pn, cmp);
      }
      pm = median3(xs, pl, pm, pn, cmp);
    }
    swap(xs, a, pm);
    // Partition: [a, pa) equal to the pivot, [pa, pb) less, (pc, pd] greater, (pd, end) equal.
    let pa = a + 1;
    let pb = pa;
    let pc = a + n - 1;
    let pd = pc;
    for (;;) {
      let c: number;
      while (pb <= pc && (c = cmp(xs[pb]!, xs[a]!)) <= 0) {
        if (c === 0) swap(xs, pa++, pb);
        pb++;
      }
      while (pb <= pc && (c = cmp(xs[pc]!, xs[a]!)) >= 0) {
        if (c === 0) swap(xs, pc, pd--);
        pc--;
      }
      if (pb > pc) break;
      swap(xs, pb++, pc--);
    }
    const end = a + n;
    let r = Math.min(pa - a, pb - pa);
    swapRun(xs, a, pb - r, r);
    r = Math.min(pd - pc, end - pd - 1);
    swapRun(xs, pb, end - r, r);
    r = pb - pa;
    if (r > 1 && overlaps(a, r, lo, hi)) sortPart(xs, a, r, cmp, lo, hi);
    r = pd - pc;
    if (r <= 1) return;
    a = end - r;
    n = r;
    if (!overlaps(a, n, lo, hi)) return;
  }
}
