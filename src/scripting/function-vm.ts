/**
 * The Lua VM of function libraries (Redis 7.0 function_lua.c): a library's code runs once
 * at FUNCTION LOAD with only `redis.register_function`, `redis.log` and the version as
 * globals, and registers callbacks; FCALL runs a callback with every global (vm.ts).
 */
import "./luaconf-patch.ts";
import { pushErrorTable } from "./convert.ts";
import { floatLiterals } from "./float-literals.ts";
import { dec, enc, type LuaFn, type LuaState, lauxlib, lua, raise, setFn } from "./lua.ts";
import { LuaVM, lua51Message, SCRIPT_HOOK_INSTRUCTIONS } from "./vm.ts";

/** A function a library registered (FUNCTION LOAD). */
export interface RegisteredFunction {
  name: string;
  description: string | null;
  flags: Set<string>;
  /** Registry reference of its callback. */
  ref: number;
}

/** Flags redis.register_function accepts (case-insensitive, as Redis's script flags). */
const FUNCTION_FLAGS: ReadonlySet<string> = new Set(["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"]);

const PENDING_CALLBACK = new TextEncoder().encode("edge_replica_pending_callback");

export class FunctionVM extends LuaVM {
  /**
   * Run a library's code (shebang line blanked) so that it registers its functions, as
   * Redis's function engine does: while it loads, the only global is a `redis` table with
   * register_function, log and the version; afterwards its functions see every global.
   * Returns the registered functions or Redis's error text.
   */
  loadLibrary(code: Uint8Array, interrupted: () => string | null): RegisteredFunction[] | string {
    const L = this.L;
    this.ensureFunctionEnv();
    const registered: RegisteredFunction[] = [];
    this.registering = registered;
    this.setFunctionEnvMode("load");
    lua.lua_settop(L, 0);
    try {
      if (lauxlib.luaL_loadbufferx(L, floatLiterals(code), null, enc.encode("@user_function"), enc.encode("t")) !== lua.LUA_OK) {
        return `ERR Error compiling function: ${lua51Message(dec.decode(lua.lua_tolstring(L, -1)))}`;
      }
      lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.fenvRef);
      lua.lua_setupvalue(L, -2, 1);
      let stopped = false;
      lua.lua_sethook(
        L,
        (L: LuaState) => {
          const why = interrupted();
          if (why === null && !stopped) return;
          stopped = true;
          pushErrorTable(L, why ?? "FUNCTION LOAD timeout");
          lua.lua_error(L);
        },
        lua.LUA_MASKCOUNT,
        SCRIPT_HOOK_INSTRUCTIONS,
      );
      const status = lua.lua_pcall(L, 0, 0, 0);
      lua.lua_sethook(L, null, 0, 0);
      if (status !== lua.LUA_OK) {
        let msg: string;
        if (lua.lua_type(L, -1) === lua.LUA_TTABLE) {
          lua.lua_getfield(L, -1, enc.encode("err"));
          msg = lua.lua_type(L, -1) === lua.LUA_TSTRING ? dec.decode(lua.lua_tolstring(L, -1)) : "";
        } else msg = `ERR ${lua51Message(dec.decode(lauxlib.luaL_tolstring(L, -1)))}`;
        for (const f of registered) lauxlib.luaL_unref(L, lua.LUA_REGISTRYINDEX, f.ref);
        return `ERR Error registering functions: ${msg}`;
      }
      return registered;
    } finally {
      this.registering = null;
      this.setFunctionEnvMode("run");
      lua.lua_settop(L, 0);
    }
  }

  /** Drop a function's callback (FUNCTION DELETE / FLUSH / LOAD REPLACE). */
  release(ref: number): void {
    lauxlib.luaL_unref(this.L, lua.LUA_REGISTRYINDEX, ref);
  }

  private registering: RegisteredFunction[] | null = null;
  private fenvRef = 0;
  private fenvMetaRef = 0;
  private loadApiRef = 0;

  /**
   * The environment of function libraries: an empty read-only table whose __index is
   * switched between the load-time API and the real globals (Redis swaps the globals'
   * __index the same way).
   */
  private ensureFunctionEnv(): void {
    if (this.fenvRef) return;
    const L = this.L;
    const missing: LuaFn = (L) => {
      const name = lua.lua_type(L, 2) === lua.LUA_TSTRING || lua.lua_type(L, 2) === lua.LUA_TNUMBER ? dec.decode(lua.lua_tolstring(L, 2)) : "?";
      return raise(L, `Script attempted to access nonexistent global variable '${name}'`, 1);
    };
    const errorMeta = () => {
      lua.lua_createtable(L, 0, 2);
      lua.lua_pushcfunction(L, missing);
      lua.lua_setfield(L, -2, enc.encode("__index"));
      lua.lua_pushcfunction(L, (L: LuaState) => raise(L, "Attempt to modify a readonly table", 1));
      lua.lua_setfield(L, -2, enc.encode("__newindex"));
      lua.lua_setmetatable(L, -2);
    };
    // Load-time API: { redis = { register_function, log, LOG_*, REDIS_VERSION* } }.
    lua.lua_createtable(L, 0, 1);
    lua.lua_createtable(L, 0, 8);
    setFn(L, "register_function", (L) => this.registerFunction(L));
    lua.lua_getglobal(L, enc.encode("redis"));
    for (const k of ["log", "LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING", "REDIS_VERSION", "REDIS_VERSION_NUM"]) {
      lua.lua_getfield(L, -1, enc.encode(k));
      lua.lua_setfield(L, -3, enc.encode(k));
    }
    lua.lua_pop(L, 1);
    errorMeta();
    lua.lua_setfield(L, -2, enc.encode("redis"));
    errorMeta();
    this.loadApiRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    // The environment and its switchable metatable.
    lua.lua_createtable(L, 0, 0);
    lua.lua_createtable(L, 0, 3);
    lua.lua_pushcfunction(L, (L: LuaState) => raise(L, "Attempt to modify a readonly table", 1));
    lua.lua_setfield(L, -2, enc.encode("__newindex"));
    lua.lua_pushboolean(L, false);
    lua.lua_setfield(L, -2, enc.encode("__metatable"));
    lua.lua_pushvalue(L, -1);
    this.fenvMetaRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    lua.lua_setmetatable(L, -2);
    this.fenvRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    this.setFunctionEnvMode("run");
  }

  private setFunctionEnvMode(mode: "load" | "run"): void {
    const L = this.L;
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.fenvMetaRef);
    if (mode === "load") lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.loadApiRef);
    else lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
    lua.lua_setfield(L, -2, enc.encode("__index"));
    lua.lua_pop(L, 1);
  }

  /** redis.register_function(name, callback) or redis.register_function{function_name=…, callback=…, flags=…, description=…}. */
  private registerFunction(L: LuaState): number {
    const list = this.registering;
    if (!list) return this.raiseTable(L, "redis.register_function can only be called on FUNCTION LOAD command");
    const argc = lua.lua_gettop(L);
    if (argc < 1 || argc > 2) return this.raiseTable(L, "wrong number of arguments to redis.register_function");
    let name: string | null = null;
    let description: string | null = null;
    let flags: string[] = [];
    let hasCallback = false;
    if (argc === 2) {
      if (lua.lua_type(L, 1) !== lua.LUA_TSTRING && lua.lua_type(L, 1) !== lua.LUA_TNUMBER) return this.raiseTable(L, "first argument to redis.register_function must be a string");
      name = dec.decode(lua.lua_tolstring(L, 1));
      if (lua.lua_type(L, 2) !== lua.LUA_TFUNCTION) return this.raiseTable(L, "second argument to redis.register_function must be a function");
      lua.lua_pushvalue(L, 2);
      hasCallback = true;
    } else {
      if (lua.lua_type(L, 1) !== lua.LUA_TTABLE) {
        return this.raiseTable(L, "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
      }
      lua.lua_pushnil(L);
      while (lua.lua_next(L, 1)) {
        if (lua.lua_type(L, -2) !== lua.LUA_TSTRING && lua.lua_type(L, -2) !== lua.LUA_TNUMBER) return this.raiseTable(L, "named argument key given to redis.register_function is not a string");
        const key = dec.decode(lua.lua_tolstring(L, -2)).toLowerCase();
        const isStr = lua.lua_type(L, -1) === lua.LUA_TSTRING || lua.lua_type(L, -1) === lua.LUA_TNUMBER;
        if (key === "function_name") {
          if (!isStr) return this.raiseTable(L, "function_name argument given to redis.register_function must be a string");
          name = dec.decode(lua.lua_tolstring(L, -1));
        } else if (key === "description") {
          if (!isStr) return this.raiseTable(L, "description argument given to redis.register_function must be a string");
          description = dec.decode(lua.lua_tolstring(L, -1));
        } else if (key === "callback") {
          if (lua.lua_type(L, -1) !== lua.LUA_TFUNCTION) return this.raiseTable(L, "callback argument given to redis.register_function must be a function");
          hasCallback = true;
          // Kept aside in the registry: the stack is busy with the iteration.
          lua.lua_pushvalue(L, -1);
          lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, PENDING_CALLBACK);
        } else if (key === "flags") {
          if (lua.lua_type(L, -1) !== lua.LUA_TTABLE) return this.raiseTable(L, "flags argument to redis.register_function must be a table representing function flags");
          flags = [];
          for (let j = 1; ; j++) {
            lua.lua_rawgeti(L, -1, j);
            const t = lua.lua_type(L, -1);
            if (t === lua.LUA_TNIL) {
              lua.lua_pop(L, 1);
              break;
            }
            const f = t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER ? dec.decode(lua.lua_tolstring(L, -1)).toLowerCase() : null;
            lua.lua_pop(L, 1);
            if (f === null || !FUNCTION_FLAGS.has(f)) return this.raiseTable(L, "unknown flag given");
            flags.push(f);
          }
        } else return this.raiseTable(L, "unknown argument given to redis.register_function");
        lua.lua_pop(L, 1);
      }
      if (name === null) return this.raiseTable(L, "redis.register_function must get a function name argument");
      if (!hasCallback) return this.raiseTable(L, "redis.register_function must get a callback argument");
      lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, PENDING_CALLBACK);
      lua.lua_pushnil(L);
      lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, PENDING_CALLBACK);
    }
    if (!/^[A-Za-z0-9_]+$/.test(name!)) {
      return this.raiseTable(L, "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long");
    }
    if (list.some((f) => f.name === name)) return this.raiseTable(L, "Function already exists in the library");
    const ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    list.push({ name: name!, description, flags: new Set(flags), ref });
    return 0;
  }

}
