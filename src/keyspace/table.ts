/** The command table: every command the node knows, gathered from keyspace/commands/. */
import type { CommandSpec } from "./command.ts";
import { hashCommands } from "./commands/hashes.ts";
import { keyCommands } from "./commands/keys.ts";
import { listCommands } from "./commands/lists.ts";
import { serverCommands } from "./commands/server.ts";
import { setCommands } from "./commands/sets.ts";
import { stringCommands } from "./commands/strings.ts";
import { zsetCommands } from "./commands/zsets.ts";

export const COMMANDS: ReadonlyMap<string, CommandSpec> = (() => {
  const m = new Map<string, CommandSpec>();
  for (const list of [keyCommands, stringCommands, hashCommands, listCommands, setCommands, zsetCommands, serverCommands]) {
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
