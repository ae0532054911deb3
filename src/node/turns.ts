/**
 * A node's work runs in shared turns. Every event of a Durable Object that wrote ends in its
 * own SQLite commit, which costs per page it dirtied (and locally an fsync on the thread every
 * object shares): fifty clients' pipelines of random-key SETs committed one frame at a time
 * write the same index pages fifty times over, and so do fifty sockets that each wait for a
 * timer of their own after a slice (NOTES).
 *
 * Work that finds the node idle starts at once, so a lone client waits for nothing, and starts
 * a turn. Running it arms one timer; work that arrives before the timer fires waits for it
 * (`offer`), and so does work that stopped at the end of a slice (`nextTurn`). The timer's event
 * is the next turn: the stopped work is resumed first, then the new work is started, in order
 * of arrival, and anything that ran arms the next timer. A turn is bounded by `budget` bytes of
 * commands, counted by the work itself (`spent`, `full`) across sockets: whatever finds it spent
 * goes on in the next turn. (REST requests keep their own slices and timers: NOTES.)
 */
import { log } from "../util/log.ts";

export class Turns {
  /** Bytes of commands run in this turn (and of replies sockets sent in it). */
  spent = 0;
  private armed = false;
  private arrived: (() => void)[] = [];
  private stopped: (() => void)[] = [];

  constructor(
    readonly budget: number,
    private readonly later: (fire: () => void) => void = (fire) => void setTimeout(fire, 0),
  ) {}

  /** Whether this turn's budget is used up. */
  get full(): boolean {
    return this.spent >= this.budget;
  }

  /** Start `work` now if the node is idle, else in the next turn with the others. */
  offer(work: () => void): void {
    if (this.armed) {
      this.arrived.push(work);
      return;
    }
    this.arm();
    this.spent = 0;
    work();
  }

  /** Go on in the next turn, before the work that arrived meanwhile. */
  nextTurn(): Promise<void> {
    return new Promise((go) => {
      this.stopped.push(go);
      if (!this.armed) this.arm();
    });
  }

  private arm(): void {
    this.armed = true;
    this.later(() => this.fire());
  }

  private fire(): void {
    this.armed = false;
    const stopped = this.stopped;
    const arrived = this.arrived;
    if (stopped.length === 0 && arrived.length === 0) return;
    this.stopped = [];
    this.arrived = [];
    this.arm();
    this.spent = 0;
    for (const go of stopped) go();
    for (const work of arrived) {
      try {
        work();
      } catch (e) {
        // All the work still starts (a frame's own errors are its socket's business: sockets.ts).
        log(`work failed to start in its turn: ${e instanceof Error ? e.stack : String(e)}`);
      }
    }
  }
}
