/**
 * Server-sent events read one at a time from a response body (Upstash's SSE endpoints:
 * /subscribe, /psubscribe, /monitor). Plain TypeScript: the Workers tests (SELF.fetch) and the
 * Node tests (fetch against wrangler) share it.
 */
export interface SseEvents {
  /** The next event's text (its lines, without the blank line that ends it). */
  next(): Promise<string>;
  /** The reader, to cancel the stream or read what is left. */
  reader: ReadableStreamDefaultReader<Uint8Array>;
}

export function sseEvents(body: ReadableStream<Uint8Array>): SseEvents {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  return {
    reader,
    async next(): Promise<string> {
      while (!buf.includes("\n\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        buf += dec.decode(value, { stream: true });
      }
      const i = buf.indexOf("\n\n");
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      return ev;
    },
  };
}
