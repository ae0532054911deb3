/**
 * Redis's geohash arithmetic (geohash.c, geohash_helper.c), re-derived in TypeScript: a point
 * is stored in a sorted set as a 52-bit score, latitude and longitude each quantized to 26
 * bits over Redis's ranges (latitude ±85.05112878, the Web Mercator limit) and interleaved,
 * latitude in the even bits. Searches cover the area with the hash box of the point and its
 * 8 neighbours at a precision chosen from the radius, each box a score range of the set.
 *
 * 64-bit integer work is done in BigInt so that the wrap-arounds and the overflow of a
 * coordinate on the upper edge of its range (offset 2^26, one bit past the 26) give exactly
 * the scores redis-server computes.
 */

export const GEO_STEP_MAX = 26;
export const GEO_LAT_MIN = -85.05112878;
export const GEO_LAT_MAX = 85.05112878;
export const GEO_LONG_MIN = -180;
export const GEO_LONG_MAX = 180;
/** Earth's quadratic mean radius for WGS-84, as Redis uses it for every distance. */
export const EARTH_RADIUS_IN_METERS = 6372797.560856;
const MERCATOR_MAX = 20037726.37;
const D_R = Math.PI / 180.0;

import { asin, cos, sin } from "./libm.ts";

const U64 = (1n << 64n) - 1n;
const EVEN = 0x5555555555555555n;
const ODD = 0xaaaaaaaaaaaaaaaan;

export interface HashBits {
  bits: bigint;
  step: number;
}

export interface Range {
  min: number;
  max: number;
}

export interface Area {
  lon: Range;
  lat: Range;
}

/** Bit i of x goes to bit 2i, bit i of y to bit 2i+1 (both 32-bit values). */
function interleave(x: number, y: number): bigint {
  let out = 0n;
  for (let i = 0; i < 32; i++) {
    if (Math.floor(x / 2 ** i) % 2) out |= 1n << BigInt(2 * i);
    if (Math.floor(y / 2 ** i) % 2) out |= 1n << BigInt(2 * i + 1);
  }
  return out;
}

/** The inverse: [even bits, odd bits] as 32-bit numbers. */
function deinterleave(v: bigint): [number, number] {
  let x = 0;
  let y = 0;
  for (let i = 0; i < 32; i++) {
    if ((v >> BigInt(2 * i)) & 1n) x += 2 ** i;
    if ((v >> BigInt(2 * i + 1)) & 1n) y += 2 ** i;
  }
  return [x, y];
}

/** C's conversion of a non-negative double below 2^32 to uint32_t (truncation). */
const u32 = (d: number): number => Math.trunc(d) % 2 ** 32;

export const WGS84: { lon: Range; lat: Range } = {
  lon: { min: GEO_LONG_MIN, max: GEO_LONG_MAX },
  lat: { min: GEO_LAT_MIN, max: GEO_LAT_MAX },
};

/** geohashEncode: null outside Redis's ranges (or the given ranges). */
export function encode(lon: number, lat: number, step: number, lonR: Range = WGS84.lon, latR: Range = WGS84.lat): HashBits | null {
  if (lon > GEO_LONG_MAX || lon < GEO_LONG_MIN || lat > GEO_LAT_MAX || lat < GEO_LAT_MIN) return null;
  if (lat < latR.min || lat > latR.max || lon < lonR.min || lon > lonR.max) return null;
  let latOffset = (lat - latR.min) / (latR.max - latR.min);
  let lonOffset = (lon - lonR.min) / (lonR.max - lonR.min);
  latOffset *= 2 ** step;
  lonOffset *= 2 ** step;
  return { bits: interleave(u32(latOffset), u32(lonOffset)), step };
}

/** geohashDecode: the box a hash designates. */
export function decodeArea(h: HashBits, lonR: Range = WGS84.lon, latR: Range = WGS84.lat): Area {
  const [ilat, ilon] = deinterleave(h.bits);
  const latScale = latR.max - latR.min;
  const lonScale = lonR.max - lonR.min;
  const div = 2 ** h.step;
  return {
    lat: { min: latR.min + (ilat * 1.0) / div * latScale, max: latR.min + ((ilat + 1) * 1.0) / div * latScale },
    lon: { min: lonR.min + (ilon * 1.0) / div * lonScale, max: lonR.min + ((ilon + 1) * 1.0) / div * lonScale },
  };
}

/** The centre of a box, clamped to the valid ranges: [lon, lat]. */
export function areaCenter(a: Area): [number, number] {
  let x = (a.lon.min + a.lon.max) / 2;
  if (x > GEO_LONG_MAX) x = GEO_LONG_MAX;
  if (x < GEO_LONG_MIN) x = GEO_LONG_MIN;
  let y = (a.lat.min + a.lat.max) / 2;
  if (y > GEO_LAT_MAX) y = GEO_LAT_MAX;
  if (y < GEO_LAT_MIN) y = GEO_LAT_MIN;
  return [x, y];
}

/**
 * C's (uint64_t) cast of a sorted-set score. Scores GEOADD did not write make it undefined in
 * C; these are the results redis-server 7.0.15 on x86-64 gave: negatives wrap, -inf is 0,
 * +inf and huge values are 2^63.
 */
export function scoreBits(score: number): bigint {
  if (score === -Infinity || Number.isNaN(score)) return 0n;
  if (score >= 2 ** 64) return 1n << 63n;
  return BigInt.asUintN(64, BigInt(Math.trunc(score)));
}

/** The [lon, lat] a sorted-set score decodes to (decodeGeohash: step 26, always succeeds). */
export function decodeScore(score: number): [number, number] {
  return areaCenter(decodeArea({ bits: scoreBits(score), step: GEO_STEP_MAX }));
}

/** The 52-bit score of a point (geohashAlign52Bits of its step-26 hash), as the integer GEOADD hands to ZADD. */
export function align52(h: HashBits): bigint {
  return BigInt.asUintN(64, h.bits << BigInt(52 - h.step * 2));
}

/** The score GEOADD stores for a point, or null when it is outside the ranges. */
export function pointScore(lon: number, lat: number): bigint | null {
  const h = encode(lon, lat, GEO_STEP_MAX);
  return h ? align52(h) : null;
}

/** GEOHASH's 11-character standard geohash (re-encoded over ±90 latitude; the last character is always 0). */
export function standardGeohash(score: number): string {
  const alphabet = "0123456789bcdefghjkmnpqrstuvwxyz";
  const [lon, lat] = decodeScore(score);
  const h = encode(lon, lat, GEO_STEP_MAX, { min: -180, max: 180 }, { min: -90, max: 90 });
  const bits = h ? h.bits : 0n;
  let out = "";
  for (let i = 0; i < 11; i++) out += i === 10 ? "0" : alphabet[Number((bits >> BigInt(52 - (i + 1) * 5)) & 0x1fn)];
  return out;
}

function moveX(h: HashBits, d: number): HashBits {
  let x = h.bits & ODD;
  const y = h.bits & EVEN;
  const zz = EVEN >> BigInt(64 - h.step * 2);
  x = d > 0 ? (x + zz + 1n) & U64 : BigInt.asUintN(64, (x | zz) - (zz + 1n));
  x &= ODD >> BigInt(64 - h.step * 2);
  return { bits: x | y, step: h.step };
}

function moveY(h: HashBits, d: number): HashBits {
  const x = h.bits & ODD;
  let y = h.bits & EVEN;
  const zz = ODD >> BigInt(64 - h.step * 2);
  y = d > 0 ? (y + zz + 1n) & U64 : BigInt.asUintN(64, (y | zz) - (zz + 1n));
  y &= EVEN >> BigInt(64 - h.step * 2);
  return { bits: x | y, step: h.step };
}

const deg = (ang: number): number => ang * D_R;
const rad2deg = (ang: number): number => ang / D_R;

/** Distance along a meridian (geohashGetLatDistance). */
export function latDistance(lat1: number, lat2: number): number {
  return EARTH_RADIUS_IN_METERS * Math.abs(deg(lat2) - deg(lat1));
}

/** Redis's haversine distance in metres (geohashGetDistance). */
export function distance(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const lon1r = deg(lon1);
  const lon2r = deg(lon2);
  const v = sin((lon2r - lon1r) / 2);
  if (v === 0.0) return latDistance(lat1, lat2);
  const lat1r = deg(lat1);
  const lat2r = deg(lat2);
  const u = sin((lat2r - lat1r) / 2);
  const a = u * u + cos(lat1r) * cos(lat2r) * v * v;
  return 2.0 * EARTH_RADIUS_IN_METERS * asin(Math.sqrt(a));
}

/** A search area: a circle of `radius`, or a `width` × `height` box, in units of `conversion` metres. */
export type Shape =
  | { type: "radius"; lon: number; lat: number; conversion: number; radius: number }
  | { type: "box"; lon: number; lat: number; conversion: number; width: number; height: number };

/** The distance of a point from the shape's centre when it lies inside the shape, else null (geoWithinShape). */
export function withinShape(s: Shape, lon: number, lat: number): number | null {
  if (s.type === "radius") {
    const d = distance(s.lon, s.lat, lon, lat);
    return d > s.radius * s.conversion ? null : d;
  }
  const w = s.width * s.conversion;
  const h = s.height * s.conversion;
  if (latDistance(lat, s.lat) > h / 2) return null;
  if (distance(lon, lat, s.lon, lat) > w / 2) return null;
  return distance(s.lon, s.lat, lon, lat);
}

/** geohashEstimateStepsByRadius. */
export function estimateSteps(rangeMeters: number, lat: number): number {
  if (rangeMeters === 0) return 26;
  let step = 1;
  while (rangeMeters < MERCATOR_MAX) {
    rangeMeters *= 2;
    step++;
  }
  step -= 2;
  if (lat > 66 || lat < -66) {
    step--;
    if (lat > 80 || lat < -80) step--;
  }
  if (step < 1) step = 1;
  if (step > 26) step = 26;
  return step;
}

/** geohashBoundingBox: [minLon, minLat, maxLon, maxLat]. */
export function boundingBox(s: Shape): [number, number, number, number] {
  const height = s.conversion * (s.type === "radius" ? s.radius : s.height / 2);
  const width = s.conversion * (s.type === "radius" ? s.radius : s.width / 2);
  const latDelta = rad2deg(height / EARTH_RADIUS_IN_METERS);
  const lonDeltaTop = rad2deg(width / EARTH_RADIUS_IN_METERS / cos(deg(s.lat + latDelta)));
  const lonDeltaBottom = rad2deg(width / EARTH_RADIUS_IN_METERS / cos(deg(s.lat - latDelta)));
  const south = s.lat < 0;
  return [
    south ? s.lon - lonDeltaBottom : s.lon - lonDeltaTop,
    s.lat - latDelta,
    south ? s.lon + lonDeltaBottom : s.lon + lonDeltaTop,
    s.lat + latDelta,
  ];
}

/**
 * The boxes to search, in Redis's order (centre, N, S, E, W, NE, NW, SE, SW), null where a
 * neighbour was excluded as useless (geohashCalculateAreasByShapeWGS84).
 */
export function searchBoxes(s: Shape): (HashBits | null)[] {
  const [minLon, minLat, maxLon, maxLat] = boundingBox(s);
  const radiusMeters =
    (s.type === "radius" ? s.radius : Math.sqrt((s.width / 2) * (s.width / 2) + (s.height / 2) * (s.height / 2))) * s.conversion;
  let steps = estimateSteps(radiusMeters, s.lat);
  const at = (step: number) => {
    // The centre is a valid point (checked by the caller), so encode succeeds.
    const hash = encode(s.lon, s.lat, step)!;
    const n = {
      north: moveY(hash, 1),
      south: moveY(hash, -1),
      east: moveX(hash, 1),
      west: moveX(hash, -1),
      northEast: moveY(moveX(hash, 1), 1),
      northWest: moveY(moveX(hash, -1), 1),
      southEast: moveY(moveX(hash, 1), -1),
      southWest: moveY(moveX(hash, -1), -1),
    };
    return { hash, n };
  };
  let { hash, n } = at(steps);
  const north = decodeArea(n.north);
  const south = decodeArea(n.south);
  const east = decodeArea(n.east);
  const west = decodeArea(n.west);
  const decrease = north.lat.max < maxLat || south.lat.min > minLat || east.lon.max < maxLon || west.lon.min > minLon;
  if (steps > 1 && decrease) {
    steps--;
    ({ hash, n } = at(steps));
  }
  const area = decodeArea(hash);
  const out: (HashBits | null)[] = [hash, n.north, n.south, n.east, n.west, n.northEast, n.northWest, n.southEast, n.southWest];
  if (steps >= 2) {
    const drop = (...i: number[]) => i.forEach((j) => (out[j] = null));
    if (area.lat.min < minLat) drop(2, 8, 7);
    if (area.lat.max > maxLat) drop(1, 5, 6);
    if (area.lon.min < minLon) drop(4, 8, 6);
    if (area.lon.max > maxLon) drop(3, 7, 5);
  }
  return out;
}

/** The score range [min, max) holding every point of a box (scoresOfGeoHashBox). */
export function boxScores(h: HashBits): [number, number] {
  return [Number(align52(h)), Number(align52({ bits: h.bits + 1n, step: h.step }))];
}

/** C's llrint: round half to even. */
function rint(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Redis's distance text (fixedpoint_d2string with 4 digits): "%.4f" of a value rounded half-even. */
export function formatDistance(d: number): string {
  if (d === 0) return "0.0000";
  const v = rint(d * 10000);
  const neg = v < 0;
  const s = BigInt(Math.abs(v)).toString().padStart(5, "0");
  return `${neg ? "-" : ""}${s.slice(0, -4)}.${s.slice(-4)}`;
}

/** C's "%f" for the invalid-pair error (6 decimals; printf prints large values in full). */
export function formatF6(x: number): string {
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (Number.isNaN(x)) return "nan";
  const neg = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  const s = a < 1e21 ? a.toFixed(6) : `${BigInt(a).toString()}.000000`;
  return neg ? `-${s}` : s;
}
