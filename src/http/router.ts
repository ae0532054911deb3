/**
 * The public router (the Worker's `fetch`): checks the method, authenticates, picks the
 * node, and forwards the request to that node's Durable Object (node-protocol.ts).
 *
 * Addresses (SPEC §5; keep them stable):
 *   /db/{db}[/…]                     REST base of database {db}: reads → the nearest healthy
 *                                    replica, the rest → the master (see "Routing" below)
 *   /db/{db}/nodes/{node}[/…]        REST pinned to one node
 *   …/ws under either base           WebSocket carrying RESP (the upgrade is forwarded)
 *   /db/{db}/admin/…, /db/{db}/status   admin API and status page (admin.ts)
 *   / and every other path           the same as /db/default
 *
 * The REST path after the base is forwarded verbatim (still percent-encoded) as
 * `/rest<path>`, the query string without `_token`. Client-sent `x-er-*` headers and the
 * Authorization header are dropped; the router sets its own (node-protocol.ts).
 *
 * Routing on the database base (SPEC §4; routing/):
 * - The database's topology (its master, the replicas with region and health) comes from the
 *   per-isolate cache (routing/cache.ts: at most TOPOLOGY_CACHE_MS old), never a round trip
 *   to the master per request.
 * - A read (every command read-only by the command table; REST single command or /pipeline)
 *   goes to the nearest healthy replica (routing/regions.ts: the caller's region from
 *   `request.cf`, or `x-debug-client-region` when DEBUG is enabled) with `x-er-route: read`,
 *   unless the master's region is known and at least as near (routing/topology.ts readTarget);
 *   the replica answers it only if it is still usable and reaches the caller's sync token
 *   within ROUTE_SYNC_WAIT_MS, otherwise it answers 421 and the master answers instead.
 * - Everything else goes to the master with `x-er-route: write`; a node that is no longer the
 *   master answers 421 naming the node it follows, and the router tries once more there.
 * - `…/ws?read=nearest` opens the WebSocket on the nearest healthy replica (writes answer
 *   READONLY there); a plain `…/ws` opens it on the master, and the master closes it (1012)
 *   when it stops being the master, so that the client reconnects to the new one.
 * Every node answer carries `x-served-by: <node>`.
 */
import { Hono, type Context } from "hono";
import type { Env } from "../env.ts";
import { REQUEST_BYTES_MAX } from "../limits.ts";
import { H_MASTER, H_REROUTE, H_ROUTE, H_SERVED_BY, H_SYNC_WAIT_MS, REROUTE_STATUS, type RouteKind } from "../routing/admission.ts";
import { invalidateTopology, TOPOLOGY_CACHE_MS, topologyOf } from "../routing/cache.ts";
import { firstCommandName, isReadOnlyCommand, isReadRequest, restCommandNames } from "../routing/classify.ts";
import { callerRegion, REGIONS, type CallerLocation } from "../routing/regions.ts";
import { DEBUG_LATENCY_HEADER, hopDelayMs, latencyScale } from "../routing/simulate.ts";
import { ENTRY_NODE, healthy, readTarget, regionOfNode, type DbTopology, type HealthRules } from "../routing/topology.ts";
import { admin, existing } from "./admin.ts";
import { authenticate, tokenEquals } from "./auth.ts";
import { H_CLIENT_ADDR, H_DB, H_NODE, H_READONLY, H_REPLICA_TRANSPORT, NODE_ORIGIN } from "./node-protocol.ts";
import { SYNC_TOKEN_HEADER, errorResponse, readBytes } from "./rest.ts";
import { RestRequestError } from "./rest-json.ts";
import { configureLog, log } from "../util/log.ts";

/** Database and node names. */
export const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
export const DEFAULT_DB = "default";
export const MASTER_NODE = "master";

const ALLOWED_METHODS = ["HEAD", "GET", "POST", "PUT"];

/** Request headers a browser may send (preflight); telemetry headers are matched by prefix. */
const CORS_ALLOW_HEADERS = [
  "authorization",
  "content-type",
  "upstash-encoding",
  "upstash-sync-token",
  "upstash-response-format",
  "upstash-telemetry-runtime",
  "upstash-telemetry-platform",
  "upstash-telemetry-sdk",
  "upstash-telemetry-retry",
  "accept",
  "cache-control",
  "x-debug-client-region",
  "x-debug-latency",
];

/** Request header standing for the caller's location when DEBUG is enabled (SPEC §4). */
export const DEBUG_REGION_HEADER = "x-debug-client-region";
/** Default of ROUTE_SYNC_WAIT_MS: how long a replica may wait to reach a read's sync token. */
export const ROUTE_SYNC_WAIT_MS_DEFAULT = 50;
/** Default of ROUTE_REPLICA_ACK_AGE_MAX_MS: a replica whose last ACK is older is not used. */
export const ROUTE_REPLICA_ACK_AGE_MAX_MS_DEFAULT = 3000;

/** A non-negative integer setting from the environment, else its default. */
function intVar(v: string | undefined, dflt: number): number {
  const n = Number(v);
  return v !== undefined && v.trim() !== "" && Number.isInteger(n) && n >= 0 ? n : dflt;
}

function healthRules(env: Env): HealthRules {
  return { ackAgeMaxMs: intVar(env.ROUTE_REPLICA_ACK_AGE_MAX_MS, ROUTE_REPLICA_ACK_AGE_MAX_MS_DEFAULT) };
}

/** The database's topology (cached), or just the entry node when it cannot be read. */
async function topology(env: Env, db: string): Promise<DbTopology> {
  try {
    return await topologyOf(db, (node) => nodeStub(env, db, node).topology(db, node));
  } catch (e) {
    log(`router: topology of ${db} unavailable: ${e instanceof Error ? e.message : String(e)}`);
    return { master: ENTRY_NODE, masterRegion: null, resolved: false, replicas: [], atMs: Date.now() };
  }
}

/** What the router does now for a database: its master, replicas with health, and who serves reads from each region. */
export function routingView(t: DbTopology, rules: HealthRules) {
  const reads: Record<string, string> = {};
  for (const r of REGIONS) reads[r] = readTarget(t, r, rules)?.name ?? t.master;
  return {
    master: t.master,
    resolved: t.resolved,
    cacheMs: TOPOLOGY_CACHE_MS,
    ackAgeMaxMs: rules.ackAgeMaxMs,
    replicas: t.replicas.map((r) => ({ ...r, healthy: healthy(r, rules) })),
    reads,
  };
}

function nodeStub(env: Env, db: string, node: string) {
  return env.NODES.get(env.NODES.idFromName(`${db}/${node}`));
}

type Ctx = Context<{ Bindings: Env }>;
type Kind = "rest" | "ws";

export const app = new Hono<{ Bindings: Env }>();

// ─── method check and CORS, for every path ──────────────────────────────────
app.use("*", async (c, next) => {
  configureLog(c.env.LOG_LEVEL);
  const method = c.req.method.toUpperCase();
  if (method === "OPTIONS") return preflight(c.req.raw);
  const adminDelete = method === "DELETE" && /^(\/db\/[^/]+)?\/admin\//.test(new URL(c.req.url).pathname); // the root's redirects
  if (!ALLOWED_METHODS.includes(method) && !adminDelete) {
    const res = errorResponse(405, `ERR method ${method} not allowed (use ${ALLOWED_METHODS.join(", ")})`);
    res.headers.set("allow", ALLOWED_METHODS.join(", "));
    addCors(res.headers);
    return res;
  }
  await next();
  // A change made through the admin API (replica created or removed): the next request reads the topology afresh.
  const adminChange = /^\/db\/([^/]+)\/admin\//.exec(new URL(c.req.url).pathname);
  if (adminChange && method !== "GET" && method !== "HEAD") invalidateTopology(adminChange[1]!);
  if (c.res.status === 101) return; // a WebSocket upgrade: pass the node's response through untouched
  const res = new Response(c.res.body, c.res); // responses from stub.fetch have immutable headers
  addCors(res.headers);
  c.res = res;
});

app.onError((err, _c) => errorResponse(500, `ERR internal error: ${err instanceof Error ? err.message : String(err)}`));

// ─── the replication endpoint (replicas outside the deployment; the gateway) ──
app.all("/db/:db/replication", (c) => replicationEndpoint(c, null));
app.all("/db/:db/nodes/:node/replication", (c) => replicationEndpoint(c, c.req.param("node")));

// ─── node-pinned bases ──────────────────────────────────────────────────────
app.all("/db/:db/nodes/:node/ws", (c) => forward(c, "ws", 5));
app.all("/db/:db/nodes/:node", (c) => forward(c, "rest", 5));
app.all("/db/:db/nodes/:node/*", (c) => forward(c, "rest", 5));

// ─── the router's routing view (status page, tests), then the admin API (admin.ts) ───
app.get("/db/:db/admin/routing", async (c) => {
  const db = c.req.param("db");
  if (!NAME_RE.test(db)) return errorResponse(400, `ERR invalid database name (allowed: ${NAME_RE.source})`);
  const auth = await authenticate(c.req.raw, c.env);
  if (!auth.ok) return errorResponse(auth.status, auth.message);
  if (!(await existing(c.env, db, MASTER_NODE))) return errorResponse(404, `ERR no such database '${db}'`);
  return c.json(routingView(await topology(c.env, db), healthRules(c.env)));
});
app.route("/", admin);
app.all("/db/:db/admin", notFound);
app.all("/db/:db/admin/*", notFound);

// ─── database base ──────────────────────────────────────────────────────────
app.all("/db", missingDb);
app.all("/db/", missingDb);
app.all("/db/:db/ws", (c) => forward(c, "ws", 3));
app.all("/db/:db", (c) => forward(c, "rest", 3));
app.all("/db/:db/*", (c) => forward(c, "rest", 3));

// ─── the default database at the root ───────────────────────────────────────
// Its status page and admin API too (307: the method and body stay), which the path form
// would otherwise read as commands named `status` and `admin`.
const toDefault = (c: Ctx) => {
  const u = new URL(c.req.url);
  u.pathname = `/db/${DEFAULT_DB}${u.pathname}`;
  return Response.redirect(u.toString(), 307);
};
app.all("/status", toDefault);
app.all("/admin", toDefault);
app.all("/admin/*", toDefault);
app.all("/ws", (c) => forward(c, "ws", 1));
app.all("*", (c) => forward(c, "rest", 1));

/**
 * The replication endpoint (SPEC §6): Redis's replication protocol for a replica outside this
 * deployment, over a WebSocket carrying RESP bytes both ways — the gateway turns a real
 * redis-server replica's TCP link into one. Only with the replication secret (Bearer, compared
 * in constant time). The handshake, PSYNC and the stream then reach the database's master
 * (or the pinned node, for a chained replica) as our own replicas' do, except that a full sync
 * is sent as Redis's `$<len>` + RDB on the same connection (replication/master.ts sendRdb).
 */
async function replicationEndpoint(c: Ctx, pinned: string | null): Promise<Response> {
  const request = c.req.raw;
  const db = c.req.param("db") ?? "";
  if (!NAME_RE.test(db)) return errorResponse(400, `ERR invalid database name (allowed: ${NAME_RE.source})`);
  if (pinned !== null && !NAME_RE.test(pinned)) return errorResponse(400, `ERR invalid node name (allowed: ${NAME_RE.source})`);
  const secret = c.env.REPLICATION_SECRET ?? "";
  if (secret === "") return errorResponse(403, "ERR the replication endpoint is disabled: set the REPLICATION_SECRET secret");
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "");
  if (!m || !(await tokenEquals(m[1]!, secret))) return errorResponse(401, "WRONGPASS invalid replication secret");
  if ((request.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
    return errorResponse(426, "ERR the replication endpoint speaks RESP over WebSocket: send an Upgrade: websocket request");
  }
  const node = pinned ?? (await topology(c.env, db)).master;
  const headers = new Headers({ upgrade: "websocket" });
  headers.set(H_DB, db);
  headers.set(H_NODE, node);
  headers.set(H_CLIENT_ADDR, `${request.headers.get("cf-connecting-ip") ?? "127.0.0.1"}:0`);
  headers.set(H_REPLICA_TRANSPORT, "resp");
  return nodeStub(c.env, db, node).fetch(new Request(`${NODE_ORIGIN}/replication`, { headers }));
}

function notFound(): Response {
  return errorResponse(404, "ERR no such admin endpoint");
}

function missingDb(): Response {
  return errorResponse(400, "ERR missing database name: use /db/{name}");
}

/**
 * Forward to a node. `baseSegments` is how many raw path segments (counting the empty one
 * before the first `/`) form the base: 1 for `/`, 3 for `/db/x`, 5 for `/db/x/nodes/y`.
 */
async function forward(c: Ctx, kind: Kind, baseSegments: number): Promise<Response> {
  const request = c.req.raw;
  const url = new URL(request.url);
  const segs = url.pathname.split("/");
  const db = baseSegments >= 3 ? segs[2]! : DEFAULT_DB;
  const pinned = baseSegments >= 5 ? segs[4]! : null;
  if (!NAME_RE.test(db)) return errorResponse(400, `ERR invalid database name (allowed: ${NAME_RE.source})`);
  if (pinned !== null && !NAME_RE.test(pinned)) return errorResponse(400, `ERR invalid node name (allowed: ${NAME_RE.source})`);

  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > REQUEST_BYTES_MAX) return errorResponse(413, "ERR max request size exceeded");

  const auth = await authenticate(request, c.env);
  if (!auth.ok) return errorResponse(auth.status, auth.message);

  if (kind === "ws" && (request.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
    return errorResponse(426, "ERR this endpoint speaks RESP over WebSocket: send an Upgrade: websocket request");
  }

  const rest = "/" + segs.slice(baseSegments).join("/");
  const headers = new Headers();
  request.headers.forEach((v, k) => {
    if (!k.startsWith("x-er-") && k !== "authorization") headers.set(k, v);
  });
  headers.set(H_DB, db);
  headers.set(H_READONLY, auth.readOnly ? "1" : "0");
  headers.set(H_CLIENT_ADDR, `${request.headers.get("cf-connecting-ip") ?? "127.0.0.1"}:0`);

  const query = stripTokenParam(url.search.slice(1));
  const search = query === "" ? "" : "?" + query;
  const nodeUrl = kind === "ws" ? `${NODE_ORIGIN}/ws${search}` : `${NODE_ORIGIN}/rest${rest === "/" ? "" : rest}${search}`;
  const method = request.method.toUpperCase();
  const hasBody = kind === "rest" && (method === "POST" || method === "PUT");

  // DEBUG only: the caller's simulated location, and a simulated latency per hop (simulate.ts).
  const debug = c.env.ENABLE_DEBUG_COMMAND === "yes";
  const caller = callerRegion(request.cf as CallerLocation | undefined, debug ? request.headers.get(DEBUG_REGION_HEADER) : null);
  const simScale = debug ? latencyScale(request.headers.get(DEBUG_LATENCY_HEADER)) : 0;
  let topo: DbTopology | null = null;

  /** Send the request to one node; `body` is the stream or the bytes already read. */
  const send = async (node: string, route: RouteKind | null, body: BodyInit | null): Promise<Response> => {
    const delayMs = topo ? hopDelayMs(caller, regionOfNode(topo, node), simScale) : 0;
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    const h = new Headers(headers);
    h.set(H_NODE, node);
    if (route) h.set(H_ROUTE, route);
    if (route === "read") h.set(H_SYNC_WAIT_MS, String(intVar(c.env.ROUTE_SYNC_WAIT_MS, ROUTE_SYNC_WAIT_MS_DEFAULT)));
    const init: RequestInit = { method, headers: h };
    if (body !== null) init.body = body;
    return nodeStub(c.env, db, node).fetch(new Request(nodeUrl, init));
  };

  // A node named in the path answers, whatever its role. Commands sent to a node (REPLICAOF,
  // FAILOVER, CLIENT KILL…) may change the topology: the next request reads it afresh.
  if (pinned !== null) {
    const res = await send(pinned, null, hasBody ? request.body : null);
    if (method !== "GET" && method !== "HEAD") invalidateTopology(db);
    return res;
  }

  // The database base: route by the topology.
  topo = await topology(c.env, db);

  /** Send to the master as a write (it must still be the master); a master that moved is followed once. */
  const toMaster = async (body: Uint8Array | null): Promise<Response> => {
    let res = await send(topo!.master, "write", body);
    if (res.status === REROUTE_STATUS && res.headers.get(H_REROUTE) === "not-master") {
      // The master moved (FAILOVER, REPLICAOF): follow it once, from a fresh topology.
      const hint = res.headers.get(H_MASTER);
      await res.body?.cancel();
      invalidateTopology(db);
      topo = await topology(c.env, db);
      const next = topo.resolved ? topo.master : (hint ?? topo.master);
      res = await send(next, "write", body);
      if (res.status === REROUTE_STATUS) {
        await res.body?.cancel();
        return errorResponse(503, "ERR the database's master is changing (FAILOVER or REPLICAOF in progress); try again");
      }
    }
    return res;
  };

  if (kind === "ws") {
    if (url.searchParams.get("read") === "nearest") {
      const near = readTarget(topo, caller, healthRules(c.env));
      if (near) {
        const res = await send(near.name, "read", null);
        if (res.status !== REROUTE_STATUS) return res;
        await res.body?.cancel();
        invalidateTopology(db);
      }
    }
    // The socket follows the master: the node closes it if it stops being the master.
    return toMaster(null);
  }

  // The body is read once (bounded): its command names decide the route, and it may be sent twice.
  let body: Uint8Array | null = null;
  if (hasBody) {
    try {
      body = await readBytes(request);
    } catch (e) {
      if (e instanceof RestRequestError) return errorResponse(e.status, e.message);
      throw e;
    }
  }
  const first = rest.split("/")[1] ?? "";
  const bodyForm = first === "" || first === "pipeline" || first === "multi-exec";
  // A request that is a write by its first command (or /multi-exec) goes to the master
  // unparsed, and so does every request of a database without replicas: nothing else could
  // answer it (its route is `write`, so a master that moved still sends it on).
  const opening = bodyForm && body !== null && first !== "multi-exec" ? firstCommandName(first === "" ? "single" : "pipeline", body) : null;
  const maybeRead = topo.replicas.length > 0 && first !== "multi-exec" && (opening === null || isReadOnlyCommand(opening));
  const { mode, names } = maybeRead ? restCommandNames(rest, bodyForm && body !== null ? new TextDecoder().decode(body) : null) : { mode: "pipeline" as const, names: null };

  if (isReadRequest(mode, names)) {
    const near = readTarget(topo, caller, healthRules(c.env));
    if (near) {
      const res = await send(near.name, "read", body);
      if (res.status !== REROUTE_STATUS) return res;
      const why = res.headers.get(H_REROUTE);
      await res.body?.cancel();
      if (why !== "token") invalidateTopology(db); // the replica is no longer usable
    }
    // The master answers reads without a route check: whatever it is now, it has the data.
    return send(topo.master, null, body);
  }

  return toMaster(body);
}

/**
 * The query string without the token parameter, otherwise byte for byte as sent
 * (URLSearchParams would re-encode it, e.g. `%20` → `+`, and path-form arguments must stay
 * exact). The parameter's name is compared decoded, as authentication reads it
 * (`?%5Ftoken=…` authenticates, so it must never reach a command as data).
 */
export function stripTokenParam(q: string): string {
  return q
    .split("&")
    .filter((p) => p !== "" && paramName(p) !== TOKEN_PARAM)
    .join("&");
}

const TOKEN_PARAM = "_token";

function paramName(p: string): string {
  const eq = p.indexOf("=");
  return decodeURIComponentSafe((eq < 0 ? p : p.slice(0, eq)).replace(/\+/g, " "));
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function preflight(request: Request): Response {
  const headers = new Headers();
  addCors(headers);
  headers.set("access-control-allow-methods", [...ALLOWED_METHODS, "OPTIONS"].join(", "));
  const requested = (request.headers.get("access-control-request-headers") ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== "");
  const allowed = new Set(CORS_ALLOW_HEADERS);
  for (const h of requested) if (h.startsWith("upstash-telemetry-")) allowed.add(h);
  headers.set("access-control-allow-headers", [...allowed].join(", "));
  headers.set("access-control-max-age", "86400");
  return new Response(null, { status: 204, headers });
}

function addCors(headers: Headers): void {
  headers.set("access-control-allow-origin", "*");
  headers.set("access-control-expose-headers", `${SYNC_TOKEN_HEADER}, ${H_SERVED_BY}`);
}
