/** The command table: every command the node knows, gathered from keyspace/commands/. */
import type { CommandSpec } from "./command.ts";
import { hashCommands } from "./commands/hashes.ts";
import { keyCommands } from "./commands/keys.ts";
import { listCommands } from "./commands/lists.ts";
import { scriptingCommands } from "./commands/scripting.ts";
import { serverCommands } from "./commands/server.ts";
import { setCommands } from "./commands/sets.ts";
import { stringCommands } from "./commands/strings.ts";
import { zsetCommands } from "./commands/zsets.ts";
import { zsetAlgebraCommands } from "./commands/zset-algebra.ts";
import { lcsCommands } from "./commands/lcs.ts";
import { objectCommands } from "./commands/object.ts";
import { dumpCommands } from "./commands/dump.ts";
import { sortCommands } from "./commands/sort.ts";
import { bitmapCommands } from "./commands/bitmaps.ts";
import { geoCommands } from "./commands/geo.ts";
import { hyperloglogCommands } from "./commands/hyperloglog.ts";
import { pubsubCommands } from "./commands/pubsub.ts";
import { blockingCommands } from "./commands/blocking.ts";
import { diagnosticsCommands } from "./commands/diagnostics.ts";

export const COMMANDS: ReadonlyMap<string, CommandSpec> = (() => {
  const m = new Map<string, CommandSpec>();
  for (const list of [keyCommands, stringCommands, hashCommands, listCommands, setCommands, zsetCommands, zsetAlgebraCommands, lcsCommands, bitmapCommands, hyperloglogCommands, objectCommands, dumpCommands, sortCommands, geoCommands, pubsubCommands, blockingCommands, serverCommands, diagnosticsCommands, scriptingCommands]) {
    for (const c of list) {
      if (m.has(c.name)) throw new Error(`command defined twice: ${c.name}`);
      m.set(c.name, c);
    }
  }
  return m;
})();

/** Argument indexes holding keys, from the spec's first/last/step. */
export function keyIndexes(spec: CommandSpec, argc: number): number[] {
  if (spec.firstKey <= 0) return [];
  const last = spec.lastKey < 0 ? argc + spec.lastKey : spec.lastKey;
  const out: number[] = [];
  for (let i = spec.firstKey; i <= last && i < argc; i += spec.step || 1) out.push(i);
  return out;
}

/** What COMMAND reports about a command (its table entry, or a transaction command). */
export type CommandInfo = Pick<CommandSpec, "name" | "arity" | "firstKey" | "lastKey" | "step"> & { flags: readonly string[] };

/**
 * The transaction commands: the engine runs them itself (they act on the session, not the
 * keyspace), but COMMAND reports them as Redis 7.0 does.
 */
export const TRANSACTION_COMMANDS: readonly CommandInfo[] = [
  { name: "multi", arity: 1, flags: ["noscript", "loading", "stale", "fast", "allow_busy"], firstKey: 0, lastKey: 0, step: 0 },
  { name: "exec", arity: 1, flags: ["noscript", "loading", "stale", "skip_slowlog"], firstKey: 0, lastKey: 0, step: 0 },
  { name: "discard", arity: 1, flags: ["noscript", "loading", "stale", "fast", "allow_busy"], firstKey: 0, lastKey: 0, step: 0 },
  { name: "watch", arity: -2, flags: ["noscript", "loading", "stale", "fast", "allow_busy"], firstKey: 1, lastKey: -1, step: 1 },
  { name: "unwatch", arity: 1, flags: ["noscript", "loading", "stale", "fast", "allow_busy"], firstKey: 0, lastKey: 0, step: 0 },
];

/** Every command COMMAND lists: the table and the transaction commands. */
export function allCommandInfo(): Map<string, CommandInfo> {
  const m = new Map<string, CommandInfo>(COMMANDS);
  for (const t of TRANSACTION_COMMANDS) m.set(t.name, t);
  return m;
}
