/**
 * One connection to an outside Redis master: the TCP socket, the handshake and payload
 * framing (outside-master.ts), and the full-resync load into a SnapshotLoader, chunk by chunk
 * as the payload arrives (never the whole RDB in memory). What the link produces goes to the
 * replica side (replica.ts) through `OutsideLinkHost`: the stream is applied there exactly as
 * a stream from one of our own masters.
 */
import type { Keyspace } from "../keyspace/store.ts";
import { type LoadResult, SnapshotLoader } from "./loader.ts";
import { OutsideMasterLink, type OutsideLinkOptions } from "./outside-master.ts";
import type { TcpLink } from "./tcp.ts";

export interface OutsideLinkHost {
  ks: Keyspace;
  /** Bytes arrived (repl-timeout). */
  io(): void;
  /** +FULLRESYNC: our data is about to be replaced. */
  fullResync(replid: string, offset: number): void;
  /** The payload is loaded (staged): swap it in and adopt the master's history. */
  loaded(loader: SnapshotLoader, res: LoadResult, replid: string, offset: number): void;
  continued(replid: string | null): void;
  stream(bytes: Uint8Array): void;
  /** The link is gone (retry later). */
  down(why: string): void;
  /** The payload holds what we cannot load (a module type, a stream…): stop, do not retry. */
  unsupported(what: string): void;
}

export class OutsideConnection {
  private closed = false;
  private readonly link: OutsideMasterLink;
  private loader: SnapshotLoader | null = null;
  private sync: { replid: string; offset: number } | null = null;
  /** Why the payload was refused, once it was. */
  private refused: string | null = null;

  constructor(
    private readonly tcp: TcpLink,
    opts: OutsideLinkOptions,
    private readonly host: OutsideLinkHost,
  ) {
    this.link = new OutsideMasterLink(opts, { write: (b) => this.tcp.write(b) }, {
      fullResync: (replid, offset) => {
        this.discardLoad();
        this.sync = { replid, offset };
        this.loader = new SnapshotLoader(this.host.ks);
        this.host.fullResync(replid, offset);
      },
      rdbChunk: (bytes) => {
        if (this.refused !== null || this.loader === null) return;
        try {
          this.loader.push(bytes);
        } catch (e) {
          this.refuse(e);
        }
      },
      rdbDone: () => {
        const loader = this.loader;
        const sync = this.sync;
        if (this.refused !== null || loader === null || sync === null) return;
        let res: LoadResult;
        try {
          res = loader.finishAny();
        } catch (e) {
          this.refuse(e);
          return;
        }
        this.loader = null;
        this.host.loaded(loader, res, sync.replid, sync.offset);
      },
      continued: (replid) => this.host.continued(replid),
      stream: (bytes) => this.host.stream(bytes),
    });
  }

  /** Connect, send the first command and read until the link ends. */
  async run(): Promise<void> {
    try {
      await this.tcp.opened;
    } catch (e) {
      this.end(`connect failed: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (this.closed) return;
    this.link.start();
    const reader = this.tcp.readable.getReader();
    try {
      while (!this.closed) {
        const { value, done } = await reader.read();
        if (done) return this.end("connection closed by the master");
        if (this.closed) return;
        this.host.io();
        this.link.receive(value);
        if (this.refused !== null) return this.stop(this.refused);
        if (this.link.state === "failed") return this.end(this.link.failure);
      }
    } catch (e) {
      this.end(`connection error: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** REPLCONF ACK <offset> (the cron every second, and GETACK). */
  ack(offset: number): void {
    if (!this.closed) this.link.ack(offset);
  }

  /** Bytes of the payload received so far, and its size when announced (`$len`), for INFO. */
  get payloadRead(): number {
    return this.link.bulkRead;
  }

  get payloadSize(): number | null {
    return this.link.bulkSize;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.discardLoad();
    this.tcp.close();
  }

  private refuse(e: unknown): void {
    this.refused = `RDB: ${e instanceof Error ? e.message : String(e)}`;
    this.discardLoad();
  }

  private discardLoad(): void {
    this.loader?.discard();
    this.loader = null;
  }

  private end(why: string): void {
    if (this.closed) return;
    this.close();
    this.host.down(why);
  }

  private stop(what: string): void {
    if (this.closed) return;
    this.close();
    this.host.unsupported(what);
  }
}
