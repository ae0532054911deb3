/**
 * The `#!lua flags=...` first line of a script (Redis 7.0 evalExtractShebangFlags), with
 * Redis's error texts. `allow-key-locking` is Upstash's extension (every @upstash/ratelimit
 * script declares it): accepted, and with it a script may only touch the keys it declared.
 */

export type ScriptFlag = "no-writes" | "allow-oom" | "allow-stale" | "no-cluster" | "allow-cross-slot-keys" | "allow-key-locking";

const KNOWN: ReadonlySet<string> = new Set<ScriptFlag>(["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys", "allow-key-locking"]);

export interface Shebang {
  /** No shebang: Redis's compatibility mode (flags come from the commands the script runs). */
  compat: boolean;
  flags: Set<ScriptFlag>;
  /** Bytes of the shebang line (the newline stays in the body, so line numbers are kept). */
  length: number;
}

/** Parse the shebang of a script body; a string is Redis's error message (without "ERR "). */
export function parseShebang(body: Uint8Array): Shebang | string {
  if (body[0] !== 35 || body[1] !== 33) return { compat: true, flags: new Set(), length: 0 };
  const nl = body.indexOf(10);
  if (nl < 0) return "Invalid script shebang";
  const line = new TextDecoder().decode(body.subarray(0, nl));
  const parts = line.split(/[ \t\r\v\f]+/).filter((p) => p.length > 0);
  if (parts.length === 0) return "Invalid engine in script shebang";
  if (parts[0] !== "#!lua") return `Unexpected engine in script shebang: ${parts[0]}`;
  const flags = new Set<ScriptFlag>();
  for (const p of parts.slice(1)) {
    if (!p.startsWith("flags=")) return `Unknown lua shebang option: ${p}`;
    if (p.length === 6) continue; // "flags=" alone declares no flags
    for (const f of p.slice(6).split(",")) {
      if (!KNOWN.has(f)) return `Unexpected flag in script shebang: ${f}`;
      flags.add(f as ScriptFlag);
    }
  }
  return { compat: false, flags, length: nl };
}

/**
 * Whether a request is a read for the router (SPEC §4: read-only scripts run on replicas):
 * EVAL_RO / EVALSHA_RO, and EVAL of a body that declares `no-writes`. EVALSHA cannot be
 * told apart without the script cache: it goes to the master.
 */
export function scriptRequestIsRead(name: string, body: Uint8Array | undefined): boolean {
  const n = name.toLowerCase();
  if (n === "eval_ro" || n === "evalsha_ro" || n === "fcall_ro") return true;
  if (n !== "eval" || body === undefined) return false;
  const sb = parseShebang(body);
  return typeof sb !== "string" && sb.flags.has("no-writes");
}
