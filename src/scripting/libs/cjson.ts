/**
 * The `cjson` library (lua-cjson 2.1, as Redis bundles it): cjson.encode / cjson.decode /
 * cjson.null. Behaviour kept from lua-cjson: numbers print with "%.14g", "/" is escaped as
 * "\/", a table whose keys are all positive integers is an array (holes become null; an
 * excessively sparse one is refused), other tables are objects, nesting is limited to
 * 1000 levels, NaN/Inf are refused. Object key order follows the table's iteration order,
 * which is Fengari's (insertion order), not Lua 5.1's hash order.
 */
import "../luaconf-patch.ts";
import { formatG } from "../numfmt.ts";
import { enc, type LuaState, lua, pushBytes, raise, setFn, setField } from "../lua.ts";

/** lua-cjson's default encode/decode nesting limit. */
export const CJSON_DEPTH_MAX = 1000;
/** Sparse arrays: refused when max index > count * ratio and max index > safe (lua-cjson defaults). */
const SPARSE_RATIO = 2;
const SPARSE_SAFE = 10;

/** cjson.null: a light userdata (lua-cjson uses NULL); converts to a nil reply. */
export const CJSON_NULL = { cjsonNull: true };

const ESC: Record<number, string> = { 8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r", 34: '\\"', 92: "\\\\", 47: "\\/" };

function escapeString(b: Uint8Array, out: number[]): void {
  out.push(34);
  for (const c of b) {
    const e = ESC[c];
    if (e) for (let i = 0; i < e.length; i++) out.push(e.charCodeAt(i));
    else if (c < 32 || c === 127) {
      const h = `\\u${c.toString(16).padStart(4, "0")}`;
      for (let i = 0; i < h.length; i++) out.push(h.charCodeAt(i));
    } else out.push(c);
  }
  out.push(34);
}

function pushAscii(out: number[], s: string): void {
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
}

function encodeNumber(L: LuaState, n: number, out: number[]): void {
  if (!Number.isFinite(n)) raise(L, "Cannot serialise number: must not be NaN or Inf", 1);
  pushAscii(out, formatG(n, 14));
}

/** Array length of the table at -1 per lua-cjson (-1: not an array). */
function arrayLength(L: LuaState): number {
  let max = 0;
  let items = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, -2)) {
    if (lua.lua_type(L, -2) === lua.LUA_TNUMBER) {
      const k = lua.lua_tonumber(L, -2);
      if (Number.isInteger(k) && k >= 1) {
        if (k > max) max = k;
        items++;
        lua.lua_pop(L, 1);
        continue;
      }
    }
    lua.lua_pop(L, 2);
    return -1;
  }
  if (max > items * SPARSE_RATIO && max > SPARSE_SAFE) raise(L, "Cannot serialise table: excessively sparse array", 1);
  return max;
}

function encodeValue(L: LuaState, out: number[], depth: number): void {
  switch (lua.lua_type(L, -1)) {
    case lua.LUA_TSTRING:
      escapeString(lua.lua_tolstring(L, -1), out);
      return;
    case lua.LUA_TNUMBER:
      encodeNumber(L, lua.lua_tonumber(L, -1), out);
      return;
    case lua.LUA_TBOOLEAN:
      pushAscii(out, lua.lua_toboolean(L, -1) ? "true" : "false");
      return;
    case lua.LUA_TNIL:
      pushAscii(out, "null");
      return;
    case lua.LUA_TLIGHTUSERDATA:
      if (lua.lua_touserdata(L, -1) === CJSON_NULL) {
        pushAscii(out, "null");
        return;
      }
      break;
    case lua.LUA_TTABLE: {
      if (depth + 1 > CJSON_DEPTH_MAX) raise(L, `Cannot serialise, excessive nesting (${depth + 1})`, 1);
      lua.lua_checkstack(L, 4);
      const len = arrayLength(L);
      if (len >= 0 && !(len === 0 && hasAnyKey(L))) {
        if (len === 0) {
          pushAscii(out, "{}");
          return;
        }
        out.push(91);
        for (let i = 1; i <= len; i++) {
          if (i > 1) out.push(44);
          lua.lua_rawgeti(L, -1, i);
          encodeValue(L, out, depth + 1);
          lua.lua_pop(L, 1);
        }
        out.push(93);
        return;
      }
      out.push(123);
      let first = true;
      lua.lua_pushnil(L);
      while (lua.lua_next(L, -2)) {
        if (!first) out.push(44);
        first = false;
        const kt = lua.lua_type(L, -2);
        if (kt === lua.LUA_TSTRING) escapeString(lua.lua_tolstring(L, -2), out);
        else if (kt === lua.LUA_TNUMBER) {
          out.push(34);
          encodeNumber(L, lua.lua_tonumber(L, -2), out);
          out.push(34);
        } else raise(L, "Cannot serialise table: table key must be a number or string", 1);
        out.push(58);
        encodeValue(L, out, depth + 1);
        lua.lua_pop(L, 1);
      }
      out.push(125);
      return;
    }
  }
  raise(L, `Cannot serialise ${typeName(L)}: type not supported`, 1);
}

function typeName(L: LuaState): string {
  return new TextDecoder().decode(lua.lua_typename(L, lua.lua_type(L, -1)));
}

function hasAnyKey(L: LuaState): boolean {
  lua.lua_pushnil(L);
  if (lua.lua_next(L, -2)) {
    lua.lua_pop(L, 2);
    return true;
  }
  return false;
}

// --- decode ----------------------------------------------------------------------------

class Decoder {
  i = 0;
  constructor(
    readonly L: LuaState,
    readonly s: Uint8Array,
  ) {}

  fail(what: string, found: string): never {
    raise(this.L, `Expected ${what} but found ${found} at character ${this.i + 1}`, 1);
  }

  ws(): void {
    while (this.i < this.s.length && (this.s[this.i] === 32 || this.s[this.i] === 9 || this.s[this.i] === 10 || this.s[this.i] === 13)) this.i++;
  }

  value(depth: number): void {
    const L = this.L;
    this.ws();
    const c = this.s[this.i];
    if (c === undefined) this.fail("value", "T_END");
    if (c === 123 || c === 91) {
      if (depth + 1 > CJSON_DEPTH_MAX) raise(L, `Found too many nested data structures (${depth + 1}) at character ${this.i + 1}`, 1);
      lua.lua_checkstack(L, 4);
      if (c === 123) this.object(depth + 1);
      else this.array(depth + 1);
      return;
    }
    if (c === 34) {
      lua.lua_pushstring(L, this.string());
      return;
    }
    if (c === 45 || (c >= 48 && c <= 57)) {
      const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(new TextDecoder().decode(this.s.subarray(this.i, this.i + 400)));
      if (!m) this.fail("value", "invalid number");
      this.i += m[0].length;
      lua.lua_pushnumber(L, Number(m[0]));
      return;
    }
    for (const [word, push] of [
      ["true", () => lua.lua_pushboolean(L, true)],
      ["false", () => lua.lua_pushboolean(L, false)],
      ["null", () => lua.lua_pushlightuserdata(L, CJSON_NULL)],
    ] as const) {
      if (this.match(word)) {
        push();
        return;
      }
    }
    this.fail("value", "invalid token");
  }

  match(word: string): boolean {
    for (let k = 0; k < word.length; k++) if (this.s[this.i + k] !== word.charCodeAt(k)) return false;
    this.i += word.length;
    return true;
  }

  string(): Uint8Array {
    const out: number[] = [];
    this.i++;
    for (;;) {
      const c = this.s[this.i];
      if (c === undefined) this.fail("value", "T_END");
      this.i++;
      if (c === 34) break;
      if (c !== 92) {
        out.push(c);
        continue;
      }
      const e = this.s[this.i++];
      const simple: Record<number, number> = { 98: 8, 102: 12, 110: 10, 114: 13, 116: 9, 34: 34, 92: 92, 47: 47 };
      if (e !== undefined && simple[e] !== undefined) out.push(simple[e]!);
      else if (e === 117) {
        let cp = parseInt(new TextDecoder().decode(this.s.subarray(this.i, this.i + 4)), 16);
        this.i += 4;
        if (Number.isNaN(cp)) this.fail("value", "invalid unicode escape code");
        if (cp >= 0xd800 && cp < 0xdc00 && this.s[this.i] === 92 && this.s[this.i + 1] === 117) {
          const lo = parseInt(new TextDecoder().decode(this.s.subarray(this.i + 2, this.i + 6)), 16);
          if (lo >= 0xdc00 && lo < 0xe000) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            this.i += 6;
          }
        }
        out.push(...enc.encode(String.fromCodePoint(cp)));
      } else this.fail("value", "invalid escape code");
    }
    return Uint8Array.from(out);
  }

  object(depth: number): void {
    const L = this.L;
    this.i++;
    lua.lua_newtable(L);
    this.ws();
    if (this.s[this.i] === 125) {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== 34) this.fail("object key string", "invalid token");
      lua.lua_pushstring(L, this.string());
      this.ws();
      if (this.s[this.i] !== 58) this.fail("colon", "invalid token");
      this.i++;
      this.value(depth);
      lua.lua_rawset(L, -3);
      this.ws();
      const c = this.s[this.i++];
      if (c === 125) return;
      if (c !== 44) this.fail("comma or object end", c === undefined ? "T_END" : "invalid token");
    }
  }

  array(depth: number): void {
    const L = this.L;
    this.i++;
    lua.lua_newtable(L);
    this.ws();
    if (this.s[this.i] === 93) {
      this.i++;
      return;
    }
    for (let n = 1; ; n++) {
      this.value(depth);
      lua.lua_rawseti(L, -2, n);
      this.ws();
      const c = this.s[this.i++];
      if (c === 93) return;
      if (c !== 44) this.fail("comma or array end", c === undefined ? "T_END" : "invalid token");
    }
  }
}

/** Push the `cjson` table. */
export function openCjson(L: LuaState): void {
  lua.lua_createtable(L, 0, 8);
  setFn(L, "encode", (L) => {
    if (lua.lua_gettop(L) !== 1) raise(L, "bad argument #1 to 'encode' (expected 1 argument)");
    const out: number[] = [];
    encodeValue(L, out, 0);
    lua.lua_pushstring(L, Uint8Array.from(out));
    return 1;
  });
  setFn(L, "decode", (L) => {
    if (lua.lua_gettop(L) !== 1) raise(L, "bad argument #1 to 'decode' (expected 1 argument)");
    const s = lua.lua_tolstring(L, 1) as Uint8Array | null;
    if (!s) raise(L, "bad argument #1 to 'decode' (string expected, got " + typeName(L) + ")");
    const d = new Decoder(L, s);
    d.value(0);
    d.ws();
    if (d.i < s.length) d.fail("the end", "invalid token");
    return 1;
  });
  lua.lua_pushlightuserdata(L, CJSON_NULL);
  lua.lua_setfield(L, -2, enc.encode("null"));
  setField(L, "_NAME", "cjson");
  setField(L, "_VERSION", "2.1.0");
  pushBytes(L, "cjson");
  lua.lua_pop(L, 1);
}
