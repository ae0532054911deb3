/**
 * Stand-in for `readline-sync`, which Fengari's debug library loads under Node to read
 * from a terminal (debug.debug()). workerd has no terminal (and no process.binding, which
 * the real package calls as soon as it loads), and scripts never get debug.debug.
 */
export function setDefaultOptions(_options: unknown): void {}

export function prompt(): string {
  throw new Error("debug.debug() has no terminal in a Worker");
}

export default { setDefaultOptions, prompt };
