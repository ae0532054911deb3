/**
 * Let the object's other events (sockets, requests, timers) run before going on: the way every
 * bounded slice of long work (a pipeline, a replica's apply, a snapshot walk or load) ends.
 * A timer rather than a microtask, since a microtask would run before anything else could.
 */
export function yieldToOtherEvents(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}
