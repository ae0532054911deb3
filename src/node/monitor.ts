/** MONITOR lines in Redis's format: +<sec>.<usec> [<db> <addr>] "cmd" "arg"… */
import type { Session } from "../keyspace/command.ts";
import { redacted } from "../keyspace/redact.ts";

/** sdscatrepr: quote a byte string with C escapes. */
export function repr(b: Uint8Array): string {
  let s = '"';
  for (const c of b) {
    if (c === 0x5c) s += "\\\\";
    else if (c === 0x22) s += '\\"';
    else if (c === 10) s += "\\n";
    else if (c === 13) s += "\\r";
    else if (c === 9) s += "\\t";
    else if (c === 7) s += "\\a";
    else if (c === 8) s += "\\b";
    else if (c >= 32 && c < 127) s += String.fromCharCode(c);
    else s += "\\x" + c.toString(16).padStart(2, "0");
  }
  return s + '"';
}

export function formatMonitorLine(nowMs: number, s: Session, argv: Uint8Array[]): string {
  const sec = Math.floor(nowMs / 1000);
  const usec = String((nowMs % 1000) * 1000).padStart(6, "0");
  const who = s.isMasterLink ? "master" : s.addr;
  return `+${sec}.${usec} [${s.db} ${who}] ${redacted(argv).map(repr).join(" ")}\r\n`;
}
