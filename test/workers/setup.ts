/**
 * Runs around every Workers-runtime test file. The files share one workerd (WebSockets
 * between Durable Objects need --no-isolate), so replicas a file created would keep their
 * links and alarms running into the next files and keep the pool from shutting down:
 * turn them back into masters when the file ends.
 */
import { afterAll } from "vitest";
import { releaseReplicas } from "./nodes.ts";

afterAll(async () => {
  await releaseReplicas();
});
