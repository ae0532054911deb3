/**
 * When did the stream reach each offset? A bounded timeline of (offset, time) samples kept
 * by a node, so that a replica's lag can be told in time as well as in bytes: the time
 * since the replica last acknowledged everything the master had written, i.e. how long the
 * oldest byte it has not acknowledged has been waiting. A replica that acknowledged the
 * current offset shows 0 however long ago its last ACK was.
 */

/** Samples kept: one per SAMPLE_MS at most, so the timeline covers ≥ LAG_SAMPLES_MAX × LAG_SAMPLE_MS. */
export const LAG_SAMPLES_MAX = 4096;
export const LAG_SAMPLE_MS = 10;

export class LagClock {
  /** Offsets and times, oldest first; `offsets[i]` was reached by `times[i]`. */
  private readonly offsets: number[] = [];
  private readonly times: number[] = [];

  /** The stream reached `offset` at `nowMs`. */
  note(offset: number, nowMs: number): void {
    const n = this.offsets.length;
    if (n > 0 && nowMs - this.times[n - 1]! < LAG_SAMPLE_MS) {
      // Within one sample period: the newest sample moves up; its time stays the first write's.
      this.offsets[n - 1] = offset;
      return;
    }
    this.offsets.push(offset);
    this.times.push(nowMs);
    if (this.offsets.length > LAG_SAMPLES_MAX) {
      this.offsets.shift();
      this.times.shift();
    }
  }

  /**
   * Lag in ms of a replica that acknowledged `ackOffset` while the stream is at `offset`:
   * 0 when caught up; otherwise the time since the first sample past `ackOffset` was
   * written (bounded by the oldest sample kept); null when the timeline does not cover it
   * (after a restart).
   */
  lagMs(ackOffset: number, offset: number, nowMs: number): number | null {
    if (ackOffset >= offset) return 0;
    // Binary search: the first sample whose offset exceeds ackOffset.
    let lo = 0;
    let hi = this.offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.offsets[mid]! > ackOffset) hi = mid;
      else lo = mid + 1;
    }
    if (lo >= this.times.length) return null;
    // Sample `lo` holds the bytes written from times[lo] on, up to offsets[lo]; the first byte
    // the replica has not acknowledged (ackOffset + 1) is among them.
    return Math.max(0, nowMs - this.times[lo]!);
  }
}
