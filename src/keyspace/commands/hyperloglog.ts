/**
 * HyperLogLog commands (Redis 7.0 hyperloglog.c): PFADD, PFCOUNT, PFMERGE. An HLL is an
 * ordinary string holding Redis's representation (keyspace/hyperloglog.ts), so GET, DUMP,
 * snapshots and DEBUG DIGEST see the same bytes as redis-server's.
 *
 * Cost: an HLL is at most HLL_DENSE_BYTES (12,304) bytes once dense, and a sparse one at most
 * `hll-sparse-max-bytes` as PFADD/PFMERGE build it: one row, read and rewritten whole. PFADD
 * is O(elements); PFCOUNT and PFMERGE read each key once (16,384 registers each), and of a
 * longer (crafted, corrupt) string only its first HLL_READ_BYTES_MAX bytes. PFADD reads and
 * rewrites the whole value, as Redis does.
 *
 * Propagation (as Redis 7.0): PFADD and PFMERGE go verbatim when they changed the value.
 * PFCOUNT of one key whose cached cardinality is stale stores the fresh one in the value, and
 * on a master propagates itself (`PFCOUNT key`) so that replicas store the same bytes; on a
 * replica a client's PFCOUNT stores the cache locally and propagates nothing, as a Redis
 * replica does.
 *
 * One deviation: PFADD on a corrupt sparse value answers INVALIDOBJ and changes nothing
 * (redis-server keeps the registers it changed before finding the corruption, without
 * propagating them).
 */
import type { Reply } from "../../protocol/reply.ts";
import { OK } from "../../protocol/reply.ts";
import { assert } from "../../util/assert.ts";
import { readKey, writeKey } from "../args.ts";
import { type CommandSpec, type Ctx, cmd } from "../command.ts";
import { fail } from "../errors.ts";
import { HLL_DENSE, HLL_READ_BYTES_MAX, HLL_REGISTERS, HLL_SPARSE_MAX_BYTES_DEFAULT, HllValue, hllAdd, hllCount, hllCountRegisters, hllMerge, hllStoreRegisters, isHll } from "../hyperloglog.ts";
import { TYPE } from "../schema.ts";
import type { KeyMeta } from "../store.ts";

const NOT_HLL_ERR = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const INVALID_HLL_ERR = "INVALIDOBJ Corrupted HLL object detected";

/** Bytes a sparse HLL may reach before PFADD/PFMERGE promote it to dense (CONFIG hll-sparse-max-bytes). */
function sparseMaxBytes(ctx: Ctx): number {
  const v = ctx.node.configGet("hll-sparse-max-bytes")[0]?.[1];
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : HLL_SPARSE_MAX_BYTES_DEFAULT;
}

/** The HLL held by a string key (isHLLObjectOrReply), whole, with room to grow in place. */
function hllOf(ctx: Ctx, m: KeyMeta): HllValue {
  const value = ctx.ks.getString(m);
  if (!isHll(value)) fail(NOT_HLL_ERR);
  return new HllValue(value, 64);
}

/**
 * An HLL to count or merge: only its first HLL_READ_BYTES_MAX bytes, all that a walk over
 * its registers can reach, so a long crafted string costs no more than a valid HLL.
 */
function hllToRead(ctx: Ctx, m: KeyMeta): HllValue {
  const head = ctx.ks.getStringRange(m, 0, Math.min(m.card, HLL_READ_BYTES_MAX));
  if (!isHll(head, m.card)) fail(NOT_HLL_ERR);
  return new HllValue(head);
}

function store(ctx: Ctx, m: KeyMeta | null, key: Uint8Array, v: HllValue): void {
  if (m) ctx.ks.writeString(m, v.bytes());
  else ctx.ks.createString(ctx.db, key, v.bytes(), null);
}

/** PFADD key [element ...] → 1 when a register changed (or the key was created), else 0. */
function pfadd(ctx: Ctx): Reply {
  const key = ctx.argv[1]!;
  const m = writeKey(ctx, key, TYPE.string);
  const v = m ? hllOf(ctx, m) : HllValue.empty();
  let updated = m ? 0 : 1;
  // Only a sparse value consults the limit (a CONFIG lookup per command otherwise).
  const max = v.encoding === HLL_DENSE ? 0 : sparseMaxBytes(ctx);
  for (let j = 2; j < ctx.argv.length; j++) {
    const r = hllAdd(v, ctx.argv[j]!, max);
    if (r === -1) fail(INVALID_HLL_ERR);
    updated += r;
  }
  if (updated === 0) return 0;
  v.invalidateCache();
  store(ctx, m, key, v);
  ctx.dirty += updated;
  return 1;
}

/** PFCOUNT key [key ...]: one key uses and refreshes its cached cardinality; several are merged. */
function pfcount(ctx: Ctx): Reply {
  const argv = ctx.argv;
  if (argv.length > 2) {
    const max = new Uint8Array(HLL_REGISTERS);
    for (let j = 1; j < argv.length; j++) {
      const m = readKey(ctx, argv[j]!, TYPE.string);
      if (!m) continue;
      if (!hllMerge(max, hllToRead(ctx, m))) fail(INVALID_HLL_ERR);
    }
    return hllCountRegisters(max);
  }
  const key = argv[1]!;
  const m = readKey(ctx, key, TYPE.string);
  if (!m) return 0;
  const v = hllToRead(ctx, m);
  if (v.validCache()) {
    const card = v.cachedCard();
    return card <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(card) : card;
  }
  // A value longer than HLL_READ_BYTES_MAX is corrupt: the walk meets its overflow first.
  const card = hllCount(v);
  if (card === null) fail(INVALID_HLL_ERR);
  assert(v.len === m.card, "a countable HLL was read whole");
  v.setCachedCard(card);
  // The cache is part of the value: store it (the snapshot hook sees the key first), signal
  // WATCH, and on a master send the same PFCOUNT to replicas.
  const w = ctx.ks.lookupWrite(ctx.db, key);
  if (w) ctx.ks.writeString(w, v.bytes());
  ctx.touched(ctx.db, key);
  ctx.dirty++;
  if (!ctx.node.isReplica()) ctx.alsoPropagate(argv);
  return card;
}

/** PFMERGE destkey [sourcekey ...]: the union into destkey (dense when any input is dense). */
function pfmerge(ctx: Ctx): Reply {
  const argv = ctx.argv;
  const max = new Uint8Array(HLL_REGISTERS);
  let useDense = false;
  // The destination is the first source too, so it is validated here.
  for (let j = 1; j < argv.length; j++) {
    const m = readKey(ctx, argv[j]!, TYPE.string);
    if (!m) continue;
    const v = hllToRead(ctx, m);
    if (v.encoding === HLL_DENSE) useDense = true;
    if (!hllMerge(max, v)) fail(INVALID_HLL_ERR);
  }
  const key = argv[1]!;
  const m = writeKey(ctx, key, TYPE.string);
  const v = m ? hllOf(ctx, m) : HllValue.empty();
  if (!hllStoreRegisters(v, max, useDense, sparseMaxBytes(ctx))) fail(INVALID_HLL_ERR);
  store(ctx, m, key, v);
  ctx.dirty++;
  return OK;
}

export const hyperloglogCommands: CommandSpec[] = [
  cmd("pfadd", -2, ["write", "denyoom", "fast"], [1, 1, 1], pfadd),
  cmd("pfcount", -2, ["readonly"], [1, -1, 1], pfcount),
  cmd("pfmerge", -2, ["write", "denyoom"], [1, -1, 1], pfmerge),
];
