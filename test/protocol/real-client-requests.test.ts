import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { apiVersionsHandler } from '../../src/handlers/18-api-versions.js';
import { Dispatcher } from '../../src/handlers/dispatcher.js';
import { HandlerRegistry } from '../../src/handlers/registry.js';
import { decodeApiVersionsResponse } from '../../src/protocol/generated/api/18-api-versions.js';
import { API_BY_KEY, requestHeaderVersion } from '../../src/protocol/generated/api-table.js';
import { decodeRequestHeader } from '../../src/protocol/generated/headers.js';
import { Reader } from '../../src/protocol/primitives/reader.js';

/** First request frames captured from real clients (scripts/capture-client-requests.mjs). */
const DIR = join('test', 'fixtures', 'client-requests');
interface Fixture {
  file: string;
  client: string;
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}
const fixtures = JSON.parse(readFileSync(join(DIR, 'index.json'), 'utf8')) as Fixture[];

test('the captured fixtures cover kcat, kafkajs, @platformatic/kafka, kafka-python and confluent-kafka', () => {
  const clients = new Set(fixtures.map((f) => f.client));
  for (const c of ['kcat', 'kafkajs', 'platformatic', 'kafka-python', 'confluent-kafka']) {
    assert.ok(clients.has(c), `no fixture from ${c}`);
  }
});

for (const f of fixtures) {
  test(`${f.client}: ${API_BY_KEY.get(f.apiKey)?.name} v${f.apiVersion} (${f.file}) decodes completely`, () => {
    const frame = readFileSync(join(DIR, f.file));
    const r = new Reader(frame);
    const header = decodeRequestHeader(r, requestHeaderVersion(f.apiKey, f.apiVersion));
    assert.equal(header.requestApiKey, f.apiKey);
    assert.equal(header.requestApiVersion, f.apiVersion);
    assert.equal(header.correlationId, f.correlationId);
    assert.equal(header.clientId, f.clientId);
    const descriptor = API_BY_KEY.get(f.apiKey);
    assert.ok(descriptor, `unknown api ${f.apiKey}`);
    descriptor.decodeRequest(r, f.apiVersion);
    assert.equal(r.remaining, 0, 'every byte of the request is accounted for');
  });
}

test('every captured ApiVersions request is answered successfully by the dispatcher', async () => {
  const registry = new HandlerRegistry();
  registry.register(apiVersionsHandler(registry));
  const dispatcher = new Dispatcher(registry);
  const apiVersions = fixtures.filter((f) => f.apiKey === 18);
  assert.ok(apiVersions.length >= 4);
  for (const f of apiVersions) {
    const conn = {
      id: 1,
      remoteAddress: '127.0.0.1',
      remotePort: 1,
      listenerName: 'PLAINTEXT',
      principal: 'User:ANONYMOUS',
      clientId: null,
      state: new Map<string, unknown>(),
    };
    const out = await dispatcher.dispatch(readFileSync(join(DIR, f.file)), conn);
    assert.ok(out !== null);
    const res = new Reader(Buffer.isBuffer(out) ? out : Buffer.concat(out as Buffer[]));
    assert.equal(res.readInt32(), f.correlationId);
    const body = decodeApiVersionsResponse(res, f.apiVersion);
    assert.equal(body.errorCode, 0, `${f.client} ApiVersions v${f.apiVersion}`);
    assert.ok(body.apiKeys.some((k) => k.apiKey === 18));
  }
});
