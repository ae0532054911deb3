/**
 * Upstash's pub/sub over server-sent events: `POST /subscribe/{channel}` and
 * `/psubscribe/{pattern}` answer `text/event-stream`, one `data: ` line per event, fields
 * joined by commas as `@upstash/redis`'s `subscribe()` parses them:
 *   data: subscribe,{channel},{count}      data: message,{channel},{message}
 *   data: psubscribe,{pattern},{count}     data: pmessage,{pattern},{channel},{message}
 *
 * `/monitor` streams the node's MONITOR lines the same way (monitor-sse.ts).
 *
 * Unlike a server-side WebSocket, a stream tells us how much the client has not read yet:
 * a write's promise settles when the reader takes the chunk (a TransformStream applies
 * backpressure to its writer). A client too far behind is disconnected (output-bound.ts), as
 * Redis's `client-output-buffer-limit` disconnects a slow subscriber.
 */
import { Push, type Reply, ReplySequence } from "../protocol/reply.ts";
import type { OutputLimit } from "../replication/output-limit.ts";
import type { StreamOutput } from "./output-bound.ts";

/** How a stream is bounded: its accounting, the limit in force, the clock, and who counts drops. */
export interface StreamBound {
  output: StreamOutput;
  limit(): OutputLimit;
  nowMs(): number;
  /** The client was disconnected for its output (INFO stats, log). */
  dropped(why: string): void;
}

const text = new TextDecoder();
const utf8 = new TextEncoder();

/** One pub/sub push as SSE events (a sequence gives one event per confirmation). */
export function sseEvents(r: Reply): string {
  if (r instanceof ReplySequence) return r.replies.map(sseEvents).join("");
  if (!(r instanceof Push)) return "";
  const fields = r.items.map((x) => (x instanceof Uint8Array ? text.decode(x) : x === null ? "" : String(x)));
  // A message holding a newline continues as further `data:` lines (the SSE rule).
  return "data: " + fields.join(",").replace(/\r\n|\r|\n/g, "\ndata: ") + "\n\n";
}

/** One SSE client: the response to return, and its bounded write side. */
export class SseStream {
  readonly response: Response;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private controller: TransformStreamDefaultController<Uint8Array> | null = null;
  private gone = false;

  constructor(
    private readonly onGone: () => void,
    private readonly bound: StreamBound,
  ) {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>({
      start: (c) => {
        this.controller = c;
      },
    });
    this.writer = writable.getWriter();
    this.writer.closed.then(() => this.end(), () => this.end());
    this.response = new Response(readable, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" },
    });
  }

  /** Queue events; a client too far behind is disconnected (false). */
  send(events: string): boolean {
    if (this.gone || events === "") return !this.gone;
    const bytes = utf8.encode(events);
    const why = this.bound.output.admit(bytes.length, this.bound.limit(), this.bound.nowMs());
    if (why !== null) {
      this.bound.dropped(why);
      this.close();
      return false;
    }
    this.writer.write(bytes).then(
      () => {
        if (!this.gone) this.bound.output.drained(bytes.length);
      },
      () => this.end(),
    );
    return true;
  }

  /** Bytes queued and not yet taken by the reader. */
  get pendingBytes(): number {
    return this.bound.output.pendingBytes;
  }

  close(): void {
    if (this.gone) return;
    // Terminate (not close): close would wait for the queued bytes the client is not reading.
    // The writes still queued are dropped (their promises reject) and the client's stream ends
    // cleanly; aborting instead would error the response, which the runtime logs as uncaught.
    this.writer.ready.catch(() => {});
    this.controller?.terminate();
    this.end();
  }

  private end(): void {
    if (this.gone) return;
    this.gone = true;
    this.bound.output.release();
    this.onGone();
  }
}
