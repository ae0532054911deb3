/**
 * ZUNION ZINTER ZDIFF, their STORE forms, and ZINTERCARD (Redis's zunionInterDiffGenericCommand).
 * Sources may be sorted sets or sets (a set member scores 1). Scores are combined in Redis's
 * order so floating-point sums come out bit for bit the same: sources sorted by cardinality
 * (stable) for UNION and INTER; for INTER each member of the smallest source is looked up in
 * the others in that order.
 *
 * Costs: UNION reads every source, O(sum of sizes) — the result is at least as big as the
 * largest source. INTER walks the smallest source with one index lookup per other source
 * per member, O(min size · keys · log n); ZINTERCARD stops at its LIMIT. DIFF walks the
 * first source with one lookup per other source per member. The result is built in memory
 * (a Map), bounded by ZSET_ALGEBRA_ELEMENTS_MAX.
 */
import { appendAll } from "../../util/arrays.ts";
import { floatArg, longArg, nonNegativeArg, opt } from "../args.ts";
import { type CommandSpec, type Ctx, cmd } from "../command.ts";
import { E, fail } from "../errors.ts";
import { TYPE } from "../schema.ts";
import type { KeyMeta } from "../store.ts";
import type { Reply } from "../../protocol/reply.ts";
import { blob, compare, own } from "../../util/bytes.ts";
import { type Entry, entriesReply, storeEntries } from "./zsets.ts";

/** Most members a ZUNION/ZINTER/ZDIFF result may hold (it is built in memory). */
export const ZSET_ALGEBRA_ELEMENTS_MAX = 4_000_000;

type Op = "union" | "inter" | "diff";
type Aggregate = "sum" | "min" | "max";

interface Source {
  m: KeyMeta | null;
  weight: number;
}

const latin = new TextDecoder("latin1");

function card(s: Source): number {
  return s.m?.card ?? 0;
}

/** Every (member, score) of a source, set members scoring 1. */
function* entries(ctx: Ctx, s: Source): Generator<Entry> {
  if (!s.m) return;
  if (s.m.type === TYPE.set) {
    for (const r of ctx.ks.sql.exec("SELECT member FROM kv_set WHERE kid = ?", s.m.id)) yield [blob(r.member), 1];
  } else {
    for (const r of ctx.ks.sql.exec("SELECT member, score FROM kv_zset WHERE kid = ?", s.m.id)) yield [blob(r.member), r.score as number];
  }
}

/** A member's score in a source, or null. */
function find(ctx: Ctx, s: Source, member: Uint8Array): number | null {
  if (!s.m) return null;
  if (s.m.type === TYPE.set) {
    return ctx.ks.sql.exec("SELECT 1 FROM kv_set WHERE kid = ? AND member = ?", s.m.id, own(member)).toArray().length ? 1 : null;
  }
  const rows = ctx.ks.sql.exec("SELECT score FROM kv_zset WHERE kid = ? AND member = ?", s.m.id, own(member)).toArray();
  return rows.length ? (rows[0]!.score as number) : null;
}

function aggregate(target: number, val: number, how: Aggregate): number {
  switch (how) {
    case "sum": {
      const r = target + val;
      return Number.isNaN(r) ? 0 : r;
    }
    case "min":
      return val < target ? val : target;
    case "max":
      return val > target ? val : target;
  }
}

function weighted(score: number, weight: number): number {
  const r = weight * score;
  return Number.isNaN(r) ? 0 : r;
}

function checkSize(n: number): void {
  if (n > ZSET_ALGEBRA_ELEMENTS_MAX) fail(`ERR result exceeds the limit of ${ZSET_ALGEBRA_ELEMENTS_MAX} elements`);
}

interface Parsed {
  sources: Source[];
  how: Aggregate;
  withScores: boolean;
  limit: number;
}

/** Arguments from `numkeysIdx` on, in Redis's order: numkeys, key lookups (WRONGTYPE), options. */
function parse(ctx: Ctx, numkeysIdx: number, op: Op, store: boolean, cardOnly: boolean, fullname: string): Parsed {
  const argv = ctx.argv;
  const setnum = longArg(argv[numkeysIdx]!);
  if (setnum < 1) fail(`ERR at least 1 input key is needed for '${fullname}' command`);
  if (setnum > argv.length - (numkeysIdx + 1)) fail(E.syntax);
  const sources: Source[] = [];
  let j = numkeysIdx + 1;
  for (let i = 0; i < setnum; i++, j++) {
    const m = ctx.ks.lookupRead(ctx.db, argv[j]!);
    if (m && m.type !== TYPE.zset && m.type !== TYPE.set) fail(E.wrongType);
    sources.push({ m, weight: 1 });
  }
  let how: Aggregate = "sum";
  let withScores = false;
  let limit = 0;
  let remaining = argv.length - j;
  while (remaining) {
    const o = opt(argv[j]!);
    if (op !== "diff" && !cardOnly && remaining >= setnum + 1 && o === "weights") {
      j++;
      remaining--;
      for (let i = 0; i < setnum; i++, j++, remaining--) sources[i]!.weight = floatArg(argv[j]!, "ERR weight value is not a float");
    } else if (op !== "diff" && !cardOnly && remaining >= 2 && o === "aggregate") {
      const a = opt(argv[j + 1]!);
      if (a !== "sum" && a !== "min" && a !== "max") fail(E.syntax);
      how = a;
      j += 2;
      remaining -= 2;
    } else if (remaining >= 1 && !store && !cardOnly && o === "withscores") {
      withScores = true;
      j++;
      remaining--;
    } else if (cardOnly && remaining >= 2 && o === "limit") {
      limit = nonNegativeArg(argv[j + 1]!, "ERR LIMIT can't be negative");
      j += 2;
      remaining -= 2;
    } else {
      fail(E.syntax);
    }
  }
  return { sources, how, withScores, limit };
}

/** The result, unsorted; for ZINTERCARD only the count. */
function compute(ctx: Ctx, op: Op, p: Parsed, cardOnly: boolean): { rows: Entry[]; count: number } {
  const src = op === "diff" ? p.sources : [...p.sources].sort((a, b) => card(a) - card(b));
  const rows: Entry[] = [];
  let count = 0;
  switch (op) {
    case "inter": {
      if (card(src[0]!) === 0) break;
      for (const [member, s0] of entries(ctx, src[0]!)) {
        let score = weighted(s0, src[0]!.weight);
        let j = 1;
        for (; j < src.length; j++) {
          const v = src[j]!.m!.id === src[0]!.m!.id ? s0 : find(ctx, src[j]!, member);
          if (v === null) break;
          score = aggregate(score, v * src[j]!.weight, p.how);
        }
        if (j < src.length) continue;
        count++;
        if (cardOnly) {
          if (p.limit && count >= p.limit) break;
        } else {
          rows.push([member, score]);
          checkSize(rows.length);
        }
      }
      break;
    }
    case "union": {
      const acc = new Map<string, Entry>();
      for (const s of src) {
        for (const [member, raw] of entries(ctx, s)) {
          const score = weighted(raw, s.weight);
          const k = latin.decode(member);
          const e = acc.get(k);
          if (e) e[1] = aggregate(e[1], score, p.how);
          else {
            acc.set(k, [member, score]);
            checkSize(acc.size);
          }
        }
      }
      appendAll(rows, acc.values());
      break;
    }
    case "diff": {
      const first = src[0]!;
      if (!first.m) break;
      // ZDIFF a … a …: nothing survives.
      if (src.slice(1).some((s) => s.m?.id === first.m!.id)) break;
      for (const [member, score] of entries(ctx, first)) {
        if (src.slice(1).some((s) => find(ctx, s, member) !== null)) continue;
        rows.push([member, score]);
        checkSize(rows.length);
      }
      break;
    }
  }
  return { rows, count };
}

function byScore(a: Entry, b: Entry): number {
  return a[1] - b[1] || compare(a[0], b[0]);
}

/** ZUNION/ZINTER/ZDIFF numkeys key … [WEIGHTS …] [AGGREGATE …] [WITHSCORES]. */
function algebra(op: Op) {
  return (ctx: Ctx): Reply => {
    const p = parse(ctx, 1, op, false, false, ctx.name);
    const { rows } = compute(ctx, op, p, false);
    rows.sort(byScore);
    return entriesReply(ctx, rows, p.withScores);
  };
}

/** ZUNIONSTORE/ZINTERSTORE/ZDIFFSTORE dst numkeys key …: propagated verbatim (deterministic). */
function algebraStore(op: Op) {
  return (ctx: Ctx): Reply => {
    const p = parse(ctx, 2, op, true, false, ctx.name);
    const { rows } = compute(ctx, op, p, false);
    return storeEntries(ctx, ctx.argv[1]!, rows);
  };
}

function zintercard(ctx: Ctx): Reply {
  const p = parse(ctx, 1, "inter", false, true, "zintercard");
  return compute(ctx, "inter", p, true).count;
}

export const zsetAlgebraCommands: CommandSpec[] = [
  cmd("zunion", -3, ["readonly"], [0, 0, 0], algebra("union")),
  cmd("zinter", -3, ["readonly"], [0, 0, 0], algebra("inter")),
  cmd("zdiff", -3, ["readonly"], [0, 0, 0], algebra("diff")),
  cmd("zunionstore", -4, ["write", "denyoom"], [1, 1, 1], algebraStore("union")),
  cmd("zinterstore", -4, ["write", "denyoom"], [1, 1, 1], algebraStore("inter")),
  cmd("zdiffstore", -4, ["write", "denyoom"], [1, 1, 1], algebraStore("diff")),
  cmd("zintercard", -3, ["readonly"], [0, 0, 0], zintercard),
];
