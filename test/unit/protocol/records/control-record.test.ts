import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DecodeError } from '../../../../src/protocol/primitives/decode-error.js';
import { buildRecordBatch } from '../../../../src/protocol/records/batch-builder.js';
import {
  buildEndTxnMarkerBatch,
  ControlRecordType,
  encodeControlKey,
  encodeEndTxnMarkerValue,
  parseControlKey,
  parseEndTxnMarkerBatch,
  parseEndTxnMarkerValue,
} from '../../../../src/protocol/records/control-record.js';
import { decodeRecords } from '../../../../src/protocol/records/record.js';
import {
  isControl,
  isTransactional,
  readBatchHeader,
  validateBatch,
} from '../../../../src/protocol/records/record-batch.js';

test('control keys are version 0 then the type, big-endian int16s', () => {
  assert.deepEqual([...encodeControlKey(ControlRecordType.COMMIT)], [0, 0, 0, 1]);
  assert.deepEqual([...encodeControlKey(ControlRecordType.ABORT)], [0, 0, 0, 0]);
  assert.deepEqual(parseControlKey(encodeControlKey(ControlRecordType.LEADER_CHANGE)), { version: 0, type: 2 });
});

test('newer control key versions with extra bytes still parse', () => {
  assert.deepEqual(parseControlKey(Buffer.from([0, 1, 0, 1, 9, 9])), { version: 1, type: 1 });
});

test('short, null or negative-version control keys are rejected', () => {
  assert.throws(() => parseControlKey(null), DecodeError);
  assert.throws(() => parseControlKey(Buffer.from([0, 0, 1])), DecodeError);
  assert.throws(() => parseControlKey(Buffer.from([0xff, 0xff, 0, 1])), DecodeError);
});

test('end transaction marker values carry the coordinator epoch', () => {
  const v = encodeEndTxnMarkerValue(123456);
  assert.deepEqual([...v], [0, 0, 0, 1, 0xe2, 0x40]);
  assert.deepEqual(parseEndTxnMarkerValue(v), { version: 0, coordinatorEpoch: 123456 });
  assert.throws(() => parseEndTxnMarkerValue(Buffer.from([0, 0, 0])), DecodeError);
  assert.throws(() => parseEndTxnMarkerValue(null), DecodeError);
});

test('a commit marker batch is a transactional control batch that parses back', () => {
  const batch = buildEndTxnMarkerBatch({
    baseOffset: 99,
    producerId: 4000n,
    producerEpoch: 3,
    coordinatorEpoch: 12,
    commit: true,
    partitionLeaderEpoch: 5,
    timestamp: 1_700_000_000_000,
  });
  const h = readBatchHeader(batch);
  assert.ok(isControl(h.attributes) && isTransactional(h.attributes));
  assert.equal(h.baseSequence, -1);
  assert.equal(h.recordCount, 1);
  assert.ok(validateBatch(batch, 0, batch.length, { origin: 'coordinator' }).ok);
  assert.deepEqual(parseEndTxnMarkerBatch(batch), {
    producerId: 4000n,
    producerEpoch: 3,
    offset: 99,
    commit: true,
    coordinatorEpoch: 12,
  });
  const [record] = decodeRecords(batch);
  assert.deepEqual(parseControlKey(record?.key ?? null), { version: 0, type: ControlRecordType.COMMIT });
});

test('an abort marker parses as not committed; data and other control batches are not markers', () => {
  const abort = buildEndTxnMarkerBatch({
    producerId: 1n,
    producerEpoch: 0,
    coordinatorEpoch: 0,
    commit: false,
    timestamp: 0,
  });
  assert.equal(parseEndTxnMarkerBatch(abort)?.commit, false);
  assert.equal(parseEndTxnMarkerBatch(buildRecordBatch({ records: [{ value: Buffer.from('x') }] })), null);
  const leaderChange = buildRecordBatch({
    control: true,
    records: [{ key: encodeControlKey(ControlRecordType.LEADER_CHANGE), value: Buffer.alloc(8) }],
  });
  assert.equal(parseEndTxnMarkerBatch(leaderChange), null);
});
