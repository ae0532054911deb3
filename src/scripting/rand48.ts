/**
 * Redis's redisLrand48 / redisSrand48 (rand.c): the 48-bit linear congruential generator
 * behind math.random in scripts, so that a seeded sequence is the same as redis-server's.
 */
const A = 0x5deece66dn;
const C = 0xbn;
const MASK48 = (1n << 48n) - 1n;

export class Lrand48 {
  private x = 0x1234abcd330en;

  seed(seedval: number): void {
    const s = BigInt(seedval >>> 0);
    this.x = (((s >> 16n) & 0xffffn) << 32n) | ((s & 0xffffn) << 16n) | 0x330en;
  }

  /** The next value in [0, 2^31). */
  next(): number {
    this.x = (A * this.x + C) & MASK48;
    return Number(this.x >> 17n);
  }
}
