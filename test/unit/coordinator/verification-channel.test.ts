import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NodeUnavailableError } from '../../../src/client/cluster-client.js';
import type { InterBrokerClient } from '../../../src/coordinator/transaction/marker-channel.js';
import { produceErrorFor } from '../../../src/coordinator/transaction/partition-verification.js';
import { TransactionVerificationChannel } from '../../../src/coordinator/transaction/verification-channel.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import type {
  AddPartitionsToTxnRequestInit,
  AddPartitionsToTxnResponse,
} from '../../../src/protocol/generated/api/24-add-partitions-to-txn.js';
import { ApiKey } from '../../../src/protocol/generated/api-table.js';

interface Sent {
  readonly nodeId: number;
  readonly version: number;
  readonly body: AddPartitionsToTxnRequestInit;
}

/**
 * A coordinator broker that answers verifyOnly requests with `code(transactionalId, topic,
 * partition)`, speaking AddPartitionsToTxn up to `maxVersion`; `hold()` delays the answers.
 */
function coordinator(
  code: (transactionalId: string, topic: string, partition: number) => number,
  opts: { maxVersion?: number; topLevelError?: number } = {},
) {
  const sent: Sent[] = [];
  let gate: Promise<void> | null = null;
  const client: InterBrokerClient = {
    async request<T>(nodeId: number, apiKey: number, body: (v: number) => unknown, _t: number, max?: number) {
      assert.equal(apiKey, ApiKey.AddPartitionsToTxn);
      const version = Math.min(opts.maxVersion ?? 5, max ?? 5);
      const b = body(version) as AddPartitionsToTxnRequestInit;
      sent.push({ nodeId, version, body: b });
      if (gate !== null) await gate;
      const response: AddPartitionsToTxnResponse = {
        throttleTimeMs: 0,
        errorCode: opts.topLevelError ?? 0,
        resultsByTopicV3AndBelow: [],
        resultsByTransaction: (b.transactions ?? []).map((t) => ({
          transactionalId: t.transactionalId ?? '',
          topicResults: (t.topics ?? []).map((x) => ({
            name: x.name ?? '',
            resultsByPartition: (x.partitions ?? []).map((p) => ({
              partitionIndex: p,
              partitionErrorCode: code(t.transactionalId ?? '', x.name ?? '', p),
            })),
          })),
        })),
      };
      return { version, response: response as T };
    },
  };
  return {
    client,
    sent,
    hold(): () => void {
      let release = () => {};
      gate = new Promise<void>((resolve) => {
        release = () => {
          gate = null;
          resolve();
        };
      });
      return release;
    },
  };
}

const tps = (...ps: number[]) => ps.map((partition) => ({ topic: 't', partition }));

test('the coordinator broker is asked with AddPartitionsToTxn verifyOnly; its answer is given per partition', async () => {
  const c = coordinator((_id, _t, p) => (p === 1 ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE));
  const ch = new TransactionVerificationChannel({ client: c.client });
  const codes = await ch.verifierFor(3).verify('a', 10n, 2, tps(0, 1));
  assert.deepEqual(codes, [ErrorCode.NONE, ErrorCode.INVALID_TXN_STATE]);
  assert.equal(c.sent[0]?.nodeId, 3);
  assert.ok((c.sent[0]?.version ?? 0) >= 4);
  assert.deepEqual(c.sent[0]?.body.transactions, [
    {
      transactionalId: 'a',
      producerId: 10n,
      producerEpoch: 2,
      verifyOnly: true,
      topics: [{ name: 't', partitions: [0, 1] }],
    },
  ]);
});

test('while a request is in flight, writes of other ids wait and share the next one; same id and epoch merge', async () => {
  const c = coordinator(() => ErrorCode.NONE);
  const ch = new TransactionVerificationChannel({ client: c.client });
  const release = c.hold();
  const first = ch.verify(3, 'a', 10n, 2, tps(0));
  const b1 = ch.verify(3, 'b', 11n, 0, tps(0));
  const b2 = ch.verify(3, 'b', 11n, 0, tps(1));
  const other = ch.verify(3, 'c', 12n, 0, tps(2));
  assert.equal(c.sent.length, 1);
  release();
  assert.deepEqual(await Promise.all([first, b1, b2, other]), [[0], [0], [0], [0]]);
  assert.equal(c.sent.length, 2);
  assert.deepEqual(
    c.sent[1]?.body.transactions?.map((t) => [t.transactionalId, t.topics?.[0]?.partitions]),
    [
      ['b', [0, 1]],
      ['c', [2]],
    ],
  );
});

test('a newer epoch of a waiting id fences the older write; an older epoch is fenced at once (INVALID_PRODUCER_EPOCH)', async () => {
  const c = coordinator(() => ErrorCode.NONE);
  const ch = new TransactionVerificationChannel({ client: c.client });
  const release = c.hold();
  const busy = ch.verify(3, 'x', 1n, 0, tps(9));
  const old = ch.verify(3, 'a', 10n, 4, tps(0));
  const newer = ch.verify(3, 'a', 10n, 5, tps(1));
  const stale = ch.verify(3, 'a', 10n, 3, tps(2));
  assert.deepEqual(await old, [ErrorCode.INVALID_PRODUCER_EPOCH]);
  assert.deepEqual(await stale, [ErrorCode.INVALID_PRODUCER_EPOCH]);
  release();
  assert.deepEqual(await newer, [ErrorCode.NONE]);
  await busy;
  assert.equal(c.sent[1]?.body.transactions?.[0]?.producerEpoch, 5);
});

test("Kafka's mapping: unreachable is NETWORK_EXCEPTION, PRODUCER_FENCED reads INVALID_PRODUCER_EPOCH, top-level errors apply to all", async () => {
  const down: InterBrokerClient = {
    request: () => Promise.reject(new NodeUnavailableError('node 3: connection refused')),
  };
  const codes = await new TransactionVerificationChannel({ client: down }).verify(3, 'a', 1n, 0, tps(0, 1));
  assert.deepEqual(codes, [ErrorCode.NETWORK_EXCEPTION, ErrorCode.NETWORK_EXCEPTION]);
  assert.equal(produceErrorFor(ErrorCode.NETWORK_EXCEPTION), ErrorCode.NOT_ENOUGH_REPLICAS, 'retried by producers');

  const fenced = coordinator((_i, _t, p) => (p === 0 ? ErrorCode.PRODUCER_FENCED : ErrorCode.TRANSACTION_ABORTABLE));
  assert.deepEqual(
    await new TransactionVerificationChannel({ client: fenced.client }).verify(3, 'a', 1n, 0, tps(0, 1)),
    [ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.INVALID_TXN_STATE],
  );

  const authz = coordinator(() => ErrorCode.NONE, { topLevelError: ErrorCode.CLUSTER_AUTHORIZATION_FAILED });
  assert.deepEqual(await new TransactionVerificationChannel({ client: authz.client }).verify(3, 'a', 1n, 0, tps(0)), [
    ErrorCode.INVALID_TXN_STATE,
  ]);
  const notCoordinator = coordinator(() => ErrorCode.NOT_COORDINATOR);
  assert.deepEqual(
    await new TransactionVerificationChannel({ client: notCoordinator.client }).verify(3, 'a', 1n, 0, tps(0)),
    [ErrorCode.NOT_COORDINATOR],
  );
});

test('a coordinator that does not speak v4 is sent nothing and the write is let through, as Kafka', async () => {
  const old = coordinator(() => ErrorCode.INVALID_TXN_STATE, { maxVersion: 3 });
  const codes = await new TransactionVerificationChannel({ client: old.client }).verify(3, 'a', 1n, 0, tps(0));
  assert.deepEqual(codes, [ErrorCode.NONE]);
  assert.equal(old.sent.length, 0, 'no AddPartitionsToTxn v3 (it would add the partitions)');
});

test('close answers what waits NETWORK_EXCEPTION', async () => {
  const c = coordinator(() => ErrorCode.NONE);
  const ch = new TransactionVerificationChannel({ client: c.client });
  const release = c.hold();
  const inFlight = ch.verify(3, 'a', 1n, 0, tps(0));
  const waiting = ch.verify(3, 'b', 2n, 0, tps(0));
  ch.close();
  assert.deepEqual(await waiting, [ErrorCode.NETWORK_EXCEPTION]);
  release();
  assert.deepEqual(await inFlight, [ErrorCode.NONE]);
});
