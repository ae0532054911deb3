import type { CommandSpec } from "../command.ts";

export const setCommands: CommandSpec[] = [];
