/**
 * The pure fuzz targets (run in Node: `npm run fuzz`, and a short run in test/unit/fuzz.test.ts)
 * and their runner. Each target makes an input from a seeded PRNG, runs it, and checks the
 * invariants; anything else thrown, or an invariant broken, is a failure with its seed.
 *
 * Invariants:
 * - RespParser (request and reply modes), fed the input whole and split at random points:
 *   yields values or throws ProtocolError, nothing else; the split run yields the same
 *   values and the same error as the whole one; work (examinedBytes) is linear in the input.
 * - rest-json (parseSingleBody, parsePipelineBody, pathCommand): argv of byte strings or a
 *   RestRequestError, nothing else.
 * - RdbReader fed in random pieces: events or RdbError, nothing else; a valid file is
 *   accepted; finish() never accepts a file without its end.
 * - Every input: done within INPUT_MS_MAX (a synchronous hang cannot be interrupted, so a
 *   slow input is reported after the fact); memory stays under a bound (checked by the
 *   long run, `npm run fuzz`: the process's RSS).
 */
import { PIPELINE_COMMANDS_MAX } from "../../src/limits.ts";
import { RestRequestError, argvOf, parsePipelineBody, parseSingleBody, pathCommand } from "../../src/http/rest-json.ts";
import { RdbError } from "../../src/protocol/rdb/format.ts";
import { RdbReader } from "../../src/protocol/rdb/reader.ts";
import { ProtocolError, RespParser, type RespValue } from "../../src/protocol/resp.ts";
import { ModelBuilder } from "../fixtures/rdb/model.ts";
import { restBody, restPath } from "./json-gen.ts";
import { hexPreview } from "./mutate.ts";
import { Rng, splitRandomly } from "./random.ts";
import { rdbInput } from "./rdb-gen.ts";
import { replyStream, requestStream } from "./resp-gen.ts";

/** Longest one input may take before it counts as a hang. */
export const INPUT_MS_MAX = 2000;
/** Rounds between two memory checks. */
const MEMORY_CHECK_EVERY = 1000;
/** Work allowed per input byte in the RESP parser (plus a constant). */
const RESP_WORK_PER_BYTE_MAX = 6;

/** What a target did with one input. */
export type Outcome = "accepted" | "refused";

export interface FuzzTarget {
  name: string;
  /** Run one input made from `rng`; returns the outcome and a tag (e.g. the RDB damage), throws Failure on a broken invariant. */
  run(rng: Rng): { outcome: Outcome; tag?: string };
}

/** A broken invariant: the message and the input that broke it. */
export class Failure extends Error {
  constructor(
    message: string,
    readonly input: string,
  ) {
    super(message);
  }
}

const td = new TextDecoder();

/** Parse all of `pieces`; the values yielded and the error thrown (if any). */
function respRun(mode: "request" | "reply", pieces: Uint8Array[]): { values: RespValue[]; error: string | null; work: number } {
  const p = new RespParser(mode);
  const values: RespValue[] = [];
  try {
    for (const piece of pieces) {
      p.push(piece);
      for (let v = p.next(); v !== undefined; v = p.next()) values.push(v);
    }
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    return { values, error: e.message, work: p.examinedBytes };
  }
  return { values, error: null, work: p.examinedBytes };
}

/** A comparable rendering of parsed values. */
function render(v: RespValue): string {
  if (v instanceof Uint8Array) return `b:${hexPreview(v, 1 << 20)}`;
  if (Array.isArray(v)) return `[${v.map(render).join(",")}]`;
  if (v === null) return "nil";
  if (typeof v === "object") return `${v.constructor.name}:${JSON.stringify(v)}`;
  return `${typeof v}:${String(v)}`;
}

function respTarget(mode: "request" | "reply"): FuzzTarget {
  return {
    name: `resp-${mode}`,
    run(rng) {
      const input = mode === "request" ? requestStream(rng) : replyStream(rng);
      const fail = (m: string) => new Failure(`${mode}: ${m}`, hexPreview(input));
      let whole: ReturnType<typeof respRun>;
      let split: ReturnType<typeof respRun>;
      const pieces = splitRandomly(rng, input, 24);
      try {
        whole = respRun(mode, [input]);
        split = respRun(mode, pieces);
      } catch (e) {
        throw fail(`threw ${e instanceof Error ? e.stack : String(e)}`);
      }
      if (mode === "request") {
        for (const v of whole.values) {
          if (!Array.isArray(v) || !v.every((a) => a instanceof Uint8Array)) throw fail(`a request that is not an argv: ${render(v)}`);
        }
      }
      const a = whole.values.map(render).join("|");
      const b = split.values.map(render).join("|");
      if (a !== b || whole.error !== split.error) {
        throw fail(`split at ${pieces.map((p) => p.length).join(",")} parsed differently: ${b} / ${split.error} vs whole ${a} / ${whole.error}`);
      }
      const limit = RESP_WORK_PER_BYTE_MAX * input.length + 64;
      if (whole.work > limit || split.work > limit) throw fail(`work ${whole.work}/${split.work} for ${input.length} bytes`);
      return { outcome: whole.error === null ? "accepted" : "refused" };
    },
  };
}

function restTarget(kind: "single" | "pipeline" | "path"): FuzzTarget {
  return {
    name: `rest-${kind}`,
    run(rng) {
      let argvs: Uint8Array[][];
      let shown: string;
      try {
        if (kind === "path") {
          const { path, search, body } = restPath(rng);
          shown = `${path}${search}`;
          argvs = [pathCommand(path, search, body)];
        } else {
          const body = restBody(rng, kind === "pipeline");
          shown = hexPreview(body);
          const text = td.decode(body);
          argvs = kind === "single" ? [parseSingleBody(text)] : parsePipelineBody(text, PIPELINE_COMMANDS_MAX).map(argvOf);
        }
      } catch (e) {
        if (e instanceof RestRequestError) {
          if (e.status < 400 || e.status > 499) throw new Failure(`refused with status ${e.status}`, "");
          return { outcome: "refused" };
        }
        throw new Failure(`rest-${kind} threw ${e instanceof Error ? e.stack : String(e)}`, "(see seed)");
      }
      for (const argv of argvs) {
        if (argv.length === 0 || !argv.every((a) => a instanceof Uint8Array)) throw new Failure(`rest-${kind}: an empty or non-byte argv`, shown);
      }
      return { outcome: "accepted" };
    },
  };
}

const rdbTarget: FuzzTarget = {
  name: "rdb",
  run(rng) {
    const input = rdbInput(rng);
    const pieces = splitRandomly(rng, input.bytes, 8);
    const r = new RdbReader();
    const mb = new ModelBuilder();
    try {
      for (const piece of pieces) {
        r.push(piece);
        for (let ev = r.next(); ev; ev = r.next()) mb.add(ev);
      }
      for (let ev = r.next(); ev; ev = r.next()) mb.add(ev);
      r.finish();
    } catch (e) {
      if (e instanceof RdbError) {
        if (input.kind === "valid") throw new Failure(`a valid file was refused: ${e.message}`, hexPreview(input.bytes));
        return { outcome: "refused", tag: input.kind };
      }
      throw new Failure(`rdb (${input.kind}) threw ${e instanceof Error ? e.stack : String(e)}`, hexPreview(input.bytes));
    }
    if (!mb.end) throw new Failure("rdb: finish() accepted a file without its end", hexPreview(input.bytes));
    return { outcome: "accepted", tag: input.kind };
  },
};

export const PURE_TARGETS: readonly FuzzTarget[] = [
  respTarget("request"),
  respTarget("reply"),
  restTarget("single"),
  restTarget("pipeline"),
  restTarget("path"),
  rdbTarget,
];

export interface TargetStats {
  inputs: number;
  accepted: number;
  refused: number;
  /** Outcomes by tag (e.g. "truncated refused"). */
  tags: Record<string, number>;
  slowestMs: number;
}

export interface FuzzReport {
  seed: number;
  inputs: number;
  stats: Record<string, TargetStats>;
  failures: { target: string; iteration: number; message: string; input: string }[];
}

function salt(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The seed of one input: replays it alone (FUZZ_SEED plus target and iteration). */
export function inputSeed(seed: number, target: string, iteration: number): number {
  return (Math.imul(seed ^ salt(target), 0x9e3779b1) + Math.imul(iteration + 1, 0x85ebca77)) >>> 0;
}

/** Run `iterations` inputs on each target (round robin), stopping early at `deadlineMs`. */
export function runPureFuzz(opts: {
  seed: number;
  iterations: number;
  targets?: readonly FuzzTarget[];
  deadlineMs?: number;
  maxFailures?: number;
  /** Memory in use (e.g. the process's RSS), checked every MEMORY_CHECK_EVERY rounds against memoryBytesMax. */
  memoryBytes?: () => number;
  memoryBytesMax?: number;
}): FuzzReport {
  const targets = opts.targets ?? PURE_TARGETS;
  const report: FuzzReport = { seed: opts.seed, inputs: 0, stats: {}, failures: [] };
  for (const t of targets) report.stats[t.name] = { inputs: 0, accepted: 0, refused: 0, tags: {}, slowestMs: 0 };
  for (let i = 0; i < opts.iterations; i++) {
    if (opts.deadlineMs !== undefined && Date.now() > opts.deadlineMs) break;
    for (const t of targets) {
      const st = report.stats[t.name]!;
      const rng = new Rng(inputSeed(opts.seed, t.name, i));
      const t0 = performance.now();
      try {
        const { outcome, tag } = t.run(rng);
        st[outcome]++;
        if (tag) st.tags[`${tag} ${outcome}`] = (st.tags[`${tag} ${outcome}`] ?? 0) + 1;
      } catch (e) {
        const f = e instanceof Failure ? e : new Failure(e instanceof Error ? (e.stack ?? e.message) : String(e), "");
        report.failures.push({ target: t.name, iteration: i, message: f.message, input: f.input });
      }
      const ms = performance.now() - t0;
      if (ms > st.slowestMs) st.slowestMs = ms;
      if (ms > INPUT_MS_MAX) report.failures.push({ target: t.name, iteration: i, message: `took ${Math.round(ms)} ms`, input: "" });
      st.inputs++;
      report.inputs++;
    }
    if (opts.memoryBytes && opts.memoryBytesMax !== undefined && i % MEMORY_CHECK_EVERY === 0) {
      const used = opts.memoryBytes();
      if (used > opts.memoryBytesMax) {
        report.failures.push({ target: "*", iteration: i, message: `memory ${used} bytes > ${opts.memoryBytesMax}`, input: "" });
      }
    }
    if (report.failures.length >= (opts.maxFailures ?? 20)) break;
  }
  return report;
}

/** A readable summary of a report. */
export function formatReport(r: FuzzReport): string {
  const lines = [`fuzz seed ${r.seed} (replay with FUZZ_SEED=${r.seed}): ${r.inputs} inputs`];
  for (const [name, s] of Object.entries(r.stats)) {
    const tags = Object.entries(s.tags)
      .sort()
      .map(([k, v]) => `${k}: ${v}`)
      .join(", ");
    lines.push(`  ${name.padEnd(14)} ${String(s.inputs).padStart(7)} inputs, ${s.accepted} accepted, ${s.refused} refused, slowest ${s.slowestMs.toFixed(1)} ms${tags ? ` (${tags})` : ""}`);
  }
  for (const f of r.failures) lines.push(`  FAILURE ${f.target} #${f.iteration}: ${f.message}\n    input: ${f.input}`);
  return lines.join("\n");
}
