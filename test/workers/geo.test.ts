/**
 * GEO commands in the Workers runtime: replies and error texts recorded from redis-server
 * 7.0.15 (RESP2; bulk strings as text, errors as {err}, nil as null), the replication form
 * (GEOADD as the ZADD of its scores, the STORE forms verbatim), RESP3 coordinates.
 */
import { describe, expect, it } from "vitest";
import { RespDouble } from "../../src/protocol/reply.ts";
import { type EngineHarness, run, stream, withEngine } from "./harness.ts";

function sicily(h: EngineHarness): void {
  expect(run(h, "geoadd", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania")).toBe(2);
  expect(run(h, "geoadd", "Sicily", "ch", "13.361389", "38.115556", "Palermo", "12.758489", "38.788135", "edge1")).toBe(1);
  // XX: edge1 moves, "nope" is not added; CH counts the change.
  expect(run(h, "geoadd", "Sicily", "xx", "ch", "13", "38", "edge1", "1", "1", "nope")).toBe(1);
}

describe("GEO commands", () => {
  it("GEOADD stores Redis's 52-bit scores; GEOPOS, GEOHASH and GEODIST read them back", async () => {
    await withEngine((h) => {
      sicily(h);
      expect(run(h, "zrange", "Sicily", "0", "-1", "withscores")).toEqual([
        "edge1", 3479065152021743, "Palermo", 3479099956230698, "Catania", 3479447370796909,
      ]);
      expect(run(h, "zscore", "Sicily", "nope")).toBe(null);
      expect(run(h, "geopos", "Sicily", "Palermo", "nope")).toEqual([["13.36138933897018433", "38.11555639549629859"], "(nil array)"]);
      expect(run(h, "geohash", "Sicily", "Palermo", "Catania", "nope")).toEqual(["sqc8b49rny0", "sqdtr74hyu0", null]);
      expect(run(h, "geodist", "Sicily", "Palermo", "Catania")).toBe("166274.1516");
      expect(run(h, "geodist", "Sicily", "Palermo", "Catania", "KM")).toBe("166.2742");
      expect(run(h, "geodist", "Sicily", "Palermo", "nope")).toBe(null);
      expect(run(h, "geodist", "nokey", "a", "b")).toBe(null);
      expect(run(h, "geopos", "nokey", "a")).toEqual(["(nil array)"]);
    });
  });

  it("refuses bad input with Redis's errors and changes nothing", async () => {
    await withEngine((h) => {
      sicily(h);
      const before = run(h, "zrange", "Sicily", "0", "-1", "withscores");
      expect(run(h, "geoadd", "Sicily", "nx", "xx", "1", "1", "a")).toEqual({ err: "ERR syntax error" });
      expect(run(h, "geoadd", "Sicily", "1", "1")).toEqual({ err: "ERR wrong number of arguments for 'geoadd' command" });
      expect(run(h, "geoadd", "Sicily", "1", "1", "a", "200", "10", "x")).toEqual({ err: "ERR invalid longitude,latitude pair 200.000000,10.000000" });
      expect(run(h, "geoadd", "Sicily", "1", "1", "a", "x", "10", "x")).toEqual({ err: "ERR value is not a valid float" });
      expect(run(h, "geoadd", "Sicily", "1", "1", "a", "2", "2")).toEqual({ err: "ERR syntax error" });
      expect(run(h, "geodist", "Sicily", "Palermo", "Catania", "yd")).toEqual({ err: "ERR unsupported unit provided. please use M, KM, FT, MI" });
      expect(run(h, "geodist", "Sicily", "Palermo", "Catania", "mi", "extra")).toEqual({ err: "ERR syntax error" });
      const search = ["geosearch", "Sicily", "fromlonlat", "15", "37"];
      expect(run(h, ...search, "byradius", "-1", "km")).toEqual({ err: "ERR radius cannot be negative" });
      expect(run(h, ...search, "byradius", "x", "km")).toEqual({ err: "ERR need numeric radius" });
      expect(run(h, ...search, "bybox", "x", "1", "km")).toEqual({ err: "ERR need numeric width" });
      expect(run(h, ...search, "bybox", "1", "-1", "km")).toEqual({ err: "ERR height or width cannot be negative" });
      expect(run(h, ...search, "byradius", "1", "km", "count", "0")).toEqual({ err: "ERR COUNT must be > 0" });
      expect(run(h, ...search, "byradius", "1", "m", "any")).toEqual({ err: "ERR the ANY argument requires COUNT argument" });
      expect(run(h, "geosearch", "Sicily", "byradius", "1", "m")).toEqual({ err: "ERR wrong number of arguments for 'geosearch' command" });
      expect(run(h, "GEOSEARCH", "Sicily", "byradius", "1", "m", "asc", "desc")).toEqual({ err: "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH" });
      expect(run(h, ...search, "asc", "desc")).toEqual({ err: "ERR exactly one of BYRADIUS and BYBOX can be specified for geosearch" });
      expect(run(h, "geosearch", "Sicily", "frommember", "nosuch", "byradius", "1", "m")).toEqual({ err: "ERR could not decode requested zset member" });
      expect(run(h, "geosearch", "Sicily", "frommember", "Palermo", "byradius", "300", "km", "bybox", "1", "1", "km")).toEqual({ err: "ERR syntax error" });
      expect(run(h, "georadius", "Sicily", "15", "37", "200", "km", "withdist", "store", "x")).toEqual({
        err: "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
      });
      expect(run(h, "geosearchstore", "d", "Sicily", "fromlonlat", "15", "37", "byradius", "200", "km", "withdist")).toEqual({
        err: "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
      });
      expect(run(h, "georadius_ro", "Sicily", "15", "37", "200", "km", "store", "x")).toEqual({ err: "ERR syntax error" });
      run(h, "set", "s", "x");
      expect(run(h, "geopos", "s", "a")).toEqual({ err: "WRONGTYPE Operation against a key holding the wrong kind of value" });
      expect(run(h, "zrange", "Sicily", "0", "-1", "withscores")).toEqual(before);
      expect(run(h, "exists", "x", "d")).toBe(0);
    });
  });

  it("searches by radius and box, sorted, counted, with distances, hashes and coordinates", async () => {
    await withEngine((h) => {
      sicily(h);
      expect(run(h, "georadius", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "ASC")).toEqual([
        ["Catania", "56.4413", ["15.08726745843887329", "37.50266842333162032"]],
        ["Palermo", "190.4424", ["13.36138933897018433", "38.11555639549629859"]],
      ]);
      expect(run(h, "georadius", "Sicily", "15", "37", "200", "km", "desc", "count", "2")).toEqual(["Palermo", "Catania"]);
      expect(run(h, "georadiusbymember", "Sicily", "Palermo", "100", "km")).toEqual(["edge1", "Palermo"]);
      // No key: the radius is not even parsed.
      expect(run(h, "georadiusbymember", "nokey", "whatever", "x", "km")).toEqual([]);
      expect(run(h, "geosearch", "Sicily", "fromlonlat", "15", "37", "bybox", "400", "400", "km", "asc", "withhash")).toEqual([
        ["Catania", 3479447370796909n],
        ["Palermo", 3479099956230698n],
        ["edge1", 3479065152021743n],
      ]);
      expect(run(h, "geosearch", "Sicily", "fromlonlat", "15", "37", "byradius", "400", "km", "count", "1", "any")).toEqual(["edge1"]);
    });
  });

  it("stores results as scores or distances; GEOADD propagates as ZADD, the STORE forms verbatim", async () => {
    await withEngine((h) => {
      sicily(h);
      expect(run(h, "georadius", "Sicily", "15", "37", "200", "km", "store", "dst")).toBe(2);
      expect(run(h, "zrange", "dst", "0", "-1", "withscores")).toEqual(["Palermo", 3479099956230698, "Catania", 3479447370796909]);
      expect(run(h, "georadius", "Sicily", "15", "37", "200", "km", "storedist", "dst2")).toBe(2);
      expect(run(h, "zrange", "dst2", "0", "-1", "withscores")).toEqual(["Catania", 56.441257870158204, "Palermo", 190.44242984775784]);
      expect(run(h, "geosearchstore", "dst3", "Sicily", "frommember", "Palermo", "byradius", "300", "km", "storedist")).toBe(3);
      expect(run(h, "zrange", "dst3", "0", "-1", "withscores")).toEqual(["Palermo", 0, "edge1", 34.160111115618783, "Catania", 166.27415156960032]);
      // An empty result deletes the destination.
      expect(run(h, "geosearchstore", "dst3", "nokey", "fromlonlat", "1", "1", "byradius", "3", "km")).toBe(0);
      expect(run(h, "exists", "dst3")).toBe(0);
      // Reads propagate nothing.
      run(h, "georadius", "Sicily", "15", "37", "200", "km");
      run(h, "geosearch", "Sicily", "fromlonlat", "15", "37", "byradius", "400", "km");
      const s = stream(h).filter((c) => c[0]!.toLowerCase() !== "select");
      expect(s).toEqual([
        ["zadd", "Sicily", "3479099956230698", "Palermo", "3479447370796909", "Catania"],
        ["zadd", "Sicily", "ch", "3479099956230698", "Palermo", "3479273021651468", "edge1"],
        ["zadd", "Sicily", "xx", "ch", "3479065152021743", "edge1", "3377822707026402", "nope"],
        ["georadius", "Sicily", "15", "37", "200", "km", "store", "dst"],
        ["georadius", "Sicily", "15", "37", "200", "km", "storedist", "dst2"],
        ["geosearchstore", "dst3", "Sicily", "frommember", "Palermo", "byradius", "300", "km", "storedist"],
        ["geosearchstore", "dst3", "nokey", "fromlonlat", "1", "1", "byradius", "3", "km"],
      ]);
    });
  });

  it("orders equal distances as Redis: stable for a full sort, its partial quicksort's order under COUNT", async () => {
    await withEngine((h) => {
      const pts = ["1 1 a", "1 1 b", "1 1 c", "1 1 d", "2 2 e", "1 1 f", "1 1 g", "3 3 h", "1 1 i", "0.5 0.5 j"];
      expect(run(h, "geoadd", "tie", ...pts.flatMap((p) => p.split(" ")))).toBe(10);
      const search = ["geosearch", "tie", "fromlonlat", "1", "1", "byradius", "500", "km"];
      expect(run(h, ...search)).toEqual(["j", "a", "b", "c", "d", "f", "g", "i", "e", "h"]);
      expect(run(h, ...search, "asc")).toEqual(["a", "b", "c", "d", "f", "g", "i", "j", "e", "h"]);
      expect(run(h, ...search, "count", "4")).toEqual(["c", "a", "b", "i"]);
      expect(run(h, ...search, "count", "4", "desc")).toEqual(["h", "e", "j", "g"]);
    });
  });

  it("answers coordinates as RESP3 doubles with Redis's human text", async () => {
    await withEngine((h) => {
      sicily(h);
      h.session.resp = 3;
      const r = h.run("geopos", "Sicily", "Palermo") as RespDouble[][];
      expect(r[0]![0]).toBeInstanceOf(RespDouble);
      expect(r[0]!.map((d) => d.text)).toEqual(["13.36138933897018433", "38.11555639549629859"]);
    });
  });
});
