/**
 * Socket frames that arrive close together run in one event. Every event of a Durable Object
 * that wrote ends in its own SQLite commit, which costs per page it dirtied (and locally an
 * fsync on the thread every object shares): fifty clients' pipelines of random-key SETs
 * committed one frame at a time write the same index pages fifty times over (gateway `-P 100`
 * SET: ~60k/s one by one, ~90–100k/s coalesced; NOTES).
 *
 * A frame that finds the node idle runs at once, so a lone client waits for nothing. Running it
 * arms one timer; frames that arrive before the timer fires wait for it and then all run in its
 * event, in arrival order, and running them arms the next timer. Per socket order holds (one
 * queue, and each socket's frames chain). The event stays bounded by the runs themselves, which
 * yield every CLIENT_SLICE_BYTES counted across frames and sockets (sockets.ts).
 */
export class FrameCoalescer {
  private armed = false;
  private queue: (() => void)[] = [];

  constructor(private readonly later: (fire: () => void) => void = (fire) => void setTimeout(fire, 0)) {}

  /** Run `frame` now if the node is idle, else in the next timer's event with the others. */
  offer(frame: () => void): void {
    if (this.armed) {
      this.queue.push(frame);
      return;
    }
    this.arm();
    frame();
  }

  private arm(): void {
    this.armed = true;
    this.later(() => this.fire());
  }

  private fire(): void {
    this.armed = false;
    const frames = this.queue;
    if (frames.length === 0) return;
    this.queue = [];
    this.arm();
    for (const frame of frames) frame();
  }
}
