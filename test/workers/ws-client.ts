/**
 * A raw WebSocket RESP client through the public router, for tests that send bytes the way
 * an attacker or a slow client would: frames of any size, without waiting for replies.
 */
import { runInDurableObject, SELF } from "cloudflare:test";
import { H_DB, H_NODE, NODE_ORIGIN } from "../../src/http/node-protocol.ts";
import type { Session } from "../../src/keyspace/command.ts";
import type { Node } from "../../src/node/node.ts";
import { stub } from "./nodes.ts";

/**
 * As after hibernation: the master forgets its sockets' runtime state (the sockets and their
 * attachments stay; the next event rebuilds each socket's state from its attachment).
 */
export async function forgetSockets(db: string): Promise<void> {
  await runInDurableObject(stub(db, "master"), (n: Node) => {
    // The sockets' runtime state lives in node/sockets.ts (NodeSockets), the node's `connections`.
    const x = (n as unknown as { connections: { conns: Map<unknown, { session: Session }>; connBySession: Map<unknown, unknown>; pubsubRestored: boolean } }).connections;
    for (const c of x.conns.values()) n.pubsub.drop(c.session);
    x.conns.clear();
    x.connBySession.clear();
    x.pubsubRestored = false;
  });
}

export interface RawWs {
  /** Send one frame (binary), without waiting. Throws once the socket is closed. */
  frame(b: string | Uint8Array): void;
  /** Send one TEXT frame. */
  text(s: string): void;
  /** The headers of the 101 answer. */
  upgrade: Headers;
  /** The next message, one char per byte (latin1: lossless), waiting for it; undefined once the socket closed with nothing queued. */
  read(): Promise<string | undefined>;
  /** Read until the texts read so far add up to `n` bytes. */
  readBytes(n: number): Promise<string>;
  /** The close code, once closed. */
  closed: Promise<number>;
  isClosed(): boolean;
  close(): void;
}

/**
 * Through the router with the token, or `direct` to the master's stub as the router
 * forwards it (SELF.fetch gets slower with every call in this pool: a long fuzz run
 * goes direct).
 */
export async function openWs(db: string, token = "test-token", direct = false, headers: Record<string, string> = {}): Promise<RawWs> {
  const res = direct
    ? await stub(db, "master").fetch(new Request(`${NODE_ORIGIN}/ws`, { headers: { ...headers, Upgrade: "websocket", [H_DB]: db, [H_NODE]: "master" } }))
    : await SELF.fetch(`https://example.com/db/${db}/ws`, { headers: { ...headers, Upgrade: "websocket", authorization: `Bearer ${token}` } });
  const sock = res.webSocket;
  if (!sock) throw new Error(`no WebSocket: ${res.status} ${await res.text()}`);
  (sock as unknown as { binaryType: string }).binaryType = "arraybuffer";
  sock.accept();
  const queue: string[] = [];
  let wake: (() => void) | null = null;
  let done = false;
  sock.addEventListener("message", (e) => {
    queue.push(typeof e.data === "string" ? e.data : latin1(new Uint8Array(e.data as ArrayBuffer)));
    wake?.();
  });
  const closed = new Promise<number>((r) =>
    sock.addEventListener("close", (e) => {
      done = true;
      wake?.();
      r(e.code);
    }),
  );
  const read = async (): Promise<string | undefined> => {
    while (queue.length === 0 && !done) await new Promise<void>((r) => (wake = r));
    return queue.shift();
  };
  return {
    frame(b) {
      sock.send(typeof b === "string" ? new TextEncoder().encode(b) : b);
    },
    text(t) {
      sock.send(t);
    },
    upgrade: res.headers,
    read,
    async readBytes(n) {
      let s = "";
      while (s.length < n) {
        const m = await read();
        if (m === undefined) break;
        s += m;
      }
      return s;
    },
    closed,
    isClosed: () => done,
    close() {
      if (!done) sock.close(1000, "done");
    },
  };
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}
