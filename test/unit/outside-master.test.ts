/**
 * The outside-master link state machine (replication/outside-master.ts) against a fake
 * transport, with golden bytes captured from a real redis-server 7.0.15 master
 * (test/fixtures/outside/: an RDB payload and the command stream that followed it), every
 * input split at every byte boundary; and the REPLICAOF host rule / EXTERNAL_MASTERS allow list.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { encodeCommand } from "../../src/protocol/resp.ts";
import { HANDSHAKE_LINE_BYTES_MAX, OutsideMasterLink, type OutsideLinkOptions, type OutsideSink } from "../../src/replication/outside-master.ts";
import { notAllowedError, outsideAddress, outsideHostAllowed } from "../../src/replication/outside-hosts.ts";
import { concat } from "../../src/util/bytes.ts";

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/outside/${name}`, import.meta.url)));
const RDB = fixture("master_rdb_len.bin");
const STREAM = fixture("stream_len.bin");
const MARK = "aa87d4c365c54743d37a41722db055f22f967dd9";
const REPLID = "b1ab8ad546243f821a60f10496a626bf2e5aa090";
const enc = (s: string) => new TextEncoder().encode(s);
/** Byte equality without vitest's element-by-element diff (the split loops compare 400 times). */
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

interface Recorded {
  sent: string[];
  events: string[];
  rdb: Uint8Array[];
  stream: Uint8Array[];
}

function harness(opts: Partial<OutsideLinkOptions> = {}) {
  const rec: Recorded = { sent: [], events: [], rdb: [], stream: [] };
  const sink: OutsideSink = {
    fullResync: (id, off) => rec.events.push(`full ${id} ${off}`),
    rdbChunk: (b) => rec.rdb.push(b.slice()),
    rdbDone: () => rec.events.push("rdb-done"),
    continued: (id) => rec.events.push(`continue ${id}`),
    stream: (b) => rec.stream.push(b.slice()),
  };
  const link = new OutsideMasterLink(
    { user: null, pass: null, cached: null, ...opts },
    { write: (b) => rec.sent.push(new TextDecoder().decode(b)) },
    sink,
  );
  link.start();
  return { link, rec };
}

/** Feed `bytes` in two pieces split at `at`. */
function feedSplit(link: OutsideMasterLink, bytes: Uint8Array, at: number) {
  link.receive(bytes.subarray(0, at));
  link.receive(bytes.subarray(at));
}

const cmd = (...argv: string[]) => new TextDecoder().decode(encodeCommand(argv));

describe("outside master link: handshake", () => {
  it("sends Redis's replica handshake, one command per reply, and PSYNC ? -1 without a cached master", () => {
    const { link, rec } = harness();
    expect(rec.sent).toEqual([cmd("PING")]);
    link.receive(enc("+PONG\r\n"));
    expect(rec.sent.at(-1)).toBe(cmd("REPLCONF", "listening-port", "0"));
    link.receive(enc("+OK\r\n"));
    expect(rec.sent.at(-1)).toBe(cmd("REPLCONF", "capa", "eof", "capa", "psync2"));
    link.receive(enc("+OK\r\n"));
    expect(rec.sent.at(-1)).toBe(cmd("PSYNC", "?", "-1"));
    expect(link.state).toBe("psync");
  });

  it("authenticates with masteruser/masterauth, and asks to continue from the cached master (offset + 1)", () => {
    const { link, rec } = harness({ user: "repl", pass: "s3cret", cached: { replid: REPLID, offset: 1105 } });
    link.receive(enc("-NOAUTH Authentication required.\r\n"));
    expect(rec.sent.at(-1)).toBe(cmd("AUTH", "repl", "s3cret"));
    link.receive(enc("+OK\r\n+OK\r\n-ERR unknown\r\n")); // a REPLCONF error is not critical
    expect(rec.sent.at(-1)).toBe(cmd("PSYNC", REPLID, "1106"));
    link.receive(enc(`+CONTINUE ${REPLID}\r\n`));
    expect(rec.events).toEqual([`continue ${REPLID}`]);
    expect(link.state).toBe("stream");
  });

  it("AUTH with only masterauth sends the one-argument form", () => {
    const { link, rec } = harness({ pass: "pw" });
    link.receive(enc("+PONG\r\n"));
    expect(rec.sent.at(-1)).toBe(cmd("AUTH", "pw"));
  });

  it("fails, with the master's words, on a refused AUTH, a PING error, a refused PSYNC, a bad reply", () => {
    const a = harness({ pass: "bad" });
    a.link.receive(enc("+PONG\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n"));
    expect(a.link.state).toBe("failed");
    expect(a.link.failure).toContain("WRONGPASS");
    const b = harness();
    b.link.receive(enc("-ERR something\r\n"));
    expect(b.link.failure).toBe("error reply to PING from master: -ERR something");
    const c = harness();
    c.link.receive(enc("+PONG\r\n+OK\r\n+OK\r\n-NOMASTERLINK Can't SYNC while not connected with my master\r\n"));
    expect(c.link.failure).toContain("PSYNC refused: -NOMASTERLINK");
    const d = harness();
    d.link.receive(enc("+PONG\r\n+OK\r\n+OK\r\n+FULLRESYNC nothex 12\r\n"));
    expect(d.link.failure).toContain("bad FULLRESYNC reply");
    const e = harness();
    e.link.receive(new Uint8Array(HANDSHAKE_LINE_BYTES_MAX + 1).fill(0x2b));
    expect(e.link.failure).toContain("longer than");
    // Nothing more is read or sent once failed.
    const sent = e.rec.sent.length;
    e.link.receive(enc("\r\n+OK\r\n"));
    expect(e.rec.sent.length).toBe(sent);
  });
});

describe("outside master link: full resync (golden bytes from redis-server 7.0.15)", () => {
  const prelude = enc(`+PONG\r\n+OK\r\n+OK\r\n\n\n+FULLRESYNC ${REPLID} 1000\r\n\n`);

  it("`$len` form: the payload reaches the loader intact and the stream follows, at every split point", () => {
    const all = concat([prelude, enc(`$${RDB.length}\r\n`), RDB, STREAM]);
    for (let at = 0; at <= all.length; at++) {
      const { link, rec } = harness();
      feedSplit(link, all, at);
      expect(rec.events).toEqual([`full ${REPLID} 1000`, "rdb-done"]);
      expect(same(concat(rec.rdb), RDB)).toBe(true);
      expect(same(concat(rec.stream), STREAM)).toBe(true);
      expect(link.state).toBe("stream");
      expect(link.bulkRead).toBe(RDB.length);
      expect(link.bulkSize).toBe(RDB.length);
    }
  });

  it("diskless `$EOF:` form: the mark is found across any split and never reaches the loader", () => {
    const all = concat([prelude, enc(`$EOF:${MARK}\r\n`), RDB, enc(MARK), STREAM]);
    for (let at = 0; at <= all.length; at++) {
      const { link, rec } = harness();
      feedSplit(link, all, at);
      expect(rec.events).toEqual([`full ${REPLID} 1000`, "rdb-done"]);
      expect(same(concat(rec.rdb), RDB)).toBe(true);
      expect(same(concat(rec.stream), STREAM)).toBe(true);
    }
  });

  it("diskless payload fed one byte at a time holds back at most 39 bytes", () => {
    const { link, rec } = harness();
    link.receive(concat([prelude, enc(`$EOF:${MARK}\r\n`)]));
    for (let i = 0; i < RDB.length; i++) {
      link.receive(RDB.subarray(i, i + 1));
      expect(concat(rec.rdb).length).toBe(Math.max(0, i + 1 - 39));
    }
    expect(link.bulkSize).toBe(null); // not announced in the diskless form
    link.receive(enc(MARK));
    expect(concat(rec.rdb)).toEqual(RDB);
    expect(link.bulkRead).toBe(RDB.length);
    expect(rec.events.at(-1)).toBe("rdb-done");
  });

  it("an aborted transfer or a bad bulk header fails the link", () => {
    const a = harness();
    a.link.receive(concat([prelude, enc("-ERR the master failed to fork\r\n")]));
    expect(a.link.failure).toContain("master aborted the transfer");
    const b = harness();
    b.link.receive(concat([prelude, enc("$EOF:short\r\n")]));
    expect(b.link.failure).toContain("bad EOF mark");
    const c = harness();
    c.link.receive(concat([prelude, enc("$-3\r\n")]));
    expect(c.link.failure).toContain("bad bulk header");
  });

  it("REPLCONF ACK is sent only once streaming, with the given offset", () => {
    const { link, rec } = harness();
    link.ack(5);
    expect(rec.sent).toEqual([cmd("PING")]);
    link.receive(concat([prelude, enc("$0\r\n")]));
    link.ack(1042);
    expect(rec.sent.at(-1)).toBe(cmd("REPLCONF", "ACK", "1042"));
  });
});

describe("REPLICAOF host rule and EXTERNAL_MASTERS", () => {
  it.each([
    ["127.0.0.1", "6379", { host: "127.0.0.1", port: 6379 }],
    ["localhost", "7000", { host: "localhost", port: 7000 }],
    ["LOCALHOST", "1", { host: "LOCALHOST", port: 1 }],
    ["redis.example.com", "65535", { host: "redis.example.com", port: 65535 }],
    ["::1", "6379", { host: "::1", port: 6379 }],
    ["[::1]", "6379", { host: "::1", port: 6379 }],
    ["master", "6379", null], // a node name
    ["master", "", null],
    ["127.0.0.1", "", null], // no port
    ["127.0.0.1", "0", null],
    ["127.0.0.1", "65536", null],
    ["127.0.0.1", "-1", null],
    ["bad host.com", "6379", null],
  ])("outsideAddress(%j, %j)", (host, port, want) => {
    expect(outsideAddress(host, port)).toEqual(want);
  });

  it("allows a host by exact name or glob, case-insensitively; nothing when unset", () => {
    const setting = "127.0.0.1, localhost,*.cache.example.com";
    expect(outsideHostAllowed("127.0.0.1", setting)).toBe(true);
    expect(outsideHostAllowed("LocalHost", setting)).toBe(true);
    expect(outsideHostAllowed("eu.cache.example.com", setting)).toBe(true);
    expect(outsideHostAllowed("10.0.0.1", setting)).toBe(false);
    expect(outsideHostAllowed("example.com", setting)).toBe(false);
    expect(outsideHostAllowed("127.0.0.1", undefined)).toBe(false);
    expect(outsideHostAllowed("127.0.0.1", "")).toBe(false);
    expect(notAllowedError("10.0.0.1")).toBe("ERR outside master '10.0.0.1' is not allowed by this deployment's EXTERNAL_MASTERS setting");
  });
});
