/**
 * How a snapshot lies in R2: a sequence of objects of SNAPSHOT_PIECE_BYTES each (the last one
 * shorter), named `<key>000000`, `<key>000001`, … where the snapshot's key ends with "/".
 *
 * Why not one object from a multipart upload: R2 parts are at least 5 MiB, and locally every
 * Durable Object and miniflare's R2 share one thread, so each 5 MiB `uploadPart` (hashed and
 * copied synchronously) stalled every node for 100–180 ms, and reading a whole object back came
 * in 4 KiB stream chunks, one await each (2,000 awaits per 8 MiB). Pieces of 1 MiB are put and
 * read in one call each: a fifth of the stall, a few hundred times fewer awaits, and memory
 * bounded by one piece on both sides.
 *
 * The piece count follows from the size (all pieces but the last are full), so the replica
 * needs nothing beyond the `+SNAPSHOT <key> <size> <crc>` line it always got. A key that does
 * not end with "/" is one plain object (snapshots written before pieces, an uploaded dump.rdb):
 * it is read in ranges of the same size.
 */

/** Bytes per snapshot object (and per ranged read of a plain object). */
export const SNAPSHOT_PIECE_BYTES = 1024 * 1024;
/** R2's `delete()` takes at most 1,000 keys per call. */
export const R2_DELETE_KEYS_MAX = 1000;

/** Whether a snapshot key names a sequence of pieces (else one plain object). */
export function isPieced(key: string): boolean {
  return key.endsWith("/");
}

/** The R2 key of piece `i` of a pieced snapshot. */
export function pieceKey(key: string, i: number): string {
  return key + String(i).padStart(6, "0");
}

/** Number of pieces a pieced snapshot of `size` bytes has (an empty file is still one piece). */
export function pieceCount(size: number): number {
  return Math.max(1, Math.ceil(size / SNAPSHOT_PIECE_BYTES));
}

/** The part of R2Bucket the readers need (R2Bucket itself, or a test's stand-in). */
export type R2Reader = Pick<R2Bucket, "get" | "head">;

/**
 * The bytes of a snapshot (or plain object), one piece or range of at most
 * SNAPSHOT_PIECE_BYTES per call; the next piece is fetched while the caller handles one
 * (memory: two pieces). Returns null when the object (or its first piece) does not
 * exist; a later piece missing or of the wrong length throws (the snapshot was deleted or is
 * corrupt). `size` is what the writer recorded; for a plain object it may be null (read to
 * the end).
 */
export async function openObject(bucket: R2Reader, key: string, size: number | null): Promise<AsyncIterable<Uint8Array> | null> {
  if (isPieced(key)) {
    if (size === null) throw new Error(`snapshot ${key}: size needed to read its pieces`);
    const first = await bucket.get(pieceKey(key, 0));
    if (!first) return null;
    return readPieces(bucket, key, size, new Uint8Array(await first.arrayBuffer()));
  }
  // No range of an empty object can be served (R2 answers the request with an error), so an
  // empty upload is recognised by its size first.
  const head = await bucket.head(key);
  if (!head) return null;
  if (head.size === 0) return readRanges(bucket, key, 0, new Uint8Array(0));
  const first = await bucket.get(key, { range: { offset: 0, length: SNAPSHOT_PIECE_BYTES } });
  if (!first) return null;
  return readRanges(bucket, key, first.size, new Uint8Array(await first.arrayBuffer()));
}

async function* readPieces(bucket: R2Reader, key: string, size: number, first: Uint8Array): AsyncGenerator<Uint8Array> {
  const n = pieceCount(size);
  const fetch = async (i: number): Promise<Uint8Array> => {
    const obj = await bucket.get(pieceKey(key, i));
    if (!obj) throw new Error(`snapshot ${key}: piece ${i} of ${n} is missing`);
    return new Uint8Array(await obj.arrayBuffer());
  };
  let next: Promise<Uint8Array> | null = null;
  for (let i = 0; i < n; i++) {
    const bytes = i === 0 ? first : await next!;
    // The next piece is on its way while the caller loads this one (R2's latency overlaps the load).
    next = i + 1 < n ? fetch(i + 1) : null;
    next?.catch(() => {}); // a failure surfaces when awaited; never unhandled if the caller stops early
    const want = i < n - 1 ? SNAPSHOT_PIECE_BYTES : size - (n - 1) * SNAPSHOT_PIECE_BYTES;
    if (bytes.length !== want) throw new Error(`snapshot ${key}: piece ${i} has ${bytes.length} bytes, expected ${want}`);
    yield bytes;
  }
}

async function* readRanges(bucket: R2Reader, key: string, total: number, first: Uint8Array): AsyncGenerator<Uint8Array> {
  let offset = first.length;
  if (first.length > 0) yield first;
  while (offset < total) {
    const obj = await bucket.get(key, { range: { offset, length: Math.min(SNAPSHOT_PIECE_BYTES, total - offset) } });
    if (!obj) throw new Error(`object ${key} disappeared while being read`);
    const bytes = new Uint8Array(await obj.arrayBuffer());
    if (bytes.length === 0) throw new Error(`object ${key}: empty range at offset ${offset} of ${total}`);
    offset += bytes.length;
    yield bytes;
  }
}

/**
 * Delete every object of a snapshot or plain object: for a pieced one whatever pieces exist
 * (listed by prefix, so also those of a write that failed or was cut short by a restart),
 * at most R2_DELETE_KEYS_MAX per call.
 */
export async function deleteObject(bucket: Pick<R2Bucket, "delete" | "list">, key: string): Promise<void> {
  if (!isPieced(key)) return bucket.delete(key);
  while (true) {
    const listed = await bucket.list({ prefix: key, limit: R2_DELETE_KEYS_MAX });
    if (listed.objects.length === 0) return;
    await bucket.delete(listed.objects.map((o) => o.key));
  }
}
