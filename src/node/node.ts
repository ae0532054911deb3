/**
 * A node: one Durable Object class for masters and replicas (Redis nodes change role).
 * It wires the plain-TypeScript keyspace engine and replication state machines to SQLite
 * storage, hibernatable WebSockets, the alarm and R2.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.ts";

export class Node extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
  }

  override async fetch(_request: Request): Promise<Response> {
    return new Response("not yet", { status: 501 });
  }

  // vitest-pool-workers 0.15.1 needs all three WebSocket handlers defined on the class.
  override async webSocketMessage(_ws: WebSocket, _message: string | ArrayBuffer): Promise<void> {}
  override async webSocketClose(_ws: WebSocket, _code: number, _reason: string, _wasClean: boolean): Promise<void> {}
  override async webSocketError(_ws: WebSocket, _error: unknown): Promise<void> {}
}
