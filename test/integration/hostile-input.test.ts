import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { ClientConnection } from '../../src/client/connection.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { API_BY_KEY, ApiKey, requestHeaderVersion } from '../../src/protocol/generated/api-table.js';
import { encodeRequestHeader } from '../../src/protocol/generated/headers.js';
import { Reader } from '../../src/protocol/primitives/reader.js';
import { Writer } from '../../src/protocol/primitives/writer.js';
import { buildRecordBatch } from '../../src/protocol/records/batch-builder.js';
import {
  ATTRIBUTES_OFFSET,
  BATCH_LENGTH_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  MAGIC_OFFSET,
  RECORDS_COUNT_OFFSET,
  RECORDS_OFFSET,
  writeBatchCrc,
} from '../../src/protocol/records/record-batch.js';
import { type BrokerProcess, withBroker } from '../helpers/broker-process.js';
import { kafkajsClient, kafkajsConsumeN, kafkajsConsumer, kafkajsProducer } from '../helpers/kafkajs.js';
import { uniqueGroup, uniqueTopic } from '../helpers/unique.js';

/** A request frame (size prefix included) for `apiKey`/`version` with `body`, encoded by the generated codecs. */
function requestFrame(apiKey: number, version: number, correlationId: number, body: unknown): Buffer {
  const w = new Writer(256);
  encodeRequestHeader(
    w,
    { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: 'hostile' },
    requestHeaderVersion(apiKey, version),
  );
  (API_BY_KEY.get(apiKey) as { encodeRequest(w: Writer, m: never, v: number): void }).encodeRequest(
    w,
    body as never,
    version,
  );
  return sized(w.toBuffer());
}

function sized(payload: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

/** Just a request header, as the generated codec writes it. */
function headerOnly(apiKey: number, version: number, correlationId: number): Buffer {
  const w = new Writer(64);
  encodeRequestHeader(
    w,
    { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: 'hostile' },
    requestHeaderVersion(apiKey, version),
  );
  return w.toBuffer();
}

interface Exchange {
  /** Response frames received (size prefix stripped), in order. */
  frames: Buffer[];
  /** Whether the broker closed the connection. */
  closed: boolean;
}

/**
 * Opens a raw connection, writes `bytes`, and collects responses until `frames` of them arrived
 * (then closes our side) or the broker closes the connection. A bound of 15 s fails the test.
 */
async function exchange(broker: BrokerProcess, bytes: Buffer, frames = 0, what = 'request'): Promise<Exchange> {
  const socket: Socket = connect({ host: broker.host, port: broker.port });
  const got: Buffer[] = [];
  let pending = Buffer.alloc(0);
  return new Promise<Exchange>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `${what}: no answer and no close within 15 s (${got.length} frames so far: ${got.map((f) => f.toString('hex')).join(' ')})`,
        ),
      );
    }, 15_000);
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ frames: got, closed });
    };
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const size = pending.readInt32BE(0);
        got.push(pending.subarray(4, 4 + size));
        pending = pending.subarray(4 + size);
      }
      if (frames > 0 && got.length >= frames) done(false);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => done(true));
  });
}

function produceBody(topic: string, records: Buffer, acks = -1) {
  return {
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  };
}

/** Sends one Produce v9 with `records` on a raw connection; returns the partition's error code and message. */
async function produceRaw(
  broker: BrokerProcess,
  topic: string,
  records: Buffer,
): Promise<{ errorCode: number; errorMessage: string | null; closed: boolean }> {
  const ex = await exchange(broker, requestFrame(ApiKey.Produce, 9, 7, produceBody(topic, records)), 1);
  assert.equal(ex.frames.length, 1, 'a Produce with a bad batch is answered, not dropped');
  const frame = ex.frames[0] as Buffer;
  assert.equal(frame.readInt32BE(0), 7, 'correlation id');
  const r = new Reader(frame.subarray(5)); // correlation id, empty tagged fields (flexible header)
  const res = (API_BY_KEY.get(ApiKey.Produce) as { decodeResponse(r: unknown, v: number): unknown }).decodeResponse(
    r,
    9,
  ) as { responses: { partitionResponses: { errorCode: number; errorMessage: string | null }[] }[] };
  const p = res.responses[0]?.partitionResponses[0];
  assert.ok(p !== undefined);
  return { errorCode: p.errorCode, errorMessage: p.errorMessage, closed: ex.closed };
}

function batchOf(values: string[], compression = 0): Buffer {
  return buildRecordBatch({
    compression,
    records: values.map((v, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(v), timestamp: Date.now() })),
  });
}

function recrc(batch: Buffer): Buffer {
  writeBatchCrc(batch, 0);
  return batch;
}

test('hostile input gets Kafka errors or a closed connection for that client alone; the broker keeps serving and loses nothing', async (t) => {
  const broker = await withBroker(t);
  const topic = uniqueTopic('hostile');
  const kafka = kafkajsClient(broker.bootstrap);
  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });

  // Acknowledged before the attack: binary values through kafkajs, and one batch of our own
  // whose stored bytes are compared with what was sent.
  const values = Array.from({ length: 30 }, () => randomBytes(1 + Math.floor(Math.random() * 300)));
  const producer = await kafkajsProducer(t, kafka);
  await producer.send({ topic, acks: -1, messages: values.slice(0, 20).map((value, i) => ({ key: `k${i}`, value })) });
  const healthy = new ClientConnection({ host: broker.host, port: broker.port, clientId: 'healthy' });
  await healthy.connect();
  t.after(() => healthy.close());
  const ownBatch = buildRecordBatch({
    records: values
      .slice(20)
      .map((value, i) => ({ key: Buffer.from(`own${i}`), value, timestamp: 1_700_000_000_000 + i })),
  });
  const acked = (await healthy.request(ApiKey.Produce, 9, produceBody(topic, ownBatch))) as {
    responses: { partitionResponses: { errorCode: number; baseOffset: bigint }[] }[];
  };
  assert.equal(acked.responses[0]?.partitionResponses[0]?.errorCode, 0);
  assert.equal(acked.responses[0]?.partitionResponses[0]?.baseOffset, 20n);

  const stillHealthy = async (after: string) => {
    const r = (await healthy.request(ApiKey.Metadata, 12, { topics: [{ name: topic }] })) as {
      topics: { errorCode: number; partitions: unknown[] }[];
    };
    assert.equal(r.topics[0]?.errorCode, 0, `the healthy connection still works after ${after}`);
  };

  const closes: Array<[string, Buffer]> = [
    ['a frame shorter than a request header', sized(Buffer.from([0, 3, 0]))],
    ['an oversize size prefix (2 GiB)', Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 12])],
    ['a size prefix over socket.request.max.bytes', Buffer.concat([Buffer.from([0x06, 0x40, 0, 1]), randomBytes(64)])],
    ['a negative size prefix', Buffer.from([0xff, 0xff, 0xff, 0xfb, 0, 0, 0, 0])],
    [
      'a truncated header (client id longer than the frame)',
      sized(Buffer.concat([headerOnly(ApiKey.Metadata, 4, 1).subarray(0, 8), Buffer.from([0x00, 0x40, 0x61])])),
    ],
    [
      'an unknown API key',
      sized(Buffer.concat([Buffer.from([0x03, 0xe7, 0, 0, 0, 0, 0, 1]), Buffer.from([0xff, 0xff])])),
    ],
    [
      'an unsupported version of Metadata',
      sized(Buffer.concat([Buffer.from([0, 3, 0, 99, 0, 0, 0, 1]), Buffer.from([0xff, 0xff])])),
    ],
    [
      'garbage after a valid header (an array of 2^31-1 topics)',
      sized(Buffer.concat([headerOnly(ApiKey.Metadata, 4, 1), Buffer.from([0x7f, 0xff, 0xff, 0xff]), randomBytes(32)])),
    ],
    [
      'random bytes after a valid flexible header',
      sized(Buffer.concat([headerOnly(ApiKey.CreateTopics, 7, 1), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])])),
    ],
  ];
  for (const [what, bytes] of closes) {
    const ex = await exchange(broker, bytes, 0, what);
    assert.equal(ex.closed, true, `${what}: connection closed`);
    assert.equal(ex.frames.length, 0, `${what}: no response`);
    await stillHealthy(what);
  }

  // KIP-511: an ApiVersions of a version the broker does not know is answered in v0 with
  // UNSUPPORTED_VERSION (and the versions it has), not closed.
  const avUnknown = headerOnly(ApiKey.ApiVersions, 3, 43);
  avUnknown.writeInt16BE(99, 2);
  const av99 = await exchange(broker, sized(Buffer.concat([avUnknown, Buffer.from([0, 0, 0])])), 1);
  assert.equal((av99.frames[0] as Buffer).readInt32BE(0), 43);
  assert.equal((av99.frames[0] as Buffer).readInt16BE(4), ErrorCode.UNSUPPORTED_VERSION);
  assert.equal(av99.closed, false);

  // Corrupt batches in Produce: an error code for the partition, the connection stays usable.
  const badCrc = batchOf(['a', 'b']);
  badCrc[badCrc.length - 1] = (badCrc[badCrc.length - 1] as number) ^ 0xff;

  const longLength = batchOf(['a', 'b']);
  longLength.writeInt32BE(longLength.readInt32BE(BATCH_LENGTH_OFFSET) + 100, BATCH_LENGTH_OFFSET);
  const shortLength = batchOf(['a', 'b']);
  shortLength.writeInt32BE(10, BATCH_LENGTH_OFFSET);
  const truncated = batchOf(['a', 'b', 'c']).subarray(0, 40);

  const wrongMagic = batchOf(['a']);
  wrongMagic.writeInt8(3, MAGIC_OFFSET);
  const magic1 = batchOf(['a']);
  magic1.writeInt8(1, MAGIC_OFFSET);

  const countTooHigh = batchOf(['a', 'b']);
  countTooHigh.writeInt32BE(3, RECORDS_COUNT_OFFSET);
  countTooHigh.writeInt32BE(2, LAST_OFFSET_DELTA_OFFSET);
  recrc(countTooHigh);
  const countTooLow = batchOf(['a', 'b', 'c']);
  countTooLow.writeInt32BE(2, RECORDS_COUNT_OFFSET);
  countTooLow.writeInt32BE(1, LAST_OFFSET_DELTA_OFFSET);
  recrc(countTooLow);

  // gzip attributes over bytes that are not gzip, and a gzip stream cut short.
  const notGzip = batchOf(['a', 'b']);
  notGzip.writeInt16BE(1, ATTRIBUTES_OFFSET);
  recrc(notGzip);
  const gz = batchOf(['x'.repeat(500), 'y'.repeat(500)], 1);
  const records = gz.subarray(RECORDS_OFFSET, gz.length - 20);
  const cutGzip = Buffer.concat([gz.subarray(0, RECORDS_OFFSET), records]);
  cutGzip.writeInt32BE(cutGzip.length - 12, BATCH_LENGTH_OFFSET);
  recrc(cutGzip);

  // Records whose offset deltas do not run 0..n-1 under a header that is otherwise consistent:
  // one record claiming delta 3, and a gzip batch whose second record claims delta 2.
  const lying = (deltas: number[], compression: number) => {
    const b = buildRecordBatch({
      compression,
      records: deltas.map((d) => ({ key: Buffer.from(`k${d}`), value: Buffer.from(`v${d}`), offsetDelta: d })),
    });
    b.writeInt32BE(deltas.length - 1, LAST_OFFSET_DELTA_OFFSET);
    return recrc(b);
  };
  const liesUncompressed = lying([3], 0);
  const liesGzip = lying([0, 2], 1);

  const tooLarge = buildRecordBatch({ records: [{ value: randomBytes(3 * 1024 * 1024) }] });

  const corrupt: Array<[string, Buffer, number]> = [
    ['a bad CRC', badCrc, ErrorCode.CORRUPT_MESSAGE],
    ['a batch length past the end', longLength, ErrorCode.CORRUPT_MESSAGE],
    ['a batch length below the header size', shortLength, ErrorCode.CORRUPT_MESSAGE],
    ['a batch cut in its header', truncated, ErrorCode.CORRUPT_MESSAGE],
    ['an unknown magic', wrongMagic, ErrorCode.CORRUPT_MESSAGE],
    ['magic 1 in Produce v9', magic1, ErrorCode.INVALID_RECORD],
    ['more records declared than present', countTooHigh, ErrorCode.INVALID_RECORD],
    ['fewer records declared than present', countTooLow, ErrorCode.INVALID_RECORD],
    ['one uncompressed record claiming offset delta 3', liesUncompressed, ErrorCode.INVALID_RECORD],
    ['gzip records with offset deltas 0, 2', liesGzip, ErrorCode.INVALID_RECORD],
    ['gzip attributes over plain records', notGzip, ErrorCode.CORRUPT_MESSAGE],
    ['a truncated gzip payload', cutGzip, ErrorCode.CORRUPT_MESSAGE],
    ['a batch of 3 MiB over message.max.bytes', tooLarge, ErrorCode.MESSAGE_TOO_LARGE],
  ];
  const reasons: Array<[string, string]> = [];
  for (const [what, batch, expected] of corrupt) {
    const r = await produceRaw(broker, topic, batch);
    assert.equal(r.errorCode, expected, `${what}: error ${r.errorCode} (${r.errorMessage})`);
    assert.ok(r.errorMessage !== null && r.errorMessage.length > 0, `${what}: an error message says why`);
    reasons.push([what, r.errorMessage]);
    await stillHealthy(what);
  }

  // acks=0: the only way to tell the producer is to close its connection (Kafka does the same).
  const acks0 = await exchange(broker, requestFrame(ApiKey.Produce, 9, 9, produceBody(topic, badCrc, 0)));
  assert.equal(acks0.closed, true, 'an acks=0 Produce with a corrupt batch closes that connection');
  assert.equal(acks0.frames.length, 0);

  // A log line on the broker for each refused request and each closed connection.
  const stderr = broker.output().stderr;
  const closedLines = stderr.split('\n').filter((l) => l.includes('closing connection')).length;
  assert.ok(closedLines >= closes.length + 1, `${closedLines} "closing connection" lines:\n${stderr}`);
  const rejectedLines = stderr.split('\n').filter((l) => l.includes('rejected produce')).length;
  assert.ok(rejectedLines >= corrupt.length, `${rejectedLines} "rejected produce" lines:\n${stderr}`);
  for (const [what, reason] of reasons) {
    // The logger quotes values with spaces as JSON strings.
    assert.ok(stderr.includes(JSON.stringify(reason)) || stderr.includes(reason), `${what}: logged "${reason}"`);
  }
  assert.equal(broker.running, true, 'the broker is still running');

  // Nothing acknowledged was lost: another client reads every value back, and our own batch
  // is stored byte for byte as sent (only the base offset and leader epoch are the broker's).
  const offsets = await admin.fetchTopicOffsets(topic);
  assert.equal(offsets[0]?.high, '30', 'no refused batch was appended');
  const consumer = await kafkajsConsumer(t, kafka, { groupId: uniqueGroup('hostile-check') });
  const got = await kafkajsConsumeN(consumer, topic, 30);
  assert.deepEqual(
    got.map((m) => m.message.value?.toString('hex')),
    values.map((v) => v.toString('hex')),
  );
  const fetched = (await healthy.request(ApiKey.Fetch, 4, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 20n, partitionMaxBytes: 1 << 20 }] }],
  })) as { responses: { partitions: { errorCode: number; records: Buffer | null }[] }[] };
  const stored = fetched.responses[0]?.partitions[0]?.records;
  assert.ok(stored !== null && stored !== undefined);
  assert.equal(stored.readBigInt64BE(0), 20n, 'the batch starts at its assigned offset');
  assert.ok(
    stored
      .subarray(BATCH_LENGTH_OFFSET, BATCH_LENGTH_OFFSET + 4)
      .equals(ownBatch.subarray(BATCH_LENGTH_OFFSET, BATCH_LENGTH_OFFSET + 4)) &&
      stored.subarray(MAGIC_OFFSET, ownBatch.length).equals(ownBatch.subarray(MAGIC_OFFSET)),
    'stored batch equals the acknowledged one from the magic byte on (CRC, attributes, records)',
  );
});
