/**
 * Redis's geohash arithmetic (src/keyspace/geohash.ts) against values recorded from
 * redis-server 7.0.15 (`GEOADD` then `ZRANGE … WITHSCORES`, `GEOPOS`, `GEOHASH`, `GEODIST`).
 */
import { describe, expect, it } from "vitest";
import {
  boxScores,
  decodeScore,
  distance,
  formatDistance,
  formatF6,
  pointScore,
  searchBoxes,
  standardGeohash,
  withinShape,
} from "../../src/keyspace/geohash.ts";
import { formatHumanDouble } from "../../src/util/numbers.ts";

// [lon, lat, score, GEOPOS lon, GEOPOS lat, GEOHASH] from redis-server 7.0.15.
const POINTS: [number, number, string, string, string, string][] = [
  [13.361389, 38.115556, "3479099956230698", "13.36138933897018433", "38.11555639549629859", "sqc8b49rny0"],
  [15.087269, 37.502669, "3479447370796909", "15.08726745843887329", "37.50266842333162032", "sqdtr74hyu0"],
  [-73.9857, 40.7484, "1791875672646935", "-73.98570209741592407", "40.74839914563441567", "dr5ru6j28h0"],
  [139.6917, 35.6895, "4171231230197045", "139.69170123338699341", "35.68950126697937009", "xn774c06kt0"],
  [151.2093, -33.8688, "3252046221964352", "151.20929986238479614", "-33.86880091934155956", "r3gx2f77bj0"],
  [-179.9999, -85, "273961549", "-179.99990075826644897", "-84.99999965213439168", "00bh2n0p470"],
  [0, 0, "3377699720527872", "0.00000268220901489", "0.00000126736058093", "s0000000000"],
  [-180, -85.05112878, "0", "-179.99999731779098511", "-85.05112751263942528", "00bh0hbj200"],
  // On the upper edge both offsets reach 2^26: the bit past the 26 spills, as in Redis.
  [180, 85.05112878, "13510798882111488", "180", "85.0511287799999991", "bp05b5048p0"],
  [0.0001, -0.0001, "2627099782632264", "0.00009924173355103", "-0.00010012148579364", "kpbpbpbp6m0"],
];

describe("geohash", () => {
  it("encodes points to redis-server's scores and decodes them to GEOPOS's digits", () => {
    for (const [lon, lat, score, plon, plat, hash] of POINTS) {
      expect(pointScore(lon, lat)!.toString()).toBe(score);
      const [x, y] = decodeScore(Number(score));
      expect([formatHumanDouble(x), formatHumanDouble(y)]).toEqual([plon, plat]);
      expect(standardGeohash(Number(score))).toBe(hash);
    }
  });

  it("refuses points outside Redis's ranges", () => {
    expect(pointScore(180.0001, 0)).toBeNull();
    expect(pointScore(0, 85.06)).toBeNull();
    expect(pointScore(0, -90)).toBeNull();
  });

  it("computes GEODIST's distances and formats them as %.4f", () => {
    const d = (a: string, b: string, unit: number) => {
      const [x1, y1] = decodeScore(Number(a));
      const [x2, y2] = decodeScore(Number(b));
      return formatDistance(distance(x1, y1, x2, y2) / unit);
    };
    expect(d("3479099956230698", "3479447370796909", 1)).toBe("166274.1516");
    expect(d("3479099956230698", "3479447370796909", 1000)).toBe("166.2742");
    expect(d("1791875672646935", "2163557714755072", 1000)).toBe("5567.9804");
    expect(d("4171231230197045", "3252046221964352", 1609.34)).toBe("4864.6175");
    expect(d("1791875672646935", "273961549", 0.3048)).toBe("48150295.9532");
    expect(formatDistance(0)).toBe("0.0000");
    // llrint rounds an exact half to even; 0.00015 * 10000 is just below 1.5.
    expect(formatDistance(0.00005)).toBe("0.0000");
    expect(formatDistance(0.00025)).toBe("0.0002");
    expect(formatDistance(0.00015)).toBe("0.0001");
  });

  it("formats the invalid-pair error's numbers as printf %f", () => {
    expect(formatF6(200)).toBe("200.000000");
    expect(formatF6(-0)).toBe("-0.000000");
    expect(formatF6(Infinity)).toBe("inf");
    expect(formatF6(1e300)).toMatch(/^1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371375080447864043704443832883878176942523235360430575644792184786706982848387200926575803737830233794788090059368953234970799945081119038967640880074652742780142494579258788820056842838115669472196386865459400540160\.000000$/);
  });

  it("covers a search circle with boxes whose score ranges contain the points inside it", () => {
    const shape = { type: "radius" as const, lon: 15, lat: 37, conversion: 1000, radius: 200 };
    const boxes = searchBoxes(shape).filter((b) => b !== null);
    expect(boxes.length).toBeGreaterThan(0);
    for (const [lon, lat, score] of POINTS.slice(0, 2)) {
      expect(withinShape(shape, lon, lat)).not.toBeNull();
      const s = Number(score);
      expect(boxes.some((b) => boxScores(b!)[0] <= s && s < boxScores(b!)[1])).toBe(true);
    }
    expect(withinShape(shape, -73.9857, 40.7484)).toBeNull();
    // A box: 400 km wide around Palermo holds Catania (~166 km east).
    expect(withinShape({ type: "box", lon: 13.361389, lat: 38.115556, conversion: 1000, width: 400, height: 400 }, 15.087269, 37.502669)).not.toBeNull();
    expect(withinShape({ type: "box", lon: 13.361389, lat: 38.115556, conversion: 1000, width: 300, height: 400 }, 15.087269, 37.502669)).toBeNull();
  });
});
