/** Stand-in for `tmp`, which Fengari's os library loads under Node for os.tmpname (never given to scripts). */
export function tmpNameSync(): string {
  throw new Error("os.tmpname() is not available in a Worker");
}

export default { tmpNameSync };
