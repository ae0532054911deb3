/** Redis's exact error strings (server.c createSharedObjects and the command files). */
import { RedisError } from "../protocol/reply.ts";
import { concat, str, utf8 } from "../util/bytes.ts";

export const E = {
  wrongType: "WRONGTYPE Operation against a key holding the wrong kind of value",
  notInt: "ERR value is not an integer or out of range",
  notFloat: "ERR value is not a valid float",
  syntax: "ERR syntax error",
  noSuchKey: "ERR no such key",
  outOfRange: "ERR index out of range",
  overflow: "ERR increment or decrement would overflow",
  nanOrInf: "ERR increment would produce NaN or Infinity",
  dbIndex: "ERR DB index is out of range",
  invalidExpire: (cmd: string) => `ERR invalid expire time in '${cmd}' command`,
  arity: (cmd: string) => `ERR wrong number of arguments for '${cmd}' command`,
  unknown: (cmd: string, args: string) => `ERR unknown command '${cmd}', with args beginning with: ${args}`,
  readonly: "READONLY You can't write against a read only replica.",
  masterDown: "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
  noReplicas: "NOREPLICAS Not enough good replicas to write.",
  stringTooLong: "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
  hashNotInt: "ERR hash value is not an integer",
  hashNotFloat: "ERR hash value is not a float",
  zsetNotFloat: "ERR min or max is not a float",
  zsetNaN: "ERR resulting score is not a number (NaN)",
  lexRange: "ERR min or max not valid string range item",
  notPositive: (what: string) => `ERR ${what} must be positive`,
  tooBig: (what: string, limit: number) => `ERR ${what} exceeds the limit of ${limit} bytes`,
  noPerm: (cmd: string) => `NOPERM this user has no permissions to run the '${cmd}' command`,
} as const;

export function err(msg: string): RedisError {
  return new RedisError(msg);
}

/** Throw a Redis error reply from inside a command handler. */
export function fail(msg: string): never {
  throw new RedisError(msg);
}

/** A client's argument as C's `%.<max>s` prints it: up to `max` bytes, cut at its first NUL. */
export function cString(b: Uint8Array, max: number): Uint8Array {
  const nul = b.indexOf(0);
  return b.subarray(0, Math.min(max, nul < 0 ? b.length : nul));
}

/**
 * An error quoting client bytes as redis-server does, byte for byte (`RedisError.raw`): `parts`
 * are text and bytes in order (bytes already cut, `cString`).
 */
export function quotingError(parts: (string | Uint8Array)[]): RedisError {
  const raw = concat(parts.map((p) => (typeof p === "string" ? utf8(p) : p)));
  return new RedisError(str(raw), raw);
}

/** `ERR unknown subcommand '<arg, %.128s>'. Try <CMD> HELP.` (addReplySubcommandSyntaxError's kin). */
export function unknownSubcommand(arg: Uint8Array, cmd: string, orArity = false): never {
  const what = orArity ? "unknown subcommand or wrong number of arguments for" : "unknown subcommand";
  throw quotingError([`ERR ${what} '`, cString(arg, 128), `'. Try ${cmd.toUpperCase()} HELP.`]);
}
