/**
 * Logical databases (SELECT 0–15) map to physical database numbers (the `db` column of
 * kv_keys). Replacing a whole database's contents is then O(1): a full sync loads the
 * snapshot into fresh physical numbers (staging), and making it live changes the mapping;
 * FLUSHDB/FLUSHALL give the flushed logical databases fresh, empty numbers; a big collection
 * deleted is moved to a number that is never live (`trash`). Rows of physical numbers that are
 * neither live nor staging are garbage, deleted in the background in bounded steps
 * (`Keyspace.collectGarbage`, driven by the node's cron), so no single event pays for the size
 * of the data it dropped.
 *
 * A snapshot being written pins the physical numbers that were live at its cut: it reads
 * them to the end even if they stop being live meanwhile (a swap, SWAPDB), so neither needs
 * to serialize anything first, and their rows are not garbage until the pin is released.
 *
 * Invariants: physical numbers are never reused (`next` only grows, persisted), so a number
 * that left the mapping can never come back to life half-deleted; a staging set and a pin
 * exist only in memory, so after a restart an interrupted load's rows (and a finished
 * generation an interrupted snapshot was reading) are simply garbage.
 */
import { DATABASES } from "../limits.ts";

const SCHEMA = `CREATE TABLE IF NOT EXISTS kv_dbmap (logical INTEGER PRIMARY KEY, physical INTEGER NOT NULL);`;
/** Row of kv_dbmap that holds the next unused physical number. */
const NEXT_ROW = -1;

export class DbMap {
  /** physical number of each logical database. */
  readonly phys: number[] = [];
  /** physical → logical, for the live numbers. */
  private readonly logical = new Map<number, number>();
  /** Physical numbers of a snapshot being loaded (not live, not garbage), or null. */
  staging: number[] | null = null;
  /** Physical numbers a snapshot being written still reads (not garbage), or null. */
  pinned: readonly number[] | null = null;
  private next = DATABASES;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
    for (let i = 0; i < DATABASES; i++) this.phys.push(i);
    for (const r of sql.exec("SELECT logical, physical FROM kv_dbmap")) {
      const l = r.logical as number;
      if (l === NEXT_ROW) this.next = Math.max(this.next, r.physical as number);
      else if (l >= 0 && l < DATABASES) this.phys[l] = r.physical as number;
    }
    // Data written before the mapping existed (or a staging area of the old layout) lies
    // above: never hand out a number that already has rows.
    const top = sql.exec("SELECT max(db) AS m FROM kv_keys").one().m as number | null;
    if (top !== null && top >= this.next) this.next = top + 1;
    this.reindex();
  }

  private reindex(): void {
    this.logical.clear();
    this.phys.forEach((p, l) => this.logical.set(p, l));
  }

  /** The logical database of a live physical number (undefined for garbage or staging). */
  logicalOf(physical: number): number | undefined {
    return this.logical.get(physical);
  }

  private allocate(): number {
    const n = this.next++;
    this.sql.exec("INSERT OR REPLACE INTO kv_dbmap (logical, physical) VALUES (?, ?)", NEXT_ROW, this.next);
    return n;
  }

  private setLive(l: number, p: number): void {
    this.phys[l] = p;
    this.sql.exec("INSERT OR REPLACE INTO kv_dbmap (logical, physical) VALUES (?, ?)", l, p);
  }

  /** FLUSHDB / FLUSHALL: logical database `l` gets a fresh, empty physical number (the old one is garbage). */
  renew(l: number): void {
    this.setLive(l, this.allocate());
    this.reindex();
  }

  /**
   * A physical number that is never live, staging or pinned, for rows to be deleted in the
   * background (one per instance; after a restart the previous one is plain garbage).
   */
  trash(): number {
    this.trashNumber ??= this.allocate();
    return this.trashNumber;
  }
  private trashNumber: number | undefined;

  /** Fresh physical numbers to load a snapshot into (an earlier staging becomes garbage). */
  beginStaging(): number[] {
    this.staging = Array.from({ length: DATABASES }, () => this.allocate());
    return this.staging;
  }

  /** The load failed: its rows are garbage. */
  abandonStaging(): void {
    this.staging = null;
  }

  /** The load completed: the staged databases become the live ones (the old ones garbage). */
  adoptStaging(): void {
    if (!this.staging) throw new Error("no staging databases to adopt");
    this.staging.forEach((p, l) => this.setLive(l, p));
    this.staging = null;
    this.reindex();
  }

  /** SWAPDB: two logical databases exchange their physical numbers (persisted). */
  swap(a: number, b: number): void {
    const pa = this.phys[a]!;
    const pb = this.phys[b]!;
    this.setLive(a, pb);
    this.setLive(b, pa);
    this.reindex();
  }

  /** Whether rows of this physical number are garbage. */
  isGarbage(p: number): boolean {
    return !this.logical.has(p) && !(this.staging?.includes(p) ?? false) && !(this.pinned?.includes(p) ?? false);
  }
}
