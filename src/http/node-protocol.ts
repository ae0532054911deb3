/**
 * The contract between the router (Worker) and a node (Durable Object): the router
 * authenticates, picks the node, and forwards the request to the node's `fetch` with the
 * path rewritten and these headers set. Only the router sets them (a client's own copies
 * are dropped by the router).
 */
import type { Session } from "../keyspace/command.ts";
import type { RunKind } from "../keyspace/engine.ts";
import type { Reply } from "../protocol/reply.ts";

/** Database name (`/db/{db}`). */
export const H_DB = "x-er-db";
/** Node name (`master`, `r1`, …). */
export const H_NODE = "x-er-node";
/** "1" when the caller used the read-only token. */
export const H_READONLY = "x-er-readonly";
/** The caller's address, for CLIENT LIST and MONITOR. */
export const H_CLIENT_ADDR = "x-er-client-addr";
/** "resp" on a `/replication` upgrade: the peer is a real Redis replica through a byte pipe. */
export const H_REPLICA_TRANSPORT = "x-er-replica-transport";

/**
 * Node paths: `/rest` + the REST path (`/rest`, `/rest/pipeline`, `/rest/multi-exec`,
 * `/rest/set/foo/bar`), `/ws` (RESP over WebSocket), `/replication` (a replica's link).
 */
export const NODE_ORIGIN = "https://node";

/** What the REST handler needs from the node it runs in. */
export interface RestTarget {
  /** A session for one REST request. */
  newSession(readOnlyToken: boolean, addr: string): Session;
  /** Run one command (sync for data commands; a Promise for node operations). */
  execute(session: Session, argv: Uint8Array[]): Reply | Promise<Reply>;
  /** Run a run of plain SETs or GETs together (Engine.executeRun); null: execute each instead. */
  executeRun(session: Session, kind: RunKind, cmds: readonly Uint8Array[][]): Reply[] | null;
  /** End of a session (WATCH state etc. released). */
  closeSession(session: Session): void;
  /** The replication offset this node's data has reached (the sync token). */
  syncToken(): number;
  /**
   * Wait until this node's data reached `offset` (read-your-writes on a replica), at most
   * `timeoutMs`. Resolves true when reached.
   */
  waitForOffset(offset: number, timeoutMs: number): Promise<boolean>;
}
