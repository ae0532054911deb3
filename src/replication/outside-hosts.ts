/**
 * Which REPLICAOF targets are outside Redis servers, and which of those a deployment allows
 * (SPEC §3 "Outside masters", the EXTERNAL_MASTERS setting).
 *
 * The rule: `REPLICAOF host port` names an outside master when `port` is a TCP port
 * (1-65535) and `host` is `localhost` or contains a dot or a colon (an IPv4/IPv6 address or
 * a DNS name). A node name never contains a dot or a colon (NODE_NAME_RE), so the two
 * forms cannot be confused; `REPLICAOF master` and `REPLICAOF master 6379` keep naming a node.
 */
import { globMatch } from "../keyspace/glob.ts";
import { utf8 } from "../util/bytes.ts";

/** What a node name looks like (REPLICAOF inside a deployment). */
export const NODE_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** A host name or address longer than this is refused (DNS names are at most 253 bytes). */
export const OUTSIDE_HOST_BYTES_MAX = 255;
/** Entries of EXTERNAL_MASTERS considered (each a host or a glob). */
export const EXTERNAL_MASTERS_ENTRIES_MAX = 64;

export interface OutsideAddress {
  host: string;
  port: number;
}

/** The outside master `REPLICAOF host port` names, or null when it names a node. */
export function outsideAddress(host: string, port: string): OutsideAddress | null {
  if (!/^\d{1,5}$/.test(port)) return null;
  const p = Number(port);
  if (p < 1 || p > 65535) return null;
  if (host.length === 0 || host.length > OUTSIDE_HOST_BYTES_MAX) return null;
  if (!(host.toLowerCase() === "localhost" || host.includes(".") || host.includes(":"))) return null;
  // A bracketed IPv6 address ([::1]) is accepted as Redis accepts the bare form.
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (!/^[A-Za-z0-9.:_-]+$/.test(bare)) return null;
  return { host: bare, port: p };
}

/** Is `host` allowed by EXTERNAL_MASTERS (comma-separated hosts or globs, case-insensitive)? */
export function outsideHostAllowed(host: string, setting: string | undefined): boolean {
  if (!setting) return false;
  const entries = setting.split(",").slice(0, EXTERNAL_MASTERS_ENTRIES_MAX);
  for (const raw of entries) {
    const e = raw.trim();
    if (e.length === 0) continue;
    if (globMatch(utf8(e), utf8(host), true)) return true;
  }
  return false;
}

/** The error REPLICAOF answers for a host the deployment does not allow. */
export function notAllowedError(host: string): string {
  return `ERR outside master '${host}' is not allowed by this deployment's EXTERNAL_MASTERS setting`;
}
