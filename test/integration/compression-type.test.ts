import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientConnection } from '../../src/client/connection.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { buildRecordBatch } from '../../src/protocol/records/batch-builder.js';
import {
  COMPRESSION_NAMES,
  CompressionCodec as Codec,
  type CompressionCodec,
} from '../../src/protocol/records/compression/index.js';
import { compressionOf, readBatchHeader, splitBatches } from '../../src/protocol/records/record-batch.js';
import { withBroker } from '../helpers/broker-process.js';
import { CompressionTypes, kafkajsAdmin, kafkajsClient, kafkajsProducer } from '../helpers/kafkajs.js';
import { kcatConsume, kcatHeaders } from '../helpers/kcat.js';
import { uniqueTopic } from '../helpers/unique.js';

const TS = 1_700_000_000_000;

interface StoredBatch {
  baseOffset: number;
  codec: string;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/** The batches of partition 0 as the broker stores them, read with a raw Fetch (no client decoding). */
async function storedBatches(conn: ClientConnection, topic: string): Promise<StoredBatch[]> {
  const p = await fetchPartition(conn, topic, 11);
  assert.equal(p?.errorCode, 0);
  const buf = p?.records ?? Buffer.alloc(0);
  return splitBatches(buf).map(({ pos }) => {
    const h = readBatchHeader(buf, pos);
    return {
      baseOffset: h.baseOffset,
      codec: COMPRESSION_NAMES[compressionOf(h.attributes) as CompressionCodec],
      producerId: h.producerId,
      producerEpoch: h.producerEpoch,
      baseSequence: h.baseSequence,
      recordCount: h.recordCount,
    };
  });
}

async function fetchPartition(conn: ClientConnection, topic: string, version: number) {
  const res = (await conn.request(ApiKey.Fetch, version, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [],
    rackId: '',
  })) as { responses: { partitions: { errorCode: number; records: Buffer | null }[] }[] };
  return res.responses[0]?.partitions[0];
}

test('compression.type: batches are stored with the topic codec (or the broker default), producer keeps the codec, and consumers read them back exactly', async (t) => {
  const broker = await withBroker(t, { config: { 'compression.type': 'snappy' } });
  const kafka = kafkajsClient(broker.bootstrap);
  const admin = await kafkajsAdmin(t, kafka);
  const producer = await kafkajsProducer(t, kafka);
  const conn = new ClientConnection({ host: broker.host, port: broker.port });
  await conn.connect();
  t.after(() => conn.close());

  // [topic compression.type or undefined to inherit the broker's, codec sent, codec stored]
  const cases: Array<[string | undefined, number, string, string]> = [
    ['zstd', CompressionTypes.None, 'none', 'zstd'],
    ['gzip', CompressionTypes.LZ4, 'lz4', 'gzip'],
    ['lz4', CompressionTypes.ZSTD, 'zstd', 'lz4'],
    ['uncompressed', CompressionTypes.GZIP, 'gzip', 'none'],
    ['producer', CompressionTypes.LZ4, 'lz4', 'lz4'],
    ['producer', CompressionTypes.None, 'none', 'none'],
    [undefined, CompressionTypes.GZIP, 'gzip', 'snappy'],
  ];
  for (const [type, sendCodec, sentName, storedName] of cases) {
    const topic = uniqueTopic(`ctype-${type ?? 'inherit'}-${sentName}`);
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 1,
          configEntries: type === undefined ? [] : [{ name: 'compression.type', value: type }],
        },
      ],
    });
    await producer.send({
      topic,
      compression: sendCodec,
      acks: -1,
      messages: [
        { key: 'k0', value: 'zero'.repeat(40), headers: { h: 'a' }, timestamp: String(TS) },
        { key: 'k1', value: 'one', headers: { h: 'b' }, timestamp: String(TS + 1) },
        { key: 'k2', value: '', headers: { h: 'c' }, timestamp: String(TS + 2) },
      ],
    });
    const label = `topic compression.type=${type ?? '(broker: snappy)'}, sent ${sentName}`;
    const stored = await storedBatches(conn, topic);
    assert.deepEqual(
      stored.map((b) => [b.baseOffset, b.codec, b.recordCount]),
      [[0, storedName, 3]],
      label,
    );
    const got = await kcatConsume(broker.bootstrap, topic, { count: 3, partition: 0 });
    assert.deepEqual(
      got.map((m) => [m.offset, m.key, m.payload, m.ts, kcatHeaders(m)]),
      [
        [0, 'k0', 'zero'.repeat(40), TS, [['h', 'a']]],
        [1, 'k1', 'one', TS + 1, [['h', 'b']]],
        [2, 'k2', '', TS + 2, [['h', 'c']]],
      ],
      label,
    );
  }
});

test('compression.type: an idempotent producer’s recompressed batches keep producer id, epoch and sequences; a changed topic codec applies to the next batches', async (t) => {
  const broker = await withBroker(t);
  const kafka = kafkajsClient(broker.bootstrap);
  const admin = await kafkajsAdmin(t, kafka);
  const topic = uniqueTopic('ctype-idempotent');
  await admin.createTopics({
    topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'compression.type', value: 'zstd' }] }],
  });
  const producer = await kafkajsProducer(t, kafka, { idempotent: true, maxInFlightRequests: 1 });
  const send = (from: number, n: number, compression: number) =>
    producer.send({
      topic,
      acks: -1,
      compression,
      messages: Array.from({ length: n }, (_, i) => ({ key: `k${from + i}`, value: `v${from + i}` })),
    });
  await send(0, 4, CompressionTypes.None);
  await send(4, 3, CompressionTypes.GZIP);
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: 2, name: topic, configEntries: [{ name: 'compression.type', value: 'lz4' }] }],
  });
  await send(7, 2, CompressionTypes.None);

  const conn = new ClientConnection({ host: broker.host, port: broker.port });
  await conn.connect();
  t.after(() => conn.close());
  const stored = await storedBatches(conn, topic);
  const producerId = stored[0]?.producerId ?? -1n;
  assert.ok(producerId >= 0n, `an idempotent producer id (${producerId})`);
  assert.deepEqual(
    stored.map((b) => [b.baseOffset, b.codec, b.producerId, b.producerEpoch, b.baseSequence, b.recordCount]),
    [
      [0, 'zstd', producerId, 0, 0, 4],
      [4, 'zstd', producerId, 0, 4, 3],
      [7, 'lz4', producerId, 0, 7, 2],
    ],
  );
  const got = await kcatConsume(broker.bootstrap, topic, { count: 9, partition: 0 });
  assert.deepEqual(
    got.map((m) => [m.offset, m.key, m.payload]),
    Array.from({ length: 9 }, (_, i) => [i, `k${i}`, `v${i}`]),
  );
});

test('KIP-110: zstd in Produce below v7 and in Fetch below v10 is UNSUPPORTED_COMPRESSION_TYPE; newer versions store and read it', async (t) => {
  const broker = await withBroker(t);
  const kafka = kafkajsClient(broker.bootstrap);
  const admin = await kafkajsAdmin(t, kafka);
  const topic = uniqueTopic('ctype-zstd-version');
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const conn = new ClientConnection({ host: broker.host, port: broker.port });
  await conn.connect();
  t.after(() => conn.close());
  const produce = async (version: number) => {
    const records = buildRecordBatch({
      compression: Codec.ZSTD,
      records: [{ key: Buffer.from('k'), value: Buffer.from(`v${version}`), timestamp: Date.now() }],
    });
    const res = (await conn.request(ApiKey.Produce, version, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    })) as { responses: { partitionResponses: { errorCode: number }[] }[] };
    return res.responses[0]?.partitionResponses[0]?.errorCode;
  };
  assert.equal(await produce(3), ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  assert.equal(await produce(6), ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  assert.equal(await produce(7), 0);
  assert.deepEqual(
    (await storedBatches(conn, topic)).map((b) => [b.baseOffset, b.codec]),
    [[0, 'zstd']],
  );
  // And consumers older than Fetch v10 are told they cannot read it.
  const old = await fetchPartition(conn, topic, 9);
  assert.equal(old?.errorCode, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  assert.equal(old?.records?.length ?? 0, 0);
  const v10 = await fetchPartition(conn, topic, 10);
  assert.equal(v10?.errorCode, 0);
  assert.ok((v10?.records?.length ?? 0) > 0);
});
