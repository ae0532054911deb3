/**
 * R2 with fault injection for tests: `DEBUG R2-FAIL <op> <count>` makes the next `count`
 * calls of an operation (put, get, part) throw, as a flaky network would. Off by default
 * and reachable only when DEBUG is enabled.
 */
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

  async put(key: string, value: Uint8Array, meta?: Record<string, string>): Promise<void> {
    this.check("put");
    await this.bucket.put(key, value, meta ? { customMetadata: meta } : undefined);
  }

  async createMultipart(key: string, meta?: Record<string, string>): Promise<R2MultipartUpload> {
    this.check("put");
    return this.bucket.createMultipartUpload(key, meta ? { customMetadata: meta } : undefined);
  }

  async uploadPart(up: R2MultipartUpload, n: number, value: Uint8Array): Promise<R2UploadedPart> {
    this.check("part");
    return up.uploadPart(n, value);
  }

  /** Corrupt (flip a byte) or truncate the next object read: `DEBUG R2-CORRUPT flip|truncate`. */
  corruptNext(mode: "flip" | "truncate" | null): void {
    this.corrupt = mode;
  }
  private corrupt: "flip" | "truncate" | null = null;

  /** The bytes of an object as a stream of chunks, or null when it does not exist. */
  async getStream(key: string): Promise<AsyncIterable<Uint8Array> | null> {
    this.check("get");
    const obj = await this.bucket.get(key);
    if (!obj) return null;
    const mode = this.corrupt;
    if (!mode) return obj.body as unknown as AsyncIterable<Uint8Array>;
    this.corrupt = null;
    this.injected++;
    const all = new Uint8Array(await obj.arrayBuffer());
    const bad = mode === "truncate" ? all.subarray(0, Math.floor(all.length / 2)) : all.slice();
    if (mode === "flip") bad[Math.floor(bad.length / 2)]! ^= 0xff;
    return (async function* () {
      yield bad;
    })();
  }

  async delete(key: string): Promise<void> {
    await this.bucket.delete(key);
  }
}
