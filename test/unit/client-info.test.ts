/**
 * CLIENT LIST lines and filters (keyspace/client-info.ts) and CLIENT KILL's parsing and
 * matching (node/clients.ts): Redis 7.0's field order, flag letters and error texts
 * (recorded with redis-cli against redis-server 7.0.15).
 */
import { describe, expect, it } from "vitest";
import { type ClientView, clientLine, clientList, clientType, parseClientListFilter } from "../../src/keyspace/client-info.ts";
import { newSession } from "../../src/keyspace/command.ts";
import { killTargets, parseKill } from "../../src/node/clients.ts";
import type { RedisError } from "../../src/protocol/reply.ts";
import { utf8 } from "../../src/util/bytes.ts";

const args = (...a: string[]) => a.map(utf8);
const err = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as RedisError).msg;
  }
  return "no error";
};

function view(partial: Partial<ClientView> & { id: number }): ClientView {
  const session = newSession({ id: partial.id, addr: `10.0.0.${partial.id}:5000`, createdMs: 0, lastCmdMs: 2000, lastCmd: "blpop" });
  return { session, role: "normal", sub: 0, psub: 0, ssub: 0, blocked: false, ...partial };
}

describe("CLIENT LIST lines", () => {
  it("Redis 7.0's fields in order; age/idle in seconds; flags b, x, P, S, O, N", () => {
    const v = view({ id: 7, blocked: true });
    expect(clientLine(v, 5500)).toBe(
      "id=7 addr=10.0.0.7:5000 laddr= fd=-1 name= age=5 idle=3 flags=b db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=blpop user=default redir=-1 resp=2",
    );
    const m = view({ id: 8 });
    m.session.multi = [[utf8("GET")]];
    expect(clientLine(m, 0)).toMatch(/ flags=x .* multi=1 /);
    expect(clientLine(view({ id: 9, sub: 2, psub: 1 }), 0)).toMatch(/ flags=P db=0 sub=2 psub=1 /);
    expect(clientLine(view({ id: 10, role: "replica" }), 0)).toMatch(/ flags=S /);
    expect(clientLine(view({ id: 11, role: "monitor" }), 0)).toMatch(/ flags=O /);
    expect(clientLine(view({ id: 12 }), 0, "client|list")).toMatch(/ flags=N .* cmd=client\|list /);
  });

  it("types: a MONITOR client is normal, a subscriber pubsub, a replica's link replica", () => {
    expect(clientType(view({ id: 1, role: "monitor" }))).toBe("normal");
    expect(clientType(view({ id: 1, psub: 1 }))).toBe("pubsub");
    // A shard-channel subscriber (SSUBSCRIBE) is a pubsub client too, flagged P, counted in ssub.
    expect(clientType(view({ id: 3, ssub: 1 }))).toBe("pubsub");
    expect(clientLine(view({ id: 4, omem: 5000 }), 0)).toMatch(/ oll=0 omem=5000 tot-mem=0 /);
    expect(clientLine(view({ id: 3, ssub: 2 }), 0)).toMatch(/ flags=P db=0 sub=0 psub=0 ssub=2 /);
    expect(clientType(view({ id: 1, role: "replica" }))).toBe("replica");
  });

  it("filters: TYPE, ID in the ids' order (repeats repeat, unknown ids vanish); errors as redis-server", () => {
    const vs = [view({ id: 1 }), view({ id: 2, sub: 1 }), view({ id: 3 })];
    const ids = (text: string) => text.split("\n").filter(Boolean).map((l) => Number(/^id=(\d+)/.exec(l)![1]));
    expect(ids(clientList(vs, parseClientListFilter([]), 0, 1))).toEqual([1, 2, 3]);
    expect(ids(clientList(vs, parseClientListFilter(args("TYPE", "pubsub")), 0, 1))).toEqual([2]);
    expect(ids(clientList(vs, parseClientListFilter(args("type", "NORMAL")), 0, 1))).toEqual([1, 3]);
    expect(clientList(vs, parseClientListFilter(args("TYPE", "slave")), 0, 1)).toBe("");
    expect(ids(clientList(vs, parseClientListFilter(args("ID", "3", "9", "1", "3")), 0, 1))).toEqual([3, 1, 3]);
    expect(clientList(vs, parseClientListFilter(args("ID", "0", "-1")), 0, 1)).toBe("");
    expect(err(() => parseClientListFilter(args("TYPE", "foo")))).toBe("ERR Unknown client type 'foo'");
    expect(err(() => parseClientListFilter(args("ID", "abc")))).toBe("ERR Invalid client ID");
    expect(err(() => parseClientListFilter(args("ID")))).toBe("ERR syntax error");
    expect(err(() => parseClientListFilter(args("foo")))).toBe("ERR syntax error");
    expect(err(() => parseClientListFilter(args("TYPE", "normal", "x")))).toBe("ERR syntax error");
  });
});

describe("CLIENT KILL", () => {
  it("parses the old addr form and the filters; errors as redis-server", () => {
    expect(parseKill(args("1.2.3.4:5"))).toEqual({ form: "addr", addr: "1.2.3.4:5" });
    expect(parseKill(args("ID", "5", "TYPE", "pubsub", "SKIPME", "no"))).toEqual({ form: "filter", ids: [5], type: "pubsub", addr: null, laddr: null, skipMe: false });
    expect(parseKill(args("USER", "default", "LADDR", "1.2.3.4:5"))).toMatchObject({ form: "filter", laddr: "1.2.3.4:5" });
    expect(() => parseKill(args("USER", "nosuchuser"))).toThrow("ERR No such user 'nosuchuser'");
    expect(parseKill(args("id", "5", "id", "6")).form === "filter" && (parseKill(args("id", "5", "id", "6")) as { ids: number[] }).ids).toEqual([6]);
    expect(err(() => parseKill(args("ID", "0")))).toBe("ERR client-id should be greater than 0");
    expect(err(() => parseKill(args("ID", "x")))).toBe("ERR client-id should be greater than 0");
    expect(err(() => parseKill(args("TYPE", "foo")))).toBe("ERR Unknown client type 'foo'");
    expect(err(() => parseKill(args("SKIPME", "maybe")))).toBe("ERR syntax error");
    expect(err(() => parseKill(args("ID", "1", "TYPE")))).toBe("ERR syntax error");
    expect(err(() => parseKill(args("FOO", "1")))).toBe("ERR syntax error");
  });

  it("matches by id, type and addr, skipping the caller unless SKIPME no", () => {
    const vs = [view({ id: 1 }), view({ id: 2, sub: 1 }), view({ id: 3 })];
    const self = vs[0]!.session;
    const kill = (...a: string[]) => {
      const req = parseKill(args(...a));
      if (req.form !== "filter") throw new Error("filter expected");
      return killTargets(vs, req, self).map((v) => v.session.id);
    };
    expect(kill("TYPE", "normal")).toEqual([3]);
    expect(kill("TYPE", "normal", "SKIPME", "no")).toEqual([1, 3]);
    expect(kill("ID", "2")).toEqual([2]);
    expect(kill("ID", "2", "TYPE", "normal")).toEqual([]);
    expect(kill("ADDR", "10.0.0.3:5000")).toEqual([3]);
  });
});
