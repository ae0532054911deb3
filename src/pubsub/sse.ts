/**
 * Upstash's pub/sub over server-sent events: `POST /subscribe/{channel}` and
 * `/psubscribe/{pattern}` answer `text/event-stream`, one `data: ` line per event, fields
 * joined by commas as `@upstash/redis`'s `subscribe()` parses them:
 *   data: subscribe,{channel},{count}      data: message,{channel},{message}
 *   data: psubscribe,{pattern},{count}     data: pmessage,{pattern},{channel},{message}
 *
 * Unlike a server-side WebSocket, a stream tells us how much the client has not read yet:
 * past `SSE_PENDING_BYTES_MAX` the subscriber is disconnected, as Redis's
 * `client-output-buffer-limit pubsub` hard limit disconnects a slow subscriber.
 */
import { Push, type Reply, ReplySequence } from "../protocol/reply.ts";

/** Bytes written to one SSE subscriber and not yet read by it before it is disconnected. */
export const SSE_PENDING_BYTES_MAX = 1 << 20;

const text = new TextDecoder();
const utf8 = new TextEncoder();

/** The `/subscribe/...` or `/psubscribe/...` request path (after `/rest`), or null. */
export function parseSsePath(path: string): { command: "subscribe" | "psubscribe"; names: string[] } | null {
  const segs = path.split("/").slice(1);
  const command = segs[0]?.toLowerCase();
  if ((command !== "subscribe" && command !== "psubscribe") || segs.length < 2) return null;
  const names = segs.slice(1).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return { command, names };
}

/** One pub/sub push as SSE events (a sequence gives one event per confirmation). */
export function sseEvents(r: Reply): string {
  if (r instanceof ReplySequence) return r.replies.map(sseEvents).join("");
  if (!(r instanceof Push)) return "";
  const fields = r.items.map((x) => (x instanceof Uint8Array ? text.decode(x) : x === null ? "" : String(x)));
  // A message holding a newline continues as further `data:` lines (the SSE rule).
  return "data: " + fields.join(",").replace(/\r\n|\r|\n/g, "\ndata: ") + "\n\n";
}

/** One SSE subscriber: the response to return, and its bounded write side. */
export class SseStream {
  readonly response: Response;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private pendingBytes = 0;
  private gone = false;

  constructor(private readonly onGone: () => void) {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    this.writer = writable.getWriter();
    this.writer.closed.then(() => this.end(), () => this.end());
    this.response = new Response(readable, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" },
    });
  }

  /** Queue events; a subscriber too far behind is disconnected (false). */
  send(events: string): boolean {
    if (this.gone || events === "") return !this.gone;
    const bytes = utf8.encode(events);
    if (this.pendingBytes + bytes.length > SSE_PENDING_BYTES_MAX) {
      this.close();
      return false;
    }
    this.pendingBytes += bytes.length;
    this.writer.write(bytes).then(
      () => (this.pendingBytes -= bytes.length),
      () => this.end(),
    );
    return true;
  }

  close(): void {
    if (this.gone) return;
    this.writer.abort("subscriber disconnected").catch(() => {});
    this.end();
  }

  private end(): void {
    if (this.gone) return;
    this.gone = true;
    this.onGone();
  }
}
