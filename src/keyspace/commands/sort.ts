/**
 * SORT and SORT_RO (Redis 7.0's sortCommandGeneric): a list, set or sorted set sorted
 * numerically or with ALPHA, optionally BY the values of other keys (`w_*`, `h_*->field`),
 * with LIMIT, GET patterns and, for SORT, STORE into a list.
 *
 * Cost: like Redis, O(n + n log n) in the collection's size plus one key lookup per element
 * per BY/GET pattern; the collection is read whole (bounded by SORT_ELEMENTS_MAX). BY a
 * constant (no '*') skips sorting: lists and sorted sets then come in their own order
 * and only the LIMIT range is read.
 *
 * Orders: numeric ties fall back to the elements' bytes (Redis's compareStringObjects);
 * ALPHA compares bytes — up to the first NUL without STORE, as Redis's strcoll does in the
 * C locale, the whole string with STORE. A set BY a constant comes in member byte order
 * (Redis: its hash table's order); with STORE Redis forces ALPHA, so do we.
 * STORE is propagated verbatim: the sort is deterministic over the same data.
 */
import type { Reply } from "../../protocol/reply.ts";
import { blob, compare, own } from "../../util/bytes.ts";
import { parseDouble } from "../../util/numbers.ts";
import { checkKey, longArg, opt } from "../args.ts";
import { type CommandSpec, type Ctx, cmd } from "../command.ts";
import { E, fail } from "../errors.ts";
import { TYPE } from "../schema.ts";
import type { KeyMeta } from "../store.ts";

/** Largest collection SORT reads (it is held in memory to be sorted). */
export const SORT_ELEMENTS_MAX = 1_000_000;

const STAR = 0x2a;

function indexOfBytes(hay: Uint8Array, needle: number[], from: number): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** lookupKeyByPattern: "#" is the element itself; `pre*post` a string key; `pre*post->field` a hash field. */
function byPattern(ctx: Ctx, pattern: Uint8Array, subst: Uint8Array): Uint8Array | null {
  if (pattern.length === 1 && pattern[0] === 0x23 /* # */) return subst;
  const star = pattern.indexOf(STAR);
  if (star < 0) return null;
  const arrow = indexOfBytes(pattern, [0x2d, 0x3e], star + 1);
  const hasField = arrow >= 0 && arrow + 2 < pattern.length;
  const keyEnd = hasField ? arrow : pattern.length;
  const key = new Uint8Array(star + subst.length + (keyEnd - star - 1));
  key.set(pattern.subarray(0, star), 0);
  key.set(subst, star);
  key.set(pattern.subarray(star + 1, keyEnd), star + subst.length);
  const m = ctx.ks.lookupRead(ctx.db, key);
  if (!m) return null;
  if (hasField) {
    if (m.type !== TYPE.hash) return null;
    const rows = ctx.ks.sql.exec("SELECT value FROM kv_hash WHERE kid = ? AND field = ?", m.id, own(pattern.subarray(arrow + 2))).toArray();
    return rows.length ? ctx.ks.charged(blob(rows[0]!.value)) : null;
  }
  return m.type === TYPE.string ? ctx.ks.replyString(m) : null;
}

/** strtod as SORT uses it: the whole string must convert; "" is 0; leading spaces are skipped. */
function sortScore(value: Uint8Array): number | null {
  const b = cstr(value); // strtod stops at a NUL like any C string
  if (b.length === 0) return 0;
  let i = 0;
  while (i < b.length && (b[i] === 0x20 || (b[i]! >= 0x09 && b[i]! <= 0x0d))) i++;
  if (i === b.length) return null;
  return parseDouble(b.subarray(i));
}

/** Bytes up to the first NUL (what strcoll sees of a Redis string). */
function cstr(b: Uint8Array): Uint8Array {
  const z = b.indexOf(0);
  return z < 0 ? b : b.subarray(0, z);
}

interface Item {
  obj: Uint8Array;
  score: number;
  cmp: Uint8Array | null;
}

function elementsOf(ctx: Ctx, m: KeyMeta): Uint8Array[] {
  if (m.card > SORT_ELEMENTS_MAX) fail(`ERR SORT of more than ${SORT_ELEMENTS_MAX} elements is not supported`);
  const out: Uint8Array[] = [];
  for (const e of ctx.ks.elements(m)) out.push(ctx.ks.charged(m.type === TYPE.zset ? (e as [Uint8Array, number])[0] : (e as Uint8Array)));
  return out;
}

function sortGeneric(readonly: boolean) {
  return (ctx: Ctx): Reply => {
    const argv = ctx.argv;
    let desc = false;
    let alpha = false;
    let limitStart = 0;
    let limitCount = -1;
    let storeKey: Uint8Array | null = null;
    let sortBy: Uint8Array | null = null;
    let dontsort = false;
    const gets: Uint8Array[] = [];
    for (let j = 2; j < argv.length; j++) {
      const left = argv.length - j - 1;
      const o = opt(argv[j]!);
      if (o === "asc") desc = false;
      else if (o === "desc") desc = true;
      else if (o === "alpha") alpha = true;
      else if (o === "limit" && left >= 2) {
        limitStart = longArg(argv[j + 1]!);
        limitCount = longArg(argv[j + 2]!);
        j += 2;
      } else if (!readonly && o === "store" && left >= 1) storeKey = checkKey(argv[++j]!);
      else if (o === "by" && left >= 1) {
        sortBy = argv[++j]!;
        dontsort = sortBy.indexOf(STAR) < 0;
      } else if (o === "get" && left >= 1) gets.push(argv[++j]!);
      else fail(E.syntax);
    }
    const m = ctx.ks.lookupRead(ctx.db, argv[1]!);
    if (m && m.type !== TYPE.set && m.type !== TYPE.list && m.type !== TYPE.zset) fail(E.wrongType);
    if (dontsort && m?.type === TYPE.set && storeKey) {
      dontsort = false;
      alpha = true;
      sortBy = null;
    }
    const len = m?.card ?? 0;
    let start = Math.min(Math.max(limitStart, 0), len);
    const count = Math.min(Math.max(limitCount, -1), len);
    let end = count < 0 ? len - 1 : start + count - 1;
    if (start >= len) {
      start = len - 1;
      end = len - 2;
    }
    if (end >= len) end = len - 1;

    let vector: Uint8Array[];
    if (!m) vector = [];
    else if (dontsort && m.type !== TYPE.set) {
      // Native order (reversed with DESC), only the LIMIT range.
      if (end < start) vector = [];
      else {
        const all = elementsOf(ctx, m);
        if (desc) all.reverse();
        vector = all.slice(start, end + 1);
      }
      end -= start;
      start = 0;
    } else vector = elementsOf(ctx, m);

    let conversionError = false;
    if (!dontsort) {
      const items: Item[] = vector.map((obj) => ({ obj, score: 0, cmp: null }));
      for (const it of items) {
        let by: Uint8Array | null;
        if (sortBy) {
          by = byPattern(ctx, sortBy, it.obj);
          if (!by) continue;
        } else by = it.obj;
        if (alpha) {
          if (sortBy) it.cmp = by;
        } else {
          const s = sortScore(by);
          if (s === null) conversionError = true;
          else it.score = s;
        }
      }
      const full = storeKey !== null;
      const bytes = (x: Uint8Array, y: Uint8Array) => (full ? compare(x, y) : compare(cstr(x), cstr(y)));
      items.sort((a, b) => {
        let c: number;
        if (!alpha) c = a.score > b.score ? 1 : a.score < b.score ? -1 : compare(a.obj, b.obj);
        else if (sortBy) c = !a.cmp || !b.cmp ? (a.cmp === b.cmp ? 0 : a.cmp === null ? -1 : 1) : bytes(a.cmp, b.cmp);
        else c = bytes(a.obj, b.obj);
        return desc ? -c : c;
      });
      vector = items.map((i) => i.obj);
    }
    if (conversionError) fail("ERR One or more scores can't be converted into double");

    const out: (Uint8Array | null)[] = [];
    for (let j = start; j <= end; j++) {
      const obj = vector[j]!;
      if (!gets.length) out.push(obj);
      for (const g of gets) out.push(byPattern(ctx, g, obj));
    }
    if (!storeKey) return out;

    const old = ctx.ks.lookupWrite(ctx.db, storeKey);
    if (old && out.length) ctx.blocking.overwritten(ctx.db, storeKey);
    if (old) {
      ctx.ks.deleteKey(old);
      ctx.dirty++;
    }
    if (out.length) {
      const l = ctx.ks.create(ctx.db, storeKey, TYPE.list);
      out.forEach((v, i) => ctx.ks.sql.exec("INSERT INTO kv_list (kid, pos, value) VALUES (?, ?, ?)", l.id, i, own(v ?? new Uint8Array(0))));
      l.lhead = 0;
      l.ltail = out.length;
      l.card = out.length;
      ctx.ks.saveCollection(l);
      ctx.dirty += out.length;
    }
    // The STORE key is not among the spec's keys: WATCH and clients blocked on it (BLPOP) learn of it here.
    if (old || out.length) ctx.touched(ctx.db, storeKey);
    return out.length;
  };
}

export const sortCommands: CommandSpec[] = [
  cmd("sort", -2, ["write", "denyoom"], [1, 1, 1], sortGeneric(false), ["write", "dangerous"]),
  // Redis puts SORT_RO in @dangerous because BY/GET reach keys past ACL key patterns; our
  // tokens have no key patterns, so the read-only token may run it (@read only).
  cmd("sort_ro", -2, ["readonly"], [1, 1, 1], sortGeneric(true)),
];
