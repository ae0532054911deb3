/** The Upstash REST wire format as pure functions: arguments, base64 rules, reply → JSON. */
import { describe, expect, it } from "vitest";
import {
  RestRequestError,
  argvOf,
  base64,
  itemJson,
  jsonArg,
  parsePipelineBody,
  parseSingleBody,
  pathCommand,
  percentDecode,
  pipelineJson,
} from "../../src/http/rest-json.ts";
import { REST_ARGUMENTS_MAX } from "../../src/limits.ts";
import { NIL_ARRAY, OK, PONG, RedisError, RespDouble, RespMap, RespSet, Simple, Verbatim, type Reply } from "../../src/protocol/reply.ts";

const te = new TextEncoder();
const b = (s: string) => te.encode(s);
const txt = (argv: Uint8Array[]) => argv.map((a) => new TextDecoder().decode(a));
const b64s = (s: string) => Buffer.from(s, "utf8").toString("base64");

describe("JSON arguments", () => {
  it.each([
    ["abc", "abc"],
    ["", ""],
    ["é€😀", "é€😀"],
    [60, "60"],
    [-1, "-1"],
    [1.5, "1.5"],
    [0.1, "0.1"],
    [1e21, "1e+21"],
    [1e-7, "1e-7"],
    [true, "true"],
    [false, "false"],
  ])("%j → %j", (v, want) => {
    expect(new TextDecoder().decode(jsonArg(v)!)).toBe(want);
  });

  it.each([[null], [{}], [[1]], [undefined]])("%j is refused", (v) => {
    expect(jsonArg(v)).toBeNull();
  });

  it("a single body becomes argv", () => {
    expect(txt(parseSingleBody(`["set","k","v","ex",60,true]`))).toEqual(["set", "k", "v", "ex", "60", "true"]);
  });

  it("big integer literals keep their digits where the runtime allows, else as JS prints them", () => {
    const [, , n] = txt(parseSingleBody(`["incrby","k",9223372036854775807]`));
    // workerd has JSON.parse source text access; Node 20 does not (then String(n)).
    expect(["9223372036854775807", String(9223372036854775807)]).toContain(n);
  });

  it.each([
    ["not json", /^ERR failed to parse request body: /],
    ["", /^ERR the request body is empty/],
    [`{"a":1}`, /must be a JSON array/],
    [`"set"`, /must be a JSON array/],
    [`[]`, /is empty/],
    [`["set","k",null]`, /argument 3 is null; arguments must be strings, numbers or booleans/],
    [`["set","k",{"x":1}]`, /argument 3 is object/],
    [`["set","k",["v"]]`, /argument 3 is array/],
  ])("single body %j → 400 %s", (body, re) => {
    try {
      parseSingleBody(body);
      expect.fail("should throw");
    } catch (e) {
      expect(e).toBeInstanceOf(RestRequestError);
      expect((e as RestRequestError).status).toBe(400);
      expect((e as RestRequestError).message).toMatch(re);
    }
  });

  it("pipeline bodies: arrays of commands, bounded", () => {
    expect(parsePipelineBody(`[["set","a",1],["get","a"]]`, 10).map((c) => txt(argvOf(c)))).toEqual([["set", "a", "1"], ["get", "a"]]);
    expect(() => parsePipelineBody(`[]`, 10)).toThrow(/pipeline is empty/);
    expect(() => parsePipelineBody(`["get","a"]`, 10)).toThrow(/command 1 must be a JSON array/);
    expect(() => parsePipelineBody(`[["get","a"],[]]`, 10)).toThrow(/command 2 is empty/);
    expect(() => parsePipelineBody(JSON.stringify(Array(11).fill(["ping"])), 10)).toThrow(/too many commands in one pipeline: 11 \(at most 10\)/);
  });

  it("refuses more arguments than a socket's query buffer would hold, before making them bytes", () => {
    // 200,000 empty arguments in one command: 1.2 MB of JSON, 50 MB once charged as a socket's parser charges them.
    const many = ["DEL", ...Array(200_000).fill("")];
    expect(() => parseSingleBody(JSON.stringify(many))).toThrow(/ERR the request body has too many arguments: 200001/);
    expect(() => parsePipelineBody(JSON.stringify([["PING"], many]), 10)).toThrow(/ERR command 2 has too many arguments: 200001/);
    // 150,000 fit (38 MB charged), as over RESP; and a pipeline may spread more over its commands, up to REST_ARGUMENTS_MAX.
    expect(parseSingleBody(JSON.stringify(["DEL", ...Array(150_000).fill("k")]))).toHaveLength(150_001);
    const spread = Array.from({ length: 26 }, () => ["DEL", ...Array(9_999).fill("k")]);
    expect(parsePipelineBody(JSON.stringify(spread), 100)).toHaveLength(26);
    expect(() => parsePipelineBody(JSON.stringify([...spread, ["DEL", ...Array(2_200).fill("k")]]), 100)).toThrow(
      new RegExp(`ERR too many arguments in one request: ${26 * 10_000 + 2_201} \\(at most ${REST_ARGUMENTS_MAX}\\)`),
    );
  });
});

describe("path form", () => {
  it("segments, body and query parameters", () => {
    expect(txt(pathCommand("/set/foo/bar", "", null))).toEqual(["set", "foo", "bar"]);
    expect(txt(pathCommand("/set/foo/bar/EX/100", "", null))).toEqual(["set", "foo", "bar", "EX", "100"]);
    expect(txt(pathCommand("/set/foo", "?EX=100", b("the value")))).toEqual(["set", "foo", "the value", "EX", "100"]);
    expect(txt(pathCommand("/set/foo", "?NX&_token=secret&EX=1", b("v")))).toEqual(["set", "foo", "v", "NX", "EX", "1"]);
    expect(txt(pathCommand("/get/foo/", "", null))).toEqual(["get", "foo"]);
    expect(txt(pathCommand("/get/foo", "", new Uint8Array()))).toEqual(["get", "foo"]);
    expect(txt(pathCommand("/set/a%20b/c%2Fd", "?x=a+b%2B", null))).toEqual(["set", "a b", "c/d", "x", "a b+"]);
    expect(() => pathCommand("/", "", null)).toThrow(/no command/);
  });

  it("percent-decoding is binary-safe", () => {
    expect([...percentDecode("%00%ff%FFa", false)]).toEqual([0, 255, 255, 97]);
    expect([...percentDecode("%zz%", false)]).toEqual([...b("%zz%")]);
    expect(new TextDecoder().decode(percentDecode("%C3%A9+", false))).toBe("é+");
  });
});

describe("replies → JSON", () => {
  const j = (r: Reply, enc = false) => JSON.parse(itemJson(r, enc));

  it("plain (no encoding)", () => {
    expect(j(b("bar"))).toEqual({ result: "bar" });
    expect(j(null)).toEqual({ result: null });
    expect(j(42)).toEqual({ result: 42 });
    expect(j(-7n)).toEqual({ result: -7 });
    expect(j(OK)).toEqual({ result: "OK" });
    expect(j(PONG)).toEqual({ result: "PONG" });
    expect(j(NIL_ARRAY)).toEqual({ result: null });
    expect(j(new RespDouble(1.5))).toEqual({ result: "1.5" });
    expect(j(new RespDouble(0.1))).toEqual({ result: "0.10000000000000001" });
    expect(j(new RespDouble(Infinity))).toEqual({ result: "inf" });
    expect(j(new RespMap([[b("f"), b("v")], [b("n"), 1]]))).toEqual({ result: ["f", "v", "n", 1] });
    expect(j(new RespSet([b("a"), b("b")]))).toEqual({ result: ["a", "b"] });
    expect(j(new Verbatim("# Server\r\n"))).toEqual({ result: "# Server\r\n" });
    expect(j([b("a"), null, [1, b("x")], []])).toEqual({ result: ["a", null, [1, "x"], []] });
    expect(j(new RedisError("ERR boom"))).toEqual({ error: "ERR boom" });
    expect(j([OK, new RedisError("WRONGTYPE x")])).toEqual({ result: ["OK", { error: "WRONGTYPE x" }] });
  });

  it("bigints keep every digit in the JSON text", () => {
    expect(itemJson(9223372036854775807n, false)).toBe(`{"result":9223372036854775807}`);
    expect(itemJson(-9223372036854775808n, true)).toBe(`{"result":-9223372036854775808}`);
  });

  it("invalid UTF-8 is replaced without base64, exact with it", () => {
    const bin = new Uint8Array([0xff, 0x00, 0x41]);
    expect(j(bin)).toEqual({ result: "\ufffd\u0000A" });
    expect(j(bin, true)).toEqual({ result: "/wBB" });
    // A leading BOM is kept, not swallowed by the decoder.
    expect(j(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]))).toEqual({ result: "\ufeffA" });
  });

  it("base64: every string at any depth except a top-level OK status", () => {
    expect(j(OK, true)).toEqual({ result: "OK" });
    expect(j(PONG, true)).toEqual({ result: b64s("PONG") });
    expect(j(new Simple("string"), true)).toEqual({ result: b64s("string") });
    expect(j(b("OK"), true)).toEqual({ result: b64s("OK") }); // a stored value "OK" is a bulk string
    expect(j(b("bar"), true)).toEqual({ result: "YmFy" });
    expect(j(42, true)).toEqual({ result: 42 });
    expect(j(null, true)).toEqual({ result: null });
    expect(j(new RespDouble(2.5), true)).toEqual({ result: b64s("2.5") });
    expect(j([OK, b("x"), 3, null, [b("y"), [PONG]]], true)).toEqual({
      result: [b64s("OK"), b64s("x"), 3, null, [b64s("y"), [b64s("PONG")]]],
    });
    expect(j(new RedisError("ERR not encoded"), true)).toEqual({ error: "ERR not encoded" });
    expect(j([new RedisError("ERR nested")], true)).toEqual({ result: [{ error: "ERR nested" }] });
  });

  it("pipelines: one item per reply, OK kept per item", () => {
    expect(JSON.parse(pipelineJson([OK, b("v"), new RedisError("ERR x"), 2], true))).toEqual([
      { result: "OK" },
      { result: "dg==" },
      { error: "ERR x" },
      { result: 2 },
    ]);
  });

  it("base64 of large and arbitrary bytes matches Node's", () => {
    const big = new Uint8Array(100_003);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
    expect(base64(big)).toBe(Buffer.from(big).toString("base64"));
    expect(base64(new Uint8Array())).toBe("");
  });
});
