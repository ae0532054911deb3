/**
 * A PING loop in its own process, so the latency it sees is the server's and not the bench
 * client's own event loop (which is busy encoding and decoding a burst of 100,000 commands).
 *
 *   tsx tools/bench/pinger.ts ws <url> [token]   |   tsx tools/bench/pinger.ts tcp <port>
 *
 * Prints "ready" once connected, then PINGs back to back; on a line on stdin it prints
 * {"worstMs":…,"n":…} and exits.
 */
import { createInterface } from "node:readline";
import { connectTcp, connectWs } from "../resp-client.ts";

async function main(): Promise<void> {
  const [kind, target, token] = process.argv.slice(2);
  const c = kind === "ws" ? await connectWs(target!, token) : await connectTcp(Number(target));
  let stop = false;
  let worst = 0;
  let n = 0;
  createInterface({ input: process.stdin }).once("line", () => {
    stop = true;
  });
  process.stdout.write("ready\n");
  while (!stop) {
    const t = performance.now();
    await c.call("PING"); // an error reply (LOADING) is an answer too
    worst = Math.max(worst, performance.now() - t);
    n++;
  }
  process.stdout.write(JSON.stringify({ worstMs: worst, n }) + "\n");
  await c.close();
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`pinger: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
