/**
 * `save` and `appendonly` in CONFIG, as INFO persistence reports them: every write is stored
 * before it is acknowledged, so there are no save points and no append-only file. Clients ask
 * for both (redis-benchmark reads `CONFIG GET save` and `CONFIG GET appendonly` before it
 * starts, and warns when either is missing); CONFIG SET takes only the value they have.
 */
import { describe, expect, it } from "vitest";
import { cmd, freshDb, info } from "./nodes.ts";

describe("CONFIG save / appendonly", () => {
  it("CONFIG GET answers them as INFO persistence does", async () => {
    const db = freshDb("cfgp");
    expect(await cmd(db, "master", "CONFIG", "GET", "save")).toEqual(["save", ""]);
    expect(await cmd(db, "master", "CONFIG", "GET", "appendonly")).toEqual(["appendonly", "no"]);
    expect(await cmd(db, "master", "CONFIG", "GET", "APPEND*")).toEqual(["appendonly", "no"]);
    const p = await info(db, "master", "persistence");
    expect(p.aof_enabled).toBe("0");
    expect(p.rdb_changes_since_last_save).toBe("0");
  });

  it("CONFIG SET takes the value they have and refuses any other with the reason, changing nothing", async () => {
    const db = freshDb("cfgp");
    expect(await cmd(db, "master", "CONFIG", "SET", "save", "")).toBe("OK");
    expect(await cmd(db, "master", "CONFIG", "SET", "appendonly", "NO")).toBe("OK");
    await expect(cmd(db, "master", "CONFIG", "SET", "save", "900 1")).rejects.toThrow(
      "ERR CONFIG SET failed (possibly related to argument 'save') - every write is stored before it is acknowledged; there are no save points",
    );
    await expect(cmd(db, "master", "CONFIG", "SET", "appendonly", "yes")).rejects.toThrow(/^ERR CONFIG SET failed \(possibly related to argument 'appendonly'\) - .*no append-only file/);
    // Several pairs are applied all or none (Redis 7): a refused one leaves the others as they were.
    await expect(cmd(db, "master", "CONFIG", "SET", "repl-timeout", "77", "appendonly", "yes")).rejects.toThrow(/appendonly/);
    expect(await cmd(db, "master", "CONFIG", "GET", "repl-timeout")).toEqual(["repl-timeout", "60"]);
    expect(await cmd(db, "master", "CONFIG", "GET", "save")).toEqual(["save", ""]);
    expect(await cmd(db, "master", "CONFIG", "GET", "appendonly")).toEqual(["appendonly", "no"]);
  });
});

describe("CONFIG SET with several pairs (Redis 7.0.15's answers)", () => {
  it("a name given twice is refused; a parameter and its alias are not duplicates (the later wins)", async () => {
    const db = freshDb("cfgp");
    await expect(cmd(db, "master", "CONFIG", "SET", "repl-timeout", "70", "repl-timeout", "80")).rejects.toThrow(
      "ERR CONFIG SET failed (possibly related to argument 'repl-timeout') - duplicate parameter",
    );
    expect(await cmd(db, "master", "CONFIG", "GET", "repl-timeout")).toEqual(["repl-timeout", "60"]);
    expect(await cmd(db, "master", "CONFIG", "SET", "repl-ping-replica-period", "5", "repl-ping-slave-period", "6")).toBe("OK");
    expect(await cmd(db, "master", "CONFIG", "GET", "repl-ping-replica-period")).toEqual(["repl-ping-replica-period", "6"]);
    await expect(cmd(db, "master", "CONFIG", "SET", "nosuch", "1", "repl-timeout", "5")).rejects.toThrow("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'");
    expect(await cmd(db, "master", "CONFIG", "GET", "repl-timeout")).toEqual(["repl-timeout", "60"]);
  });
});
