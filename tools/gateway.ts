/**
 * RESP gateway: a local TCP server that lets real Redis clients (redis-cli, ioredis,
 * redis-benchmark, a redis-server replica) talk to edge-replica. Each TCP connection
 * opens one WebSocket to `<url>/db/<db>/ws` (or `/db/<db>/nodes/<node>/ws`) with the
 * bearer token, and bytes are piped both ways unchanged: RESP over binary frames, whose
 * boundaries carry no meaning. When one side closes, the other is closed.
 *
 * The gateway also tells the node how much of its output the TCP client has consumed, so that
 * the node can apply `client-output-buffer-limit` to it (src/pubsub/socket-output.ts): it asks
 * with `x-edge-replica-acks: 1`, and when the node's 101 echoes it, sends `ACK <bytes flushed>`
 * text frames every 64 KiB flushed to the client, and when the client has caught up with 16 KiB
 * or more unacknowledged.
 *
 *   npx tsx tools/gateway.ts --port 6380 [--url http://127.0.0.1:8787] [--db default]
 *                            [--node NAME | --read-nearest [--region R]] [--token T] [--host 127.0.0.1]
 *
 * `--read-nearest` opens each connection on the database's nearest healthy replica
 * (`…/ws?read=nearest`: reads only, writes answer READONLY there); `--region` stands for the
 * client's location (sent as `x-debug-client-region`, honoured only where DEBUG is enabled).
 *
 * The token defaults to $EDGE_REPLICA_TOKEN, then $REST_TOKEN, then REST_TOKEN in ./.dev.vars.
 * Also usable as a library: `startGateway(options)` (tests do).
 */
import { existsSync, readFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { encodeCommand, RespParser } from "../src/protocol/resp.ts";
import { ACK_HEADER, ACK_IDLE_BYTES_MIN, ACK_INTERVAL_BYTES, formatAck } from "../src/pubsub/socket-output.ts";

export interface GatewayOptions {
  /** TCP port to listen on; 0 picks a free one. */
  port: number;
  host?: string;
  /** Base URL of the service, e.g. http://127.0.0.1:8787. */
  url: string;
  db?: string;
  /** Pin every connection to one node (master or replica). */
  node?: string;
  /** Open every connection on the nearest healthy replica (`/ws?read=nearest`). */
  readNearest?: boolean;
  /** Simulated client region for read-nearest (DEBUG deployments only). */
  region?: string;
  /**
   * The bearer token every connection uses. Without one, each client must AUTH first
   * (`redis-cli -a TOKEN`, ioredis `password`): its password is the token of its connection.
   */
  token?: string;
  /** Log connection events to stderr. */
  verbose?: boolean;
}

export interface Gateway {
  port: number;
  host: string;
  /** The WebSocket URL each connection opens. */
  wsUrl: string;
  close(): Promise<void>;
}

/** Pause reading TCP when this many bytes wait to go out on the WebSocket. */
const WS_BUFFERED_BYTES_HIGH = 8 * 1024 * 1024;
/** Largest WebSocket message we send (the platform refuses messages over 32 MiB). */
const WS_MESSAGE_BYTES_MAX = 4 * 1024 * 1024;

export function wsUrlFor(opts: Pick<GatewayOptions, "url" | "db" | "node" | "readNearest">): string {
  const base = opts.url.replace(/\/+$/, "").replace(/^http(s?):/i, "ws$1:");
  const db = encodeURIComponent(opts.db ?? "default");
  if (opts.node) return `${base}/db/${db}/nodes/${encodeURIComponent(opts.node)}/ws`;
  return opts.readNearest ? `${base}/db/${db}/ws?read=nearest` : `${base}/db/${db}/ws`;
}

export function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const host = opts.host ?? "127.0.0.1";
  const wsUrl = wsUrlFor(opts);
  const sockets = new Set<Socket>();
  const server: Server = createServer({ noDelay: true }, (sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    firstCommand(sock, wsUrl, opts);
  });
  return new Promise((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(opts.port, host, () => {
      server.off("error", reject);
      const port = (server.address() as AddressInfo).port;
      resolvePromise({
        port,
        host,
        wsUrl,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** The replication endpoint of the gateway's database (or pinned node). */
export function replicationUrlFor(opts: Pick<GatewayOptions, "url" | "db" | "node">): string {
  const base = opts.url.replace(/\/+$/, "").replace(/^http(s?):/i, "ws$1:");
  const db = encodeURIComponent(opts.db ?? "default");
  return opts.node ? `${base}/db/${db}/nodes/${encodeURIComponent(opts.node)}/replication` : `${base}/db/${db}/replication`;
}

/** A peer whose AUTH failed (no secret, no token) waits this long, doubling per failure, for its WRONGPASS… */
const AUTH_FAILURE_DELAY_MS_MIN = 100;
/** …up to this (a misconfigured real replica retries every second: no storm of upgrades). */
const AUTH_FAILURE_DELAY_MS_MAX = 5000;
/** Recent failed AUTHs per peer address; a successful one clears it. */
const authFailures = new Map<string, number>();

function authFailureDelayMs(peerIp: string): number {
  const n = (authFailures.get(peerIp) ?? 0) + 1;
  authFailures.set(peerIp, n);
  return Math.min(AUTH_FAILURE_DELAY_MS_MAX, AUTH_FAILURE_DELAY_MS_MIN * 2 ** (n - 1));
}

/**
 * Where a connection goes:
 * - with a gateway token: piped as is from its first byte; an `AUTH` reaches the node, which
 *   checks it as a token or, with the replication secret, turns the connection into a
 *   replication link (a real `redis-server --replicaof … --masterauth <secret>`, whose
 *   handshake is PING then AUTH).
 * - without one: NOAUTH until `AUTH [user] password` (a replica accepts NOAUTH as the answer to
 *   its PING); the password is tried as the replication secret (the replication endpoint: the
 *   gateway answers +OK and pipes the link there), then as a token; a password that is neither
 *   gets WRONGPASS after a delay that doubles with each failure from that address.
 */
function firstCommand(sock: Socket, wsUrl: string, opts: GatewayOptions, initial?: Buffer): void {
  if (opts.token) {
    bridge(sock, wsUrl, opts);
    return;
  }
  const peerIp = sock.remoteAddress ?? "?";
  const ok = () => authFailures.delete(peerIp);
  const asToken = (argv: Uint8Array[], password: string, rest: Buffer) =>
    bridge(sock, wsUrl, { ...opts, token: password }, {
      reply: argv,
      rest,
      onOpen: ok,
      failureDelayMs: () => authFailureDelayMs(peerIp),
      // WRONGPASS keeps the connection, as Redis does: the client may AUTH again.
      onWrongPass: (unread) => firstCommand(sock, wsUrl, opts, unread),
    });
  const tryReplication = (argv: Uint8Array[], password: string, rest: Buffer) =>
    bridge(sock, replicationUrlFor(opts), { ...opts, token: password, region: undefined }, {
      reply: argv,
      rest,
      onOpen: ok,
      // Not the secret: the same AUTH as a token, with what the client sent meanwhile.
      onRefused: (later) => asToken(argv, password, Buffer.concat([rest, later])),
    });
  const parser = new RespParser("request");
  /** What arrived so far, and how much of it the parser returned as commands. */
  let received = Buffer.alloc(0);
  let used = 0;
  const onData = (chunk: Buffer) => {
    let argv: Uint8Array[] | undefined;
    try {
      received = Buffer.concat([received.subarray(used), chunk]);
      used = 0;
      parser.push(new Uint8Array(chunk));
      while ((argv = parser.next() as Uint8Array[] | undefined) !== undefined) {
        used += parser.lastBytes;
        const name = Buffer.from(argv[0] ?? []).toString().toLowerCase();
        const isAuth = name === "auth";
        const password = passwordOf(argv);
        if (password === null) {
          // Redis's answers to an unauthenticated client (server.c processCommand, authCommand, helloCommand).
          if (isAuth && argv.length > 3) sock.write("-ERR syntax error\r\n");
          else if (isAuth) sock.write("-ERR wrong number of arguments for 'auth' command\r\n");
          else if (name === "hello") sock.write(`-NOAUTH ${HELLO_NOAUTH}\r\n`);
          else sock.write("-NOAUTH Authentication required.\r\n");
          continue;
        }
        sock.off("data", onData);
        if (isAuth) tryReplication(argv, password, received.subarray(used));
        else asToken(argv, password, received.subarray(used));
        return;
      }
    } catch (e) {
      sock.end(`-ERR ${e instanceof Error ? e.message : String(e)}\r\n`);
    }
  };
  sock.on("data", onData);
  if (initial && initial.length > 0) onData(initial);
  sock.resume(); // paused by a refused AUTH's bridge while it waited
}

const HELLO_NOAUTH =
  "HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time";

/** The password of an AUTH or HELLO … AUTH command, or null. */
function passwordOf(argv: Uint8Array[]): string | null {
  const words = argv.map((a) => Buffer.from(a).toString("utf8"));
  const name = (words[0] ?? "").toLowerCase();
  if (name === "auth" && (words.length === 2 || words.length === 3)) return words[words.length - 1]!;
  if (name === "hello") {
    const i = words.findIndex((w, j) => j > 0 && w.toLowerCase() === "auth");
    if (i > 0 && i + 2 < words.length) return words[i + 2]!;
  }
  return null;
}

/** The AUTH (or HELLO … AUTH) command that opened a connection, with what followed it. */
interface OpeningAuth {
  reply: Uint8Array[];
  rest: Buffer;
  /**
   * The upgrade was refused (401/403): try something else instead of answering WRONGPASS;
   * `later` holds the client's bytes that arrived after `rest` meanwhile.
   */
  onRefused?: (later: Buffer) => void;
  onOpen?: () => void;
  /** How long to wait before answering WRONGPASS (repeated failures from one address). */
  failureDelayMs?: () => number;
  /** After WRONGPASS: the client keeps its connection; `unread` is what it sent after the AUTH. */
  onWrongPass?: (unread: Buffer) => void;
}

/**
 * Pipe one TCP connection through one WebSocket. `auth` is the AUTH command that opened the
 * connection: answered here once the upgrade succeeds (WRONGPASS when the token is refused,
 * unless `onRefused` takes over), with the bytes that followed it.
 */
function bridge(sock: Socket, wsUrl: string, opts: GatewayOptions, auth?: OpeningAuth): void {
  const peer = `${sock.remoteAddress}:${sock.remotePort}`;
  const log = (msg: string) => {
    if (opts.verbose) process.stderr.write(`[gateway] ${peer} ${msg}\n`);
  };
  const ws = new WebSocket(wsUrl, {
    headers: {
      authorization: `Bearer ${opts.token}`,
      [ACK_HEADER]: "1",
      ...(opts.region ? { "x-debug-client-region": opts.region } : {}),
    },
    perMessageDeflate: false,
    maxPayload: 0, // the node bounds what it sends; do not cut a big reply
  });
  ws.binaryType = "nodebuffer";
  /** TCP bytes that arrived before the WebSocket opened. */
  let pending: Buffer[] | null = auth && auth.rest.length ? [auth.rest] : [];
  /** Parts of `pending` this bridge was given (not the client's later bytes). */
  const givenParts = pending.length;
  let closed = false;
  /** The node understood ACK_HEADER: it reads our text frames as acknowledgements. */
  let acks = false;
  /** Bytes of the node's messages handed to the client's socket, flushed to it, and acknowledged. */
  let written = 0;
  let flushed = 0;
  let acked = 0;
  const ack = () => {
    if (!acks || flushed <= acked || ws.readyState !== WebSocket.OPEN) return;
    acked = flushed;
    ws.send(formatAck(acked), { binary: false });
  };
  /** Called when `n` more bytes reached the client's kernel buffer. */
  const onFlushed = (n: number) => {
    flushed += n;
    if (flushed - acked >= ACK_INTERVAL_BYTES) ack();
    else if (flushed === written && flushed - acked >= ACK_IDLE_BYTES_MIN) ack(); // caught up
  };

  const closeBoth = (why: string) => {
    if (closed) return;
    closed = true;
    log(`closed (${why})`);
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
      try {
        ws.close(1000);
      } catch {
        ws.terminate();
      }
    }
    sock.end();
  };

  const send = (data: Buffer) => {
    for (let o = 0; o < data.length; o += WS_MESSAGE_BYTES_MAX) {
      ws.send(data.subarray(o, o + WS_MESSAGE_BYTES_MAX), { binary: true }, (err) => {
        if (err) return closeBoth(`websocket send failed: ${err.message}`);
        if (sock.isPaused() && ws.bufferedAmount < WS_BUFFERED_BYTES_HIGH / 2) sock.resume();
      });
    }
    if (ws.bufferedAmount > WS_BUFFERED_BYTES_HIGH) sock.pause();
  };

  const onData = (chunk: Buffer) => {
    if (pending) pending.push(chunk);
    else if (ws.readyState === WebSocket.OPEN) send(chunk);
  };
  const onEnd = () => closeBoth("client closed");
  const onError = (e: Error) => closeBoth(`client error: ${e.message}`);
  sock.on("data", onData);
  sock.on("end", onEnd);
  sock.on("error", onError);
  sock.on("close", onEnd);
  /** Hand the client over to another bridge: what arrived meanwhile goes with it. */
  const release = (): Buffer => {
    sock.off("data", onData);
    sock.off("end", onEnd);
    sock.off("error", onError);
    sock.off("close", onEnd);
    return Buffer.concat((pending ?? []).slice(givenParts));
  };

  ws.on("upgrade", (res) => {
    acks = res.headers[ACK_HEADER] === "1";
  });
  ws.on("open", () => {
    log(`connected to ${wsUrl}`);
    auth?.onOpen?.();
    if (auth) {
      // The AUTH that opened this connection: answered as the node would (HELLO by the node).
      if (Buffer.from(auth.reply[0]!).toString().toLowerCase() === "auth") sock.write("+OK\r\n");
      else pending!.unshift(Buffer.from(encodeCommand(auth.reply)));
    }
    const buffered = pending!;
    pending = null;
    if (buffered.length > 0) send(Buffer.concat(buffered));
  });
  ws.on("message", (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    void isBinary; // text frames carry RESP too; pass their bytes through alike
    written += buf.length;
    const n = buf.length;
    if (!sock.write(buf, (err) => err || onFlushed(n))) {
      ws.pause();
      sock.once("drain", () => ws.resume());
    }
  });
  ws.on("unexpected-response", (_req, res) => {
    // The upgrade was refused (bad token 401, bad name 400…): tell the Redis client why.
    let body = "";
    res.setEncoding("utf8");
    res.on("data", (d: string) => (body += d));
    res.on("end", () => {
      let msg = `HTTP ${res.statusCode}`;
      try {
        const parsed = JSON.parse(body) as { error?: string };
        if (parsed.error) msg = parsed.error;
      } catch {
        if (body) msg += ` ${body.slice(0, 200)}`;
      }
      log(`upgrade refused: ${msg}`);
      if (auth?.onRefused && (res.statusCode === 401 || res.statusCode === 403)) {
        closed = true;
        ws.terminate();
        auth.onRefused(release());
        return;
      }
      if (auth && res.statusCode === 401) {
        closed = true;
        ws.terminate();
        // Hold what the client sends meanwhile: after WRONGPASS it is read as a fresh start.
        sock.pause();
        const unread = Buffer.concat([auth.rest, release()]);
        const wrongpass = () => {
          if (sock.destroyed) return;
          sock.write("-WRONGPASS invalid username-password pair or user is disabled.\r\n");
          if (auth.onWrongPass) auth.onWrongPass(unread);
          else sock.end();
        };
        const delayMs = auth.failureDelayMs?.() ?? 0;
        if (delayMs > 0) setTimeout(wrongpass, delayMs);
        else wrongpass();
        return;
      }
      sock.end(`-ERR gateway: ${msg.replace(/[\r\n]+/g, " ")}\r\n`);
      closed = true;
      ws.terminate();
    });
  });
  ws.on("close", (code, reason) => closeBoth(`server closed ${code} ${reason.toString()}`));
  ws.on("error", (e) => {
    if (!closed && ws.readyState !== WebSocket.OPEN) {
      sock.end(`-ERR gateway: cannot reach ${wsUrl}: ${e.message}\r\n`);
      closed = true;
      return;
    }
    closeBoth(`websocket error: ${e.message}`);
  });
}

// ─── command line ────────────────────────────────────────────────────────────

function parseArgs(argv: string[]): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) throw new Error(`unexpected argument: ${a}`);
    const eq = a.indexOf("=");
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) out[a.slice(2)] = argv[++i]!;
    else out[a.slice(2)] = true;
  }
  return out;
}

function tokenFromDevVars(): string | undefined {
  const p = resolve(process.cwd(), ".dev.vars");
  if (!existsSync(p)) return undefined;
  const m = /^\s*REST_TOKEN\s*=\s*"?([^"\r\n]*)"?\s*$/m.exec(readFileSync(p, "utf8"));
  return m?.[1];
}

/**
 * Check the service before listening: the URL parses, the service answers, and the token (when
 * given) is accepted — so a typo shows at start, not as an error on every command.
 */
export async function probeService(opts: Pick<GatewayOptions, "url" | "db" | "token">): Promise<void> {
  let base: URL;
  try {
    base = new URL(opts.url);
  } catch {
    throw new Error(`--url '${opts.url}' is not a URL (e.g. http://127.0.0.1:8787)`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") throw new Error(`--url must be http:// or https://, got '${opts.url}'`);
  const target = `${opts.url.replace(/\/+$/, "")}/db/${encodeURIComponent(opts.db ?? "default")}`;
  let res: Response;
  try {
    res = await fetch(target, {
      method: "POST",
      headers: opts.token ? { authorization: `Bearer ${opts.token}`, "content-type": "application/json" } : { "content-type": "application/json" },
      body: '["PING"]',
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
  } catch (e) {
    throw new Error(`cannot reach ${opts.url}: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)} (is the service running? npm start)`);
  }
  const text = await res.text();
  if (res.status === 401 && opts.token) throw new Error(`${opts.url} refused the token (401): check --token`);
  if (res.status === 401) return; // no token: clients AUTH with theirs
  if (res.status !== 200) throw new Error(`${target} answered ${res.status}: ${text.slice(0, 200)}`);
}

/** How long the start-up check waits for the service. */
const PROBE_TIMEOUT_MS = 10_000;

const USAGE = `usage: edge-replica gateway [--port 6380] [--host 127.0.0.1] [--url http://127.0.0.1:8787]
                          [--db default] [--node NAME | --read-nearest [--region R]] [--token TOKEN] [--verbose]
  --token defaults to $EDGE_REPLICA_TOKEN, then $REST_TOKEN, then REST_TOKEN in ./.dev.vars;
  without one, clients AUTH with their own token (redis-cli -a TOKEN).`;

/** The flags main() reads: any other is a typo (\`--tokn\` would silently fall back to another token). */
const FLAGS = new Set(["port", "host", "url", "db", "node", "read-nearest", "region", "token", "verbose", "help", "h"]);
/** Flags that take a value: given bare (`--node` last, or before another flag) they are a mistake, not the default. */
const VALUE_FLAGS = ["port", "host", "url", "db", "node", "region", "token"];

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const unknown = Object.keys(args).filter((k) => !FLAGS.has(k));
  if (unknown.length) throw new Error(`unknown option${unknown.length > 1 ? "s" : ""}: ${unknown.map((k) => `--${k}`).join(" ")}`);
  for (const k of VALUE_FLAGS) if (args[k] === true) throw new Error(`--${k} needs a value`);
  if (args.help || args.h) {
    console.log(USAGE);
    return;
  }
  const str = (k: string) => (typeof args[k] === "string" ? (args[k] as string) : undefined);
  const port = Number(str("port") ?? "6380");
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, got ${str("port")}`);
  const token = str("token") ?? process.env.EDGE_REPLICA_TOKEN ?? process.env.REST_TOKEN ?? tokenFromDevVars();
  const url = str("url") ?? "http://127.0.0.1:8787";
  const db = str("db") ?? "default";
  await probeService({ url, db, token });
  const gw = await startGateway({
    port,
    host: str("host") ?? "127.0.0.1",
    url,
    db,
    node: str("node"),
    readNearest: args["read-nearest"] === true,
    region: str("region"),
    token,
    verbose: args.verbose === true,
  });
  console.log(`edge-replica gateway ready: redis://${gw.host}:${gw.port} → ${gw.wsUrl}`);
  if (token) console.log(`try: redis-cli -p ${gw.port} ping`);
  else console.log(`no token configured: clients authenticate with theirs, e.g. redis-cli -p ${gw.port} -a TOKEN ping`);
  const stop = () => void gw.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

const invokedDirectly = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main().catch((e: unknown) => {
    console.error(`edge-replica gateway: ${e instanceof Error ? e.message : String(e)}`);
    console.error(USAGE);
    process.exit(1);
  });
}
