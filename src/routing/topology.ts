/**
 * The topology record of one database and the routing decision, as pure functions.
 *
 * Where the truth lives: every node knows its own role (persisted in `repl_meta`), and a
 * master knows the replicas attached to it (their REPLCONF name and region, link state,
 * last ACK). The database's entry point is the node named `master`: the router asks it for
 * its view (`Node.topology()`); when that node is no longer the master (after FAILOVER or
 * REPLICAOF), its answer names the node it follows and the router asks that node, at most
 * TOPOLOGY_HOPS_MAX hops, until it reaches a node whose role is master. That node's view
 * is the database's topology (or at one that follows an outside Redis: it heads the database).
 * The router caches it per isolate (cache.ts).
 */
import { regionRttMs, type Region, isRegion } from "./regions.ts";

/** One node's answer to `topology()`. */
export interface NodeView {
  node: string;
  role: "master" | "replica";
  /** The node it follows, when a replica of a node of this database. */
  following: string | null;
  /**
   * `host:port` of the outside Redis it follows (SPEC §3: edge replicas in front of an existing
   * Redis), when it does. Such a node is the top of the database: reads go to its replicas,
   * writes to it (it answers them READONLY, as a replica of that Redis).
   */
  outsideMaster?: string | null;
  region: Region | null;
  offset: number;
  /** FAILOVER state (INFO's master_failover_state). */
  failover: string;
  /** Replicas attached to this node (a master's view of them). */
  replicas: ReplicaView[];
}

export interface ReplicaView {
  name: string;
  region: Region | null;
  /** Redis's slave state: online once synced. */
  state: string;
  ackOffset: number;
  /** Time since the last REPLCONF ACK (or any traffic) from the replica, at the time of the view. */
  ackAgeMs: number;
  lagBytes: number;
}

/** A database's topology as the router uses it. */
export interface DbTopology {
  /** The node writes go to. */
  master: string;
  /** Its location hint, when known (DEBUG SET-REGION; used by the latency simulation). */
  masterRegion: Region | null;
  /** False when the chain of redirects did not end at a master (writes still go to `master`). */
  resolved: boolean;
  replicas: ReplicaView[];
  /** When the view was taken (ms). */
  atMs: number;
}

/** Most redirects followed from the node named `master` to the current master. */
export const TOPOLOGY_HOPS_MAX = 3;

/** The name of the node where every database starts and where the router asks first. */
export const ENTRY_NODE = "master";

/**
 * Follow redirects from the entry node to the master. `view(name)` asks one node; a node
 * that fails to answer ends the walk with what is known.
 */
export async function resolveTopology(view: (node: string) => Promise<NodeView>, nowMs: number): Promise<DbTopology> {
  let name = ENTRY_NODE;
  const seen = new Set<string>();
  for (let hop = 0; hop <= TOPOLOGY_HOPS_MAX; hop++) {
    seen.add(name);
    const v = await view(name);
    if (v.role === "master" || (v.following === null && v.outsideMaster)) return { master: name, masterRegion: v.region, resolved: true, replicas: v.replicas, atMs: nowMs };
    if (v.following === null || seen.has(v.following)) break; // a cycle or a replica of nobody
    name = v.following;
  }
  return { master: ENTRY_NODE, masterRegion: null, resolved: false, replicas: [], atMs: nowMs };
}

/** Health rules for a replica to serve routed reads. */
export interface HealthRules {
  /** Last ACK at most this old when the view was taken. */
  ackAgeMaxMs: number;
}

/** Whether a replica of the view may serve reads (online, acknowledging recently). */
export function healthy(r: ReplicaView, rules: HealthRules): boolean {
  return r.state === "online" && r.ackAgeMs <= rules.ackAgeMaxMs;
}

/**
 * Healthy replicas, nearest first: by the RTT table from the caller's region, then by fewer
 * bytes behind, then by name (a stable order, so a caller keeps hitting the same replica).
 * An unknown caller region gives no replica: nothing says which one is near, and the
 * master is the source of truth.
 */
export function readCandidates(t: DbTopology, caller: Region | null, rules: HealthRules): ReplicaView[] {
  if (caller === null) return [];
  return t.replicas
    .filter((r) => r.name !== t.master && healthy(r, rules))
    .sort(
      (a, b) =>
        regionRttMs(caller, a.region) - regionRttMs(caller, b.region) || a.lagBytes - b.lagBytes || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
}

/** The region of a node of the topology, when known. */
export function regionOfNode(t: DbTopology, node: string): Region | null {
  if (node === t.master) return t.masterRegion;
  return t.replicas.find((r) => r.name === node)?.region ?? null;
}

/**
 * The node a read goes to: the nearest healthy replica, unless the master's region is known
 * and at least as near (then the master: no replica beats it, and it never waits for a
 * token). null means the master.
 */
export function readTarget(t: DbTopology, caller: Region | null, rules: HealthRules): ReplicaView | null {
  const near = readCandidates(t, caller, rules)[0];
  if (!near) return null;
  if (t.masterRegion !== null && regionRttMs(caller, t.masterRegion) <= regionRttMs(caller, near.region)) return null;
  return near;
}

/** Parse a region name from the wire (REPLCONF region, identity): null when not a hint. */
export function regionOrNull(s: string | null | undefined): Region | null {
  return isRegion(s) ? s : null;
}
