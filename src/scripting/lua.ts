/**
 * The one entry point to Fengari (Lua 5.3 in plain JavaScript: Workers forbid `eval` and
 * runtime WebAssembly compilation, and Fengari needs neither). luaconf-patch.ts must run
 * before Fengari's own modules load, so it is imported first here and everything else
 * imports Fengari through this module.
 */
import "./luaconf-patch.ts";
// lua.js before lauxlib.js: lauxlib requires luaconf.js first, and luaconf.js and defs.js
// require each other; only the order lua.js takes (defs first) initializes both.
import luaModule from "fengari/src/lua.js";
// biome-ignore lint: the order above matters
import lauxlibModule from "fengari/src/lauxlib.js";
import "./tostring-patch.ts";

/** A Lua state (lua_State*); opaque to us. */
export type LuaState = { readonly __luaState: unique symbol };
/** A JavaScript function callable from Lua: reads its arguments from the stack, returns how many results it pushed. */
export type LuaFn = (L: LuaState) => number;

export const lua = luaModule;
export const lauxlib = lauxlibModule;

export const enc = new TextEncoder();
export const dec = new TextDecoder();

/** Push a JavaScript string or bytes as a Lua string. */
export function pushBytes(L: LuaState, s: string | Uint8Array): void {
  lua.lua_pushstring(L, typeof s === "string" ? enc.encode(s) : s);
}

/** The bytes of the string (or number, converted) at `idx`, or null. */
export function toBytes(L: LuaState, idx: number): Uint8Array | null {
  return lua.lua_tolstring(L, idx);
}

/** Raise a Lua error with a string message, optionally prefixed with the position `level` (luaL_where). */
export function raise(L: LuaState, msg: string, level = 0): never {
  if (level > 0) {
    lauxlib.luaL_where(L, level);
    pushBytes(L, msg);
    lua.lua_concat(L, 2);
  } else pushBytes(L, msg);
  lua.lua_error(L);
  throw new Error("unreachable: lua_error returned");
}

/** Set t[name] = fn on the table at the top of the stack. */
export function setFn(L: LuaState, name: string, fn: LuaFn): void {
  lua.lua_pushcfunction(L, fn);
  lua.lua_setfield(L, -2, enc.encode(name));
}

/** Set t[name] = value (a number or string) on the table at the top of the stack. */
export function setField(L: LuaState, name: string, v: number | string): void {
  if (typeof v === "number") lua.lua_pushnumber(L, v);
  else pushBytes(L, v);
  lua.lua_setfield(L, -2, enc.encode(name));
}

/** A number argument as Lua 5.1's luaL_checknumber reads it, with its error text. */
export function checkNumber(L: LuaState, arg: number): number {
  return lauxlib.luaL_checknumber(L, arg);
}
