/**
 * The glob table (test/fixtures/glob/cases.ts) against a real redis-server 7.0: each subject
 * is a field of a small hash and HSCAN … MATCH pattern tells whether Redis's stringmatchlen
 * matches it. Our matcher is checked against the same table in test/unit/glob.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GLOB_CASES } from "../fixtures/glob/cases.ts";
import { type RedisServer, startRedisServer } from "./support/redis-server.ts";
import type { RespClient } from "./support/resp-client.ts";

const latin1 = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));

describe("glob table agrees with redis-server", () => {
  let server: RedisServer;
  let client: RespClient;
  beforeAll(async () => {
    server = await startRedisServer();
    client = await server.connect();
  });
  afterAll(async () => {
    await client?.close();
    await server?.stop();
  });

  it("HSCAN MATCH answers every case as the table says", async () => {
    const cmds = GLOB_CASES.flatMap((c, i) => [
      ["HSET", `h${i}`, latin1(c.subject), "1"],
      ["HSCAN", `h${i}`, "0", "MATCH", latin1(c.pattern), "COUNT", "100"],
    ]);
    const replies = await client.send(cmds);
    const wrong: string[] = [];
    GLOB_CASES.forEach((c, i) => {
      const reply = replies[2 * i + 1] as [Uint8Array, Uint8Array[]];
      const redis = reply[1].length > 0;
      if (redis !== c.match) wrong.push(`${JSON.stringify(c.pattern)} vs ${JSON.stringify(c.subject)}: redis says ${redis}`);
    });
    expect(wrong).toEqual([]);
  });
});
