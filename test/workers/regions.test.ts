/**
 * Regions end to end (SPEC §4): a replica created with a region reports it (REPLCONF region);
 * the master's INFO replication, the admin API, the routing view and the status page show
 * it; lag is bytes behind and the time since the replica last acknowledged everything
 * written (0 when in sync).
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { AUTH, base, createReplica } from "./edge.ts";
import { cmd, freshDb, info, inNode, until } from "./nodes.ts";

interface ReplicaStatus {
  name: string;
  region: string;
  state: string;
  lagBytes: number;
  lagMs: number;
  ackAgeMs: number;
}

async function adminGet(path: string): Promise<any> {
  const res = await SELF.fetch(`https://example.com${path}`, { headers: AUTH });
  expect(res.status).toBe(200);
  return res.json();
}

describe("regions", () => {
  it("a replica's region travels by REPLCONF to INFO, the admin API, the routing view and the status page; lag in bytes and time", async () => {
    const db = freshDb("reg");
    await base(db, ["SET", "k", "v"]);
    await createReplica(db, "eu", "weur");
    await createReplica(db, "asia", "apac");

    const inf = await info(db, "master");
    const lines = [inf.slave0, inf.slave1].sort();
    expect(lines[0]).toMatch(/^ip=asia,port=0,state=online,offset=\d+,lag=\d+,region=apac$/);
    expect(lines[1]).toMatch(/^ip=eu,port=0,state=online,offset=\d+,lag=\d+,region=weur$/);

    const topo = await adminGet(`/db/${db}/admin/nodes`);
    const regionOf = Object.fromEntries(topo.replicas.map((r: { node: string; region: string }) => [r.node, r.region]));
    expect(regionOf).toEqual({ eu: "weur", asia: "apac" });
    expect(topo.master.replicas.map((r: ReplicaStatus) => [r.name, r.region]).sort()).toEqual([["asia", "apac"], ["eu", "weur"]]);

    const routing = await adminGet(`/db/${db}/admin/routing`);
    expect(routing.master).toBe("master");
    expect(routing.reads.weur).toBe("eu");
    expect(routing.reads.eeur).toBe("eu");
    expect(routing.reads.apac).toBe("asia");
    expect(routing.reads.oc).toBe("asia");
    expect(routing.replicas.every((r: { healthy: boolean }) => r.healthy)).toBe(true);

    // In sync: 0 bytes behind is 0 ms of lag, however long ago the last ACK was.
    await until("eu in sync", async () => {
      const m = await adminGet(`/db/${db}/admin/nodes/master`);
      const eu = m.replicas.find((r: ReplicaStatus) => r.name === "eu") as ReplicaStatus;
      return eu.lagBytes === 0 && eu.lagMs === 0;
    });
    // Behind: asia stops acknowledging; its lag grows in bytes and in time.
    await inNode(db, "asia", (n) => ((n.replica as unknown as Record<string, unknown>).sendAck = () => {}));
    // t0 before the write: its answer can come back well after the lag clock started.
    const t0 = Date.now();
    await cmd(db, "master", "SET", "k", "v2");
    await until("asia lags by 100 ms", async () => {
      const m = await adminGet(`/db/${db}/admin/nodes/master`);
      const asia = m.replicas.find((r: ReplicaStatus) => r.name === "asia") as ReplicaStatus;
      return asia.lagBytes > 0 && asia.lagMs >= 100;
    });
    const m = await adminGet(`/db/${db}/admin/nodes/master`);
    const asia = m.replicas.find((r: ReplicaStatus) => r.name === "asia") as ReplicaStatus;
    expect(asia.lagMs).toBeLessThanOrEqual(Date.now() - t0 + 50);
    await inNode(db, "asia", (n) => delete (n.replica as unknown as Record<string, unknown>).sendAck);

    const page = await SELF.fetch(`https://example.com/db/${db}/status?_token=test-token`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Reads from each region");
    expect(html).toContain("/admin/routing");
    expect(html).toContain('"wnam","enam","sam","weur","eeur","afr","me","apac","oc","unplaced"');
  });
});
