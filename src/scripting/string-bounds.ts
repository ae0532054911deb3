/**
 * Every string a script holds is at most SCRIPT_STRING_BYTES_MAX bytes (the largest value a
 * command accepts). Fengari allocates a string before anyone can look at it, so the bound is
 * enforced where a new string is placed on the Lua stack, which every way of making one passes
 * through: concatenation's result (lobject.setsvalue2s) and every string a library function or
 * the host pushes (lobject.pushsvalue2s). Both are looked up on the module object at call
 * time, so replacing them there covers the VM and the libraries. A string past the bound is
 * the error Lua itself raises for one, "string length overflow".
 *
 * That stops a loop of `s = s .. s` at twice the bound instead of at the isolate's memory (a
 * read-only token's EVAL_RO of 28 doublings took the whole runtime down). Library functions
 * that build a result piece by piece (table.concat, string.format, string.gsub) are checked
 * before they start, in vm.ts, since their buffer grows before the result is pushed.
 *
 * Under @cloudflare/vitest-pool-workers Fengari's files may be separate module instances
 * (see tostring-patch.ts), so this is tested through the deployed bundle
 * (test/node/script-bounds.test.ts).
 */
// Imported for its order (see above), and used, so that bundlers keep it: Fengari declares no side effects.
import fengariLua from "fengari/src/lua.js";
import ldebug from "fengari/src/ldebug.js";
import lobject from "fengari/src/lobject.js";
import { VALUE_BYTES_MAX } from "../limits.ts";

/** Largest string a script may make or hold (the largest value a command accepts). */
export const SCRIPT_STRING_BYTES_MAX = VALUE_BYTES_MAX;

const OVERFLOW = new TextEncoder().encode("string length overflow");

interface TStringLike {
  tsslen(): number;
}

const setsvalue2s = lobject.setsvalue2s as (L: unknown, i: number, ts: TStringLike) => void;
const pushsvalue2s = lobject.pushsvalue2s as (L: unknown, ts: TStringLike) => void;

lobject.setsvalue2s = (L: unknown, i: number, ts: TStringLike) => {
  if (ts.tsslen() > SCRIPT_STRING_BYTES_MAX) ldebug.luaG_runerror(L, OVERFLOW);
  setsvalue2s(L, i, ts);
};
lobject.pushsvalue2s = (L: unknown, ts: TStringLike) => {
  if (ts.tsslen() > SCRIPT_STRING_BYTES_MAX) ldebug.luaG_runerror(L, OVERFLOW);
  pushsvalue2s(L, ts);
};

export const STRING_BOUNDS_PATCHED = true;

void fengariLua;
