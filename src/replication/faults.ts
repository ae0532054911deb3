/**
 * R2 with fault injection for tests: `DEBUG R2-FAIL <op> <count>` makes the next `count`
 * calls of an operation (put, get, part) throw, as a flaky network would. Off by default
 * and reachable only when DEBUG is enabled.
 */
import { deleteObject, openObject, pieceKey } from "./snapshot-objects.ts";

export type R2Op = "put" | "get" | "part";

export class FaultyBucket {
  private readonly failures: Record<R2Op, number> = { put: 0, get: 0, part: 0 };
  /** Calls that failed on purpose, for assertions. */
  injected = 0;

  constructor(readonly bucket: R2Bucket) {}

  failNext(op: R2Op, count: number): void {
    this.failures[op] = count;
  }

  private check(op: R2Op): void {
    if (this.failures[op] > 0) {
      this.failures[op]--;
      this.injected++;
      throw new Error(`injected R2 ${op} failure`);
    }
  }

  /**
   * Piece `i` of a pieced snapshot (snapshot-objects.ts). The first piece counts as a `put`
   * and the later ones as a `part`, as the multipart upload's create and parts did.
   */
  async putPiece(key: string, i: number, value: Uint8Array, meta: Record<string, string>): Promise<void> {
    this.check(i === 0 ? "put" : "part");
    await this.bucket.put(pieceKey(key, i), value, { customMetadata: meta });
  }

  /** Corrupt (flip a byte) or truncate the next object read: `DEBUG R2-CORRUPT flip|truncate`. */
  corruptNext(mode: "flip" | "truncate" | null): void {
    this.corrupt = mode;
  }
  private corrupt: "flip" | "truncate" | null = null;

  /**
   * The bytes of a snapshot or plain object, a piece (≤ SNAPSHOT_PIECE_BYTES) at a time, or
   * null when it does not exist. `size` as recorded (needed for a pieced snapshot).
   */
  async open(key: string, size: number | null): Promise<AsyncIterable<Uint8Array> | null> {
    this.check("get");
    const body = await openObject(this.bucket, key, size);
    const mode = this.corrupt;
    if (!body || !mode) return body;
    this.corrupt = null;
    this.injected++;
    return corrupted(body, mode, size);
  }

  /** Delete every object of a snapshot (a pieced one: whatever pieces exist, even of a failed write). */
  deleteSnapshot(key: string): Promise<void> {
    return deleteObject(this.bucket, key);
  }
}

/** A read that flips the middle byte or stops halfway (`size` unknown: the first piece's middle). */
async function* corrupted(body: AsyncIterable<Uint8Array>, mode: "flip" | "truncate", size: number | null): AsyncGenerator<Uint8Array> {
  let at = 0;
  let middle = size === null ? null : Math.floor(size / 2);
  for await (const piece of body) {
    middle ??= Math.floor(piece.length / 2);
    if (mode === "truncate") {
      if (at + piece.length > middle) {
        yield piece.subarray(0, middle - at);
        return;
      }
    } else if (at <= middle && middle < at + piece.length) {
      const bad = piece.slice();
      bad[middle - at]! ^= 0xff;
      at += piece.length;
      yield bad;
      continue;
    }
    at += piece.length;
    yield piece;
  }
}
