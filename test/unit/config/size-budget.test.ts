/** The effective size limit of a partition from retention.bytes and the two size budgets. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brokerConfigDef } from '../../../src/config/broker-configs.js';
import { validateTopicConfigs } from '../../../src/config/config-values.js';
import { budgetShare, effectiveSizeLimit } from '../../../src/config/size-budget.js';
import { topicConfigDef } from '../../../src/config/topic-configs.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';

const MIB = 1024 * 1024;
const off = { retentionBytes: -1, retentionBytesTotal: -1, partitionCount: 4, brokerRetentionBytesTotal: -1 };

test('a topic budget is divided evenly by the partition count, again when partitions are added', () => {
  assert.deepEqual(effectiveSizeLimit({ ...off, retentionBytesTotal: 100 * MIB, brokerPartitionCount: 10 }), {
    bytes: 25 * MIB,
    source: 'retention.bytes.total',
  });
  assert.equal(
    effectiveSizeLimit({ ...off, retentionBytesTotal: 100 * MIB, partitionCount: 8, brokerPartitionCount: 10 }).bytes,
    12.5 * MIB,
  );
  // Shares are whole bytes, rounded down so that the shares never add up to more than the budget.
  assert.equal(budgetShare(10, 3), 3);
});

test('with no size setting there is no limit and no source', () => {
  assert.deepEqual(effectiveSizeLimit({ ...off, brokerPartitionCount: 3 }), { bytes: -1, source: null });
  assert.equal(budgetShare(-1, 5), -1);
});

test('the smallest of retention.bytes, the topic share and the broker share wins', () => {
  const base = { ...off, retentionBytesTotal: 100 * MIB, brokerRetentionBytesTotal: 60 * MIB, brokerPartitionCount: 3 };
  assert.deepEqual(effectiveSizeLimit(base), { bytes: 20 * MIB, source: 'log.retention.bytes.total' });
  assert.deepEqual(effectiveSizeLimit({ ...base, retentionBytes: 10 * MIB }), {
    bytes: 10 * MIB,
    source: 'retention.bytes',
  });
  assert.deepEqual(effectiveSizeLimit({ ...base, brokerPartitionCount: 2 }), {
    bytes: 25 * MIB,
    source: 'retention.bytes.total',
  });
  // A tie names Kafka's own setting.
  assert.equal(effectiveSizeLimit({ ...base, retentionBytes: 20 * MIB }).source, 'retention.bytes');
});

test('a budget of 0 is a limit of 0, and no partitions count as one', () => {
  assert.deepEqual(effectiveSizeLimit({ ...off, retentionBytesTotal: 0, brokerPartitionCount: 1 }), {
    bytes: 0,
    source: 'retention.bytes.total',
  });
  assert.equal(budgetShare(1000, 0), 1000);
});

test('the budgets are in the catalogue: a long of -1 (off) or more, the broker one dynamic', () => {
  assert.deepEqual(validateTopicConfigs({ 'retention.bytes.total': '104857600' }), []);
  const [bad] = validateTopicConfigs({ 'retention.bytes.total': '-2' });
  assert.equal(bad?.name, 'retention.bytes.total');
  assert.equal(bad?.errorCode, ErrorCode.INVALID_CONFIG);
  assert.equal(validateTopicConfigs({ 'retention.bytes.total': 'lots' }).length, 1);
  const broker = brokerConfigDef('log.retention.bytes.total');
  assert.equal(broker?.type, 'long');
  assert.equal(broker?.default, -1);
  assert.equal(broker?.dynamic, 'cluster-wide');
  assert.equal(topicConfigDef('retention.bytes.total')?.default, -1);
});
