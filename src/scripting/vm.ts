/**
 * The Lua VM of a node, set up as Redis 7.0 sets up its own (script_lua.c, eval.c): the
 * base, table, string, math and coroutine libraries plus cjson, bit, struct and cmsgpack,
 * the `redis` API, read-only globals (reading a missing global or writing any global is an
 * error), an error handler that records the failing line, and a count hook that stops a
 * script past its time budget. Scripts are compiled once into functions kept in the
 * registry under `f_<sha>`, as Redis does.
 *
 * Lua 5.1 compatibility on top of Fengari's Lua 5.3: numbers print as "%.14g"
 * (luaconf-patch.ts), integer literals become floats (float-literals.ts) and the host
 * hands Lua floats only, so arithmetic never wraps at 32 bits; Lua 5.1's globals
 * (unpack, loadstring, table.getn, math.pow…) are provided and 5.3-only ones removed;
 * runtime error texts are rewritten into Lua 5.1's wording.
 */
import "./luaconf-patch.ts";
import { SCRIPT_STRING_BYTES_MAX } from "./string-bounds.ts";
import { createHash } from "node:crypto";
import { luaopen_base } from "fengari/src/lbaselib.js";
import { luaopen_coroutine } from "fengari/src/lcorolib.js";
import { luaopen_math } from "fengari/src/lmathlib.js";
import { luaopen_string } from "fengari/src/lstrlib.js";
import { luaopen_table } from "fengari/src/ltablib.js";
import { RedisError, type Reply } from "../protocol/reply.ts";
import { formatG17 } from "../util/numbers.ts";
import { errorFromText, popReply, pushErrorTable, pushReply, type ReplyCharge } from "./convert.ts";
import { floatLiterals } from "./float-literals.ts";
import { luaNumberToString } from "./numfmt.ts";
import { openBit } from "./libs/bit.ts";
import { CJSON_NULL, openCjson } from "./libs/cjson.ts";
import { openCmsgpack } from "./libs/cmsgpack.ts";
import { openStruct } from "./libs/struct.ts";
import { dec, enc, type LuaFn, type LuaState, lauxlib, lua, pushBytes, raise, setFn, setField } from "./lua.ts";
import { Lrand48 } from "./rand48.ts";

/**
 * Instructions a script may run per millisecond of its budget. Workers do not advance the
 * clock while JavaScript runs without I/O, so the budget is also counted in instructions
 * (Fengari in workerd ran 60–85M instructions per second here: a 100,000-iteration loop,
 * ~4 instructions each, took 4.6–6.8 ms; the budget assumes a little less, see NOTES).
 */
export const SCRIPT_INSTRUCTIONS_PER_MS = 50_000;
/** Lua instructions between two checks of the script's time budget (Redis: 100,000). */
export const SCRIPT_HOOK_INSTRUCTIONS = 10_000;

/** What a running script can do to the node: run commands, and what it knows about its run. */
export interface ScriptRun {
  /** Run a command inside the script's execution unit; an error reply is a RedisError. */
  call(argv: Uint8Array[], resp: 2 | 3): Reply;
  /** redis.log at a level (0 debug … 3 warning). */
  log(level: number, msg: string): void;
  /** True once the script must stop (time budget spent, SCRIPT KILL). Checked by the count hook. */
  interrupted(): string | null;
  /** redis.set_repl flags (accepted; effects replication is always on). */
  setRepl(flags: number): void;
  /** Count the script's reply against the caller's output limit (throws the refusal past it). */
  chargeReply: ReplyCharge;
}

const REDIS_VERSION = "7.0.15";
const REDIS_VERSION_NUM = 0x07000f;

export function sha1hex(b: Uint8Array): string {
  return createHash("sha1").update(b).digest("hex");
}

/** Lua 5.3's "attempt to index a nil value (local 't')" → Lua 5.1's "attempt to index local 't' (a nil value)". */
export function lua51Message(msg: string): string {
  return msg
    .replace(/attempt to (.+?) a (\w+) value \((global|local|field|upvalue|method|constant) '([^']*)'\)/, "attempt to $1 $3 '$4' (a $2 value)")
    .replace(/near <eof>/, "near '<eof>'");
}

export class LuaVM {
  readonly L: LuaState;
  private run: ScriptRun | null = null;
  private resp: 2 | 3 = 2;
  private readonly rand = new Lrand48();
  private envRef = 0;
  private handlerRef = 0;

  constructor() {
    const L = lauxlib.luaL_newstate() as LuaState;
    this.L = L;
    // A JavaScript exception inside the VM (an allocation that fails, a bug) becomes a Lua
    // error with its message instead of an opaque failure.
    lua.lua_atnativeerror(L, (L: LuaState) => {
      const e = lua.lua_touserdata(L, 1) as unknown;
      pushBytes(L, e instanceof Error ? e.message : String(e));
      return 1;
    });
    this.openLibraries();
    this.installRedisApi();
    this.installErrorHandler();
    this.protectGlobals();
  }

  // --- set-up --------------------------------------------------------------------------

  private openLibraries(): void {
    const L = this.L;
    for (const [name, open] of [
      ["_G", luaopen_base],
      ["table", luaopen_table],
      ["string", luaopen_string],
      ["math", luaopen_math],
      ["coroutine", luaopen_coroutine],
    ] as const) {
      lauxlib.luaL_requiref(L, enc.encode(name), open, 1);
      lua.lua_pop(L, 1);
    }
    for (const [name, open] of [
      ["cjson", openCjson],
      ["bit", openBit],
      ["struct", openStruct],
      ["cmsgpack", openCmsgpack],
    ] as const) {
      open(L);
      lua.lua_setglobal(L, enc.encode(name));
    }
    // Lua 5.3 globals that Redis's Lua 5.1 does not have (and the ones Redis removes).
    for (const g of ["dofile", "loadfile", "print", "require", "rawlen", "utf8", "load"]) {
      lua.lua_pushnil(L);
      lua.lua_setglobal(L, enc.encode(g));
    }
    const drop = (lib: string, names: string[]) => {
      lua.lua_getglobal(L, enc.encode(lib));
      for (const n of names) {
        lua.lua_pushnil(L);
        lua.lua_setfield(L, -2, enc.encode(n));
      }
      lua.lua_pop(L, 1);
    };
    this.installLua51Compat();
    drop("math", ["type", "tointeger", "ult", "maxinteger", "mininteger"]);
    drop("string", ["pack", "packsize", "unpack"]);
    drop("table", ["pack", "unpack", "move"]);
    drop("coroutine", ["isyieldable"]);
  }

  /** Lua 5.1 functions missing from 5.3, and number functions that must return floats. */
  private installLua51Compat(): void {
    const L = this.L;
    const num = (fn: (...a: number[]) => number, arity: number): LuaFn => (L) => {
      const a: number[] = [];
      for (let i = 1; i <= arity; i++) a.push(lauxlib.luaL_checknumber(L, i));
      lua.lua_pushnumber(L, fn(...a));
      return 1;
    };
    lua.lua_getglobal(L, enc.encode("math"));
    setFn(L, "floor", num(Math.floor, 1));
    setFn(L, "ceil", num(Math.ceil, 1));
    setFn(L, "pow", num(Math.pow, 2));
    setFn(L, "log10", num(Math.log10, 1));
    setFn(L, "cosh", num(Math.cosh, 1));
    setFn(L, "sinh", num(Math.sinh, 1));
    setFn(L, "tanh", num(Math.tanh, 1));
    setFn(L, "mod", num((a, b) => a % b, 2));
    setFn(L, "fmod", num((a, b) => a % b, 2));
    setFn(L, "abs", num(Math.abs, 1));
    setFn(L, "ldexp", num((m, e) => m * 2 ** e, 2));
    setFn(L, "frexp", (L) => {
      const x = lauxlib.luaL_checknumber(L, 1);
      if (x === 0 || !Number.isFinite(x)) {
        lua.lua_pushnumber(L, x);
        lua.lua_pushnumber(L, 0);
        return 2;
      }
      let e = Math.max(-1073, Math.floor(Math.log2(Math.abs(x))) + 1);
      let m = x * 2 ** -e;
      while (Math.abs(m) < 0.5) (m *= 2), e--;
      while (Math.abs(m) >= 1) (m /= 2), e++;
      lua.lua_pushnumber(L, m);
      lua.lua_pushnumber(L, e);
      return 2;
    });
    setFn(L, "modf", (L) => {
      const x = lauxlib.luaL_checknumber(L, 1);
      const i = x >= 0 ? Math.floor(x) : Math.ceil(x);
      lua.lua_pushnumber(L, i);
      lua.lua_pushnumber(L, Number.isFinite(x) ? x - i : 0);
      return 2;
    });
    setFn(L, "random", (L) => this.mathRandom(L));
    setFn(L, "randomseed", (L) => {
      if (!this.run) raise(L, "math.randomseed can only be called inside a script invocation", 1);
      this.rand.seed(Math.trunc(lauxlib.luaL_checknumber(L, 1)) | 0);
      return 0;
    });
    lua.lua_pop(L, 1);
    lua.lua_getglobal(L, enc.encode("table"));
    lua.lua_getfield(L, -1, enc.encode("unpack"));
    lua.lua_setglobal(L, enc.encode("unpack"));
    setFn(L, "getn", (L) => {
      lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
      lua.lua_pushnumber(L, lua.lua_rawlen(L, 1));
      return 1;
    });
    setFn(L, "setn", (L) => raise(L, "'setn' is obsolete", 1));
    setFn(L, "maxn", (L) => {
      lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
      let max = 0;
      lua.lua_pushnil(L);
      while (lua.lua_next(L, 1)) {
        lua.lua_pop(L, 1);
        if (lua.lua_type(L, -1) === lua.LUA_TNUMBER) max = Math.max(max, lua.lua_tonumber(L, -1));
      }
      lua.lua_pushnumber(L, max);
      return 1;
    });
    lua.lua_pop(L, 1);
    lua.lua_getglobal(L, enc.encode("string"));
    lua.lua_getfield(L, -1, enc.encode("gmatch"));
    lua.lua_setfield(L, -2, enc.encode("gfind"));
    // string.rep is the one-call way to build a huge string: bounded.
    lua.lua_getfield(L, -1, enc.encode("rep"));
    const repRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    setFn(L, "rep", (L) => {
      const s = lauxlib.luaL_checklstring(L, 1) as Uint8Array;
      const n = lauxlib.luaL_checknumber(L, 2);
      const sep = lua.lua_isnoneornil(L, 3) ? 0 : (lauxlib.luaL_checklstring(L, 3) as Uint8Array).length;
      if (n > 0 && (s.length + sep) * n > SCRIPT_STRING_BYTES_MAX) raise(L, "resulting string too large", 1);
      const top = lua.lua_gettop(L);
      lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, repRef);
      lua.lua_insert(L, 1);
      lua.lua_call(L, top, 1);
      return 1;
    });
    lua.lua_pop(L, 1);
    // tonumber returns floats (Lua 5.1 has no integers); keep 5.3's parsing of the text.
    lua.lua_getglobal(L, enc.encode("tonumber"));
    const tonumberRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    lua.lua_pushcfunction(L, (L: LuaState) => {
      const n = lua.lua_gettop(L);
      lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, tonumberRef);
      lua.lua_insert(L, 1);
      lua.lua_call(L, n, 1);
      if (lua.lua_type(L, -1) === lua.LUA_TNUMBER) {
        const v = lua.lua_tonumber(L, -1);
        lua.lua_pop(L, 1);
        lua.lua_pushnumber(L, v);
      }
      return 1;
    });
    lua.lua_setglobal(L, enc.encode("tonumber"));
    lua.lua_pushcfunction(L, (L: LuaState) => {
      lua.lua_pushnumber(L, 0);
      return 1;
    });
    lua.lua_setglobal(L, enc.encode("gcinfo"));
    // tostring(number) as Lua 5.1's "%.14g" (1e+20, 1e-05, inf, -nan).
    lua.lua_getglobal(L, enc.encode("tostring"));
    const tostringRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    lua.lua_pushcfunction(L, (L: LuaState) => {
      if (lua.lua_type(L, 1) === lua.LUA_TNUMBER) {
        pushBytes(L, luaNumberToString(lua.lua_tonumber(L, 1)));
        return 1;
      }
      const n = lua.lua_gettop(L);
      lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, tostringRef);
      lua.lua_insert(L, 1);
      lua.lua_call(L, n, 1);
      return 1;
    });
    lua.lua_setglobal(L, enc.encode("tostring"));
    pushBytes(L, "Lua 5.1");
    lua.lua_setglobal(L, enc.encode("_VERSION"));
    lua.lua_pushcfunction(L, (L: LuaState) => this.loadString(L));
    lua.lua_setglobal(L, enc.encode("loadstring"));
    this.boundBuilders();
  }

  /**
   * table.concat, string.format and string.gsub build their result in a buffer that grows
   * before the result is pushed (where string-bounds.ts checks it): each first works out how
   * long its result can be, and refuses past SCRIPT_STRING_BYTES_MAX ("resulting string too
   * large", as string.rep) instead of growing a buffer to whatever the arguments multiply to
   * (table.concat of a table holding one 16 MiB string a thousand times, gsub of "%0%0…").
   * gsub with a string replacement measures its matches with a first pass; with a function or
   * a table, it counts the replacements as they come (up to twice the bound: the matched text
   * they replace is not known there; the pushed result is checked exactly).
   *
   * The checks are Lua (`boundChecks`); the functions scripts call are host functions that run
   * the check, then Fengari's own function with the caller's arguments as they were (count
   * included, so "got no value" stays), and give its errors the caller's position and the
   * function's name, as when a script calls it directly (Redis's error texts, user_script:N:).
   */
  private boundBuilders(): void {
    const L = this.L;
    if (lauxlib.luaL_loadbufferx(L, enc.encode(boundChecks(SCRIPT_STRING_BYTES_MAX)), null, enc.encode("=bounds"), enc.encode("t")) !== lua.LUA_OK) {
      throw new Error(`script VM set-up: ${dec.decode(lua.lua_tolstring(L, -1))}`);
    }
    lua.lua_call(L, 0, 1); // the table of checks
    for (const [lib, name] of [
      ["table", "concat"],
      ["string", "format"],
      ["string", "gsub"],
    ] as const) {
      lua.lua_getfield(L, -1, enc.encode(name));
      const checkRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
      lua.lua_getglobal(L, enc.encode(lib));
      lua.lua_getfield(L, -1, enc.encode(name));
      const originalRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
      setFn(L, name, (L) => boundedCall(L, name, checkRef, originalRef));
      lua.lua_pop(L, 1);
    }
    lua.lua_pop(L, 1);
  }

  /** loadstring(s [, chunkname]): compiled with the same float literals and read-only globals as scripts. */
  private loadString(L: LuaState): number {
    const src = lauxlib.luaL_checklstring(L, 1) as Uint8Array;
    const name = lua.lua_isnoneornil(L, 2) ? src : (lauxlib.luaL_checklstring(L, 2) as Uint8Array);
    if (lauxlib.luaL_loadbufferx(L, floatLiterals(src), null, name, enc.encode("t")) !== lua.LUA_OK) {
      lua.lua_pushnil(L);
      lua.lua_insert(L, -2);
      return 2;
    }
    this.setEnv(L);
    return 1;
  }

  private mathRandom(L: LuaState): number {
    if (!this.run) raise(L, "math.random can only be called inside a script invocation", 1);
    const MAX = 2147483647;
    const r = (this.rand.next() % MAX) / MAX;
    switch (lua.lua_gettop(L)) {
      case 0:
        lua.lua_pushnumber(L, r);
        return 1;
      case 1: {
        const u = Math.trunc(lauxlib.luaL_checknumber(L, 1));
        lauxlib.luaL_argcheck(L, 1 <= u, 1, enc.encode("interval is empty"));
        lua.lua_pushnumber(L, Math.floor(r * u) + 1);
        return 1;
      }
      case 2: {
        const l = Math.trunc(lauxlib.luaL_checknumber(L, 1));
        const u = Math.trunc(lauxlib.luaL_checknumber(L, 2));
        lauxlib.luaL_argcheck(L, l <= u, 2, enc.encode("interval is empty"));
        lua.lua_pushnumber(L, Math.floor(r * (u - l + 1)) + l);
        return 1;
      }
      default:
        return raise(L, "wrong number of arguments", 1);
    }
  }

  private installRedisApi(): void {
    const L = this.L;
    lua.lua_createtable(L, 0, 24);
    setFn(L, "call", (L) => this.redisCall(L, true));
    setFn(L, "pcall", (L) => this.redisCall(L, false));
    setFn(L, "log", (L) => {
      const argc = lua.lua_gettop(L);
      if (argc < 2) return this.raiseTable(L, "redis.log() requires two arguments or more.");
      if (!lua.lua_isnumber(L, 1)) return this.raiseTable(L, "First argument must be a number (log level).");
      const level = Math.trunc(lua.lua_tonumber(L, 1));
      if (level < 0 || level > 3) return this.raiseTable(L, "Invalid debug level.");
      const parts: string[] = [];
      for (let j = 2; j <= argc; j++) {
        const s = lua.lua_tolstring(L, j) as Uint8Array | null;
        if (s) parts.push(dec.decode(s));
      }
      this.run?.log(level, parts.join(" "));
      return 0;
    });
    setField(L, "LOG_DEBUG", 0);
    setField(L, "LOG_VERBOSE", 1);
    setField(L, "LOG_NOTICE", 2);
    setField(L, "LOG_WARNING", 3);
    setField(L, "REDIS_VERSION_NUM", REDIS_VERSION_NUM);
    setField(L, "REDIS_VERSION", REDIS_VERSION);
    setFn(L, "setresp", (L) => {
      if (!this.run) return this.raiseTable(L, "redis.setresp can only be called inside a script invocation");
      if (lua.lua_gettop(L) !== 1) return this.raiseTable(L, "redis.setresp() requires one argument.");
      const resp = Math.trunc(lua.lua_tonumber(L, 1));
      if (resp !== 2 && resp !== 3) return this.raiseTable(L, "RESP version must be 2 or 3.");
      this.resp = resp;
      return 0;
    });
    setFn(L, "sha1hex", (L) => {
      if (lua.lua_gettop(L) !== 1) return this.raiseTable(L, "wrong number of arguments");
      const s = (lua.lua_tolstring(L, 1) as Uint8Array | null) ?? new Uint8Array(0);
      pushBytes(L, sha1hex(s));
      return 1;
    });
    setFn(L, "error_reply", (L) => {
      if (lua.lua_gettop(L) !== 1 || lua.lua_type(L, -1) !== lua.LUA_TSTRING) {
        pushErrorTable(L, "wrong number or type of arguments");
        return 1;
      }
      const e = dec.decode(lua.lua_tolstring(L, -1));
      pushErrorTable(L, e.startsWith("-") ? e : `-${e}`);
      return 1;
    });
    setFn(L, "status_reply", (L) => {
      if (lua.lua_gettop(L) !== 1 || lua.lua_type(L, -1) !== lua.LUA_TSTRING) {
        pushErrorTable(L, "wrong number or type of arguments");
        return 1;
      }
      lua.lua_createtable(L, 0, 1);
      lua.lua_pushvalue(L, -2);
      lua.lua_setfield(L, -2, enc.encode("ok"));
      return 1;
    });
    setFn(L, "set_repl", (L) => {
      if (!this.run) return this.raiseTable(L, "redis.set_repl can only be called inside a script invocation");
      if (lua.lua_gettop(L) !== 1) return this.raiseTable(L, "redis.set_repl() requires two arguments.");
      const flags = Math.trunc(lua.lua_tonumber(L, -1));
      if ((flags & ~3) !== 0) return this.raiseTable(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
      this.run.setRepl(flags);
      return 0;
    });
    // Redis 7 always replicates scripts by effects; replicate_commands() is kept and answers true.
    setFn(L, "replicate_commands", (L) => {
      lua.lua_pushboolean(L, true);
      return 1;
    });
    setField(L, "REPL_NONE", 0);
    setField(L, "REPL_AOF", 1);
    setField(L, "REPL_SLAVE", 2);
    setField(L, "REPL_REPLICA", 2);
    setField(L, "REPL_ALL", 3);
    lua.lua_setglobal(L, enc.encode("redis"));
    // pcall: an error raised as a table {err=...} (redis.call's) comes back as its message (luaRedisPcall).
    lua.lua_getglobal(L, enc.encode("pcall"));
    const pcallRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    lua.lua_pushcfunction(L, (L: LuaState) => {
      const n = lua.lua_gettop(L);
      lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, pcallRef);
      lua.lua_insert(L, 1);
      lua.lua_call(L, n, lua.LUA_MULTRET);
      if (!lua.lua_toboolean(L, 1) && lua.lua_type(L, 2) === lua.LUA_TTABLE) {
        lua.lua_getfield(L, 2, enc.encode("err"));
        if (lua.lua_type(L, -1) === lua.LUA_TSTRING) lua.lua_replace(L, 2);
        else lua.lua_pop(L, 1);
      }
      return lua.lua_gettop(L);
    });
    lua.lua_setglobal(L, enc.encode("pcall"));
  }

  /** Raise {err="ERR msg"} as Redis's luaPushError + luaError do. */
  protected raiseTable(L: LuaState, msg: string): never {
    pushErrorTable(L, msg);
    lua.lua_error(L);
    throw new Error("unreachable");
  }

  private redisCall(L: LuaState, raiseErrors: boolean): number {
    const run = this.run;
    if (!run) return this.raiseTable(L, "redis.call/pcall can only be called inside a script invocation");
    const argc = lua.lua_gettop(L);
    if (argc === 0) {
      pushErrorTable(L, "Please specify at least one argument for this redis lib call");
      return raiseErrors ? (lua.lua_error(L) as number) : 1;
    }
    const argv: Uint8Array[] = [];
    for (let j = 1; j <= argc; j++) {
      const t = lua.lua_type(L, j);
      if (t === lua.LUA_TNUMBER) argv.push(enc.encode(formatG17(lua.lua_tonumber(L, j))));
      else if (t === lua.LUA_TSTRING) argv.push((lua.lua_tolstring(L, j) as Uint8Array).slice());
      else {
        lua.lua_settop(L, 0);
        pushErrorTable(L, "Lua redis lib command arguments must be strings or integers");
        return raiseErrors ? (lua.lua_error(L) as number) : 1;
      }
    }
    lua.lua_settop(L, 0);
    const reply = run.call(argv, this.resp);
    pushReply(L, reply, this.resp);
    if (raiseErrors && reply instanceof RedisError) lua.lua_error(L);
    return 1;
  }

  /**
   * The message handler of every script call: turns the error into {err, source, line} as
   * Redis's __redis__err__handler does (the line of the Lua function that failed).
   */
  private installErrorHandler(): void {
    const L = this.L;
    lua.lua_pushcfunction(L, (L: LuaState) => {
      const ar = new lua.lua_Debug();
      let have = lua.lua_getstack(L, 1, ar) && lua.lua_getinfo(L, enc.encode("nSl"), ar);
      // A JavaScript function (Fengari's "J", C in Redis) has no line: report its Lua caller.
      if (have && dec.decode(ar.what) === "J") have = lua.lua_getstack(L, 2, ar) && lua.lua_getinfo(L, enc.encode("nSl"), ar);
      if (lua.lua_type(L, 1) !== lua.LUA_TTABLE) {
        const msg = dec.decode(lauxlib.luaL_tolstring(L, 1));
        lua.lua_settop(L, 0);
        pushErrorTable(L, lua51Message(msg));
      }
      if (have) {
        lua.lua_pushstring(L, ar.source);
        lua.lua_setfield(L, -2, enc.encode("source"));
        lua.lua_pushinteger(L, ar.currentline);
        lua.lua_setfield(L, -2, enc.encode("line"));
      }
      return 1;
    });
    this.handlerRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
  }

  /**
   * Read-only globals: scripts see an empty proxy table whose __index is the real globals
   * table (whose own __index raises "nonexistent global variable") and whose __newindex
   * refuses every assignment. Library tables get the same read-only proxies.
   */
  private protectGlobals(): void {
    const L = this.L;
    const readonlyError: LuaFn = (L) => raise(L, "Attempt to modify a readonly table", 1);
    const proxyOf = (realIdx: number) => {
      // Stack: … real → … proxy
      const real = lua.lua_absindex(L, realIdx);
      lua.lua_createtable(L, 0, 0);
      lua.lua_createtable(L, 0, 4);
      lua.lua_pushvalue(L, real);
      lua.lua_setfield(L, -2, enc.encode("__index"));
      lua.lua_pushcfunction(L, readonlyError);
      lua.lua_setfield(L, -2, enc.encode("__newindex"));
      lua.lua_pushvalue(L, real);
      lua.lua_pushcclosure(
        L,
        (L: LuaState) => {
          lua.lua_getglobal(L, enc.encode("next"));
          lua.lua_pushvalue(L, lua.lua_upvalueindex(1));
          lua.lua_pushnil(L);
          return 3;
        },
        1,
      );
      lua.lua_setfield(L, -2, enc.encode("__pairs"));
      lua.lua_pushboolean(L, false);
      lua.lua_setfield(L, -2, enc.encode("__metatable"));
      lua.lua_setmetatable(L, -2);
      lua.lua_remove(L, real);
    };
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
    const g = lua.lua_gettop(L);
    for (const lib of ["string", "math", "table", "redis", "cjson", "bit", "struct", "cmsgpack", "coroutine"]) {
      lua.lua_getfield(L, g, enc.encode(lib));
      if (lib === "string") {
        // The string metatable's __index must not hand out the writable table either.
        proxyOf(-1);
        lua.lua_pushliteral(L, "");
        lua.lua_getmetatable(L, -1);
        lua.lua_pushvalue(L, -3);
        lua.lua_setfield(L, -2, enc.encode("__index"));
        lua.lua_pop(L, 2);
        lua.lua_setfield(L, g, enc.encode(lib));
        continue;
      }
      proxyOf(-1);
      lua.lua_setfield(L, g, enc.encode(lib));
    }
    // rawset must not write into a protected table.
    lua.lua_getglobal(L, enc.encode("rawset"));
    const rawsetRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    lua.lua_pushcfunction(L, (L: LuaState) => {
      if (lua.lua_type(L, 1) === lua.LUA_TTABLE && lua.lua_getmetatable(L, 1)) {
        lua.lua_getfield(L, -1, enc.encode("__metatable"));
        const prot = lua.lua_type(L, -1) === lua.LUA_TBOOLEAN;
        lua.lua_pop(L, 2);
        if (prot) raise(L, "Attempt to modify a readonly table");
      }
      const n = lua.lua_gettop(L);
      lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, rawsetRef);
      lua.lua_insert(L, 1);
      lua.lua_call(L, n, 1);
      return 1;
    });
    lua.lua_setfield(L, g, enc.encode("rawset"));
    // Missing globals are errors.
    lua.lua_createtable(L, 0, 1);
    lua.lua_pushcfunction(L, (L: LuaState) => {
      const name = lua.lua_type(L, 2) === lua.LUA_TSTRING || lua.lua_type(L, 2) === lua.LUA_TNUMBER ? dec.decode(lua.lua_tolstring(L, 2)) : "?";
      return raise(L, `Script attempted to access nonexistent global variable '${name}'`, 1);
    });
    lua.lua_setfield(L, -2, enc.encode("__index"));
    lua.lua_setmetatable(L, g);
    lua.lua_pushvalue(L, g);
    proxyOf(-1);
    // _G names the read-only view.
    lua.lua_pushvalue(L, -1);
    lua.lua_setfield(L, g, enc.encode("_G"));
    this.envRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    lua.lua_settop(L, 0);
  }

  /** Give the function at the top of the stack the read-only globals as its _ENV. */
  private setEnv(L: LuaState): void {
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.envRef);
    if (!lua.lua_setupvalue(L, -2, 1)) lua.lua_pop(L, 1);
  }

  // --- scripts -------------------------------------------------------------------------

  private static fname(sha: string): Uint8Array {
    return enc.encode(`f_${sha}`);
  }

  has(sha: string): boolean {
    lua.lua_getfield(this.L, lua.LUA_REGISTRYINDEX, LuaVM.fname(sha));
    const found = lua.lua_type(this.L, -1) === lua.LUA_TFUNCTION;
    lua.lua_pop(this.L, 1);
    return found;
  }

  /**
   * Compile a script body (shebang line already blanked, newline kept) as function
   * `f_<sha>`. Returns null, or Redis's error text for a script that does not compile.
   */
  compile(sha: string, body: Uint8Array): string | null {
    const L = this.L;
    if (this.has(sha)) return null;
    const status = lauxlib.luaL_loadbufferx(L, floatLiterals(body), null, enc.encode("@user_script"), enc.encode("t"));
    if (status !== lua.LUA_OK) {
      const msg = dec.decode(lua.lua_tolstring(L, -1) ?? enc.encode("?"));
      lua.lua_pop(L, 1);
      return `ERR Error compiling script (new function): ${lua51Message(msg)}`;
    }
    this.setEnv(L);
    lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, LuaVM.fname(sha));
    return null;
  }

  forget(sha: string): void {
    lua.lua_pushnil(this.L);
    lua.lua_setfield(this.L, lua.LUA_REGISTRYINDEX, LuaVM.fname(sha));
  }

  /** Run a compiled script with KEYS and ARGV; returns its reply (errors as RedisError). */
  call(sha: string, keys: Uint8Array[], args: Uint8Array[], run: ScriptRun): Reply {
    return this.invoke(sha, run, () => {
      const L = this.L;
      lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, LuaVM.fname(sha));
      if (lua.lua_type(L, -1) !== lua.LUA_TFUNCTION) return null;
      // EVAL: KEYS and ARGV are globals.
      lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
      for (const [name, list] of [
        ["KEYS", keys],
        ["ARGV", args],
      ] as const) {
        pushList(L, list);
        lua.lua_setfield(L, -2, enc.encode(name));
      }
      lua.lua_pop(L, 1);
      return 0;
    });
  }

  /** Run a registered function (FCALL): its callback gets the keys and the arguments as two tables. */
  callFunction(ref: number, name: string, keys: Uint8Array[], args: Uint8Array[], run: ScriptRun): Reply {
    return this.invoke(name, run, () => {
      lua.lua_rawgeti(this.L, lua.LUA_REGISTRYINDEX, ref);
      pushList(this.L, keys);
      pushList(this.L, args);
      return 2;
    });
  }

  private invoke(label: string, run: ScriptRun, pushCall: () => number | null): Reply {
    const L = this.L;
    if (this.run) return new RedisError("ERR a script is already running");
    this.run = run;
    this.resp = 2;
    lua.lua_settop(L, 0);
    try {
      lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.handlerRef);
      const nargs = pushCall();
      if (nargs === null) return new RedisError("NOSCRIPT No matching script. Please use EVAL.");
      let stopped: string | null = null;
      const hook = (L: LuaState) => {
        const why = stopped ?? run.interrupted();
        if (why === null) return;
        if (stopped === null) {
          stopped = why;
          // From now on fire on every line, so a pcall cannot swallow the stop and go on.
          lua.lua_sethook(L, hook, lua.LUA_MASKLINE | lua.LUA_MASKCOUNT, 1);
        }
        pushErrorTable(L, why);
        lua.lua_error(L);
      };
      lua.lua_sethook(L, hook, lua.LUA_MASKCOUNT, SCRIPT_HOOK_INSTRUCTIONS);
      const status = lua.lua_pcall(L, nargs, 1, 1);
      lua.lua_sethook(L, null, 0, 0);
      if (status !== lua.LUA_OK) return this.errorReply(label, status);
      return popReply(L, this.resp, 0, run.chargeReply);
    } finally {
      this.run = null;
      lua.lua_settop(L, 0);
    }
  }

  /** The reply for a failed script: "<err> script: <sha or function>, on <source>:<line>." (luaCallFunction). */
  private errorReply(sha: string, status: number): RedisError {
    const L = this.L;
    if (lua.lua_type(L, -1) !== lua.LUA_TTABLE) {
      const m = lua.lua_type(L, -1) === lua.LUA_TSTRING ? dec.decode(lua.lua_tolstring(L, -1)) : status === lua.LUA_ERRMEM ? "not enough memory" : "execution failure";
      return new RedisError(`ERR Error running script f_${sha}, ${m.slice(0, 100)}`);
    }
    const field = (k: string): string | null => {
      lua.lua_getfield(L, -1, enc.encode(k));
      const t = lua.lua_type(L, -1);
      const v = t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER ? dec.decode(lua.lua_tolstring(L, -1)) : null;
      lua.lua_pop(L, 1);
      return v;
    };
    const err = field("err") ?? "";
    const source = field("source");
    const line = field("line");
    const e = errorFromText(err);
    return source !== null && line !== null ? new RedisError(`${e.msg} script: ${sha}, on ${source}:${line}.`) : e;
  }
}

/**
 * The checks of LuaVM.boundBuilders, in Lua: each takes the arguments of its function and
 * raises "resulting string too large", or returns a replacement to use instead of gsub's
 * third argument (a counting wrapper of a function or table), or nothing.
 */
function boundChecks(cap: number): string {
  return `
    local CAP = ${cap}
    local type, tostring, select, error, byte, find = type, tostring, select, error, string.byte, string.find
    local gsub = string.gsub
    local function len(v)
      local t = type(v)
      if t == "string" then return #v elseif t == "number" then return #tostring(v) end
      return nil
    end
    local checks = {}
    function checks.concat(t, sep, i, j)
      if type(t) ~= "table" or not (sep == nil or len(sep)) or not (i == nil or type(i) == "number") or not (j == nil or type(j) == "number") then return end
      local ls, total = sep == nil and 0 or len(sep), 0
      for k = i or 1, j or #t do
        local l = len(t[k])
        if l == nil then return end -- concat names the bad value
        total = total + l + ls
        if total > CAP + ls then error("resulting string too large", 0) end
      end
    end
    function checks.format(fmt, ...)
      if not len(fmt) then return end
      fmt = tostring(fmt)
      local total, at, arg = #fmt, 1, 0
      while true do
        local s, e, spec = find(fmt, "%%[-+ #0]*%d*%.?%d*(.)", at)
        if not s then break end
        at = e + 1
        total = total - (e - s + 1) -- the directive itself is not in the result
        if spec ~= "%" then
          arg = arg + 1
          local v = select(arg, ...)
          local l = len(v) or 0
          -- %q at most quadruples a string (\\ddd); %s copies it; a number prints short
          total = total + (spec == "q" and 4 * l + 2 or spec == "s" and l or 128)
        else
          total = total + 1 -- %% prints one %
        end
      end
      if total > CAP then error("resulting string too large", 0) end
    end
    function checks.gsub(s, pat, repl, n)
      local ls, tr = len(s), type(repl)
      if not ls or not len(pat) or not (n == nil or type(n) == "number") then return end
      if tr == "string" or tr == "number" then
        local r = tostring(repl)
        local base, refs, k = 0, 0, 1
        while k <= #r do
          if byte(r, k) == 37 then
            local d = byte(r, k + 1)
            if d and d >= 48 and d <= 57 then refs = refs + 1 else base = base + 1 end
            k = k + 2
          else
            base, k = base + 1, k + 1
          end
        end
        -- at most a replacement per position, each %d at most the whole subject: a first pass
        -- only when that bound passes the limit
        if ls + (ls + 1) * (base + refs * (ls + 24)) > CAP then
          local rest, count = gsub(s, pat, "", n)
          if #rest + count * base + refs * (ls - #rest + 24 * count) > CAP then error("resulting string too large", 0) end
        end
      elseif tr == "table" or tr == "function" then
        local total = ls
        return function(...)
          local v
          if tr == "table" then v = repl[(...)] else v = repl(...) end
          local l = len(v)
          if l then
            total = total + l
            if total > 2 * CAP then error("resulting string too large", 0) end
          end
          return v
        end
      end
    end
    return checks
  `;
}

/** A Lua-side position: "user_script:3: …", "@user_script:3: …", "[string \"…\"]:3: …". */
const POSITIONED = /^(?:\[string "[^"]*"\]|[^\s:]+):\d+: /;

/**
 * `name` called by a script: its bound check, then Fengari's own function with the caller's
 * arguments; an error raised by that function gets the position of the script's call and the
 * function's name, which calling it from here would lose.
 */
function boundedCall(L: LuaState, name: string, checkRef: number, originalRef: number): number {
  const n = lua.lua_gettop(L);
  // A host function has LUA_MINSTACK (20) free slots: the arguments are pushed once more here.
  if (!lua.lua_checkstack(L, n + 4)) raise(L, "stack overflow", 1);
  lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, checkRef);
  for (let i = 1; i <= n; i++) lua.lua_pushvalue(L, i);
  if (lua.lua_pcall(L, n, 1, 0) !== lua.LUA_OK) {
    const m = lua.lua_type(L, -1) === lua.LUA_TSTRING ? dec.decode(lua.lua_tolstring(L, -1)) : "";
    lua.lua_pop(L, 1);
    if (m === "resulting string too large") raise(L, m, 1);
    // Any other failure of the check (a bad pattern in gsub's first pass…) is the function's own to report.
  } else {
    if (name === "gsub" && !lua.lua_isnil(L, -1) && n >= 3) lua.lua_replace(L, 3); // the counting replacement
    else lua.lua_pop(L, 1);
  }
  lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, originalRef);
  lua.lua_insert(L, 1);
  if (lua.lua_pcall(L, n, lua.LUA_MULTRET, 0) !== lua.LUA_OK) {
    if (lua.lua_type(L, -1) !== lua.LUA_TSTRING) return lua.lua_error(L); // an error object (a table): as it is
    let m = dec.decode(lua.lua_tolstring(L, -1));
    lua.lua_pop(L, 1);
    m = m.replace(/^bad argument (#\d+) to '\?'/, `bad argument $1 to '${name}'`);
    if (POSITIONED.test(m)) {
      pushBytes(L, m);
      return lua.lua_error(L);
    }
    return raise(L, m, 1);
  }
  return lua.lua_gettop(L);
}

export { CJSON_NULL };

export function pushList(L: LuaState, list: Uint8Array[]): void {
  lua.lua_createtable(L, list.length, 0);
  for (let j = 0; j < list.length; j++) {
    lua.lua_pushstring(L, list[j]);
    lua.lua_rawseti(L, -2, j + 1);
  }
}
