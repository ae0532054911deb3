/**
 * Edge reads through the database's base URL (SPEC §4): reads to the nearest healthy
 * replica, everything else to the master, `x-served-by` on every node answer, replicas
 * that are cut off, detached, loading or deleted never used, and read-your-writes with the
 * sync token.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { AUTH, base, createReplica, untilServedBy } from "./edge.ts";
import { cmd, freshDb, inNode, info, until } from "./nodes.ts";
import { openResp } from "./resp-socket.ts";

const NEAREST: Record<string, string> = {
  wnam: "us",
  enam: "us",
  sam: "us",
  weur: "eu",
  eeur: "eu",
  apac: "asia",
  oc: "asia",
  afr: "eu",
  me: "asia",
};

describe("edge reads", () => {
  it("reads from each region go to the nearest healthy replica; writes, mixed pipelines and /multi-exec to the master", async () => {
    const db = freshDb("route");
    expect((await base(db, ["SET", "k", "v"])).servedBy).toBe("master");
    await createReplica(db, "eu", "weur");
    await createReplica(db, "asia", "apac");
    await createReplica(db, "us", "wnam");
    await untilServedBy(db, "weur", "eu");
    for (const [region, node] of Object.entries(NEAREST)) {
      const a = await base(db, ["GET", "k"], { region });
      expect([region, a.status, a.servedBy, a.body]).toEqual([region, 200, node, { result: "v" }]);
    }
    // request.cf locates the caller when no debug header is sent (Paris → weur, Tokyo → apac).
    expect((await base(db, ["GET", "k"], { cf: { latitude: "48.85", longitude: "2.35", continent: "EU" } })).servedBy).toBe("eu");
    expect((await base(db, ["GET", "k"], { cf: { latitude: "35.68", longitude: "139.69", continent: "AS" } })).servedBy).toBe("asia");
    // A pipeline of reads is a read; one write in it sends it all to the master.
    const reads = await base(db, [["GET", "k"], ["STRLEN", "k"], ["EXISTS", "k"]], { region: "apac", sub: "/pipeline" });
    expect([reads.servedBy, reads.body]).toEqual(["asia", [{ result: "v" }, { result: 1 }, { result: 1 }]]);
    const mixed = await base(db, [["GET", "k"], ["SET", "k2", "x"]], { region: "apac", sub: "/pipeline" });
    expect([mixed.servedBy, mixed.body]).toEqual(["master", [{ result: "v" }, { result: "OK" }]]);
    const tx = await base(db, [["GET", "k"]], { region: "apac", sub: "/multi-exec" });
    expect([tx.servedBy, tx.body]).toEqual(["master", [{ result: "v" }]]);
    expect((await base(db, ["SET", "k3", "y"], { region: "weur" })).servedBy).toBe("master");
    // The path form, unknown commands and errors: every node answer names its node.
    const path = await SELF.fetch(`https://example.com/db/${db}/get/k`, { headers: { ...AUTH, "x-debug-client-region": "weur" } });
    expect([path.status, path.headers.get("x-served-by")]).toEqual([200, "eu"]);
    const unknown = await base(db, ["NOSUCH", "k"], { region: "weur" });
    expect([unknown.status, unknown.servedBy]).toEqual([400, "master"]);
    // GET with a wrong arity is a read by its name: the replica gives Redis's error itself.
    const arity = await base(db, ["GET"], { region: "weur" });
    expect([arity.status, arity.servedBy, arity.body]).toEqual([400, "eu", { error: "ERR wrong number of arguments for 'get' command" }]);
    const pinned = await SELF.fetch(`https://example.com/db/${db}/nodes/asia`, { method: "POST", headers: AUTH, body: '["SET","a","b"]' });
    expect([pinned.status, pinned.headers.get("x-served-by")]).toEqual([400, "asia"]);
    expect(((await pinned.json()) as { error: string }).error).toMatch(/^READONLY/);
    // Without DEBUG's header or coordinates the caller is unlocated: the master answers.
    expect((await base(db, ["GET", "k"], { cf: {} })).servedBy).toBe("master");
  });

  it("a replica that is cut off, detached, loading or deleted is not used", async () => {
    const db = freshDb("unhealthy");
    await base(db, ["SET", "k", "v"]);
    await createReplica(db, "eu", "weur");
    await createReplica(db, "eu2", "eeur");
    await createReplica(db, "asia", "apac");
    await untilServedBy(db, "weur", "eu");

    // Loading a snapshot: the replica refuses routed reads (LOADING), the router retries elsewhere.
    await inNode(db, "asia", (n) => (n.engine.loading = true));
    const loading = await base(db, ["GET", "k"], { region: "apac" });
    expect([loading.servedBy, loading.body]).not.toEqual(["asia", expect.anything()]);
    expect(loading.body).toEqual({ result: "v" });
    await inNode(db, "asia", (n) => (n.engine.loading = false));

    // Cut off: its link to the master dropped (and drops again in the next handshake).
    await cmd(db, "eu", "CONFIG", "SET", "replica-serve-stale-data", "no");
    await cmd(db, "eu", "DEBUG", "REPL-DROP", "handshake");
    await cmd(db, "eu", "CLIENT", "KILL", "TYPE", "master");
    const cut = await base(db, ["GET", "k"], { region: "weur" });
    expect(cut.servedBy).not.toBe("eu");
    expect(cut.body).toEqual({ result: "v" }); // never MASTERDOWN through the base URL
    await until("eu back", async () => (await info(db, "eu")).master_link_status === "up");

    // Detached: REPLICAOF NO ONE makes it a master of its own; reads go to the next nearest.
    expect(await cmd(db, "eu", "REPLICAOF", "NO", "ONE")).toBe("OK");
    await cmd(db, "eu", "SET", "k", "divergent");
    for (let i = 0; i < 5; i++) {
      const a = await base(db, ["GET", "k"], { region: "weur" });
      expect(a.servedBy).not.toBe("eu");
      expect(a.body).toEqual({ result: "v" });
    }
    await untilServedBy(db, "weur", "eu2");

    // Deleted through the admin API.
    const del = await SELF.fetch(`https://example.com/db/${db}/admin/nodes/eu2`, { method: "DELETE", headers: AUTH });
    expect(del.status).toBe(200);
    for (let i = 0; i < 5; i++) {
      const a = await base(db, ["GET", "k"], { region: "eeur" });
      expect(a.servedBy).not.toBe("eu2");
      expect(a.body).toEqual({ result: "v" });
    }
    await untilServedBy(db, "eeur", "asia");
  });

  it("read-your-writes: 200 write-then-read pairs alternating regions, 0 stale reads, most served by replicas", async () => {
    const db = freshDb("ryw");
    await base(db, ["SET", "seed", "1"]);
    await createReplica(db, "eu", "weur");
    await createReplica(db, "asia", "apac");
    await untilServedBy(db, "weur", "eu", ["GET", "seed"]);
    const regions = ["weur", "apac", "enam", "oc", "eeur", "me"];
    let token = 0;
    let stale = 0;
    const servedBy: Record<string, number> = {};
    for (let i = 0; i < 200; i++) {
      const region = regions[i % regions.length]!;
      const w = await base(db, ["SET", `k${i}`, `v${i}`], { region, token });
      expect([w.status, w.servedBy]).toEqual([200, "master"]);
      expect(w.token).toBeGreaterThan(token);
      token = w.token;
      const r = await base(db, ["GET", `k${i}`], { region, token });
      expect(r.status).toBe(200);
      if (r.body.result !== `v${i}`) stale++;
      expect(r.token).toBeGreaterThanOrEqual(token);
      servedBy[r.servedBy!] = (servedBy[r.servedBy!] ?? 0) + 1;
    }
    console.log(`read-your-writes: served by ${JSON.stringify(servedBy)}`);
    expect(stale).toBe(0);
    expect((servedBy.eu ?? 0) + (servedBy.asia ?? 0)).toBeGreaterThan(100);
  }, 240_000); // 400 sequential requests: ~25 s alone, much longer on a loaded machine

  it("a real Redis replica attached through the replication endpoint is listed but never a read target (its address names no node)", async () => {
    const db = freshDb("outside-replica");
    await base(db, ["SET", "k", "v"]);
    const link = await openResp(`/db/${db}/replication`, "test-replication-secret");
    try {
      link.send("REPLCONF", "listening-port", "6380");
      await link.expect("+OK\r\n");
      link.send("PSYNC", "?", "-1");
      const head = await link.line();
      const offset = Number(/^\+FULLRESYNC [0-9a-f]{40} (\d+)$/.exec(head)?.[1]);
      expect(offset).toBeGreaterThan(0);
      link.send("REPLCONF", "ACK", String(offset));
      await until("the outside replica online", async () => /state=online/.test((await info(db, "master")).slave0 ?? ""));
      const view = await inNode(db, "master", (n) => ({ listed: n.master.list().length, routable: n.topology(db, "master").replicas.length }));
      expect(view).toEqual({ listed: 1, routable: 0 });
      const a = await base(db, ["GET", "k"], { region: "weur" });
      expect([a.servedBy, a.body]).toEqual(["master", { result: "v" }]);
    } finally {
      link.close();
    }
  });

  it("a replica that cannot reach the token in time hands the read to the master", async () => {
    const db = freshDb("token");
    await base(db, ["SET", "k", "v"]);
    await createReplica(db, "eu", "weur");
    await untilServedBy(db, "weur", "eu");
    const far = (await base(db, ["GET", "k"])).token + 1_000_000; // an offset nobody has reached
    const a = await base(db, ["GET", "k"], { region: "weur", token: far });
    expect([a.status, a.servedBy, a.body]).toEqual([200, "master", { result: "v" }]);
  });

  it("WebSocket ?read=nearest opens on the nearest replica, where writes answer READONLY", async () => {
    const db = freshDb("wsnear");
    await base(db, ["SET", "k", "v"]);
    await createReplica(db, "asia", "apac");
    await untilServedBy(db, "apac", "asia");
    const res = await SELF.fetch(`https://example.com/db/${db}/ws?read=nearest`, {
      headers: { ...AUTH, upgrade: "websocket", "x-debug-client-region": "oc" },
    });
    expect(res.status).toBe(101);
    expect(res.headers.get("x-served-by")).toBe("asia");
    const ws = res.webSocket!;
    (ws as unknown as { binaryType: string }).binaryType = "arraybuffer";
    ws.accept();
    const replies: string[] = [];
    const got = new Promise<void>((resolve) => {
      ws.addEventListener("message", (e) => {
        replies.push(typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer));
        if (replies.join("").split("\r\n").length >= 3) resolve();
      });
    });
    ws.send("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nx\r\n");
    await got;
    expect(replies.join("")).toBe("$1\r\nv\r\n-READONLY You can't write against a read only replica.\r\n");
    ws.close(1000, "done");
    const plain = await SELF.fetch(`https://example.com/db/${db}/ws`, { headers: { ...AUTH, upgrade: "websocket", "x-debug-client-region": "oc" } });
    expect(plain.headers.get("x-served-by")).toBe("master");
    plain.webSocket!.accept();
    plain.webSocket!.close(1000, "done");
  });
});
