/**
 * KRaft's control records as they sit in a record batch: the key is Kafka's control record key
 * (version 0, type), the value the record's message encoded at the version Kafka's
 * ControlRecordUtils writes (0 for all of them): LeaderChangeMessage (type 2), SnapshotHeader (3),
 * SnapshotFooter (4), KRaftVersion (5), Voters (6). A control batch holds only control records;
 * Kafka puts several in one batch (a new leader's LeaderChange with the voters; a snapshot's
 * header with the KRaftVersion and Voters records).
 */
import { decodeKRaftVersionRecord, encodeKRaftVersionRecord } from '../protocol/generated/data/kraft-version-record.js';
import {
  decodeLeaderChangeMessage,
  encodeLeaderChangeMessage,
} from '../protocol/generated/data/leader-change-message.js';
import {
  decodeSnapshotFooterRecord,
  encodeSnapshotFooterRecord,
} from '../protocol/generated/data/snapshot-footer-record.js';
import {
  decodeSnapshotHeaderRecord,
  encodeSnapshotHeaderRecord,
} from '../protocol/generated/data/snapshot-header-record.js';
import { decodeVotersRecord, encodeVotersRecord } from '../protocol/generated/data/voters-record.js';
import { DecodeError } from '../protocol/primitives/decode-error.js';
import { Reader } from '../protocol/primitives/reader.js';
import { Writer } from '../protocol/primitives/writer.js';
import type { RecordInput } from '../protocol/records/batch-builder.js';
import { ControlRecordType, encodeControlKey, parseControlKey } from '../protocol/records/control-record.js';
import type { KafkaRecord } from '../protocol/records/record.js';
import type { ControlRecord, Voter } from './types.js';

/** The version of each control record's message Kafka writes and reads (ControlRecordUtils). */
const CONTROL_MESSAGE_VERSION = 0;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

function encode(write: (w: Writer) => void): Buffer {
  const w = new Writer(64);
  write(w);
  return w.toBuffer();
}

/** The key and value of `record` as a record of a control batch. */
export function controlRecordInput(record: ControlRecord, timestamp: number): RecordInput {
  switch (record.type) {
    case 'LeaderChange':
      return {
        key: encodeControlKey(ControlRecordType.LEADER_CHANGE),
        value: encode((w) =>
          encodeLeaderChangeMessage(
            w,
            {
              version: CONTROL_MESSAGE_VERSION,
              leaderId: record.leaderId,
              voters: record.voters.map((voterId) => ({ voterId })),
              grantingVoters: record.grantingVoters.map((voterId) => ({ voterId })),
            },
            CONTROL_MESSAGE_VERSION,
          ),
        ),
        timestamp,
      };
    case 'KRaftVersion':
      return {
        key: encodeControlKey(ControlRecordType.KRAFT_VERSION),
        value: encode((w) =>
          encodeKRaftVersionRecord(
            w,
            { version: CONTROL_MESSAGE_VERSION, kraftVersion: record.kraftVersion },
            CONTROL_MESSAGE_VERSION,
          ),
        ),
        timestamp,
      };
    case 'Voters':
      return {
        key: encodeControlKey(ControlRecordType.KRAFT_VOTERS),
        value: encode((w) =>
          encodeVotersRecord(
            w,
            {
              version: CONTROL_MESSAGE_VERSION,
              voters: record.voters.map((v) => ({
                voterId: v.id,
                voterDirectoryId: v.directoryId ?? ZERO_UUID,
                endpoints: v.endpoints.map((e) => ({ name: e.name, host: e.host, port: e.port })),
                kraftVersionFeature: {
                  minSupportedVersion: v.minSupportedVersion,
                  maxSupportedVersion: v.maxSupportedVersion,
                },
              })),
            },
            CONTROL_MESSAGE_VERSION,
          ),
        ),
        timestamp,
      };
  }
}

export function snapshotHeaderInput(lastContainedLogTimestamp: number, timestamp: number): RecordInput {
  return {
    key: encodeControlKey(ControlRecordType.SNAPSHOT_HEADER),
    value: encode((w) =>
      encodeSnapshotHeaderRecord(
        w,
        { version: CONTROL_MESSAGE_VERSION, lastContainedLogTimestamp: BigInt(lastContainedLogTimestamp) },
        CONTROL_MESSAGE_VERSION,
      ),
    ),
    timestamp,
  };
}

export function snapshotFooterInput(timestamp: number): RecordInput {
  return {
    key: encodeControlKey(ControlRecordType.SNAPSHOT_FOOTER),
    value: encode((w) => encodeSnapshotFooterRecord(w, { version: CONTROL_MESSAGE_VERSION }, CONTROL_MESSAGE_VERSION)),
    timestamp,
  };
}

/** What one record of a control batch is. */
export type DecodedControl =
  | { readonly kind: 'raft'; readonly record: ControlRecord }
  | { readonly kind: 'snapshotHeader'; readonly lastContainedLogTimestamp: number }
  | { readonly kind: 'snapshotFooter' }
  /** Transaction markers and types this version does not know: not the core's business. */
  | { readonly kind: 'other'; readonly type: number };

function valueReader(record: KafkaRecord, what: string): Reader {
  if (record.value === null) throw new DecodeError(`${what} control record at offset ${record.offset} has no value`);
  return new Reader(record.value);
}

/** Decodes a record of a control batch; throws DecodeError if its key or value is malformed. */
export function decodeControlRecord(record: KafkaRecord): DecodedControl {
  const { type } = parseControlKey(record.key);
  switch (type) {
    case ControlRecordType.LEADER_CHANGE: {
      const m = decodeLeaderChangeMessage(valueReader(record, 'LeaderChange'), CONTROL_MESSAGE_VERSION);
      return {
        kind: 'raft',
        record: {
          type: 'LeaderChange',
          leaderId: m.leaderId,
          voters: m.voters.map((v) => v.voterId),
          grantingVoters: m.grantingVoters.map((v) => v.voterId),
        },
      };
    }
    case ControlRecordType.KRAFT_VERSION: {
      const m = decodeKRaftVersionRecord(valueReader(record, 'KRaftVersion'), CONTROL_MESSAGE_VERSION);
      return { kind: 'raft', record: { type: 'KRaftVersion', kraftVersion: m.kraftVersion } };
    }
    case ControlRecordType.KRAFT_VOTERS: {
      const m = decodeVotersRecord(valueReader(record, 'Voters'), CONTROL_MESSAGE_VERSION);
      const voters: Voter[] = m.voters.map((v) => ({
        id: v.voterId,
        directoryId: v.voterDirectoryId === ZERO_UUID ? undefined : v.voterDirectoryId,
        endpoints: v.endpoints.map((e) => ({ name: e.name, host: e.host, port: e.port })),
        minSupportedVersion: v.kraftVersionFeature.minSupportedVersion,
        maxSupportedVersion: v.kraftVersionFeature.maxSupportedVersion,
      }));
      return { kind: 'raft', record: { type: 'Voters', voters } };
    }
    case ControlRecordType.SNAPSHOT_HEADER: {
      const m = decodeSnapshotHeaderRecord(valueReader(record, 'SnapshotHeader'), CONTROL_MESSAGE_VERSION);
      return { kind: 'snapshotHeader', lastContainedLogTimestamp: Number(m.lastContainedLogTimestamp) };
    }
    case ControlRecordType.SNAPSHOT_FOOTER:
      decodeSnapshotFooterRecord(valueReader(record, 'SnapshotFooter'), CONTROL_MESSAGE_VERSION);
      return { kind: 'snapshotFooter' };
    default:
      return { kind: 'other', type };
  }
}
