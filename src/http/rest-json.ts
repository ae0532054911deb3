/**
 * The Upstash REST wire format, as pure functions (no Durable Object, no Request): JSON
 * request bodies → argv, and replies → JSON text. rest.ts wires them to a node.
 *
 * Conventions (SPEC §5; /work/shared/research/upstash.md §2.3):
 * - Arguments: JSON strings (UTF-8 encoded), numbers (as JS prints them: `String(n)`),
 *   booleans ("true"/"false"). An integer literal beyond 2^53 keeps its exact digits
 *   where the runtime offers JSON.parse source text access (workerd does).
 * - Replies: bulk → string; integer → JSON number (a bigint is written with its exact
 *   digits, e.g. `{"result":9223372036854775807}`: the JSON is built by hand, so a client
 *   with a big-number-aware parser gets it exactly; `JSON.parse` rounds it, as it would
 *   Upstash's answer); double → string in "%.17g" (Redis 7.0's RESP2 bulk); nil and the
 *   nil array → null; map → flat array; set → array; status → its text.
 * - `Upstash-Encoding: base64`: every string at any depth is base64, except a top-level
 *   status reply `OK` (the SDK keeps a top-level "OK" and base64-decodes every other
 *   top-level string, so `PONG` or TYPE's `string` must be encoded too). Numbers, null
 *   and errors are never encoded.
 * - An error nested inside an array (an EXEC reply run through /pipeline) is written as
 *   an object `{"error":"..."}`, which the SDK passes through untouched.
 * - Without base64, bytes that are not valid UTF-8 are replaced with U+FFFD (lossy, as
 *   Upstash documents); use base64 for binary values.
 */
import { BigNumber, NilArray, RedisError, RespDouble, RespMap, RespSet, Simple, Verbatim, type Reply } from "../protocol/reply.ts";
import { QUERY_BUFFER_BYTES_MAX, REST_ARGUMENTS_MAX, RESP_ARG_OVERHEAD_BYTES } from "../limits.ts";
import { shortAscii, utf8 } from "../util/bytes.ts";
import { formatG17 } from "../util/numbers.ts";

const encoder = new TextEncoder();
const lossyDecoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** A request the node refuses before running anything: HTTP status and error text. */
export class RestRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// ─── requests ────────────────────────────────────────────────────────────────

/** Any run of 16+ digits might be an integer literal beyond 2^53 (2^53 has 16 digits). */
const LONG_DIGITS_RE = /\d{16}/;
const INTEGER_LITERAL_RE = /^-?\d+$/;

/** The third argument of a JSON.parse reviver where source text access is supported. */
interface ReviverContext {
  source?: string;
}

/**
 * JSON.parse, keeping the exact digits of integer literals that a double cannot hold
 * (returned as strings: they become argument bytes anyway). Throws SyntaxError.
 */
export function parseJsonBody(text: string): unknown {
  if (!LONG_DIGITS_RE.test(text)) return JSON.parse(text);
  return JSON.parse(text, function (this: unknown, _key: string, value: unknown, ctx?: ReviverContext) {
    if (
      typeof value === "number" &&
      !Number.isSafeInteger(value) &&
      ctx?.source !== undefined &&
      INTEGER_LITERAL_RE.test(ctx.source)
    ) {
      return ctx.source;
    }
    return value;
  } as (this: unknown, key: string, value: unknown) => unknown);
}

/** One JSON argument → bytes, or null when its type is not accepted. */
export function jsonArg(v: unknown): Uint8Array | null {
  switch (typeof v) {
    case "string":
      return utf8(v);
    case "number":
      return utf8(String(v));
    case "boolean":
      return utf8(v ? "true" : "false");
    default:
      return null;
  }
}

const EXAMPLE_COMMAND = `["SET","key","value"]`;

/** A command of a request body, checked (`checkCommand`); it becomes bytes with `argvOf` when it runs. */
export type JsonCommand = readonly (string | number | boolean)[];

/**
 * Check a JSON command (`["SET","k","v",60]`) without making bytes of it. `where` names it in
 * error messages. A command obeys the rule of a socket's RESP input: its characters plus
 * RESP_ARG_OVERHEAD_BYTES per argument within QUERY_BUFFER_BYTES_MAX (32 MiB of `"",` would be
 * ten million arguments, gigabytes once each is a Uint8Array).
 */
export function checkCommand(v: unknown, where: string): JsonCommand {
  if (!Array.isArray(v)) {
    throw new RestRequestError(400, `ERR ${where} must be a JSON array such as ${EXAMPLE_COMMAND}`);
  }
  if (v.length === 0) throw new RestRequestError(400, `ERR ${where} is empty: a command needs at least its name`);
  let chars = 0;
  for (let i = 0; i < v.length; i++) {
    const a: unknown = v[i];
    if (typeof a === "string") chars += a.length;
    else if (typeof a !== "number" && typeof a !== "boolean") {
      const type = a === null ? "null" : Array.isArray(a) ? "array" : typeof a;
      throw new RestRequestError(400, `ERR ${where}: argument ${i + 1} is ${type}; arguments must be strings, numbers or booleans`);
    }
  }
  if (chars + v.length * RESP_ARG_OVERHEAD_BYTES > QUERY_BUFFER_BYTES_MAX) {
    throw new RestRequestError(
      400,
      `ERR ${where} has too many arguments: ${v.length} (each counts ${RESP_ARG_OVERHEAD_BYTES} bytes with its characters against ${QUERY_BUFFER_BYTES_MAX}, as a socket's query buffer)`,
    );
  }
  return v as JsonCommand;
}

/** A checked command's arguments as bytes. */
export function argvOf(c: JsonCommand): Uint8Array[] {
  const argv: Uint8Array[] = new Array(c.length);
  for (let i = 0; i < c.length; i++) argv[i] = jsonArg(c[i])!;
  return argv;
}

/** A JSON command (`["SET","k","v",60]`) → argv. `where` names it in error messages. */
export function jsonCommand(v: unknown, where: string): Uint8Array[] {
  return argvOf(checkCommand(v, where));
}

/** Body of a single command: `["SET","k","v"]`. */
export function parseSingleBody(text: string): Uint8Array[] {
  return jsonCommand(parseOrFail(text), "the request body");
}

/**
 * Body of /pipeline or /multi-exec: `[["SET","k","v"],["GET","k"]]`, at most `max` commands and
 * REST_ARGUMENTS_MAX arguments, each command checked (`checkCommand`); the caller makes bytes of
 * each command as it runs it (`argvOf`), so a pipeline holds one slice's arguments as bytes.
 */
export function parsePipelineBody(text: string, max: number): JsonCommand[] {
  const v = parseOrFail(text);
  if (!Array.isArray(v)) {
    throw new RestRequestError(400, `ERR the pipeline body must be a JSON array of commands such as [${EXAMPLE_COMMAND},["GET","key"]]`);
  }
  if (v.length === 0) throw new RestRequestError(400, "ERR the pipeline is empty: send at least one command");
  if (v.length > max) {
    throw new RestRequestError(400, `ERR too many commands in one pipeline: ${v.length} (at most ${max})`);
  }
  const out = v.map((c, i) => checkCommand(c, `command ${i + 1}`));
  let args = 0;
  for (const c of out) args += c.length;
  if (args > REST_ARGUMENTS_MAX) throw new RestRequestError(400, `ERR too many arguments in one request: ${args} (at most ${REST_ARGUMENTS_MAX})`);
  return out;
}

function parseOrFail(text: string): unknown {
  if (text.trim() === "") {
    throw new RestRequestError(400, `ERR the request body is empty: POST a JSON array such as ${EXAMPLE_COMMAND}`);
  }
  try {
    return parseJsonBody(text);
  } catch (e) {
    throw new RestRequestError(400, `ERR failed to parse request body: ${e instanceof Error ? e.message : String(e)}`);
  }
}

// ─── path form ───────────────────────────────────────────────────────────────

/**
 * Percent-decoding straight to bytes (binary-safe: `%FF` is the byte 0xFF, not an error).
 * `plusIsSpace` for query strings (application/x-www-form-urlencoded).
 */
export function percentDecode(s: string, plusIsSpace: boolean): Uint8Array {
  if (!s.includes("%") && !(plusIsSpace && s.includes("+"))) return encoder.encode(s);
  const out: number[] = [];
  let lit = "";
  const flush = () => {
    if (lit) {
      for (const b of encoder.encode(lit)) out.push(b);
      lit = "";
    }
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "%" && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      flush();
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === "+" && plusIsSpace) {
      lit += " ";
    } else {
      lit += c;
    }
  }
  flush();
  return Uint8Array.from(out);
}

/**
 * The path form: `/set/foo/bar` → SET foo bar. A non-empty POST body is appended as the
 * next argument, then query parameters as `name value` pairs (a parameter without `=`
 * adds only its name: `?NX`). `_token` is skipped. A trailing `/` is ignored.
 * `path` is the raw (percent-encoded) path after the REST base, starting with `/`.
 */
export function pathCommand(path: string, search: string, body: Uint8Array | null): Uint8Array[] {
  let segs = path.split("/").slice(1);
  if (segs.length > 1 && segs[segs.length - 1] === "") segs = segs.slice(0, -1);
  if (segs.length === 0 || segs[0] === "") {
    throw new RestRequestError(400, `ERR no command: POST a JSON array such as ${EXAMPLE_COMMAND}, or use the path form /set/key/value`);
  }
  const argv = segs.map((s) => percentDecode(s, false));
  if (body !== null && body.length > 0) argv.push(body);
  const q = search.startsWith("?") ? search.slice(1) : search;
  if (q !== "") {
    for (const pair of q.split("&")) {
      if (pair === "") continue;
      const eq = pair.indexOf("=");
      const name = eq < 0 ? pair : pair.slice(0, eq);
      if (name === "_token") continue;
      argv.push(percentDecode(name, true));
      if (eq >= 0) argv.push(percentDecode(pair.slice(eq + 1), true));
    }
  }
  return argv;
}

// ─── replies ─────────────────────────────────────────────────────────────────

/** Standard base64 of bytes (btoa over a binary string, built in chunks). */
export function base64(b: Uint8Array): string {
  const CHUNK = 0x8000;
  let bin = "";
  for (let i = 0; i < b.length; i += CHUNK) {
    bin += String.fromCharCode.apply(null, b.subarray(i, i + CHUNK) as unknown as number[]);
  }
  return btoa(bin);
}

function writeString(out: string[], bytes: Uint8Array, b64: boolean): void {
  out.push(b64 ? `"${base64(bytes)}"` : JSON.stringify(shortAscii(bytes) ?? lossyDecoder.decode(bytes)));
}

function writeText(out: string[], text: string, b64: boolean): void {
  out.push(b64 ? `"${base64(encoder.encode(text))}"` : JSON.stringify(text));
}

/**
 * A reply as JSON text. `top` is true for the value of a response's (or a pipeline
 * item's) `result`: only there is a status `OK` left unencoded.
 */
export function writeReplyJson(out: string[], r: Reply, b64: boolean, top: boolean): void {
  if (r === null) {
    out.push("null");
  } else if (r instanceof Uint8Array) {
    writeString(out, r, b64);
  } else if (typeof r === "number") {
    // Integers are finite; JSON has no NaN/Infinity, so a stray one becomes null.
    out.push(Number.isFinite(r) ? String(r) : "null");
  } else if (typeof r === "bigint") {
    out.push(r.toString());
  } else if (Array.isArray(r)) {
    writeArray(out, r, b64);
  } else if (r instanceof Simple) {
    if (top && r.s === "OK") out.push('"OK"');
    else writeText(out, r.s, b64);
  } else if (r instanceof RedisError) {
    out.push(`{"error":${JSON.stringify(r.msg)}}`);
  } else if (r instanceof NilArray) {
    out.push("null");
  } else if (r instanceof RespDouble) {
    writeText(out, r.text ?? formatG17(r.v), b64);
  } else if (r instanceof BigNumber) {
    writeString(out, r.digits, b64);
  } else if (r instanceof RespMap) {
    const flat: Reply[] = [];
    for (const [k, v] of r.entries) flat.push(k, v);
    writeArray(out, flat, b64);
  } else if (r instanceof RespSet) {
    writeArray(out, r.items, b64);
  } else if (r instanceof Verbatim) {
    writeText(out, r.text, b64);
  } else {
    throw new Error(`unknown reply value: ${String(r)}`);
  }
}

function writeArray(out: string[], items: readonly Reply[], b64: boolean): void {
  out.push("[");
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out.push(",");
    writeReplyJson(out, items[i]!, b64, false);
  }
  out.push("]");
}

/** `{"result":…}` or, for an error reply, `{"error":"…"}` (errors are never encoded). */
export function itemJson(r: Reply, b64: boolean): string {
  if (r instanceof RedisError) return `{"error":${JSON.stringify(r.msg)}}`;
  if (r instanceof Simple && r.s === "OK") return '{"result":"OK"}'; // never encoded at the top
  if (r === null) return '{"result":null}';
  const out: string[] = ['{"result":'];
  writeReplyJson(out, r, b64, true);
  out.push("}");
  return out.join("");
}

/** A pipeline's answer: `[{"result":…},{"error":…},…]`. */
export function pipelineJson(replies: readonly Reply[], b64: boolean): string {
  return `[${replies.map((r) => itemJson(r, b64)).join(",")}]`;
}
