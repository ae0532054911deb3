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
    }
  }
}

export type Env = Cloudflare.Env;
