/**
 * The `cmsgpack` library (lua-cmsgpack 0.4, as Redis bundles it): cmsgpack.pack(...),
 * cmsgpack.unpack(s), unpack_one(s [, offset]), unpack_limit(s, limit [, offset]).
 * Encoding as lua-cmsgpack does it: integral numbers as the smallest integer type, other
 * numbers as float32 when exact and float64 otherwise, strings as str8/16/32, a table whose
 * keys are exactly 1..n as an array and any other as a map, nesting beyond 16 as nil.
 */
import "../luaconf-patch.ts";
import { type LuaState, lauxlib, lua, raise, setField, setFn } from "../lua.ts";

/** lua-cmsgpack's LUACMSGPACK_MAX_NESTING: deeper tables encode as nil. */
const NESTING_MAX = 16;

class Out {
  bytes: number[] = [];
  u(v: number, n: number): void {
    for (let k = n - 1; k >= 0; k--) this.bytes.push(Math.floor(v / 2 ** (8 * k)) & 0xff);
  }
  big(v: bigint, n: number): void {
    const x = BigInt.asUintN(n * 8, v);
    for (let k = n - 1; k >= 0; k--) this.bytes.push(Number((x >> BigInt(8 * k)) & 0xffn));
  }
}

function encodeInt(o: Out, n: number): void {
  if (n >= 0) {
    if (n <= 127) o.bytes.push(n);
    else if (n <= 0xff) (o.bytes.push(0xcc), o.u(n, 1));
    else if (n <= 0xffff) (o.bytes.push(0xcd), o.u(n, 2));
    else if (n <= 0xffffffff) (o.bytes.push(0xce), o.u(n, 4));
    else (o.bytes.push(0xcf), o.big(BigInt(n), 8));
  } else {
    if (n >= -32) o.bytes.push(n & 0xff);
    else if (n >= -128) (o.bytes.push(0xd0), o.u(n & 0xff, 1));
    else if (n >= -32768) (o.bytes.push(0xd1), o.u(n & 0xffff, 2));
    else if (n >= -2147483648) (o.bytes.push(0xd2), o.u(n >>> 0, 4));
    else (o.bytes.push(0xd3), o.big(BigInt(n), 8));
  }
}

function encodeNumber(o: Out, n: number): void {
  if (Number.isFinite(n) && Number.isInteger(n) && n >= -9223372036854775808 && n < 9223372036854775808) {
    encodeInt(o, n);
    return;
  }
  if (Math.fround(n) === n || Number.isNaN(n)) {
    const dv = new DataView(new ArrayBuffer(4));
    dv.setFloat32(0, n);
    o.bytes.push(0xca, ...new Uint8Array(dv.buffer));
  } else {
    const dv = new DataView(new ArrayBuffer(8));
    dv.setFloat64(0, n);
    o.bytes.push(0xcb, ...new Uint8Array(dv.buffer));
  }
}

/** lua-cmsgpack's table_is_an_array: every key a positive integer and the largest equals the count. */
function isArray(L: LuaState): number {
  let count = 0;
  let max = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, -2)) {
    lua.lua_pop(L, 1);
    if (lua.lua_type(L, -1) !== lua.LUA_TNUMBER) {
      lua.lua_pop(L, 1);
      return -1;
    }
    const k = lua.lua_tonumber(L, -1);
    if (!(k > 0 && Number.isInteger(k))) {
      lua.lua_pop(L, 1);
      return -1;
    }
    max = Math.max(max, k);
    count++;
  }
  return max === count ? count : -1;
}

function encode(L: LuaState, o: Out, level: number): void {
  switch (lua.lua_type(L, -1)) {
    case lua.LUA_TSTRING: {
      const s = lua.lua_tolstring(L, -1) as Uint8Array;
      const n = s.length;
      if (n < 32) o.bytes.push(0xa0 | n);
      else if (n <= 0xff) (o.bytes.push(0xd9), o.u(n, 1));
      else if (n <= 0xffff) (o.bytes.push(0xda), o.u(n, 2));
      else (o.bytes.push(0xdb), o.u(n, 4));
      for (const b of s) o.bytes.push(b);
      return;
    }
    case lua.LUA_TBOOLEAN:
      o.bytes.push(lua.lua_toboolean(L, -1) ? 0xc3 : 0xc2);
      return;
    case lua.LUA_TNUMBER:
      encodeNumber(o, lua.lua_tonumber(L, -1));
      return;
    case lua.LUA_TTABLE: {
      if (level >= NESTING_MAX) {
        o.bytes.push(0xc0);
        return;
      }
      lua.lua_checkstack(L, 4);
      const n = isArray(L);
      if (n >= 0) {
        if (n <= 15) o.bytes.push(0x90 | n);
        else if (n <= 0xffff) (o.bytes.push(0xdc), o.u(n, 2));
        else (o.bytes.push(0xdd), o.u(n, 4));
        for (let i = 1; i <= n; i++) {
          lua.lua_rawgeti(L, -1, i);
          encode(L, o, level + 1);
          lua.lua_pop(L, 1);
        }
        return;
      }
      let count = 0;
      lua.lua_pushnil(L);
      while (lua.lua_next(L, -2)) (lua.lua_pop(L, 1), count++);
      if (count <= 15) o.bytes.push(0x80 | count);
      else if (count <= 0xffff) (o.bytes.push(0xde), o.u(count, 2));
      else (o.bytes.push(0xdf), o.u(count, 4));
      lua.lua_pushnil(L);
      while (lua.lua_next(L, -2)) {
        lua.lua_pushvalue(L, -2);
        encode(L, o, level + 1);
        lua.lua_pop(L, 1);
        encode(L, o, level + 1);
        lua.lua_pop(L, 1);
      }
      return;
    }
    default:
      o.bytes.push(0xc0);
  }
}

class Reader {
  constructor(
    readonly L: LuaState,
    readonly s: Uint8Array,
    public i: number,
  ) {}

  need(n: number): void {
    if (this.i + n > this.s.length) raise(this.L, "Missing bytes in input.", 1);
  }
  uint(n: number): number {
    this.need(n);
    let v = 0;
    for (let k = 0; k < n; k++) v = v * 256 + this.s[this.i++]!;
    return v;
  }
  bigint(n: number, signed: boolean): number {
    this.need(n);
    let v = 0n;
    for (let k = 0; k < n; k++) v = (v << 8n) | BigInt(this.s[this.i++]!);
    return Number(signed ? BigInt.asIntN(n * 8, v) : v);
  }
  float(n: number): number {
    this.need(n);
    const dv = new DataView(this.s.buffer, this.s.byteOffset + this.i, n);
    this.i += n;
    return n === 4 ? dv.getFloat32(0) : dv.getFloat64(0);
  }
  bytes(n: number): void {
    this.need(n);
    lua.lua_pushstring(this.L, this.s.slice(this.i, this.i + n));
    this.i += n;
  }

  /** Decode one object and push it. */
  value(depth: number): void {
    const L = this.L;
    if (depth > 1000) raise(L, "Bad data format in input.", 1);
    lua.lua_checkstack(L, 4);
    this.need(1);
    const t = this.s[this.i++]!;
    if (t <= 0x7f) return lua.lua_pushnumber(L, t);
    if (t >= 0xe0) return lua.lua_pushnumber(L, t - 256);
    if ((t & 0xe0) === 0xa0) return this.bytes(t & 0x1f);
    if ((t & 0xf0) === 0x90) return this.array(t & 0x0f, depth);
    if ((t & 0xf0) === 0x80) return this.map(t & 0x0f, depth);
    switch (t) {
      case 0xc0:
        return lua.lua_pushnil(L);
      case 0xc2:
        return lua.lua_pushboolean(L, false);
      case 0xc3:
        return lua.lua_pushboolean(L, true);
      case 0xcc:
        return lua.lua_pushnumber(L, this.uint(1));
      case 0xcd:
        return lua.lua_pushnumber(L, this.uint(2));
      case 0xce:
        return lua.lua_pushnumber(L, this.uint(4));
      case 0xcf:
        return lua.lua_pushnumber(L, this.bigint(8, false));
      case 0xd0:
        return lua.lua_pushnumber(L, this.bigint(1, true));
      case 0xd1:
        return lua.lua_pushnumber(L, this.bigint(2, true));
      case 0xd2:
        return lua.lua_pushnumber(L, this.bigint(4, true));
      case 0xd3:
        return lua.lua_pushnumber(L, this.bigint(8, true));
      case 0xca:
        return lua.lua_pushnumber(L, this.float(4));
      case 0xcb:
        return lua.lua_pushnumber(L, this.float(8));
      case 0xd9:
        return this.bytes(this.uint(1));
      case 0xda:
        return this.bytes(this.uint(2));
      case 0xdb:
        return this.bytes(this.uint(4));
      case 0xdc:
        return this.array(this.uint(2), depth);
      case 0xdd:
        return this.array(this.uint(4), depth);
      case 0xde:
        return this.map(this.uint(2), depth);
      case 0xdf:
        return this.map(this.uint(4), depth);
      default:
        raise(L, "Bad data format in input.", 1);
    }
  }
  array(n: number, depth: number): void {
    // Every element takes at least one byte: a count larger than the input is refused before allocating.
    this.need(n);
    lua.lua_createtable(this.L, Math.min(n, 1024), 0);
    for (let k = 1; k <= n; k++) {
      this.value(depth + 1);
      lua.lua_rawseti(this.L, -2, k);
    }
  }
  map(n: number, depth: number): void {
    this.need(2 * n);
    lua.lua_createtable(this.L, 0, Math.min(n, 1024));
    for (let k = 0; k < n; k++) {
      this.value(depth + 1);
      this.value(depth + 1);
      lua.lua_settable(this.L, -3);
    }
  }
}

/** mp_unpack_full: decode up to `limit` objects (0 = all) from `offset`; push them, optionally preceded by the next offset. */
function unpackFull(L: LuaState, limit: number, offset: number, withOffset: boolean): number {
  const s = lauxlib.luaL_checklstring(L, 1) as Uint8Array;
  if (offset < 0 || limit < 0) raise(L, `Invalid request to unpack with offset of ${offset} and limit of ${limit}.`, 1);
  if (offset > s.length) raise(L, "Start offset " + offset + " greater than input length " + s.length + ".", 1);
  const r = new Reader(L, s, offset);
  let count = 0;
  if (withOffset) lua.lua_pushnumber(L, 0); // placeholder for the next offset
  while (r.i < s.length && (limit === 0 || count < limit)) {
    r.value(0);
    count++;
  }
  if (withOffset) {
    lua.lua_pushnumber(L, r.i < s.length ? r.i : -1);
    lua.lua_replace(L, -(count + 2));
    return count + 1;
  }
  return count;
}

/** Push the `cmsgpack` table. */
export function openCmsgpack(L: LuaState): void {
  lua.lua_createtable(L, 0, 8);
  setFn(L, "pack", (L) => {
    const n = lua.lua_gettop(L);
    if (n === 0) raise(L, "MessagePack pack needs input.", 1);
    const o = new Out();
    for (let i = 1; i <= n; i++) {
      lua.lua_pushvalue(L, i);
      encode(L, o, 0);
      lua.lua_pop(L, 1);
    }
    lua.lua_pushstring(L, Uint8Array.from(o.bytes));
    return 1;
  });
  setFn(L, "unpack", (L) => unpackFull(L, 0, 0, false));
  setFn(L, "unpack_one", (L) => unpackFull(L, 1, lua.lua_isnoneornil(L, 2) ? 0 : Math.trunc(lauxlib.luaL_checknumber(L, 2)), true));
  setFn(L, "unpack_limit", (L) =>
    unpackFull(L, Math.trunc(lauxlib.luaL_checknumber(L, 2)), lua.lua_isnoneornil(L, 3) ? 0 : Math.trunc(lauxlib.luaL_checknumber(L, 3)), true),
  );
  setField(L, "_NAME", "cmsgpack");
  setField(L, "_VERSION", "lua-cmsgpack 0.4.0");
  setField(L, "_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo");
  setField(L, "_DESCRIPTION", "MessagePack C implementation for Lua");
}
