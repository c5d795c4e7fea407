/**
 * Control records: the single record of a control batch. Its key says what kind of marker it
 * is (version int16, type int16); for transaction markers (KIP-98) the value is
 * version int16 + coordinatorEpoch int32. Other types (KRaft's leader change, snapshot
 * header/footer, voters) carry schema-defined values that their owners decode.
 */
import { DecodeError } from '../primitives/decode-error.js';
import { buildRecordBatch } from './batch-builder.js';
import { decodeRecords } from './record.js';
import { isControl, readBatchHeader } from './record-batch.js';

export const ControlRecordType = {
  ABORT: 0,
  COMMIT: 1,
  LEADER_CHANGE: 2,
  SNAPSHOT_HEADER: 3,
  SNAPSHOT_FOOTER: 4,
  KRAFT_VERSION: 5,
  KRAFT_VOTERS: 6,
} as const;
export type ControlRecordType = (typeof ControlRecordType)[keyof typeof ControlRecordType];

const CONTROL_KEY_VERSION = 0;
const CONTROL_KEY_SIZE = 4;
const END_TXN_MARKER_VERSION = 0;
const END_TXN_MARKER_SIZE = 6;

export interface ControlRecordKey {
  version: number;
  type: number;
}

export function encodeControlKey(type: number): Buffer {
  const b = Buffer.alloc(CONTROL_KEY_SIZE);
  b.writeInt16BE(CONTROL_KEY_VERSION, 0);
  b.writeInt16BE(type, 2);
  return b;
}

/**
 * Parses a control record key. Newer key versions may append fields, so only the version
 * and type are read (as Kafka does); a negative version or a short key is malformed.
 */
export function parseControlKey(key: Buffer | null): ControlRecordKey {
  if (key === null || key.length < CONTROL_KEY_SIZE) {
    throw new DecodeError(
      `control record key of ${key === null ? 'null' : key.length} bytes, need ${CONTROL_KEY_SIZE}`,
    );
  }
  const version = key.readInt16BE(0);
  if (version < 0) throw new DecodeError(`invalid control record key version ${version}`);
  return { version, type: key.readInt16BE(2) };
}

export interface EndTxnMarker {
  version: number;
  coordinatorEpoch: number;
}

export function encodeEndTxnMarkerValue(coordinatorEpoch: number): Buffer {
  const b = Buffer.alloc(END_TXN_MARKER_SIZE);
  b.writeInt16BE(END_TXN_MARKER_VERSION, 0);
  b.writeInt32BE(coordinatorEpoch, 2);
  return b;
}

export function parseEndTxnMarkerValue(value: Buffer | null): EndTxnMarker {
  if (value === null || value.length < END_TXN_MARKER_SIZE) {
    throw new DecodeError(
      `end transaction marker of ${value === null ? 'null' : value.length} bytes, need ${END_TXN_MARKER_SIZE}`,
    );
  }
  const version = value.readInt16BE(0);
  if (version < 0) throw new DecodeError(`invalid end transaction marker version ${version}`);
  return { version, coordinatorEpoch: value.readInt32BE(2) };
}

export interface EndTxnMarkerBatchOptions {
  baseOffset?: number;
  producerId: bigint;
  producerEpoch: number;
  coordinatorEpoch: number;
  commit: boolean;
  partitionLeaderEpoch?: number;
  timestamp: number;
}

/** The control batch a transaction coordinator writes to end a transaction on a partition. */
export function buildEndTxnMarkerBatch(opts: EndTxnMarkerBatchOptions): Buffer {
  return buildRecordBatch({
    baseOffset: opts.baseOffset ?? 0,
    producerId: opts.producerId,
    producerEpoch: opts.producerEpoch,
    transactional: true,
    control: true,
    partitionLeaderEpoch: opts.partitionLeaderEpoch ?? -1,
    records: [
      {
        key: encodeControlKey(opts.commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT),
        value: encodeEndTxnMarkerValue(opts.coordinatorEpoch),
        timestamp: opts.timestamp,
      },
    ],
  });
}

export interface ParsedEndTxnMarker {
  producerId: bigint;
  producerEpoch: number;
  offset: number;
  commit: boolean;
  coordinatorEpoch: number;
}

/**
 * Reads a transaction marker from a control batch; null when the batch is not a control
 * batch or its record is not COMMIT/ABORT (e.g. a KRaft leader change).
 */
export function parseEndTxnMarkerBatch(batchBuf: Buffer): ParsedEndTxnMarker | null {
  const header = readBatchHeader(batchBuf, 0);
  if (!isControl(header.attributes)) return null;
  const [record] = decodeRecords(batchBuf);
  if (record === undefined) return null;
  const key = parseControlKey(record.key);
  if (key.type !== ControlRecordType.COMMIT && key.type !== ControlRecordType.ABORT) return null;
  const marker = parseEndTxnMarkerValue(record.value);
  return {
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    offset: record.offset,
    commit: key.type === ControlRecordType.COMMIT,
    coordinatorEpoch: marker.coordinatorEpoch,
  };
}
