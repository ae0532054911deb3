/**
 * The Upstash-compatible REST API, executed inside a node (the router has already
 * authenticated the caller and picked the node; see node-protocol.ts).
 *
 * Node paths (the router strips the public base `/db/{db}[/nodes/{node}]`):
 *   /rest                 body form: POST `["SET","k","v"]`
 *   /rest/pipeline        POST `[["SET","k","v"],["GET","k"]]`, not atomic
 *   /rest/multi-exec      the same, atomic (MULTI … EXEC in one event)
 * A blocking command (BLPOP…) waits for data at most its own timeout and REST_BLOCK_MS_MAX
 * for the whole request (0 = forever becomes that cap); in /multi-exec it does not block.
 *   /rest/CMD/arg/…       path form (GET or POST; a POST body is the next argument,
 *                         query parameters follow as `name value`)
 *
 * Answers (JSON conventions in rest-json.ts):
 *   200 {"result": …}                one command
 *   400 {"error": "ERR …"}           one command that failed, or a request refused
 *                                    before anything ran (bad JSON, bad argument type,
 *                                    empty command, too many commands, EXECABORT)
 *   200 [{"result"}|{"error"}, …]    /pipeline and /multi-exec, one item per command
 *   with `Upstash-Response-Format: resp2` (not /multi-exec, not with base64): the replies'
 *                                    RESP2 bytes, application/octet-stream, same statuses
 *   413 {"error":"ERR max request size exceeded"}   body over REQUEST_BYTES_MAX: 413
 *                                    because it is an HTTP-level refusal (the SDK reads
 *                                    `error` from any non-2xx answer alike)
 * Every answer produced after the commands ran carries `upstash-sync-token`: the replication
 * offset this node's data has reached (never the caller's token echoed back). A request
 * presenting a larger token first waits up to SYNC_WAIT_MS for this node to reach it; if it
 * does not, the request is still answered, and the answer's smaller token says so.
 */
import { CLIENT_SLICE_BYTES, PIPELINE_COMMANDS_MAX, REQUEST_BYTES_MAX, REST_BLOCK_MS_MAX, REST_SLICE_COMMANDS } from "../limits.ts";
import type { Session } from "../keyspace/command.ts";
import { runKindOf } from "../keyspace/engine.ts";
import { RedisError, type Reply } from "../protocol/reply.ts";
import { ByteWriter, writeReply } from "../protocol/resp.ts";
import { H_CLIENT_ADDR, H_READONLY, type RestTarget } from "./node-protocol.ts";
import {
  argvOf,
  type JsonCommand,
  RestRequestError,
  itemJson,
  parsePipelineBody,
  parseSingleBody,
  pathCommand,
  pipelineJson,
} from "./rest-json.ts";
import { yieldToOtherEvents } from "../util/yield.ts";

/** Request header choosing the answer's format: `json` (default) or `resp2`. */
export const RESPONSE_FORMAT_HEADER = "upstash-response-format";
/** Header of the read-your-writes token (the SDK's spelling). */
export const SYNC_TOKEN_HEADER = "upstash-sync-token";
/** How long a request presenting a token waits for this node to reach it. */
export const SYNC_WAIT_MS = 2000;

const MULTI = [new TextEncoder().encode("MULTI")];
const EXEC = [new TextEncoder().encode("EXEC")];
/** Transaction control is ours in /multi-exec (Upstash refuses it there as well). */
const TX_CONTROL = new Set(["multi", "exec", "discard", "watch", "unwatch"]);
/**
 * Commands that need a connection (subscribing, MONITOR, a replica's handshake): a REST request
 * answers each with an error (SSE serves `/subscribe` and `/monitor`). In /multi-exec they are
 * refused before anything runs, so the answer keeps one item per command.
 */
export const NOT_OVER_REST: ReadonlySet<string> = new Set(["subscribe", "psubscribe", "unsubscribe", "punsubscribe", "ssubscribe", "sunsubscribe", "monitor", "replconf", "psync", "sync"]);

type Mode = "single" | "pipeline" | "multi-exec";

type ParsedRequest = { mode: "single"; argv: Uint8Array[] } | { mode: "pipeline" | "multi-exec"; commands: JsonCommand[] };

/** Handle one `/rest…` request inside a node. */
export async function handleRest(request: Request, target: RestTarget): Promise<Response> {
  const url = new URL(request.url);
  const sub = url.pathname.startsWith("/rest") ? url.pathname.slice("/rest".length) : url.pathname;
  const b64 = (request.headers.get("upstash-encoding") ?? "").toLowerCase() === "base64";
  // Upstash-Response-Format: json (default) or resp2 (the replies' RESP2 bytes, except /multi-exec).
  const format = (request.headers.get(RESPONSE_FORMAT_HEADER) ?? "json").toLowerCase();
  if (format !== "json" && format !== "resp2") return errorResponse(400, `ERR ${RESPONSE_FORMAT_HEADER} must be json or resp2, not '${format.slice(0, 32)}'`);
  if (format === "resp2" && b64) return errorResponse(400, `ERR ${RESPONSE_FORMAT_HEADER}: resp2 cannot be combined with Upstash-Encoding: base64`);
  const resp2 = format === "resp2";
  const incomingToken = parseSyncToken(request.headers.get(SYNC_TOKEN_HEADER));

  let parsed: ParsedRequest;
  try {
    parsed = await parseRequest(request, sub, url.search);
  } catch (e) {
    if (e instanceof RestRequestError) return errorResponse(e.status, e.message);
    throw e;
  }

  if (incomingToken > target.syncToken()) {
    // A replica behind the caller's last write: wait (bounded). A master is always there.
    await target.waitForOffset(incomingToken, SYNC_WAIT_MS);
  }

  const session = target.newSession(request.headers.get(H_READONLY) === "1", request.headers.get(H_CLIENT_ADDR) ?? "127.0.0.1:0");
  // Blocking commands (BLPOP…) wait at most REST_BLOCK_MS_MAX per request, then answer as a
  // timeout; in /multi-exec they never block (Redis: not inside MULTI).
  session.blockCapAtMs = Date.now() + REST_BLOCK_MS_MAX;
  try {
    switch (parsed.mode) {
      case "single": {
        const r = await settle(target.execute(session, parsed.argv));
        const status = r instanceof RedisError ? 400 : 200;
        if (resp2) return resp2Response(status, [r], token(target));
        return jsonResponse(status, itemJson(r, b64), token(target));
      }
      case "pipeline": {
        const replies: Reply[] = [];
        // Each command becomes bytes as it is reached, and is dropped once it ran.
        const json = parsed.commands;
        const cmds: (Uint8Array[] | undefined)[] = new Array(json.length);
        const at = (i: number): Uint8Array[] => (cmds[i] ??= argvOf(json[i]!));
        let sliceCommands = 0;
        let sliceBytes = 0;
        for (let i = 0; i < json.length; ) {
          // Synchronous commands run back to back in slices (each its own event); async ones yield too.
          if (sliceCommands >= REST_SLICE_COMMANDS || sliceBytes >= CLIENT_SLICE_BYTES) {
            sliceCommands = 0;
            sliceBytes = 0;
            await yieldToOtherEvents();
          }
          // Plain SETs or GETs in a row go together, within the slice.
          const kind = runKindOf(at(i));
          let end = i + 1;
          for (const a of at(i)) sliceBytes += a.length;
          if (kind !== null) {
            while (end < json.length && end - i < REST_SLICE_COMMANDS - sliceCommands && sliceBytes < CLIENT_SLICE_BYTES && runKindOf(at(end)) === kind) {
              for (const a of at(end)) sliceBytes += a.length;
              end++;
            }
          }
          sliceCommands += end - i;
          const run = end - i > 1 ? target.executeRun(session, kind!, cmds.slice(i, end) as Uint8Array[][]) : null;
          if (run !== null) replies.push(...run);
          else {
            for (let j = i; j < end; j++) {
              const r = target.execute(session, at(j));
              replies.push(isPromise(r) ? await r : r);
            }
          }
          cmds.fill(undefined, i, end);
          i = end;
        }
        if (resp2) return resp2Response(200, replies, token(target));
        return jsonResponse(200, pipelineJson(replies, b64), token(target));
      }
      case "multi-exec":
        return await multiExec(target, session, parsed.commands, b64);
    }
  } finally {
    target.closeSession(session);
  }
}

/**
 * MULTI, the commands, EXEC on one session with no await in between: the engine runs the
 * queued commands in one execution unit, so the transaction is atomic and replicated
 * wrapped in MULTI/EXEC. A command refused at queue time aborts it (EXECABORT → 400).
 */
async function multiExec(
  target: RestTarget,
  session: Session,
  json: JsonCommand[],
  b64: boolean,
): Promise<Response> {
  const commands = json.map(argvOf);
  const began = target.execute(session, MULTI);
  const queued = commands.map((argv) => target.execute(session, argv));
  const execReply = target.execute(session, EXEC);
  // Queueing is synchronous in the engine; settle defensively, after EXEC already ran.
  const beganR = await settle(began);
  const queuedR = await Promise.all(queued.map(settle));
  const r = await settle(execReply);
  if (beganR instanceof RedisError) return errorResponse(400, beganR.msg);
  if (r instanceof RedisError) {
    const i = queuedR.findIndex((q) => q instanceof RedisError);
    const why = i >= 0 ? ` Command ${i + 1} [ ${commandName(commands[i]!)} ]: ${(queuedR[i] as RedisError).msg}` : "";
    return errorResponse(400, `${r.msg}${why}`, token(target));
  }
  if (!Array.isArray(r)) return errorResponse(500, "ERR transaction did not return an array");
  return jsonResponse(200, pipelineJson(r, b64), token(target));
}

async function parseRequest(request: Request, sub: string, search: string): Promise<ParsedRequest> {
  const method = request.method.toUpperCase();
  const hasBody = method === "POST" || method === "PUT";
  if (sub === "/pipeline" || sub === "/multi-exec") {
    if (!hasBody) throw new RestRequestError(400, `ERR ${sub} needs a POST with a JSON array of commands`);
    const commands = parsePipelineBody(await readText(request), PIPELINE_COMMANDS_MAX);
    const mode: Mode = sub === "/pipeline" ? "pipeline" : "multi-exec";
    if (mode === "multi-exec") {
      commands.forEach((c, i) => {
        const name = String(c[0]).toLowerCase();
        if (TX_CONTROL.has(name)) {
          throw new RestRequestError(400, `ERR command ${i + 1}: ${name.toUpperCase()} is not allowed in /multi-exec`);
        }
        if (NOT_OVER_REST.has(name)) throw new RestRequestError(400, `ERR command ${i + 1}: '${name}' is not available over REST`);
      });
    }
    return { mode, commands };
  }
  if (sub === "" || sub === "/") {
    if (!hasBody) {
      throw new RestRequestError(400, `ERR no command: POST a JSON array such as ["SET","key","value"], or use the path form /set/key/value`);
    }
    return { mode: "single", argv: parseSingleBody(await readText(request)) };
  }
  const body = hasBody ? await readBytes(request) : null;
  return { mode: "single", argv: pathCommand(sub, search, body) };
}

/** The request body as bytes, refused past REQUEST_BYTES_MAX without buffering it all. */
export async function readBytes(request: Request, max = REQUEST_BYTES_MAX): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (declared > max) throw tooLarge();
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    parts.push(value);
  }
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

async function readText(request: Request): Promise<string> {
  return new TextDecoder().decode(await readBytes(request));
}

function tooLarge(): RestRequestError {
  return new RestRequestError(413, "ERR max request size exceeded");
}

/** An incoming sync token: a non-negative integer; anything else (absent, "", stale junk) is 0. */
export function parseSyncToken(v: string | null): number {
  if (v === null || !/^\d{1,16}$/.test(v.trim())) return 0;
  return Number(v.trim());
}

/** The sync token of an answer: the offset this node's data has reached. */
function token(target: RestTarget): string {
  return String(target.syncToken());
}

function commandName(argv: Uint8Array[]): string {
  return new TextDecoder().decode(argv[0]!);
}

function isPromise(r: Reply | Promise<Reply>): r is Promise<Reply> {
  return typeof (r as { then?: unknown } | null)?.then === "function";
}

async function settle(r: Reply | Promise<Reply>): Promise<Reply> {
  return isPromise(r) ? await r : r;
}

/** Replies as a RESP2 client reads them, one after another (`Upstash-Response-Format: resp2`). */
function resp2Response(status: number, replies: Reply[], syncToken: string): Response {
  const w = new ByteWriter();
  for (const r of replies) writeReply(w, r, 2);
  return new Response(w.take(), { status, headers: { "content-type": "application/octet-stream", [SYNC_TOKEN_HEADER]: syncToken } });
}

function jsonResponse(status: number, body: string, syncToken?: string): Response {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (syncToken !== undefined) headers[SYNC_TOKEN_HEADER] = syncToken;
  return new Response(body, { status, headers });
}

/** `{"error": msg}` with a status; used by the router too (401, 405, 400 names). */
export function errorResponse(status: number, msg: string, syncToken?: string): Response {
  return jsonResponse(status, JSON.stringify({ error: msg }), syncToken);
}
