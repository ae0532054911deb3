/**
 * Conversions between command replies and Lua values, as Redis 7.0 documents and does them
 * (script_lua.c redisProtocolToLuaType / luaReplyToRedisReply):
 *  reply → Lua (what redis.call returns, by the script's RESP version, redis.setresp):
 *   integer → number; bulk → string; nil bulk / nil array → false (RESP2) or nil (RESP3);
 *   array → table; status → {ok=s}; error → {err=s}; RESP3 only: double → {double=n},
 *   map → {map={k=v}}, set → {set={k=true}}, verbatim → {verbatim_string={format,string}}.
 *  Lua → reply (what a script returns):
 *   string → bulk; number → integer (truncated); true → 1, false → nil; table with a
 *   string `err` → error, `ok` → status, `double` → double, `map`/`set`, otherwise an array
 *   that stops at the first nil; anything else → nil.
 */
import "./luaconf-patch.ts";
import { formatG17 } from "../util/numbers.ts";
import { BigNumber, NilArray, RedisError, type Reply, RespDouble, RespMap, RespSet, Simple, Verbatim } from "../protocol/reply.ts";
import { enc, type LuaState, lua, pushBytes } from "./lua.ts";

/** Deepest reply nesting converted either way (Redis relies on the C stack; we bound it). */
export const SCRIPT_REPLY_DEPTH_MAX = 256;

const K_OK = enc.encode("ok");
const K_ERR = enc.encode("err");
const K_DOUBLE = enc.encode("double");
const K_MAP = enc.encode("map");
const K_SET = enc.encode("set");
const K_BIG = enc.encode("big_number");
const K_VERB = enc.encode("verbatim_string");
const K_FORMAT = enc.encode("format");
const K_STRING = enc.encode("string");
const K_IGNORE = enc.encode("ignore_error_stats_update");

/** Push {err = "CODE msg"} as redis.pcall returns errors (luaPushErrorBuff): "-CODE msg" or "msg" (ERR added). */
export function pushErrorTable(L: LuaState, message: string, fromReply = false): void {
  let code = "ERR";
  let msg = message;
  if (msg.startsWith("-")) {
    const sp = msg.indexOf(" ");
    if (sp < 0) msg = msg.slice(1);
    else {
      code = msg.slice(1, sp);
      msg = msg.slice(sp + 1);
    }
  }
  msg = msg.replace(/^[\r\n]+|[\r\n]+$/g, "");
  lua.lua_createtable(L, 0, 2);
  pushBytes(L, `${code} ${msg}`);
  lua.lua_setfield(L, -2, K_ERR);
  if (fromReply) {
    lua.lua_pushboolean(L, true);
    lua.lua_setfield(L, -2, K_IGNORE);
  }
}

/** Push a command's reply as the Lua value a script sees. */
export function pushReply(L: LuaState, r: Reply, resp: 2 | 3, depth = 0): void {
  if (depth > SCRIPT_REPLY_DEPTH_MAX) throw new RedisError("ERR reached lua stack limit");
  lua.lua_checkstack(L, 4);
  if (r instanceof Uint8Array) lua.lua_pushstring(L, r);
  else if (r === null || r instanceof NilArray) {
    if (resp === 2) lua.lua_pushboolean(L, false);
    else lua.lua_pushnil(L);
  } else if (typeof r === "number") lua.lua_pushnumber(L, r);
  else if (typeof r === "bigint") lua.lua_pushnumber(L, Number(r));
  else if (r instanceof Simple) {
    lua.lua_createtable(L, 0, 1);
    pushBytes(L, r.s);
    lua.lua_setfield(L, -2, K_OK);
  } else if (r instanceof RedisError) {
    pushErrorTable(L, `-${r.msg}`, true);
  } else if (r instanceof RespDouble) {
    if (resp === 2) pushBytes(L, formatG17(r.v));
    else {
      lua.lua_createtable(L, 0, 1);
      lua.lua_pushnumber(L, r.v);
      lua.lua_setfield(L, -2, K_DOUBLE);
    }
  } else if (r instanceof Verbatim) {
    if (resp === 2) pushBytes(L, r.text);
    else {
      lua.lua_createtable(L, 0, 1);
      lua.lua_createtable(L, 0, 2);
      pushBytes(L, r.text);
      lua.lua_setfield(L, -2, K_STRING);
      pushBytes(L, "txt");
      lua.lua_setfield(L, -2, K_FORMAT);
      lua.lua_setfield(L, -2, K_VERB);
    }
  } else if (r instanceof BigNumber) {
    if (resp === 2) pushBytes(L, r.digits);
    else {
      lua.lua_createtable(L, 0, 1);
      pushBytes(L, r.digits);
      lua.lua_setfield(L, -2, K_BIG);
    }
  } else if (r instanceof RespMap) {
    if (resp === 2) pushArray(L, r.entries.flat(), resp, depth);
    else {
      lua.lua_createtable(L, 0, 1);
      lua.lua_createtable(L, 0, r.entries.length);
      for (const [k, v] of r.entries) {
        pushReply(L, k, resp, depth + 1);
        pushReply(L, v, resp, depth + 1);
        lua.lua_settable(L, -3);
      }
      lua.lua_setfield(L, -2, K_MAP);
    }
  } else if (r instanceof RespSet) {
    if (resp === 2) pushArray(L, r.items, resp, depth);
    else {
      lua.lua_createtable(L, 0, 1);
      lua.lua_createtable(L, 0, r.items.length);
      for (const k of r.items) {
        pushReply(L, k, resp, depth + 1);
        lua.lua_pushboolean(L, true);
        lua.lua_settable(L, -3);
      }
      lua.lua_setfield(L, -2, K_SET);
    }
  } else if (Array.isArray(r)) pushArray(L, r, resp, depth);
  else lua.lua_pushnil(L);
}

function pushArray(L: LuaState, items: Reply[], resp: 2 | 3, depth: number): void {
  lua.lua_createtable(L, items.length, 0);
  for (let i = 0; i < items.length; i++) {
    pushReply(L, items[i]!, resp, depth + 1);
    lua.lua_rawseti(L, -2, i + 1);
  }
}

/** Lua's (long long) cast of a double: truncation, saturating as x86 does (NaN and overflow give INT64_MIN). */
export function luaNumberToInteger(n: number): number | bigint {
  if (Number.isNaN(n) || n >= 9223372036854775808 || n < -9223372036854775808) return -9223372036854775808n;
  const t = Math.trunc(n);
  return Number.isSafeInteger(t) ? (Object.is(t, -0) ? 0 : t) : BigInt(t);
}

/** Read a string field of the table at `idx` (raw), or null. */
function rawStringField(L: LuaState, idx: number, key: Uint8Array): Uint8Array | null {
  lua.lua_pushstring(L, key);
  lua.lua_rawget(L, idx < 0 ? idx - 1 : idx);
  const v = lua.lua_type(L, -1) === lua.LUA_TSTRING ? (lua.lua_tolstring(L, -1) as Uint8Array) : null;
  lua.lua_pop(L, 1);
  return v;
}

const dec = new TextDecoder();

/**
 * An error reply from a Lua error table's `err` field, returned or raised: Redis 7.0.15 writes
 * "-%s" of it as it is (`{err='-X'}` answers `--X`, `{err=''}` a bare `-`); the writer treats
 * its line ends (errorLine).
 */
export function errorFromText(text: string): RedisError {
  return new RedisError(text);
}

/**
 * Counts a reply's bytes as it is built (a script's reply against the output limit: each
 * string by its length, anything else REPLY_ITEM_BYTES); throws the refusal past it.
 */
export type ReplyCharge = (bytes: number) => void;
/** What an integer, nil or the frame of an array costs a reply, for the output limit. */
export const REPLY_ITEM_BYTES = 8;
const uncharged: ReplyCharge = () => {};

/** Convert the value at the top of the stack into a reply and pop it. */
export function popReply(L: LuaState, resp: 2 | 3, depth = 0, charge: ReplyCharge = uncharged): Reply {
  try {
    return toReply(L, resp, depth, charge);
  } finally {
    lua.lua_pop(L, 1);
  }
}

function toReply(L: LuaState, resp: 2 | 3, depth: number, charge: ReplyCharge): Reply {
  if (depth > SCRIPT_REPLY_DEPTH_MAX) return new RedisError("ERR reached lua stack limit");
  const type = lua.lua_type(L, -1);
  if (type !== lua.LUA_TSTRING) charge(REPLY_ITEM_BYTES);
  switch (type) {
    case lua.LUA_TSTRING: {
      const b = lua.lua_tolstring(L, -1) as Uint8Array;
      charge(b.length);
      return b.slice();
    }
    case lua.LUA_TBOOLEAN:
      return lua.lua_toboolean(L, -1) ? 1 : null;
    case lua.LUA_TNUMBER:
      return luaNumberToInteger(lua.lua_tonumber(L, -1));
    case lua.LUA_TTABLE:
      return tableToReply(L, resp, depth, charge);
    default:
      return null;
  }
}

function tableToReply(L: LuaState, resp: 2 | 3, depth: number, charge: ReplyCharge): Reply {
  const err = rawStringField(L, -1, K_ERR);
  if (err) {
    charge(err.length);
    return errorFromText(dec.decode(err));
  }
  const ok = rawStringField(L, -1, K_OK);
  if (ok) {
    charge(ok.length);
    return new Simple(dec.decode(ok).replace(/[\r\n]/g, " "));
  }
  lua.lua_pushstring(L, K_DOUBLE);
  lua.lua_rawget(L, -2);
  if (lua.lua_type(L, -1) === lua.LUA_TNUMBER) {
    const v = lua.lua_tonumber(L, -1);
    lua.lua_pop(L, 1);
    return new RespDouble(v);
  }
  lua.lua_pop(L, 1);
  const big = rawStringField(L, -1, K_BIG);
  if (big) {
    charge(big.length);
    // CR and LF become spaces, as Redis's luaReplyToRedisReply maps them (they would end the line).
    const digits = big.slice();
    for (let i = 0; i < digits.length; i++) if (digits[i] === 0x0d || digits[i] === 0x0a) digits[i] = 0x20;
    return new BigNumber(digits);
  }
  lua.lua_pushstring(L, K_VERB);
  lua.lua_rawget(L, -2);
  if (lua.lua_type(L, -1) === lua.LUA_TTABLE) {
    const fmt = rawStringField(L, -1, K_FORMAT);
    const s = rawStringField(L, -1, K_STRING);
    if (fmt && s) {
      lua.lua_pop(L, 1);
      charge(s.length);
      return new Verbatim(dec.decode(s));
    }
  }
  lua.lua_pop(L, 1);
  lua.lua_pushstring(L, K_MAP);
  lua.lua_rawget(L, -2);
  if (lua.lua_type(L, -1) === lua.LUA_TTABLE) {
    const entries: [Reply, Reply][] = [];
    lua.lua_pushnil(L);
    while (lua.lua_next(L, -2)) {
      lua.lua_pushvalue(L, -2);
      const k = popReply(L, resp, depth + 1, charge);
      const v = popReply(L, resp, depth + 1, charge);
      entries.push([k, v]);
    }
    lua.lua_pop(L, 1);
    return new RespMap(entries);
  }
  lua.lua_pop(L, 1);
  lua.lua_pushstring(L, K_SET);
  lua.lua_rawget(L, -2);
  if (lua.lua_type(L, -1) === lua.LUA_TTABLE) {
    const items: Reply[] = [];
    lua.lua_pushnil(L);
    while (lua.lua_next(L, -2)) {
      lua.lua_pop(L, 1);
      lua.lua_pushvalue(L, -1);
      items.push(popReply(L, resp, depth + 1, charge));
    }
    lua.lua_pop(L, 1);
    return new RespSet(items);
  }
  lua.lua_pop(L, 1);
  const out: Reply[] = [];
  for (let j = 1; ; j++) {
    lua.lua_rawgeti(L, -1, j);
    if (lua.lua_type(L, -1) === lua.LUA_TNIL) {
      lua.lua_pop(L, 1);
      break;
    }
    out.push(popReply(L, resp, depth + 1, charge));
  }
  return out;
}
