/**
 * RESP2/RESP3 encoder (golden bytes), the incremental RespParser in both modes (requests and
 * replies, input split at every byte boundary, limits, malformed input), sdssplitargs for
 * inline commands, and Redis's number rules (string2ll, strtod, "%.17g").
 */
import { describe, expect, it } from "vitest";
import {
  BULK_BYTES_MAX,
  INLINE_BYTES_MAX,
  MULTIBULK_ITEMS_MAX,
  ProtocolError,
  RespParser,
  type RespValue,
  encodeCommand,
  encodeReply,
  splitArgs,
} from "../../src/protocol/resp.ts";
import {
  NIL_ARRAY,
  OK,
  RedisError,
  type Reply,
  RespDouble,
  RespMap,
  RespSet,
  Simple,
  Verbatim,
} from "../../src/protocol/reply.ts";
import { I64_MAX, I64_MIN, formatG17, parseDouble, parseI64 } from "../../src/util/numbers.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const b = (s: string) => te.encode(s);
/** Bytes as text with \r\n visible, so a failing golden comparison is readable. */
const show = (u: Uint8Array) => td.decode(u);
const txt = (argv: RespValue | undefined) => (argv as Uint8Array[]).map((a) => td.decode(a));

/** Parse every complete value in `input`, pushed in the given pieces, calling next() after each push. */
function parseAll(mode: "request" | "reply", pieces: Uint8Array[]): { values: RespValue[]; sizes: number[] } {
  const p = new RespParser(mode);
  const values: RespValue[] = [];
  const sizes: number[] = [];
  for (const piece of pieces) {
    p.push(piece);
    for (let v = p.next(); v !== undefined; v = p.next()) {
      values.push(v);
      sizes.push(p.lastBytes);
    }
  }
  return { values, sizes };
}

/** One parse of `input` fed whole; throws what the parser throws. */
function parseOne(mode: "request" | "reply", input: Uint8Array | string): RespValue | undefined {
  const p = new RespParser(mode);
  p.push(typeof input === "string" ? b(input) : input);
  return p.next();
}

function bytesEach(u: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < u.length; i++) out.push(u.subarray(i, i + 1));
  return out;
}

/** Replace Uint8Array leaves by their text, so parsed values compare with toEqual readably. */
function plain(v: RespValue | undefined): unknown {
  if (v instanceof Uint8Array) return td.decode(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Simple) return { simple: v.s };
  if (v instanceof RedisError) return { error: v.msg };
  return v;
}

// --- encoder ---------------------------------------------------------------------------

describe("encodeReply golden bytes", () => {
  const cases: [string, Reply, string, string][] = [
    // name, reply, RESP2, RESP3
    ["bulk", b("hello"), "$5\r\nhello\r\n", "$5\r\nhello\r\n"],
    ["empty bulk", b(""), "$0\r\n\r\n", "$0\r\n\r\n"],
    ["binary bulk with CRLF inside", new Uint8Array([0, 13, 10, 255]), "$4\r\n\u0000\r\n\ufffd\r\n", "$4\r\n\u0000\r\n\ufffd\r\n"],
    ["nil", null, "$-1\r\n", "_\r\n"],
    ["integer 0", 0, ":0\r\n", ":0\r\n"],
    ["negative integer", -42, ":-42\r\n", ":-42\r\n"],
    ["int64 max (bigint)", I64_MAX, ":9223372036854775807\r\n", ":9223372036854775807\r\n"],
    ["int64 min (bigint)", I64_MIN, ":-9223372036854775808\r\n", ":-9223372036854775808\r\n"],
    ["safe integer max", Number.MAX_SAFE_INTEGER, ":9007199254740991\r\n", ":9007199254740991\r\n"],
    ["simple", OK, "+OK\r\n", "+OK\r\n"],
    ["simple utf-8", new Simple("é"), "+é\r\n", "+é\r\n"],
    ["error", new RedisError("ERR boom"), "-ERR boom\r\n", "-ERR boom\r\n"],
    ["error with newlines replaced one by one", new RedisError("ERR a\r\nb\nc\rd"), "-ERR a  b c d\r\n", "-ERR a  b c d\r\n"],
    // redis-server 7.0.15 to `*2 $4 a\r\nb $5 \r\nx\r\n` (line ends at the message's ends trimmed first).
    ["unknown command with line ends", new RedisError("ERR unknown command 'a\r\nb', with args beginning with: '\r\nx\r\n' \r\n"), "-ERR unknown command 'a  b', with args beginning with: '  x  ' \r\n", "-ERR unknown command 'a  b', with args beginning with: '  x  ' \r\n"],
    ["empty array", [], "*0\r\n", "*0\r\n"],
    [
      "nested arrays with nil",
      [[1, null], [], [b("x"), [new Simple("s")]]],
      "*3\r\n*2\r\n:1\r\n$-1\r\n*0\r\n*2\r\n$1\r\nx\r\n*1\r\n+s\r\n",
      "*3\r\n*2\r\n:1\r\n_\r\n*0\r\n*2\r\n$1\r\nx\r\n*1\r\n+s\r\n",
    ],
    ["NIL_ARRAY", NIL_ARRAY, "*-1\r\n", "_\r\n"],
    ["double 1.1", new RespDouble(1.1), "$18\r\n1.1000000000000001\r\n", ",1.1000000000000001\r\n"],
    ["double 0.5", new RespDouble(0.5), "$3\r\n0.5\r\n", ",0.5\r\n"],
    ["double -0", new RespDouble(-0), "$2\r\n-0\r\n", ",-0\r\n"],
    ["double inf", new RespDouble(Infinity), "$3\r\ninf\r\n", ",inf\r\n"],
    ["double -inf", new RespDouble(-Infinity), "$4\r\n-inf\r\n", ",-inf\r\n"],
    ["double 1e21", new RespDouble(1e21), "$5\r\n1e+21\r\n", ",1e+21\r\n"],
    ["double 1e-5", new RespDouble(1e-5), "$22\r\n1.0000000000000001e-05\r\n", ",1.0000000000000001e-05\r\n"],
    ["double 3", new RespDouble(3), "$1\r\n3\r\n", ",3\r\n"],
    [
      "map",
      new RespMap([
        [b("a"), 1],
        [b("b"), null],
      ]),
      "*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n$-1\r\n",
      "%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n_\r\n",
    ],
    ["empty map", new RespMap([]), "*0\r\n", "%0\r\n"],
    [
      "map with double values",
      new RespMap([[b("m"), new RespDouble(1.5)]]),
      "*2\r\n$1\r\nm\r\n$3\r\n1.5\r\n",
      "%1\r\n$1\r\nm\r\n,1.5\r\n",
    ],
    ["set", new RespSet([b("x"), b("yz")]), "*2\r\n$1\r\nx\r\n$2\r\nyz\r\n", "~2\r\n$1\r\nx\r\n$2\r\nyz\r\n"],
    ["empty set", new RespSet([]), "*0\r\n", "~0\r\n"],
    ["verbatim", new Verbatim("a\r\nb"), "$4\r\na\r\nb\r\n", "=8\r\ntxt:a\r\nb\r\n"],
    ["verbatim utf-8 counts bytes", new Verbatim("é"), "$2\r\né\r\n", "=6\r\ntxt:é\r\n"],
  ];

  it.each(cases)("%s", (_name, reply, resp2, resp3) => {
    expect(show(encodeReply(reply, 2))).toBe(resp2);
    expect(show(encodeReply(reply, 3))).toBe(resp3);
  });

  it("binary bulk bytes are copied exactly", () => {
    const v = new Uint8Array(256).map((_, i) => i);
    const out = encodeReply(v, 2);
    expect(show(out.subarray(0, 6))).toBe("$256\r\n");
    expect([...out.subarray(6, 262)]).toEqual([...v]);
    expect(show(out.subarray(262))).toBe("\r\n");
  });

  it("defaults to RESP2", () => {
    expect(show(encodeReply(null))).toBe("$-1\r\n");
  });

  it("a large array grows the output buffer", () => {
    const items: Reply[] = [];
    for (let i = 0; i < 10_000; i++) items.push(b(`member:${i}`));
    const out = show(encodeReply(items, 2));
    expect(out.startsWith("*10000\r\n$8\r\nmember:0\r\n")).toBe(true);
    expect(out.endsWith("$11\r\nmember:9999\r\n")).toBe(true);
  });
});

describe("encodeCommand", () => {
  it("strings and bytes as a multibulk of bulk strings", () => {
    expect(show(encodeCommand(["SET", "k", b("v")]))).toBe("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
  });
  it("empty argument and UTF-8 length in bytes", () => {
    expect(show(encodeCommand(["ECHO", ""]))).toBe("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n");
    expect(show(encodeCommand(["ECHO", "€"]))).toBe("*2\r\n$4\r\nECHO\r\n$3\r\n€\r\n");
  });
  it("no arguments", () => {
    expect(show(encodeCommand([]))).toBe("*0\r\n");
  });
  it("binary argument is copied exactly", () => {
    const enc = encodeCommand(["X", new Uint8Array([0, 255, 13, 10])]);
    expect([...enc.subarray(enc.length - 6, enc.length - 2)]).toEqual([0, 255, 13, 10]);
    expect(show(enc.subarray(0, enc.length - 6))).toBe("*2\r\n$1\r\nX\r\n$4\r\n");
  });
});

// --- request parser ---------------------------------------------------------------------

describe("RespParser request: multibulk and inline", () => {
  it("parses a multibulk command", () => {
    const v = parseOne("request", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n");
    expect(txt(v)).toEqual(["SET", "k", "hello"]);
  });

  it("keeps binary bytes (CRLF, NUL, 0xff) inside a bulk", () => {
    const arg = new Uint8Array([13, 10, 0, 255, 42]);
    const v = parseOne("request", encodeCommand(["SET", "k", arg])) as Uint8Array[];
    expect([...v[2]!]).toEqual([...arg]);
  });

  it("*0 yields an empty command; *-1 too (Redis skips both)", () => {
    expect(parseOne("request", "*0\r\n")).toEqual([]);
    expect(parseOne("request", "*-1\r\n")).toEqual([]);
  });

  it("returns undefined until a command is complete", () => {
    const p = new RespParser("request");
    p.push(b("*2\r\n$4\r\nECHO\r\n$2\r\nh"));
    expect(p.next()).toBeUndefined();
    expect(p.buffered).toBe(19);
    p.push(b("i\r\n"));
    expect(txt(p.next())).toEqual(["ECHO", "hi"]);
    expect(p.next()).toBeUndefined();
    expect(p.buffered).toBe(0);
  });

  it.each([
    ["PING\r\n", ["PING"]],
    ["PING\n", ["PING"]],
    ["set  k\tv \r\n", ["set", "k", "v"]],
    ['set k "hello world"\r\n', ["set", "k", "hello world"]],
    ['echo "a\\nb\\r\\t\\\\\\"c"\r\n', ["echo", 'a\nb\r\t\\"c']],
    ['echo "\\x41\\x7a\\x4G"\r\n', ["echo", "Azx4G"]],
    ["echo 'it\\'s'\r\n", ["echo", "it's"]],
    ["echo 'a\\nb'\r\n", ["echo", "a\\nb"]],
    ['echo "" \'\'\r\n', ["echo", "", ""]],
    ["\r\n", []],
  ])("inline %j", (input, want) => {
    expect(txt(parseOne("request", input))).toEqual(want);
  });

  it("inline: \\xHH yields the raw byte, even above 0x7f", () => {
    const v = parseOne("request", 'set k "\\xff\\x00"\r\n') as Uint8Array[];
    expect([...v[2]!]).toEqual([0xff, 0x00]);
  });

  it.each([
    ['set k "abc\r\n'],
    ["set k 'abc\r\n"],
    ['set k "abc"def\r\n'],
    ["set k 'abc'def\r\n"],
  ])("inline with unbalanced quotes %j → ProtocolError", (input) => {
    expect(() => parseOne("request", input)).toThrow(ProtocolError);
    expect(() => parseOne("request", input)).toThrow("Protocol error: unbalanced quotes in request");
  });

  it("splitArgs directly (sdssplitargs)", () => {
    expect(splitArgs(b("")).map(show)).toEqual([]);
    expect(splitArgs(b("   ")).map(show)).toEqual([]);
    expect(splitArgs(b('a "b c" \'d e\'')).map(show)).toEqual(["a", "b c", "d e"]);
    expect(splitArgs(b('"\\x41\\x42"')).map(show)).toEqual(["AB"]);
    expect(() => splitArgs(b('"abc'))).toThrow(ProtocolError);
  });
});

describe("RespParser request: split at every byte boundary", () => {
  const commands: (string | Uint8Array)[][] = [
    ["SET", "key", "value"],
    ["ECHO", ""],
    ["MSET", "a", "1", "b", new Uint8Array([13, 10, 0, 255])],
    [],
    ["PING"],
    ["SET", "k", "x".repeat(300)],
  ];
  const encoded = commands.map((c) => encodeCommand(c));
  const inline = b("GET \"quoted key\"\r\n");
  const stream = new Uint8Array([...encoded.flatMap((e) => [...e]), ...inline]);
  const want = [...commands.map((c) => c.map((a) => (typeof a === "string" ? a : show(a)))), ["GET", "quoted key"]];
  const wantSizes = [...encoded.map((e) => e.length), inline.length];

  it("whole input", () => {
    const { values, sizes } = parseAll("request", [stream]);
    expect(values.map(txt)).toEqual(want);
    expect(sizes).toEqual(wantSizes);
  });

  it("one byte at a time", () => {
    const { values, sizes } = parseAll("request", bytesEach(stream));
    expect(values.map(txt)).toEqual(want);
    expect(sizes).toEqual(wantSizes);
  });

  it("every split into two pieces", () => {
    for (let i = 1; i < stream.length; i++) {
      const { values, sizes } = parseAll("request", [stream.subarray(0, i), stream.subarray(i)]);
      expect(values.map(txt), `split at ${i}`).toEqual(want);
      expect(sizes, `split at ${i}`).toEqual(wantSizes);
    }
  });

  it("every split into three pieces around the binary argument", () => {
    // Quadratic in the length; restricted to the third command so it stays fast.
    const start = encoded[0]!.length + encoded[1]!.length;
    const third = encoded[2]!;
    const seg = stream.subarray(start, start + third.length);
    for (let i = 1; i < seg.length; i++) {
      for (let j = i + 1; j < seg.length; j++) {
        const { values } = parseAll("request", [seg.subarray(0, i), seg.subarray(i, j), seg.subarray(j)]);
        expect(values.map(txt)).toEqual([want[2]]);
      }
    }
  });

  it("the input buffer is not retained after parsing", () => {
    const p = new RespParser("request");
    p.push(stream);
    while (p.next() !== undefined);
    expect(p.buffered).toBe(0);
  });
});

describe("RespParser request: big bulk in small pieces", () => {
  it("a 5 MB bulk arriving in 1 KB pieces", () => {
    const size = 5 * 1024 * 1024;
    const value = new Uint8Array(size);
    for (let i = 0; i < size; i++) value[i] = (i * 31 + 7) & 0xff;
    const enc = encodeCommand(["SET", "big", value, "KEEPTTL"]);
    const after = encodeCommand(["PING"]);
    const all = new Uint8Array(enc.length + after.length);
    all.set(enc);
    all.set(after, enc.length);
    const p = new RespParser("request");
    const got: Uint8Array[][] = [];
    const sizes: number[] = [];
    for (let o = 0; o < all.length; o += 1024) {
      p.push(all.subarray(o, Math.min(all.length, o + 1024)));
      for (let v = p.next(); v !== undefined; v = p.next()) {
        got.push(v as Uint8Array[]);
        sizes.push(p.lastBytes);
      }
    }
    expect(got.length).toBe(2);
    expect(show(got[0]![0]!)).toBe("SET");
    expect(show(got[0]![1]!)).toBe("big");
    expect(got[0]![2]!.length).toBe(size);
    expect(Buffer.compare(Buffer.from(got[0]![2]!), Buffer.from(value))).toBe(0);
    expect(show(got[0]![3]!)).toBe("KEEPTTL");
    expect(txt(got[1])).toEqual(["PING"]);
    expect(sizes).toEqual([enc.length, after.length]);
  });

  it("a bulk of exactly BULK_BYTES_MAX is accepted (header only)", () => {
    const p = new RespParser("request");
    p.push(b(`*1\r\n$${BULK_BYTES_MAX}\r\n`));
    expect(p.next()).toBeUndefined();
  });
});

describe("RespParser request: malformed input", () => {
  const cases: [string, string | Uint8Array, string][] = [
    ["non-numeric multibulk count", "*x\r\n", "Protocol error: invalid multibulk length"],
    ["multibulk count with a sign and junk", "*1a\r\n", "Protocol error: invalid multibulk length"],
    ["multibulk count over MULTIBULK_ITEMS_MAX", `*${MULTIBULK_ITEMS_MAX + 1}\r\n`, "Protocol error: invalid multibulk length"],
    ["negative bulk length", "*1\r\n$-5\r\n", "Protocol error: invalid bulk length"],
    ["$-1 inside a request", "*1\r\n$-1\r\n", "Protocol error: invalid bulk length"],
    ["non-numeric bulk length", "*1\r\n$abc\r\n", "Protocol error: invalid bulk length"],
    ["bulk over BULK_BYTES_MAX", `*1\r\n$${BULK_BYTES_MAX + 1}\r\n`, "Protocol error: invalid bulk length"],
    ["wrong type byte inside a multibulk", "*2\r\n$3\r\nGET\r\n:1\r\n", "Protocol error: expected '$', got ':'"],
  ];
  it.each(cases)("%s → ProtocolError", (_name, input, msg) => {
    let err: unknown;
    try {
      parseOne("request", input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as Error).message).toBe(msg);
  });

  it("the two bytes after a bulk are skipped unread, as Redis 7.0 does", () => {
    expect(txt(parseOne("request", "*1\r\n$3\r\nabcXY"))).toEqual(["abc"]);
  });

  it("multibulk count of exactly MULTIBULK_ITEMS_MAX waits for more input", () => {
    expect(parseOne("request", `*${MULTIBULK_ITEMS_MAX}\r\n`)).toBeUndefined();
  });

  it("inline line over INLINE_BYTES_MAX without a newline → too big inline request", () => {
    const p = new RespParser("request");
    p.push(b("x".repeat(INLINE_BYTES_MAX)));
    expect(p.next()).toBeUndefined();
    p.push(b("xx"));
    expect(() => p.next()).toThrow(new ProtocolError("Protocol error: too big inline request"));
  });

  it("inline line over INLINE_BYTES_MAX fed in small pieces is refused as soon as it is too long", () => {
    const p = new RespParser("request");
    let thrown: unknown;
    let fed = 0;
    try {
      while (fed < INLINE_BYTES_MAX * 2) {
        p.push(b("y".repeat(4096)));
        fed += 4096;
        p.next();
      }
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ProtocolError);
    expect(fed).toBeLessThanOrEqual(INLINE_BYTES_MAX + 4096);
  });

  it("a multibulk header line that never ends is refused too", () => {
    const p = new RespParser("request");
    p.push(b("*" + "1".repeat(INLINE_BYTES_MAX + 10)));
    expect(() => p.next()).toThrow(ProtocolError);
  });
});

// --- reply parser -----------------------------------------------------------------------

describe("RespParser reply: every RESP2/RESP3 type", () => {
  const cases: [string, string, unknown][] = [
    ["simple", "+OK\r\n", { simple: "OK" }],
    ["error", "-ERR bad thing\r\n", { error: "ERR bad thing" }],
    ["integer", ":42\r\n", 42],
    ["negative integer", ":-7\r\n", -7],
    ["int64 max as bigint", ":9223372036854775807\r\n", 9223372036854775807n],
    ["int64 min as bigint", ":-9223372036854775808\r\n", -9223372036854775808n],
    ["safe integer stays a number", ":9007199254740991\r\n", 9007199254740991],
    ["bulk", "$5\r\nhello\r\n", "hello"],
    ["empty bulk", "$0\r\n\r\n", ""],
    ["nil bulk", "$-1\r\n", null],
    ["array", "*2\r\n$1\r\na\r\n:1\r\n", ["a", 1]],
    ["empty array", "*0\r\n", []],
    ["nil array", "*-1\r\n", null],
    ["RESP3 null", "_\r\n", null],
    ["RESP3 double (as text)", ",1.5\r\n", { simple: "1.5" }],
    ["RESP3 double inf", ",inf\r\n", { simple: "inf" }],
    ["RESP3 boolean true", "#t\r\n", 1],
    ["RESP3 boolean false", "#f\r\n", 0],
    ["RESP3 map (flattened)", "%2\r\n+a\r\n:1\r\n$1\r\nb\r\n_\r\n", [{ simple: "a" }, 1, "b", null]],
    ["RESP3 set", "~2\r\n:1\r\n:2\r\n", [1, 2]],
    ["RESP3 verbatim (format stripped)", "=9\r\ntxt:hello\r\n", "hello"],
    ["RESP3 blob error", "!9\r\nERR a\r\nb!\r\n", { error: "ERR a\r\nb!" }],
    ["RESP3 push", ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n", ["message", "ch", "x"]],
  ];

  it.each(cases)("%s", (_name, input, want) => {
    const p = new RespParser("reply");
    p.push(b(input));
    expect(plain(p.next())).toEqual(want);
    expect(p.lastBytes).toBe(b(input).length);
    expect(p.next()).toBeUndefined();
  });

  it("all of them in one stream, split at every byte and every 2-piece split", () => {
    const stream = b(cases.map((c) => c[1]).join(""));
    const want = cases.map((c) => c[2]);
    const wantSizes = cases.map((c) => b(c[1]).length);
    const one = parseAll("reply", bytesEach(stream));
    expect(one.values.map(plain)).toEqual(want);
    expect(one.sizes).toEqual(wantSizes);
    for (let i = 1; i < stream.length; i++) {
      const two = parseAll("reply", [stream.subarray(0, i), stream.subarray(i)]);
      expect(two.values.map(plain), `split at ${i}`).toEqual(want);
    }
  });

  it("nested arrays split at every byte boundary", () => {
    const input = "*3\r\n*2\r\n:1\r\n*1\r\n$3\r\nabc\r\n*0\r\n*2\r\n$-1\r\n*-1\r\n";
    const want = [[1, ["abc"]], [], [null, null]];
    const stream = b(input);
    expect(parseAll("reply", bytesEach(stream)).values.map(plain)).toEqual([want]);
    for (let i = 1; i < stream.length; i++) {
      const { values, sizes } = parseAll("reply", [stream.subarray(0, i), stream.subarray(i)]);
      expect(values.map(plain), `split at ${i}`).toEqual([want]);
      expect(sizes).toEqual([stream.length]);
    }
  });

  it("what the encoder writes, the reply parser reads back (RESP3)", () => {
    const reply: Reply = [b("x"), 5, null, new RespDouble(0.25), new RespMap([[b("k"), [1n, 2]]]), new RespSet([OK]), new Verbatim("v")];
    const p = new RespParser("reply");
    p.push(encodeReply(reply, 3));
    expect(plain(p.next())).toEqual(["x", 5, null, { simple: "0.25" }, ["k", [1, 2]], [{ simple: "OK" }], "v"]);
  });

  it("a bare \\n keepalive before a reply is skipped", () => {
    const p = new RespParser("reply");
    p.push(b("\n"));
    expect(p.next()).toBeUndefined();
    p.push(b("\n\n+CONTINUE\r\n"));
    expect(plain(p.next())).toEqual({ simple: "CONTINUE" });
    expect(p.next()).toBeUndefined();
  });

  it("keepalives fed one byte at a time between replies", () => {
    const { values } = parseAll("reply", bytesEach(b("\n\n+FULLRESYNC x 0\r\n\n:1\r\n")));
    expect(values.map(plain)).toEqual([{ simple: "FULLRESYNC x 0" }, 1]);
  });

  it("a big bulk reply in small pieces", () => {
    const body = "z".repeat(200_000);
    const stream = b(`$${body.length}\r\n${body}\r\n+OK\r\n`);
    const pieces: Uint8Array[] = [];
    for (let o = 0; o < stream.length; o += 777) pieces.push(stream.subarray(o, o + 777));
    const { values, sizes } = parseAll("reply", pieces);
    expect(values.map(plain)).toEqual([body, { simple: "OK" }]);
    expect(sizes).toEqual([stream.length - 5, 5]);
  });

  it.each([
    ["unknown type byte", "?x\r\n", "Protocol error: unexpected type byte '?'"],
    ["bad bulk length", "$x\r\n", "Protocol error: invalid bulk length"],
    ["bad array length", "*1x\r\n", "Protocol error: invalid multibulk length"],
    ["bulk over the limit", `$${BULK_BYTES_MAX + 1}\r\n`, "Protocol error: invalid bulk length"],
  ])("%s → ProtocolError", (_name, input, msg) => {
    expect(() => parseOne("reply", input)).toThrow(new ProtocolError(msg));
  });

  it.each([[":abc\r\n"], [":1.5\r\n"], [":\r\n"]])("malformed integer %j → ProtocolError", (input) => {
    expect(() => parseOne("reply", input)).toThrow(ProtocolError);
  });

  it("nesting deeper than 64 is refused", () => {
    expect(() => parseOne("reply", "*1\r\n".repeat(70) + ":1\r\n")).toThrow(ProtocolError);
    expect(plain(parseOne("reply", "*1\r\n".repeat(10) + ":1\r\n"))).toEqual([[[[[[[[[[1]]]]]]]]]]);
  });
});

// --- numbers ----------------------------------------------------------------------------

describe("parseI64 (string2ll)", () => {
  it.each([
    ["0", 0n],
    ["1", 1n],
    ["-1", -1n],
    ["123456789", 123456789n],
    ["999999999999999", 999999999999999n],
    ["1000000000000000", 1000000000000000n],
    ["9007199254740993", 9007199254740993n],
    ["9223372036854775807", 9223372036854775807n],
    ["-9223372036854775808", -9223372036854775808n],
  ])("%j → %s", (s, want) => {
    expect(parseI64(b(s))).toBe(want);
  });

  it.each([
    [""],
    ["-"],
    ["-0"],
    ["00"],
    ["01"],
    ["-01"],
    ["+1"],
    [" 1"],
    ["1 "],
    ["1\n"],
    ["1.0"],
    ["1e3"],
    ["0x10"],
    ["abc"],
    ["9223372036854775808"],
    ["-9223372036854775809"],
    ["99999999999999999999"],
    ["123456789012345678901"],
  ])("%j is refused", (s) => {
    expect(parseI64(b(s))).toBeNull();
  });
});

describe("parseDouble (strtod as Redis uses it)", () => {
  it.each([
    ["0", 0],
    ["-0", -0],
    ["1", 1],
    ["1.5", 1.5],
    ["-1.5", -1.5],
    ["+1.5", 1.5],
    ["1e5", 100000],
    ["1E5", 100000],
    ["1e+5", 100000],
    ["-2.5e-3", -0.0025],
    [".5", 0.5],
    ["5.", 5],
    ["-.5", -0.5],
    ["inf", Infinity],
    ["+inf", Infinity],
    ["-inf", -Infinity],
    ["Inf", Infinity],
    ["INFINITY", Infinity],
    ["-Infinity", -Infinity],
    ["5e-324", 5e-324],
    ["1.7976931348623157e308", 1.7976931348623157e308],
    ["0.1", 0.1],
    ["00012", 12],
    ["0x10", 16],
    ["0X1p3", 8],
    ["-0x1.8p1", -3],
  ])("%j → %s", (s, want) => {
    expect(Object.is(parseDouble(b(s)), want)).toBe(true);
  });

  // redis-server 7.0.15's strtod-based parser (ZADD z 0x10 m) accepts hex floats, and so do we.
  it.each([
    [""],
    ["nan"],
    ["NaN"],
    ["-nan"],
    ["0x"],
    ["0xg"],
    [" 1"],
    ["1 "],
    ["\t1"],
    ["1\n"],
    ["1.5.5"],
    ["e5"],
    ["1e"],
    ["."],
    ["-"],
    ["abc"],
    ["1,5"],
    ["infinit"],
    ["in f"],
  ])("%j is refused", (s) => {
    expect(parseDouble(b(s))).toBeNull();
  });

  // redis-server 7.0.15: `ZADD z 1e400 m` and `ZADD z 1e-400 m` answer "ERR value is not a
  // valid float" (strtod's ERANGE with HUGE_VAL or 0 is refused).
  it.each([["1e400"], ["-1e400"], ["1e-400"]])("%j is refused (out of range, ERANGE)", (s) => {
    expect(parseDouble(b(s))).toBeNull();
  });
});

describe("formatG17 (C printf %.17g)", () => {
  // Expected values from python3 `'%.17g' % x` (glibc printf).
  const table: [number, string][] = [
    [0, "0"],
    [-0, "-0"],
    [1, "1"],
    [7, "7"],
    [-1.5, "-1.5"],
    [0.5, "0.5"],
    [1.1, "1.1000000000000001"],
    [0.1, "0.10000000000000001"],
    [0.3, "0.29999999999999999"],
    [1 / 3, "0.33333333333333331"],
    [2 / 3, "0.66666666666666663"],
    [3.14159, "3.1415899999999999"],
    [100, "100"],
    [123.456, "123.456"],
    [255.255, "255.255"],
    [0.0001, "0.0001"],
    [1e-5, "1.0000000000000001e-05"],
    [1.234e-5, "1.234e-05"],
    [1e-7, "9.9999999999999995e-08"],
    [1e16, "10000000000000000"],
    [9.999999999999998e16, "99999999999999984"],
    [12345678901234567, "12345678901234568"],
    [1e17, "1e+17"],
    [123456789012345678, "1.2345678901234568e+17"],
    [2 ** 53, "9007199254740992"],
    [2 ** 53 + 2, "9007199254740994"],
    [-(2 ** 63), "-9.2233720368547758e+18"],
    [2 ** 64, "1.8446744073709552e+19"],
    [1e21, "1e+21"],
    [1e100, "1e+100"],
    [-1e-100, "-1e-100"],
    [1.5e300, "1.5000000000000001e+300"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [2.2250738585072014e-308, "2.2250738585072014e-308"],
    [5e-324, "4.9406564584124654e-324"],
    [2 ** -17, "7.62939453125e-06"],
    [Infinity, "inf"],
    [-Infinity, "-inf"],
  ];
  it.each(table)("%s → %s", (x, want) => {
    expect(formatG17(x)).toBe(want);
  });

  // Exact decimal ties at the 17th digit: C rounds the exact binary value half-to-even,
  // JS toExponential rounds ties up. python3: '%.17g' % (1 + 2**-17) == '1.0000076293945312'.
  // redis-server 7.0.15: ZADD t 1000000000000000.25 m; ZSCORE t m → "1000000000000000.2".
  it.each([
    [1000000000000000.25, "1000000000000000.2"],
    [1 + 2 ** -17, "1.0000076293945312"],
    [1.5 + 2 ** -17, "1.5000076293945312"],
    [0.5 + 2 ** -18, "0.50000381469726562"],
  ])("tie %s → %s (round half to even)", (x, want) => {
    expect(formatG17(x)).toBe(want);
  });
});

describe("error replies with raw bytes", () => {
  it("go out byte for byte, with line ends mapped as errorLine maps them", () => {
    const raw = Uint8Array.from([...new TextEncoder().encode("ERR a\r\nb"), 0xff, 0x0d, 0x0a]);
    const out = encodeReply(new RedisError("ERR a\r\nb\ufffd\r\n", raw));
    expect(Array.from(out)).toEqual([...new TextEncoder().encode("-ERR a  b"), 0xff, 0x0d, 0x0a]);
  });
});
