/**
 * Bounded output for clients that only receive (Upstash SSE subscribers, `/monitor` streams),
 * after Redis's `client-output-buffer-limit`: a client whose unread bytes pass the class's hard
 * limit, or stay past its soft limit for longer than soft-seconds, is disconnected and counted
 * in INFO stats `client_output_buffer_limit_disconnections`.
 *
 * What "unread" means here: a stream's bytes written and not yet taken by its reader (the
 * response pump toward the client, which stops when the client stops reading). The decision
 * reuses the replicas' watch (replication/output-limit.ts). Two ceilings hold whatever the
 * configuration says, because a node's isolate has 128 MB for everything and Redis's `0`
 * (unlimited) cannot be honoured there: one stream may hold at most
 * STREAM_PENDING_BYTES_MAX unread, all streams of a node STREAM_PENDING_BYTES_TOTAL_MAX.
 *
 * WebSocket subscribers are not bounded here: workerd gives a server-side WebSocket no
 * `bufferedAmount` (its outgoing queue is internal and unbounded). Those that come through our
 * gateway are bounded by what the gateway acknowledges (socket-output.ts); a direct WebSocket
 * client is not. See NOTES.
 */
import { OutputLimitWatch, type OutputLimit } from "../replication/output-limit.ts";

/** Unread bytes one streaming client may hold whatever the configured limits (isolate memory). */
export const STREAM_PENDING_BYTES_MAX = 8 * 1024 * 1024;
/** Unread bytes all streaming clients of one node may hold together. */
export const STREAM_PENDING_BYTES_TOTAL_MAX = 64 * 1024 * 1024;

/** The node's running total of unread bytes over all its streams. */
export class PendingPool {
  totalBytes = 0;
}

/** One streaming client's unread bytes and its limit state. */
export class StreamOutput {
  pendingBytes = 0;
  private readonly watch = new OutputLimitWatch();

  constructor(private readonly pool: PendingPool) {}

  /**
   * Account `bytes` about to be queued. Null: queued; otherwise why the client must be dropped
   * (and nothing was counted).
   */
  admit(bytes: number, limit: OutputLimit, nowMs: number): string | null {
    const used = this.pendingBytes + bytes;
    if (used > STREAM_PENDING_BYTES_MAX) return `ceiling: ${used} unread bytes > ${STREAM_PENDING_BYTES_MAX}`;
    if (this.pool.totalBytes + bytes > STREAM_PENDING_BYTES_TOTAL_MAX) {
      return `node ceiling: ${this.pool.totalBytes + bytes} unread bytes over all streams > ${STREAM_PENDING_BYTES_TOTAL_MAX}`;
    }
    const why = this.watch.check(used, limit, nowMs, "unread bytes");
    if (why !== null) return why;
    this.pendingBytes = used;
    this.pool.totalBytes += bytes;
    return null;
  }

  /** The reader took `bytes`. */
  drained(bytes: number): void {
    this.pendingBytes -= bytes;
    this.pool.totalBytes -= bytes;
  }

  /** The stream is gone: its unread bytes no longer count. */
  release(): void {
    this.pool.totalBytes -= this.pendingBytes;
    this.pendingBytes = 0;
  }
}
