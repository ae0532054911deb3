import type { CommandSpec } from "../command.ts";

export const zsetCommands: CommandSpec[] = [];
