/**
 * A replica's lag as its master sees it at each REPLCONF ACK: how long the oldest byte the
 * replica had not acknowledged had been waiting (LagClock.lagMs; 0 when caught up). The last
 * ACK_LAG_SAMPLES_MAX values are kept per replica link and summarized for the admin API: a
 * figure measured inside the master, so it does not include how long a client's request
 * waited to reach a replica (on a busy local runtime, seconds).
 */

/** Samples kept per replica link (with ACKs every ~100 ms while the stream flows: ~7 minutes). */
export const ACK_LAG_SAMPLES_MAX = 4096;

export interface AckLagSummary {
  samples: number;
  p50: number;
  p99: number;
  max: number;
}

export class AckLagSamples {
  private readonly values: number[] = [];
  private next = 0;

  add(ms: number): void {
    if (this.values.length < ACK_LAG_SAMPLES_MAX) this.values.push(ms);
    else {
      this.values[this.next] = ms;
      this.next = (this.next + 1) % ACK_LAG_SAMPLES_MAX;
    }
  }

  /** Nearest-rank percentiles of the samples kept, or null before the first. */
  summary(): AckLagSummary | null {
    const n = this.values.length;
    if (n === 0) return null;
    const sorted = [...this.values].sort((a, b) => a - b);
    const rank = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
    return { samples: n, p50: rank(50), p99: rank(99), max: sorted[n - 1]! };
  }
}
