/**
 * Flow control toward replicas, after Redis's `client-output-buffer-limit replica hard soft
 * soft-seconds`: a replica whose unacknowledged stream grows past the hard limit, or stays past
 * the soft limit for longer than soft-seconds, is disconnected; it comes back with PSYNC and
 * resyncs from the backlog (partially when the backlog still covers its offset).
 *
 * What counts as the replica's "output buffer" here: a Workers WebSocket gives no view of the
 * bytes still queued for the peer (no bufferedAmount on the server side), so the master counts
 * the bytes it sent that the replica has not acknowledged yet (sent offset − ACK offset). That
 * covers bytes in flight and bytes queued unapplied on the replica, which is where a replica that
 * cannot keep up accumulates them. Bytes of a catch-up (+CONTINUE backlog, stream during a full
 * sync) do not count until the replica acknowledges past them: they are bounded by the backlog
 * size, and counting them would drop a replica again the moment it relinks after a long absence.
 *
 * Plain logic (config parsing and the limit decision); the master side owns the counters.
 */

const MB = 1024 * 1024;

export interface OutputLimit {
  hardBytes: number;
  softBytes: number;
  softSeconds: number;
}

/** Redis's client classes, in CONFIG GET order ("slave" is the replica class). */
export const CLIENT_CLASSES = ["normal", "slave", "pubsub"] as const;
export type ClientClass = (typeof CLIENT_CLASSES)[number];

/** Redis 7's defaults: normal 0 0 0, replica 256mb 64mb 60, pubsub 32mb 8mb 60. */
export const OUTPUT_LIMIT_DEFAULTS: Record<ClientClass, OutputLimit> = {
  normal: { hardBytes: 0, softBytes: 0, softSeconds: 0 },
  slave: { hardBytes: 256 * MB, softBytes: 64 * MB, softSeconds: 60 },
  pubsub: { hardBytes: 32 * MB, softBytes: 8 * MB, softSeconds: 60 },
};

/** The CONFIG GET form: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60". */
export function formatOutputLimits(limits: Record<ClientClass, OutputLimit>): string {
  return CLIENT_CLASSES.map((c) => `${c} ${limits[c].hardBytes} ${limits[c].softBytes} ${limits[c].softSeconds}`).join(" ");
}

export const OUTPUT_LIMITS_DEFAULT_TEXT = formatOutputLimits(OUTPUT_LIMIT_DEFAULTS);

/** Parse a stored (CONFIG GET form) value; unknown or bad text falls back to the defaults. */
export function parseOutputLimits(text: string): Record<ClientClass, OutputLimit> {
  const r = applyOutputLimits(OUTPUT_LIMIT_DEFAULTS, text);
  return typeof r === "string" ? { ...OUTPUT_LIMIT_DEFAULTS } : r;
}

/** Redis memory units (1k = 1000, 1kb = 1024, …), as CONFIG SET reads them. */
function memory(v: string): number | null {
  const m = /^(\d+)(k|kb|m|mb|g|gb|b)?$/i.exec(v);
  if (!m) return null;
  const n = Number(m[1]);
  const u = (m[2] ?? "b").toLowerCase();
  const mult = u === "k" ? 1000 : u === "kb" ? 1024 : u === "m" ? 1e6 : u === "mb" ? MB : u === "g" ? 1e9 : u === "gb" ? 1024 * MB : 1;
  return n * mult;
}

/**
 * CONFIG SET client-output-buffer-limit "<class> <hard> <soft> <soft-seconds> …": the classes
 * named change, the others keep their values. Returns the new limits, or Redis's error text.
 */
export function applyOutputLimits(cur: Record<ClientClass, OutputLimit>, value: string): Record<ClientClass, OutputLimit> | string {
  const words = value.trim().split(/\s+/).filter((w) => w.length > 0);
  if (words.length === 0 || words.length % 4 !== 0) return "Wrong number of arguments in buffer limit configuration.";
  const out = { ...cur };
  for (let i = 0; i < words.length; i += 4) {
    const name = words[i]!.toLowerCase();
    const cls: ClientClass | null = name === "normal" ? "normal" : name === "slave" || name === "replica" ? "slave" : name === "pubsub" ? "pubsub" : null;
    if (cls === null) return "Invalid client class specified in buffer limit configuration.";
    const hard = memory(words[i + 1]!);
    const soft = memory(words[i + 2]!);
    const secs = /^\d+$/.test(words[i + 3]!) ? Number(words[i + 3]) : null;
    if (hard === null || soft === null || secs === null || secs > 2 ** 31 - 1) {
      return "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
    }
    out[cls] = { hardBytes: hard, softBytes: soft, softSeconds: secs };
  }
  return out;
}

/**
 * One client's limit state (Redis's obuf_soft_limit_reached_time): a replica's link, or a
 * streaming subscriber (pubsub/output-bound.ts). `check` answers why it must be dropped, or null;
 * `what` names the bytes counted in that answer.
 */
export class OutputLimitWatch {
  /** When the soft limit was first seen exceeded without a break, or null. */
  softSinceMs: number | null = null;

  check(usedBytes: number, limit: OutputLimit, nowMs: number, what = "unacknowledged bytes"): string | null {
    if (limit.hardBytes > 0 && usedBytes >= limit.hardBytes) {
      return `hard limit: ${usedBytes} ${what} >= ${limit.hardBytes}`;
    }
    if (limit.softBytes > 0 && usedBytes >= limit.softBytes) {
      if (this.softSinceMs === null) {
        this.softSinceMs = nowMs;
        return null;
      }
      const elapsedMs = nowMs - this.softSinceMs;
      if (elapsedMs > limit.softSeconds * 1000) {
        return `soft limit: ${usedBytes} ${what} >= ${limit.softBytes} for ${Math.round(elapsedMs / 1000)} s`;
      }
      return null;
    }
    this.softSinceMs = null;
    return null;
  }
}
