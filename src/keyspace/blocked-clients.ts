/**
 * The engine's clients blocked on keys: their replies (promises), their timeouts (one timer
 * for the earliest deadline), and serving them after each execution unit in Redis 7.0's
 * order (handleClientsBlockedOnKeys). The order itself — FIFO per key, ready keys in signal
 * order — is keyspace/blocking.ts; running a served client's command is the engine's (host).
 */
import { NIL_ARRAY, RedisError, type Reply } from "../protocol/reply.ts";
import type { Session } from "./command.ts";
import { type BlockKind, BlockingRegistry } from "./blocking.ts";
import { bkey } from "../util/bytes.ts";

/** What a served client's command needs from the engine. */
export interface BlockedHost {
  clock(): number;
  /** What the key holds now that a blocked client could take: list or zset elements, else null. */
  kindAt(db: number, key: Uint8Array): BlockKind | null;
  /** Run a blocked client's command again as its own execution unit, popping from `key` only. */
  serve(session: Session, name: string, argv: Uint8Array[], key: Uint8Array): Reply;
}

interface Waiter {
  session: Session;
  name: string;
  argv: Uint8Array[];
  /** Delivers the client's reply: served, timed out, unblocked, or null when it went away. */
  resolve(r: Reply): void;
}

/** setTimeout's largest delay (2^31-1 ms); a longer timeout re-arms. */
const TIMER_DELAY_MS_MAX = 2 ** 31 - 1;

export class BlockedClients {
  private readonly registry = new BlockingRegistry<Waiter>();
  private serving = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerAt: number | null = null;

  constructor(private readonly host: BlockedHost) {}

  /** Clients blocked (INFO blocked_clients). */
  get size(): number {
    return this.registry.size;
  }

  /** Clients blocked with a timeout (INFO clients_in_timeout_table). */
  get withDeadline(): number {
    return this.registry.withDeadline;
  }

  has(id: number): boolean {
    return this.registry.has(id);
  }

  /** A write touched a key (cheap when nobody is blocked). */
  signal(db: number, key: Uint8Array): void {
    if (this.registry.size === 0) return;
    if (this.quieted.size && this.quieted.has(`${db}:${bkey(key)}`)) return;
    this.registry.signal(db, key);
  }

  /** Keys the running command overwrote in place without readying them (BlockingCtx.overwritten). */
  private readonly quieted = new Set<string>();

  quiet(db: number, key: Uint8Array): void {
    if (this.registry.size) this.quieted.add(`${db}:${bkey(key)}`);
  }

  /** The command finished: its quieted keys may be readied again by the next one. */
  endCommand(): void {
    if (this.quieted.size) this.quieted.clear();
  }

  /** SWAPDB: every blocked key of both databases may be ready. */
  signalSwap(a: number, b: number): void {
    if (this.registry.size === 0) return;
    this.registry.signalDb(a);
    this.registry.signalDb(b);
  }

  /**
   * Block a client whose command found no data; resolves with its reply. A session with a
   * cap (a REST request, http/rest.ts) waits at most until it, then answers as a timeout.
   */
  block(s: Session, name: string, argv: Uint8Array[], keys: Uint8Array[], kind: BlockKind, deadlineMs: number | null): Promise<Reply> {
    const cap = s.blockCapAtMs;
    const deadline = cap === null ? deadlineMs : deadlineMs === null ? cap : Math.min(deadlineMs, cap);
    return new Promise<Reply>((resolve) => {
      this.registry.block({ id: s.id, db: s.db, keys, kind, deadlineMs: deadline, data: { session: s, name, argv, resolve } });
      this.arm();
    });
  }

  /**
   * Serve the clients blocked on keys that became ready: keys in the order they became ready,
   * clients first-blocked first, while the key has elements of their kind; each served
   * client's pop is its own execution unit (its non-blocking form in the stream, after the
   * write that served it). Keys made ready meanwhile (BLMOVE's push) form a next round.
   */
  serveReady(): void {
    if (this.serving || !this.registry.hasReady) return;
    this.serving = true;
    try {
      while (this.registry.hasReady) {
        for (const { db, key } of this.registry.takeReady()) {
          for (const w of this.registry.waiters(db, key)) {
            const kind = this.host.kindAt(db, key);
            if (kind === null) break; // emptied (or replaced by another type): the rest keep waiting
            if (w.kind !== kind) continue;
            this.registry.unblock(w.id);
            const { session, name, argv, resolve } = w.data;
            resolve(this.host.serve(session, name, argv, key));
          }
        }
      }
    } finally {
      this.serving = false;
      this.arm();
    }
  }

  /** CLIENT UNBLOCK: a timeout's reply, or the UNBLOCKED error. Whether the client was blocked. */
  unblock(id: number, how: "timeout" | "error"): boolean {
    const w = this.registry.unblock(id);
    if (!w) return false;
    w.data.resolve(how === "error" ? new RedisError("UNBLOCKED client unblocked via CLIENT UNBLOCK") : NIL_ARRAY);
    this.arm();
    return true;
  }

  /** Release every blocked client with an error (the node became a replica: Redis disconnectAllBlockedClients). */
  unblockAll(msg: string): void {
    if (this.registry.size === 0) return;
    for (const w of this.registry.all()) {
      this.registry.unblock(w.id);
      w.data.resolve(new RedisError(msg));
    }
    this.arm();
  }

  /** The connection went away: its block is released with no reply to deliver. */
  drop(s: Session): void {
    const w = this.registry.unblock(s.id);
    if (!w) return;
    w.data.resolve(null);
    this.arm();
  }

  /** One timer for the earliest deadline; expired clients get the timeout reply (null array). */
  private arm(): void {
    const next = this.registry.nextDeadline();
    if (next === this.timerAt) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = next;
    if (next === null) return;
    const delay = Math.min(TIMER_DELAY_MS_MAX, Math.max(0, next - this.host.clock()));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = null;
      for (const w of this.registry.takeExpired(this.host.clock())) w.data.resolve(NIL_ARRAY);
      this.arm();
    }, delay);
  }
}
