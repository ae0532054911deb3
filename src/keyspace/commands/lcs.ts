/**
 * LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN] (Redis 7.0's lcsCommand): the
 * classic dynamic-programming table, then a walk back from its corner that emits the
 * matching ranges in Redis's order. The table costs (len1+1)·(len2+1) 32-bit cells, bounded
 * by LCS_TABLE_BYTES_MAX before anything is allocated.
 */
import { RespMap, type Reply } from "../../protocol/reply.ts";
import { utf8 } from "../../util/bytes.ts";
import { i64Arg, opt } from "../args.ts";
import { type CommandSpec, type Ctx, cmd } from "../command.ts";
import { E, fail } from "../errors.ts";
import { TYPE } from "../schema.ts";

/** Largest LCS table (bytes of 32-bit cells) one command may allocate (Redis: proto-max-bulk-len, 512 MiB). */
export const LCS_TABLE_BYTES_MAX = 32 * 1024 * 1024;

function value(ctx: Ctx, key: Uint8Array): Uint8Array | null {
  const m = ctx.ks.lookupRead(ctx.db, key);
  if (!m) return new Uint8Array(0);
  if (m.type !== TYPE.string) return null;
  return ctx.ks.getString(m);
}

function lcs(ctx: Ctx): Reply {
  const ma = ctx.ks.lookupRead(ctx.db, ctx.argv[1]!);
  const mb = ctx.ks.lookupRead(ctx.db, ctx.argv[2]!);
  if ((ma && ma.type !== TYPE.string) || (mb && mb.type !== TYPE.string)) fail("ERR The specified keys must contain string values");
  let getlen = false;
  let getidx = false;
  let withmatchlen = false;
  let minmatchlen = 0n;
  for (let j = 3; j < ctx.argv.length; j++) {
    const o = opt(ctx.argv[j]!);
    const more = ctx.argv.length - 1 - j;
    if (o === "idx") getidx = true;
    else if (o === "len") getlen = true;
    else if (o === "withmatchlen") withmatchlen = true;
    else if (o === "minmatchlen" && more) {
      minmatchlen = i64Arg(ctx.argv[++j]!);
      if (minmatchlen < 0n) minmatchlen = 0n;
    } else fail(E.syntax);
  }
  if (getlen && getidx) fail("ERR If you want both the length and indexes, please just use IDX.");
  const alen = ma?.card ?? 0;
  const blen = mb?.card ?? 0;
  if ((alen + 1) * (blen + 1) * 4 > LCS_TABLE_BYTES_MAX) {
    fail(`ERR Insufficient memory, transient memory for LCS exceeds the limit of ${LCS_TABLE_BYTES_MAX} bytes`);
  }
  const a = value(ctx, ctx.argv[1]!)!;
  const b = value(ctx, ctx.argv[2]!)!;
  const w = blen + 1;
  const t = new Uint32Array((alen + 1) * w);
  for (let i = 1; i <= alen; i++) {
    for (let j = 1; j <= blen; j++) {
      t[i * w + j] = a[i - 1] === b[j - 1] ? t[(i - 1) * w + j - 1]! + 1 : Math.max(t[(i - 1) * w + j]!, t[i * w + j - 1]!);
    }
  }
  const total = t[alen * w + blen]!;
  if (getlen) return total;
  const result = new Uint8Array(total);
  const matches: Reply[] = [];
  let idx = total;
  let arangeStart = alen; // alen: no range open
  let arangeEnd = 0;
  let brangeStart = 0;
  let brangeEnd = 0;
  let i = alen;
  let j = blen;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a[i - 1] === b[j - 1]) {
      result[idx - 1] = a[i - 1]!;
      if (arangeStart === alen) {
        arangeStart = i - 1;
        arangeEnd = i - 1;
        brangeStart = j - 1;
        brangeEnd = j - 1;
      } else if (arangeStart === i && brangeStart === j) {
        arangeStart--;
        brangeStart--;
      } else {
        emit = true;
      }
      if (arangeStart === 0 || brangeStart === 0) emit = true;
      idx--;
      i--;
      j--;
    } else {
      if (t[(i - 1) * w + j]! > t[i * w + j - 1]!) i--;
      else j--;
      if (arangeStart !== alen) emit = true;
    }
    const matchLen = arangeEnd - arangeStart + 1;
    if (emit) {
      if (minmatchlen === 0n || BigInt(matchLen) >= minmatchlen) {
        const entry: Reply[] = [
          [arangeStart, arangeEnd],
          [brangeStart, brangeEnd],
        ];
        if (withmatchlen) entry.push(matchLen);
        matches.push(entry);
      }
      arangeStart = alen;
    }
  }
  if (getidx) {
    return new RespMap([
      [utf8("matches"), matches],
      [utf8("len"), total],
    ]);
  }
  return result;
}

export const lcsCommands: CommandSpec[] = [cmd("lcs", -3, ["readonly"], [1, 2, 1], lcs)];
