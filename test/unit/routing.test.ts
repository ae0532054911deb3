import { describe, expect, it } from "vitest";
import { invalidateTopology, TOPOLOGY_CACHE_MS, TOPOLOGY_CACHE_UNSETTLED_MS, topologyOf, viewTtlMs } from "../../src/routing/cache.ts";
import { firstCommandName, isReadOnlyCommand, isReadRequest, restCommandNames } from "../../src/routing/classify.ts";
import { callerRegion, REGIONS, regionOfPoint, regionRttMs, type Region } from "../../src/routing/regions.ts";
import { readCandidates, readTarget, resolveTopology, type DbTopology, type NodeView, type ReplicaView } from "../../src/routing/topology.ts";
import { LagClock } from "../../src/replication/lag-clock.ts";

describe("regions", () => {
  it("the RTT table is symmetric, complete, and smallest within a region", () => {
    for (const a of REGIONS) {
      for (const b of REGIONS) {
        expect(regionRttMs(a, b)).toBe(regionRttMs(b, a));
        expect(regionRttMs(a, b)).toBeLessThan(1000);
        if (a !== b) expect(regionRttMs(a, b)).toBeGreaterThan(regionRttMs(a, a));
      }
    }
    expect(regionRttMs("weur", null)).toBeGreaterThan(regionRttMs("weur", "oc"));
  });

  it("every region's own city maps back to it; known cities map to their region", () => {
    const cities: [string, number, number, Region][] = [
      ["Seattle", 47.6, -122.3, "wnam"],
      ["Los Angeles", 34.05, -118.2, "wnam"],
      ["New York", 40.7, -74.0, "enam"],
      ["Dallas", 32.8, -96.8, "enam"],
      ["São Paulo", -23.5, -46.6, "sam"],
      ["Buenos Aires", -34.6, -58.4, "sam"],
      ["Paris", 48.9, 2.35, "weur"],
      ["London", 51.5, -0.1, "weur"],
      ["Warsaw", 52.2, 21.0, "eeur"],
      ["Kyiv", 50.45, 30.5, "eeur"],
      ["Tokyo", 35.7, 139.7, "apac"],
      ["Singapore", 1.35, 103.8, "apac"],
      ["Sydney", -33.9, 151.2, "oc"],
      ["Auckland", -36.85, 174.8, "oc"],
      ["Johannesburg", -26.2, 28.0, "afr"],
      ["Dubai", 25.2, 55.3, "me"],
    ];
    for (const [city, lat, lon, region] of cities) expect([city, regionOfPoint(lat, lon)]).toEqual([city, region]);
  });

  it("the caller's region: the debug header first, then coordinates, then country/continent", () => {
    expect(callerRegion({ latitude: "48.85", longitude: "2.35", continent: "EU" }, "apac")).toBe("apac");
    expect(callerRegion({ latitude: "48.85", longitude: "2.35", continent: "EU" }, "mars")).toBe("weur");
    expect(callerRegion({ latitude: "48.85", longitude: "2.35" }, null)).toBe("weur");
    expect(callerRegion({ continent: "OC" }, null)).toBe("oc");
    expect(callerRegion({ colo: "FRA", continent: "NA" }, null)).toBe("weur");
    expect(callerRegion({ colo: "nrt" }, null)).toBe("apac");
    expect(callerRegion({ colo: "XXX", continent: "SA" }, null)).toBe("sam");
    expect(callerRegion({ continent: "AS", country: "AE" }, null)).toBe("me");
    expect(callerRegion({ latitude: "bad", longitude: "2", continent: "SA" }, null)).toBe("sam");
    expect(callerRegion({}, null)).toBeNull();
    expect(callerRegion(undefined, null)).toBeNull();
  });
});

describe("which requests are reads", () => {
  it("classifies by the command table's flags", () => {
    expect(isReadOnlyCommand("GET")).toBe(true);
    expect(isReadOnlyCommand("zrange")).toBe(true);
    expect(isReadOnlyCommand("set")).toBe(false);
    expect(isReadOnlyCommand("config")).toBe(false);
    // SSE listeners go to the nearest replica (PUBLISH reaches it through the stream); PUBLISH does not.
    expect(isReadOnlyCommand("subscribe")).toBe(true);
    expect(isReadOnlyCommand("PSUBSCRIBE")).toBe(true);
    expect(isReadOnlyCommand("publish")).toBe(false);
    expect(isReadOnlyCommand("nosuch")).toBe(false);
    expect(isReadRequest("single", ["get"])).toBe(true);
    expect(isReadRequest("pipeline", ["get", "hgetall", "mget"])).toBe(true);
    expect(isReadRequest("pipeline", ["get", "set"])).toBe(false); // mixed
    expect(isReadRequest("multi-exec", ["get"])).toBe(false);
    expect(isReadRequest("pipeline", ["get", "nosuch"])).toBe(false);
    expect(isReadRequest("single", null)).toBe(false);
    expect(isReadRequest("pipeline", [])).toBe(false);
  });

  it("reads the command names of every REST form", () => {
    expect(restCommandNames("/", '["GET","k"]')).toEqual({ mode: "single", names: ["GET"] });
    expect(restCommandNames("/pipeline", '[["get","a"],["SET","b",1]]')).toEqual({ mode: "pipeline", names: ["get", "SET"] });
    expect(restCommandNames("/multi-exec", '[["get","a"]]')).toEqual({ mode: "multi-exec", names: ["get"] });
    expect(restCommandNames("/get/foo", null)).toEqual({ mode: "single", names: ["get"] });
    expect(restCommandNames("/", "{bad")).toEqual({ mode: "single", names: null });
    expect(restCommandNames("/pipeline", '[["get"],"x"]')).toEqual({ mode: "pipeline", names: null });
  });

  it("reads the first command's name from the raw body when it is written plainly", () => {
    const b = (s: string) => new TextEncoder().encode(s);
    expect(firstCommandName("pipeline", b('[["SET","k","v"],["GET","k"]]'))).toBe("SET");
    expect(firstCommandName("pipeline", b(' [ \n[\t"zrange" , "k"]]'))).toBe("zrange");
    expect(firstCommandName("single", b('["client|list"]'))).toBe("client|list");
    // Anything else is left to the full parse: an escape, non-ASCII, another shape, a cut body.
    expect(firstCommandName("pipeline", b('[["S\\u0045T","k"]]'))).toBeNull();
    expect(firstCommandName("pipeline", b('[["GÉT","k"]]'))).toBeNull();
    expect(firstCommandName("pipeline", b('["SET","k"]'))).toBeNull();
    expect(firstCommandName("single", b('{"cmd":"SET"}'))).toBeNull();
    expect(firstCommandName("pipeline", b('[["SET'))).toBeNull();
    expect(firstCommandName("pipeline", b(`[["${"A".repeat(100)}"]]`))).toBeNull();
    expect(firstCommandName("single", b(""))).toBeNull();
  });
});

function rep(name: string, region: Region | null, extra: Partial<ReplicaView> = {}): ReplicaView {
  return { name, region, state: "online", ackOffset: 100, ackAgeMs: 200, lagBytes: 0, ...extra };
}

describe("routing decision", () => {
  const rules = { ackAgeMaxMs: 3000 };
  const topo = (replicas: ReplicaView[]): DbTopology => ({ master: "master", masterRegion: null, resolved: true, replicas, atMs: 0 });

  it("picks the nearest healthy replica for each caller region", () => {
    const t = topo([rep("eu", "weur"), rep("asia", "apac"), rep("us", "wnam")]);
    const want: Record<Region, string> = {
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
    for (const r of REGIONS) expect([r, readCandidates(t, r, rules)[0]?.name]).toEqual([r, want[r]]);
  });

  it("skips replicas that are syncing, silent, or the master itself; none for an unknown caller", () => {
    const t = topo([rep("eu", "weur", { state: "send_bulk" }), rep("eu2", "weur", { ackAgeMs: 5000 }), rep("far", "oc"), rep("master", "weur")]);
    expect(readCandidates(t, "weur", rules).map((r) => r.name)).toEqual(["far"]);
    expect(readCandidates(t, null, rules)).toEqual([]);
    expect(readCandidates(topo([rep("a", "weur", { lagBytes: 9 }), rep("b", "weur")]), "weur", rules).map((r) => r.name)).toEqual(["b", "a"]);
  });

  it("a master whose region is known serves the reads of callers at least as near to it", () => {
    const t: DbTopology = { ...topo([rep("eu", "weur"), rep("asia", "apac")]), masterRegion: "enam" };
    const by = (r: Region) => readTarget(t, r, rules)?.name ?? "master";
    expect(REGIONS.map(by)).toEqual(["master", "master", "master", "eu", "eu", "asia", "asia", "eu", "asia"]);
    expect(readTarget({ ...t, masterRegion: null }, "enam", rules)?.name).toBe("eu");
  });

  it("follows the entry node's redirect to the current master, and stops on cycles", async () => {
    const views: Record<string, NodeView> = {
      master: { node: "master", role: "replica", following: "r1", region: null, offset: 5, failover: "no-failover", replicas: [] },
      r1: { node: "r1", role: "master", following: null, region: "weur", offset: 5, failover: "no-failover", replicas: [rep("master", null)] },
    };
    const t = await resolveTopology(async (n) => views[n]!, 7);
    expect(t).toMatchObject({ master: "r1", resolved: true, atMs: 7 });
    expect(t.replicas.map((r) => r.name)).toEqual(["master"]);
    views.r1 = { ...views.r1!, role: "replica", following: "master" };
    expect(await resolveTopology(async (n) => views[n]!, 8)).toMatchObject({ master: "master", resolved: false, replicas: [] });
  });

  it("a node that follows an outside Redis heads its database: its replicas serve reads", async () => {
    const zr = rep("zr", "weur");
    const view: NodeView = { node: "master", role: "replica", following: null, outsideMaster: "10.0.0.1:6379", region: null, offset: 9, failover: "no-failover", replicas: [zr] };
    const t = await resolveTopology(async () => view, 3);
    expect(t).toMatchObject({ master: "master", resolved: true, replicas: [zr] });
    expect(readTarget(t, "weur", rules)?.name).toBe("zr");
    // A replica of nobody (detached mid-change) is still no head.
    expect(await resolveTopology(async () => ({ ...view, outsideMaster: null }), 4)).toMatchObject({ resolved: false, replicas: [] });
  });

  it("the isolate cache serves a settled view for TOPOLOGY_CACHE_MS, shares one refresh, and forgets on demand", async () => {
    let calls = 0;
    const view = async (): Promise<NodeView> => {
      calls++;
      return { node: "master", role: "master", following: null, region: null, offset: calls, failover: "no-failover", replicas: [rep("r1", "weur")] };
    };
    const db = `cache-${Math.random()}`;
    await Promise.all([topologyOf(db, view, 1000), topologyOf(db, view, 1000)]);
    expect(calls).toBe(1);
    await topologyOf(db, view, 1000 + TOPOLOGY_CACHE_MS - 1);
    expect(calls).toBe(1);
    await topologyOf(db, view, 1000 + TOPOLOGY_CACHE_MS);
    expect(calls).toBe(2);
    invalidateTopology(db);
    await topologyOf(db, view, 1000 + TOPOLOGY_CACHE_MS);
    expect(calls).toBe(3);
  });

  it("a settling view (no replica, or one not online) is reused for TOPOLOGY_CACHE_UNSETTLED_MS only", async () => {
    let calls = 0;
    let replicas: ReplicaView[] = [];
    const view = async (): Promise<NodeView> => {
      calls++;
      return { node: "master", role: "master", following: null, region: null, offset: 0, failover: "no-failover", replicas };
    };
    const db = `settle-${Math.random()}`;
    await topologyOf(db, view, 0);
    await topologyOf(db, view, TOPOLOGY_CACHE_UNSETTLED_MS - 1);
    expect(calls).toBe(1);
    replicas = [rep("r1", "weur", { state: "wait_bgsave" })];
    expect((await topologyOf(db, view, TOPOLOGY_CACHE_UNSETTLED_MS)).replicas[0]!.state).toBe("wait_bgsave");
    replicas = [rep("r1", "weur")];
    expect((await topologyOf(db, view, 2 * TOPOLOGY_CACHE_UNSETTLED_MS)).replicas[0]!.state).toBe("online");
    expect(calls).toBe(3);
    await topologyOf(db, view, 3 * TOPOLOGY_CACHE_UNSETTLED_MS); // settled now: kept
    expect(calls).toBe(3);
    expect(viewTtlMs({ master: "m", masterRegion: null, resolved: true, replicas: [], atMs: 0 })).toBe(TOPOLOGY_CACHE_UNSETTLED_MS);
  });
});

describe("lag clock", () => {
  it("an in-sync replica shows 0; a lagging one the age of its oldest unacknowledged byte", () => {
    const c = new LagClock();
    c.note(100, 1000);
    c.note(200, 2000);
    c.note(300, 3000);
    expect(c.lagMs(300, 300, 9000)).toBe(0);
    expect(c.lagMs(250, 300, 3500)).toBe(500);
    expect(c.lagMs(150, 300, 3500)).toBe(1500);
    expect(c.lagMs(100, 300, 3500)).toBe(1500);
    expect(new LagClock().lagMs(1, 5, 10)).toBeNull();
  });
});
