import { describe, expect, it } from "vitest";
import {
  deleteObject,
  isPieced,
  openObject,
  pieceCount,
  pieceKey,
  R2_DELETE_KEYS_MAX,
  SNAPSHOT_PIECE_BYTES,
} from "../../src/replication/snapshot-objects.ts";

/** An in-memory stand-in for the R2 calls the module makes (get with ranges, list, delete), counting them. */
class FakeBucket {
  readonly objects = new Map<string, Uint8Array>();
  gets = 0;
  deleteCalls: number[] = [];

  async get(key: string, opts?: { range?: { offset: number; length: number } }) {
    this.gets++;
    const all = this.objects.get(key);
    if (!all) return null;
    const r = opts?.range;
    const bytes = r ? all.subarray(r.offset, r.offset + r.length) : all;
    return { size: all.length, arrayBuffer: async () => bytes.slice().buffer };
  }

  async head(key: string) {
    const all = this.objects.get(key);
    return all ? { size: all.length } : null;
  }

  async list(opts: { prefix: string; limit: number }) {
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(opts.prefix)).sort().slice(0, opts.limit);
    return { objects: keys.map((key) => ({ key })) };
  }

  async delete(keys: string | string[]) {
    const list = typeof keys === "string" ? [keys] : keys;
    this.deleteCalls.push(list.length);
    for (const k of list) this.objects.delete(k);
  }

  /** Store `data` as a pieced snapshot under `key`. */
  putPieced(key: string, data: Uint8Array): void {
    for (let i = 0; i * SNAPSHOT_PIECE_BYTES < Math.max(1, data.length); i++) {
      this.objects.set(pieceKey(key, i), data.slice(i * SNAPSHOT_PIECE_BYTES, (i + 1) * SNAPSHOT_PIECE_BYTES));
    }
  }
}

function pattern(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + (i >> 11)) & 0xff;
  return out;
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<{ bytes: Uint8Array; sizes: number[] }> {
  const parts: Uint8Array[] = [];
  for await (const p of body) parts.push(p);
  const bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.length;
  }
  return { bytes, sizes: parts.map((p) => p.length) };
}

/** Index of the first differing byte (or the shorter length), -1 when equal (toEqual on MiBs is slow). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

const bucket = (b: FakeBucket) => b as unknown as R2Bucket;

describe("snapshot objects in R2", () => {
  it("a key ending in / is pieced; the piece count follows from the size", () => {
    expect(isPieced("snapshots/db/m/x.rdb/")).toBe(true);
    expect(isPieced("uploads/db/1.rdb")).toBe(false);
    expect(pieceKey("k/", 7)).toBe("k/000007");
    expect([0, 1, SNAPSHOT_PIECE_BYTES, SNAPSHOT_PIECE_BYTES + 1, 3 * SNAPSHOT_PIECE_BYTES].map(pieceCount)).toEqual([1, 1, 1, 2, 3]);
  });

  for (const size of [100, SNAPSHOT_PIECE_BYTES, 2 * SNAPSHOT_PIECE_BYTES + 12345]) {
    it(`a pieced snapshot of ${size} bytes reads back exactly, one get per piece`, async () => {
      const b = new FakeBucket();
      const data = pattern(size);
      b.putPieced("s/", data);
      const body = await openObject(bucket(b), "s/", size);
      const { bytes, sizes } = await readAll(body!);
      expect(firstDifference(bytes, data)).toBe(-1);
      expect(sizes.every((n) => n <= SNAPSHOT_PIECE_BYTES)).toBe(true);
      expect(b.gets).toBe(pieceCount(size));
    });
  }

  it("a plain object is read in ranges of at most one piece", async () => {
    const b = new FakeBucket();
    const data = pattern(2 * SNAPSHOT_PIECE_BYTES + 7);
    b.objects.set("uploads/x.rdb", data);
    const { bytes, sizes } = await readAll((await openObject(bucket(b), "uploads/x.rdb", null))!);
    expect(firstDifference(bytes, data)).toBe(-1);
    expect(sizes).toEqual([SNAPSHOT_PIECE_BYTES, SNAPSHOT_PIECE_BYTES, 7]);
  });

  it("an empty plain object reads as no bytes, with no range asked (R2 cannot serve one)", async () => {
    const b = new FakeBucket();
    b.objects.set("uploads/empty.rdb", new Uint8Array(0));
    const { bytes, sizes } = await readAll((await openObject(bucket(b), "uploads/empty.rdb", null))!);
    expect(bytes.length).toBe(0);
    expect(sizes).toEqual([]);
    expect(b.gets).toBe(0);
  });

  it("a missing object is null; a missing or short later piece is an error", async () => {
    const b = new FakeBucket();
    expect(await openObject(bucket(b), "none/", 10)).toBeNull();
    expect(await openObject(bucket(b), "none.rdb", null)).toBeNull();
    const size = 2 * SNAPSHOT_PIECE_BYTES + 5;
    b.putPieced("s/", pattern(size));
    b.objects.delete(pieceKey("s/", 1));
    await expect(readAll((await openObject(bucket(b), "s/", size))!)).rejects.toThrow(/piece 1 of 3 is missing/);
    b.putPieced("t/", pattern(size));
    await expect(readAll((await openObject(bucket(b), "t/", size + 1))!)).rejects.toThrow(/piece 2 has 5 bytes, expected 6/);
  });

  it("deleting a pieced snapshot removes every piece, at most R2_DELETE_KEYS_MAX per call, and nothing else", async () => {
    const b = new FakeBucket();
    for (let i = 0; i < R2_DELETE_KEYS_MAX + 3; i++) b.objects.set(pieceKey("s/", i), new Uint8Array(1));
    b.objects.set("s2/000000", new Uint8Array(1));
    b.objects.set("plain.rdb", new Uint8Array(1));
    await deleteObject(bucket(b), "s/");
    expect([...b.objects.keys()].sort()).toEqual(["plain.rdb", "s2/000000"]);
    expect(b.deleteCalls).toEqual([R2_DELETE_KEYS_MAX, 3]);
    await deleteObject(bucket(b), "plain.rdb");
    expect([...b.objects.keys()]).toEqual(["s2/000000"]);
  });
});
