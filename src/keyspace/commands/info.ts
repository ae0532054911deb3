/**
 * INFO: every section Redis 7.0 prints, in its order. Figures we have are real (keyspace,
 * commands and errors counted by the engine, storage bytes, replication and clients from
 * the node); what has no meaning on a Durable Object (fork, AOF, CPU accounting, which
 * workerd does not expose) is reported as Redis reports an idle feature: zeros.
 *
 * Memory figures are the SQLite database's size (`databaseSize`): the data lives in
 * storage, not in an allocator, so used_memory is bytes stored, and RSS/peak equal it.
 */
import { Verbatim, type Reply } from "../../protocol/reply.ts";
import { opt } from "../args.ts";
import type { Ctx } from "../command.ts";

const startedMs = Date.now();

/** Redis 7.0's default sections, in its order; `all` adds commandstats and latencystats. */
const DEFAULT_SECTIONS = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "errorstats", "cluster", "keyspace"];
const ALL_SECTIONS = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "commandstats", "errorstats", "latencystats", "cluster", "keyspace"];

/** Redis's bytesToHuman. */
export function bytesToHuman(n: number): string {
  const units: [number, string][] = [
    [1024 ** 5, "P"],
    [1024 ** 4, "T"],
    [1024 ** 3, "G"],
    [1024 ** 2, "M"],
    [1024, "K"],
  ];
  for (const [size, u] of units) if (n >= size) return `${(n / size).toFixed(2)}${u}`;
  return `${n}B`;
}

/** The node's section lines (without header), completed with Redis's fields it lacks. */
function nodeLines(ctx: Ctx, name: string, defaults: [string, string | number][]): string[] {
  const text = ctx.node.infoSection(name);
  const own = new Map<string, string>();
  for (const l of text === null ? [] : text.split("\r\n")) if (l !== "" && !l.startsWith("#")) own.set(l.slice(0, l.indexOf(":")), l);
  // Redis's order: the section's fields as redis-server prints them (the node's value where it
  // has one), then the fields only a node has.
  const lines = defaults.map(([k, v]) => own.get(k) ?? `${k}:${v}`);
  for (const [k] of defaults) own.delete(k);
  lines.push(...own.values());
  return lines;
}

function section(ctx: Ctx, name: string): string[] | null {
  const now = Date.now();
  const stats = ctx.stats;
  switch (name) {
    case "server":
      return [
        "redis_version:7.0.15",
        "redis_git_sha1:00000000",
        "redis_git_dirty:0",
        "redis_mode:standalone",
        "os:Cloudflare Workers (edge-replica)",
        "arch_bits:64",
        "multiplexing_api:durable-object",
        "process_id:0",
        `run_id:${ctx.node.runId()}`,
        "tcp_port:0",
        `server_time_usec:${now * 1000}`,
        `uptime_in_seconds:${Math.floor((now - startedMs) / 1000)}`,
        `uptime_in_days:${Math.floor((now - startedMs) / 86_400_000)}`,
        "hz:10",
        "configured_hz:10",
        "executable:edge-replica",
        "config_file:",
        "io_threads_active:0",
      ];
    case "clients":
      return nodeLines(ctx, "clients", [
        ["connected_clients", 0],
        ["cluster_connections", 0],
        ["maxclients", 10000],
        ["client_recent_max_input_buffer", 0],
        ["client_recent_max_output_buffer", 0],
        ["blocked_clients", 0],
        ["tracking_clients", 0],
        ["clients_in_timeout_table", 0],
      ]);
    case "memory": {
      const used = ctx.ks.sql.databaseSize;
      const scripts = ctx.scripting?.scripts.cacheStats() ?? { count: 0, bytes: 0 };
      return [
        `used_memory:${used}`,
        `used_memory_human:${bytesToHuman(used)}`,
        `used_memory_rss:${used}`,
        `used_memory_rss_human:${bytesToHuman(used)}`,
        `used_memory_peak:${used}`,
        `used_memory_peak_human:${bytesToHuman(used)}`,
        "used_memory_peak_perc:100.00%",
        "used_memory_overhead:0",
        "used_memory_startup:0",
        `used_memory_dataset:${used}`,
        "used_memory_dataset_perc:100.00%",
        "used_memory_lua:0",
        // The cached scripts' bodies (stored in SQLite too; the Lua VM's own memory is not counted).
        `used_memory_scripts:${scripts.bytes}`,
        `number_of_cached_scripts:${scripts.count}`,
        "maxmemory:0",
        "maxmemory_human:0B",
        "maxmemory_policy:noeviction",
        "mem_fragmentation_ratio:1.00",
        "mem_fragmentation_bytes:0",
        "mem_allocator:sqlite",
        "active_defrag_running:0",
        // Flushed databases, a replaced snapshot and big keys deleted wait for the cron (Keyspace.collectGarbage).
        `lazyfree_pending_objects:${ctx.ks.lazyfreePending()}`,
        `lazyfreed_objects:${ctx.ks.lazyfreed}`,
      ];
    }
    case "persistence":
      return [
        `loading:${stats.loading ? 1 : 0}`,
        "async_loading:0",
        "rdb_changes_since_last_save:0",
        "rdb_bgsave_in_progress:0",
        `rdb_last_save_time:${Math.floor(startedMs / 1000)}`,
        "rdb_last_bgsave_status:ok",
        "rdb_last_bgsave_time_sec:-1",
        "rdb_current_bgsave_time_sec:-1",
        "aof_enabled:0",
        "aof_rewrite_in_progress:0",
        "aof_rewrite_scheduled:0",
        "aof_last_rewrite_time_sec:-1",
        "aof_current_rewrite_time_sec:-1",
        "aof_last_bgrewrite_status:ok",
        "aof_last_write_status:ok",
        "module_fork_in_progress:0",
      ];
    case "stats":
      return nodeLines(ctx, "stats", [
        ["total_connections_received", 0],
        ["total_commands_processed", stats.commands],
        ["instantaneous_ops_per_sec", stats.ops.perSecond(ctx.now, stats.commands)],
        ["rejected_connections", 0],
        ["sync_full", 0],
        ["sync_partial_ok", 0],
        ["sync_partial_err", 0],
        ["expired_keys", stats.expiredKeys],
        ["evicted_keys", 0],
        ["keyspace_hits", ctx.ks.hits],
        ["keyspace_misses", ctx.ks.misses],
        ["pubsub_channels", 0],
        ["pubsub_patterns", 0],
        ["pubsubshard_channels", 0],
        ["latest_fork_usec", 0],
        ["total_forks", 0],
        ["unexpected_error_replies", 0],
        ["total_error_replies", stats.errorReplies],
      ]);
    case "replication":
      return nodeLines(ctx, "replication", []);
    case "cpu":
      return ["used_cpu_sys:0.000000", "used_cpu_user:0.000000", "used_cpu_sys_children:0.000000", "used_cpu_user_children:0.000000"];
    case "modules":
      return [];
    case "commandstats":
      // Redis lists a command once it was called, refused or failed; usec_per_call over calls.
      return [...stats.calls].map(
        ([cmd, c]) =>
          `cmdstat_${cmd}:calls=${c.calls},usec=${c.usec},usec_per_call=${(c.calls > 0 ? c.usec / c.calls : 0).toFixed(2)},rejected_calls=${c.rejected},failed_calls=${c.failed}`,
      );
    case "errorstats":
      return [...stats.errorCodes].map(([code, n]) => `errorstat_${code}:count=${n}`);
    case "latencystats":
      return [];
    case "cluster":
      return ["cluster_enabled:0"];
    case "keyspace":
      // avg_ttl from the counted sum of expiry times (Redis's is an estimate too; a key already
      // expired and not yet deleted pulls it down until the expiry cycle takes it).
      return ctx.ks.dbStats().map(
        (d) => `db${d.db}:keys=${d.keys},expires=${d.expires},avg_ttl=${d.expires > 0 ? Math.max(0, Math.round(d.expireSum / d.expires - now)) : 0}`,
      );
    default:
      return null;
  }
}

const TITLES: Record<string, string> = { cpu: "CPU", commandstats: "Commandstats", errorstats: "Errorstats", latencystats: "Latencystats" };

/** INFO [section ...]: default, all, everything, or named sections (Redis 7.0 takes several). */
export function info(ctx: Ctx): Reply {
  const wanted = ctx.argv.slice(1).map(opt);
  const names = new Set<string>();
  if (wanted.length === 0) for (const s of DEFAULT_SECTIONS) names.add(s);
  for (const w of wanted) {
    if (w === "all" || w === "everything") for (const s of ALL_SECTIONS) names.add(s);
    else if (w === "default") for (const s of DEFAULT_SECTIONS) names.add(s);
    else names.add(w);
  }
  const out: string[] = [];
  for (const name of ALL_SECTIONS) {
    if (!names.has(name)) continue;
    const lines = section(ctx, name);
    if (lines === null) continue;
    const title = TITLES[name] ?? name[0]!.toUpperCase() + name.slice(1);
    out.push([`# ${title}`, ...lines].join("\r\n"));
  }
  return new Verbatim(out.length ? out.join("\r\n\r\n") + "\r\n" : "");
}
