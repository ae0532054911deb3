/** Bindings and vars of the Worker (wrangler.toml, secrets). */
import type { Node } from "./node/node.ts";

declare global {
  namespace Cloudflare {
    interface Env {
      NODES: DurableObjectNamespace<Node>;
      SNAPSHOTS: R2Bucket;
      ENABLE_DEBUG_COMMAND?: string;
      REST_TOKEN?: string;
      REST_READONLY_TOKEN?: string;
      REPLICATION_SECRET?: string;
      /** Hosts (or globs) a node may follow with REPLICAOF host port, comma-separated (SPEC §3). */
      EXTERNAL_MASTERS?: string;
      /** "quiet" silences the nodes' log lines (util/log.ts). */
      LOG_LEVEL?: string;
      /** Routing (http/router.ts): how long a replica may wait to reach a read's sync token (ms, default 50). */
      ROUTE_SYNC_WAIT_MS?: string;
      /** Routing: a replica whose last ACK to its master is older than this is not used (ms, default 3000). */
      ROUTE_REPLICA_ACK_AGE_MAX_MS?: string;
    }
  }
}

export type Env = Cloudflare.Env;
