import type { CommandSpec } from "../command.ts";

export const listCommands: CommandSpec[] = [];
