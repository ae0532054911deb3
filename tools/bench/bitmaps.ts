/**
 * Section "bitmaps": single bit commands on a 1 KiB string and on a 16 MiB one (256 rows of
 * 64 KiB in our storage, the rows of zeros not stored), one request at a time. The point: SETBIT/GETBIT/BITFIELD and a
 * small-range BITCOUNT cost about the same on both sizes (they touch one row), while a
 * whole-value BITCOUNT grows with the value. Same against redis-server for reference.
 */
import { VALUE_BYTES_MAX } from "../../src/limits.ts";
import type { BenchContext } from "./context.ts";
import { envInt, now, ok, type Arg, type RespClient } from "./lib.ts";

const SMALL_BYTES = 1024;

type Op = { name: string; cmd: (bytes: number) => Arg[] };

const rndBit = (bytes: number) => String(Math.floor(Math.random() * bytes * 8));

const OPS: Op[] = [
  { name: "SETBIT (random bit)", cmd: (bytes) => ["SETBIT", `b${bytes}`, rndBit(bytes), String(Math.round(Math.random()))] },
  { name: "GETBIT (random bit)", cmd: (bytes) => ["GETBIT", `b${bytes}`, rndBit(bytes)] },
  { name: "BITFIELD INCRBY u16 (random)", cmd: (bytes) => ["BITFIELD", `b${bytes}`, "INCRBY", "u16", String(Math.floor(Math.random() * (bytes * 8 - 16))), "1"] },
  { name: "BITCOUNT 1 KiB range", cmd: (bytes) => { const s = Math.floor(Math.random() * (bytes - 1024)); return ["BITCOUNT", `b${bytes}`, String(s), String(s + 1023)]; } },
  { name: "BITCOUNT whole value", cmd: (bytes) => ["BITCOUNT", `b${bytes}`] },
];

async function timeOp(c: RespClient, op: Op, bytes: number, n: number): Promise<number> {
  ok(await c.call(...op.cmd(bytes)), op.name);
  const t0 = now();
  for (let i = 0; i < n; i++) ok(await c.call(...op.cmd(bytes)), op.name);
  return ((now() - t0) * 1000) / n;
}

export async function bitmaps(ctx: BenchContext): Promise<void> {
  const n = envInt("BENCH_BITMAP_OPS", 200, 30);
  const S = "bitmaps";
  const ours = await ctx.node(ctx.freshDb("bits"), "master");
  const redis = await ctx.redis();
  const ref = await ctx.redisClient(redis);
  for (const c of [ours, ref]) {
    for (const bytes of [SMALL_BYTES, VALUE_BYTES_MAX]) ok(await c.call("SETRANGE", `b${bytes}`, String(bytes - 1), "x"), "SETRANGE build");
  }
  for (const op of OPS) {
    for (const bytes of [SMALL_BYTES, VALUE_BYTES_MAX]) {
      const o = await timeOp(ours, op, bytes, n);
      const r = await timeOp(ref, op, bytes, n);
      ctx.results.add({
        section: S,
        metric: `${op.name} @ ${bytes === SMALL_BYTES ? "1 KiB" : "16 MiB"}`,
        unit: "µs/op",
        ours: o,
        redis: r,
        how: `${n} single-command requests, one at a time, on a ${bytes}-byte string, e.g. ${op.cmd(bytes).join(" ")}`,
      });
    }
  }
  await redis.stop();
}
