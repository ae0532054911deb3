/**
 * A node's streaming HTTP clients, the Upstash way: SSE subscribers (`/subscribe/{channel}`,
 * `/psubscribe/{pattern}`) and MONITOR streams (`/monitor`). Each runs its one command
 * (SUBSCRIBE, PSUBSCRIBE, MONITOR) as any client would (same permissions, same errors), then
 * events flow until the client goes away or falls too far behind (output-bound.ts).
 *
 * The node routes a request here (`open`), lets the pub/sub hub deliver to SSE sessions
 * (`deliver`), and feeds MONITOR lines (`monitorLine`).
 */
import type { Session } from "../keyspace/command.ts";
import { errorResponse } from "../http/rest.ts";
import { RedisError, type Reply } from "../protocol/reply.ts";
import type { ClientClass, OutputLimit } from "../replication/output-limit.ts";
import { utf8 } from "../util/bytes.ts";
import { PendingPool, StreamOutput } from "./output-bound.ts";
import { sseEvents, SseStream } from "./sse.ts";

/** The streaming endpoints after `/rest`. */
export type StreamRequest = { command: "subscribe" | "psubscribe"; names: string[] } | { command: "monitor" };

/** `/subscribe/{channel}…`, `/psubscribe/{pattern}…` or `/monitor` (after `/rest`), or null. */
export function parseStreamPath(path: string): StreamRequest | null {
  const segs = path.split("/").slice(1);
  const command = segs[0]?.toLowerCase();
  if (command === "monitor") return segs.length === 1 ? { command } : null;
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

export interface StreamHost {
  newSession(readOnlyToken: boolean, addr: string): Session;
  execute(s: Session, argv: Uint8Array[]): Reply | Promise<Reply>;
  /** The session ended (unsubscribe everything, forget it). */
  closeSession(s: Session): void;
  /** client-output-buffer-limit of a class, as configured now. */
  outputLimit(cls: ClientClass): OutputLimit;
  /** A client was disconnected for its output (INFO stats client_output_buffer_limit_disconnections). */
  outputLimitDisconnect(why: string): void;
}

export class StreamClients {
  private readonly subscribers = new Map<Session, SseStream>();
  private readonly monitors = new Set<SseStream>();
  private readonly pool = new PendingPool();

  constructor(private readonly host: StreamHost) {}

  /** Whether the session is an SSE subscriber's (it can listen). */
  has(s: Session): boolean {
    return this.subscribers.has(s);
  }

  /** A pub/sub push to an SSE subscriber. */
  deliver(s: Session, r: Reply): void {
    this.subscribers.get(s)?.send(sseEvents(r));
  }

  /** Whether any `/monitor` stream listens (the caller skips formatting otherwise). */
  get monitoring(): boolean {
    return this.monitors.size > 0;
  }

  /** One MONITOR line (`+<time> [<db> <addr>] "cmd" …\r\n`) to every `/monitor` stream, as Upstash writes it. */
  monitorLine(line: string): void {
    const event = `data: ${line.replace(/^\+/, "").replace(/\r\n$/, "")}\n\n`;
    for (const m of [...this.monitors]) m.send(event);
  }

  /** CLIENT KILL TYPE pubsub: end every SSE subscriber; how many. */
  closeSubscribers(): number {
    const all = [...this.subscribers.values()];
    for (const stream of all) stream.close();
    return all.length;
  }

  /** Bytes not yet read, over all streams (tests, INFO). */
  get pendingBytes(): number {
    return this.pool.totalBytes;
  }

  /** Open a stream: its command runs first; a refusal answers 400 with Redis's error. */
  open(req: StreamRequest, readOnlyToken: boolean, addr: string): Response {
    const session = this.host.newSession(readOnlyToken, addr);
    // Redis puts a MONITOR client in the normal class and a subscriber in the pubsub class.
    const cls: ClientClass = req.command === "monitor" ? "normal" : "pubsub";
    const stream = new SseStream(
      () => {
        this.subscribers.delete(session);
        this.monitors.delete(stream);
        this.host.closeSession(session);
      },
      {
        output: new StreamOutput(this.pool),
        limit: () => this.host.outputLimit(cls),
        nowMs: () => Date.now(),
        dropped: (why) => this.host.outputLimitDisconnect(`${req.command} stream of ${addr}: ${why}`),
      },
    );
    if (req.command !== "monitor") this.subscribers.set(session, stream);
    const argv = req.command === "monitor" ? [utf8("monitor")] : [req.command, ...req.names].map(utf8);
    const r = this.host.execute(session, argv);
    if (r instanceof Promise || r instanceof RedisError) {
      stream.close();
      return errorResponse(400, r instanceof RedisError ? r.msg : "ERR internal error");
    }
    if (req.command === "monitor") {
      this.monitors.add(stream);
      stream.send('data: "OK"\n\n');
    } else {
      stream.send(sseEvents(r));
    }
    return stream.response;
  }
}
