/**
 * Function libraries (Redis 7.0 functions.c): FUNCTION LOAD compiles a library whose
 * first line is `#!lua name=<lib>` and runs it so that it registers functions; FCALL runs
 * one. Libraries are data: persisted in SQLite (and restored on first use after a restart)
 * and propagated to replicas (the FUNCTION commands travel in the stream; a full sync
 * re-sends every library). They run in a Lua VM of their own, as in Redis.
 */
import { RedisError } from "../protocol/reply.ts";
import { FunctionVM, type RegisteredFunction } from "./function-vm.ts";
import { SCRIPT_HOOK_INSTRUCTIONS, SCRIPT_INSTRUCTIONS_PER_MS } from "./vm.ts";
import { log } from "../util/log.ts";

/** Most libraries a node keeps. */
export const FUNCTION_LIBRARIES_MAX = 1_000;
/** Largest library code accepted (one SQLite row holds it; rows hold 2 MB). */
export const FUNCTION_CODE_BYTES_MAX = 1024 * 1024;
/** Code of all libraries together: every library is compiled into memory when the node starts. */
export const FUNCTION_CODE_TOTAL_BYTES_MAX = 16 * 1024 * 1024;
/** Time a library's top-level code may run while it loads (Redis's LOAD_TIMEOUT_MS). */
export const FUNCTION_LOAD_TIMEOUT_MS = 500;

export interface Library {
  name: string;
  code: Uint8Array;
  functions: RegisteredFunction[];
}

const NAME_ERROR = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/** The library's metadata line, as functionExtractLibMetaData reads it. */
export function libraryMetadata(code: Uint8Array): { name: string; engine: string; bodyStart: number } | string {
  if (code[0] !== 35 || code[1] !== 33) return "ERR Missing library metadata";
  const nl = code.indexOf(10);
  if (nl < 0) return "ERR Invalid library metadata";
  const parts = new TextDecoder()
    .decode(code.subarray(0, nl))
    .split(/[ \t\r\v\f]+/)
    .filter((p) => p.length > 0);
  if (parts.length === 0) return "ERR Invalid library metadata";
  const engine = parts[0]!.slice(2);
  let name: string | null = null;
  for (const p of parts.slice(1)) {
    if (p.toLowerCase().startsWith("name=")) {
      if (name !== null) return "ERR Invalid metadata value, name argument was given multiple times";
      name = p.slice(5);
      continue;
    }
    return `ERR Invalid metadata value given: ${p}`;
  }
  if (name === null) return "ERR Library name was not given";
  return { name, engine, bodyStart: nl };
}

export class FunctionLibraries {
  private vm: FunctionVM | null = null;
  private readonly libs = new Map<string, Library>();
  /** Function name → its library. */
  private readonly byFunction = new Map<string, Library>();
  private restored = false;

  constructor(private readonly sql: SqlStorage) {
    sql.exec("CREATE TABLE IF NOT EXISTS function_libraries (name TEXT PRIMARY KEY, code BLOB NOT NULL, seq INTEGER NOT NULL)");
  }

  private lua(): FunctionVM {
    this.vm ??= new FunctionVM();
    return this.vm;
  }

  /** Compile the persisted libraries once, on first use after a start. */
  private loadPersisted(): void {
    if (this.restored) return;
    this.restored = true;
    for (const r of this.sql.exec("SELECT code FROM function_libraries ORDER BY seq")) {
      this.load(new Uint8Array(r.code as ArrayBuffer), true, false);
    }
  }

  all(): Library[] {
    this.loadPersisted();
    return [...this.libs.values()];
  }

  find(fname: string): { lib: Library; fn: RegisteredFunction } | null {
    this.loadPersisted();
    const lib = this.byFunction.get(fname);
    const fn = lib?.functions.find((f) => f.name === fname);
    return lib && fn ? { lib, fn } : null;
  }

  /** FUNCTION LOAD [REPLACE]: returns the library name or the error reply. */
  load(code: Uint8Array, replace: boolean, persist = true): string | RedisError {
    this.loadPersisted();
    if (code.length > FUNCTION_CODE_BYTES_MAX) return new RedisError(`ERR library code exceeds the limit of ${FUNCTION_CODE_BYTES_MAX} bytes`);
    const md = libraryMetadata(code);
    if (typeof md === "string") return new RedisError(md);
    if (!/^[A-Za-z0-9_]+$/.test(md.name)) return new RedisError(NAME_ERROR);
    if (md.engine.toLowerCase() !== "lua") return new RedisError(`ERR Engine '${md.engine}' not found`);
    const old = this.libs.get(md.name);
    if (old && !replace) return new RedisError(`ERR Library '${md.name}' already exists`);
    if (!old && this.libs.size >= FUNCTION_LIBRARIES_MAX) return new RedisError(`ERR too many function libraries (the limit is ${FUNCTION_LIBRARIES_MAX})`);
    let total = code.length - (old?.code.length ?? 0);
    for (const l of this.libs.values()) total += l.code.length;
    if (total > FUNCTION_CODE_TOTAL_BYTES_MAX) return new RedisError(`ERR function libraries would hold more than ${FUNCTION_CODE_TOTAL_BYTES_MAX} bytes of code together`);
    const started = Date.now();
    // Counted in instructions too: a Worker's clock does not move while JavaScript runs.
    let instructions = 0;
    const budget = FUNCTION_LOAD_TIMEOUT_MS * SCRIPT_INSTRUCTIONS_PER_MS;
    const fns = this.lua().loadLibrary(code.subarray(md.bodyStart), () => {
      instructions += SCRIPT_HOOK_INSTRUCTIONS;
      return instructions > budget || Date.now() - started > FUNCTION_LOAD_TIMEOUT_MS ? "FUNCTION LOAD timeout" : null;
    });
    if (typeof fns === "string") return new RedisError(fns);
    const release = () => {
      for (const f of fns) this.vm?.release(f.ref);
    };
    if (fns.length === 0) return new RedisError("ERR No functions registered");
    for (const f of fns) {
      const owner = this.byFunction.get(f.name);
      if (owner && owner !== old) {
        release();
        return new RedisError(`ERR Function ${f.name} already exists`);
      }
    }
    if (old) this.unlink(old);
    const lib: Library = { name: md.name, code, functions: fns };
    this.libs.set(lib.name, lib);
    for (const f of fns) this.byFunction.set(f.name, lib);
    if (persist) {
      this.sql.exec(
        "INSERT OR REPLACE INTO function_libraries (name, code, seq) VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM function_libraries))",
        lib.name,
        code,
      );
    }
    return lib.name;
  }

  private unlink(lib: Library): void {
    this.libs.delete(lib.name);
    for (const f of lib.functions) {
      this.byFunction.delete(f.name);
      this.vm?.release(f.ref);
    }
  }

  /** FUNCTION DELETE: false when there is no such library. */
  delete(name: string): boolean {
    this.loadPersisted();
    const lib = this.libs.get(name);
    if (!lib) return false;
    this.unlink(lib);
    this.sql.exec("DELETE FROM function_libraries WHERE name = ?", name);
    return true;
  }

  flush(): void {
    this.libs.clear();
    this.byFunction.clear();
    this.vm = null;
    this.restored = true;
    this.sql.exec("DELETE FROM function_libraries");
  }

  /**
   * Replace every library with those of a loaded RDB file. A library that does not load
   * here is reported and left out (the keys still load).
   */
  replaceAll(codes: Uint8Array[]): void {
    this.flush();
    for (const code of codes) {
      const r = this.load(code, true);
      if (r instanceof RedisError) log(`functions: a library from the RDB file did not load: ${r.msg}`);
    }
  }

  /**
   * FUNCTION RESTORE: add the payload's libraries by `policy` (append: a name already
   * loaded is an error; replace: it is replaced; flush: every library goes first). All or
   * nothing: on an error the libraries are as before. Returns the error reply or null.
   */
  restore(codes: Uint8Array[], policy: "append" | "replace" | "flush"): RedisError | null {
    this.loadPersisted();
    const before = [...this.libs.values()].map((l) => l.code);
    if (policy === "append") {
      for (const c of codes) {
        const md = libraryMetadata(c);
        if (typeof md !== "string" && this.libs.has(md.name)) return new RedisError(`ERR Library ${md.name} already exists`);
      }
    }
    if (policy === "flush") this.flush();
    for (const c of codes) {
      const r = this.load(c, policy !== "append");
      if (r instanceof RedisError) {
        this.replaceAll(before);
        return r;
      }
    }
    return null;
  }

  /** The VM the functions run in (FCALL). */
  runner(): FunctionVM {
    return this.lua();
  }
}
