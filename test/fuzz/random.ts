/**
 * A small seeded PRNG (mulberry32) and the helpers the fuzz generators share. Everything
 * random in the fuzz harness comes from one of these, so a seed replays a run exactly.
 */
export class Rng {
  private s: number;
  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  bool(p = 0.5): boolean {
    return this.float() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  /** A size skewed toward small values but reaching `max` now and then. */
  size(max: number): number {
    const r = this.float();
    if (r < 0.6) return this.int(Math.min(max, 16) + 1);
    if (r < 0.9) return this.int(Math.min(max, 256) + 1);
    return this.int(max + 1);
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  /** Bytes from a small alphabet, so that generated keys and members collide. */
  word(maxLen = 8): Uint8Array {
    const n = this.range(1, maxLen);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = 0x61 + this.int(4);
    return out;
  }
}

/** The seed from FUZZ_SEED (decimal), or a fresh one. */
export function seedFromEnv(env: Record<string, string | undefined>): number {
  const s = env.FUZZ_SEED;
  if (s && /^\d+$/.test(s)) return Number(s) >>> 0;
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}

/** FUZZ_ITERATIONS, or `fallback`. */
export function iterationsFromEnv(env: Record<string, string | undefined>, fallback: number): number {
  const s = env.FUZZ_ITERATIONS;
  if (s && /^\d+$/.test(s)) return Number(s);
  return fallback;
}

/** `input` cut into pieces at random points (some empty, some one byte). */
export function splitRandomly(rng: Rng, input: Uint8Array, maxPieces = 16): Uint8Array[] {
  const cuts = new Set<number>();
  const n = rng.int(maxPieces);
  for (let i = 0; i < n; i++) cuts.add(rng.int(input.length + 1));
  const sorted = [...cuts].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of sorted) {
    out.push(input.subarray(prev, c));
    prev = c;
  }
  out.push(input.subarray(prev));
  return out;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
