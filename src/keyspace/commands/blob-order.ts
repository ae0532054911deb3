/**
 * SCAN cursors and random picks over a collection whose rows are ordered by a blob
 * (kv_set.member, kv_hash.field), shared by sets.ts and hashes.ts.
 *
 * SQLite's B-trees keep no subtree counts, so neither "the row at rank r" nor "a
 * uniformly random row" is O(log n) in a WITHOUT ROWID table. What IS O(log n) is a seek:
 * "the first row whose blob is >= X". Both algorithms below are built from seeks.
 *
 * Cursor (HSCAN/SSCAN). A cursor must be a uint64 decimal (go-redis parses it with
 * ParseUint) and must survive restarts, failover to a replica, and writes between calls,
 * so it cannot name server-side state. It encodes where the next unreturned row N is:
 *
 *     bits 63..61  plen        length (0..5) of P, a prefix of N
 *     next 8*plen  P           the first plen bytes of N
 *     next 16      fp          FNV-1a of N, low 16 bits
 *     rest         k           rows in [P, N) when the cursor was made (45 - 8*plen bits)
 *
 * Resuming seeks to P, skips k rows and checks that the row there has fingerprint fp.
 * When it does (no write in [P, N) since), the scan continues exactly at N: no duplicate.
 * When it does not, it restarts at P: rows in [P, N) come again (SCAN allows duplicates)
 * but nothing present all along is ever skipped, because P <= N. The cursor maker uses
 * the longest prefix whose k fits, so the cost of a call is O(log n + COUNT + k) where k
 * is bounded by the rows sharing N's first plen bytes that sort before N: tiny for varied
 * members, but up to O(position) when many members share a prefix longer than 5 bytes
 * ("user:000001"…): then a call costs like LIMIT/OFFSET. That is the price of a
 * stateless 64-bit cursor over an ordered index.
 *
 * Random picks (SPOP/SRANDMEMBER/HRANDFIELD) cost O(picks), never O(collection). When the
 * collection is small (RANDOM_EXACT_CARD_MAX) or has at most RANDOM_SCAN_ROWS_PER_PICK rows
 * per pick, one statement streams it up to the last of n positions drawn in advance:
 * exactly uniform. Otherwise each pick is a random
 * descent of the byte trie: at each depth, find the first and last row under the current
 * prefix (two seeks), pick one of the existing next bytes at the first position where
 * they differ (rejection sampling over the byte range, RANDOM_BRANCH_TRIES_MAX seeks at
 * most), and descend; after RANDOM_DESCENT_DEPTH_MAX levels take the first row >= the
 * prefix. Cost O(depth · tries · log n) per pick. Each branch of a level is equally
 * likely whatever its size, so rows in small subtrees are picked more often than rows in
 * big ones: spread over the whole collection, but not uniform (Redis's own pick from a
 * hash table is not exactly fair either). Replies are bounded by RANDOM_REPLY_ELEMENTS_MAX
 * and RANDOM_REPLY_BYTES_MAX, checked as rows are picked, before the memory is spent.
 */
import { RedisError } from "../../protocol/reply.ts";
import { blob, compare, own, utf8 } from "../../util/bytes.ts";
import { I64_MIN } from "../../util/numbers.ts";
import { i64Arg } from "../args.ts";
import { fail } from "../errors.ts";

/** The two tables this module walks; column names are fixed strings, never user input. */
export type BlobTable =
  | { table: "kv_set"; col: "member"; extra: "" }
  | { table: "kv_hash"; col: "field"; extra: ", value" }
  | { table: "kv_zset"; col: "member"; extra: ", score" };
export const SET_ROWS: BlobTable = { table: "kv_set", col: "member", extra: "" };
export const HASH_ROWS: BlobTable = { table: "kv_hash", col: "field", extra: ", value" };
/** Sorted sets: kv_zset's primary key (kid, member) is ordered by member bytes like the others. */
export const ZSET_ROWS: BlobTable = { table: "kv_zset", col: "member", extra: ", score" };

/** A row: the ordering blob and, for hashes, the value; for sorted sets, the score. */
export interface BlobRow {
  key: Uint8Array;
  value: Uint8Array | null;
  score?: number;
}

/** Collections up to this many rows are read whole for an exactly uniform random pick. */
export const RANDOM_EXACT_CARD_MAX = 256;
/** Depth of the random trie descent (two index seeks per level). */
export const RANDOM_DESCENT_DEPTH_MAX = 12;
/** Random bytes tried per trie level before settling for the next existing branch. */
export const RANDOM_BRANCH_TRIES_MAX = 16;
/**
 * A random pick streams the collection instead of descending the trie when it has at most
 * this many rows per requested pick: measured in workerd on a 200k-member set, a descent
 * costs ~0.7 ms (tens of seeks) and a streamed row ~2 µs, so both paths cost at most about
 * the same per pick and the cost stays O(picks).
 */
export const RANDOM_SCAN_ROWS_PER_PICK = 256;
/** Most elements a negative-count SRANDMEMBER/HRANDFIELD returns (Redis has no cap and can run out of memory). */
export const RANDOM_REPLY_ELEMENTS_MAX = 1_000_000;
/** Most bytes of elements (fields and values) one SRANDMEMBER/HRANDFIELD/SPOP reply carries. */
export const RANDOM_REPLY_BYTES_MAX = 32 * 1024 * 1024;
/** Longest prefix a cursor carries. */
const CURSOR_PREFIX_BYTES_MAX = 5;
const CURSOR_FP_BITS = 16n;
const U64_MAX = (1n << 64n) - 1n;

function toRow(t: BlobTable, r: Record<string, SqlStorageValue>): BlobRow {
  if (t.table === "kv_zset") return { key: blob(r.member), value: null, score: r.score as number };
  return { key: blob(r[t.col]), value: t.table === "kv_hash" ? blob(r.value) : null };
}

// --- cursors ---------------------------------------------------------------------------

/** A SCAN cursor argument: strtoul semantics as Redis 7.0 (digits, or "-N" wrapping mod 2^64). */
export function cursorArg(b: Uint8Array): bigint {
  const s = String.fromCharCode(...b.subarray(0, 30));
  const m = /^(-?)(\d{1,20})$/.exec(s);
  if (!m || b.length > 30) fail("ERR invalid cursor");
  let v = BigInt(m[2]!);
  if (v > U64_MAX) fail("ERR invalid cursor");
  if (m[1]) v = (U64_MAX + 1n - v) & U64_MAX;
  return v;
}

function fingerprint(b: Uint8Array): bigint {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193) >>> 0;
  return BigInt(h & 0xffff);
}

function kBits(plen: number): bigint {
  return 61n - BigInt(8 * plen) - CURSOR_FP_BITS;
}

function decodeCursor(c: bigint): { prefix: Uint8Array; fp: bigint; k: number } {
  const plen = Math.min(Number(c >> 61n), CURSOR_PREFIX_BYTES_MAX);
  const kb = kBits(plen);
  const prefix = new Uint8Array(plen);
  for (let i = 0; i < plen; i++) prefix[i] = Number((c >> (61n - 8n * BigInt(i + 1))) & 0xffn);
  const fp = (c >> kb) & ((1n << CURSOR_FP_BITS) - 1n);
  const k = Number(c & ((1n << kb) - 1n));
  return { prefix, fp, k };
}

/** Rows in [lo, hi), counting at most `cap + 1`. */
function countBetween(sql: SqlStorage, t: BlobTable, kid: number, lo: Uint8Array, hi: Uint8Array, cap: number): number {
  const q = lo.length
    ? sql.exec(`SELECT count(*) AS n FROM (SELECT 1 FROM ${t.table} WHERE kid = ? AND ${t.col} >= ? AND ${t.col} < ? LIMIT ?)`, kid, own(lo), own(hi), cap + 1)
    : sql.exec(`SELECT count(*) AS n FROM (SELECT 1 FROM ${t.table} WHERE kid = ? AND ${t.col} < ? LIMIT ?)`, kid, own(hi), cap + 1);
  return q.one().n as number;
}

function encodeCursor(sql: SqlStorage, t: BlobTable, kid: number, next: Uint8Array): bigint {
  for (let plen = Math.min(CURSOR_PREFIX_BYTES_MAX, next.length); plen >= 0; plen--) {
    const kb = kBits(plen);
    const cap = Number((1n << kb) - 1n);
    const prefix = next.subarray(0, plen);
    const k = countBetween(sql, t, kid, prefix, next, cap);
    if (k > cap) continue;
    let c = BigInt(plen) << 61n;
    for (let i = 0; i < plen; i++) c |= BigInt(prefix[i]!) << (61n - 8n * BigInt(i + 1));
    c |= fingerprint(next) << kb;
    c |= BigInt(k);
    // Cursor 0 means "done": only plen 0, k 0 and fp 0 gives it, and k >= 1 at plen 0
    // because a cursor is only made after returning a row that sorts before `next`.
    return c;
  }
  throw new Error("unreachable: plen 0 always fits");
}

function pageFrom(sql: SqlStorage, t: BlobTable, kid: number, from: Uint8Array, offset: number, limit: number): BlobRow[] {
  const rows = from.length
    ? sql.exec(`SELECT ${t.col}${t.extra} FROM ${t.table} WHERE kid = ? AND ${t.col} >= ? ORDER BY ${t.col} LIMIT ? OFFSET ?`, kid, own(from), limit, offset)
    : sql.exec(`SELECT ${t.col}${t.extra} FROM ${t.table} WHERE kid = ? ORDER BY ${t.col} LIMIT ? OFFSET ?`, kid, limit, offset);
  return rows.toArray().map((r) => toRow(t, r));
}

/** One SCAN step: up to `count` rows from `cursor` and the cursor to continue with (0: done). */
export function scanPage(sql: SqlStorage, t: BlobTable, kid: number, cursor: bigint, count: number): { rows: BlobRow[]; next: bigint } {
  let rows: BlobRow[];
  if (cursor === 0n) {
    rows = pageFrom(sql, t, kid, new Uint8Array(0), 0, count + 1);
  } else {
    const { prefix, fp, k } = decodeCursor(cursor);
    rows = pageFrom(sql, t, kid, prefix, k, count + 1);
    if (!rows.length || fingerprint(rows[0]!.key) !== fp) rows = pageFrom(sql, t, kid, prefix, 0, count + 1);
  }
  if (rows.length <= count) return { rows, next: 0n };
  const next = rows.pop()!;
  return { rows, next: encodeCursor(sql, t, kid, next.key) };
}

/** COUNT/MATCH of HSCAN/SSCAN (arguments from index 3). */
export function scanOptions(argv: Uint8Array[]): { count: number; match: Uint8Array | null } {
  let count = 10;
  let match: Uint8Array | null = null;
  for (let i = 3; i < argv.length; i++) {
    const o = String.fromCharCode(...argv[i]!.subarray(0, 16)).toLowerCase();
    const more = i + 1 < argv.length;
    if (o === "count" && more) {
      const v = parseCount(argv[++i]!);
      if (v < 1) fail("ERR syntax error");
      count = v;
    } else if (o === "match" && more) {
      match = argv[++i]!;
    } else {
      fail("ERR syntax error");
    }
  }
  return { count, match };
}

function parseCount(b: Uint8Array): number {
  const v = i64Arg(b);
  // A COUNT beyond what any page can return only bounds the page: clamp it.
  return Number(v > 1_000_000_000n ? 1_000_000_000n : v);
}

/** A scan reply: [cursor as bulk, items]. */
export function scanReply(next: bigint, items: Uint8Array[]): [Uint8Array, Uint8Array[]] {
  return [utf8(next.toString()), items];
}

// --- random picks -----------------------------------------------------------------------

function randInt(n: number): number {
  return Math.floor(Math.random() * n);
}

function firstAtLeast(sql: SqlStorage, t: BlobTable, kid: number, from: Uint8Array): BlobRow | null {
  const r = pageFrom(sql, t, kid, from, 0, 1);
  return r[0] ?? null;
}

/** The last row whose blob starts with `prefix`, or null. */
function lastWithPrefix(sql: SqlStorage, t: BlobTable, kid: number, prefix: Uint8Array): Uint8Array | null {
  const hi = successor(prefix);
  const q =
    hi === null
      ? prefix.length
        ? sql.exec(`SELECT ${t.col} FROM ${t.table} WHERE kid = ? AND ${t.col} >= ? ORDER BY ${t.col} DESC LIMIT 1`, kid, own(prefix))
        : sql.exec(`SELECT ${t.col} FROM ${t.table} WHERE kid = ? ORDER BY ${t.col} DESC LIMIT 1`, kid)
      : sql.exec(`SELECT ${t.col} FROM ${t.table} WHERE kid = ? AND ${t.col} >= ? AND ${t.col} < ? ORDER BY ${t.col} DESC LIMIT 1`, kid, own(prefix), own(hi));
  const rows = q.toArray();
  return rows.length ? blob(rows[0]![t.col]) : null;
}

/** The smallest string greater than every string starting with `p`, or null when none (p all 0xff). */
function successor(p: Uint8Array): Uint8Array | null {
  let n = p.length;
  while (n > 0 && p[n - 1] === 0xff) n--;
  if (n === 0) return null;
  const s = p.slice(0, n);
  s[n - 1]!++;
  return s;
}

/** One random row of a non-empty big collection (trie descent, see the header). */
function probe(sql: SqlStorage, t: BlobTable, kid: number): BlobRow {
  let prefix: Uint8Array = new Uint8Array(0);
  for (let depth = 0; depth < RANDOM_DESCENT_DEPTH_MAX; depth++) {
    const lo = firstAtLeast(sql, t, kid, prefix);
    if (!lo || compare(lo.key.subarray(0, prefix.length), prefix) !== 0) break;
    const hi = lastWithPrefix(sql, t, kid, prefix);
    if (!hi || compare(lo.key, hi) === 0) return lo;
    let d = prefix.length;
    while (d < lo.key.length && d < hi.length && lo.key[d] === hi[d]) d++;
    // hi > lo and they agree on [0, d): hi has a byte at d; lo may end at d (branch -1).
    // Pick among the branches that exist: a random byte in [lo[d], hi[d]] is kept when a
    // row continues with it, retried otherwise; after RANDOM_BRANCH_TRIES_MAX misses the
    // branch that follows the last miss is taken.
    const from = d < lo.key.length ? lo.key[d]! : -1;
    const to = hi[d]!;
    let b = to;
    for (let attempt = 0; attempt < RANDOM_BRANCH_TRIES_MAX; attempt++) {
      b = from + randInt(to - from + 1);
      if (b === from || b === to) break;
      const at = new Uint8Array(d + 1);
      at.set(hi.subarray(0, d), 0);
      at[d] = b;
      const r = firstAtLeast(sql, t, kid, at)!; // exists: at < hi
      if (r.key[d] === b) break;
      b = r.key[d]!;
    }
    if (b < 0) return lo;
    const next = new Uint8Array(d + 1);
    next.set(hi.subarray(0, d), 0);
    next[d] = b;
    prefix = next;
  }
  return firstAtLeast(sql, t, kid, prefix) ?? firstAtLeast(sql, t, kid, new Uint8Array(0))!;
}

/**
 * `n` random rows of a collection of `card` rows. `distinct`: no row twice (n is capped at
 * card); otherwise with repetition, in random order.
 *
 * Cost O(n) statements and O(n) memory whatever `card` is: when the collection has at
 * most RANDOM_SCAN_ROWS_PER_PICK rows per requested pick (or is small), one statement
 * streams it and keeps the rows at n random positions (exactly uniform; it stops at the
 * last wanted position); otherwise each pick is one trie descent (at most
 * RANDOM_DESCENT_DEPTH_MAX · (RANDOM_BRANCH_TRIES_MAX + 2) seeks).
 */
export function randomRows(sql: SqlStorage, t: BlobTable, kid: number, card: number, n: number, distinct: boolean): BlobRow[] {
  if (n <= 0 || card <= 0) return [];
  if (distinct) n = Math.min(n, card);
  const budget = new ReplyBudget();
  if (card <= RANDOM_EXACT_CARD_MAX || card <= n * RANDOM_SCAN_ROWS_PER_PICK) {
    return rowsAt(sql, t, kid, distinct ? distinctPositions(card, n) : Array.from({ length: n }, () => randInt(card)), budget);
  }
  if (!distinct) return Array.from({ length: n }, () => budget.charge(probe(sql, t, kid)));
  const seen = new Map<string, BlobRow>();
  const attemptsMax = n * 3 + 32;
  for (let a = 0; a < attemptsMax && seen.size < n; a++) {
    const r = probe(sql, t, kid);
    const k = latin1(r.key);
    if (!seen.has(k)) seen.set(k, budget.charge(r));
  }
  // Probes kept landing on the same rows (a very skewed trie): fill with the rows that
  // follow a random probe, wrapping around.
  if (seen.size < n) {
    let from = probe(sql, t, kid).key;
    let wrapped = false;
    while (seen.size < n) {
      const page = pageFrom(sql, t, kid, from, 0, n + 1);
      for (const r of page) {
        const k = latin1(r.key);
        if (seen.size < n && !seen.has(k)) seen.set(k, budget.charge(r));
      }
      if (page.length < n + 1) {
        if (wrapped) break;
        wrapped = true;
        from = new Uint8Array(0);
      } else {
        from = page[page.length - 1]!.key;
      }
    }
  }
  return [...seen.values()];
}

/** Counts the bytes of a random reply as it is built; refuses past RANDOM_REPLY_BYTES_MAX. */
class ReplyBudget {
  private bytes = 0;

  charge(r: BlobRow): BlobRow {
    this.bytes += r.key.length + (r.value?.length ?? 0);
    if (this.bytes > RANDOM_REPLY_BYTES_MAX) fail(`ERR reply exceeds the limit of ${RANDOM_REPLY_BYTES_MAX} bytes`);
    return r;
  }
}

/** `n` distinct positions in [0, card), uniformly (Floyd's sampling: O(n), not O(card)). */
function distinctPositions(card: number, n: number): number[] {
  const chosen = new Set<number>();
  for (let j = card - n; j < card; j++) {
    const x = randInt(j + 1);
    chosen.add(chosen.has(x) ? j : x);
  }
  return [...chosen];
}

/**
 * The rows at `positions` (in the collection's index order, a position may repeat), in
 * random order: one statement, read up to the largest position. The positions are drawn
 * independently of each other, so sorting them and shuffling the rows found gives the same
 * distribution as reading them in draw order. A position past the rows that exist (a
 * cardinality that disagrees with the rows) is dropped rather than invented.
 */
function rowsAt(sql: SqlStorage, t: BlobTable, kid: number, positions: ArrayLike<number>, budget: ReplyBudget): BlobRow[] {
  const sorted = Float64Array.from(positions).sort();
  const out: BlobRow[] = [];
  let next = 0;
  let i = 0;
  for (const r of sql.exec(`SELECT ${t.col}${t.extra} FROM ${t.table} WHERE kid = ? ORDER BY ${t.col}`, kid)) {
    if (sorted[next] === i) {
      const row = toRow(t, r);
      while (next < sorted.length && sorted[next] === i) {
        out.push(budget.charge(row));
        next++;
      }
      if (next === sorted.length) break;
    }
    i++;
  }
  shuffle(out);
  return out;
}

function shuffle<T>(a: T[]): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = randInt(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
}

const latinDec = new TextDecoder("latin1");
function latin1(b: Uint8Array): string {
  return latinDec.decode(b);
}

/** Redis 7.0's range check for the count of SRANDMEMBER/HRANDFIELD (-LONG_MAX..LONG_MAX). */
export function randomCountArg(b: Uint8Array): bigint {
  const v = i64Arg(b);
  if (v === I64_MIN) fail("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
  return v;
}

/** The cap on elements a negative count may ask for. */
export function checkRandomReply(n: bigint): number {
  if (n > BigInt(RANDOM_REPLY_ELEMENTS_MAX)) throw new RedisError(`ERR count exceeds the limit of ${RANDOM_REPLY_ELEMENTS_MAX} elements`);
  return Number(n);
}
