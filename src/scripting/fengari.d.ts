/**
 * Fengari (Lua 5.3 in plain JavaScript) ships no types. We use its C-like API through
 * these modules only; every value is loosely typed here and wrapped in vm.ts.
 */
declare module "fengari/src/lua.js" {
  const lua: any;
  export default lua;
}
declare module "fengari/src/lauxlib.js" {
  const lauxlib: any;
  export default lauxlib;
}
declare module "fengari/src/luaconf.js" {
  const luaconf: any;
  export default luaconf;
}
declare module "fengari/src/lbaselib.js" {
  export function luaopen_base(L: unknown): number;
}
declare module "fengari/src/lstrlib.js" {
  export function luaopen_string(L: unknown): number;
}
declare module "fengari/src/lmathlib.js" {
  export function luaopen_math(L: unknown): number;
}
declare module "fengari/src/ltablib.js" {
  export function luaopen_table(L: unknown): number;
}
declare module "fengari/src/lcorolib.js" {
  export function luaopen_coroutine(L: unknown): number;
}
declare module "fengari/src/ldblib.js" {
  export function luaopen_debug(L: unknown): number;
}
declare module "fengari/src/defs.js" {
  const defs: any;
  export default defs;
}
declare module "fengari/src/lobject.js" {
  const lobject: any;
  export default lobject;
}
declare module "fengari/src/lstring.js" {
  const lstring: any;
  export default lstring;
}
declare module "fengari/src/ldebug.js" {
  const ldebug: any;
  export default ldebug;
}
