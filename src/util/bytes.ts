/** Byte-string helpers: keys and values are binary-safe `Uint8Array`s end to end. */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const latin1 = new TextDecoder("latin1");

export const EMPTY = new Uint8Array(0);

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

export function str(b: Uint8Array): string {
  return decoder.decode(b);
}

/** A lossless 1:1 byte → char mapping, for use as a Map key. */
export function bkey(b: Uint8Array): string {
  return latin1.decode(b);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
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

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** memcmp order, as Redis compares strings. */
export function compare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** SQLite returns BLOBs as ArrayBuffer; normalize any blob-ish value to Uint8Array. */
export function blob(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (typeof v === "string") return utf8(v);
  if (v === null || v === undefined) return EMPTY;
  throw new Error(`not a blob: ${typeof v}`);
}

/** An exact-size copy (SQLite binds a view's whole buffer in some paths). */
export function own(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice();
}

export function toHex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += b[i]!.toString(16).padStart(2, "0");
  return s;
}

export function fromHex(s: string): Uint8Array {
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function toBase64(b: Uint8Array): string {
  let s = "";
  const CH = 0x8000;
  for (let i = 0; i < b.length; i += CH) s += String.fromCharCode(...b.subarray(i, i + CH));
  return btoa(s);
}

export function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** 40 random hex characters, as Redis's replication ids. */
export function randomHex40(): string {
  const b = new Uint8Array(20);
  crypto.getRandomValues(b);
  return toHex(b);
}
