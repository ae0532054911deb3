/**
 * The permission model (SPEC §6), after Redis's ACL categories: every command in the table
 * is classified once, and the read-only token may run a command only when it reads data or
 * acts on its own connection — never when it writes, administers the node or is dangerous.
 *
 * Categories come from the table entry: given explicitly (commands whose subcommands differ,
 * such as CONFIG GET vs CONFIG SET, classify per argv), or derived from Redis's flags
 * (`write` → @write, `readonly` → @read, `admin` → @admin @dangerous). A command that has none
 * of those flags and no explicit categories is a programming error caught when the table is
 * built, so a new command cannot slip through unclassified.
 */
import type { AclCategory, AclSpec, CommandFlag, CommandSpec } from "./command.ts";

/** Categories that the read-only token is refused, whatever else a command is. */
const DENIED_TO_READ_ONLY: ReadonlySet<AclCategory> = new Set(["write", "admin", "dangerous"]);
/** A command must carry one of these for the read-only token to run it. */
const ALLOWED_TO_READ_ONLY: ReadonlySet<AclCategory> = new Set(["read", "connection"]);

/** Categories derived from Redis's command flags, or null when the flags say nothing. */
export function categoriesFromFlags(flags: readonly CommandFlag[]): AclCategory[] | null {
  if (flags.includes("write")) return ["write"];
  if (flags.includes("admin")) return ["admin", "dangerous"];
  if (flags.includes("readonly")) return ["read"];
  return null;
}

/** Whether the read-only token may run a command of these categories. */
export function readOnlyTokenMay(categories: readonly AclCategory[]): boolean {
  let allowed = false;
  for (const c of categories) {
    if (DENIED_TO_READ_ONLY.has(c)) return false;
    if (ALLOWED_TO_READ_ONLY.has(c)) allowed = true;
  }
  return allowed;
}

/**
 * Why the read-only token may not run this invocation: the name Redis's NOPERM names
 * (`config|set` for a subcommand), or null when it may.
 */
export function readOnlyDenial(spec: Pick<CommandSpec, "name" | "acl">, argv: Uint8Array[]): string | null {
  if (typeof spec.acl === "function") {
    const { categories, name } = spec.acl(argv);
    return readOnlyTokenMay(categories) ? null : name;
  }
  return readOnlyTokenMay(spec.acl) ? null : spec.name;
}

const ADMIN: readonly AclCategory[] = ["admin", "dangerous"];

/**
 * Categories of a container command (CONFIG, CLIENT, SCRIPT, FUNCTION): each listed
 * subcommand has its categories; any other one (and a missing or unknown subcommand) is
 * @admin @dangerous. Named `command|sub`, as Redis's NOPERM names subcommands.
 */
export function bySubcommand(command: string, subs: Readonly<Record<string, readonly AclCategory[]>>): AclSpec {
  return (argv) => {
    const sub = argv.length > 1 ? new TextDecoder().decode(argv[1]!).toLowerCase() : "";
    return { categories: subs[sub] ?? ADMIN, name: sub === "" ? command : `${command}|${sub}` };
  };
}
