/**
 * GEO commands over sorted sets (Redis's geo.c semantics): a point is a member whose score is
 * its 52-bit interleaved geohash (keyspace/geohash.ts). GEOADD is ZADD with computed scores,
 * and propagates as that ZADD as Redis does (replaceClientCommandVector). Searches read the
 * 9 geohash boxes around the centre as score ranges of the kv_zset_score index, so a search
 * costs O(log M + N) for the N members in those boxes, never a scan of the set.
 *
 * The STORE forms (GEORADIUS … STORE/STOREDIST, GEOSEARCHSTORE) propagate verbatim, as Redis
 * 7.0 does: their result depends only on the data, which replicas hold identically.
 */
import { type CommandSpec, type Ctx, cmd } from "../command.ts";
import { checkKey, floatArg, i64Arg, opt, readKey } from "../args.ts";
import { E, fail } from "../errors.ts";
import {
  boxScores,
  decodeScore,
  distance,
  formatDistance,
  formatF6,
  GEO_LAT_MAX,
  GEO_LAT_MIN,
  GEO_LONG_MAX,
  GEO_LONG_MIN,
  pointScore,
  searchBoxes,
  type Shape,
  standardGeohash,
  withinShape,
} from "../geohash.ts";
import { partialSort } from "../partial-sort.ts";
import { TYPE } from "../schema.ts";
import type { KeyMeta } from "../store.ts";
import { type Reply, NIL_ARRAY, RespDouble } from "../../protocol/reply.ts";
import { blob, own, utf8 } from "../../util/bytes.ts";
import { clampToSafe, formatHumanDouble } from "../../util/numbers.ts";
import { type Entry, getScore, storeEntries, zaddGeneric } from "./zsets.ts";

/** Forces the (kid, score, member) index so a box is an index range walked in Redis's order. */
const BY_SCORE = "kv_zset INDEXED BY kv_zset_score";

const readZ = (ctx: Ctx, key: Uint8Array): KeyMeta | null => readKey(ctx, key, TYPE.zset);

/** extractLongLatOrReply: two floats, then the range check with Redis's "%f" text. */
function lonLatArgs(lonArg: Uint8Array, latArg: Uint8Array): [number, number] {
  const lon = floatArg(lonArg);
  const lat = floatArg(latArg);
  if (lon < GEO_LONG_MIN || lon > GEO_LONG_MAX || lat < GEO_LAT_MIN || lat > GEO_LAT_MAX) {
    fail(`ERR invalid longitude,latitude pair ${formatF6(lon)},${formatF6(lat)}`);
  }
  return [lon, lat];
}

/** extractUnitOrReply: metres per unit. */
function unitArg(b: Uint8Array): number {
  switch (opt(b)) {
    case "m":
      return 1;
    case "km":
      return 1000;
    case "ft":
      return 0.3048;
    case "mi":
      return 1609.34;
    default:
      fail("ERR unsupported unit provided. please use M, KM, FT, MI");
  }
}

function distanceArgs(argv: Uint8Array[], i: number): { radius: number; conversion: number } {
  const radius = floatArg(argv[i]!, "ERR need numeric radius");
  if (radius < 0) fail("ERR radius cannot be negative");
  return { radius, conversion: unitArg(argv[i + 1]!) };
}

/** A coordinate as Redis's addReplyHumanLongDouble writes it: bulk in RESP2, `,` in RESP3. */
function coordReply(ctx: Ctx, v: number): Reply {
  const text = formatHumanDouble(v);
  return ctx.session.resp > 2 ? new RespDouble(v, text) : utf8(text);
}

// --- GEOADD ---------------------------------------------------------------------------------

/** GEOADD key [NX|XX] [CH] lon lat member ...: ZADD of the computed scores, propagated as such. */
function geoadd(ctx: Ctx): Reply {
  const argv = ctx.argv;
  let nx = false;
  let xx = false;
  let idx = 2;
  for (; idx < argv.length; idx++) {
    const o = opt(argv[idx]!);
    if (o === "nx") nx = true;
    else if (o === "xx") xx = true;
    else if (o !== "ch") break;
  }
  if ((argv.length - idx) % 3 || (nx && xx)) fail(E.syntax);
  const zadd: Uint8Array[] = [utf8("zadd"), ...argv.slice(1, idx)];
  for (let j = idx; j < argv.length; j += 3) {
    const [lon, lat] = lonLatArgs(argv[j]!, argv[j + 1]!);
    zadd.push(utf8(pointScore(lon, lat)!.toString()), argv[j + 2]!);
  }
  const reply = zaddGeneric(ctx, false, zadd);
  ctx.rewrite(zadd);
  return reply;
}

// --- point reads ------------------------------------------------------------------------------

function geopos(ctx: Ctx): Reply {
  const m = readZ(ctx, ctx.argv[1]!);
  return ctx.argv.slice(2).map((member) => {
    const s = m ? getScore(ctx.ks.sql, m.id, member) : null;
    if (s === null) return NIL_ARRAY;
    const [lon, lat] = decodeScore(s);
    return [coordReply(ctx, lon), coordReply(ctx, lat)];
  });
}

function geohash(ctx: Ctx): Reply {
  const m = readZ(ctx, ctx.argv[1]!);
  return ctx.argv.slice(2).map((member) => {
    const s = m ? getScore(ctx.ks.sql, m.id, member) : null;
    return s === null ? null : utf8(standardGeohash(s));
  });
}

/** GEODIST key a b [unit]: the unit is checked before the key. */
function geodist(ctx: Ctx): Reply {
  const argv = ctx.argv;
  let toMeter = 1;
  if (argv.length === 5) toMeter = unitArg(argv[4]!);
  else if (argv.length > 5) fail(E.syntax);
  const m = readZ(ctx, argv[1]!);
  if (!m) return null;
  const s1 = getScore(ctx.ks.sql, m.id, argv[2]!);
  const s2 = getScore(ctx.ks.sql, m.id, argv[3]!);
  if (s1 === null || s2 === null) return null;
  const [x1, y1] = decodeScore(s1);
  const [x2, y2] = decodeScore(s2);
  return utf8(formatDistance(distance(x1, y1, x2, y2) / toMeter));
}

// --- searches ---------------------------------------------------------------------------------

type Variant = "georadius" | "georadius_ro" | "georadiusbymember" | "georadiusbymember_ro" | "geosearch" | "geosearchstore";

interface Point {
  member: Uint8Array;
  score: number;
  lon: number;
  lat: number;
  dist: number;
}

/**
 * The points of the shape in Redis's collection order: box by box (skipping a box equal to
 * the one read before it), each box in (score, member) order; with `limit` (COUNT … ANY) it
 * stops once that many matched.
 */
function pointsInShape(ctx: Ctx, m: KeyMeta, shape: Shape, limit: number): Point[] {
  const out: Point[] = [];
  const boxes = searchBoxes(shape);
  // Redis compares with the last box read only once that is not the centre (index 0), so a
  // neighbour equal to the centre is read twice and its points reported twice, as there.
  let last = 0;
  for (let i = 0; i < boxes.length; i++) {
    const box = boxes[i];
    if (!box) continue;
    const prev = boxes[last]!;
    if (last && box.bits === prev.bits && box.step === prev.step) continue;
    if (limit && out.length >= limit) break;
    const [min, max] = boxScores(box);
    const cursor = ctx.ks.sql.exec(`SELECT member, score FROM ${BY_SCORE} WHERE kid = ? AND score >= ? AND score < ? ORDER BY score, member`, m.id, min, max);
    for (const row of cursor) {
      const score = row.score as number;
      const [lon, lat] = decodeScore(score);
      const dist = withinShape(shape, lon, lat);
      if (dist !== null) out.push({ member: blob(row.member), score, lon, lat, dist });
      if (limit && out.length >= limit) break;
    }
    last = i;
  }
  return out;
}

/** georadiusGeneric: the six search commands, argument checks in Redis's order. */
function search(variant: Variant) {
  const byCoords = variant === "georadius" || variant === "georadius_ro";
  const byMember = variant === "georadiusbymember" || variant === "georadiusbymember_ro";
  const isSearch = variant === "geosearch" || variant === "geosearchstore";
  const noStore = variant.endsWith("_ro");
  const isSearchStore = variant === "geosearchstore";
  return (ctx: Ctx): Reply => {
    const argv = ctx.argv;
    const srcIdx = isSearchStore ? 2 : 1;
    const m = readZ(ctx, argv[srcIdx]!);
    let storeKey: Uint8Array | null = isSearchStore ? argv[1]! : null;
    let storeDist = false;
    let lon = 0;
    let lat = 0;
    let kind: "radius" | "box" = "radius";
    let radius = 0;
    let width = 0;
    let height = 0;
    let conversion = 1;
    let base: number;
    if (byCoords) {
      base = 6;
      [lon, lat] = lonLatArgs(argv[2]!, argv[3]!);
      ({ radius, conversion } = distanceArgs(argv, 4));
    } else if (byMember && !m) {
      base = 5; // the arguments are still parsed, to choose the empty reply
    } else if (byMember) {
      base = 5;
      [lon, lat] = memberLonLat(ctx, m!, argv[2]!);
      ({ radius, conversion } = distanceArgs(argv, 3));
    } else {
      base = isSearchStore ? 3 : 2;
    }

    let withDist = false;
    let withHash = false;
    let withCoord = false;
    let fromMember = false;
    let fromLoc = false;
    let byRadius = false;
    let byBox = false;
    let sort: "none" | "asc" | "desc" = "none";
    let any = false;
    let count = 0;
    const remaining = argv.length - base;
    for (let i = 0; i < remaining; i++) {
      const a = opt(argv[base + i]!);
      const at = (k: number): Uint8Array => argv[base + i + k]!;
      if (a === "withdist") withDist = true;
      else if (a === "withhash") withHash = true;
      else if (a === "withcoord") withCoord = true;
      else if (a === "any") any = true;
      else if (a === "asc") sort = "asc";
      else if (a === "desc") sort = "desc";
      else if (a === "count" && i + 1 < remaining) {
        const c = i64Arg(at(1));
        if (c <= 0n) fail("ERR COUNT must be > 0");
        // A count past the set's size means the whole set; keep it a safe number.
        count = clampToSafe(c);
        i++;
      } else if ((a === "store" || a === "storedist") && i + 1 < remaining && !noStore && !isSearch) {
        storeKey = checkKey(at(1));
        storeDist = a === "storedist";
        i++;
      } else if (a === "storedist" && isSearchStore) {
        storeDist = true;
      } else if (a === "frommember" && i + 1 < remaining && isSearch && !fromLoc) {
        if (m) [lon, lat] = memberLonLat(ctx, m, at(1));
        fromMember = true;
        i++;
      } else if (a === "fromlonlat" && i + 2 < remaining && isSearch && !fromMember) {
        [lon, lat] = lonLatArgs(at(1), at(2));
        fromLoc = true;
        i += 2;
      } else if (a === "byradius" && i + 2 < remaining && isSearch && !byBox) {
        ({ radius, conversion } = distanceArgs(argv, base + i + 1));
        kind = "radius";
        byRadius = true;
        i += 2;
      } else if (a === "bybox" && i + 3 < remaining && isSearch && !byRadius) {
        width = floatArg(at(1), "ERR need numeric width");
        height = floatArg(at(2), "ERR need numeric height");
        if (height < 0 || width < 0) fail("ERR height or width cannot be negative");
        conversion = unitArg(at(3));
        kind = "box";
        byBox = true;
        i += 3;
      } else fail(E.syntax);
    }

    if (storeKey && (withDist || withHash || withCoord)) {
      fail(`ERR ${isSearchStore ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS"} is not compatible with WITHDIST, WITHHASH and WITHCOORD options`);
    }
    const name = new TextDecoder().decode(argv[0]!);
    if (isSearch && !(fromMember || fromLoc)) fail(`ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for ${name}`);
    if (isSearch && !(byRadius || byBox)) fail(`ERR exactly one of BYRADIUS and BYBOX can be specified for ${name}`);
    if (any && !count) fail("ERR the ANY argument requires COUNT argument");

    if (!m) return storeKey ? storeEntries(ctx, storeKey, []) : [];
    if (count !== 0 && sort === "none" && !any) sort = "asc";

    const shape: Shape = kind === "radius" ? { type: "radius", lon, lat, conversion, radius } : { type: "box", lon, lat, conversion, width, height };
    const points = pointsInShape(ctx, m, shape, any ? count : 0);
    if (!points.length && !storeKey) return [];
    const returnedCount = count === 0 || points.length < count ? points.length : count;
    if (sort !== "none") {
      const asc = (a: Point, b: Point): number => (a.dist > b.dist ? 1 : a.dist === b.dist ? 0 : -1);
      const cmp = sort === "asc" ? asc : (a: Point, b: Point) => -asc(a, b);
      // All of them: stable, as glibc's qsort (a merge sort) keeps equal distances in
      // collection order. The first `count`: Redis's partial quicksort, with its tie order.
      if (returnedCount === points.length) points.sort(cmp);
      else partialSort(points, cmp, 0, returnedCount - 1);
    }
    const returned = points.slice(0, returnedCount);

    if (storeKey) {
      const rows: Entry[] = returned.map((p) => [p.member, storeDist ? p.dist / conversion : p.score]);
      return storeEntries(ctx, storeKey, rows);
    }
    const options = (withDist ? 1 : 0) + (withCoord ? 1 : 0) + (withHash ? 1 : 0);
    return returned.map((p) => {
      if (!options) return p.member;
      const item: Reply[] = [p.member];
      if (withDist) item.push(utf8(formatDistance(p.dist / conversion)));
      if (withHash) item.push(BigInt.asIntN(64, BigInt(Math.trunc(p.score))));
      if (withCoord) item.push([coordReply(ctx, p.lon), coordReply(ctx, p.lat)]);
      return item;
    });
  };
}

/** longLatFromMember, or Redis's error when the member is missing. */
function memberLonLat(ctx: Ctx, m: KeyMeta, member: Uint8Array): [number, number] {
  const s = getScore(ctx.ks.sql, m.id, own(member));
  if (s === null) fail("ERR could not decode requested zset member");
  return decodeScore(s);
}

// --- the table ------------------------------------------------------------------------------

export const geoCommands: CommandSpec[] = [
  cmd("geoadd", -5, ["write", "denyoom"], [1, 1, 1], geoadd),
  cmd("geodist", -4, ["readonly"], [1, 1, 1], geodist),
  cmd("geohash", -2, ["readonly"], [1, 1, 1], geohash),
  cmd("geopos", -2, ["readonly"], [1, 1, 1], geopos),
  cmd("geosearch", -7, ["readonly"], [1, 1, 1], search("geosearch")),
  cmd("geosearchstore", -8, ["write", "denyoom"], [1, 2, 1], search("geosearchstore")),
  // The STORE key of GEORADIUS is found by the command (Redis's movablekeys); it signals it itself.
  cmd("georadius", -6, ["write", "denyoom"], [1, 1, 1], search("georadius")),
  cmd("georadius_ro", -6, ["readonly"], [1, 1, 1], search("georadius_ro")),
  cmd("georadiusbymember", -5, ["write", "denyoom"], [1, 1, 1], search("georadiusbymember")),
  cmd("georadiusbymember_ro", -5, ["readonly"], [1, 1, 1], search("georadiusbymember_ro")),
];
