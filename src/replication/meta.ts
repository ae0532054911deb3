/**
 * The node's persisted replication identity (one row per field in `repl_meta`): role,
 * replid/replid2/second_replid_offset (PSYNC2), the master it follows. The offset itself is
 * the backlog's (see backlog.ts): a replica appends exactly the stream bytes it applied, so
 * its backlog offset is its applied offset — the cached master survives restarts for free.
 */
import { randomHex40 } from "../util/bytes.ts";

export type Role = "master" | "replica";

export class ReplMeta {
  role: Role = "master";
  replid: string;
  replid2 = "0".repeat(40);
  /** -1 when replid2 is unset (Redis prints -1). */
  secondReplidOffset = -1;
  /** Node name of our master (same database), when a replica. */
  masterName: string | null = null;
  /** `host:port` of an outside Redis master we follow instead of a node (SPEC §3), when a replica. */
  outsideMaster: string | null = null;
  /** Whether this replica has ever synced with its current master (has a cached master to PSYNC with). */
  hasCachedMaster = false;
  /** The database the stream from our master has selected (Redis keeps it as repl-stream-db). */
  streamDb = 0;

  constructor(private readonly sql: SqlStorage) {
    sql.exec("CREATE TABLE IF NOT EXISTS repl_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)");
    const m = new Map<string, string>();
    for (const r of sql.exec("SELECT k, v FROM repl_meta")) m.set(r.k as string, r.v as string);
    this.replid = m.get("replid") ?? randomHex40();
    this.replid2 = m.get("replid2") ?? this.replid2;
    this.secondReplidOffset = Number(m.get("second_replid_offset") ?? -1);
    this.role = (m.get("role") as Role | undefined) ?? "master";
    this.masterName = m.get("master_name") ?? null;
    this.outsideMaster = m.get("outside_master") ?? null;
    this.hasCachedMaster = m.get("cached_master") === "1";
    this.streamDb = Number(m.get("stream_db") ?? 0);
    if (!m.has("replid")) this.save();
  }

  save(): void {
    const rows: [string, string][] = [
      ["replid", this.replid],
      ["replid2", this.replid2],
      ["second_replid_offset", String(this.secondReplidOffset)],
      ["role", this.role],
      ["master_name", this.masterName ?? ""],
      ["cached_master", this.hasCachedMaster ? "1" : "0"],
    ];
    for (const [k, v] of rows) this.sql.exec("INSERT OR REPLACE INTO repl_meta (k, v) VALUES (?, ?)", k, v);
    if (this.masterName === null) this.sql.exec("DELETE FROM repl_meta WHERE k = 'master_name'");
    if (this.outsideMaster === null) this.sql.exec("DELETE FROM repl_meta WHERE k = 'outside_master'");
    else this.sql.exec("INSERT OR REPLACE INTO repl_meta (k, v) VALUES ('outside_master', ?)", this.outsideMaster);
  }

  saveStreamDb(db: number): void {
    if (db === this.streamDb) return;
    this.streamDb = db;
    this.sql.exec("INSERT OR REPLACE INTO repl_meta (k, v) VALUES ('stream_db', ?)", String(db));
  }

  /** Redis shiftReplicationId: keep the old history reachable as replid2 up to `offset`. */
  shiftReplid(offset: number): void {
    this.replid2 = this.replid;
    this.secondReplidOffset = offset + 1;
    this.replid = randomHex40();
    this.save();
  }

  clearReplid2(): void {
    this.replid2 = "0".repeat(40);
    this.secondReplidOffset = -1;
  }
}
