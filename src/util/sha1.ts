/**
 * SHA-1 (FIPS 180-4) in plain TypeScript, for the many tiny inputs of DEBUG DIGEST (a key, a
 * 4-byte type, a short value): a call into node:crypto's createHash costs several
 * microseconds in workerd whatever the input size, this costs well under one for an input
 * that fits one or two blocks. Not for security: the digest only has to equal Redis's.
 */

const W = new Int32Array(80);

/** Incremental SHA-1: `update` any number of times, then `digest` once. */
export class Sha1 {
  private h0 = 0x67452301;
  private h1 = 0xefcdab89 | 0;
  private h2 = 0x98badcfe | 0;
  private h3 = 0x10325476;
  private h4 = 0xc3d2e1f0 | 0;
  /** The block being filled. */
  private readonly block = new Uint8Array(64);
  private used = 0;
  private total = 0;

  update(data: Uint8Array): this {
    let i = 0;
    this.total += data.length;
    if (this.used > 0) {
      const n = Math.min(64 - this.used, data.length);
      this.block.set(data.subarray(0, n), this.used);
      this.used += n;
      i = n;
      if (this.used < 64) return this;
      this.compress(this.block, 0);
      this.used = 0;
    }
    for (; i + 64 <= data.length; i += 64) this.compress(data, i);
    if (i < data.length) {
      this.block.set(data.subarray(i), 0);
      this.used = data.length - i;
    }
    return this;
  }

  /** The 20-byte digest (the object is spent afterwards). */
  digest(): Uint8Array {
    const bits = this.total * 8;
    const b = this.block;
    b[this.used++] = 0x80;
    if (this.used > 56) {
      b.fill(0, this.used);
      this.compress(b, 0);
      this.used = 0;
    }
    b.fill(0, this.used, 56);
    // Message length in bits, big-endian 64-bit (inputs here are far below 2^53 bits).
    const hi = Math.floor(bits / 0x100000000);
    const lo = bits >>> 0;
    b[56] = hi >>> 24;
    b[57] = hi >>> 16;
    b[58] = hi >>> 8;
    b[59] = hi;
    b[60] = lo >>> 24;
    b[61] = lo >>> 16;
    b[62] = lo >>> 8;
    b[63] = lo;
    this.compress(b, 0);
    const out = new Uint8Array(20);
    const hs = [this.h0, this.h1, this.h2, this.h3, this.h4];
    for (let j = 0; j < 5; j++) {
      const h = hs[j]!;
      out[j * 4] = h >>> 24;
      out[j * 4 + 1] = h >>> 16;
      out[j * 4 + 2] = h >>> 8;
      out[j * 4 + 3] = h;
    }
    return out;
  }

  private compress(d: Uint8Array, o: number): void {
    for (let t = 0; t < 16; t++) {
      const p = o + t * 4;
      W[t] = (d[p]! << 24) | (d[p + 1]! << 16) | (d[p + 2]! << 8) | d[p + 3]!;
    }
    for (let t = 16; t < 80; t++) {
      const x = W[t - 3]! ^ W[t - 8]! ^ W[t - 14]! ^ W[t - 16]!;
      W[t] = (x << 1) | (x >>> 31);
    }
    let a = this.h0;
    let b = this.h1;
    let c = this.h2;
    let e = this.h4;
    let dd = this.h3;
    for (let t = 0; t < 80; t++) {
      let f: number;
      let k: number;
      if (t < 20) {
        f = (b & c) | (~b & dd);
        k = 0x5a827999;
      } else if (t < 40) {
        f = b ^ c ^ dd;
        k = 0x6ed9eba1;
      } else if (t < 60) {
        f = (b & c) | (b & dd) | (c & dd);
        k = 0x8f1bbcdc | 0;
      } else {
        f = b ^ c ^ dd;
        k = 0xca62c1d6 | 0;
      }
      const tmp = (((a << 5) | (a >>> 27)) + f + e + k + W[t]!) | 0;
      e = dd;
      dd = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = tmp;
    }
    this.h0 = (this.h0 + a) | 0;
    this.h1 = (this.h1 + b) | 0;
    this.h2 = (this.h2 + c) | 0;
    this.h3 = (this.h3 + dd) | 0;
    this.h4 = (this.h4 + e) | 0;
  }

  /** Start over (reuse one object for many digests: no allocation per digest but its output). */
  reset(): this {
    this.h0 = 0x67452301;
    this.h1 = 0xefcdab89 | 0;
    this.h2 = 0x98badcfe | 0;
    this.h3 = 0x10325476;
    this.h4 = 0xc3d2e1f0 | 0;
    this.used = 0;
    this.total = 0;
    return this;
  }
}

const shared = new Sha1();

/** SHA-1 of the concatenation of `parts`. */
export function sha1Of(parts: Iterable<Uint8Array>): Uint8Array {
  // `shared` is never left mid-digest: nothing here calls back into user code.
  const h = shared.reset();
  for (const p of parts) h.update(p);
  return h.digest();
}
