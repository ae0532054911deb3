/**
 * REST inputs for the fuzz harness: single-command and pipeline JSON bodies (valid, with
 * wrong types, deeply nested, with long digit runs, then mutated as text or as bytes) and
 * path-form requests (segments, percent escapes, query strings, `_token`).
 */
import { mutate } from "./mutate.ts";
import type { Rng } from "./random.ts";
import { SAFE_COMMANDS } from "./resp-gen.ts";

const td = new TextDecoder();
const te = new TextEncoder();

function jsonScalar(rng: Rng): unknown {
  switch (rng.int(9)) {
    case 0:
      return rng.range(-100, 100);
    case 1:
      return rng.pick([1.5, -0, 1e308, 9007199254740993, 2 ** 63, -1e-7]);
    case 2:
      return rng.bool();
    case 3:
      return null;
    case 4:
      return rng.pick(["", "\u0000", "\ud800", "é", "💥", "\r\n", "\\", '"', "a".repeat(rng.size(300))]);
    default:
      return td.decode(rng.word(5));
  }
}

function jsonValue(rng: Rng, depth: number): unknown {
  const r = rng.float();
  if (depth > 3 || r < 0.6) return jsonScalar(rng);
  if (r < 0.85) {
    const n = rng.int(5);
    return Array.from({ length: n }, () => jsonValue(rng, depth + 1));
  }
  const o: Record<string, unknown> = {};
  const n = rng.int(3);
  for (let i = 0; i < n; i++) o[td.decode(rng.word(3))] = jsonValue(rng, depth + 1);
  return o;
}

/** A JSON command: mostly well-formed, from the safe vocabulary. */
export function jsonCommand(rng: Rng): unknown[] {
  const cmd: unknown[] = [rng.pick(SAFE_COMMANDS)];
  const n = rng.int(6);
  for (let i = 0; i < n; i++) cmd.push(rng.bool(0.85) ? (rng.bool(0.7) ? td.decode(rng.word(4)) : rng.range(-3, 50)) : jsonValue(rng, 2));
  return cmd;
}

/** Text that JSON parsers find hard: deep nesting, long digit runs, odd escapes. */
function hardText(rng: Rng): string {
  switch (rng.int(6)) {
    case 0: {
      const d = rng.pick([10, 100, 1000, 10_000, 100_000]);
      return "[".repeat(d) + "]".repeat(rng.bool() ? d : d - 1);
    }
    case 1:
      return `["SET","k",${"9".repeat(rng.pick([16, 20, 400, 5000]))}]`;
    case 2:
      return `["SET","k","\\u${rng.pick(["d800", "dc00", "0000", "zzzz", "12"])}"]`;
    case 3:
      return `["SET","k",${rng.pick(["1e400", "-1e400", "NaN", "Infinity", "0x10", "01", "-"])}]`;
    case 4:
      return rng.pick(["", " ", "null", "{}", '{"0":"GET"}', "[]", "[[]]", '"GET"', "[1]", "\ufeff[\"PING\"]"]);
    default:
      return JSON.stringify(Array.from({ length: rng.pick([1001, 5000]) }, () => ["PING"]));
  }
}

/** A body for POST /db/{db} (one command) or /pipeline (`pipeline`: an array of commands). */
export function restBody(rng: Rng, pipeline: boolean): Uint8Array {
  let text: string;
  const r = rng.float();
  if (r < 0.1) text = hardText(rng);
  else if (r < 0.2) text = JSON.stringify(jsonValue(rng, 0));
  else if (pipeline) text = JSON.stringify(Array.from({ length: rng.range(1, 6) }, () => jsonCommand(rng)));
  else text = JSON.stringify(jsonCommand(rng));
  const bytes = te.encode(text);
  return rng.bool(0.5) ? mutate(rng, bytes) : bytes;
}

/** A path-form request: `/CMD/arg/arg?name=value` pieces, raw (percent-encoded as sent). */
export function restPath(rng: Rng): { path: string; search: string; body: Uint8Array | null } {
  const segs: string[] = [rng.pick(SAFE_COMMANDS).toLowerCase()];
  const n = rng.int(5);
  for (let i = 0; i < n; i++) {
    segs.push(
      rng.pick([
        td.decode(rng.word(4)),
        "%FF%00",
        "%zz",
        "%",
        "%2F",
        "",
        "a+b",
        encodeURIComponent(td.decode(rng.bytes(rng.size(8)))),
      ]),
    );
  }
  let path = `/${segs.join("/")}`;
  if (rng.bool(0.1)) path += "/";
  if (rng.bool(0.05)) path = rng.pick(["/", "", "//", "/%"]);
  const q: string[] = [];
  const m = rng.int(4);
  for (let i = 0; i < m; i++) q.push(rng.pick(["EX=10", "NX", "_token=x", "%5Ftoken=x", "=", "&", "a=%FF", "a=b=c", "+=+"]));
  const search = q.length ? `?${q.join("&")}` : "";
  const body = rng.bool(0.2) ? rng.bytes(rng.size(64)) : null;
  return { path, search, body };
}
