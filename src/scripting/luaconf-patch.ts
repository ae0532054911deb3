/**
 * Makes Fengari (Lua 5.3) print integral floats as Lua 5.1 does ("3", not "3.0"): its
 * luaconf.js reads LUA_COMPAT_FLOATSTRING from process.env.FENGARICONF when it loads, so
 * this module must run before any Fengari module (lua.ts imports it first). Fengari's
 * modules require each other in cycles that only resolve in the order lua.js loads them,
 * so nothing here imports them directly. tostring() itself is replaced in vm.ts with C's
 * "%.14g"; concatenation of numbers below 1e-4 or from 1e15 to 1e21 still prints them
 * JavaScript's way (see NOTES).
 */
import "./process-guard.ts";

const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
if (proc?.env && proc.env.FENGARICONF === undefined) proc.env.FENGARICONF = JSON.stringify({ LUA_COMPAT_FLOATSTRING: true });

export const LUACONF_PATCHED = true;
