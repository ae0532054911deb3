/** RDB snapshots: a streaming writer, an incremental reader, and the CRC64 they share. */
export { Crc64, crc64 } from "./crc64.ts";
export { RdbError, RdbOpcode, RdbType, type RdbValueType } from "./format.ts";
export {
  RDB_BATCH_ITEMS_MAX,
  RDB_DEFAULT_LIMITS,
  type RdbLimits,
  type RdbEvent,
  RdbReader,
  type RdbReaderOptions,
  readRdb,
  readRdbBytes,
} from "./reader.ts";
export { RDB_WRITER_CHUNK_BYTES, type RdbSink, RdbWriter, type RdbWriterOptions } from "./writer.ts";
