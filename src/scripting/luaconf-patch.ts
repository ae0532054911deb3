/**
 * Makes Fengari (Lua 5.3) print numbers as Redis's Lua 5.1 does. Must be imported before any
 * other Fengari module: they copy these settings out of luaconf.js when they load, so the
 * patch only takes effect if it runs first (vm.ts imports this module first).
 *  - LUA_COMPAT_FLOATSTRING: an integral float prints without ".0" ("3", not "3.0").
 *  - lua_number2str: C's "%.14g" ("1e+20", "1e-05", "inf", "-nan"), not JavaScript's.
 */
// defs.js first: it and luaconf.js require each other, and only this order initializes both.
import "fengari/src/defs.js";
import luaconf from "fengari/src/luaconf.js";
import { luaNumberToString } from "./numfmt.ts";

luaconf.LUA_COMPAT_FLOATSTRING = true;
luaconf.lua_number2str = luaNumberToString;

export const LUACONF_PATCHED = true;
