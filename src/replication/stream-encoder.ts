/**
 * Encodes propagated commands (RESP arrays of bulk strings) into an append-only arena and
 * hands out views of what each execution unit wrote, so a pipeline of 1,000 writes costs no
 * allocation per command: the backlog gathers the views and copies them once per event.
 *
 * Invariant: bytes once written are never overwritten (a full arena is replaced, not reused),
 * so every view handed out stays valid for as long as someone holds it.
 */
import { utf8 } from "../util/bytes.ts";

/** Arena size; a unit larger than this gets an arena of its own size. */
const ARENA_BYTES = 64 * 1024;

export class StreamEncoder {
  private buf = new Uint8Array(ARENA_BYTES);
  private pos = 0;
  private unitStart = 0;

  /** Start a unit (what `end` will return). */
  begin(): void {
    this.unitStart = this.pos;
  }

  /** The bytes written since `begin`. */
  end(): Uint8Array {
    return this.buf.subarray(this.unitStart, this.pos);
  }

  command(argv: readonly (Uint8Array | string)[]): void {
    const args = argv.map((a) => (typeof a === "string" ? utf8(a) : a));
    let n = 3 + String(args.length).length;
    for (const a of args) n += a.length + 5 + String(a.length).length;
    this.reserve(n);
    this.ascii(`*${args.length}\r\n`);
    for (const a of args) {
      this.ascii(`$${a.length}\r\n`);
      this.buf.set(a, this.pos);
      this.pos += a.length;
      this.buf[this.pos++] = 13;
      this.buf[this.pos++] = 10;
    }
  }

  /** Room for `n` more bytes of the current unit, moving the unit to a fresh arena when needed. */
  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const unit = this.buf.subarray(this.unitStart, this.pos);
    const next = new Uint8Array(Math.max(ARENA_BYTES, (unit.length + n) * 2));
    next.set(unit, 0);
    this.buf = next;
    this.pos = unit.length;
    this.unitStart = 0;
  }

  private ascii(s: string): void {
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }
}
