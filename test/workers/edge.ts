/**
 * Helpers for edge-read tests: requests through the public router (`SELF.fetch`) with a
 * simulated caller region (`x-debug-client-region`, DEBUG is on in tests), and replicas
 * created through the admin API with a region.
 */
import { SELF } from "cloudflare:test";
import { expect } from "vitest";
import { trackReplica, until } from "./nodes.ts";

export const AUTH = { authorization: "Bearer test-token", "content-type": "application/json" };

export interface Answer {
  status: number;
  servedBy: string | null;
  token: number;
  body: any;
}

/** POST a REST request to the database's base URL (or `sub` under it). */
export async function base(db: string, body: unknown, opts: { region?: string; token?: number; sub?: string; cf?: Partial<IncomingRequestCfProperties> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...AUTH };
  if (opts.region) headers["x-debug-client-region"] = opts.region;
  if (opts.token !== undefined) headers["upstash-sync-token"] = String(opts.token);
  const init: RequestInit & { cf?: IncomingRequestCfProperties } = { method: "POST", headers, body: JSON.stringify(body) };
  if (opts.cf) init.cf = opts.cf as IncomingRequestCfProperties;
  const res = await SELF.fetch(`https://example.com/db/${db}${opts.sub ?? ""}`, init);
  return {
    status: res.status,
    servedBy: res.headers.get("x-served-by"),
    token: Number(res.headers.get("upstash-sync-token") ?? "-1"),
    body: await res.json(),
  };
}

/** Create a replica in a region through the admin API and wait until the master sees it online. */
export async function createReplica(db: string, name: string, region: string): Promise<void> {
  const res = await SELF.fetch(`https://example.com/db/${db}/admin/nodes`, { method: "POST", headers: AUTH, body: JSON.stringify({ name, region }) });
  trackReplica(db, name);
  expect(res.status).toBe(201);
  await res.body?.cancel();
  await until(`${name} online`, async () => {
    const r = await SELF.fetch(`https://example.com/db/${db}/admin/nodes/master`, { headers: AUTH });
    const s = (await r.json()) as { replicas: { name: string; state: string }[] };
    return s.replicas.some((x) => x.name === name && x.state === "online");
  });
}

/** Wait until reads from `region` are served by `node` (the router's topology view is up to 1 s old). */
export async function untilServedBy(db: string, region: string, node: string, read: unknown = ["GET", "k"]): Promise<void> {
  await until(`reads from ${region} served by ${node}`, async () => (await base(db, read, { region })).servedBy === node);
}
