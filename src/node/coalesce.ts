/**
 * Socket work runs in shared turns. Every event of a Durable Object that wrote ends in its own
 * SQLite commit, which costs per page it dirtied (and locally an fsync on the thread every
 * object shares): fifty clients' pipelines of random-key SETs committed one frame at a time
 * write the same index pages fifty times over, and so do fifty sockets that each wait for a
 * timer of their own after a slice (NOTES).
 *
 * A frame that finds the node idle runs at once, so a lone client waits for nothing, and starts
 * a turn. Running it arms one timer; frames that arrive before the timer fires wait for it, and
 * so does work that stopped at the end of a slice (`nextTurn`). The timer's event is the next
 * turn: the stopped work is resumed first, then the new frames are started, in order of
 * arrival, and anything that ran arms the next timer. Per socket order holds (one queue, and each socket's frames
 * chain). A turn stays bounded by the work itself: sockets.ts counts CLIENT_SLICE_BYTES across
 * frames and sockets, and `onTurn` gives each turn a fresh budget.
 */
import { log } from "../util/log.ts";

export class FrameCoalescer {
  private armed = false;
  private frames: (() => void)[] = [];
  private stopped: (() => void)[] = [];

  constructor(
    /** Called as each turn starts. */
    private readonly onTurn: () => void = () => {},
    private readonly later: (fire: () => void) => void = (fire) => void setTimeout(fire, 0),
  ) {}

  /** Run `frame` now if the node is idle, else in the next turn with the others. */
  offer(frame: () => void): void {
    if (this.armed) {
      this.frames.push(frame);
      return;
    }
    this.arm();
    this.onTurn();
    frame();
  }

  /** Go on in the next turn, before the frames that arrived meanwhile. */
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
    const frames = this.frames;
    if (stopped.length === 0 && frames.length === 0) return;
    this.stopped = [];
    this.frames = [];
    this.arm();
    this.onTurn();
    for (const go of stopped) go();
    for (const frame of frames) {
      try {
        frame();
      } catch (e) {
        // Every frame still runs (a frame's own errors are its socket's business: sockets.ts).
        log(`a socket frame failed to start: ${e instanceof Error ? e.stack : String(e)}`);
      }
    }
  }
}
