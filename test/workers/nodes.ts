/**
 * Helpers for Workers-runtime scenario tests: talk to nodes directly through their Durable
 * Object stubs (the node's REST path, JSON without base64), as the router would.
 */
import { env, runInDurableObject } from "cloudflare:test";
import type { Node } from "../../src/node/node.ts";
import { H_DB, H_NODE, NODE_ORIGIN } from "../../src/http/node-protocol.ts";

let dbCounter = 0;

/** A database name unique to this test run. */
export function freshDb(prefix = "t"): string {
  return `${prefix}${Date.now().toString(36)}${dbCounter++}`;
}

export function stub(db: string, node: string): DurableObjectStub<Node> {
  return env.NODES.get(env.NODES.idFromName(`${db}/${node}`));
}

export class CommandError extends Error {}

/** Run one command on a node; resolves the JSON result, rejects with CommandError on a Redis error. */
export async function cmd(db: string, node: string, ...args: (string | number)[]): Promise<unknown> {
  const res = await stub(db, node).fetch(
    new Request(`${NODE_ORIGIN}/rest`, {
      method: "POST",
      headers: { "content-type": "application/json", [H_DB]: db, [H_NODE]: node },
      body: JSON.stringify(args),
    }),
  );
  const body = (await res.json()) as { result?: unknown; error?: string };
  if (body.error !== undefined) throw new CommandError(body.error);
  return body.result;
}

/** Run a pipeline of commands on a node (one request, one event). */
export async function pipeline(db: string, node: string, cmds: (string | number)[][]): Promise<unknown[]> {
  const res = await stub(db, node).fetch(
    new Request(`${NODE_ORIGIN}/rest/pipeline`, {
      method: "POST",
      headers: { "content-type": "application/json", [H_DB]: db, [H_NODE]: node },
      body: JSON.stringify(cmds),
    }),
  );
  const body = (await res.json()) as { result?: unknown; error?: string }[];
  return body.map((b) => (b.error !== undefined ? new CommandError(b.error) : b.result));
}

/** INFO section as a field map. */
export async function info(db: string, node: string, section = "replication"): Promise<Record<string, string>> {
  const text = (await cmd(db, node, "INFO", section)) as string;
  const out: Record<string, string> = {};
  for (const line of text.split("\r\n")) {
    const i = line.indexOf(":");
    if (i > 0 && !line.startsWith("#")) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

export async function digest(db: string, node: string): Promise<string> {
  return (await cmd(db, node, "DEBUG", "DIGEST")) as string;
}

/** Poll `cond` until true (events between objects have no awaitable hook here); fails after `timeoutMs`. */
export async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Run code inside a node's Durable Object (test hooks). */
export function inNode<R>(db: string, node: string, fn: (n: Node) => R | Promise<R>): Promise<R> {
  return runInDurableObject(stub(db, node), (n: Node) => fn(n));
}
