/**
 * Fengari's debug library requires `readline-sync` whenever `process` exists, and that
 * package calls process.binding("tty_wrap") as it loads, which workerd does not implement.
 * Deployed bundles alias the package to a stub (wrangler.toml [alias]); the vitest pool
 * loads node_modules without that alias, so there the one binding it asks for is answered
 * with an inert class. Imported before any Fengari module (see luaconf-patch.ts).
 */
const proc = (globalThis as { process?: { binding?: (name: string) => unknown } }).process;
if (proc && typeof proc.binding === "function") {
  const original = proc.binding.bind(proc);
  let works = true;
  try {
    original("tty_wrap");
  } catch {
    works = false;
  }
  if (!works) proc.binding = (name: string) => (name === "tty_wrap" ? { TTY: class {} } : original(name));
}

export const PROCESS_GUARDED = true;
