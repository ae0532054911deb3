import type { CommandSpec } from "../command.ts";

export const keyCommands: CommandSpec[] = [];
