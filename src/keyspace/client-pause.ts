/**
 * CLIENT PAUSE timeout [WRITE|ALL] / CLIENT UNPAUSE (Redis 7.0 networking.c pauseClients,
 * behaviour only): for `timeout` ms, commands from clients wait — all of them (ALL), or those
 * that may change data or reach the replication stream (WRITE: writes, EVAL/EVALSHA/FCALL,
 * PUBLISH, PFCOUNT, FUNCTION changes) — and then run as if just sent. The
 * master link's commands never wait. While paused, keys do not expire and the master sends its
 * replicas no PING, so the replication offset stands still (what a pause is for).
 *
 * A second PAUSE keeps the later end and the stricter mode (ALL over WRITE), as Redis does.
 * UNPAUSE ends it at once (under ALL, UNPAUSE itself waits like every other command: that is
 * Redis's behaviour too). FAILOVER's own write pause is separate (`Engine.writePause`); the
 * two combine.
 */

/** Longest a single timer may be (setTimeout's limit); a longer pause re-arms. */
const TIMER_MS_MAX = 2 ** 31 - 1;

export class ClientPause {
  private state: { all: boolean; endMs: number; resumed: Promise<void>; resume: () => void } | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly clock: () => number,
    /** Called when a pause starts or ends (the node re-derives expiry and replica PINGs). */
    private readonly changed: () => void,
  ) {}

  get active(): boolean {
    return this.state !== null;
  }

  /** The promise a paused command waits for, or null when a command of this kind runs now. */
  waitFor(isWrite: boolean): Promise<void> | null {
    const st = this.state;
    return st !== null && (st.all || isWrite) ? st.resumed : null;
  }

  pause(ms: number, all: boolean): void {
    const endMs = this.clock() + ms;
    if (this.state === null) {
      let resume!: () => void;
      const resumed = new Promise<void>((r) => (resume = r));
      this.state = { all, endMs, resumed, resume };
      this.changed();
    } else {
      this.state.all ||= all;
      this.state.endMs = Math.max(this.state.endMs, endMs);
    }
    this.arm();
  }

  unpause(): void {
    const st = this.state;
    if (st === null) return;
    this.state = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.changed();
    st.resume();
  }

  private arm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    const left = this.state!.endMs - this.clock();
    this.timer = setTimeout(
      () => {
        this.timer = null;
        if (this.state !== null && this.clock() >= this.state.endMs) this.unpause();
        else if (this.state !== null) this.arm();
      },
      Math.max(0, Math.min(TIMER_MS_MAX, left)),
    );
  }
}
