/**
 * What each on-disk value type means: its logical type, and how the single-blob encodings
 * (zipmap, ziplist, intset, listpack) decode into flat element lists.
 */
import { str } from "../../util/bytes.ts";
import { parseDouble } from "../../util/numbers.ts";
import { RdbError, RdbType, type RdbValueType } from "./format.ts";
import { decodeIntset } from "./intset.ts";
import { decodeListpack } from "./listpack.ts";
import { decodeZiplist } from "./ziplist.ts";
import { decodeZipmap } from "./zipmap.ts";

/** How a key's elements are handed out: list/set values, hash fields, zset members. */
export type ItemKind = "values" | "fields" | "members";

/** Elements flattened ([field, value, …] / [member, score, …]) with parsed zset scores. */
export interface DecodedItems {
  kind: ItemKind;
  items: Uint8Array[];
  scores: number[] | null;
}

/** The logical type of an on-disk type byte; refuses modules, streams and unknown types. */
export function logicalType(rdbType: number): RdbValueType {
  switch (rdbType) {
    case RdbType.STRING:
      return "string";
    case RdbType.LIST:
    case RdbType.LIST_ZIPLIST:
    case RdbType.LIST_QUICKLIST:
    case RdbType.LIST_QUICKLIST_2:
      return "list";
    case RdbType.SET:
    case RdbType.SET_INTSET:
    case RdbType.SET_LISTPACK:
      return "set";
    case RdbType.ZSET:
    case RdbType.ZSET_2:
    case RdbType.ZSET_ZIPLIST:
    case RdbType.ZSET_LISTPACK:
      return "zset";
    case RdbType.HASH:
    case RdbType.HASH_ZIPMAP:
    case RdbType.HASH_ZIPLIST:
    case RdbType.HASH_LISTPACK:
      return "hash";
    case RdbType.MODULE_PRE_GA:
    case RdbType.MODULE_2:
      throw new RdbError("module value types are not supported: the RDB needs Redis modules");
    case RdbType.STREAM_LISTPACKS:
    case RdbType.STREAM_LISTPACKS_2:
    case RdbType.STREAM_LISTPACKS_3:
      throw new RdbError("stream values are not supported");
    default:
      throw new RdbError(`unknown RDB value type ${rdbType}`);
  }
}

/** Decodes a single-blob encoding (types 9–13, 16, 17, 20) into flat items. */
export function decodeBlob(rdbType: number, blob: Uint8Array): DecodedItems {
  switch (rdbType) {
    case RdbType.HASH_ZIPMAP:
      return pairs("fields", decodeZipmap(blob));
    case RdbType.LIST_ZIPLIST:
      return { kind: "values", items: decodeZiplist(blob), scores: null };
    case RdbType.SET_INTSET:
      return { kind: "values", items: decodeIntset(blob), scores: null };
    case RdbType.SET_LISTPACK:
      return { kind: "values", items: decodeListpack(blob), scores: null };
    case RdbType.HASH_ZIPLIST:
      return pairs("fields", decodeZiplist(blob));
    case RdbType.HASH_LISTPACK:
      return pairs("fields", decodeListpack(blob));
    case RdbType.ZSET_ZIPLIST:
      return pairs("members", decodeZiplist(blob));
    case RdbType.ZSET_LISTPACK:
      return pairs("members", decodeListpack(blob));
    default:
      throw new RdbError(`unknown RDB value type ${rdbType}`);
  }
}

function pairs(kind: "fields" | "members", items: Uint8Array[]): DecodedItems {
  if (items.length % 2 !== 0) {
    throw new RdbError(`${kind === "fields" ? "hash" : "zset"} blob with an odd number of elements`);
  }
  if (kind === "fields") return { kind, items, scores: null };
  const scores: number[] = [];
  for (let i = 1; i < items.length; i += 2) scores.push(parseScore(items[i]!));
  return { kind, items, scores };
}

/** A zset score stored as text (listpack, ziplist, old ZSET): strtod rules, NaN refused. */
export function parseScore(b: Uint8Array): number {
  const v = parseDouble(b);
  if (v === null) throw new RdbError(`bad zset score ${JSON.stringify(str(b))}`);
  return v;
}
