/** Records given to an encoder as a list of buffers are written as the same bytes as their concatenation, never joined. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeFetchResponse, encodeFetchResponse } from '../../../../src/protocol/generated/api/01-fetch.js';
import { Reader } from '../../../../src/protocol/primitives/reader.js';
import { Writer } from '../../../../src/protocol/primitives/writer.js';

function response(records: Buffer | readonly Buffer[] | null) {
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [
      {
        topic: 't',
        topicId: '00000000-0000-0000-0000-000000000000',
        partitions: [
          {
            partitionIndex: 0,
            errorCode: 0,
            highWatermark: 10n,
            lastStableOffset: 10n,
            logStartOffset: 0n,
            abortedTransactions: null,
            preferredReadReplica: -1,
            records,
          },
        ],
      },
    ],
  };
}

for (const version of [4, 11, 12, 16]) {
  test(`Fetch v${version}: a list of record buffers encodes as their concatenation, each kept by reference`, () => {
    const parts = [Buffer.alloc(5000, 1), Buffer.alloc(3, 2), Buffer.alloc(70_000, 3)];
    const joined = Buffer.concat(parts);
    const a = new Writer();
    encodeFetchResponse(a, response(parts), version);
    const b = new Writer();
    encodeFetchResponse(b, response(joined), version);
    const chunks = a.toBuffers();
    assert.deepEqual(Buffer.concat(chunks), b.toBuffer());
    assert.ok(chunks.includes(parts[0] as Buffer) && chunks.includes(parts[2] as Buffer), 'large parts not copied');
    const decoded = decodeFetchResponse(new Reader(Buffer.concat(chunks)), version);
    assert.deepEqual(decoded.responses[0]?.partitions[0]?.records, joined);
  });
}

test('an empty list encodes as empty records, not null', () => {
  const a = new Writer();
  encodeFetchResponse(a, response([]), 12);
  const decoded = decodeFetchResponse(new Reader(a.toBuffer()), 12);
  assert.deepEqual(decoded.responses[0]?.partitions[0]?.records, Buffer.alloc(0));
});
