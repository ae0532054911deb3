/**
 * The router's per-isolate cache of database topologies: a view is reused for at most
 * TOPOLOGY_CACHE_MS, so the router makes no round trip to the master per request, and
 * concurrent requests share one refresh. A node that refuses a routed request (no longer
 * the master, or a replica no longer usable) makes the router drop the view at once.
 */
import { resolveTopology, type DbTopology, type NodeView } from "./topology.ts";

/** How long one topology view is used before it is fetched again. */
export const TOPOLOGY_CACHE_MS = 1000;
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
  if (e?.value && nowMs - e.value.atMs < TOPOLOGY_CACHE_MS) return e.value;
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
