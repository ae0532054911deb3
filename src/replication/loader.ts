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
 */
import { TYPE, type TypeCode } from "../keyspace/schema.ts";
import type { KeyMeta, Keyspace } from "../keyspace/store.ts";
import { DATABASES, STRING_CHUNK_BYTES } from "../limits.ts";
import { RdbError } from "../protocol/rdb/format.ts";
import { RdbReader } from "../protocol/rdb/reader.ts";
import { own } from "../util/bytes.ts";

/** One-row string keys per INSERT (3 bound parameters each, within SQLite's 100). */
const STRING_ROWS_PER_INSERT = 33;

const TYPE_CODES: Record<string, TypeCode> = { string: TYPE.string, list: TYPE.list, set: TYPE.set, zset: TYPE.zset, hash: TYPE.hash };

export interface LoadResult {
  keys: number;
  bytes: number;
  crc: string | null;
  aux: Record<string, string>;
}

export class SnapshotLoader {
  private readonly reader = new RdbReader();
  private cur: KeyMeta | null = null;
  private keys = 0;
  bytes = 0;
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
    this.ks.sql.exec(
      `INSERT INTO kv_keys (db, key, type, expire_ms, val, card) SELECT ${this.stringsDb}, column1, 0, column2, column3, length(column3) FROM (VALUES ${Array(n).fill("(?, ?, ?)").join(", ")})`,
      ...args,
    );
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
        case "function":
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
          if (type === TYPE.string && value.length <= STRING_CHUNK_BYTES) {
            if (physical !== this.stringsDb) {
              this.flushStrings();
              this.stringsDb = physical;
            }
            this.strings.push(own(ev.key), ev.expireMs, own(value));
            if (this.strings.length >= STRING_ROWS_PER_INSERT * 3) this.flushStrings();
            this.cur = null;
            break;
          }
          const m = this.ks.createIn(physical, ev.key, type, ev.expireMs);
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
          // Redis drops collections that arrive empty; so do we (saveCollection deletes them).
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
    } else {
      for (let i = 0; i < values.length; i += 50) {
        const part = values.slice(i, i + 50);
        const args: (number | Uint8Array)[] = [];
        for (const v of part) args.push(m.id, v);
        sql.exec(`INSERT OR IGNORE INTO kv_set (kid, member) VALUES ${part.map(() => "(?, ?)").join(", ")}`, ...args);
      }
    }
    m.card += values.length;
  }

  private addFields(fields: Uint8Array[], values: Uint8Array[]): void {
    const m = this.cur!;
    for (let i = 0; i < fields.length; i += 33) {
      const args: (number | Uint8Array)[] = [];
      const n = Math.min(33, fields.length - i);
      for (let j = i; j < i + n; j++) args.push(m.id, fields[j]!, values[j]!);
      this.ks.sql.exec(`INSERT OR REPLACE INTO kv_hash (kid, field, value) VALUES ${Array(n).fill("(?, ?, ?)").join(", ")}`, ...args);
    }
    m.card += fields.length;
  }

  private addMembers(members: Uint8Array[], scores: number[]): void {
    const m = this.cur!;
    for (let i = 0; i < members.length; i += 33) {
      const args: (number | Uint8Array)[] = [];
      const n = Math.min(33, members.length - i);
      for (let j = i; j < i + n; j++) args.push(m.id, members[j]!, scores[j]!);
      this.ks.sql.exec(`INSERT OR REPLACE INTO kv_zset (kid, member, score) VALUES ${Array(n).fill("(?, ?, ?)").join(", ")}`, ...args);
    }
    m.card += members.length;
  }

  /** The file is complete: check what the master announced. Throws RdbError when refused. */
  finish(expect: { size: number; crc: string }): LoadResult {
    this.reader.finish();
    if (!this.ended) throw new RdbError("snapshot ended early");
    if (this.bytes !== expect.size) throw new RdbError(`snapshot has ${this.bytes} bytes, expected ${expect.size}`);
    if (this.crc !== null && this.crc !== expect.crc) throw new RdbError(`snapshot CRC64 ${this.crc} differs from the announced ${expect.crc}`);
    if (this.crc === null) throw new RdbError("snapshot carries no CRC64");
    return { keys: this.keys, bytes: this.bytes, crc: this.crc, aux: this.aux };
  }

  /** The file is complete (a user's dump.rdb: its own CRC64 trailer is the check). */
  finishAny(): LoadResult {
    this.reader.finish();
    if (!this.ended) throw new RdbError("RDB file ended early");
    return { keys: this.keys, bytes: this.bytes, crc: this.crc, aux: this.aux };
  }

  /** Make the staged databases the live ones: O(1), the old data is deleted in the background. */
  swap(): void {
    this.flushStrings();
    this.ks.hooks.beforeFlush?.(null);
    this.ks.dbs.adoptStaging();
    this.ks.dropped();
  }
}
