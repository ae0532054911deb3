/**
 * Numbers become strings as Lua 5.1 prints them ("%.14g") everywhere, concatenation and
 * string coercion included: Fengari's lapi and lvm look lobject.luaO_tostring up on the
 * module object at call time, so replacing it there covers them all. Imported after
 * lua.js (Fengari's modules require each other in cycles that only lua.js's order
 * initializes). Under @cloudflare/vitest-pool-workers, ESM imports of Fengari's files get
 * module instances of their own, so there this patch misses concatenation (tostring() is
 * covered in vm.ts either way); the deployed bundle (esbuild) has one instance of each, and
 * test/node/scripting-differential.test.ts checks concatenation against redis-server there.
 */
// Imported for its order (see above), and used, so that bundlers keep it: Fengari declares no side effects.
import fengariLua from "fengari/src/lua.js";
import lobject from "fengari/src/lobject.js";
import lstring from "fengari/src/lstring.js";
import { luaNumberToString } from "./numfmt.ts";

const enc = new TextEncoder();

lobject.luaO_tostring = (L: unknown, obj: { ttisinteger(): boolean; value: number; setsvalue(s: unknown): void }) => {
  const text = obj.ttisinteger() ? String(obj.value) : luaNumberToString(obj.value);
  obj.setsvalue(lstring.luaS_bless(L, enc.encode(text)));
};

export const TOSTRING_PATCHED = true;

void fengariLua;
