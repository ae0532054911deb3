/**
 * The router's per-isolate cache of database topologies: a view is reused for at most
 * TOPOLOGY_CACHE_MS, so the router makes no round trip to the master per request, and
 * concurrent requests share one refresh. A view that is still settling (no replica yet, or
 * a replica not online: one being created, syncing or reconnecting) is reused for at most
 * TOPOLOGY_CACHE_UNSETTLED_MS, so a replica starts serving reads soon after it is in sync.
 * A node that refuses a routed request (no longer the master, or a replica no longer
 * usable) and a topology change made through the router (admin API, commands sent to a
 * node) drop the view at once.
 */
import { resolveTopology, type DbTopology, type NodeView } from "./topology.ts";

/** How long a view may be reused. */
export function viewTtlMs(t: DbTopology): number {
  const settled = t.resolved && t.replicas.length > 0 && t.replicas.every((r) => r.state === "online");
  return settled ? TOPOLOGY_CACHE_MS : TOPOLOGY_CACHE_UNSETTLED_MS;
}

/** How long one topology view is used before it is fetched again. */
export const TOPOLOGY_CACHE_MS = 1000;
/** The same for a view that is settling (no replica, or one not online). */
export const TOPOLOGY_CACHE_UNSETTLED_MS = 100;
/** Databases whose topology an isolate remembers (least recently fetched dropped first). */
export const TOPOLOGY_CACHE_DBS_MAX = 1000;

interface Entry {
  value: DbTopology | null;
  pending: Promise<DbTopology> | null;
}

const cache = new Map<string, Entry>();

/** The topology of `db`, from the cache when fresh enough. */
export async function topologyOf(db: string, view: (node: string) => Promise<NodeView>, nowMs = Date.now()): Promise<DbTopology> {
  let e = cache.get(db);
  if (e?.value && nowMs - e.value.atMs < viewTtlMs(e.value)) return e.value;
  if (e?.pending) return e.pending;
  if (!e) {
    if (cache.size >= TOPOLOGY_CACHE_DBS_MAX) cache.delete(cache.keys().next().value!);
    e = { value: null, pending: null };
    cache.set(db, e);
  }
  const entry = e;
  entry.pending = resolveTopology(view, nowMs).finally(() => {
    entry.pending = null;
  });
  entry.value = await entry.pending;
  return entry.value;
}

/** Forget the view of `db` (a node refused a routed request; the admin API changed it). */
export function invalidateTopology(db: string): void {
  const e = cache.get(db);
  if (e) e.value = null;
}
