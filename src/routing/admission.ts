/**
 * The node's half of routing: before a routed request runs, the node checks that it may
 * answer it. The router's topology is up to TOPOLOGY_CACHE_MS old, so the node is the one
 * that knows; when it may not answer, it says why with status 421 (Misdirected Request)
 * and the router sends the request elsewhere (see router.ts):
 *
 * - `x-er-route: read` (a read sent to a replica): the node must be a replica with its link
 *   up (not loading a snapshot, not detached, not cut off) and must reach the caller's sync
 *   token within the wait the router allows (`x-er-sync-wait-ms`, bounded by
 *   ROUTE_SYNC_WAIT_MS_MAX). Otherwise 421 and the master answers: a read is never staler
 *   than the caller's token.
 * - `x-er-route: write` (a request for the master): the node waits out a FAILOVER's write
 *   pause, then must be a master (or follow an outside Redis: then it heads the database and
 *   answers writes READONLY); otherwise 421 with `x-er-master: <the node it follows>`.
 *
 * Requests without the header (pinned to a node, or a read the router sent to the master)
 * are answered as they are.
 */

/** Request header: what the router expects of the node. */
export const H_ROUTE = "x-er-route";
/** Request header: how long a routed read may wait for the sync token (ms). */
export const H_SYNC_WAIT_MS = "x-er-sync-wait-ms";
/** Response header of a 421: why the node refused (`token`, `unusable`, `not-master`). */
export const H_REROUTE = "x-er-reroute";
/** Response header of a 421 `not-master`: the node this one follows. */
export const H_MASTER = "x-er-master";
/** Response header on every answer of a node: its name (SPEC §4). */
export const H_SERVED_BY = "x-served-by";

/** Status of a refusal the router turns into a retry elsewhere. */
export const REROUTE_STATUS = 421;
/** Longest wait a routed read may ask for (the router's setting is clamped to it). */
export const ROUTE_SYNC_WAIT_MS_MAX = 1000;
/** Longest a write waits for a FAILOVER's write pause before being refused to the router. */
export const FAILOVER_PAUSE_WAIT_MS_MAX = 30_000;

export type RouteKind = "read" | "write";
export type RerouteReason = "token" | "unusable" | "not-master";

/** What the node tells the admission check. */
export interface AdmissionHost {
  isReplica(): boolean;
  /** A replica whose link is up and whose data is whole (connected, not loading). */
  replicaUsable(): boolean;
  /** The node this one follows (a replica), else null. */
  following(): string | null;
  /** A replica of an outside Redis (SPEC §3): it heads its database, and answers writes READONLY itself. */
  followsOutside(): boolean;
  offset(): number;
  waitForOffset(offset: number, timeoutMs: number): Promise<boolean>;
  /** Resolves when no FAILOVER pauses writes (at once when none does). */
  writesResumed(timeoutMs: number): Promise<void>;
}

export function routeKind(v: string | null): RouteKind | null {
  return v === "read" || v === "write" ? v : null;
}

/** null: answer the request; otherwise the refusal to send back. */
export async function admit(
  host: AdmissionHost,
  kind: RouteKind | null,
  syncToken: number,
  syncWaitMs: number,
): Promise<{ reason: RerouteReason; master: string | null } | null> {
  if (kind === null) return null;
  if (kind === "read") {
    if (!host.isReplica() || !host.replicaUsable()) return { reason: "unusable", master: null };
    if (syncToken > host.offset()) {
      const wait = Math.max(0, Math.min(ROUTE_SYNC_WAIT_MS_MAX, syncWaitMs));
      const reached = wait > 0 && (await host.waitForOffset(syncToken, wait));
      // The link may have dropped while waiting: check again.
      if (!reached) return { reason: "token", master: null };
      if (!host.isReplica() || !host.replicaUsable()) return { reason: "unusable", master: null };
    }
    return null;
  }
  await host.writesResumed(FAILOVER_PAUSE_WAIT_MS_MAX);
  if (host.isReplica() && !host.followsOutside()) return { reason: "not-master", master: host.following() };
  return null;
}

/** The 421 answer of a refusal. */
export function rerouteResponse(r: { reason: RerouteReason; master: string | null }): Response {
  const headers: Record<string, string> = { "content-type": "application/json", [H_REROUTE]: r.reason };
  if (r.master) headers[H_MASTER] = r.master;
  return new Response(JSON.stringify({ error: `ERR this node cannot answer this routed request (${r.reason})` }), { status: REROUTE_STATUS, headers });
}
