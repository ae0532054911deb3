/**
 * RDB inputs for the fuzz harness. Base files are valid: written by our RdbWriter from a
 * random dataset, or built by hand with every encoding we read (ziplist, listpack, intset,
 * zipmap, quicklists, LZF, integer strings). Then: truncated; bytes mutated with the CRC64
 * left stale, recomputed (so only the structure can catch it) or zeroed ("checksum off");
 * crafted lengths (counts and sizes far beyond the data); duplicate keys, set members,
 * hash fields and zset members.
 */
import { Crc64 } from "../../src/protocol/rdb/crc64.ts";
import { bytes, intset, listpack, type Model, type ModelKey, rdbLen, rdbStr, writeModel, ziplist, zipmap } from "../fixtures/rdb/model.ts";
import { mutate } from "./mutate.ts";
import { concatBytes, type Rng } from "./random.ts";

const td = new TextDecoder();

export type RdbCase =
  | "valid"
  | "truncated"
  | "mutated-stale-crc"
  | "mutated-fixed-crc"
  | "mutated-zero-crc"
  | "crafted-length"
  | "duplicates";

export interface RdbInput {
  kind: RdbCase;
  bytes: Uint8Array;
}

/** Append EOF and a CRC64 trailer (or eight zero bytes: checksum disabled). */
export function seal(body: Uint8Array, crc: "crc" | "zero" = "crc"): Uint8Array {
  const withEof = concatBytes([body, Uint8Array.of(0xff)]);
  const trailer = crc === "crc" ? new Crc64().update(withEof).bytesLE() : new Uint8Array(8);
  return concatBytes([withEof, trailer]);
}

/** Replace the trailer of a whole file: recomputed over everything before it, or zero. */
function retrail(file: Uint8Array, crc: "crc" | "zero"): Uint8Array {
  if (file.length < 9) return file;
  const head = file.subarray(0, file.length - 8);
  const trailer = crc === "crc" ? new Crc64().update(head).bytesLE() : new Uint8Array(8);
  return concatBytes([head, trailer]);
}

function latin(rng: Rng, max = 6): string {
  return String.fromCharCode(...rng.word(max));
}

/** A random dataset (latin1 strings, as the model keeps them). */
export function randomModel(rng: Rng): Model {
  const model: Model = {};
  const dbs = rng.bool(0.8) ? [0] : [0, rng.range(1, 15)];
  for (const db of dbs) {
    const keys: Record<string, ModelKey> = {};
    const n = rng.range(0, 12);
    for (let i = 0; i < n; i++) {
      const key = `${latin(rng)}${i}`;
      const expireMs = rng.bool(0.15) ? Date.now() + rng.range(60_000, 3_600_000) : null;
      const count = rng.range(1, rng.bool(0.1) ? 300 : 8);
      switch (rng.int(5)) {
        case 0:
          keys[key] = { type: "string", value: rng.bool(0.2) ? String(rng.range(-1000, 100000)) : latin(rng, rng.bool(0.1) ? 200 : 10), expireMs };
          break;
        case 1:
          keys[key] = { type: "list", items: Array.from({ length: count }, () => latin(rng)), expireMs };
          break;
        case 2: {
          const members = [...new Set(Array.from({ length: count }, (_, j) => `${latin(rng)}${j}`))].sort();
          keys[key] = { type: "set", members, expireMs };
          break;
        }
        case 3: {
          const members: Record<string, number> = {};
          for (let j = 0; j < count; j++) members[`${latin(rng)}${j}`] = rng.pick([0, 1.5, -2, 1e300, Number.NEGATIVE_INFINITY, rng.range(-100, 100)]);
          keys[key] = { type: "zset", members, expireMs };
          break;
        }
        default: {
          const fields: Record<string, string> = {};
          for (let j = 0; j < count; j++) fields[`${latin(rng)}${j}`] = latin(rng);
          keys[key] = { type: "hash", fields, expireMs };
        }
      }
    }
    model[db] = keys;
  }
  return model;
}

function f64le(v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, true);
  return b;
}

/** One key in one of the encodings Redis has written over the years. */
function encodedKey(rng: Rng, i: number): Uint8Array {
  const k = rdbStr(`k${i}`);
  const words = Array.from({ length: rng.range(1, 6) }, () => latin(rng, 4));
  switch (rng.int(12)) {
    case 0:
      return bytes(0x00, k, 0xc0, rng.int(256));
    case 1:
      return bytes(0x00, k, 0xc3, 7, 12, 0x02, 0x61, 0x62, 0x63, 0xe0, 0x00, 0x02); // LZF "abc" ×4
    case 2:
      return bytes(0x09, k, rdbStr(zipmap(words.map((w, j) => [`${w}${j}`, w]), rng.int(3))));
    case 3:
      return bytes(0x0a, k, rdbStr(ziplist([...words, rng.range(-70000, 70000)])));
    case 4:
      return bytes(0x0b, k, rdbStr(intset(rng.pick([2, 4, 8] as const), [1, 2, rng.range(3, 30000)])));
    case 5:
      return bytes(0x0c, k, rdbStr(ziplist(words.flatMap((w, j) => [`${w}${j}`, rng.range(-5, 5)]))));
    case 6:
      return bytes(0x0d, k, rdbStr(ziplist(words.flatMap((w, j) => [`${w}${j}`, w]))));
    case 7:
      return bytes(0x0e, k, 2, rdbStr(ziplist(words)), rdbStr(ziplist(["x", 1])));
    case 8:
      return bytes(0x10, k, rdbStr(listpack(words.flatMap((w, j) => [`${w}${j}`, rng.range(-300, 300)]))));
    case 9:
      return bytes(0x11, k, rdbStr(listpack(words.flatMap((w, j) => [`${w}${j}`, rng.pick([1, "2.5", "-inf"])]))));
    case 10:
      return bytes(0x12, k, 2, 2, rdbStr(listpack(words)), 1, rdbStr("plain-node"));
    default:
      return bytes(0x14, k, rdbStr(listpack(words.map((w, j) => `${w}${j}`))));
  }
}

function header(version: number): Uint8Array {
  return bytes(`REDIS${String(version).padStart(4, "0")}`, 0xfa, rdbStr("redis-ver"), rdbStr("7.0.15"));
}

/** A hand-built valid file with packed encodings. */
function encodedFile(rng: Rng): Uint8Array {
  const parts = [header(rng.pick([9, 10, 11])), bytes(0xfe, 0x00)];
  const n = rng.range(1, 6);
  for (let i = 0; i < n; i++) parts.push(encodedKey(rng, i));
  return seal(concatBytes(parts));
}

/** Counts and sizes far beyond the data that follows. */
function craftedLength(rng: Rng): Uint8Array {
  const big = rng.pick([2 ** 31 - 1, 2 ** 32 - 1, 1 << 30, 100_000_000, 16 * 1024 * 1024 + 1, 1024 * 1024 + 1, 65537]);
  const huge64 = bytes(0x81, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
  const body = rng.pick([
    // A string, a list, a set, a hash, a zset announcing `big` elements or bytes.
    () => bytes(0x00, rdbStr("s"), rdbLen(big), "abc"),
    () => bytes(0x01, rdbStr("l"), rdbLen(big), rdbStr("a")),
    () => bytes(0x02, rdbStr("s"), rdbLen(big), rdbStr("a")),
    () => bytes(0x04, rdbStr("h"), rdbLen(big), rdbStr("f"), rdbStr("v")),
    () => bytes(0x05, rdbStr("z"), rdbLen(big), rdbStr("m"), f64le(1)),
    () => bytes(0x01, rdbStr("l"), huge64),
    () => bytes(0x00, rdbStr("s"), huge64),
    // LZF claiming a huge output from a few bytes.
    () => bytes(0x00, rdbStr("s"), 0xc3, 4, rdbLen(big), 0x00, 0x61, 0xe0, 0xff),
    // Quicklist with many nodes announced.
    () => bytes(0x12, rdbStr("q"), rdbLen(big), 2, rdbStr(listpack(["a"]))),
    // A SELECTDB and a RESIZEDB beyond any range.
    () => bytes(0xfe, rdbLen(big), 0xfb, rdbLen(big), rdbLen(big), 0x00, rdbStr("k"), rdbStr("v")),
    // Blobs whose header counts lie.
    () => {
      const zl = ziplist(["a", "b"]);
      new DataView(zl.buffer, zl.byteOffset).setUint16(8, 0xfffe, true);
      return bytes(0x0a, rdbStr("z"), rdbStr(zl));
    },
    () => {
      const lp = listpack(["a", "b"]);
      new DataView(lp.buffer, lp.byteOffset).setUint32(0, big, true);
      return bytes(0x10, rdbStr("h"), rdbStr(lp));
    },
    () => {
      const is = intset(4, [1, 2]);
      new DataView(is.buffer, is.byteOffset).setUint32(4, big, true);
      return bytes(0x0b, rdbStr("i"), rdbStr(is));
    },
    // A key with no value at all, and an unknown type byte.
    () => bytes(0x00, rdbStr("k")),
    () => bytes(rng.pick([0x06, 0x07, 0x08, 0x0f, 0x13, 0x15, 0x16, 0xf4, 0xf7]), rdbStr("k"), rdbStr("v")),
  ])();
  return seal(concatBytes([header(rng.pick([9, 10, 11])), bytes(0xfe, 0x00), body]), rng.bool(0.8) ? "crc" : "zero");
}

/** Duplicate keys, set members, hash fields and zset members, in plain and packed encodings. */
function duplicates(rng: Rng): Uint8Array {
  const w = latin(rng, 3);
  const body = rng.pick([
    () => bytes(0x00, rdbStr(w), rdbStr("1"), 0x00, rdbStr(w), rdbStr("2")),
    () => bytes(0x02, rdbStr("s"), 2, rdbStr(w), rdbStr(w)),
    () => bytes(0x04, rdbStr("h"), 2, rdbStr(w), rdbStr("1"), rdbStr(w), rdbStr("2")),
    () => bytes(0x05, rdbStr("z"), 2, rdbStr(w), f64le(1), rdbStr(w), f64le(2)),
    () => bytes(0x14, rdbStr("s"), rdbStr(listpack([w, w]))),
    () => bytes(0x10, rdbStr("h"), rdbStr(listpack([w, "1", w, "2"]))),
    () => bytes(0x11, rdbStr("z"), rdbStr(listpack([w, 1, w, 2]))),
    () => bytes(0x0d, rdbStr("h"), rdbStr(ziplist([w, "1", w, "2"]))),
    () => bytes(0x0b, rdbStr("i"), rdbStr(intset(2, [5, 5]))),
    () => bytes(0x09, rdbStr("h"), rdbStr(zipmap([[w, "1"], [w, "2"]]))),
  ])();
  return seal(concatBytes([header(9), bytes(0xfe, 0x00), body]));
}

/** A base file, then (mostly) one of the damages. */
export function rdbInput(rng: Rng): RdbInput {
  const r = rng.float();
  if (r < 0.12) return { kind: "crafted-length", bytes: craftedLength(rng) };
  if (r < 0.22) return { kind: "duplicates", bytes: duplicates(rng) };
  const base = rng.bool(0.6) ? writeModel(randomModel(rng), undefined, { version: rng.pick([9, 10] as const) }) : encodedFile(rng);
  const d = rng.float();
  if (d < 0.1) return { kind: "valid", bytes: base };
  if (d < 0.3) return { kind: "truncated", bytes: base.subarray(0, rng.int(base.length)) };
  const mutated = mutate(rng, base, 3);
  if (d < 0.5) return { kind: "mutated-stale-crc", bytes: mutated };
  if (d < 0.85) return { kind: "mutated-fixed-crc", bytes: retrail(mutated, "crc") };
  return { kind: "mutated-zero-crc", bytes: retrail(mutated, "zero") };
}

/** For failure reports: the printable start of an input. */
export function preview(b: Uint8Array): string {
  return td.decode(b.subarray(0, 64)).replace(/[^\x20-\x7e]/g, ".");
}
