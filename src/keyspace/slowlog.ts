/**
 * SLOWLOG (Redis 7.0 slowlog.c, behaviour only): commands that ran longer than
 * `slowlog-log-slower-than` microseconds are kept, newest first, up to `slowlog-max-len`
 * entries, in memory (as Redis keeps them: a restart empties the log).
 *
 * What is logged, as Redis does: a client's command, each command of an EXEC (never EXEC
 * itself), and a script's EVAL and each command it calls (as client "?:0"). The duration is the command's
 * synchronous time (a blocking command's wait is not counted); the commands of a run taken
 * together (`Engine.executeRun`) each get the run's average. Each entry keeps at most
 * SLOWLOG_ARGS_MAX arguments of at most SLOWLOG_ARG_BYTES_MAX bytes; passwords are redacted (redact.ts).
 *
 * On deployed Workers the clock moves only between I/O, so durations there read 0 for most
 * commands (commandstats `usec` has the same limit; see NOTES).
 */
import { OK, type Reply } from "../protocol/reply.ts";
import { utf8 } from "../util/bytes.ts";
import { REDACTED, secretPositions } from "./redact.ts";

/** Arguments kept per entry (Redis's SLOWLOG_ENTRY_MAX_ARGC): the last one says how many more there were. */
export const SLOWLOG_ARGS_MAX = 32;
/** Bytes kept per argument (Redis's SLOWLOG_ENTRY_MAX_STRING); a longer one says how many more. */
export const SLOWLOG_ARG_BYTES_MAX = 128;

interface SlowLogEntry {
  id: number;
  /** Unix time (s) the command was logged. */
  timeS: number;
  durationUs: number;
  argv: Uint8Array[];
  addr: string;
  name: string;
}


export class SlowLog {
  /** Microseconds; negative turns the log off, 0 logs every command. */
  thresholdUs = 10_000;
  private maxLen = 128;
  /** Oldest first (GET answers newest first). */
  private entries: SlowLogEntry[] = [];
  private nextId = 0;

  /** Whether a command that took `us` microseconds is logged (cheap: asked for every command). */
  wants(us: number): boolean {
    return this.thresholdUs >= 0 && us >= this.thresholdUs;
  }

  setMaxLen(n: number): void {
    this.maxLen = n;
    if (this.entries.length > n) this.entries.splice(0, this.entries.length - n);
  }

  record(argv: readonly Uint8Array[], us: number, client: { addr: string; name: string | null }, nowMs: number): void {
    if (this.maxLen === 0) return;
    this.entries.push({ id: this.nextId++, timeS: Math.floor(nowMs / 1000), durationUs: us, argv: shape(argv), addr: client.addr, name: client.name ?? "" });
    if (this.entries.length > this.maxLen) this.entries.shift();
  }

  get length(): number {
    return this.entries.length;
  }

  /** SLOWLOG GET [count]: the newest `count` entries (all of them for -1). */
  get(count: number): Reply {
    const n = count < 0 ? this.entries.length : Math.min(count, this.entries.length);
    const out: Reply[] = [];
    for (let i = this.entries.length - 1; i >= this.entries.length - n; i--) {
      const e = this.entries[i]!;
      out.push([e.id, e.timeS, e.durationUs, e.argv, utf8(e.addr), utf8(e.name)]);
    }
    return out;
  }

  reset(): Reply {
    this.entries = [];
    return OK;
  }
}

/** The arguments as an entry keeps them: bounded in count and size, secrets redacted. */
function shape(argv: readonly Uint8Array[]): Uint8Array[] {
  const secret = secretPositions(argv);
  const kept = argv.length > SLOWLOG_ARGS_MAX ? SLOWLOG_ARGS_MAX - 1 : argv.length;
  const out: Uint8Array[] = [];
  for (let i = 0; i < kept; i++) {
    const a = argv[i]!;
    if (secret.has(i)) out.push(REDACTED);
    else if (a.length > SLOWLOG_ARG_BYTES_MAX) {
      const more = utf8(`... (${a.length - SLOWLOG_ARG_BYTES_MAX} more bytes)`);
      const b = new Uint8Array(SLOWLOG_ARG_BYTES_MAX + more.length);
      b.set(a.subarray(0, SLOWLOG_ARG_BYTES_MAX));
      b.set(more, SLOWLOG_ARG_BYTES_MAX);
      out.push(b);
    } else out.push(a.slice());
  }
  if (kept < argv.length) out.push(utf8(`... (${argv.length - kept} more arguments)`));
  return out;
}
