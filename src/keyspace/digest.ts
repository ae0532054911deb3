/**
 * DEBUG DIGEST and DEBUG DIGEST-VALUE, bit-for-bit as redis-server 7.0 computes them
 * (debug.c computeDatasetDigest / xorObjectDigest), so that a replica, a restored
 * snapshot and a real redis-server fed the same commands can be compared by one value.
 *
 * The idea: two 20-byte SHA-1 folds.
 *   xor(d, x): d ^= SHA1(x)           order-independent (set members, hash fields, keys)
 *   mix(d, x): d = SHA1(d ^ SHA1(x))  order-dependent (list elements, key then value)
 * A key's digest is mix(key), mix(htonl(type)), then its value by type rule, then
 * xor("!!expire!!") when it has a TTL (its value does not count). The dataset digest
 * mixes htonl(db) once per non-empty db in ascending order and xors in the SHA-1 of
 * every key's digest. Zset scores are folded as "%.17g" text (7.0; 7.2 changed this).
 *
 * Keys are read in batches and collections through `ks.elements` (batched rows), and
 * strings chunk by chunk, so memory stays bounded by one batch whatever the dataset size.
 * Like Redis (which walks the dict), logically expired keys that are still stored count.
 */
import { blob, toHex } from "../util/bytes.ts";
import { sha1Of } from "../util/sha1.ts";
import { formatG17 } from "../util/numbers.ts";
import { TYPE } from "./schema.ts";
import type { Keyspace, KeyMeta } from "./store.ts";

/** Keys read per query while walking a database. */
const DIGEST_KEYS_PER_BATCH = 256;
/** Elements read per query while folding a collection. */
const DIGEST_ELEMENTS_PER_BATCH = 1024;

const DIGEST_BYTES = 20;
const EXPIRE_MARK = new TextEncoder().encode("!!expire!!");

type Digest = Uint8Array;

/** In plain TypeScript: node:crypto's per-call cost dominates for the tiny inputs here. */
function sha1(parts: Iterable<Uint8Array>): Uint8Array {
  return sha1Of(parts);
}

/** d ^= SHA1(x), where x is the concatenation of `parts`. */
function xorDigest(d: Digest, ...parts: Uint8Array[]): void {
  xorDigestOf(d, parts);
}

function xorDigestOf(d: Digest, parts: Iterable<Uint8Array>): void {
  const h = sha1(parts);
  for (let i = 0; i < DIGEST_BYTES; i++) d[i]! ^= h[i]!;
}

/** d = SHA1(d ^ SHA1(x)), where x is the concatenation of `parts`. */
function mixDigest(d: Digest, ...parts: Uint8Array[]): void {
  mixDigestOf(d, parts);
}

function mixDigestOf(d: Digest, parts: Iterable<Uint8Array>): void {
  xorDigestOf(d, parts);
  d.set(sha1([d]));
}

function be32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, false);
  return b;
}

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A string value row by row (past STRING_CHUNK_BYTES it spans chunk rows), hashed as it is read. */
function* stringChunks(ks: Keyspace, m: KeyMeta): Generator<Uint8Array> {
  // A one-row string's value came with its metadata (scanKeys/peek): no second read.
  if (m.nchunks === 0 && m.val !== undefined) {
    yield m.val;
    return;
  }
  yield blob(ks.sql.exec("SELECT val FROM kv_keys WHERE id = ?", m.id).one().val);
  if (m.nchunks === 0) return;
  for (let idx = 1; idx <= m.nchunks; idx++) {
    const data = ks.sql.exec("SELECT data FROM kv_strchunk WHERE kid = ? AND idx = ?", m.id, idx).toArray()[0]?.data;
    // A missing row is zeros (Keyspace.writeString).
    yield data !== undefined ? blob(data) : new Uint8Array(Math.min(ks.chunkBytes, m.card - idx * ks.chunkBytes));
  }
}

/**
 * xorObjectDigest: fold type, value and TTL presence of `m` into `d` (the key name is
 * the caller's business: DIGEST-VALUE leaves it out).
 */
/** SHA1(htonl(type)) per type: the same for every key, computed once. */
const TYPE_SHA1: Uint8Array[] = [0, 1, 2, 3, 4].map((t) => sha1Of([be32(t)]));

function foldValue(ks: Keyspace, m: KeyMeta, d: Digest): void {
  // mixDigest(d, htonl(type)) with the constant SHA-1 taken from the table.
  const th = TYPE_SHA1[m.type]!;
  for (let i = 0; i < DIGEST_BYTES; i++) d[i]! ^= th[i]!;
  d.set(sha1([d]));
  switch (m.type) {
    case TYPE.string:
      mixDigestOf(d, stringChunks(ks, m));
      break;
    case TYPE.list:
      for (const e of ks.elements(m, DIGEST_ELEMENTS_PER_BATCH)) mixDigest(d, e as Uint8Array);
      break;
    case TYPE.set:
      for (const e of ks.elements(m, DIGEST_ELEMENTS_PER_BATCH)) xorDigest(d, e as Uint8Array);
      break;
    case TYPE.zset:
      for (const e of ks.elements(m, DIGEST_ELEMENTS_PER_BATCH)) {
        const [member, score] = e as [Uint8Array, number];
        const ed = new Uint8Array(DIGEST_BYTES);
        mixDigest(ed, member);
        mixDigest(ed, ascii(formatG17(score)));
        xorDigest(d, ed);
      }
      break;
    case TYPE.hash:
      for (const e of ks.elements(m, DIGEST_ELEMENTS_PER_BATCH)) {
        const [field, value] = e as [Uint8Array, Uint8Array];
        const ed = new Uint8Array(DIGEST_BYTES);
        mixDigest(ed, field);
        mixDigest(ed, value);
        xorDigest(d, ed);
      }
      break;
  }
  if (m.expireMs !== null) xorDigest(d, EXPIRE_MARK);
}

/** DEBUG DIGEST: 40 hex digits over every database; all zeros for an empty dataset. */
export function datasetDigest(ks: Keyspace): string {
  const final = new Uint8Array(DIGEST_BYTES);
  for (const { db, keys } of ks.dbStats()) {
    if (keys === 0) continue;
    mixDigest(final, be32(db));
    let after = 0;
    while (true) {
      const batch = ks.scanKeys(db, after, DIGEST_KEYS_PER_BATCH);
      for (const m of batch) {
        const d = new Uint8Array(DIGEST_BYTES);
        mixDigest(d, m.key);
        foldValue(ks, m, d);
        xorDigest(final, d);
      }
      if (batch.length < DIGEST_KEYS_PER_BATCH) break;
      after = batch[batch.length - 1]!.id;
    }
  }
  return toHex(final);
}

/**
 * DEBUG DIGEST-VALUE for one key as stored (expired or not, like Redis's dictFind):
 * type, value and TTL presence without the key name or db; 40 zeros for a missing key.
 */
export function valueDigest(ks: Keyspace, meta: KeyMeta | null): string {
  const d = new Uint8Array(DIGEST_BYTES);
  if (meta) foldValue(ks, meta, d);
  return toHex(d);
}
