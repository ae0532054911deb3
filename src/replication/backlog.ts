/**
 * The replication backlog: a bounded, persisted byte log of the stream. One SQLite row per
 * fed chunk, so appending costs O(size of the write) and trimming drops whole rows from the
 * head. Positions are 0-based stream byte positions: the row starting at `start` holds bytes
 * [start, start + len). `offset` (Redis's master_repl_offset) is the number of bytes ever fed;
 * it is derived from the last row on load, so it costs no extra write per command.
 *
 * Appends within one event are gathered in memory and written as one row by a microtask
 * before the event ends, so they commit in the same SQLite transaction as the writes they
 * describe (a pipeline of 1,000 SETs costs one backlog row, not 1,000). The same flush hands
 * the gathered bytes to `onFlush`, which sends them to the attached replicas: everything one
 * event propagates travels to each replica as one frame.
 *
 * PSYNC arithmetic (Redis replication.c): a replica that processed `reploff` bytes asks for
 * `psync_offset = reploff + 1`; we can serve it iff `firstByte <= psync_offset - 1 <= offset`.
 */
import { blob, concat } from "../util/bytes.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS repl_backlog (start INTEGER PRIMARY KEY, len INTEGER NOT NULL, data BLOB NOT NULL);
`;

/**
 * Trimming and reading are ranges of the primary key, never scans: the rows held can number
 * millions (one per event), and a scan of them all on every flush once the backlog was full
 * (the old `start + len <= ?`) cost O(rows) per write event.
 */
export const TRIM_SQL = "DELETE FROM repl_backlog WHERE start < ?1 AND start + len <= ?1";
/** Up to 16 rows from the one holding byte ?1 (the last row starting at or before it). */
export const READ_SQL =
  "SELECT start, len, data FROM repl_backlog WHERE start >= coalesce((SELECT start FROM repl_backlog WHERE start <= ?1 ORDER BY start DESC LIMIT 1), 0) AND start + len > ?1 ORDER BY start LIMIT 16";

/** Rows larger than this are split (SQLite rows hold at most 2 MB). */
const ROW_BYTES_MAX = 1024 * 1024;

export class Backlog {
  /** Bytes ever fed (master_repl_offset). */
  offset = 0;
  /** 0-based position of the first byte still held. */
  firstByte = 0;
  /** Bytes appended in this event, not yet written (they start at `pendingStart`). */
  private pending: Uint8Array[] = [];
  private pendingStart = 0;

  constructor(
    private readonly sql: SqlStorage,
    /** repl-backlog-size. */
    public sizeBytes: number,
    /** Receives each flushed batch: stream bytes [start, start + data.length). */
    private readonly onFlush: (start: number, data: Uint8Array) => void = () => {},
  ) {
    sql.exec(SCHEMA);
    const last = sql.exec("SELECT start, len FROM repl_backlog ORDER BY start DESC LIMIT 1").toArray()[0];
    const first = sql.exec("SELECT start FROM repl_backlog ORDER BY start LIMIT 1").toArray()[0];
    if (last) this.offset = (last.start as number) + (last.len as number);
    this.firstByte = Math.max(first ? (first.start as number) : this.offset, this.offset - this.sizeBytes);
  }

  /** Bytes held (repl_backlog_histlen). */
  get histlen(): number {
    return this.offset - this.firstByte;
  }

  /** Start a new history at `offset` (a replica adopting its master's offset after a full sync). */
  reset(offset: number): void {
    this.pending = [];
    this.sql.exec("DELETE FROM repl_backlog");
    this.offset = offset;
    this.firstByte = offset;
    // Keep the offset durable even with an empty history: an empty marker row.
    this.sql.exec("INSERT INTO repl_backlog (start, len, data) VALUES (?, 0, ?)", offset, new Uint8Array(0));
  }

  /** Add stream bytes; `offset` moves at once, the row is written before the event ends. */
  append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.pending.length === 0) {
      this.pendingStart = this.offset;
      queueMicrotask(() => this.flush());
    }
    this.pending.push(bytes);
    this.offset += bytes.length;
  }

  /** Write the bytes appended so far (also done before any read of the history). */
  flush(): void {
    if (this.pending.length === 0) return;
    const data = this.pending.length === 1 ? this.pending[0]! : concat(this.pending);
    this.pending = [];
    const start = this.pendingStart;
    let at = start;
    for (let i = 0; i < data.length; i += ROW_BYTES_MAX) {
      const part = data.subarray(i, Math.min(data.length, i + ROW_BYTES_MAX));
      this.sql.exec("INSERT OR REPLACE INTO repl_backlog (start, len, data) VALUES (?, ?, ?)", at, part.length, part.slice());
      at += part.length;
    }
    this.trim();
    this.onFlush(start, data);
  }

  /**
   * Keep at most `sizeBytes` of history: the first byte moves to `offset - sizeBytes` (it
   * may fall inside a row) and rows wholly before it are deleted.
   */
  trim(): void {
    if (this.pending.length) return; // flush() trims after writing
    if (this.histlen <= this.sizeBytes) return;
    this.firstByte = this.offset - this.sizeBytes;
    this.sql.exec(TRIM_SQL, this.firstByte);
  }

  /** Drop all history but keep the offset (repl-backlog-ttl expired with no replica attached). */
  free(): void {
    this.reset(this.offset);
  }

  /** Whether bytes from 0-based position `from` up to the end are held. */
  covers(from: number): boolean {
    return from >= this.firstByte && from <= this.offset;
  }

  /** Bytes [from, offset) in chunks of at most ~1 MiB, read lazily. */
  *readFrom(from: number): Generator<Uint8Array> {
    this.flush();
    let pos = from;
    while (pos < this.offset) {
      const rows = this.sql.exec(READ_SQL, pos).toArray();
      if (rows.length === 0) return;
      for (const r of rows) {
        const start = r.start as number;
        const data = blob(r.data);
        if (data.length === 0) continue;
        yield data.subarray(Math.max(0, pos - start));
        pos = start + data.length;
      }
    }
  }
}
