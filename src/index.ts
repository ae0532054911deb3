/** The Worker: the router (Hono) and the node Durable Object class. */
import type { Env } from "./env.ts";
import { app } from "./http/router.ts";
export { Node } from "./node/node.ts";

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
