/**
 * The `struct` library (Roberto Ierusalimschy's lua-struct, as Redis bundles it):
 * struct.pack(fmt, ...), struct.unpack(fmt, s [, pos]), struct.size(fmt).
 * Format: < > = endianness, ![n] alignment, x pad byte, b/B h/H l/L T i/I[n] integers
 * (1, 2, 8, 8, n bytes), f/d floats, s zero-terminated string, c[n] fixed string (c0: the
 * length comes from the previous value). Integers travel through doubles, as in Redis.
 */
import { appendAll } from "../../util/arrays.ts";
import "../luaconf-patch.ts";
import { type LuaState, lauxlib, lua, raise, setFn } from "../lua.ts";

/** lua-struct's MAXINTSIZE. */
const INT_BYTES_MAX = 32;
/** Default maximum alignment for '!' without a number (lua-struct's MAXALIGN on x86-64). */
const ALIGN_MAX = 8;

interface Header {
  little: boolean;
  align: number;
}

interface Opt {
  c: string;
  size: number;
}

/** Read the options of `fmt` one by one (controlling options update `h`). */
function* options(L: LuaState, fmt: string, h: Header): Generator<Opt> {
  let i = 0;
  const num = (def: number): number => {
    const m = /^\d+/.exec(fmt.slice(i));
    if (!m) return def;
    i += m[0].length;
    return Number(m[0]);
  };
  while (i < fmt.length) {
    const c = fmt[i++]!;
    switch (c) {
      case " ":
        continue;
      case "<":
        h.little = true;
        continue;
      case ">":
        h.little = false;
        continue;
      case "=":
        h.little = true;
        continue;
      case "!": {
        const a = num(ALIGN_MAX);
        if ((a & (a - 1)) !== 0) raise(L, "alignment " + a + " is not a power of 2", 1);
        h.align = a;
        continue;
      }
      case "x":
      case "b":
      case "B":
        yield { c, size: 1 };
        continue;
      case "h":
      case "H":
        yield { c, size: 2 };
        continue;
      case "l":
      case "L":
      case "T":
      case "d":
        yield { c, size: 8 };
        continue;
      case "f":
        yield { c, size: 4 };
        continue;
      case "i":
      case "I": {
        const n = num(4);
        if (n > INT_BYTES_MAX) raise(L, `integral size ${n} is larger than limit of ${INT_BYTES_MAX}`, 1);
        yield { c, size: n };
        continue;
      }
      case "c":
        yield { c, size: num(1) };
        continue;
      case "s":
        yield { c, size: 0 };
        continue;
      default:
        raise(L, `invalid format option '${c}'`, 1);
    }
  }
}

function padding(h: Header, total: number, o: Opt): number {
  if (o.c === "c" || o.c === "s" || o.c === "x") return 0;
  let align = Math.min(o.size, h.align);
  if (align <= 1) return 0;
  if ((align & (align - 1)) !== 0) align = 1;
  return (align - (total & (align - 1))) & (align - 1);
}

function intBytes(v: bigint, size: number, little: boolean): number[] {
  const out: number[] = [];
  let x = BigInt.asUintN(size * 8, v);
  for (let k = 0; k < size; k++) {
    out.push(Number(x & 0xffn));
    x >>= 8n;
  }
  return little ? out : out.reverse();
}

function pack(L: LuaState): number {
  const fmt = new TextDecoder().decode(lauxlib.luaL_checklstring(L, 1));
  const h: Header = { little: true, align: 1 };
  const out: number[] = [];
  let arg = 2;
  for (const o of options(L, fmt, h)) {
    const pad = padding(h, out.length, o);
    for (let k = 0; k < pad; k++) out.push(0);
    switch (o.c) {
      case "x":
        out.push(0);
        break;
      case "b":
      case "B":
      case "h":
      case "H":
      case "l":
      case "L":
      case "T":
      case "i":
      case "I": {
        const n = lauxlib.luaL_checknumber(L, arg++);
        appendAll(out, intBytes(BigInt(Math.trunc(Number.isFinite(n) ? n : 0)), o.size, h.little));
        break;
      }
      case "f":
      case "d": {
        const dv = new DataView(new ArrayBuffer(o.size));
        const n = lauxlib.luaL_checknumber(L, arg++);
        if (o.size === 4) dv.setFloat32(0, n, h.little);
        else dv.setFloat64(0, n, h.little);
        appendAll(out, new Uint8Array(dv.buffer));
        break;
      }
      case "c":
      case "s": {
        const s = lauxlib.luaL_checklstring(L, arg++) as Uint8Array;
        let size = o.size;
        if (o.c === "s" || size === 0) size = s.length;
        if (s.length < size) raise(L, `bad argument #${arg - 1} to 'pack' (string too short)`, 1);
        appendAll(out, s.subarray(0, size));
        if (o.c === "s") out.push(0);
        break;
      }
    }
  }
  lua.lua_pushstring(L, Uint8Array.from(out));
  return 1;
}

function unpack(L: LuaState): number {
  const fmt = new TextDecoder().decode(lauxlib.luaL_checklstring(L, 1));
  const data = lauxlib.luaL_checklstring(L, 2) as Uint8Array;
  let pos = lua.lua_isnoneornil(L, 3) ? 0 : Math.trunc(lauxlib.luaL_checknumber(L, 3)) - 1;
  if (pos < 0) raise(L, "bad argument #3 to 'unpack' (offset must be 1 or greater)", 1);
  const h: Header = { little: true, align: 1 };
  let n = 0;
  let lastNumber = 0;
  const need = (size: number) => {
    if (pos + size > data.length) raise(L, "bad argument #2 to 'unpack' (data string too short)", 1);
  };
  for (const o of options(L, fmt, h)) {
    pos += padding(h, pos, o);
    lua.lua_checkstack(L, 2);
    switch (o.c) {
      case "x":
        need(1);
        pos += 1;
        break;
      case "b":
      case "B":
      case "h":
      case "H":
      case "l":
      case "L":
      case "T":
      case "i":
      case "I": {
        need(o.size);
        const bytes = data.subarray(pos, pos + o.size);
        let v = 0n;
        for (let k = 0; k < o.size; k++) v = (v << 8n) | BigInt(h.little ? bytes[o.size - 1 - k]! : bytes[k]!);
        if (o.c === o.c.toLowerCase()) v = BigInt.asIntN(o.size * 8, v);
        lastNumber = Number(v);
        lua.lua_pushnumber(L, lastNumber);
        n++;
        pos += o.size;
        break;
      }
      case "f":
      case "d": {
        need(o.size);
        const dv = new DataView(data.buffer, data.byteOffset + pos, o.size);
        lastNumber = o.size === 4 ? dv.getFloat32(0, h.little) : dv.getFloat64(0, h.little);
        lua.lua_pushnumber(L, lastNumber);
        n++;
        pos += o.size;
        break;
      }
      case "c": {
        let size = o.size;
        if (size === 0) {
          if (n === 0 || lua.lua_type(L, -1) !== lua.LUA_TNUMBER) raise(L, "format 'c0' needs a previous size", 1);
          size = lastNumber;
          lua.lua_pop(L, 1);
          n--;
        }
        need(size);
        lua.lua_pushstring(L, data.slice(pos, pos + size));
        n++;
        pos += size;
        break;
      }
      case "s": {
        const end = data.indexOf(0, pos);
        if (end < 0) raise(L, "unfinished string in data", 1);
        lua.lua_pushstring(L, data.slice(pos, end));
        n++;
        pos = end + 1;
        break;
      }
    }
  }
  lua.lua_pushnumber(L, pos + 1);
  return n + 1;
}

function size(L: LuaState): number {
  const fmt = new TextDecoder().decode(lauxlib.luaL_checklstring(L, 1));
  const h: Header = { little: true, align: 1 };
  let total = 0;
  for (const o of options(L, fmt, h)) {
    if (o.c === "s" || (o.c === "c" && o.size === 0)) raise(L, "bad argument #1 to 'size' (options 'c0' - 's' have undefined sizes)", 1);
    total += padding(h, total, o) + o.size;
  }
  lua.lua_pushnumber(L, total);
  return 1;
}

/** Push the `struct` table. */
export function openStruct(L: LuaState): void {
  lua.lua_createtable(L, 0, 3);
  setFn(L, "pack", pack);
  setFn(L, "unpack", unpack);
  setFn(L, "size", size);
}
