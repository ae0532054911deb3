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

/** Names of the read-only commands (and the listeners a replica serves), computed once. */
const READ_ONLY: ReadonlySet<string> = new Set([
  ...REPLICA_SERVED_LISTENERS,
  ...[...COMMANDS.values()].filter((c) => c.flags.includes("readonly") && !c.flags.includes("write") && !c.flags.includes("admin")).map((c) => c.name),
]);

/** Whether one command name (any case) is read-only (or a listener a replica serves). */
export function isReadOnlyCommand(name: string): boolean {
  return READ_ONLY.has(name.toLowerCase());
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

/**
 * The first command's name of a body-form request read straight from its bytes (`[["SET",…`
 * for /pipeline, `["SET",…` for a single command), or null when it is not written plainly
 * (an escape, another shape): then only the full parse can tell. One write in a request makes
 * it a write, so a request starting with one needs no parse here at all.
 */
export function firstCommandName(mode: RestMode, body: Uint8Array): string | null {
  let i = 0;
  const skip = () => {
    while (i < body.length && (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)) i++;
  };
  const opens = mode === "single" ? 1 : 2;
  for (let n = 0; n < opens; n++) {
    skip();
    if (body[i++] !== 0x5b) return null; // [
  }
  skip();
  if (body[i++] !== 0x22) return null; // "
  let name = "";
  for (; i < body.length && name.length <= 64; i++) {
    const b = body[i]!;
    if (b === 0x22) return name;
    // Letters, digits and - _ | . only: anything else (an escape, non-ASCII) is left to the parse.
    if (!((b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x5f || b === 0x7c || b === 0x2e)) return null;
    name += String.fromCharCode(b);
  }
  return null;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
