/**
 * CLIENT LIST / CLIENT INFO lines and CLIENT LIST's filters, in Redis 7.0's format
 * (networking.c catClientInfoString, getClientFlags). The node (node/clients.ts) says which
 * connections exist; this module only formats and filters them. Buffers and memory read 0,
 * except `omem` of a gateway socket: the bytes its gateway has not acknowledged yet.
 */
import type { Session } from "./command.ts";
import { E, fail } from "./errors.ts";
import { opt } from "./args.ts";
import { parseI64 } from "../util/numbers.ts";

/** One open client connection as CLIENT LIST shows it. */
export interface ClientView {
  session: Session;
  /** replica: a replica's link to us (S); monitor: a MONITOR stream (O); normal otherwise. */
  role: "normal" | "replica" | "monitor";
  /** Channel, pattern and shard-channel subscriptions. */
  sub: number;
  psub: number;
  ssub: number;
  blocked: boolean;
  /** Output bytes known to wait for the client (a gateway socket's unacknowledged bytes), else 0. */
  omem?: number;
}

/** CLIENT LIST TYPE names (getClientTypeByName). */
export type ClientType = "normal" | "replica" | "master" | "pubsub";

export function clientType(v: ClientView): ClientType {
  if (v.role === "replica") return "replica"; // a MONITOR client is a "normal" one (getClientType)
  if (v.sub + v.psub + v.ssub > 0) return "pubsub";
  return "normal";
}

/** Redis's flag letters, in getClientFlags's order. */
function flags(v: ClientView): string {
  const s = v.session;
  let f = "";
  if (v.role === "monitor") f += "O";
  else if (v.role === "replica") f += "S";
  if (v.sub + v.psub + v.ssub > 0) f += "P";
  if (s.multi) f += "x";
  if (v.blocked) f += "b";
  if (s.watchDirty) f += "d";
  if (s.readOnlyToken) f += "r";
  return f || "N";
}

/** One line (no newline). `cmd` overrides the last command (CLIENT INFO / LIST name themselves). */
export function clientLine(v: ClientView, nowMs: number, cmd?: string): string {
  const s = v.session;
  return [
    `id=${s.id}`,
    `addr=${s.addr}`,
    "laddr=",
    "fd=-1",
    `name=${s.name ?? ""}`,
    `age=${Math.max(0, Math.floor((nowMs - s.createdMs) / 1000))}`,
    `idle=${Math.max(0, Math.floor((nowMs - s.lastCmdMs) / 1000))}`,
    `flags=${flags(v)}`,
    `db=${s.db}`,
    `sub=${v.sub}`,
    `psub=${v.psub}`,
    `ssub=${v.ssub}`,
    `multi=${s.multi ? s.multi.length : -1}`,
    "qbuf=0",
    "qbuf-free=0",
    "argv-mem=0",
    "multi-mem=0",
    "rbs=0",
    "rbp=0",
    "obl=0",
    "oll=0",
    `omem=${v.omem ?? 0}`,
    "tot-mem=0",
    "events=r",
    `cmd=${cmd ?? s.lastCmd}`,
    "user=default",
    "redir=-1",
    `resp=${s.resp}`,
  ].join(" ");
}

/** CLIENT LIST [TYPE type | ID id [id ...]] (networking.c clientCommand "list"). */
export type ClientListFilter = { kind: "all" } | { kind: "type"; type: ClientType } | { kind: "ids"; ids: number[] };

/** Parse CLIENT LIST's arguments after `LIST`; throws Redis's errors. */
export function parseClientListFilter(args: Uint8Array[]): ClientListFilter {
  if (args.length === 0) return { kind: "all" };
  const o = opt(args[0]!);
  if (args.length === 2 && o === "type") return { kind: "type", type: clientTypeArg(args[1]!) };
  if (args.length > 1 && o === "id") {
    const ids: number[] = [];
    for (const a of args.slice(1)) {
      const v = parseI64(a);
      if (v === null) fail("ERR Invalid client ID");
      ids.push(Number(v));
    }
    return { kind: "ids", ids };
  }
  fail(E.syntax);
}

/** A client type name (getClientTypeByName: slave is replica). */
export function clientTypeArg(b: Uint8Array): ClientType {
  const t = opt(b);
  if (t === "normal" || t === "master" || t === "pubsub") return t;
  if (t === "replica" || t === "slave") return "replica";
  fail(`ERR Unknown client type '${new TextDecoder().decode(b)}'`);
}

/** The lines CLIENT LIST answers for a filter, each ended by "\n" (ID lists follow the ids' order). */
export function clientList(views: ClientView[], filter: ClientListFilter, nowMs: number, self: number): string {
  const line = (v: ClientView) => `${clientLine(v, nowMs, v.session.id === self ? "client|list" : undefined)}\n`;
  switch (filter.kind) {
    case "all":
      return views.map(line).join("");
    case "type":
      return views
        .filter((v) => clientType(v) === filter.type)
        .map(line)
        .join("");
    case "ids": {
      const byId = new Map(views.map((v) => [v.session.id, v]));
      return filter.ids
        .map((id) => byId.get(id))
        .filter((v): v is ClientView => v !== undefined)
        .map(line)
        .join("");
    }
  }
}
