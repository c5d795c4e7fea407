import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiVersionsHandler } from '../../../src/handlers/18-api-versions.js';
import { Dispatcher } from '../../../src/handlers/dispatcher.js';
import { HandlerRegistry, NO_RESPONSE } from '../../../src/handlers/registry.js';
import { ConnectionFatalError } from '../../../src/network/errors.js';
import type { ConnectionInfo, DispatchResult } from '../../../src/network/types.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { encodeProduceRequest } from '../../../src/protocol/generated/api/00-produce.js';
import { decodeMetadataResponse, encodeMetadataRequest } from '../../../src/protocol/generated/api/03-metadata.js';
import {
  decodeApiVersionsResponse,
  encodeApiVersionsRequest,
} from '../../../src/protocol/generated/api/18-api-versions.js';
import { requestHeaderVersion, responseHeaderVersion } from '../../../src/protocol/generated/api-table.js';
import { encodeRequestHeader } from '../../../src/protocol/generated/headers.js';
import { Reader } from '../../../src/protocol/primitives/reader.js';
import { Writer } from '../../../src/protocol/primitives/writer.js';

function conn(): ConnectionInfo {
  return {
    id: 1,
    remoteAddress: '127.0.0.1',
    remotePort: 5000,
    listenerName: 'PLAINTEXT',
    principal: 'User:ANONYMOUS',
    clientId: null,
    state: new Map(),
  };
}

function frame(apiKey: number, version: number, correlationId: number, body: (w: Writer) => void): Buffer {
  const w = new Writer();
  encodeRequestHeader(
    w,
    { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: 'test-client' },
    requestHeaderVersion(apiKey, version),
  );
  body(w);
  return w.toBuffer();
}

async function bytes(r: DispatchResult | Promise<DispatchResult>): Promise<Buffer> {
  const v = await r;
  assert.ok(v !== null, 'expected a response');
  return Buffer.isBuffer(v) ? v : Buffer.concat(v as Buffer[]);
}

function setup() {
  const registry = new HandlerRegistry();
  registry.register(apiVersionsHandler(registry));
  return { registry, dispatcher: new Dispatcher(registry) };
}

test('ApiVersions is answered in every version from v0 to v4 with the registry contents', async () => {
  const { dispatcher } = setup();
  for (let v = 0; v <= 4; v++) {
    const f = frame(18, v, 100 + v, (w) =>
      encodeApiVersionsRequest(w, { clientSoftwareName: 'kcat', clientSoftwareVersion: '1.7.1' }, v),
    );
    const res = await bytes(dispatcher.dispatch(f, conn()));
    const r = new Reader(res);
    assert.equal(r.readInt32(), 100 + v);
    assert.equal(responseHeaderVersion(18, v), 0, 'ApiVersions responses always use header v0');
    const body = decodeApiVersionsResponse(r, v);
    assert.equal(body.errorCode, 0);
    assert.deepEqual(
      body.apiKeys.map((k) => [k.apiKey, k.minVersion, k.maxVersion]),
      [[18, 0, 4]],
    );
    assert.equal(r.remaining, 0);
  }
});

test('an ApiVersions request of a newer version gets UNSUPPORTED_VERSION in v0 with the full list (KIP-511)', async () => {
  const { dispatcher } = setup();
  const w = new Writer();
  w.writeInt16(18).writeInt16(99).writeInt32(7).writeNullableString('future-client');
  w.writeRaw(Buffer.from([0, 1, 2, 3]));
  const res = await bytes(dispatcher.dispatch(w.toBuffer(), conn()));
  const r = new Reader(res);
  assert.equal(r.readInt32(), 7);
  const body = decodeApiVersionsResponse(r, 0);
  assert.equal(body.errorCode, ErrorCode.UNSUPPORTED_VERSION);
  assert.equal(body.apiKeys.length, 1);
  assert.equal(r.remaining, 0);
});

test('an API the broker does not handle closes the connection with a typed error', () => {
  const { dispatcher } = setup();
  const f = frame(3, 12, 5, (w) => encodeMetadataRequest(w, { topics: null }, 12));
  assert.throws(() => dispatcher.dispatch(f, conn()), { name: 'ConnectionFatalError' });
  const unknown = Buffer.alloc(12);
  unknown.writeInt16BE(999, 0);
  assert.throws(() => dispatcher.dispatch(unknown, conn()), { name: 'ConnectionFatalError' });
});

test('a truncated request body is a decode error for that connection only', () => {
  const { registry, dispatcher } = setup();
  void registry;
  const f = frame(18, 3, 1, (w) =>
    encodeApiVersionsRequest(w, { clientSoftwareName: 'x', clientSoftwareVersion: '1' }, 3),
  );
  assert.throws(() => dispatcher.dispatch(f.subarray(0, f.length - 3), conn()), { name: 'DecodeError' });
  assert.throws(() => dispatcher.dispatch(Buffer.alloc(3), conn()), { name: 'DecodeError' });
});

test('a handler may answer nothing (acks=0) and a flexible response gets header v1', async () => {
  const registry = new HandlerRegistry();
  registry.register({
    apiKey: 0,
    minVersion: 0,
    maxVersion: 11,
    handle: (req: { acks: number }) => (req.acks === 0 ? NO_RESPONSE : { responses: [], throttleTimeMs: 0 }),
  });
  registry.register({
    apiKey: 3,
    minVersion: 0,
    maxVersion: 12,
    handle: () => ({ brokers: [], topics: [], clusterId: 'c' }),
  });
  const dispatcher = new Dispatcher(registry);
  const p0 = frame(0, 9, 1, (w) => encodeProduceRequest(w, { acks: 0, timeoutMs: 100, topicData: [] }, 9));
  assert.equal(await dispatcher.dispatch(p0, conn()), null);
  const m = frame(3, 12, 42, (w) => encodeMetadataRequest(w, { topics: null }, 12));
  const res = await bytes(dispatcher.dispatch(m, conn()));
  const r = new Reader(res);
  assert.equal(r.readInt32(), 42);
  assert.equal(r.readUVarint(), 0, 'response header v1 has an empty tagged-field section');
  assert.equal(decodeMetadataResponse(r, 12).clusterId, 'c');
});

test('a handler that throws gets its error response with UNKNOWN_SERVER_ERROR when it has one', async () => {
  const registry = new HandlerRegistry();
  registry.register({
    apiKey: 3,
    minVersion: 0,
    maxVersion: 12,
    handle: () => {
      throw new Error('boom');
    },
    errorResponse: (_req: unknown, code: number) => ({ brokers: [], topics: [], clusterId: `err-${code}` }),
  });
  const dispatcher = new Dispatcher(registry);
  const m = frame(3, 1, 1, (w) => encodeMetadataRequest(w, { topics: null }, 1));
  const res = await bytes(dispatcher.dispatch(m, conn()));
  const r = new Reader(res);
  r.readInt32();
  const body = decodeMetadataResponse(r, 1);
  assert.equal(body.brokers.length, 0);
});

test('a handler that ends the connection (a failed acks=0 Produce) is obeyed, not answered with an error response', async () => {
  for (const sync of [true, false]) {
    const registry = new HandlerRegistry();
    registry.register({
      apiKey: 3,
      minVersion: 0,
      maxVersion: 12,
      handle: sync
        ? () => {
            throw new ConnectionFatalError('acks=0 produce request failed');
          }
        : async () => {
            throw new ConnectionFatalError('acks=0 produce request failed');
          },
      errorResponse: (_req: unknown, code: number) => ({ brokers: [], topics: [], clusterId: `err-${code}` }),
    });
    const dispatcher = new Dispatcher(registry);
    const m = frame(3, 1, 1, (w) => encodeMetadataRequest(w, { topics: null }, 1));
    await assert.rejects(
      async () => dispatcher.dispatch(m, conn()),
      (err: unknown) => err instanceof ConnectionFatalError,
      sync ? 'thrown' : 'rejected',
    );
  }
});

test('the registry refuses a handler claiming versions the codecs do not know', () => {
  const registry = new HandlerRegistry();
  assert.throws(() => registry.register({ apiKey: 18, minVersion: 0, maxVersion: 9, handle: () => ({}) }));
});
