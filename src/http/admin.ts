/**
 * The admin API (SPEC §4) under /db/{db}/admin, JSON in and out:
 *   GET    /db/{db}/admin/nodes              topology: the master and every replica, with status
 *   POST   /db/{db}/admin/nodes              create a replica: {"name": "r1", "region": "weur"}
 *   GET    /db/{db}/admin/nodes/{node}       one node: offsets, lag, link state, backlog, INFO, ROLE
 *   DELETE /db/{db}/admin/nodes/{node}       remove a replica (stops replicating, drops its data)
 *   GET    /db/{db}/admin/snapshot[?node=n]  an RDB snapshot of a node's data (application/octet-stream)
 *   PUT    /db/{db}/admin/restore            replace the master's data with an RDB file (the body)
 * Reading needs a token; changing needs the read-write token.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { Env } from "../env.ts";
import { REQUEST_BYTES_MAX } from "../limits.ts";
import type { NodeStatus } from "../node/node.ts";
import { authenticate } from "./auth.ts";
import { H_DB, H_NODE } from "./node-protocol.ts";
import { errorResponse } from "./rest.ts";
import { openObject } from "../replication/snapshot-objects.ts";
import { statusPage } from "./status-page.ts";
import { invalidateTopology } from "../routing/cache.ts";
import { resolveTopology } from "../routing/topology.ts";

/** Durable Object location hints (data-location docs). */
export const REGIONS = ["wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me"] as const;
const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const MASTER = "master";

type Vars = { Bindings: Env };

function nodeStub(env: Env, db: string, node: string, region?: string | null) {
  const id = env.NODES.idFromName(`${db}/${node}`);
  return region ? env.NODES.get(id, { locationHint: region as DurableObjectLocationHint }) : env.NODES.get(id);
}

/**
 * Make sure a node knows its name before an RPC (it learns it from the first request). This
 * does not make the node exist: only using it does (a command, REPLICAOF, a replica link).
 */
async function touch(env: Env, db: string, node: string, region?: string | null) {
  const stub = nodeStub(env, db, node, region);
  const res = await stub.fetch(new Request("https://node/identity", { headers: { [H_DB]: db, [H_NODE]: node } }));
  await res.body?.cancel();
  return stub;
}

/** The stub of a node that exists, or null (looking must not create databases or nodes). */
export async function existing(env: Env, db: string, node: string) {
  const stub = await touch(env, db, node);
  return (await stub.exists()) ? stub : null;
}

const noSuchDb = (db: string) => errorResponse(404, `ERR no such database '${db}'`);
const noSuchNode = (db: string, node: string) => errorResponse(404, `ERR no such node '${node}' in database '${db}'`);

/** POST /db/{db}/admin/nodes body. */
const CreateReplica = z
  .object({
    name: z
      .string()
      .regex(NAME_RE, "letters, digits, _ and -, at most 64")
      .refine((n) => n !== MASTER, "'master' is the master's name"),
    region: z.enum(REGIONS).nullable().optional(),
  })
  .strict();

export const admin = new Hono<Vars>();

const guard = async (c: import("hono").Context<Vars>, next: () => Promise<void>) => {
  const db = c.req.param("db") ?? "";
  if (!NAME_RE.test(db)) return errorResponse(400, "ERR invalid database name");
  const auth = await authenticate(c.req.raw, c.env);
  if (!auth.ok) return errorResponse(auth.status, auth.message);
  const method = c.req.method.toUpperCase();
  if (auth.readOnly && method !== "GET" && method !== "HEAD") return errorResponse(403, "NOPERM the read-only token cannot change the database (the admin API's changes need the read-write token)");
  await next();
};
// Guards only these paths (a "*" middleware would also run for every route the app mounts).
admin.use("/db/:db/admin/*", guard);
admin.use("/db/:db/status", guard);

/**
 * The node that is the database's master now: after a FAILOVER or REPLICAOF it is not the
 * node named `master` (the entry node, which keeps the registry). Read afresh, as the router
 * reads it (routing/topology.ts), not from the router's cache.
 */
async function currentMaster(env: Env, db: string): Promise<string> {
  const t = await resolveTopology((node) => nodeStub(env, db, node).topology(db, node), Date.now());
  return t.resolved ? t.master : MASTER;
}

/** Every node's status: the current master, and the registry's nodes plus the replicas attached to it. */
export async function topology(env: Env, db: string): Promise<{ master: NodeStatus; replicas: NodeStatus[] }> {
  const current = await currentMaster(env, db);
  const [status, registry] = await Promise.all([(await touch(env, db, current)).status(), (await touch(env, db, MASTER)).registry({})]);
  const names = new Set(registry.map((r) => r.name));
  for (const r of status.replicas) names.add(r.name);
  names.add(MASTER);
  names.delete(current);
  const replicas = await Promise.all([...names].map(async (n) => (await touch(env, db, n)).status()));
  return { master: status, replicas };
}

admin.get("/db/:db/admin/nodes", async (c) => {
  const db = c.req.param("db");
  if (!(await existing(c.env, db, MASTER))) return noSuchDb(db);
  return c.json(await topology(c.env, db));
});

admin.post("/db/:db/admin/nodes", async (c) => {
  const db = c.req.param("db");
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    return errorResponse(400, 'ERR body must be JSON: {"name": "r1", "region": "weur"}');
  }
  const parsed = CreateReplica.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return errorResponse(400, `ERR invalid ${issue.path.join(".") || "body"}: ${issue.message}`);
  }
  const { name } = parsed.data;
  const region = parsed.data.region ?? null;
  const registry = await (await touch(c.env, db, MASTER)).registry({});
  if (registry.some((r) => r.name === name) || (await existing(c.env, db, name))) {
    return errorResponse(409, `ERR node '${name}' already exists in database '${db}' (DELETE it first)`);
  }
  const stub = await touch(c.env, db, name, region);
  // Attached to the current master: a replica of a demoted node would be a chained one, which serves no reads.
  const r = await stub.follow(await currentMaster(c.env, db), region);
  if (r !== "OK" && !r.startsWith("OK")) return errorResponse(400, r);
  await (await touch(c.env, db, MASTER)).registry({ add: { name, region } });
  return c.json({ created: name, region, status: await stub.status() }, 201);
});

admin.get("/db/:db/admin/nodes/:node", async (c) => {
  const { db, node } = c.req.param();
  if (!NAME_RE.test(node)) return errorResponse(400, "ERR invalid node name");
  const stub = await existing(c.env, db, node);
  if (!stub) return noSuchNode(db, node);
  const [status, info] = await Promise.all([stub.status(), stub.adminInfo()]);
  return c.json({ ...status, infoText: info.info, roleReply: JSON.parse(info.role) as unknown });
});

admin.delete("/db/:db/admin/nodes/:node", async (c) => {
  const { db, node } = c.req.param();
  if (!NAME_RE.test(node)) return errorResponse(400, "ERR invalid node name");
  if (node === MASTER) return errorResponse(400, "ERR the node named 'master' cannot be removed: the router finds the database through it");
  const entry = await touch(c.env, db, MASTER);
  const registered = (await entry.registry({})).some((r) => r.name === node);
  const stub = await existing(c.env, db, node);
  if (!registered && !stub) return noSuchNode(db, node);
  // Removing drops the node's data: the database's master (after a FAILOVER, not the node
  // named `master`) would take every replica's data with it.
  if (node === (await currentMaster(c.env, db))) {
    return errorResponse(409, `ERR node '${node}' is the database's master: only replicas can be removed (FAILOVER TO another node first)`);
  }
  if (stub) {
    const refused = await stub.decommission();
    if (refused) return errorResponse(409, refused);
  }
  await entry.registry({ remove: node });
  invalidateTopology(db);
  return c.json({ removed: node });
});

admin.get("/db/:db/admin/snapshot", async (c) => {
  const db = c.req.param("db");
  const asked = c.req.query("node");
  if (asked !== undefined && !NAME_RE.test(asked)) return errorResponse(400, "ERR invalid node name");
  if (asked === undefined && !(await existing(c.env, db, MASTER))) return noSuchDb(db);
  const node = asked ?? (await currentMaster(c.env, db));
  const stub = await existing(c.env, db, node);
  if (!stub) return asked === undefined ? noSuchDb(db) : noSuchNode(db, node);
  const snap = await stub.snapshotForDownload();
  const body = await openObject(c.env.SNAPSHOTS, snap.key, snap.size);
  if (!body) return errorResponse(404, "ERR the snapshot is gone; try again");
  // A snapshot is a sequence of R2 objects (snapshot-objects.ts): piped one after the other.
  const { readable, writable } = new FixedLengthStream(snap.size);
  void pipeTo(body, writable);
  return new Response(readable, {
    headers: {
      "content-type": "application/octet-stream",
      "content-length": String(snap.size),
      "content-disposition": `attachment; filename="${db}-${node}-${snap.offset}.rdb"`,
      "x-repl-offset": String(snap.offset),
      "x-crc64": snap.crc,
    },
  });
});

admin.put("/db/:db/admin/restore", async (c) => {
  const db = c.req.param("db");
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > REQUEST_BYTES_MAX) return errorResponse(413, "ERR max request size exceeded");
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.length > REQUEST_BYTES_MAX) return errorResponse(413, "ERR max request size exceeded");
  // Nothing to stage (R2 cannot serve a range of an empty object: the load would fail on that).
  if (bytes.length === 0) return errorResponse(400, "ERR restore failed: empty body: PUT the bytes of an RDB file");
  const key = `uploads/${db}/${Date.now()}-${crypto.randomUUID()}.rdb`;
  await c.env.SNAPSHOTS.put(key, bytes);
  try {
    const res = await (await touch(c.env, db, await currentMaster(c.env, db))).restore(key);
    if (!res.ok) return errorResponse(400, `ERR restore failed: ${res.error}`);
    return c.json({ restored: res.keys, bytes: res.bytes });
  } finally {
    await c.env.SNAPSHOTS.delete(key);
  }
});

admin.get("/db/:db/status", async (c) => {
  const db = c.req.param("db");
  if (!(await existing(c.env, db, MASTER))) return noSuchDb(db);
  return c.html(statusPage(db));
});

/** Write every piece to the stream; a piece that fails to arrive aborts the response. */
async function pipeTo(body: AsyncIterable<Uint8Array>, writable: WritableStream<Uint8Array>): Promise<void> {
  const w = writable.getWriter();
  try {
    for await (const piece of body) await w.write(piece);
    await w.close();
  } catch (e) {
    await w.abort(e).catch(() => {});
  }
}
