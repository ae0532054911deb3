/**
 * Which REST requests are reads (SPEC §4): every command of the request is read-only by
 * the command table's flags (`readonly`, and neither `write` nor `admin`). `/multi-exec`,
 * a write, a mixed pipeline, an unknown command or a body that does not parse go to the
 * master (the master also gives the clear error for bad input).
 */
import { COMMANDS } from "../keyspace/table.ts";

export type RestMode = "single" | "pipeline" | "multi-exec";

/**
 * Listening (Upstash's SSE `/subscribe/{channel}`) reads no data but is served by the nearest
 * replica too: a PUBLISH at the master reaches a replica's subscribers through the stream.
 */
const REPLICA_SERVED_LISTENERS: ReadonlySet<string> = new Set(["subscribe", "psubscribe"]);

/** Whether one command name (any case) is read-only (or a listener a replica serves). */
export function isReadOnlyCommand(name: string): boolean {
  if (REPLICA_SERVED_LISTENERS.has(name.toLowerCase())) return true;
  const spec = COMMANDS.get(name.toLowerCase());
  if (!spec) return false;
  return spec.flags.includes("readonly") && !spec.flags.includes("write") && !spec.flags.includes("admin");
}

/** Whether a request of `mode` made of these command names may be served by a replica. */
export function isReadRequest(mode: RestMode, names: readonly string[] | null): boolean {
  if (mode === "multi-exec" || names === null || names.length === 0) return false;
  return names.every(isReadOnlyCommand);
}

/**
 * The command names of a REST request on the database's base URL: `rest` is the path after
 * the base (`/`, `/pipeline`, `/multi-exec`, `/get/key`), `body` the JSON body text (body
 * forms only). null when they cannot be known (the request then goes to the master).
 */
export function restCommandNames(rest: string, body: string | null): { mode: RestMode; names: string[] | null } {
  const first = rest.split("/")[1] ?? "";
  if (first !== "" && first !== "pipeline" && first !== "multi-exec") {
    return { mode: "single", names: [safeDecode(first)] };
  }
  const mode: RestMode = first === "" ? "single" : first === "pipeline" ? "pipeline" : "multi-exec";
  if (body === null) return { mode, names: null };
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return { mode, names: null };
  }
  if (!Array.isArray(v)) return { mode, names: null };
  const cmds: unknown[] = mode === "single" ? [v] : v;
  const names: string[] = [];
  for (const c of cmds) {
    if (!Array.isArray(c) || typeof c[0] !== "string") return { mode, names: null };
    names.push(c[0]);
  }
  return { mode, names };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
