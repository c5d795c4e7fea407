import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KafkaClient, KafkaResponseError } from '../../src/client/kafka-client.js';
import { EMBEDDED_DEFAULTS, type LogLevel, startBroker } from '../../src/index.js';
import { getLogLevel, setLogLevel } from '../../src/observability/logger.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { buildRecordBatch } from '../../src/protocol/records/batch-builder.js';

async function setup(t: { after: (fn: () => Promise<void> | void) => void }, config: Record<string, string> = {}) {
  const broker = await startBroker({ config });
  t.after(() => broker.close());
  const client = new KafkaClient({ bootstrap: broker.bootstrap, requestTimeoutMs: 10000 });
  await client.connect();
  t.after(() => client.close());
  return { broker, client };
}

test('startBroker() serves produce and fetch in-process and close() stops it', async (t) => {
  const { broker, client } = await setup(t);
  assert.match(broker.bootstrap, /^127\.0\.0\.1:\d+$/);
  const [created] = await client.createTopics([{ name: 'emb', numPartitions: 2 }]);
  assert.equal(created?.errorCode, 0);
  const base = await client.produce('emb', 1, [
    { key: 'k1', value: 'v1', headers: [{ key: 'h', value: 'x' }], timestamp: 1_700_000_000_000 },
    { key: null, value: 'v2', timestamp: 1_700_000_000_001 },
  ]);
  assert.equal(base, 0);
  assert.equal(await client.produce('emb', 1, [{ value: 'v3' }]), 2, 'offsets continue');
  const { records, highWatermark } = await client.fetch('emb', 1, 0);
  assert.equal(highWatermark, 3);
  assert.deepEqual(
    records.map((r) => [r.offset, r.key?.toString() ?? null, r.value?.toString(), r.headers.map((h) => h.key)]),
    [
      [0, 'k1', 'v1', ['h']],
      [1, null, 'v2', []],
      [2, null, 'v3', []],
    ],
  );
  assert.equal(records[0]?.timestamp, 1_700_000_000_000);
  assert.equal((await client.listOffset('emb', 1, -2)).offset, 0);
  assert.equal((await client.listOffset('emb', 1, -1)).offset, 3);
  assert.equal(
    (await client.listOffset('emb', 1, 1_700_000_000_001)).offset,
    1,
    'the first record at or after the timestamp',
  );
  assert.equal((await client.listOffset('emb', 0, -1)).offset, 0);
});

test('a fetch with nothing to read waits for max_wait_ms and returns as soon as data arrives', async (t) => {
  const { client } = await setup(t);
  await client.createTopics([{ name: 'lp', numPartitions: 1 }]);
  const started = Date.now();
  const empty = await client.fetch('lp', 0, 0, { maxWaitMs: 300 });
  assert.equal(empty.records.length, 0);
  assert.ok(Date.now() - started >= 250, 'waited for max_wait_ms');
  const producer = new KafkaClient({
    bootstrap: (client as unknown as { options: { bootstrap: string } }).options.bootstrap,
  });
  await producer.connect();
  t.after(() => producer.close());
  const waiting = client.fetch('lp', 0, 0, { maxWaitMs: 10000 });
  const t0 = Date.now();
  setTimeout(() => void producer.produce('lp', 0, [{ value: 'wake' }]), 100);
  const got = await waiting;
  assert.equal(got.records[0]?.value?.toString(), 'wake');
  assert.ok(Date.now() - t0 < 5000, 'woken by the append, not the timeout');
});

test('fetching out of range is OFFSET_OUT_OF_RANGE; unknown topic is UNKNOWN_TOPIC_OR_PARTITION', async (t) => {
  const { client } = await setup(t, { 'auto.create.topics.enable': 'false' });
  await client.createTopics([{ name: 'r', numPartitions: 1 }]);
  await client.produce('r', 0, [{ value: 'a' }]);
  await assert.rejects(
    client.fetch('r', 0, 5),
    (e: unknown) => e instanceof KafkaResponseError && e.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE,
  );
  const md = await client.metadata(['nope']);
  assert.equal(md.topics[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});

test('LogAppendTime topics stamp the broker time on every batch', async (t) => {
  const { client } = await setup(t);
  await client.createTopics([
    { name: 'lat', numPartitions: 1, configs: { 'message.timestamp.type': 'LogAppendTime' } },
  ]);
  const before = Date.now();
  await client.produce('lat', 0, [{ value: 'x', timestamp: 1000 }]);
  const [r] = (await client.fetch('lat', 0, 0)).records;
  assert.ok(r !== undefined && r.timestamp >= before && r.timestamp <= Date.now() + 1000, `timestamp ${r?.timestamp}`);
});

test('produce errors: too large, timestamps out of range, keyless records on a compacted topic, corrupt CRC', async (t) => {
  const { client } = await setup(t, { 'message.max.bytes': '2000' });
  await client.createTopics([
    { name: 'e', numPartitions: 1 },
    { name: 'ec', numPartitions: 1, configs: { 'cleanup.policy': 'compact' } },
  ]);
  const code = async (p: Promise<unknown>) => {
    try {
      await p;
      return 0;
    } catch (e) {
      return e instanceof KafkaResponseError ? e.errorCode : -999;
    }
  };
  assert.equal(await code(client.produce('e', 0, [{ value: Buffer.alloc(5000, 1) }])), ErrorCode.MESSAGE_TOO_LARGE);
  assert.equal(
    await code(client.produce('e', 0, [{ value: 'future', timestamp: Date.now() + 7_200_000 }])),
    ErrorCode.INVALID_TIMESTAMP,
  );
  assert.equal(await code(client.produce('ec', 0, [{ key: null, value: 'v' }])), ErrorCode.INVALID_RECORD);
  assert.equal(await code(client.produce('ec', 0, [{ key: 'k', value: 'v' }])), 0);
  await client.createTopics([{ name: 'isr2', numPartitions: 1, configs: { 'min.insync.replicas': '2' } }]);
  assert.equal(await code(client.produce('isr2', 0, [{ value: 'v' }], { acks: -1 })), ErrorCode.NOT_ENOUGH_REPLICAS);
  assert.equal(await code(client.produce('isr2', 0, [{ value: 'v' }], { acks: 1 })), 0, 'acks=1 does not need the ISR');
  // A batch whose CRC no longer matches, sent with the raw connection.
  const conn = await client.leaderFor('e', 0);
  const batch = buildRecordBatch({
    baseOffset: 0,
    records: [{ key: null, value: Buffer.from('ok'), headers: [], timestamp: Date.now() }],
  });
  batch.writeUInt8((batch.readUInt8(batch.length - 1) ^ 0xff) & 0xff, batch.length - 1);
  const res = (await conn.request(ApiKey.Produce, 9, {
    acks: -1,
    timeoutMs: 1000,
    topicData: [{ name: 'e', partitionData: [{ index: 0, records: batch }] }],
  })) as { responses: Array<{ partitionResponses: Array<{ errorCode: number }> }> };
  assert.equal(res.responses[0]?.partitionResponses[0]?.errorCode, ErrorCode.CORRUPT_MESSAGE);
  assert.equal((await client.listOffset('e', 0, -1)).offset, 0, 'nothing was appended');
});

test('DeleteRecords moves the log start offset and earlier offsets become out of range', async (t) => {
  const { client } = await setup(t);
  await client.createTopics([{ name: 'dr', numPartitions: 1 }]);
  for (let i = 0; i < 5; i++) await client.produce('dr', 0, [{ value: `m${i}` }]);
  const conn = await client.leaderFor('dr', 0);
  const res = (await conn.request(ApiKey.DeleteRecords, 2, {
    topics: [{ name: 'dr', partitions: [{ partitionIndex: 0, offset: 3n }] }],
    timeoutMs: 1000,
  })) as { topics: Array<{ partitions: Array<{ errorCode: number; lowWatermark: bigint }> }> };
  assert.equal(res.topics[0]?.partitions[0]?.lowWatermark, 3n);
  assert.equal((await client.listOffset('dr', 0, -2)).offset, 3);
  const { records } = await client.fetch('dr', 0, 3);
  assert.equal(records[0]?.value?.toString(), 'm3');
  await assert.rejects(client.fetch('dr', 0, 1));
});

test('an incremental fetch session returns only partitions with new data', async (t) => {
  const { client } = await setup(t);
  await client.createTopics([{ name: 'fs', numPartitions: 2 }]);
  await client.produce('fs', 0, [{ value: 'a' }]);
  const conn = await client.leaderFor('fs', 0);
  const fetch = (sessionId: number, epoch: number, parts: number[], fetchOffset = 0n) =>
    conn.request(ApiKey.Fetch, 12, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId,
      sessionEpoch: epoch,
      topics:
        parts.length === 0
          ? []
          : [
              {
                topic: 'fs',
                partitions: parts.map((p) => ({
                  partition: p,
                  fetchOffset,
                  logStartOffset: -1n,
                  partitionMaxBytes: 1 << 20,
                })),
              },
            ],
      forgottenTopicsData: [],
      rackId: '',
    }) as Promise<{
      errorCode: number;
      sessionId: number;
      responses: Array<{ partitions: Array<{ partitionIndex: number }> }>;
    }>;
  const full = await fetch(0, 0, [0, 1]);
  assert.ok(full.sessionId > 0);
  assert.equal(full.responses[0]?.partitions.length, 2);
  // The client consumed partition 0 and tells the session its new position.
  const quiet = await fetch(full.sessionId, 1, [0], 1n);
  assert.equal(quiet.responses.length, 0, 'nothing changed');
  await client.produce('fs', 1, [{ value: 'b' }]);
  const changed = await fetch(full.sessionId, 2, []);
  assert.deepEqual(
    changed.responses[0]?.partitions.map((p) => p.partitionIndex),
    [1],
  );
  const stale = await fetch(full.sessionId, 2, []);
  assert.equal(stale.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
});

test('await using closes an embedded broker and removes its temporary data directory; a given dataDir is kept', async () => {
  let bootstrap = '';
  let dataDir = '';
  {
    await using kafka = await startBroker();
    bootstrap = kafka.bootstrap;
    dataDir = kafka.dataDir;
    assert.ok(existsSync(dataDir), `data lives on disk in ${dataDir}`);
    const client = new KafkaClient({ bootstrap, requestTimeoutMs: 10000 });
    await client.connect();
    await client.createTopics([{ name: 'disposed', numPartitions: 1 }]);
    assert.equal(await client.produce('disposed', 0, [{ value: 'v' }]), 0);
    client.close();
  }
  assert.equal(existsSync(dataDir), false, 'the temporary directory is gone');
  const late = new KafkaClient({ bootstrap, requestTimeoutMs: 2000 });
  await assert.rejects(late.connect(), /could not connect/, 'nothing listens any more');
  late.close();

  const kept = mkdtempSync(join(tmpdir(), 'jocko-embedded-'));
  try {
    const first = await startBroker({ dataDir: kept });
    assert.equal(first.dataDir, kept);
    await first[Symbol.asyncDispose]();
    assert.ok(existsSync(join(kept, '.lock')) || readdirSync(kept).length > 0, 'a given data directory is kept');
  } finally {
    rmSync(kept, { recursive: true, force: true });
  }
});

test('an embedded broker starts with test-friendly defaults that config overrides, and names bad keys as API options', async (t) => {
  const { broker, client } = await setup(t);
  const configs = new Map((await client.describeConfigs(4, String(broker.broker.brokerId))).map((c) => [c.name, c]));
  assert.equal(configs.get('group.initial.rebalance.delay.ms')?.value, '0');
  assert.equal(configs.get('log.segment.bytes')?.value, String(1024 * 1024));
  assert.deepEqual(EMBEDDED_DEFAULTS, { 'group.initial.rebalance.delay.ms': '0', 'log.segment.bytes': '1048576' });

  const custom = await setup(t, { 'group.initial.rebalance.delay.ms': '3000' });
  const customConfigs = await custom.client.describeConfigs(4, String(custom.broker.broker.brokerId));
  assert.equal(customConfigs.find((c) => c.name === 'group.initial.rebalance.delay.ms')?.value, '3000');

  await assert.rejects(startBroker({ config: { 'log.segment.bytes': 'big' } }), (err: Error) => {
    assert.match(err.message, /startBroker config\['log\.segment\.bytes'\]/);
    assert.doesNotMatch(err.message, /--set/);
    return true;
  });
});

test('logLevel sets how much an embedded broker logs', async () => {
  const before = getLogLevel();
  const lines: string[] = [];
  const write = process.stderr.write;
  const count = async (logLevel: LogLevel) => {
    lines.length = 0;
    process.stderr.write = ((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      const kafka = await startBroker({ logLevel });
      await kafka.close();
    } finally {
      process.stderr.write = write;
    }
    return lines.length;
  };
  try {
    assert.ok((await count('debug')) > 0, 'debug logs the start');
    assert.equal(await count('silent'), 0, `silent logs nothing: ${lines.join('')}`);
    assert.equal(getLogLevel(), 'silent');
  } finally {
    setLogLevel(before);
  }
});
