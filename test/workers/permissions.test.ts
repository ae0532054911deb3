/**
 * The read-only token reads data and nothing else (SPEC §6). The first test is generated
 * from the command table, so a command added later is checked without anyone remembering
 * to: a command Redis flags `readonly`, or one of the connection/server-state commands
 * listed here, runs; every other command answers NOPERM and changes nothing.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { TRANSACTION_COMMANDS, COMMANDS } from "../../src/keyspace/table.ts";
import { RedisError, type Reply } from "../../src/protocol/reply.ts";
import { utf8 } from "../../src/util/bytes.ts";
import { withEngine } from "./harness.ts";
import { cmd, digest, freshDb, info } from "./nodes.ts";

/**
 * Commands without Redis's `readonly` flag that the read-only token may still run: they act
 * on the caller's own connection or read the server's state, never data or configuration.
 */
const ALLOWED_WITHOUT_READONLY_FLAG = new Set(["auth", "ping", "echo", "select", "hello", "quit", "reset", "command", "wait", "time", "info", "role", "lastsave", "subscribe", "psubscribe", "unsubscribe", "punsubscribe", "ssubscribe", "sunsubscribe", "pubsub", "cluster", "readonly", "readwrite", "asking"]);

/** Subcommands of container commands, and whether the read-only token may run them. */
const SUBCOMMANDS: [string, string[], boolean][] = [
  ["config", ["get", "maxmemory"], true],
  ["config", ["set", "repl-timeout", "30"], false],
  ["config", ["resetstat"], false],
  ["config", ["rewrite"], false],
  ["client", ["id"], true],
  ["client", ["getname"], true],
  ["client", ["setname", "x"], true],
  ["client", ["info"], true],
  ["client", ["kill", "type", "replica"], false],
  ["client", ["list"], false],
  ["script", ["exists", "0000000000000000000000000000000000000000"], true],
  ["script", ["load", "return 1"], false],
  ["script", ["flush"], false],
  ["script", ["kill"], false],
  ["function", ["list"], true],
  ["function", ["stats"], true],
  ["function", ["load", "#!lua name=x\nredis.register_function('f', function() return 1 end)"], false],
  ["function", ["flush"], false],
  ["function", ["delete", "x"], false],
  ["debug", ["digest"], false],
  ["debug", ["restart"], false],
  ["debug", ["sleep", "0"], false],
];

const noPerm = (name: string) => `NOPERM this user has no permissions to run the '${name}' command`;

function errorText(r: Reply): string | null {
  return r instanceof RedisError ? r.msg : null;
}

describe("read-only token: every command in the table", () => {
  it("runs reads and connection commands; everything else answers NOPERM and changes nothing", async () => {
    await withEngine(async (h) => {
      h.run("set", "k", "v");
      h.run("rpush", "l", "a", "b");
      h.run("sadd", "s", "m");
      h.run("zadd", "z", 1, "m");
      h.run("hset", "h", "f", "v");
      const digestBefore = h.run("debug", "digest");
      const streamBefore = h.stream().length;
      let denied = 0;
      let allowed = 0;
      for (const spec of COMMANDS.values()) {
        const session = { ...h.session, readOnlyToken: true, watched: new Set<string>(), multi: null };
        // The smallest argument list the arity accepts; arguments name existing keys where keys go.
        const argc = Math.abs(spec.arity);
        const argv = [utf8(spec.name), ...Array.from({ length: argc - 1 }, () => utf8("k"))];
        const r = await h.engine.execute(session, argv);
        const mayRun = spec.flags.includes("readonly") || ALLOWED_WITHOUT_READONLY_FLAG.has(spec.name);
        if (mayRun) {
          expect(errorText(r) ?? "", spec.name).not.toMatch(/^NOPERM/);
          allowed++;
        } else {
          // A container command with an unknown subcommand ("k") is refused as `name|k`.
          const name = typeof spec.acl === "function" ? `${spec.name}|k` : spec.name;
          expect(errorText(r), spec.name).toBe(noPerm(name));
          denied++;
        }
      }
      for (const [name, args, may] of SUBCOMMANDS) {
        const session = { ...h.session, readOnlyToken: true };
        const r = await h.engine.execute(session, [name, ...args].map((a) => utf8(a)));
        if (may) expect(errorText(r) ?? "", `${name} ${args[0]}`).not.toMatch(/^NOPERM/);
        else expect(errorText(r), `${name} ${args[0]}`).toBe(noPerm(name === "debug" ? "debug" : `${name}|${args[0]}`));
      }
      for (const t of TRANSACTION_COMMANDS) {
        const session = { ...h.session, readOnlyToken: true, watched: new Set<string>(), multi: null };
        const argv = t.arity === 1 ? [utf8(t.name)] : [utf8(t.name), utf8("k")];
        expect(errorText(await h.engine.execute(session, argv)) ?? "", t.name).not.toMatch(/^NOPERM/);
      }
      // Both kinds are represented (a sanity check of the classification itself).
      expect(denied).toBeGreaterThan(60);
      expect(allowed).toBeGreaterThan(50);
      expect(h.run("debug", "digest")).toEqual(digestBefore);
      expect(h.stream().length).toBe(streamBefore);
    });
  });
});

describe("AUTH", () => {
  it("takes a token's permissions for the rest of the connection; a wrong one answers WRONGPASS and changes nothing", async () => {
    await withEngine(async (h) => {
      const s = { ...h.session, readOnlyToken: true };
      const run = async (...a: string[]) => h.engine.execute(s, a.map((x) => utf8(x)));
      expect(errorText(await run("set", "k", "v"))).toBe(noPerm("set"));
      expect(errorText(await run("auth", "nope"))).toBe("WRONGPASS invalid username-password pair or user is disabled.");
      expect(s.readOnlyToken).toBe(true);
      expect(errorText(await run("auth", "a", "b", "c"))).toBe("ERR syntax error");
      expect(errorText(await run("auth", "default", "rw"))).toBeNull();
      expect(errorText(await run("set", "k", "v"))).toBeNull();
      expect(errorText(await run("auth", "ro"))).toBeNull();
      expect(errorText(await run("del", "k"))).toBe(noPerm("del"));
    });
  });
});

const RO = "Bearer test-readonly-token";
const RW = "Bearer test-token";

async function rest(db: string, body: unknown[], auth = RO): Promise<{ status: number; json: { result?: unknown; error?: string } }> {
  const res = await SELF.fetch(`https://example.com/db/${db}`, {
    method: "POST",
    headers: { authorization: auth, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as { result?: unknown; error?: string } };
}

/** One RESP exchange over a WebSocket through the router with the read-only token. */
async function wsExchange(db: string, line: string): Promise<string> {
  const res = await SELF.fetch(`https://example.com/db/${db}/ws`, { headers: { Upgrade: "websocket", authorization: RO } });
  const sock = res.webSocket!;
  (sock as unknown as { binaryType: string }).binaryType = "arraybuffer";
  sock.accept();
  const reply = new Promise<string>((resolve) =>
    sock.addEventListener("message", (e) => resolve(typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer))),
  );
  sock.send(line);
  const r = await reply;
  sock.close(1000, "done");
  return r;
}

describe("read-only token through the router", () => {
  it("administrative and dangerous commands answer NOPERM over REST and WebSocket; the database is untouched", async () => {
    const db = freshDb("perm");
    await rest(db, ["SET", "k", "v"], RW);
    await rest(db, ["RPUSH", "l", "a"], RW);
    const before = await digest(db, "master");
    const cases: [unknown[], string][] = [
      [["REPLICAOF", "r1"], "replicaof"],
      [["SLAVEOF", "r1", "6379"], "slaveof"],
      [["CONFIG", "SET", "replica-read-only", "no"], "config|set"],
      [["DEBUG", "DIGEST"], "debug"],
      [["DEBUG", "RESTART"], "debug"],
      [["CLIENT", "KILL", "TYPE", "replica"], "client|kill"],
      [["FLUSHALL"], "flushall"],
      [["SET", "k", "w"], "set"],
    ];
    for (const [body, name] of cases) {
      const r = await rest(db, body);
      expect(r.status, name).toBe(400);
      expect(r.json.error, name).toBe(noPerm(name));
    }
    expect(await wsExchange(db, "MONITOR\r\n")).toBe(`-${noPerm("monitor")}\r\n`);
    expect(await wsExchange(db, "REPLICAOF r1\r\n")).toBe(`-${noPerm("replicaof")}\r\n`);
    expect(await wsExchange(db, "CONFIG GET repl-timeout\r\n")).toMatch(/^\*2\r\n\$12\r\nrepl-timeout\r\n/);
    expect((await rest(db, ["GET", "k"])).json.result).toBe("v");
    expect((await info(db, "master")).role).toBe("master");
    expect(await digest(db, "master")).toBe(before);
    // The admin API: reading is fine, changing is refused.
    const list = await SELF.fetch(`https://example.com/db/${db}/admin/nodes`, { headers: { authorization: RO } });
    expect(list.status).toBe(200);
    await list.body?.cancel();
    const create = await SELF.fetch(`https://example.com/db/${db}/admin/nodes`, {
      method: "POST",
      headers: { authorization: RO, "content-type": "application/json" },
      body: JSON.stringify({ name: "r1" }),
    });
    expect(create.status).toBe(403);
    await create.body?.cancel();
    const page = await SELF.fetch(`https://example.com/db/${db}/status`, { headers: { authorization: RO } });
    expect(page.status).toBe(200);
    await page.body?.cancel();
    expect(await cmd(db, "master", "DBSIZE")).toBe(2);
  });
});
