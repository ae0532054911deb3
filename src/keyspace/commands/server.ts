import type { CommandSpec } from "../command.ts";

export const serverCommands: CommandSpec[] = [];
