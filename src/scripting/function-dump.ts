/**
 * FUNCTION DUMP / RESTORE payloads as Redis 7.0 writes them: the RDB form of each library
 * (RDB_OPCODE_FUNCTION2 + its code), then the RDB version (2 bytes) and a CRC64 of
 * everything before (8 bytes), both little-endian, as DUMP's payloads are.
 */
import { crc64 } from "../protocol/rdb/crc64.ts";
import { RdbReader } from "../protocol/rdb/reader.ts";
import { RdbWriter } from "../protocol/rdb/writer.ts";

/** The RDB version redis-server 7.0 stamps on its payloads; newer ones are refused. */
const PAYLOAD_RDB_VERSION = 10;

export function dumpLibraries(codes: Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const w = new RdbWriter({ write: (b) => parts.push(b) }, { version: 10 });
  w.header({});
  for (const c of codes) w.functionLibrary(c);
  w.end();
  let n = 0;
  for (const p of parts) n += p.length;
  const file = new Uint8Array(n);
  let o = 0;
  for (const p of parts) (file.set(p, o), (o += p.length));
  // The file minus its "REDIS0010" header and its EOF + CRC trailer is the payload body.
  const body = file.subarray(9, file.length - 9);
  const out = new Uint8Array(body.length + 10);
  out.set(body, 0);
  out[body.length] = PAYLOAD_RDB_VERSION & 0xff;
  out[body.length + 1] = PAYLOAD_RDB_VERSION >> 8;
  new DataView(out.buffer).setBigUint64(body.length + 2, crc64(0n, out.subarray(0, body.length + 2)), true);
  return out;
}

/** The library codes of a payload, or Redis's error reply text. */
export function parseDump(payload: Uint8Array): Uint8Array[] | string {
  const bad = "ERR DUMP payload version or checksum are wrong";
  if (payload.length < 10) return bad;
  const version = payload[payload.length - 10]! | (payload[payload.length - 9]! << 8);
  if (version > PAYLOAD_RDB_VERSION) return bad;
  const stored = new DataView(payload.buffer, payload.byteOffset + payload.length - 8, 8).getBigUint64(0, true);
  if (stored !== crc64(0n, payload.subarray(0, payload.length - 8))) return bad;
  // Read the body as an RDB file: header, the body, EOF and a zero (unchecked) trailer.
  const body = payload.subarray(0, payload.length - 10);
  const file = new Uint8Array(9 + body.length + 9);
  file.set(new TextEncoder().encode("REDIS0010"), 0);
  file.set(body, 9);
  file[9 + body.length] = 0xff;
  const r = new RdbReader();
  const codes: Uint8Array[] = [];
  try {
    r.push(file);
    for (let e = r.next(); e; e = r.next()) {
      if (e.t === "header") continue;
      if (e.t === "end") break;
      if (e.t !== "function") return "ERR given type is not a function";
      codes.push(e.code);
    }
  } catch {
    return "ERR can not read data type";
  }
  return codes;
}
