/**
 * A snapshot lies in R2 as a sequence of objects of at most SNAPSHOT_PIECE_BYTES (no multipart
 * upload, whose 5 MiB parts stalled every node locally); every reader puts the pieces back
 * together: the admin download, a restore, and (in replication.test.ts) the replicas.
 */
import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Crc64 } from "../../src/protocol/rdb/crc64.ts";
import { pieceCount, SNAPSHOT_PIECE_BYTES } from "../../src/replication/snapshot-objects.ts";
import { cmd, freshDb, inNode, until } from "./nodes.ts";

const AUTH = { authorization: "Bearer test-token" };

async function download(db: string): Promise<{ bytes: Uint8Array; crc: string }> {
  const res = await SELF.fetch(`https://example.com/db/${db}/admin/snapshot`, { headers: AUTH });
  expect(res.status).toBe(200);
  return { bytes: new Uint8Array(await res.arrayBuffer()), crc: res.headers.get("x-crc64")! };
}

async function objectsUnder(prefix: string): Promise<{ key: string; size: number }[]> {
  const listed = await env.SNAPSHOTS.list({ prefix });
  return listed.objects.map((o) => ({ key: o.key, size: o.size }));
}

describe("snapshot pieces", () => {
  it("a 2.5 MiB snapshot is three R2 objects of at most one piece; download and restore put them back together; a superseded snapshot's pieces are all deleted", async () => {
    const db = freshDb("pieces");
    // Five values of 512 KiB: a snapshot of ~2.5 MiB.
    for (let i = 0; i < 5; i++) expect(await cmd(db, "master", "SET", `big:${i}`, String.fromCharCode(97 + i).repeat(512 * 1024))).toBe("OK");
    expect(await cmd(db, "master", "SET", "small", "1")).toBe("OK");
    const digest = await cmd(db, "master", "DEBUG", "DIGEST");

    const { bytes, crc } = await download(db);
    const snap = await inNode(db, "master", (n) => n.snapshots.list()[0]!);
    expect(snap.key.endsWith("/")).toBe(true);
    expect(bytes.length).toBe(snap.size);
    expect(bytes.length).toBeGreaterThan(2.5 * 1024 * 1024);
    // The file is whole: its CRC64 (all but the 8-byte trailer) is the announced one.
    expect(new Crc64().update(bytes.subarray(0, bytes.length - 8)).hex()).toBe(crc);
    expect(crc).toBe(snap.crc);

    const objects = await objectsUnder(snap.key);
    expect(objects.length).toBe(pieceCount(snap.size));
    expect(objects.length).toBe(3);
    expect(objects.every((o) => o.size <= SNAPSHOT_PIECE_BYTES)).toBe(true);
    expect(objects.reduce((a, o) => a + o.size, 0)).toBe(snap.size);

    // A restore reads the uploaded file (one plain object) in ranges.
    const restored = freshDb("pieces-restored");
    const res = await SELF.fetch(`https://example.com/db/${restored}/admin/restore`, { method: "PUT", headers: AUTH, body: bytes });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { restored: number }).restored).toBe(6);
    expect(await cmd(restored, "master", "DEBUG", "DIGEST")).toBe(digest);

    // A write and a new download: the first snapshot is superseded, and the cron deletes every piece of it.
    expect(await cmd(db, "master", "SET", "small", "2")).toBe("OK");
    await download(db);
    await inNode(db, "master", (n) => n.alarm());
    await until("old pieces deleted", async () => (await objectsUnder(snap.key)).length === 0);
    expect(await inNode(db, "master", (n) => n.snapshots.list().map((s) => s.id))).not.toContain(snap.id);
  });
});
