/**
 * Shared helpers for `npm run bench`: configuration from the environment, timing and
 * percentiles, the result table, INFO parsing, external tools (redis-benchmark) and the
 * workerd process's memory.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { connectTcp, connectWs, replyTimeoutMs, type Arg, type RespClient, type RespValue } from "../resp-client.ts";

// ─── configuration ───────────────────────────────────────────────────────────

export const QUICK = process.env.BENCH_QUICK === "1";

/** An integer from the environment, else the quick or the full default. */
export function envInt(name: string, full: number, quick: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return QUICK ? quick : full;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${raw}`);
  return Math.floor(n);
}

/** A comma-separated list of integers from the environment. */
export function envInts(name: string, full: number[], quick: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return QUICK ? quick : full;
  return raw.split(",").map((s) => {
    const n = Number(s.trim().replace(/_/g, ""));
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: bad size '${s}'`);
    return n;
  });
}

// ─── time ────────────────────────────────────────────────────────────────────

export const now = (): number => performance.now();
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function stats(xs: readonly number[]): { n: number; mean: number; p50: number; p99: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
  return { n: s.length, mean, p50: percentile(s, 50), p99: percentile(s, 99), max: s.length ? s[s.length - 1]! : NaN };
}

/** Run `fn` at most `ms`; reject with a clear message when it takes longer. */
export async function withTimeout<T>(what: string, ms: number, fn: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: gave up after ${Math.round(ms / 1000)} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Poll `check` every `everyMs` until it answers non-null, or throw after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, everyMs: number, check: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const v = await check();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(everyMs);
  }
}

// ─── results ─────────────────────────────────────────────────────────────────

export interface Row {
  section: string;
  metric: string;
  unit: string;
  ours: number | null;
  redis: number | null;
  /** ours / redis; for "lower is better" units a ratio > 1 means we are slower. */
  ratio: number | null;
  /** How the figure was produced (the command or the procedure). */
  how: string;
  note?: string;
}

export class Results {
  readonly rows: Row[] = [];
  readonly problems: string[] = [];

  add(r: Omit<Row, "ratio">): Row {
    const ratio = r.ours !== null && r.redis !== null && r.redis !== 0 ? r.ours / r.redis : null;
    const row = { ...r, ratio };
    this.rows.push(row);
    console.log(`  ${r.section} | ${r.metric}: ours ${fmt(r.ours)} ${r.unit}, redis ${fmt(r.redis)} ${r.unit}` + (ratio !== null ? `, ratio ${fmtRatio(ratio)}` : "") + (r.note ? `  (${r.note})` : ""));
    return row;
  }

  problem(msg: string): void {
    this.problems.push(msg);
    console.log(`  !! ${msg}`);
  }
}

export function fmt(v: number | null): string {
  if (v === null || Number.isNaN(v)) return "–";
  const a = Math.abs(v);
  if (a >= 100_000) return Math.round(v).toLocaleString("en-US");
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

export function fmtRatio(r: number | null): string {
  if (r === null || Number.isNaN(r)) return "–";
  if (r >= 100) return `${r.toFixed(0)}×`;
  if (r >= 10) return `${r.toFixed(1)}×`;
  return `${r.toFixed(2)}×`;
}

// ─── RESP helpers ────────────────────────────────────────────────────────────

const dec = new TextDecoder();

export function text(v: RespValue): string {
  if (v instanceof Uint8Array) return dec.decode(v);
  if (v && typeof v === "object" && "s" in v) return String((v as { s: unknown }).s);
  if (v instanceof Error) throw v;
  return String(v);
}

/** Throw when a reply is an error (RedisError is an Error subclass or carries `message`). */
export function ok(v: RespValue, what: string): RespValue {
  if (v instanceof Error) throw new Error(`${what}: ${v.message}`);
  if (v && typeof v === "object" && !(v instanceof Uint8Array) && !Array.isArray(v) && "message" in v) {
    throw new Error(`${what}: ${String((v as { message: unknown }).message)}`);
  }
  return v;
}

export function checkAll(replies: RespValue[], what: string): void {
  for (const r of replies) ok(r, what);
}

/** `INFO <section>` as a field map. */
export async function info(c: RespClient, section: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const line of text(ok(await c.call("INFO", section), "INFO")).split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

export async function digest(c: RespClient, timeoutMs = replyTimeoutMs()): Promise<string> {
  return text(ok(await c.callT(timeoutMs, "DEBUG", "DIGEST"), "DEBUG DIGEST"));
}

/** Send `cmds` in messages of `perMessage` commands, keeping `inFlight` messages outstanding. */
export async function pipelined(c: RespClient, cmds: Iterable<readonly Arg[]>, perMessage: number, inFlight: number, what: string): Promise<void> {
  const running = new Set<Promise<void>>();
  let batch: (readonly Arg[])[] = [];
  const flush = async () => {
    const b = batch;
    batch = [];
    const p = c.send(b).then((r) => checkAll(r, what));
    const tracked = p.finally(() => running.delete(tracked));
    running.add(tracked);
    if (running.size >= inFlight) await Promise.race(running);
  };
  for (const cmd of cmds) {
    batch.push(cmd);
    if (batch.length >= perMessage) await flush();
  }
  if (batch.length > 0) await flush();
  await Promise.all(running);
}

export { connectTcp, connectWs, type Arg, type RespClient, type RespValue };

// ─── external tools ──────────────────────────────────────────────────────────

export const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? "/usr/bin/redis-server";
export const REDIS_BENCHMARK = process.env.REDIS_BENCHMARK_BIN ?? "/usr/bin/redis-benchmark";

export function missingTools(): string[] {
  const missing: string[] = [];
  if (!existsSync(REDIS_SERVER)) missing.push(`redis-server (${REDIS_SERVER})`);
  if (!existsSync(REDIS_BENCHMARK)) missing.push(`redis-benchmark (${REDIS_BENCHMARK})`);
  return missing;
}

/** Run a program, collect stdout; kill it after `timeoutMs`. */
export function runTool(bin: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${bin} ${args.join(" ")}: killed after ${timeoutMs / 1000} s\n${out}\n${err}`));
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${bin} ${args.join(" ")}: exit ${code}\n${out}\n${err}`));
    });
  });
}

/** `redis-benchmark … --csv`: requests per second by test name (SET, GET). */
export async function redisBenchmark(port: number, args: string[], timeoutMs: number): Promise<Record<string, number>> {
  const out = await runTool(REDIS_BENCHMARK, ["-h", "127.0.0.1", "-p", String(port), ...args, "--csv"], timeoutMs);
  const res: Record<string, number> = {};
  for (const line of out.split(/\r?\n/)) {
    const m = /^"([^"]+)","([\d.]+)"/.exec(line);
    if (m) res[m[1]!] = Number(m[2]);
  }
  if (Object.keys(res).length === 0) throw new Error(`redis-benchmark printed no results:\n${out}`);
  return res;
}

// ─── memory of workerd ───────────────────────────────────────────────────────

function psTable(): Promise<{ pid: number; ppid: number; rssKb: number; comm: string }[]> {
  return new Promise((resolve, reject) => {
    execFile("ps", ["-eo", "pid=,ppid=,rss=,comm="], (err, out) => {
      if (err) return reject(err);
      resolve(
        out
          .split("\n")
          .map((l) => l.trim().split(/\s+/))
          .filter((f) => f.length >= 4)
          .map((f) => ({ pid: Number(f[0]), ppid: Number(f[1]), rssKb: Number(f[2]), comm: f.slice(3).join(" ") })),
      );
    });
  });
}

/** RSS in MiB of the workerd processes started by this process (wrangler's child), summed. */
export async function workerdRssMiB(): Promise<number | null> {
  const ps = await psTable();
  const mine = new Set([process.pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of ps) {
      if (!mine.has(p.pid) && mine.has(p.ppid)) {
        mine.add(p.pid);
        grew = true;
      }
    }
  }
  const w = ps.filter((p) => mine.has(p.pid) && p.comm.includes("workerd"));
  if (w.length === 0) return null;
  return w.reduce((a, p) => a + p.rssKb, 0) / 1024;
}

/** RSS in MiB of one process, from /proc. */
export function rssOfPid(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}
