/**
 * `npm start` (tools/start.mjs) checks its port before starting wrangler: with the port taken
 * it says so and how to pick another, instead of printing "running" for someone else's server.
 */
import { spawn } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const START = fileURLToPath(new URL("../../tools/start.mjs", import.meta.url));

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [START, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => resolve({ code, out }));
  });
}

describe("npm start", () => {
  it("refuses a port that is taken, naming --port", async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, "127.0.0.1", () => r()));
    const port = (holder.address() as AddressInfo).port;
    try {
      const r = await run(["--port", String(port)]);
      expect(r.code).toBe(1);
      expect(r.out).toContain(`npm start: port ${port} on 127.0.0.1 is not available (EADDRINUSE)`);
      expect(r.out).toContain("npm start -- --port 9000");
      expect(r.out).not.toContain("is running");
    } finally {
      holder.close();
    }
  });

  it("refuses a port that is not a number", async () => {
    const r = await run(["--port", "http"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("--port must be a port number");
  });
});
