/**
 * Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, BLMPOP…): who waits for which key, in
 * which order they are served, and when they time out. Plain data, no engine and no timers:
 * the engine (keyspace/engine.ts) registers a client when its command finds no data,
 * signals keys that a write touched, and after each execution unit serves the ready keys.
 *
 * The ordering is Redis 7.0's (blocked.c):
 * - per key, clients are served first blocked, first served (FIFO);
 * - keys are served in the order they became ready, each key signalled at most once until
 *   it is served (db->ready_keys); keys signalled while serving (the push side of BLMOVE)
 *   form the next round (handleClientsBlockedOnKeys swaps server.ready_keys);
 * - a client blocked on several keys is queued on each (a key named twice counts once),
 *   and leaves every queue when it is served, times out, is unblocked or disconnects.
 * Deadlines sit in a min-heap (stale entries dropped lazily), so blocking, unblocking and
 * finding the next timeout cost O(log n) in the number of blocked clients, not O(n).
 */
import { bkey } from "../util/bytes.ts";

/** What a blocked client waits for: elements of a list, or members of a sorted set. */
export type BlockKind = "list" | "zset";

export interface BlockedClient<T> {
  /** The client (session) id: CLIENT UNBLOCK and CLIENT LIST name it. */
  readonly id: number;
  readonly db: number;
  /** Distinct keys, in the command's order. */
  readonly keys: readonly Uint8Array[];
  readonly kind: BlockKind;
  /** When it times out (ms since the epoch), or null: forever. */
  readonly deadlineMs: number | null;
  /** Whatever the engine needs to serve it (its session, command, reply callback). */
  readonly data: T;
}

/** A key with clients blocked on it that a write touched. */
export interface ReadyKey {
  db: number;
  key: Uint8Array;
}

const keyId = (db: number, key: Uint8Array): string => `${db}:${bkey(key)}`;

export class BlockingRegistry<T> {
  /** db:key → clients blocked on it, in blocking order. */
  private readonly byKey = new Map<string, BlockedClient<T>[]>();
  private readonly byId = new Map<number, BlockedClient<T>>();
  /** Keys signalled since the last round, in signal order; the set dedups them. */
  private ready: ReadyKey[] = [];
  private readonly readySet = new Set<string>();
  /** Deadlines, earliest first; an entry whose client left (or re-blocked) is stale. */
  private readonly deadlines = new MinHeap<{ at: number; entry: BlockedClient<T> }>();
  private timed = 0;

  /** Clients blocked (INFO blocked_clients). */
  get size(): number {
    return this.byId.size;
  }

  /** Keys with at least one client blocked on them. */
  get keyCount(): number {
    return this.byKey.size;
  }

  /** Clients with a timeout (INFO clients_in_timeout_table). */
  get withDeadline(): number {
    return this.timed;
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  get(id: number): BlockedClient<T> | undefined {
    return this.byId.get(id);
  }

  /** Block a client on its keys (duplicates collapsed). A client blocks at most once at a time. */
  block(c: { id: number; db: number; keys: readonly Uint8Array[]; kind: BlockKind; deadlineMs: number | null; data: T }): BlockedClient<T> {
    if (this.byId.has(c.id)) throw new Error(`client ${c.id} is already blocked`);
    const seen = new Set<string>();
    const keys: Uint8Array[] = [];
    for (const k of c.keys) {
      const id = keyId(c.db, k);
      if (seen.has(id)) continue;
      seen.add(id);
      keys.push(k.slice());
    }
    const entry: BlockedClient<T> = { ...c, keys };
    for (const k of keys) {
      const id = keyId(c.db, k);
      let q = this.byKey.get(id);
      if (!q) this.byKey.set(id, (q = []));
      q.push(entry);
    }
    this.byId.set(c.id, entry);
    if (entry.deadlineMs !== null) {
      this.timed++;
      this.deadlines.push({ at: entry.deadlineMs, entry });
    }
    return entry;
  }

  /** Remove a client from every queue (served, timed out, unblocked, gone). */
  unblock(id: number): BlockedClient<T> | undefined {
    const entry = this.byId.get(id);
    if (!entry) return undefined;
    this.byId.delete(id);
    if (entry.deadlineMs !== null) this.timed--;
    for (const k of entry.keys) {
      const kid = keyId(entry.db, k);
      const q = this.byKey.get(kid);
      if (!q) continue;
      const i = q.indexOf(entry);
      if (i >= 0) q.splice(i, 1);
      if (q.length === 0) this.byKey.delete(kid);
    }
    return entry;
  }

  /** A write touched a key: if someone waits for it, it is ready (once per round). */
  signal(db: number, key: Uint8Array): void {
    const id = keyId(db, key);
    if (!this.byKey.has(id) || this.readySet.has(id)) return;
    this.readySet.add(id);
    this.ready.push({ db, key: key.slice() });
  }

  /** Every blocked key of a database (SWAPDB brings a whole database in). */
  signalDb(db: number): void {
    for (const q of this.byKey.values()) {
      const c = q[0]!;
      if (c.db !== db) continue;
      for (const k of c.keys) this.signal(db, k);
    }
  }

  /** Whether a round has keys to serve. */
  get hasReady(): boolean {
    return this.ready.length > 0;
  }

  /**
   * The keys signalled so far, in order; signals made while they are served start the next
   * round. Each key may be signalled again once taken.
   */
  takeReady(): ReadyKey[] {
    const round = this.ready;
    this.ready = [];
    this.readySet.clear();
    return round;
  }

  /** The clients blocked on a key, first blocked first (a copy: serving changes the queue). */
  waiters(db: number, key: Uint8Array): BlockedClient<T>[] {
    return [...(this.byKey.get(keyId(db, key)) ?? [])];
  }

  /** The earliest deadline, or null when no client has a timeout. */
  nextDeadline(): number | null {
    this.dropStale();
    return this.deadlines.peek()?.at ?? null;
  }

  /** Unblock and return the clients whose deadline has passed at `nowMs`, earliest first. */
  takeExpired(nowMs: number): BlockedClient<T>[] {
    const out: BlockedClient<T>[] = [];
    for (;;) {
      this.dropStale();
      const top = this.deadlines.peek();
      if (!top || top.at > nowMs) break;
      this.deadlines.pop();
      this.unblock(top.entry.id);
      out.push(top.entry);
    }
    return out;
  }

  /** Pop heap entries of clients no longer blocked (each entry is popped once: amortized O(log n)). */
  private dropStale(): void {
    for (let top = this.deadlines.peek(); top && this.byId.get(top.entry.id) !== top.entry; top = this.deadlines.peek()) this.deadlines.pop();
  }

  /** Every blocked client, in blocking order. */
  all(): BlockedClient<T>[] {
    return [...this.byId.values()];
  }
}

/** A binary min-heap on `at`. */
class MinHeap<E extends { at: number }> {
  private readonly a: E[] = [];

  push(e: E): void {
    const a = this.a;
    a.push(e);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (a[p]!.at <= a[i]!.at) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  peek(): E | undefined {
    return this.a[0];
  }

  pop(): E | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    a[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && a[l]!.at < a[m]!.at) m = l;
      if (r < a.length && a[r]!.at < a[m]!.at) m = r;
      if (m === i) break;
      [a[m], a[i]] = [a[i]!, a[m]!];
      i = m;
    }
    return top;
  }
}
