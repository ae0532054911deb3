/**
 * INFO's instantaneous_ops_per_sec: commands per second over about the last 1.6 s. Redis
 * samples its command counter every 100 ms from serverCron and averages the last 16 rates; a
 * node has no 100 ms timer (an idle object sleeps), so the counter is sampled when commands
 * run, at most once per SAMPLE_MS, and the rate is taken at INFO time from the oldest sample
 * still inside the window. With no sample old enough yet, the latest older one is used (an idle
 * stretch then counts as time with no commands), and with none at all the rate is 0.
 */
export const OPS_SAMPLE_MS = 100;
export const OPS_SAMPLES = 16;
const WINDOW_MS = OPS_SAMPLE_MS * OPS_SAMPLES;

export class OpsMeter {
  private readonly times: number[] = [];
  private readonly totals: number[] = [];

  /** The command counter is `total` at `nowMs` (called as commands are counted). */
  sample(nowMs: number, total: number): void {
    const n = this.times.length;
    if (n > 0 && nowMs - this.times[n - 1]! < OPS_SAMPLE_MS) return;
    this.times.push(nowMs);
    this.totals.push(total);
    if (this.times.length > OPS_SAMPLES + 1) {
      this.times.shift();
      this.totals.shift();
    }
  }

  /** Commands per second up to `nowMs`, when the counter is `total` now. */
  perSecond(nowMs: number, total: number): number {
    let base = -1;
    for (let i = 0; i < this.times.length; i++) {
      const age = nowMs - this.times[i]!;
      if (age < OPS_SAMPLE_MS) break; // too recent to measure a rate from
      base = i;
      if (age <= WINDOW_MS) break; // the oldest inside the window
    }
    if (base < 0) return 0;
    return Math.round(((total - this.totals[base]!) * 1000) / (nowMs - this.times[base]!));
  }

  reset(): void {
    this.times.length = 0;
    this.totals.length = 0;
  }
}
