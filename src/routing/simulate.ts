/**
 * Simulated geography for local development and the geography benchmark (DEBUG only): the
 * router delays each hop to a node by the round-trip time between the caller's region and
 * the node's region (regions.ts table, scaled), and a master delays the stream to each
 * replica by half the round trip between their regions. Locally every object runs in one
 * process, so without this every region is equally near.
 */
import { regionRttMs, type Region } from "./regions.ts";

/** Request header: scale of the simulated latency (1 = the RTT table; absent or 0 = none). DEBUG only. */
export const DEBUG_LATENCY_HEADER = "x-debug-latency";
/** Largest accepted scale, so a typo cannot stall requests for minutes. */
export const SIMULATED_LATENCY_SCALE_MAX = 10;

/** The scale a header or argument asks for, or 0 when absent or invalid. */
export function latencyScale(v: string | null | undefined): number {
  const n = Number(v);
  return v != null && v.trim() !== "" && Number.isFinite(n) && n > 0 && n <= SIMULATED_LATENCY_SCALE_MAX ? n : 0;
}

/** Delay of one request/response hop between two regions (0 when either is unknown). */
export function hopDelayMs(from: Region | null, to: Region | null, scale: number): number {
  if (scale <= 0 || from === null || to === null) return 0;
  return regionRttMs(from, to) * scale;
}

/** Delay of one-way traffic (the replication stream) between two regions. */
export function oneWayDelayMs(from: Region | null, to: Region | null, scale: number): number {
  return hopDelayMs(from, to, scale) / 2;
}
