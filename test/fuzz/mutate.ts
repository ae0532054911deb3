/**
 * Byte-level mutations shared by the RESP, JSON and RDB generators: bit flips, byte
 * insertions and deletions, "interesting" bytes (protocol delimiters, digits, signs),
 * slices duplicated or moved, truncation, and numbers spliced into length fields.
 */
import { concatBytes, type Rng } from "./random.ts";

/** Bytes that mean something to one of the formats we parse. */
const INTERESTING_BYTES = [0, 1, 9, 10, 13, 32, 0x22, 0x24, 0x27, 0x2a, 0x2b, 0x2d, 0x30, 0x31, 0x39, 0x3a, 0x5b, 0x5c, 0x5d, 0x7b, 0x7d, 0x7f, 0x80, 0xc0, 0xfe, 0xff];

/** Decimal texts that sit on a limit or break a number parser. */
export const INTERESTING_NUMBERS = [
  "0", "-0", "01", "-1", "-2", "1", "2", "3", "9", "16", "127", "128", "255", "256", "1024",
  "32767", "65535", "65536", "65537", "1048576", "1048577", "16777216", "33554432", "33554433",
  "2147483647", "2147483648", "4294967295", "4294967296", "9007199254740993",
  "9223372036854775807", "9223372036854775808", "-9223372036854775808", "99999999999999999999",
  "", "+1", " 1", "1 ", "1x", "0x10", "1e3", "1.5", "nan", "inf",
];

export type Mutation = (rng: Rng, b: Uint8Array) => Uint8Array;

const flipBit: Mutation = (rng, b) => {
  if (b.length === 0) return b;
  const out = b.slice();
  const i = rng.int(out.length);
  out[i] = out[i]! ^ (1 << rng.int(8));
  return out;
};

const setInteresting: Mutation = (rng, b) => {
  if (b.length === 0) return Uint8Array.of(rng.pick(INTERESTING_BYTES));
  const out = b.slice();
  out[rng.int(out.length)] = rng.pick(INTERESTING_BYTES);
  return out;
};

const setRandom: Mutation = (rng, b) => {
  if (b.length === 0) return b;
  const out = b.slice();
  out[rng.int(out.length)] = rng.int(256);
  return out;
};

const insert: Mutation = (rng, b) => {
  const i = rng.int(b.length + 1);
  const ins = rng.bool() ? Uint8Array.of(rng.pick(INTERESTING_BYTES)) : rng.bytes(rng.range(1, 8));
  return concatBytes([b.subarray(0, i), ins, b.subarray(i)]);
};

const remove: Mutation = (rng, b) => {
  if (b.length === 0) return b;
  const i = rng.int(b.length);
  const n = rng.range(1, Math.min(16, b.length - i));
  return concatBytes([b.subarray(0, i), b.subarray(i + n)]);
};

const truncate: Mutation = (rng, b) => b.subarray(0, rng.int(b.length + 1));

const duplicateSlice: Mutation = (rng, b) => {
  if (b.length === 0) return b;
  const i = rng.int(b.length);
  const n = rng.range(1, Math.min(64, b.length - i));
  const times = rng.range(1, 4);
  const parts = [b.subarray(0, i + n)];
  for (let k = 0; k < times; k++) parts.push(b.subarray(i, i + n));
  parts.push(b.subarray(i + n));
  return concatBytes(parts);
};

const moveSlice: Mutation = (rng, b) => {
  if (b.length < 2) return b;
  const i = rng.int(b.length);
  const n = rng.range(1, Math.min(32, b.length - i));
  const rest = concatBytes([b.subarray(0, i), b.subarray(i + n)]);
  const j = rng.int(rest.length + 1);
  return concatBytes([rest.subarray(0, j), b.subarray(i, i + n), rest.subarray(j)]);
};

/** Replace a run of digits (a length or count field) with an interesting number. */
const spliceNumber: Mutation = (rng, b) => {
  const runs: [number, number][] = [];
  for (let i = 0; i < b.length; i++) {
    if (b[i]! >= 0x30 && b[i]! <= 0x39) {
      let j = i;
      while (j < b.length && b[j]! >= 0x30 && b[j]! <= 0x39) j++;
      runs.push([i, j]);
      i = j;
    }
  }
  if (runs.length === 0) return insert(rng, b);
  const [s, e] = rng.pick(runs);
  const start = s > 0 && b[s - 1] === 0x2d ? s - 1 : s;
  return concatBytes([b.subarray(0, start), new TextEncoder().encode(rng.pick(INTERESTING_NUMBERS)), b.subarray(e)]);
};

export const MUTATIONS: readonly Mutation[] = [flipBit, setInteresting, setRandom, insert, remove, truncate, duplicateSlice, moveSlice, spliceNumber, spliceNumber];

/** Apply 1..maxRounds random mutations. */
export function mutate(rng: Rng, b: Uint8Array, maxRounds = 4): Uint8Array {
  let out = b;
  const rounds = rng.range(1, maxRounds);
  for (let k = 0; k < rounds; k++) out = rng.pick(MUTATIONS)(rng, out);
  return out;
}

/** Short hex of an input for a failure report. */
export function hexPreview(b: Uint8Array, max = 256): string {
  let s = "";
  for (let i = 0; i < Math.min(b.length, max); i++) s += b[i]!.toString(16).padStart(2, "0");
  return b.length > max ? `${s}… (${b.length} bytes)` : s;
}
