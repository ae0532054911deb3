/**
 * Bounded output for WebSocket clients that come through our TCP gateway (tools/gateway.ts),
 * after Redis's `client-output-buffer-limit`: a subscriber (pubsub class; others in the normal
 * class when that class has a limit) whose unconsumed bytes pass the hard limit, or stay past the
 * soft limit for longer than soft-seconds, is disconnected.
 *
 * Why the gateway: workerd gives a server-side WebSocket no `bufferedAmount`, so the node cannot
 * see what waits for a slow reader. The gateway can: it writes the node's bytes to its TCP client
 * and learns when they were flushed. It announces that it reports them (`x-edge-replica-acks: 1`
 * on the upgrade; the node echoes the header on its 101 so the gateway knows it is understood),
 * then sends `ACK <total bytes flushed to the client>` as TEXT frames (its RESP always travels in
 * binary frames) every ACK_INTERVAL_BYTES and when its client has caught up. Unconsumed = bytes the
 * node sent − bytes acknowledged: the node's own queue, the network, and the gateway's buffers.
 *
 * Hibernation: the counts are runtime state. A socket woken from hibernation starts again from 0
 * (bytes sent before are forgotten) and is "unsynced": the gateway's totals include bytes of the
 * earlier life, so its first ACK is taken as "everything sent so far was consumed" — the count
 * may then underestimate (never overestimate) what waits, until the next limit check after that.
 * Until that first ACK, everything sent since waking counts as unconsumed, which is true of it.
 *
 * Granularity: a client that reads can hold up to ACK_INTERVAL_BYTES (plus what is in flight)
 * unacknowledged while messages stream, ACK_IDLE_BYTES_MIN once idle; limits below 64 KiB can
 * therefore disconnect a client that reads. Redis's defaults (pubsub 32mb 8mb 60) are far above.
 *
 * Plain logic; the node owns one per flagged socket and decides when to check.
 */
import { OutputLimitWatch, type OutputLimit } from "../replication/output-limit.ts";

/** Request header of a WebSocket upgrade (gateway → node) and of its 101 answer (node → gateway). */
export const ACK_HEADER = "x-edge-replica-acks";
/** The gateway acknowledges at least every this many bytes flushed to its client. */
export const ACK_INTERVAL_BYTES = 64 * 1024;
/**
 * …and, once its client has caught up, when at least this many bytes are unacknowledged: a
 * reading client keeps fewer unacknowledged than that while idle. Not every reply: small replies
 * (GET/SET through `redis-benchmark -P 100`) would then cost the node one ACK message per batch.
 */
export const ACK_IDLE_BYTES_MIN = 16 * 1024;
/** Longest text frame read as an ACK (`ACK ` + up to 16 digits); longer ones are ignored. */
export const ACK_FRAME_CHARS_MAX = 20;

/** The control frame the gateway sends. */
export function formatAck(totalBytes: number): string {
  return `ACK ${totalBytes}`;
}

/** The total of an `ACK <n>` frame, or null for anything else. */
export function parseAck(text: string): number | null {
  if (text.length > ACK_FRAME_CHARS_MAX) return null;
  const m = /^ACK (\d{1,16})$/.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : null;
}

/** One gateway socket's sent and acknowledged bytes, and its limit state. */
export class SocketOutput {
  /** Bytes sent, in the gateway's numbering once synced (since waking before that). */
  sentBytes = 0;
  ackedBytes = 0;
  /** Set when the socket was disconnected for its output: nothing more is sent to it. */
  dropped = false;
  private readonly watch = new OutputLimitWatch();

  /** `synced`: a socket opened in this life (both sides count from 0); false after hibernation. */
  constructor(private synced: boolean) {}

  sent(bytes: number): void {
    this.sentBytes += bytes;
  }

  /** An ACK frame's total. Totals never go back; a smaller one than seen (reordered) is ignored. */
  acked(total: number): void {
    if (!this.synced) {
      // The gateway counts from the socket's opening, we from waking: align on its total.
      this.synced = true;
      this.sentBytes = total;
      this.ackedBytes = total;
      return;
    }
    if (total <= this.ackedBytes) return;
    this.ackedBytes = total;
    // More acknowledged than sent cannot happen in one life; never let it count as credit.
    if (this.sentBytes < total) this.sentBytes = total;
  }

  /** Bytes sent and not acknowledged. */
  get unackedBytes(): number {
    return this.sentBytes - this.ackedBytes;
  }

  /** Why the client must be disconnected under `limit`, or null (Redis's soft-limit clock kept). */
  check(limit: OutputLimit, nowMs: number): string | null {
    return this.watch.check(this.unackedBytes, limit, nowMs, "unacknowledged bytes");
  }
}
