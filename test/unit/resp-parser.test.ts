/**
 * The RESP parser's cost and bounds: input trickled one byte at a time costs a constant
 * number of examined bytes per byte (a work counter, not wall time); every split parses
 * like the whole; the Redis 7.0 limits and error texts (networking.c, tests/unit/protocol.tcl);
 * the client query buffer limit.
 */
import { describe, expect, it } from "vitest";
import { QUERY_BUFFER_BYTES_MAX, RESP_ARG_OVERHEAD_BYTES } from "../../src/limits.ts";
import {
  BULK_BYTES_MAX,
  INLINE_BYTES_MAX,
  ProtocolError,
  RespParser,
  type RespValue,
  encodeCommand,
  encodeReply,
} from "../../src/protocol/resp.ts";
import { Rng, concatBytes, splitRandomly } from "../fuzz/random.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const b = (s: string) => te.encode(s);
const txt = (argv: RespValue | undefined) => (argv as Uint8Array[]).map((a) => td.decode(a));

/** Feed `pieces`, collecting every value; returns the values and the parser. */
function feed(pieces: Iterable<Uint8Array>, mode: "request" | "reply" = "request", p = new RespParser(mode)) {
  const values: RespValue[] = [];
  for (const piece of pieces) {
    p.push(piece);
    for (let v = p.next(); v !== undefined; v = p.next()) values.push(v);
  }
  return { values, p };
}

function* bytesEach(u: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < u.length; i++) yield u.subarray(i, i + 1);
}

/** The error `fn` throws (the test fails if it throws nothing). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a throw");
}

/** Push `head`, then `filler` repeatedly (calling next() each time) until the parser refuses. */
function feedUntilRefused(head: Uint8Array, filler: Uint8Array, maxBytes: number): { err: unknown; fed: number } {
  const p = new RespParser("request");
  let fed = 0;
  try {
    p.push(head);
    fed += head.length;
    p.next();
    while (fed < maxBytes) {
      p.push(filler);
      fed += filler.length;
      p.next();
    }
  } catch (e) {
    return { err: e, fed };
  }
  return { err: undefined, fed };
}

describe("RespParser: cost is linear in the input however it is split", () => {
  it("a 100,000-argument command fed one byte at a time", () => {
    const argv = ["RPUSH", "list"];
    for (let i = 0; i < 100_000; i++) argv.push(`v${i}`);
    const enc = encodeCommand(argv);
    const { values, p } = feed(bytesEach(enc));
    expect(values.length).toBe(1);
    expect(txt(values[0])).toEqual(argv);
    expect(p.lastBytes).toBe(enc.length);
    // Each byte is copied into the buffer once, searched once, and copied into its argument
    // once; growth and compaction add at most as much again.
    expect(p.examinedBytes).toBeLessThanOrEqual(5 * enc.length);
    expect(p.buffered).toBe(0);
  });

  it("the same command in one piece costs about the same per byte", () => {
    const argv = ["RPUSH", "list"];
    for (let i = 0; i < 100_000; i++) argv.push(`v${i}`);
    const enc = encodeCommand(argv);
    const { p } = feed([enc]);
    expect(p.examinedBytes).toBeLessThanOrEqual(2 * enc.length);
  });

  it("a 1 MiB argument fed one byte at a time", () => {
    const value = new Uint8Array(1024 * 1024);
    for (let i = 0; i < value.length; i++) value[i] = (i * 7) & 0xff;
    const enc = encodeCommand(["SET", "k", value]);
    const { values, p } = feed(bytesEach(enc));
    expect(values.length).toBe(1);
    expect(Buffer.compare(Buffer.from((values[0] as Uint8Array[])[2]!), Buffer.from(value))).toBe(0);
    expect(p.examinedBytes).toBeLessThanOrEqual(5 * enc.length);
  });

  it("10,000 small commands fed one byte at a time", () => {
    const cmds: Uint8Array[] = [];
    for (let i = 0; i < 10_000; i++) cmds.push(i % 3 === 0 ? b(`SET k${i} v\r\n`) : encodeCommand(["INCR", `c${i}`]));
    const enc = concatBytes(cmds);
    const { values, p } = feed(bytesEach(enc));
    expect(values.length).toBe(10_000);
    expect(txt(values[9_999])).toEqual(["SET", "k9999", "v"]);
    expect(p.examinedBytes).toBeLessThanOrEqual(5 * enc.length);
  });

  it("a reply with 50,000 nested elements fed one byte at a time", () => {
    const items = [];
    for (let i = 0; i < 50_000; i++) items.push([b(`m${i}`), i]);
    const enc = encodeReply(items);
    const { values, p } = feed(bytesEach(enc), "reply");
    expect(values.length).toBe(1);
    const got = values[0] as [Uint8Array, number][];
    expect(got.length).toBe(50_000);
    expect(td.decode(got[49_999]![0])).toBe("m49999");
    expect(got[49_999]![1]).toBe(49_999);
    expect(p.examinedBytes).toBeLessThanOrEqual(5 * enc.length);
  });

  it("an inline line fed one byte at a time is searched once", () => {
    const line = b(`SET key ${"x".repeat(60_000)}\r\n`);
    const { values, p } = feed(bytesEach(line));
    expect(txt(values[0])[2]!.length).toBe(60_000);
    expect(p.examinedBytes).toBeLessThanOrEqual(5 * line.length);
  });
});

describe("RespParser: every split parses like the whole", () => {
  const big = new Uint8Array(40_000).fill(0x62);
  const stream = concatBytes([
    encodeCommand(["SET", "key", "value"]),
    b("PING\r\n"),
    b("*0\r\n"),
    b("*-1\r\n"),
    encodeCommand(["MSET", "a", new Uint8Array([13, 10, 0, 255]), "b", ""]),
    b('echo "a b" \'c\'\n'),
    encodeCommand(["SET", "big", big]),
    b("\r\n"),
    encodeCommand(["GET", "big"]),
  ]);
  const whole = feed([stream]).values.map((v) => txt(v));

  it("the whole stream", () => {
    expect(whole.length).toBe(9);
    expect(whole[5]).toEqual(["echo", "a b", "c"]);
    expect(whole[6]![2]!.length).toBe(40_000);
  });

  it("every split into two pieces of the part before the big argument", () => {
    const cut = stream.indexOf(0x62, 60); // first byte of the big argument
    for (let i = 0; i <= cut; i++) {
      const got = feed([stream.subarray(0, i), stream.subarray(i)]).values.map((v) => txt(v));
      expect(got, `split at ${i}`).toEqual(whole);
    }
  });

  it("400 random splits into up to 40 pieces, including the big argument's hand-over", () => {
    const rng = new Rng(42);
    for (let k = 0; k < 400; k++) {
      const pieces = splitRandomly(rng, stream, 40);
      const got = feed(pieces).values.map((v) => txt(v));
      expect(got, `pieces ${pieces.map((p) => p.length).join(",")}`).toEqual(whole);
    }
  });

  it("a big argument arriving in pieces is handed over whole and stays intact", () => {
    const enc = encodeCommand(["SET", "k", big]);
    const pieces: Uint8Array[] = [];
    for (let o = 0; o < enc.length; o += 1000) pieces.push(enc.subarray(o, o + 1000));
    const { values } = feed(pieces);
    const arg = (values[0] as Uint8Array[])[2]!;
    expect(arg.length).toBe(40_000);
    expect(arg.every((x) => x === 0x62)).toBe(true);
  });
});

describe("RespParser: Redis 7.0 protocol errors (tests/unit/protocol.tcl)", () => {
  const cases: [string, string, string][] = [
    ["out of range multibulk length", "*3000000000\r\n", "Protocol error: invalid multibulk length"],
    ["multibulk length -0", "*-0\r\n", "Protocol error: invalid multibulk length"],
    ["multibulk length with a leading zero", "*01\r\n", "Protocol error: invalid multibulk length"],
    ["wrong multibulk payload header", "*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", "Protocol error: expected '$', got 'f'"],
    ["negative multibulk payload length", "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n", "Protocol error: invalid bulk length"],
    ["out of range payload length", "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n", "Protocol error: invalid bulk length"],
    ["non-number payload length", "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n", "Protocol error: invalid bulk length"],
    ["multi bulk request not followed by bulk arguments", "*1\r\nfoo\r\n", "Protocol error: expected '$', got 'f'"],
    ["unbalanced number of quotes", 'set """test-key""" test-value\r\nping\r\n', "Protocol error: unbalanced quotes in request"],
  ];
  it.each(cases)("%s", (_name, input, msg) => {
    const err = thrown(() => feed([b(input)]));
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.message).toBe(msg);
    // Whatever the split, the same error.
    const err1 = thrown(() => feed(bytesEach(b(input))));
    expect(err1.message).toBe(msg);
  });

  it("negative multibulk length is skipped, the next command runs", () => {
    expect(feed([b("*-10\r\nPING\r\n")]).values.map((v) => txt(v))).toEqual([[], ["PING"]]);
  });

  it("an empty query is skipped", () => {
    expect(feed([b("\r\nPING\r\n")]).values.map((v) => txt(v))).toEqual([[], ["PING"]]);
  });

  it("like Redis, a header ends at its first \\r and the byte after it is not checked", () => {
    expect(feed([b("*1\rX$4\rXPING..")]).values.map((v) => txt(v))).toEqual([["PING"]]);
  });

  it("a parser that refused input keeps refusing", () => {
    const p = new RespParser("request");
    p.push(b("*1\r\nfoo\r\n"));
    expect(() => p.next()).toThrow("Protocol error: expected '$', got 'f'");
    p.push(b("PING\r\n"));
    expect(() => p.next()).toThrow("Protocol error: expected '$', got 'f'");
  });
});

describe("RespParser: lines without an end are refused at 64 KiB (desync regression)", () => {
  // protocol.tcl "Protocol desync regression test": one of these, then bytes with no line end.
  const payload = b("A".repeat(1024));
  it.each([
    ["\\x00", "\x00", "Protocol error: too big inline request"],
    ["*\\x00", "*\x00", "Protocol error: too big mbulk count string"],
    ["$\\x00", "$\x00", "Protocol error: too big inline request"],
  ])("%s followed by bytes without a line end", (_name, head, msg) => {
    const { err, fed } = feedUntilRefused(b(head), payload, 10 * INLINE_BYTES_MAX);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as Error).message).toBe(msg);
    expect(fed).toBeLessThanOrEqual(INLINE_BYTES_MAX + 2 * payload.length);
  });

  it("a bulk count line without its end → too big bulk count string", () => {
    const { err } = feedUntilRefused(b("*2\r\n$3\r\nGET\r\n$"), b("1".repeat(1000)), 10 * INLINE_BYTES_MAX);
    expect((err as Error).message).toBe("Protocol error: too big bulk count string");
  });

  it("an inline command of exactly INLINE_BYTES_MAX bytes is accepted; one more byte is not, whatever the split", () => {
    const ok = b(`ECHO ${"x".repeat(INLINE_BYTES_MAX - 5)}\n`);
    expect(txt(feed([ok]).values[0])[1]!.length).toBe(INLINE_BYTES_MAX - 5);
    const tooBig = b(`ECHO ${"x".repeat(INLINE_BYTES_MAX - 4)}\n`);
    expect(thrown(() => feed([tooBig])).message).toBe("Protocol error: too big inline request");
    const pieces = [tooBig.subarray(0, 1000), tooBig.subarray(1000)];
    expect(thrown(() => feed(pieces)).message).toBe("Protocol error: too big inline request");
  });
});

describe("RespParser: client query buffer limit", () => {
  it("an unfinished command over the limit is refused with Redis's wording", () => {
    const p = new RespParser("request", { queryBytesMax: 1000 });
    p.push(b("*2\r\n$3\r\nSET\r\n$2000\r\n"));
    expect(p.next()).toBeUndefined();
    p.push(new Uint8Array(900));
    expect(() => p.next()).toThrow(new ProtocolError("Protocol error: client reached max query buffer length (1000 bytes)"));
  });

  it("complete commands never count, however many arrive at once", () => {
    const p = new RespParser("request", { queryBytesMax: 1000 });
    const many = concatBytes(Array.from({ length: 500 }, (_, i) => encodeCommand(["SET", `k${i}`, "v"])));
    expect(many.length).toBeGreaterThan(1000);
    const { values } = feed([many], "request", p);
    expect(values.length).toBe(500);
  });

  it("each parsed argument is charged its overhead: empty arguments cannot pile up", () => {
    const p = new RespParser("request");
    p.push(b("*1000000\r\n"));
    const empty = b("$0\r\n\r\n".repeat(1000));
    let args = 0;
    const err = thrown(() => {
      for (;;) {
        p.push(empty);
        args += 1000;
        p.next();
      }
    });
    expect(err.message).toBe(`Protocol error: client reached max query buffer length (${QUERY_BUFFER_BYTES_MAX} bytes)`);
    expect(args).toBeLessThanOrEqual(QUERY_BUFFER_BYTES_MAX / RESP_ARG_OVERHEAD_BYTES + 1000);
  });

  it("the largest argument (BULK_BYTES_MAX) fits under the default limit", () => {
    const enc = encodeCommand(["SET", "k", new Uint8Array(BULK_BYTES_MAX)]);
    const pieces: Uint8Array[] = [];
    for (let o = 0; o < enc.length; o += 1024 * 1024) pieces.push(enc.subarray(o, o + 1024 * 1024));
    const { values } = feed(pieces);
    expect((values[0] as Uint8Array[])[2]!.length).toBe(BULK_BYTES_MAX);
  });

  it("without a limit (a replica reading its master's stream) a command of any size is taken", () => {
    const n = Math.ceil(QUERY_BUFFER_BYTES_MAX / RESP_ARG_OVERHEAD_BYTES) + 1000;
    const enc = concatBytes([b(`*${n}\r\n`), b("$0\r\n\r\n".repeat(n))]);
    const limited = new RespParser("request");
    const half = enc.subarray(0, enc.length - 6);
    limited.push(half);
    expect(() => limited.next()).toThrow("Protocol error: client reached max query buffer length");
    const { values } = feed([half, enc.subarray(enc.length - 6)], "request", new RespParser("request", { queryBytesMax: Number.POSITIVE_INFINITY }));
    expect((values[0] as Uint8Array[]).length).toBe(n);
  });

  it("replies have no query limit", () => {
    const p = new RespParser("reply");
    p.push(b(`$${BULK_BYTES_MAX}\r\n`));
    p.push(new Uint8Array(BULK_BYTES_MAX - 1));
    expect(p.next()).toBeUndefined();
  });
});
