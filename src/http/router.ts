/**
 * The public router (the Worker's `fetch`): checks the method, authenticates, picks the
 * node, and forwards the request to that node's Durable Object (node-protocol.ts).
 *
 * Addresses (SPEC §5; keep them stable):
 *   /db/{db}[/…]                     REST base of database {db} → resolveNode()
 *   /db/{db}/nodes/{node}[/…]        REST pinned to one node
 *   …/ws under either base           WebSocket carrying RESP (the upgrade is forwarded)
 *   /db/{db}/admin/…, /db/{db}/status   admin API and status page (admin.ts)
 *   / and every other path           the same as /db/default
 *
 * The REST path after the base is forwarded verbatim (still percent-encoded) as
 * `/rest<path>`, the query string without `_token`. Client-sent `x-er-*` headers and the
 * Authorization header are dropped; the router sets its own (node-protocol.ts).
 */
import { Hono, type Context } from "hono";
import type { Env } from "../env.ts";
import { REQUEST_BYTES_MAX } from "../limits.ts";
import { admin } from "./admin.ts";
import { authenticate } from "./auth.ts";
import { H_CLIENT_ADDR, H_DB, H_NODE, H_READONLY, NODE_ORIGIN } from "./node-protocol.ts";
import { SYNC_TOKEN_HEADER, errorResponse, parseSyncToken } from "./rest.ts";

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
];

/**
 * The lazily computed lowercase command names of a request (null for a WebSocket, or a
 * body that does not parse). Reading the body costs a copy, so only call it when needed.
 */
export type CommandNames = () => Promise<string[] | null>;

/**
 * Which node of database `db` answers a request on the database's base URL. For now
 * always the master; read replicas (nearest healthy replica for read-only commands that
 * has reached `syncToken`) come later.
 */
export async function resolveNode(
  _env: Env,
  _db: string,
  _commands: CommandNames,
  _syncToken: number,
): Promise<string> {
  return MASTER_NODE;
}

type Ctx = Context<{ Bindings: Env }>;
type Kind = "rest" | "ws";

export const app = new Hono<{ Bindings: Env }>();

// ─── method check and CORS, for every path ──────────────────────────────────
app.use("*", async (c, next) => {
  const method = c.req.method.toUpperCase();
  if (method === "OPTIONS") return preflight(c.req.raw);
  const adminDelete = method === "DELETE" && /^\/db\/[^/]+\/admin\//.test(new URL(c.req.url).pathname);
  if (!ALLOWED_METHODS.includes(method) && !adminDelete) {
    const res = errorResponse(405, `ERR method ${method} not allowed (use ${ALLOWED_METHODS.join(", ")})`);
    res.headers.set("allow", ALLOWED_METHODS.join(", "));
    addCors(res.headers);
    return res;
  }
  await next();
  if (c.res.status === 101) return; // a WebSocket upgrade: pass the node's response through untouched
  const res = new Response(c.res.body, c.res); // responses from stub.fetch have immutable headers
  addCors(res.headers);
  c.res = res;
});

app.onError((err, _c) => errorResponse(500, `ERR internal error: ${err instanceof Error ? err.message : String(err)}`));

// ─── node-pinned bases ──────────────────────────────────────────────────────
app.all("/db/:db/nodes/:node/ws", (c) => forward(c, "ws", 5));
app.all("/db/:db/nodes/:node", (c) => forward(c, "rest", 5));
app.all("/db/:db/nodes/:node/*", (c) => forward(c, "rest", 5));

// ─── admin API and status page (admin.ts), above the database base routes ────
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
app.all("/ws", (c) => forward(c, "ws", 1));
app.all("*", (c) => forward(c, "rest", 1));

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
  const node =
    pinned ??
    (await resolveNode(
      c.env,
      db,
      kind === "ws" ? async () => null : () => commandNamesOf(request, rest),
      parseSyncToken(request.headers.get(SYNC_TOKEN_HEADER)),
    ));

  const headers = new Headers();
  request.headers.forEach((v, k) => {
    if (!k.startsWith("x-er-") && k !== "authorization") headers.set(k, v);
  });
  headers.set(H_DB, db);
  headers.set(H_NODE, node);
  headers.set(H_READONLY, auth.readOnly ? "1" : "0");
  headers.set(H_CLIENT_ADDR, `${request.headers.get("cf-connecting-ip") ?? "127.0.0.1"}:0`);

  const query = stripTokenParam(url.search.slice(1));
  const search = query === "" ? "" : "?" + query;
  const nodeUrl = kind === "ws" ? `${NODE_ORIGIN}/ws${search}` : `${NODE_ORIGIN}/rest${rest === "/" ? "" : rest}${search}`;

  const method = request.method.toUpperCase();
  const init: RequestInit = { method, headers };
  if (kind === "rest" && (method === "POST" || method === "PUT")) init.body = request.body;
  const stub = c.env.NODES.get(c.env.NODES.idFromName(`${db}/${node}`));
  return stub.fetch(new Request(nodeUrl, init));
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

/** The command names of a REST request (for resolveNode), reading a copy of the body. */
async function commandNamesOf(request: Request, rest: string): Promise<string[] | null> {
  const first = rest.split("/")[1] ?? "";
  if (first !== "" && first !== "pipeline" && first !== "multi-exec") return [decodeURIComponentSafe(first).toLowerCase()];
  try {
    const body: unknown = await request.clone().json();
    if (!Array.isArray(body)) return null;
    const cmds = first === "" ? [body] : body;
    return cmds.map((c: unknown) => (Array.isArray(c) ? String(c[0]).toLowerCase() : ""));
  } catch {
    return null;
  }
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
  headers.set("access-control-expose-headers", SYNC_TOKEN_HEADER);
}
