/**
 * Loading an RDB snapshot into the keyspace while the old data keeps serving reads.
 *
 * Keys are loaded into staging databases (db + STAGE_DB_BASE) of the same tables, which no
 * client can SELECT; once the whole file has arrived with the right length and CRC64, one
 * synchronous `swap()` drops the live databases and renumbers the staged keys (elements
 * stay attached to key ids, so this touches kv_keys rows only). A refused file is dropped
 * with `discard()` and the old data was never touched. Element rows are inserted in
 * multi-row statements (SQLite allows 100 bound parameters per statement).
 */
import { TYPE, type TypeCode } from "../keyspace/schema.ts";
import type { KeyMeta, Keyspace } from "../keyspace/store.ts";
import { DATABASES } from "../limits.ts";
import { RdbError } from "../protocol/rdb/format.ts";
import { RdbReader } from "../protocol/rdb/reader.ts";
import { FUNCTION_LIBRARIES_MAX } from "../scripting/functions.ts";

/** Staging databases start here; client databases are 0..DATABASES-1. */
export const STAGE_DB_BASE = 1000;

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
  /** Function libraries the file carries (RDB_OPCODE_FUNCTION2), applied by the caller after swap(). */
  readonly functions: Uint8Array[] = [];
  private crc: string | null = null;
  private ended = false;
  readonly aux: Record<string, string> = {};

  constructor(private readonly ks: Keyspace) {}

  /** Remove whatever an earlier, interrupted load left in the staging databases. */
  discard(): void {
    const sql = this.ks.sql;
    const sub = "WHERE kid IN (SELECT id FROM kv_keys WHERE db >= ?)";
    for (const t of ["kv_strchunk", "kv_list", "kv_set", "kv_zset", "kv_hash"]) sql.exec(`DELETE FROM ${t} ${sub}`, STAGE_DB_BASE);
    sql.exec("DELETE FROM kv_keys WHERE db >= ?", STAGE_DB_BASE);
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
          const m = this.ks.create(ev.db + STAGE_DB_BASE, ev.key, type, ev.expireMs);
          if (type === TYPE.string) {
            this.ks.writeString(m, ev.value ?? new Uint8Array(0));
            this.cur = null;
          } else this.cur = m;
          this.keys++;
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

  /** Replace the live databases by the staged ones (one synchronous step). */
  swap(): void {
    this.ks.flush(null);
    this.ks.sql.exec("UPDATE kv_keys SET db = db - ? WHERE db >= ?", STAGE_DB_BASE, STAGE_DB_BASE);
  }
}
