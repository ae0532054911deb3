/**
 * Reply values produced by commands, independent of how they are sent (RESP2, RESP3,
 * Upstash JSON). Plain JS values where one fits:
 *   Uint8Array → bulk string, null → nil, number | bigint → integer, Array → array.
 * Wrapper classes for the rest.
 */

/** A status reply such as `+OK`. */
export class Simple {
  constructor(readonly s: string) {}
}

/**
 * An error reply; thrown by command handlers and caught by the engine. `raw`, when set, is the
 * message's exact bytes for RESP (it quotes a client's bytes, which `msg` holds as UTF-8 text).
 */
export class RedisError extends Error {
  constructor(
    readonly msg: string,
    readonly raw?: Uint8Array,
  ) {
    super(msg);
  }
}

/** The nil array (`*-1` in RESP2, `_` in RESP3), e.g. EXEC aborted by WATCH. */
export class NilArray {}
export const NIL_ARRAY = new NilArray();

/**
 * A double: bulk string in RESP2 ("%.17g", Redis 7.0), `,` in RESP3. `text` replaces the
 * "%.17g" form where Redis prints another (GEOPOS's human long double).
 */
export class RespDouble {
  constructor(
    readonly v: number,
    readonly text?: string,
  ) {}
}

/** A big number (a script's `{big_number=…}`): `(` in RESP3, a bulk string in RESP2. */
export class BigNumber {
  constructor(readonly digits: Uint8Array) {}
}

/** A map: flattened to an array in RESP2, `%` in RESP3. */
export class RespMap {
  constructor(readonly entries: [Reply, Reply][]) {}
}

/** A set: an array in RESP2, `~` in RESP3. */
export class RespSet {
  constructor(readonly items: Reply[]) {}
}

/** A verbatim string such as INFO's text: a bulk string in RESP2. */
export class Verbatim {
  constructor(readonly text: string) {}
}

/** An out-of-band message (pub/sub): an array in RESP2, a push frame `>` in RESP3. */
export class Push {
  constructor(readonly items: Reply[]) {}
}

/**
 * Several top-level replies to one command (SUBSCRIBE a b answers one confirmation per
 * channel). Only a transport writes it; it never nests inside another reply.
 */
export class ReplySequence {
  constructor(readonly replies: Reply[]) {}
}

export type Reply =
  | Uint8Array
  | null
  | number
  | bigint
  | Simple
  | RedisError
  | NilArray
  | RespDouble
  | RespMap
  | RespSet
  | Verbatim
  | Push
  | ReplySequence
  | Reply[];

export const OK = new Simple("OK");
export const QUEUED = new Simple("QUEUED");
export const PONG = new Simple("PONG");
