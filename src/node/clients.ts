/**
 * The node's client connections as Redis's CLIENT LIST and CLIENT KILL see them: every open
 * WebSocket (RESP clients, MONITOR streams, replicas' links), with what the engine knows of
 * each session (blocked, in MULTI) and its pub/sub subscriptions. Formatting and CLIENT LIST's
 * filters are keyspace/client-info.ts; this module maps sockets to views and parses CLIENT
 * KILL (networking.c clientKillCommand, Redis 7.0).
 */
import type { Session } from "../keyspace/command.ts";
import { type ClientType, type ClientView, clientType, clientTypeArg } from "../keyspace/client-info.ts";
import { opt } from "../keyspace/args.ts";
import { E, fail } from "../keyspace/errors.ts";
import { parseI64 } from "../util/numbers.ts";
import { str } from "../util/bytes.ts";

/** CLIENT LIST's user= and laddr= of every connection (client-info.ts): no ACL users, and a WebSocket has no local address. */
const LOCAL_USER = "default";
const LOCAL_ADDR = "";

/** What the node tells about one open socket. */
export interface ClientSocket {
  session: Session;
  kind: "client" | "monitor" | "replication";
  /** Subscriptions held, by kind (pubsub/hub.ts counts). */
  subs?: { channel: number; pattern: number; shard: number };
}

export function clientView(c: ClientSocket, blocked: boolean): ClientView {
  return {
    session: c.session,
    role: c.kind === "replication" ? "replica" : c.kind === "monitor" ? "monitor" : "normal",
    sub: c.subs?.channel ?? 0,
    psub: c.subs?.pattern ?? 0,
    ssub: c.subs?.shard ?? 0,
    blocked,
  };
}

/** CLIENT KILL's two forms: the old `CLIENT KILL addr:port`, or filters (answered with a count). */
export type KillRequest =
  | { form: "addr"; addr: string }
  | { form: "filter"; ids: number[]; type: ClientType | null; addr: string | null; laddr: string | null; skipMe: boolean };

/** Parse the arguments after KILL; throws Redis's errors. */
export function parseKill(args: Uint8Array[]): KillRequest {
  if (args.length === 1) return { form: "addr", addr: str(args[0]!) };
  if (args.length === 0 || args.length % 2 !== 0) fail(E.syntax);
  const req: KillRequest = { form: "filter", ids: [], type: null, addr: null, laddr: null, skipMe: true };
  for (let i = 0; i < args.length; i += 2) {
    const o = opt(args[i]!);
    const v = args[i + 1]!;
    switch (o) {
      case "id": {
        const id = parseI64(v);
        if (id === null || id < 1n) fail("ERR client-id should be greater than 0");
        req.ids = [Number(id)]; // Redis 7.0 keeps the last ID filter
        break;
      }
      case "type":
        req.type = clientTypeArg(v);
        break;
      case "addr":
        req.addr = str(v);
        break;
      case "laddr":
        req.laddr = str(v);
        break;
      case "user":
        // Every connection is the user `default` (tokens, not ACL users, set what it may do).
        if (str(v) !== LOCAL_USER) fail(`ERR No such user '${str(v)}'`);
        break;
      case "skipme": {
        const y = opt(v);
        if (y !== "yes" && y !== "no") fail(E.syntax);
        req.skipMe = y === "yes";
        break;
      }
      default:
        fail(E.syntax);
    }
  }
  return req;
}

/** The views a filter kills (the caller's own connection only with SKIPME no). */
export function killTargets(views: ClientView[], req: KillRequest & { form: "filter" }, self: Session): ClientView[] {
  return views.filter((v) => {
    if (req.skipMe && v.session === self) return false;
    if (req.ids.length && !req.ids.includes(v.session.id)) return false;
    if (req.type !== null && clientType(v) !== req.type) return false;
    if (req.addr !== null && v.session.addr !== req.addr) return false;
    if (req.laddr !== null && req.laddr !== LOCAL_ADDR) return false;
    return true;
  });
}
