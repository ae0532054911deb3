/**
 * The nodes' log (replication state changes, resync decisions, snapshots, scripts): plain
 * console lines, unless quieted with the `LOG_LEVEL = "quiet"` var. The Workers-runtime tests
 * quiet it: a line still on its way to the test runner when the pool shuts down fails the run
 * ("Closing rpc while onUserConsoleLog was pending"); `LOG_LEVEL=info npm test` shows them.
 */
let quiet = false;

export function configureLog(level: string | undefined): void {
  quiet = level === "quiet";
}

export function log(line: string): void {
  if (!quiet) console.log(line);
}
