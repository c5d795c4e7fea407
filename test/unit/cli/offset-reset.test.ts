import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PartitionOffsets, parseDateTime, parseTopicScope, planReset } from '../../../src/cli/offset-reset.js';
import { formatTable } from '../../../src/cli/table.js';

const p = (
  partition: number,
  committed: number | null,
  earliest: number,
  latest: number,
  atTimestamp?: number | null,
) => ({ topic: 't', partition, committed, earliest, latest, atTimestamp }) satisfies PartitionOffsets;

test('parseTopicScope: a topic alone means every partition, TOPIC:P,P names some (sorted, without repeats)', () => {
  assert.deepEqual(parseTopicScope('orders'), { topic: 'orders', partitions: null });
  assert.deepEqual(parseTopicScope('orders:2,0,2'), { topic: 'orders', partitions: [0, 2] });
  assert.throws(() => parseTopicScope('orders:'), /partition numbers/);
  assert.throws(() => parseTopicScope('orders:1,x'), /partition numbers/);
  assert.throws(() => parseTopicScope(':1'), /missing topic name/);
});

test('parseDateTime: ISO date-times with Z, +HH:MM, +HHMM, or local time; anything else is refused', () => {
  assert.equal(parseDateTime('2024-05-01T12:00:00.000Z'), Date.UTC(2024, 4, 1, 12));
  assert.equal(parseDateTime('2024-05-01T12:00:00.5Z'), Date.UTC(2024, 4, 1, 12, 0, 0, 500));
  assert.equal(parseDateTime('2024-05-01T14:00+02:00'), Date.UTC(2024, 4, 1, 12));
  assert.equal(parseDateTime('2024-05-01T14:00:00+0200'), Date.UTC(2024, 4, 1, 12));
  assert.equal(parseDateTime('2024-05-01T10:00:00-02'), Date.UTC(2024, 4, 1, 12));
  assert.equal(parseDateTime('2024-05-01T12:00:00'), new Date(2024, 4, 1, 12).getTime());
  for (const bad of ['2024-05-01', 'yesterday', '2024-13-01T00:00:00Z', '1714564800000']) {
    assert.throws(() => parseDateTime(bad), /invalid --to-datetime/, bad);
  }
});

test('planReset: earliest, latest and current', () => {
  const parts = [p(1, 7, 2, 10), p(0, null, 0, 5)];
  assert.deepEqual(
    planReset({ kind: 'earliest' }, parts).offsets.map((o) => [o.partition, o.currentOffset, o.newOffset]),
    [
      [0, null, 0],
      [1, 7, 2],
    ],
  );
  assert.deepEqual(
    planReset({ kind: 'latest' }, parts).offsets.map((o) => o.newOffset),
    [5, 10],
  );
  // Without a committed offset, --to-current takes the log end offset (as Kafka does).
  assert.deepEqual(
    planReset({ kind: 'current' }, parts).offsets.map((o) => o.newOffset),
    [5, 7],
  );
});

test('planReset: --to-offset and --shift-by stay within the log start and end offsets, with a warning', () => {
  const parts = [p(0, 4, 2, 10)];
  assert.deepEqual(planReset({ kind: 'offset', offset: 6 }, parts), {
    offsets: [{ topic: 't', partition: 0, currentOffset: 4, newOffset: 6 }],
    warnings: [],
    errors: [],
  });
  const high = planReset({ kind: 'offset', offset: 99 }, parts);
  assert.equal(high.offsets[0]?.newOffset, 10);
  assert.match(high.warnings[0] ?? '', /New offset \(99\) is higher than latest offset for topic partition t-0/);
  const low = planReset({ kind: 'shift', by: -3 }, parts);
  assert.equal(low.offsets[0]?.newOffset, 2);
  assert.match(low.warnings[0] ?? '', /New offset \(1\) is lower than earliest offset/);
  assert.equal(planReset({ kind: 'shift', by: 3 }, parts).offsets[0]?.newOffset, 7);
});

test('planReset: --shift-by refuses partitions without a committed offset', () => {
  const plan = planReset({ kind: 'shift', by: 1 }, [p(0, 3, 0, 10), p(1, null, 0, 10)]);
  assert.deepEqual(plan.errors, ['Cannot shift offset for partition t-1 since there is no current committed offset']);
  assert.deepEqual(
    plan.offsets.map((o) => o.partition),
    [0],
  );
});

test('planReset: --to-datetime takes the offset found by time, or the log end offset when there is none', () => {
  const plan = planReset({ kind: 'datetime', timestamp: 1000 }, [p(0, null, 0, 10, 4), p(1, 2, 0, 8, -1)]);
  assert.deepEqual(
    plan.offsets.map((o) => o.newOffset),
    [4, 8],
  );
  assert.equal(plan.warnings.length, 1);
  assert.match(plan.warnings[0] ?? '', /Partition 1 from topic t .*Falling back to latest known offset/);
});

test('formatTable: columns padded to the widest cell, two spaces apart, no trailing blanks', () => {
  assert.equal(
    formatTable(
      ['GROUP', 'LAG', 'CLIENT'],
      [
        ['a-long-group', '5', 'c'],
        ['g', '12345', ''],
      ],
    ),
    'GROUP         LAG    CLIENT\na-long-group  5      c\ng             12345\n',
  );
});
