/**
 * What every bench section gets: the running Worker (our service), a way to start
 * throwaway redis-servers, fresh database names, and the result table.
 */
import { startRedisServer, type RedisServer } from "../../test/node/support/redis-server.ts";
import type { BenchWorker } from "./worker.ts";
import { connectTcp, connectWs, sleep, type Results, type RespClient } from "./lib.ts";

export interface BenchContext {
  worker: BenchWorker;
  results: Results;
  /** A database name not used before in this run (and, by the timestamp, on this storage). */
  freshDb(tag: string): string;
  /** ws://…/db/{db}/nodes/{node}/ws */
  wsUrl(db: string, node: string): string;
  /** A RESP-over-WebSocket connection pinned to a node (closed at the end of the run). */
  node(db: string, node: string): Promise<RespClient>;
  /** A redis-server (stopped at the end of the run unless stopped before). */
  redis(extraArgs?: string[]): Promise<RedisServer>;
  /** A TCP connection to a redis-server (closed at the end of the run). */
  redisClient(r: RedisServer): Promise<RespClient>;
}

export function makeContext(worker: BenchWorker, results: Results): BenchContext & { cleanup(): Promise<void> } {
  const stamp = Date.now().toString(36);
  let seq = 0;
  const clients: RespClient[] = [];
  const servers: RedisServer[] = [];
  const wsUrl = (db: string, node: string) => `${worker.url.replace(/^http/, "ws")}/db/${db}/nodes/${node}/ws`;
  return {
    worker,
    results,
    freshDb: (tag) => `bench${stamp}${tag}${seq++}`,
    wsUrl,
    async node(db, node) {
      const c = await connectWs(wsUrl(db, node), worker.token);
      clients.push(c);
      return c;
    },
    async redis(extraArgs = []) {
      const r = await startRedisServer(extraArgs);
      const stop = r.stop.bind(r);
      let stopped = false;
      const once = { ...r, stop: async () => { if (!stopped) { stopped = true; await stop(); } } };
      servers.push(once);
      return once;
    },
    async redisClient(r) {
      const c = await connectTcp(r.port);
      clients.push(c);
      return c;
    },
    async cleanup() {
      for (const c of clients) await Promise.race([c.close().catch(() => {}), sleep(2000)]);
      for (const s of servers) await s.stop().catch(() => {});
    },
  };
}
