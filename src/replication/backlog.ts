/**
 * The replication backlog: a bounded, persisted byte log of the stream. One SQLite row per
 * fed chunk, so appending costs O(size of the write) and trimming drops whole rows from the
 * head. Positions are 0-based stream byte positions: the row starting at `start` holds bytes
 * [start, start + len). `offset` (Redis's master_repl_offset) is the number of bytes ever fed;
 * it is derived from the last row on load, so it costs no extra write per command.
 *
 * PSYNC arithmetic (Redis replication.c): a replica that processed `reploff` bytes asks for
 * `psync_offset = reploff + 1`; we can serve it iff `firstByte <= psync_offset - 1 <= offset`.
 */
import { blob } from "../util/bytes.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS repl_backlog (start INTEGER PRIMARY KEY, len INTEGER NOT NULL, data BLOB NOT NULL);
`;

/** Rows larger than this are split (SQLite rows hold at most 2 MB). */
const ROW_BYTES_MAX = 1024 * 1024;

export class Backlog {
  /** Bytes ever fed (master_repl_offset). */
  offset = 0;
  /** 0-based position of the first byte still held. */
  firstByte = 0;

  constructor(
    private readonly sql: SqlStorage,
    /** repl-backlog-size. */
    public sizeBytes: number,
  ) {
    sql.exec(SCHEMA);
    const last = sql.exec("SELECT start, len FROM repl_backlog ORDER BY start DESC LIMIT 1").toArray()[0];
    const first = sql.exec("SELECT start FROM repl_backlog ORDER BY start LIMIT 1").toArray()[0];
    if (last) this.offset = (last.start as number) + (last.len as number);
    this.firstByte = first ? (first.start as number) : this.offset;
  }

  /** Bytes held (repl_backlog_histlen). */
  get histlen(): number {
    return this.offset - this.firstByte;
  }

  /** Start a new history at `offset` (a replica adopting its master's offset after a full sync). */
  reset(offset: number): void {
    this.sql.exec("DELETE FROM repl_backlog");
    this.offset = offset;
    this.firstByte = offset;
    // Keep the offset durable even with an empty history: an empty marker row.
    this.sql.exec("INSERT INTO repl_backlog (start, len, data) VALUES (?, 0, ?)", offset, new Uint8Array(0));
  }

  append(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i += ROW_BYTES_MAX) {
      const part = bytes.subarray(i, Math.min(bytes.length, i + ROW_BYTES_MAX));
      this.sql.exec("INSERT OR REPLACE INTO repl_backlog (start, len, data) VALUES (?, ?, ?)", this.offset, part.length, part.slice());
      this.offset += part.length;
    }
    this.trim();
  }

  /** Drop whole rows from the head while the history exceeds the size; the last row always stays. */
  trim(): void {
    if (this.histlen <= this.sizeBytes) return;
    const cut = this.offset - this.sizeBytes;
    // Rows that end at or before `cut` can go, except the newest (it carries the offset).
    this.sql.exec("DELETE FROM repl_backlog WHERE start + len <= ? AND start < ?", cut, this.lastStart());
    const first = this.sql.exec("SELECT start FROM repl_backlog ORDER BY start LIMIT 1").toArray()[0];
    this.firstByte = first ? (first.start as number) : this.offset;
  }

  private lastStart(): number {
    const r = this.sql.exec("SELECT start FROM repl_backlog ORDER BY start DESC LIMIT 1").toArray()[0];
    return r ? (r.start as number) : this.offset;
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
    let pos = from;
    while (pos < this.offset) {
      const rows = this.sql
        .exec("SELECT start, len, data FROM repl_backlog WHERE start + len > ? ORDER BY start LIMIT 64", pos)
        .toArray();
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
