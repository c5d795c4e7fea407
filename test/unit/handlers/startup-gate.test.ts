import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StartupGate } from '../../../src/handlers/startup-gate.js';
import { ConnectionFatalError } from '../../../src/network/errors.js';
import type { ConnectionInfo, DispatchResult, RequestDispatcher } from '../../../src/network/types.js';
import { ApiKey } from '../../../src/protocol/generated/api-table.js';

const conn = { id: 1 } as unknown as ConnectionInfo;

function frameOf(apiKey: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeInt16BE(apiKey, 0);
  return b;
}

function recorder() {
  const served: number[] = [];
  const inner: RequestDispatcher = {
    dispatch: (frame: Buffer): DispatchResult => {
      served.push(frame.readInt16BE(0));
      return Buffer.from([frame.readInt16BE(0)]);
    },
  };
  return { served, inner };
}

const settled = () => new Promise((r) => setImmediate(r));

test('before registration, Metadata, FindCoordinator, DescribeCluster and CreateTopics wait; ApiVersions and Produce are served at once', async () => {
  const { served, inner } = recorder();
  const gate = new StartupGate(inner);
  assert.deepEqual(gate.dispatch(frameOf(ApiKey.ApiVersions), conn), Buffer.from([ApiKey.ApiVersions]));
  assert.deepEqual(gate.dispatch(frameOf(ApiKey.Produce), conn), Buffer.from([ApiKey.Produce]));
  const held = [ApiKey.Metadata, ApiKey.FindCoordinator, ApiKey.DescribeCluster, ApiKey.CreateTopics].map((k) =>
    gate.dispatch(frameOf(k), conn),
  );
  for (const h of held) assert.ok(h instanceof Promise);
  await settled();
  assert.deepEqual(served, [ApiKey.ApiVersions, ApiKey.Produce]);
  assert.equal(gate.heldRequests, 4);
  gate.open();
  const answers = await Promise.all(held);
  assert.deepEqual(
    answers.map((a) => (a as Buffer)[0]),
    [ApiKey.Metadata, ApiKey.FindCoordinator, ApiKey.DescribeCluster, ApiKey.CreateTopics],
  );
  assert.equal(gate.heldRequests, 0);
  // Once open, nothing waits.
  assert.deepEqual(gate.dispatch(frameOf(ApiKey.Metadata), conn), Buffer.from([ApiKey.Metadata]));
});

test('the number of waiting requests is bounded: one more closes its connection', async () => {
  const { inner } = recorder();
  const gate = new StartupGate(inner, 2);
  const a = gate.dispatch(frameOf(ApiKey.Metadata), conn);
  const b = gate.dispatch(frameOf(ApiKey.Metadata), conn);
  assert.throws(() => gate.dispatch(frameOf(ApiKey.Metadata), conn), ConnectionFatalError);
  gate.open();
  await Promise.all([a, b]);
});

test('a failed start-up closes the connections of the requests that waited', async () => {
  const { served, inner } = recorder();
  const gate = new StartupGate(inner);
  const waiting = gate.dispatch(frameOf(ApiKey.Metadata), conn);
  gate.fail(new Error('registration refused'));
  await assert.rejects(async () => waiting, ConnectionFatalError);
  assert.throws(() => gate.dispatch(frameOf(ApiKey.FindCoordinator), conn), ConnectionFatalError);
  assert.deepEqual(served, []);
  assert.equal(gate.heldRequests, 0);
});
