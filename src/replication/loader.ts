/**
 * Loading an RDB snapshot into the keyspace while the old data keeps serving reads.
 *
 * Keys are loaded into staging databases: fresh physical database numbers of the same
 * tables that no logical database maps to (keyspace/generations.ts), so no client sees them.
 * Once the whole file has arrived with the right length and CRC64, `swap()` makes them live by
 * changing the logical → physical mapping: O(1) whatever the size; the old data becomes
 * garbage that the node's cron deletes in bounded steps. A refused file is dropped with
 * `discard()` (its rows become garbage too) and the old data was never touched.
 *
 * Rows go in bulk: one-row string keys are buffered and inserted STRING_ROWS_PER_INSERT per
 * statement, element rows in multi-row statements (SQLite allows 100 bound parameters per
 * statement).
 *
 * What Redis 7.0's loader (rdb.c rdbLoadObject / rdbLoadRioWithLoadingCtx) refuses, we refuse
 * with its words: duplicate set members, hash fields and zset members (detected by the
 * primary keys as the rows go in, so a million-element collection needs no memory for it),
 * and a key that appears twice in one database. A collection that arrives empty is skipped,
 * as Redis skips empty keys; none is ever stored. The size limits are the reader's.
 */
import { TYPE, type TypeCode } from "../keyspace/schema.ts";
import type { KeyMeta, Keyspace } from "../keyspace/store.ts";
import { DATABASES } from "../limits.ts";
import { RdbError } from "../protocol/rdb/format.ts";
import { RdbReader } from "../protocol/rdb/reader.ts";
import { FUNCTION_LIBRARIES_MAX } from "../scripting/functions.ts";
import { yieldToOtherEvents } from "../util/yield.ts";

/** One-row string keys per INSERT (3 bound parameters each, within SQLite's 100). */
const STRING_ROWS_PER_INSERT = 33;

const TYPE_CODES: Record<string, TypeCode> = { string: TYPE.string, list: TYPE.list, set: TYPE.set, zset: TYPE.zset, hash: TYPE.hash };

export interface LoadResult {
  keys: number;
  bytes: number;
  crc: string | null;
  aux: Record<string, string>;
  /** Collections that arrived with no elements: skipped, as Redis skips empty keys. */
  emptyKeysSkipped: number;
}

export class SnapshotLoader {
  private readonly reader = new RdbReader();
  private cur: KeyMeta | null = null;
  private keys = 0;
  private emptyKeysSkipped = 0;
  bytes = 0;
  /** Function libraries the file carries (RDB_OPCODE_FUNCTION2), applied by the caller after swap(). */
  readonly functions: Uint8Array[] = [];
  private crc: string | null = null;
  private ended = false;
  readonly aux: Record<string, string> = {};
  /** Physical database numbers the file loads into (an earlier, interrupted load's are garbage). */
  private readonly stage: number[];
  /** One-row string keys waiting for their multi-row INSERT: key, expire, value per row. */
  private strings: (Uint8Array | number | null)[] = [];
  /** The physical database those rows go to. */
  private stringsDb = -1;

  constructor(private readonly ks: Keyspace) {
    this.stage = ks.dbs.beginStaging();
    ks.dropped();
  }

  /** Give up this load: its rows become garbage (deleted in the background). */
  discard(): void {
    this.strings = [];
    if (this.ks.dbs.staging === this.stage) {
      this.ks.dbs.abandonStaging();
      this.ks.dropped();
    }
  }

  private flushStrings(): void {
    const args = this.strings;
    if (args.length === 0) return;
    this.strings = [];
    const n = args.length / 3;
    // db and type are literals (integers we chose) and card is computed: 3 parameters per row.
    try {
      this.ks.sql.exec(
        `INSERT INTO kv_keys (db, key, type, expire_ms, val, card) SELECT ${this.stringsDb}, column1, 0, column2, column3, length(column3) FROM (VALUES ${Array(n).fill("(?, ?, ?)").join(", ")})`,
        ...args,
      );
    } catch (e) {
      // One statement: on a duplicate none of its rows went in.
      if (!String(e).includes("UNIQUE")) throw e;
      throw this.findDuplicate(this.stringsDb, args);
    }
  }

  /** Feed a chunk of the file; applies every complete event to the staging databases. */
  push(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    this.reader.push(chunk);
    for (let ev = this.reader.next(); ev; ev = this.reader.next()) {
      switch (ev.t) {
        case "header":
        case "db":
        case "resize":
          break;
        case "function":
          if (this.functions.length >= FUNCTION_LIBRARIES_MAX) throw new RdbError(`more than ${FUNCTION_LIBRARIES_MAX} function libraries`);
          this.functions.push(ev.code);
          break;
        case "aux":
          this.aux[ev.key] = ev.value;
          break;
        case "key": {
          if (ev.db >= DATABASES) throw new RdbError(`database ${ev.db} is out of range (0..${DATABASES - 1})`);
          const type = TYPE_CODES[ev.type];
          if (type === undefined) throw new RdbError(`unsupported value type ${ev.type}`);
          this.keys++;
          const physical = this.stage[ev.db]!;
          const value = ev.value ?? new Uint8Array(0);
          if (type === TYPE.string && value.length <= this.ks.chunkBytes) {
            if (physical !== this.stringsDb) {
              this.flushStrings();
              this.stringsDb = physical;
            }
            // The reader's strings are fresh exact-size copies: no own() (its `.buffer` check
            // materializes every small array, ~15 % of a load's time).
            this.strings.push(ev.key, ev.expireMs, value);
            if (this.strings.length >= STRING_ROWS_PER_INSERT * 3) this.flushStrings();
            this.cur = null;
            break;
          }
          const m = this.create(physical, ev.key, type, ev.expireMs);
          if (type === TYPE.string) {
            this.ks.writeString(m, value);
            this.cur = null;
          } else this.cur = m;
          break;
        }
        case "values":
          this.addValues(ev.values);
          break;
        case "fields":
          this.addFields(ev.fields, ev.values);
          break;
        case "members":
          this.addMembers(ev.members, ev.scores);
          break;
        case "keyEnd": {
          const m = this.cur;
          this.cur = null;
          if (!m) break;
          // Redis skips collections that arrive empty; so do we (saveCollection deletes them).
          if (m.card <= 0) {
            this.keys--;
            this.emptyKeysSkipped++;
          }
          this.ks.saveCollection(m);
          break;
        }
        case "end":
          this.crc = ev.crc;
          this.ended = true;
          break;
      }
    }
    // Rows are not held across events: what this chunk parsed is in SQLite now.
    this.flushStrings();
  }

  /** A staged key; a second key of the same name in one database is refused as Redis does. */
  private create(physical: number, key: Uint8Array, type: TypeCode, expireMs: number | null): KeyMeta {
    this.flushStrings(); // a duplicate of a buffered string key must be seen
    try {
      return this.ks.createIn(physical, key, type, expireMs);
    } catch (e) {
      if (!String(e).includes("UNIQUE")) throw e;
      throw this.duplicatedKey(physical, key);
    }
  }

  private duplicatedKey(physical: number, key: Uint8Array): RdbError {
    return new RdbError(`RDB has duplicated key '${printable(key)}' in DB ${this.stage.indexOf(physical)}`);
  }

  /**
   * The buffered string rows' INSERT hit a key twice (in the file, or already staged): name
   * the first such key. Only on that error path, so the normal path pays nothing.
   */
  private findDuplicate(physical: number, rows: (Uint8Array | number | null)[]): RdbError {
    const seen = new Set<string>();
    for (let i = 0; i < rows.length; i += 3) {
      const key = rows[i] as Uint8Array;
      const k = Array.from(key, (b) => String.fromCharCode(b)).join("");
      const staged = this.ks.sql.exec("SELECT 1 FROM kv_keys WHERE db = ? AND key = ? LIMIT 1", physical, key).toArray().length > 0;
      if (staged || seen.has(k)) return this.duplicatedKey(physical, key);
      seen.add(k);
    }
    return new RdbError("RDB has a duplicated key");
  }

  /** Rows a multi-row INSERT … ON CONFLICT DO NOTHING RETURNING 1 really inserted. */
  private inserted(query: string, args: (number | Uint8Array)[]): number {
    return this.ks.sql.exec(query, ...args).toArray().length;
  }

  private duplicate(what: string): never {
    const m = this.cur!;
    throw new RdbError(`${what} (key '${printable(m.key)}' in DB ${this.stage.indexOf(m.db)})`);
  }

  private addValues(values: Uint8Array[]): void {
    const m = this.cur!;
    const sql = this.ks.sql;
    if (m.type === TYPE.list) {
      for (let i = 0; i < values.length; i += 33) {
        const part = values.slice(i, i + 33);
        const args: (number | Uint8Array)[] = [];
        for (const v of part) args.push(m.id, m.ltail++, v);
        sql.exec(`INSERT INTO kv_list (kid, pos, value) VALUES ${part.map(() => "(?, ?, ?)").join(", ")}`, ...args);
      }
      m.card += values.length;
      return;
    }
    for (let i = 0; i < values.length; i += 50) {
      const part = values.slice(i, i + 50);
      const args: (number | Uint8Array)[] = [];
      for (const v of part) args.push(m.id, v);
      const n = this.inserted(`INSERT INTO kv_set (kid, member) VALUES ${part.map(() => "(?, ?)").join(", ")} ON CONFLICT DO NOTHING RETURNING 1`, args);
      m.card += n;
      if (n < part.length) this.duplicate("Duplicate set members detected");
    }
  }

  private addFields(fields: Uint8Array[], values: Uint8Array[]): void {
    const m = this.cur!;
    for (let i = 0; i < fields.length; i += 33) {
      const args: (number | Uint8Array)[] = [];
      const n = Math.min(33, fields.length - i);
      for (let j = i; j < i + n; j++) args.push(m.id, fields[j]!, values[j]!);
      const added = this.inserted(`INSERT INTO kv_hash (kid, field, value) VALUES ${Array(n).fill("(?, ?, ?)").join(", ")} ON CONFLICT DO NOTHING RETURNING 1`, args);
      m.card += added;
      if (added < n) this.duplicate("Duplicate hash fields detected");
    }
  }

  private addMembers(members: Uint8Array[], scores: number[]): void {
    const m = this.cur!;
    for (let i = 0; i < members.length; i += 33) {
      const args: (number | Uint8Array)[] = [];
      const n = Math.min(33, members.length - i);
      for (let j = i; j < i + n; j++) args.push(m.id, members[j]!, scores[j]!);
      const added = this.inserted(`INSERT INTO kv_zset (kid, member, score) VALUES ${Array(n).fill("(?, ?, ?)").join(", ")} ON CONFLICT DO NOTHING RETURNING 1`, args);
      m.card += added;
      if (added < n) this.duplicate("Duplicate zset fields detected");
    }
  }

  /** The file is complete: check what the master announced. Throws RdbError when refused. */
  finish(expect: { size: number; crc: string }): LoadResult {
    this.reader.finish();
    if (!this.ended) throw new RdbError("snapshot ended early");
    if (this.bytes !== expect.size) throw new RdbError(`snapshot has ${this.bytes} bytes, expected ${expect.size}`);
    if (this.crc !== null && this.crc !== expect.crc) throw new RdbError(`snapshot CRC64 ${this.crc} differs from the announced ${expect.crc}`);
    if (this.crc === null) throw new RdbError("snapshot carries no CRC64");
    return this.result();
  }

  private result(): LoadResult {
    return { keys: this.keys, bytes: this.bytes, crc: this.crc, aux: this.aux, emptyKeysSkipped: this.emptyKeysSkipped };
  }

  /** The file is complete (a user's dump.rdb: its own CRC64 trailer is the check). */
  finishAny(): LoadResult {
    this.reader.finish();
    if (!this.ended) throw new RdbError("RDB file ended early");
    return this.result();
  }

  /**
   * Make the staged databases the live ones: O(1), the old data is deleted in the background
   * (a snapshot being written keeps reading the old numbers: they are pinned, generations.ts).
   */
  swap(): void {
    this.flushStrings();
    this.ks.dbs.adoptStaging();
    this.ks.dropped();
  }
}

/** A key for an error message: printable ASCII as is, other bytes as \xHH, at most 64 bytes. */
function printable(key: Uint8Array): string {
  let out = "";
  for (const b of key.subarray(0, 64)) out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`;
  return key.length > 64 ? `${out}...` : out;
}

/** A snapshot is fed to the loader in pieces of this size (~550 keys of the bench, ~2.5 ms)… */
export const LOAD_PIECE_BYTES = 16 * 1024;
/** …yielding to other events at least this often, so no load is one long event… */
export const LOAD_SLICE_MS = 10;
/** …and after this many bytes whatever the clock says (deployed Workers advance it only at I/O). */
export const LOAD_SLICE_BYTES_MAX = 4 * LOAD_PIECE_BYTES;

/** Where a yielding load is: when its current slice started and how many bytes it has fed. */
export interface LoadSlice {
  startMs: number;
  bytes: number;
}

export function newSlice(): LoadSlice {
  return { startMs: Date.now(), bytes: 0 };
}

/**
 * Feed a chunk to the loader in LOAD_PIECE_BYTES pieces, yielding to other events every
 * LOAD_SLICE_MS or LOAD_SLICE_BYTES_MAX (a chunk already in memory would otherwise load in
 * one long event). `stillWanted` is checked before every piece: a cancelled load stops
 * (returns false).
 */
export async function pushYielding(
  loader: SnapshotLoader,
  bytes: Uint8Array,
  slice: LoadSlice,
  stillWanted: () => boolean = () => true,
): Promise<boolean> {
  for (let o = 0; o < bytes.length; o += LOAD_PIECE_BYTES) {
    if (!stillWanted()) return false;
    const piece = bytes.subarray(o, o + LOAD_PIECE_BYTES);
    loader.push(piece);
    slice.bytes += piece.length;
    if (Date.now() - slice.startMs >= LOAD_SLICE_MS || slice.bytes >= LOAD_SLICE_BYTES_MAX) {
      await yieldToOtherEvents();
      slice.startMs = Date.now();
      slice.bytes = 0;
    }
  }
  return true;
}
