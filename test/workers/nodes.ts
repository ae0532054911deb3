/**
 * Helpers for Workers-runtime scenario tests: talk to nodes directly through their Durable
 * Object stubs (the node's REST path, JSON without base64), as the router would.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
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

/** The error a command answered (a test that expects one): its message. */
export async function commandError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CommandError) return e.message;
    throw e;
  }
  throw new Error("expected an error");
}

/** Nodes made replicas by tests: released after each file (see setup.ts). */
const replicas = new Set<string>();

/** Make every replica a test created a master again, so no link or cron outlives its test file. */
export async function releaseReplicas(): Promise<void> {
  const all = [...replicas];
  replicas.clear();
  await Promise.all(
    all.map(async (k) => {
      const [db, node] = k.split("\u0000") as [string, string];
      await cmd(db, node, "REPLICAOF", "NO", "ONE").catch(() => {});
    }),
  );
}

/** Remember a node as a replica (admin API creations go through here too). */
export function trackReplica(db: string, node: string): void {
  replicas.add(`${db}\u0000${node}`);
}

/** Run one command on a node; resolves the JSON result, rejects with CommandError on a Redis error. */
export async function cmd(db: string, node: string, ...args: (string | number)[]): Promise<unknown> {
  if (String(args[0]).toLowerCase() === "replicaof" && String(args[1]).toLowerCase() !== "no") trackReplica(db, node);
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

/** A pipeline of writes of every type on the master. */
export function batch(round: number, n = 50): (string | number)[][] {
  const cmds: (string | number)[][] = [];
  for (let i = 0; i < n; i++) {
    const k = `${round}:${i}`;
    cmds.push(["SET", `s:${k}`, `v${i}-${round}`]);
    cmds.push(["RPUSH", `l:${i % 7}`, k]);
    cmds.push(["ZADD", `z:${i % 4}`, i, k]);
    cmds.push(["SADD", `set:${i % 5}`, k]);
    cmds.push(["HSET", `h:${i % 3}`, k, String(i)]);
    cmds.push(["INCR", "counter"]);
  }
  return cmds;
}

export async function write(db: string, round: number, n = 50): Promise<void> {
  const res = await pipeline(db, "master", batch(round, n));
  for (const r of res) expect(r).not.toBeInstanceOf(Error);
}

/** WAIT on the master until `n` replicas acked everything written so far. */
export async function waitReplicas(db: string, n: number): Promise<void> {
  expect(await cmd(db, "master", "WAIT", n, 20000)).toBeGreaterThanOrEqual(n);
}

export async function converged(db: string, replicas: string[]): Promise<void> {
  await waitReplicas(db, replicas.length);
  const d = await digest(db, "master");
  expect(d).not.toBe("0".repeat(40));
  for (const r of replicas) expect(await digest(db, r)).toBe(d);
}

/** A replica attached and in sync with the master. */
export async function attach(db: string, name: string): Promise<void> {
  expect(await cmd(db, name, "REPLICAOF", "master")).toBe("OK"); // SPEC §5's form: no port
  await until(`${name} online`, async () => (await info(db, name)).master_link_status === "up");
}


/** DEBUG RESTART a node and wait until a fresh instance answers (INFO server run_id changed). */
export async function restart(db: string, node: string): Promise<void> {
  const before = (await info(db, node, "server")).run_id;
  expect(await cmd(db, node, "DEBUG", "RESTART")).toBe("OK");
  await until(`${node} restarted`, async () => {
    try {
      return (await info(db, node, "server")).run_id !== before;
    } catch {
      return false; // a request caught by the restart itself
    }
  });
}
