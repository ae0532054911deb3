/**
 * Every limit the service enforces, in one place, with its unit in the name.
 * The README's "Limits" table is written from this file.
 */

/** Largest string value (SET, APPEND, SETRANGE…). Stored split across SQLite rows. */
export const VALUE_BYTES_MAX = 16 * 1024 * 1024;
/** Largest element of a collection (hash field/value, set/zset member, list element). */
export const ELEMENT_BYTES_MAX = 1024 * 1024;
/** Largest key. */
export const KEY_BYTES_MAX = 64 * 1024;
/**
 * Largest encoded container (listpack, ziplist, intset, zipmap), AUX field or FUNCTION
 * library read from an RDB file (restore, full sync). Redis writes containers of a few KiB
 * (list-max-listpack-size 8 KiB, hash/zset listpacks of 128 entries); each element inside
 * one still obeys ELEMENT_BYTES_MAX.
 */
export const RDB_BLOB_BYTES_MAX = 16 * 1024 * 1024;
/** Largest REST request body or WebSocket message (the platform's own receive limit). */
export const REQUEST_BYTES_MAX = 32 * 1024 * 1024;
/**
 * Socket commands run in turns of about this many bytes, counted across messages and
 * connections (node/turns.ts), and a REST /pipeline in slices of at most this many bytes of
 * arguments; the next turn or slice starts after a yield (replies go out before it): a gateway
 * write of 10,000 SETs arrives as one ~600 KB message, which as one event held the node (and
 * every object sharing its thread) for ~280 ms; and a client that always has its next pipeline
 * queued kept local workerd from reading any other socket or firing any timer (PING to an idle
 * object: 0.8–3.4 s; 3–58 ms with one pipeline in flight).
 */
export const CLIENT_SLICE_BYTES = 64 * 1024;
/**
 * A REST /pipeline runs in slices of at most this many commands (or CLIENT_SLICE_BYTES of
 * arguments), each its own event: ten pipelines of 1,000 arriving together otherwise kept
 * every other request of the node waiting for all 10,000 commands. /multi-exec is one event.
 */
export const REST_SLICE_COMMANDS = 250;
/**
 * Most bytes of stored values and elements a client's replies carry before they are sent: a
 * REST request's replies together (they go out as one JSON answer), a socket's between two
 * sends (it sends whenever SOCKET_SEND_BYTES have gathered). Counted as the values are read
 * (Keyspace.charge), so a command that would pass it is refused before it holds the memory:
 * `MGET big big big …` (16 MiB each) or a pipeline of such GETs would otherwise make a reply
 * bigger than the isolate's 128 MB, which kills the object for every client. A 16 MiB value
 * (VALUE_BYTES_MAX) fits, with its JSON/base64 copies.
 */
export const OUTPUT_BYTES_MAX = 24 * 1024 * 1024;
/** A socket sends the replies it has gathered once they reach this size (and at the end of each turn). */
export const SOCKET_SEND_BYTES = 1024 * 1024;
/**
 * Most arguments in one REST /pipeline or /multi-exec request (Redis's multibulk limit is per
 * command; a request is parsed whole). A pipeline makes bytes of each command only as it runs
 * it; /multi-exec queues them all, as MULTI does: ~220 bytes each in V8, ~60 MB at this bound.
 */
export const REST_ARGUMENTS_MAX = 262_144;
/** Most commands in one REST /pipeline or /multi-exec request. */
export const PIPELINE_COMMANDS_MAX = 1000;
/** Most commands queued in one MULTI. */
export const MULTI_QUEUE_COMMANDS_MAX = 10_000;
/**
 * Size of one SQLite row holding a piece of a string (rows hold at most 2 MB): a string up to
 * it lives in its key's row, a longer one in rows of this size. SQLite reads and writes a row
 * whole, so this is what a GETBIT reads and a SETBIT / SETRANGE rewrites: with 1 MiB rows a
 * SETBIT in a 12.5 MB bitmap took ~3 ms and a GETBIT ~1 ms (320 SETBIT/s). Databases created
 * before it was 64 KiB keep 1 MiB rows (LEGACY_STRING_CHUNK_BYTES; Keyspace.chunkBytes says
 * which), so the one-row fast paths bound values by this, the smaller.
 */
export const STRING_CHUNK_BYTES = 64 * 1024;
/** The row size of strings in databases created before STRING_CHUNK_BYTES was 64 KiB. */
export const LEGACY_STRING_CHUNK_BYTES = 1024 * 1024;
/** Number of logical databases reachable with SELECT inside one master. */
export const DATABASES = 16;
/** Largest index accepted by SETRANGE / APPEND growth (Redis's proto-max-bulk-len is 512 MB; ours is VALUE_BYTES_MAX). */
export const SETRANGE_OFFSET_MAX = VALUE_BYTES_MAX;
/** Keys examined per active-expiry step (one alarm). */
export const ACTIVE_EXPIRE_KEYS_PER_STEP = 200;
/** Longest DEBUG SLEEP, so that a typo cannot hang a node. */
export const DEBUG_SLEEP_MS_MAX = 30_000;
/** Longest chain of masters walked when REPLICAOF checks for a replication cycle. */
export const REPLICATION_CHAIN_MAX = 16;
/**
 * Most bytes one connection may hold of a command it has not finished sending (Redis:
 * client-query-buffer-limit, 1 GiB). Counted as the command's raw bytes so far plus
 * RESP_ARG_OVERHEAD_BYTES per argument already parsed. Room for the largest request
 * (REQUEST_BYTES_MAX) with its framing, while one connection stays well under the
 * isolate's 128 MB. Above it the connection gets an error and is closed.
 */
export const QUERY_BUFFER_BYTES_MAX = 48 * 1024 * 1024;
/**
 * What one parsed argument costs in memory besides its bytes (a Uint8Array and its
 * ArrayBuffer: about 220 bytes in V8, measured). Charged against QUERY_BUFFER_BYTES_MAX
 * so that a million empty arguments cannot take 200 MB while sending 6 MB.
 */
export const RESP_ARG_OVERHEAD_BYTES = 256;

/**
 * Longest a REST request waits in blocking commands (BLPOP…), whatever their own timeout
 * (0 = forever becomes this): one budget per request, shared by every blocking command of a
 * /pipeline. Well below the platform's limits on a request (and client libraries' HTTP
 * timeouts); a WebSocket/RESP client blocks as long as it asks.
 */
export const REST_BLOCK_MS_MAX = 25_000;

/**
 * A socket's CLIENT SETNAME name survives hibernation (kept in the socket's attachment, which
 * also holds its subscriptions, within the platform's 16 KiB) up to this many bytes; a longer
 * name is kept while the object stays in memory. Redis has no limit on names.
 */
export const ATTACHED_NAME_BYTES_MAX = 1024;

/**
 * DEBUG POPULATE (a development command, like all of DEBUG): keys one call may write, and
 * bytes of values (count × max(size, 16)). Redis has no bounds; ours keep a typo from filling a
 * node's storage. The work runs in slices that yield (node/populate.ts).
 */
export const DEBUG_POPULATE_KEYS_MAX = 10_000_000;
export const DEBUG_POPULATE_BYTES_MAX = 1024 * 1024 * 1024;
