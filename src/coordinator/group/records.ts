/**
 * The `__consumer_offsets` record layouts the classic group coordinator writes and reads back.
 * Every key and value starts with an int16 schema version, as in Kafka: keys 0 and 1 are offset
 * commits, key 2 is group metadata (3+ belong to the newer consumer/share group protocols and
 * are skipped by this coordinator). A null value is a tombstone.
 */
import {
  decodeGroupMetadataKey,
  encodeGroupMetadataKey,
} from '../../protocol/generated/group-coordinator/group-metadata-key.js';
import {
  decodeGroupMetadataValue,
  encodeGroupMetadataValue,
  type GroupMetadataValue,
  type GroupMetadataValueInit,
} from '../../protocol/generated/group-coordinator/group-metadata-value.js';
import {
  decodeOffsetCommitKey,
  encodeOffsetCommitKey,
} from '../../protocol/generated/group-coordinator/offset-commit-key.js';
import {
  decodeOffsetCommitValue,
  encodeOffsetCommitValue,
  type OffsetCommitValue,
  type OffsetCommitValueInit,
} from '../../protocol/generated/group-coordinator/offset-commit-value.js';
import { DecodeError } from '../../protocol/primitives/decode-error.js';
import { Reader } from '../../protocol/primitives/reader.js';
import { Writer } from '../../protocol/primitives/writer.js';

/** One record for `__consumer_offsets`: key and value bytes, value null for a tombstone. */
export interface CoordinatorRecord {
  readonly key: Buffer;
  readonly value: Buffer | null;
}

export const OFFSET_COMMIT_KEY_VERSION = 1;
export const GROUP_METADATA_KEY_VERSION = 2;
/** GroupMetadataValue v3 carries group.instance.id (KIP-345) and the state timestamp (KIP-211). */
export const GROUP_METADATA_VALUE_VERSION = 3;
/** OffsetCommitValue v3 carries the leader epoch and no per-offset expiry (KIP-211). */
export const OFFSET_COMMIT_VALUE_VERSION = 3;
/** v1 is the only layout with an explicit expire timestamp (OffsetCommit v2-v4 retention). */
export const OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY = 1;

function versioned(version: number, body: (w: Writer) => void): Buffer {
  const w = new Writer();
  w.writeInt16(version);
  body(w);
  return w.toBuffer();
}

export function groupMetadataKey(groupId: string): Buffer {
  return versioned(GROUP_METADATA_KEY_VERSION, (w) =>
    encodeGroupMetadataKey(w, { group: groupId }, GROUP_METADATA_KEY_VERSION),
  );
}

export function groupMetadataValue(value: GroupMetadataValueInit): Buffer {
  return versioned(GROUP_METADATA_VALUE_VERSION, (w) =>
    encodeGroupMetadataValue(w, value, GROUP_METADATA_VALUE_VERSION),
  );
}

export function offsetCommitKey(groupId: string, topic: string, partition: number): Buffer {
  return versioned(OFFSET_COMMIT_KEY_VERSION, (w) =>
    encodeOffsetCommitKey(w, { group: groupId, topic, partition }, OFFSET_COMMIT_KEY_VERSION),
  );
}

/** Written as v1 when the commit carries an explicit expire timestamp, v3 otherwise (Kafka's choice). */
export function offsetCommitValue(value: OffsetCommitValueInit): Buffer {
  const version =
    value.expireTimestamp !== undefined && value.expireTimestamp !== -1n
      ? OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY
      : OFFSET_COMMIT_VALUE_VERSION;
  return versioned(version, (w) => encodeOffsetCommitValue(w, value, version));
}

export type DecodedCoordinatorKey =
  | { readonly type: 'offset-commit'; readonly groupId: string; readonly topic: string; readonly partition: number }
  | { readonly type: 'group-metadata'; readonly groupId: string }
  | { readonly type: 'other'; readonly version: number };

export function decodeCoordinatorKey(key: Buffer): DecodedCoordinatorKey {
  const r = new Reader(key);
  const version = r.readInt16();
  if (version === 0 || version === 1) {
    const k = decodeOffsetCommitKey(r, version);
    return { type: 'offset-commit', groupId: k.group, topic: k.topic, partition: k.partition };
  }
  if (version === GROUP_METADATA_KEY_VERSION) {
    return { type: 'group-metadata', groupId: decodeGroupMetadataKey(r, version).group };
  }
  if (version < 0) throw new DecodeError(`negative record key version ${version}`, 0);
  return { type: 'other', version };
}

export function decodeGroupMetadataValueRecord(value: Buffer): GroupMetadataValue {
  const r = new Reader(value);
  return decodeGroupMetadataValue(r, r.readInt16());
}

export function decodeOffsetCommitValueRecord(value: Buffer): OffsetCommitValue {
  const r = new Reader(value);
  return decodeOffsetCommitValue(r, r.readInt16());
}
