/** The Worker: the router (Hono) and the node Durable Object class. */
import type { Env } from "./env.ts";
export { Node } from "./node/node.ts";

export default {
  async fetch(_request: Request, _env: Env): Promise<Response> {
    return new Response("edge-replica", { status: 200 });
  },
} satisfies ExportedHandler<Env>;
