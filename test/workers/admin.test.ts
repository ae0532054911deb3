import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { cmd, freshDb, trackReplica, until } from "./nodes.ts";

const AUTH = { authorization: "Bearer test-token" };
const RO = { authorization: "Bearer test-readonly-token" };

async function api(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await SELF.fetch(`https://example.com${path}`, { ...init, headers: { ...AUTH, ...(init.headers ?? {}) } });
  const type = res.headers.get("content-type") ?? "";
  return { status: res.status, body: type.includes("json") ? await res.json() : new Uint8Array(await res.arrayBuffer()) };
}

describe("admin API", () => {
  it("creates, lists, inspects and removes replicas; refuses bad input", async () => {
    const db = freshDb("adm");
    await cmd(db, "master", "SET", "k", "v");
    const created = await api(`/db/${db}/admin/nodes`, { method: "POST", body: JSON.stringify({ name: "r1", region: "weur" }) });
    trackReplica(db, "r1");
    expect(created.status).toBe(201);
    expect(created.body.created).toBe("r1");
    await until("r1 linked", async () => (await api(`/db/${db}/admin/nodes/r1`)).body.link === "connected");
    const topo = await api(`/db/${db}/admin/nodes`);
    expect(topo.status).toBe(200);
    expect(topo.body.master.role).toBe("master");
    expect(topo.body.replicas.map((r: { node: string }) => r.node)).toEqual(["r1"]);
    const one = await api(`/db/${db}/admin/nodes/r1`);
    expect(one.body.role).toBe("replica");
    expect(one.body.infoText).toContain("master_link_status:up");
    expect(one.body.roleReply[0]).toBe("slave");
    // Reads through the pinned address reach the replica.
    const pinned = await SELF.fetch(`https://example.com/db/${db}/nodes/r1`, { method: "POST", headers: AUTH, body: JSON.stringify(["GET", "k"]) });
    expect(((await pinned.json()) as { result: string }).result).toBe("v");
    const removed = await api(`/db/${db}/admin/nodes/r1`, { method: "DELETE" });
    expect(removed.status).toBe(200);
    expect((await api(`/db/${db}/admin/nodes`)).body.replicas).toEqual([]);
    expect(await cmd(db, "r1", "DBSIZE")).toBe(0);
    expect(await cmd(db, "r1", "ROLE")).toEqual(["master", 0, []]);
  });

  it("after a FAILOVER: removing the new master is refused (its data is the database's), new replicas follow it, restore reaches it", async () => {
    const db = freshDb("admfo");
    await cmd(db, "master", "SET", "k", "v");
    for (const name of ["eu1", "r1"]) {
      expect((await api(`/db/${db}/admin/nodes`, { method: "POST", body: JSON.stringify({ name, region: "weur" }) })).status).toBe(201);
      trackReplica(db, name);
    }
    trackReplica(db, "master"); // becomes a replica below; released after the file
    await until("replicas linked", async () => (await api(`/db/${db}/admin/nodes`)).body.replicas.every((r: { link: string }) => r.link === "connected"));
    expect(await cmd(db, "master", "FAILOVER", "TO", "eu1")).toBe("OK");
    await until("eu1 is the master", async () => ((await cmd(db, "eu1", "ROLE")) as string[])[0] === "master" && ((await cmd(db, "master", "ROLE")) as string[])[0] === "slave");

    const refused = await api(`/db/${db}/admin/nodes/eu1`, { method: "DELETE" });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe("ERR node 'eu1' is the database's master: only replicas can be removed (FAILOVER TO another node first)");
    expect(await cmd(db, "eu1", "GET", "k")).toBe("v");
    expect((await api(`/db/${db}/admin/nodes/master`, { method: "DELETE" })).status).toBe(400);

    const topo = await api(`/db/${db}/admin/nodes`);
    expect(topo.body.master.node).toBe("eu1");
    expect(topo.body.replicas.map((r: { node: string }) => r.node).sort()).toEqual(["master", "r1"]);

    expect((await api(`/db/${db}/admin/nodes`, { method: "POST", body: JSON.stringify({ name: "ap2", region: "apac" }) })).status).toBe(201);
    trackReplica(db, "ap2");
    expect((await api(`/db/${db}/admin/nodes/ap2`)).body.master).toBe("eu1");
    await until("ap2 synced", async () => (await cmd(db, "ap2", "GET", "k")) === "v");

    // A replica can still be removed; the others keep their data.
    expect((await api(`/db/${db}/admin/nodes/r1`, { method: "DELETE" })).status).toBe(200);
    expect(await cmd(db, "eu1", "DBSIZE")).toBe(1);

    // Restore replaces the current master's data (and so its replicas').
    const snapRes = await SELF.fetch(`https://example.com/db/${db}/admin/snapshot`, { headers: AUTH });
    expect(snapRes.headers.get("content-disposition")).toMatch(new RegExp(`filename="${db}-eu1-\\d+\\.rdb"`)); // the current master's
    await snapRes.body?.cancel();
    const snap = await api(`/db/${db}/admin/snapshot?node=eu1`);
    expect(snap.status).toBe(200);
    await cmd(db, "eu1", "SET", "extra", "1");
    const restored = await api(`/db/${db}/admin/restore`, { method: "PUT", body: snap.body as Uint8Array });
    expect(restored.status).toBe(200);
    expect(await cmd(db, "eu1", "EXISTS", "extra")).toBe(0);
    expect(await cmd(db, "eu1", "GET", "k")).toBe("v");
  });

  it("refuses bad input without changing anything", async () => {
    const db = freshDb("admbad");
    await cmd(db, "master", "SET", "k", "v");
    expect((await api(`/db/${db}/admin/nodes`, { method: "POST", body: "{" })).status).toBe(400);
    expect((await api(`/db/${db}/admin/nodes`, { method: "POST", body: JSON.stringify({ name: "r1", region: "mars" }) })).status).toBe(400);
    expect((await api(`/db/${db}/admin/nodes`, { method: "POST", body: JSON.stringify({ name: "master" }) })).status).toBe(400);
    expect((await api(`/db/${db}/admin/nodes`, { method: "POST", headers: RO, body: JSON.stringify({ name: "r1" }) })).status).toBe(403);
    expect((await SELF.fetch(`https://example.com/db/${db}/admin/nodes`)).status).toBe(401);
    expect((await api(`/db/${db}/admin/nodes/master`, { method: "DELETE" })).status).toBe(400);
    // Looking at a database that was never used finds nothing (the routing view too).
    expect((await api(`/db/${db}-never-used/admin/routing`)).status).toBe(404);
    // The root is database `default`: its status page and admin API redirect there.
    for (const [path, method] of [
      ["/status?_token=x", "GET"],
      ["/admin/nodes", "GET"],
      ["/admin/nodes/r9", "DELETE"],
    ]) {
      const r = await SELF.fetch(`https://example.com${path}`, { method, headers: AUTH, redirect: "manual" });
      expect(r.status, `${method} ${path}`).toBe(307);
      expect(r.headers.get("location")).toBe(`https://example.com/db/default${path}`);
    }
    // Unknown fields are refused (a typo must not silently make a replica of the master).
    const extra = await api(`/db/${db}/admin/nodes`, { method: "POST", body: JSON.stringify({ name: "r1", master: "redis://x:6379" }) });
    expect(extra.status).toBe(400);
    expect(extra.body.error).toMatch(/^ERR invalid body: Unrecognized key\(s\) in object: 'master'/);
    const topo = await api(`/db/${db}/admin/nodes`);
    expect(topo.body.replicas).toEqual([]);
    expect(await cmd(db, "r1", "ROLE")).toEqual(["master", 0, []]);
  });

  it("looking does not create: unknown databases and nodes answer 404; re-creating answers 409; deleting a missing node 404", async () => {
    const ghost = freshDb("ghost");
    for (const path of [`/db/${ghost}/admin/nodes`, `/db/${ghost}/admin/nodes/master`, `/db/${ghost}/admin/nodes/r9`, `/db/${ghost}/status`, `/db/${ghost}/admin/snapshot`]) {
      const r = await api(path);
      expect(r.status, path).toBe(404);
      expect(r.body.error, path).toMatch(/^ERR no such (database|node) /);
    }
    // Still nothing after looking twice.
    expect((await api(`/db/${ghost}/admin/nodes`)).status).toBe(404);
    const db = freshDb("adm409");
    await cmd(db, "master", "SET", "k", "v");
    expect((await api(`/db/${db}/admin/nodes/r9`)).status).toBe(404);
    expect((await api(`/db/${db}/admin/nodes/r9`, { method: "DELETE" })).status).toBe(404);
    const first = await api(`/db/${db}/admin/nodes`, { method: "POST", body: JSON.stringify({ name: "r1" }) });
    trackReplica(db, "r1");
    expect(first.status).toBe(201);
    const again = await api(`/db/${db}/admin/nodes`, { method: "POST", body: JSON.stringify({ name: "r1", region: "weur" }) });
    expect(again.status).toBe(409);
    expect(again.body.error).toBe(`ERR node 'r1' already exists in database '${db}' (DELETE it first)`);
    expect((await api(`/db/${db}/admin/nodes/r1`, { method: "DELETE" })).status).toBe(200);
    expect((await api(`/db/${db}/admin/nodes/r1`, { method: "DELETE" })).status).toBe(404);
  });

  it("refuses a replication cycle", async () => {
    const db = freshDb("cycle");
    await cmd(db, "master", "SET", "k", "v");
    await cmd(db, "r1", "REPLICAOF", "master");
    await cmd(db, "r2", "REPLICAOF", "r1");
    await expect(cmd(db, "master", "REPLICAOF", "r1")).rejects.toThrow("ERR REPLICAOF would make a replication cycle: master -> r1 -> master");
    await expect(cmd(db, "master", "REPLICAOF", "r2")).rejects.toThrow("ERR REPLICAOF would make a replication cycle: master -> r2 -> r1 -> master");
    await expect(cmd(db, "r1", "REPLICAOF", "r2")).rejects.toThrow("ERR REPLICAOF would make a replication cycle: r1 -> r2 -> r1");
    expect(((await cmd(db, "master", "ROLE")) as unknown[])[0]).toBe("master");
    expect(await cmd(db, "master", "GET", "k")).toBe("v");
  });

  it("serves an RDB snapshot and restores one into a master", async () => {
    const db = freshDb("snap");
    await cmd(db, "master", "RPUSH", "l", "a", "b");
    await cmd(db, "master", "SET", "s", "x");
    const snap = await api(`/db/${db}/admin/snapshot`);
    expect(snap.status).toBe(200);
    const rdb = snap.body as Uint8Array;
    expect(new TextDecoder().decode(rdb.subarray(0, 9))).toBe("REDIS0009");
    const digest = await cmd(db, "master", "DEBUG", "DIGEST");
    const other = freshDb("restore");
    await cmd(other, "master", "SET", "old", "1");
    const res = await api(`/db/${other}/admin/restore`, { method: "PUT", body: rdb });
    expect(res.status).toBe(200);
    expect(res.body.restored).toBe(2);
    expect(await cmd(other, "master", "DEBUG", "DIGEST")).toBe(digest);
    expect(await cmd(other, "master", "EXISTS", "old")).toBe(0);
    // A corrupted file is refused and changes nothing.
    const bad = rdb.slice();
    bad[bad.length - 3]! ^= 0xff;
    const refused = await api(`/db/${other}/admin/restore`, { method: "PUT", body: bad });
    expect(refused.status).toBe(400);
    expect(await cmd(other, "master", "DEBUG", "DIGEST")).toBe(digest);
  });

  it("a snapshot download is as of the request, not an older snapshot kept for replicas", async () => {
    const db = freshDb("backup");
    await cmd(db, "master", "SET", "a", "1");
    const first = await api(`/db/${db}/admin/snapshot`);
    expect(first.status).toBe(200);
    for (let i = 0; i < 20; i++) await cmd(db, "master", "SET", `k${i}`, i);
    await cmd(db, "master", "DEL", "a");
    const digest = await cmd(db, "master", "DEBUG", "DIGEST");
    const second = await api(`/db/${db}/admin/snapshot`);
    expect(second.status).toBe(200);
    const restored = freshDb("backup-restored");
    const res = await api(`/db/${restored}/admin/restore`, { method: "PUT", body: second.body as Uint8Array });
    expect(res.body.restored).toBe(20);
    expect(await cmd(restored, "master", "DEBUG", "DIGEST")).toBe(digest);
    // Nothing written since: the same snapshot serves the next download.
    const third = await SELF.fetch(`https://example.com/db/${db}/admin/snapshot`, { headers: AUTH });
    expect(third.headers.get("x-repl-offset")).toBe(String(((await cmd(db, "master", "ROLE")) as unknown[])[1]));
    await third.body?.cancel();
  });

  it("serves the status page", async () => {
    const db = freshDb("page");
    await cmd(db, "master", "SET", "k", "v");
    const res = await SELF.fetch(`https://example.com/db/${db}/status?_token=test-token`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("<svg id=\"topo\"");
    expect(html).toContain(`/admin/nodes`);
  });
});
