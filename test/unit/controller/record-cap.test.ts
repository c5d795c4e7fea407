import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerConfig } from '../../../src/config/broker-config.js';
import { MAX_RECORDS_PER_USER_OP } from '../../../src/controller/controller-operation.js';
import { ElectionType, electLeaders } from '../../../src/controller/replication-operations.js';
import { deleteTopics } from '../../../src/controller/topic-operations.js';
import { applyRecords } from '../../../src/metadata/apply-records.js';
import { EMPTY_IMAGE, type MetadataImage } from '../../../src/metadata/image.js';
import type { MetadataRecord } from '../../../src/metadata/records.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { testTopicId } from '../../helpers/metadata-records.js';

// The 10,000-records-per-operation cap (Kafka's MAX_RECORDS_PER_USER_OP) on DeleteTopics and
// ElectLeaders; CreateTopics and CreatePartitions are covered in operations.test.ts.

const config = BrokerConfig.defaults();

function broker(id: number): MetadataRecord {
  return {
    type: 'RegisterBrokerRecord',
    data: {
      brokerId: id,
      incarnationId: `00000000-0000-4000-9000-${String(id).padStart(12, '0')}`,
      brokerEpoch: BigInt(id),
      endPoints: [{ name: 'PLAINTEXT', host: `b${id}`, port: 9092, securityProtocol: 0 }],
      rack: null,
      fenced: false,
      inControlledShutdown: false,
    },
  };
}

/** Brokers 1 and 2, and `topics` topics of `partitions` partitions each, replicas [1, 2] led by 2 (not the preferred 1). */
function image(topics: number, partitions: number): MetadataImage {
  const records: MetadataRecord[] = [broker(1), broker(2)];
  for (let n = 1; n <= topics; n++) {
    const topicId = testTopicId(n);
    records.push({ type: 'TopicRecord', data: { name: `t${n}`, topicId } });
    for (let p = 0; p < partitions; p++) {
      records.push({
        type: 'PartitionRecord',
        data: { partitionId: p, topicId, replicas: [1, 2], isr: [1, 2], leader: 2, leaderEpoch: 0, partitionEpoch: 0 },
      });
    }
  }
  return applyRecords(EMPTY_IMAGE, records, records.length);
}

test('DeleteTopics: one record per topic however many partitions; past 10,000 topics the rest are left with UNKNOWN_SERVER_ERROR, as Kafka', () => {
  const wide = image(1, 20_000);
  const one = deleteTopics(wide, { config, newTopicId: () => '' }, [{ name: 't1', topicId: null }]);
  assert.deepEqual(one.records, [{ type: 'RemoveTopicRecord', data: { topicId: testTopicId(1) } }]);
  assert.equal(one.response[0]?.errorCode, ErrorCode.NONE);

  const many = image(MAX_RECORDS_PER_USER_OP + 2, 1);
  const names = Array.from({ length: MAX_RECORDS_PER_USER_OP + 2 }, (_, i) => ({ name: `t${i + 1}`, topicId: null }));
  // A topic named twice, and one unknown, write nothing and do not count.
  const targets = [{ name: 't1', topicId: null }, ...names, { name: 'missing', topicId: null }];
  const r = deleteTopics(many, { config, newTopicId: () => '' }, targets);
  assert.equal(r.records.length, MAX_RECORDS_PER_USER_OP);
  assert.deepEqual(
    r.response.slice(-4).map((x) => [x.name, x.errorCode]),
    [
      [`t${MAX_RECORDS_PER_USER_OP}`, ErrorCode.NONE],
      [`t${MAX_RECORDS_PER_USER_OP + 1}`, ErrorCode.UNKNOWN_SERVER_ERROR],
      [`t${MAX_RECORDS_PER_USER_OP + 2}`, ErrorCode.UNKNOWN_SERVER_ERROR],
      ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ],
  );
  assert.match(r.response.at(-2)?.errorMessage ?? '', /at most 10000 topics/);
  assert.equal(r.response.filter((x) => x.errorCode === ErrorCode.NONE).length, MAX_RECORDS_PER_USER_OP + 1);
  const after = applyRecords(many, r.records, many.offset + r.records.length);
  assert.deepEqual(
    [...after.topicsByName.keys()],
    [`t${MAX_RECORDS_PER_USER_OP + 1}`, `t${MAX_RECORDS_PER_USER_OP + 2}`],
  );
});

test('ElectLeaders: an election needing more than 10,000 records is refused whole with POLICY_VIOLATION, one of 10,000 goes through', () => {
  const ctx = { config, shuttingDown: new Set<number>() };
  const atCap = image(1, MAX_RECORDS_PER_USER_OP);
  const all = electLeaders(atCap, ctx, ElectionType.PREFERRED, null);
  assert.equal(all.response.errorCode, ErrorCode.NONE);
  assert.equal(all.records.length, MAX_RECORDS_PER_USER_OP);

  const over = image(2, MAX_RECORDS_PER_USER_OP / 2 + 1);
  const everything = electLeaders(over, ctx, ElectionType.PREFERRED, null);
  assert.equal(everything.records.length, 0, 'nothing is written');
  assert.equal(everything.response.errorCode, ErrorCode.POLICY_VIOLATION);

  const partitions = Array.from({ length: MAX_RECORDS_PER_USER_OP / 2 + 1 }, (_, p) => p);
  const named = electLeaders(over, ctx, ElectionType.PREFERRED, [
    { topic: 't1', partitions },
    { topic: 't2', partitions },
  ]);
  assert.equal(named.records.length, 0);
  assert.equal(named.response.errorCode, ErrorCode.POLICY_VIOLATION);
  const results = named.response.replicaElectionResults.flatMap((t) => t.partitionResult);
  assert.equal(results.length, partitions.length * 2, 'every partition named is answered');
  assert.ok(results.every((p) => p.errorCode === ErrorCode.POLICY_VIOLATION));
  assert.match(results[0]?.errorMessage ?? '', /excessively large batch operation.*at most 10000/);
  // Partitions that need no election write nothing, so do not count.
  const settled = applyRecords(atCap, all.records, atCap.offset + all.records.length);
  assert.equal(electLeaders(settled, ctx, ElectionType.PREFERRED, null).response.errorCode, ErrorCode.NONE);
});
