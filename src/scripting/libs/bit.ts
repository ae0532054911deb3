/**
 * The `bit` library (LuaBitOp 1.0, which Redis bundles): 32-bit bit operations on numbers.
 * Arguments are normalized as LuaBitOp's tobit does (rounded to the nearest integer, then
 * taken modulo 2^32 as a signed value); results are numbers.
 */
import "../luaconf-patch.ts";
import { checkNumber, type LuaFn, type LuaState, lua, pushBytes, setFn } from "../lua.ts";

/** LuaBitOp's tobit: round half to even (the 2^52+2^51 addition trick), keep the low 32 bits, signed. */
export function tobit(x: number): number {
  if (!Number.isFinite(x)) return 0;
  let r = Math.round(x);
  if (Math.abs(x % 1) === 0.5 && r % 2 !== 0) r -= 1; // ties to even, as the FPU rounds
  return Number(BigInt.asIntN(32, BigInt(r)));
}

const arg = (L: LuaState, i: number) => tobit(checkNumber(L, i));

function push(L: LuaState, v: number): number {
  lua.lua_pushnumber(L, v | 0);
  return 1;
}

function fold(op: (a: number, b: number) => number): LuaFn {
  return (L) => {
    const n = lua.lua_gettop(L);
    let r = arg(L, 1);
    for (let i = 2; i <= n; i++) r = op(r, arg(L, i));
    return push(L, r);
  };
}

/** Push the `bit` table. */
export function openBit(L: LuaState): void {
  lua.lua_createtable(L, 0, 12);
  setFn(L, "tobit", (L) => push(L, arg(L, 1)));
  setFn(L, "bnot", (L) => push(L, ~arg(L, 1)));
  setFn(L, "band", fold((a, b) => a & b));
  setFn(L, "bor", fold((a, b) => a | b));
  setFn(L, "bxor", fold((a, b) => a ^ b));
  setFn(L, "lshift", (L) => push(L, arg(L, 1) << (arg(L, 2) & 31)));
  setFn(L, "rshift", (L) => push(L, arg(L, 1) >>> (arg(L, 2) & 31)));
  setFn(L, "arshift", (L) => push(L, arg(L, 1) >> (arg(L, 2) & 31)));
  setFn(L, "rol", (L) => {
    const a = arg(L, 1);
    const n = arg(L, 2) & 31;
    return push(L, (a << n) | (a >>> (32 - n)));
  });
  setFn(L, "ror", (L) => {
    const a = arg(L, 1);
    const n = arg(L, 2) & 31;
    return push(L, (a >>> n) | (a << (32 - n)));
  });
  setFn(L, "bswap", (L) => {
    const a = arg(L, 1);
    return push(L, ((a >>> 24) & 0xff) | ((a >>> 8) & 0xff00) | ((a & 0xff00) << 8) | (a << 24));
  });
  setFn(L, "tohex", (L) => {
    const b = arg(L, 1);
    let n = lua.lua_isnoneornil(L, 2) ? 8 : arg(L, 2);
    const upper = n < 0;
    if (upper) n = -n;
    if (n > 8) n = 8;
    let s = (b >>> 0).toString(16).padStart(8, "0").slice(8 - n);
    if (upper) s = s.toUpperCase();
    pushBytes(L, s);
    return 1;
  });
}
