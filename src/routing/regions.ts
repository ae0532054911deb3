/**
 * The nine Durable Object location hints, how far apart they are, and where a caller is.
 *
 * Distances are typical round-trip times in milliseconds between one representative city
 * per hint (wnam San Francisco/Los Angeles, enam Ashburn/New York, sam São Paulo, weur
 * Frankfurt/London, eeur Warsaw, apac Singapore/Tokyo, oc Sydney, afr Johannesburg, me
 * Dubai), rounded to 5 ms from public inter-city ping statistics (e.g. WonderNetwork's global
 * ping tables). They only need to order the regions correctly for routing, and they are the
 * simulated one-way latency (half of them) of the geography benchmark; they are not measured
 * by this project.
 */

/** Durable Object location hints (Cloudflare's data-location docs). */
export const REGIONS = ["wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me"] as const;
export type Region = (typeof REGIONS)[number];

export function isRegion(s: string | null | undefined): s is Region {
  return typeof s === "string" && (REGIONS as readonly string[]).includes(s);
}

/** Upper triangle of the RTT table (ms), row by row in REGIONS order. */
const RTT_ROWS_MS: Record<Region, Partial<Record<Region, number>>> = {
  wnam: { enam: 65, sam: 170, weur: 145, eeur: 165, apac: 130, oc: 145, afr: 290, me: 230 },
  enam: { sam: 115, weur: 80, eeur: 100, apac: 200, oc: 200, afr: 230, me: 180 },
  sam: { weur: 190, eeur: 215, apac: 310, oc: 300, afr: 330, me: 300 },
  weur: { eeur: 30, apac: 170, oc: 260, afr: 160, me: 110 },
  eeur: { apac: 180, oc: 270, afr: 180, me: 100 },
  apac: { oc: 100, afr: 300, me: 90 },
  oc: { afr: 390, me: 190 },
  afr: { me: 140 },
  me: {},
};

/** Round-trip time between two regions in the same region (a nearby colo). */
export const SAME_REGION_RTT_MS = 5;
/** Distance given to a node whose region is unknown: after every known region. */
export const UNKNOWN_REGION_RTT_MS = 1000;

/** Typical round-trip time between two regions (ms), symmetric. */
export function regionRttMs(a: Region | null, b: Region | null): number {
  if (a === null || b === null) return UNKNOWN_REGION_RTT_MS;
  if (a === b) return SAME_REGION_RTT_MS;
  const v = RTT_ROWS_MS[a][b] ?? RTT_ROWS_MS[b][a];
  return v ?? UNKNOWN_REGION_RTT_MS;
}

/** Representative coordinates of each region [latitude, longitude] (see the header). */
export const REGION_COORDS: Record<Region, readonly [number, number]> = {
  wnam: [37.4, -122.1],
  enam: [39.0, -77.5],
  sam: [-23.5, -46.6],
  weur: [50.1, 8.7],
  eeur: [52.2, 21.0],
  apac: [1.35, 103.8],
  oc: [-33.9, 151.2],
  afr: [-26.2, 28.0],
  me: [25.2, 55.3],
};

/** Great-circle distance (km) between two points given in degrees. */
export function greatCircleKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The region whose representative city is nearest to a point. */
export function regionOfPoint(lat: number, lon: number): Region {
  let best: Region = "enam";
  let bestKm = Infinity;
  for (const r of REGIONS) {
    const [la, lo] = REGION_COORDS[r];
    const km = greatCircleKm(lat, lon, la, lo);
    if (km < bestKm) {
      best = r;
      bestKm = km;
    }
  }
  return best;
}

/** Continent codes of `request.cf.continent` → region, when no coordinates are known. */
const CONTINENT_REGION: Record<string, Region> = {
  NA: "enam",
  SA: "sam",
  EU: "weur",
  AS: "apac",
  OC: "oc",
  AF: "afr",
  AN: "oc",
};
/** Countries of the Middle East (`cf.country`), which the continent code puts in AS. */
const MIDDLE_EAST = new Set(["AE", "SA", "QA", "BH", "KW", "OM", "IL", "JO", "LB", "IQ", "IR", "SY", "YE", "PS", "TR", "EG"]);

/**
 * Cloudflare data centers (`cf.colo`, IATA codes) by region, for callers whose request has
 * no coordinates: the largest colos of each region. Others fall back to the continent.
 */
const COLO_REGION: Record<string, Region> = Object.fromEntries(
  (
    [
      ["wnam", "SJC SFO LAX SEA PDX LAS PHX DEN SLC YVR SAN SMF"],
      ["enam", "IAD EWR JFK BOS ORD ATL MIA DFW IAH YYZ YUL PHL CLT MSP DTW MCI"],
      ["sam", "GRU GIG EZE SCL LIM BOG UIO MDE CWB POA FOR"],
      ["weur", "LHR LCY MAN DUB AMS CDG MRS FRA DUS HAM MUC BRU ZRH GVA MAD BCN LIS MXP FCO CPH OSL ARN"],
      ["eeur", "WAW PRG VIE BUD OTP SOF ATH KBP HEL RIX VNO TLL BEG ZAG IST"],
      ["apac", "SIN HKG NRT KIX ICN TPE BKK KUL CGK MNL SGN HAN BOM DEL MAA BLR CCU HYD"],
      ["oc", "SYD MEL BNE PER ADL AKL CHC"],
      ["afr", "JNB CPT DUR LOS NBO ACC CAI CMN DAR"],
      ["me", "DXB AUH DOH BAH KWI MCT RUH JED AMM TLV BGW"],
    ] as const
  ).flatMap(([r, codes]) => codes.split(" ").map((c) => [c, r])),
);

/** The part of `request.cf` that locates a caller. */
export interface CallerLocation {
  latitude?: unknown;
  longitude?: unknown;
  continent?: unknown;
  country?: unknown;
  colo?: unknown;
}

/**
 * The caller's region: from the debug header (when DEBUG is enabled, the router passes it),
 * else from `cf` latitude/longitude, else from the colo that received the request, else from
 * its continent (and country, for the Middle East). null when nothing is known: the router
 * then uses the master.
 */
export function callerRegion(cf: CallerLocation | undefined | null, debugRegion: string | null): Region | null {
  const d = debugRegion?.trim().toLowerCase() ?? null;
  if (isRegion(d)) return d;
  if (!cf) return null;
  const lat = Number(cf.latitude);
  const lon = Number(cf.longitude);
  if (cf.latitude != null && cf.longitude != null && Number.isFinite(lat) && Number.isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
    return regionOfPoint(lat, lon);
  }
  const colo = typeof cf.colo === "string" ? COLO_REGION[cf.colo.toUpperCase()] : undefined;
  if (colo) return colo;
  const country = typeof cf.country === "string" ? cf.country.toUpperCase() : "";
  if (MIDDLE_EAST.has(country)) return "me";
  const continent = typeof cf.continent === "string" ? cf.continent.toUpperCase() : "";
  return CONTINENT_REGION[continent] ?? null;
}
