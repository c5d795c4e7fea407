import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  CAPTURE_CLIENTS,
  type CaptureClient,
  captureClientRequests,
  type FixtureEntry,
} from '../helpers/client-capture.js';
import { fixturesDir } from '../helpers/paths.js';
import { requirePythonClient } from '../helpers/python-clients.js';
import { implausibleRequestHeader, parseRequestHeaderPrefix } from '../helpers/recording-server.js';
import { requireCommand } from '../helpers/run.js';

// Every client the compatibility tests drive is installed and puts well-formed Kafka request
// frames on the wire. A recording server answers at most ApiVersions: this proves the toolchain,
// not the broker.

function requireClient(client: CaptureClient): void {
  if (client === 'kcat') requireCommand('kcat');
  if (client === 'kafka-python' || client === 'confluent-kafka') requirePythonClient(client);
}

for (const client of CAPTURE_CLIENTS) {
  test(`${client} connects and sends well-formed request frames (api key, version, correlation id, client id)`, async () => {
    requireClient(client);
    const capture = await captureClientRequests(client);
    assert.ok(
      capture.frames.length > 0,
      `${client} sent no complete frame over ${capture.connections} connection(s)\n${capture.outcome}`,
    );
    for (const [i, frame] of capture.frames.entries()) {
      const why = implausibleRequestHeader(frame.bytes);
      assert.equal(why, undefined, `${client} frame ${i} (${frame.bytes.subarray(0, 16).toString('hex')}...): ${why}`);
    }
    const keys = capture.frames.map((f) => parseRequestHeaderPrefix(f.bytes).apiKey);
    // Every client opens with ApiVersions (18) to learn what the broker supports ...
    assert.equal(keys[0], 18, `${client} opened with api key ${keys[0]}, expected ApiVersions`);
    // ... and then goes on (after the server's ApiVersions answer, or after probing older APIs).
    assert.ok(
      keys.some((k) => k !== 18),
      `${client} sent nothing but ApiVersions (${keys.length} frames)\n${capture.outcome}`,
    );
  });
}

test('the committed client request fixtures are the real frames their index describes', () => {
  const dir = join(fixturesDir, 'client-requests');
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as FixtureEntry[];
  const bins = readdirSync(dir).filter((f) => f.endsWith('.bin'));
  assert.deepEqual(bins.sort(), index.map((e) => e.file).sort(), 'index.json lists exactly the .bin files');
  for (const client of CAPTURE_CLIENTS) {
    assert.ok(
      index.some((e) => e.client === client),
      `no fixture from ${client} (run: npm run build && node scripts/capture-client-requests.mjs)`,
    );
  }
  for (const e of index) {
    const bytes = readFileSync(join(dir, e.file));
    assert.equal(bytes.length, e.size, `${e.file}: size`);
    assert.equal(implausibleRequestHeader(bytes), undefined, `${e.file}: ${implausibleRequestHeader(bytes)}`);
    const h = parseRequestHeaderPrefix(bytes);
    assert.deepEqual(
      { apiKey: h.apiKey, apiVersion: h.apiVersion, correlationId: h.correlationId, clientId: h.clientId },
      { apiKey: e.apiKey, apiVersion: e.apiVersion, correlationId: e.correlationId, clientId: e.clientId },
      `${e.file}: header matches index.json`,
    );
  }
});
