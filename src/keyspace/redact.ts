/**
 * Passwords in a command's arguments, as Redis 7.0 redacts them from MONITOR and SLOWLOG
 * (redactClientCommandArgument): AUTH's arguments, HELLO's `AUTH user pass`, and CONFIG SET's
 * values of masterauth and masteruser. MIGRATE's AUTH is not a command here.
 */
import { utf8 } from "../util/bytes.ts";

export const REDACTED = utf8("(redacted)");

function lower(a: Uint8Array | undefined): string {
  if (a === undefined || a.length > 16) return "";
  return String.fromCharCode(...a).toLowerCase();
}

/** Positions of the arguments that are passwords (empty for almost every command). */
export function secretPositions(argv: readonly Uint8Array[]): Set<number> {
  const at = new Set<number>();
  const name = lower(argv[0]);
  if (name === "auth") for (let i = 1; i < argv.length; i++) at.add(i);
  else if (name === "hello") {
    for (let i = 2; i < argv.length; i++) {
      if (lower(argv[i]) === "auth") {
        at.add(i + 1);
        at.add(i + 2);
      }
    }
  } else if (name === "config" && lower(argv[1]) === "set") {
    for (let i = 2; i + 1 < argv.length; i += 2) {
      const p = lower(argv[i]);
      if (p === "masterauth" || p === "masteruser") at.add(i + 1);
    }
  }
  return at;
}

/** The arguments with every password replaced by `(redacted)` (the same array when none is). */
export function redacted(argv: Uint8Array[]): Uint8Array[] {
  const at = secretPositions(argv);
  return at.size === 0 ? argv : argv.map((a, i) => (at.has(i) ? REDACTED : a));
}
