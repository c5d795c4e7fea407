import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProducerIdManager } from '../../../src/coordinator/transaction/producer-id-manager.js';
import { TransactionCoordinator } from '../../../src/coordinator/transaction/transaction-coordinator.js';
import type { TransactionService } from '../../../src/coordinator/transaction/transaction-service.js';
import { initProducerIdHandler } from '../../../src/handlers/22-init-producer-id.js';
import type { BrokerServices } from '../../../src/handlers/broker-services.js';
import type { RequestContext } from '../../../src/handlers/request-context.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import type { InitProducerIdRequest } from '../../../src/protocol/generated/api/22-init-producer-id.js';
import { loadAllPartitions } from '../coordinator/load-partitions.js';

type Answer = { errorCode: number; producerId: bigint; producerEpoch: number };

function handler(firstId = 5000n) {
  let blocks = 0;
  const services = {
    producerIds: new ProducerIdManager(async () => firstId + BigInt(1000 * blocks++)),
  } as unknown as BrokerServices;
  const h = initProducerIdHandler(services);
  return { handle: async (r: InitProducerIdRequest, ctx: RequestContext) => (await h.handle(r, ctx)) as Answer };
}

const req = (producerId: bigint, producerEpoch: number): InitProducerIdRequest =>
  ({ transactionalId: null, transactionTimeoutMs: 60000, producerId, producerEpoch }) as InitProducerIdRequest;

test('an idempotent producer gets a fresh id at epoch 0, also when it names its current id and epoch (as Kafka)', async () => {
  const h = handler();
  const ctx = { apiVersion: 4 } as RequestContext;
  const first = await h.handle(req(-1n, -1), ctx);
  assert.deepEqual([first.errorCode, first.producerId, first.producerEpoch], [ErrorCode.NONE, 5000n, 0]);
  // KIP-360: a producer recovering from an error may send its id and epoch; without a
  // transactional id Kafka's coordinator answers with a new id (the client bumps epochs itself).
  const again = await h.handle(req(5000n, 0), ctx);
  assert.deepEqual([again.errorCode, again.producerId, again.producerEpoch], [ErrorCode.NONE, 5001n, 0]);
  const exhausted = await h.handle(req(5001n, 32767), ctx);
  assert.deepEqual([exhausted.errorCode, exhausted.producerId, exhausted.producerEpoch], [ErrorCode.NONE, 5002n, 0]);
});

function transactionalHandler() {
  const core = new TransactionCoordinator(
    { transactionMaxTimeoutMs: 900_000, transactionalIdExpirationMs: 604_800_000, transactionStatePartitions: 3 },
    {
      now: () => 1_000_000,
      append: async () => {},
      generateProducerId: async () => 9000n,
      writeMarkers: async () => {},
      groupPartition: () => ({ topic: '__consumer_offsets', partition: 0 }),
    },
  );
  loadAllPartitions(core, 3);
  const created = { topics: 0 };
  const transactions = {
    core,
    ensureTopic: async () => {
      created.topics++;
      return true;
    },
  } as unknown as TransactionService;
  const h = initProducerIdHandler({ transactions } as unknown as BrokerServices);
  const call = async (transactionalId: string, transactionTimeoutMs: number, apiVersion = 4) =>
    (await h.handle(
      { transactionalId, transactionTimeoutMs, producerId: -1n, producerEpoch: -1 } as InitProducerIdRequest,
      { apiVersion } as RequestContext,
    )) as Answer;
  return { call, created, core };
}

test('an empty transactional id is INVALID_REQUEST, at every version, and creates nothing (as Kafka)', async () => {
  const h = transactionalHandler();
  for (const v of [0, 3, 5]) {
    const r = await h.call('', 60_000, v);
    assert.deepEqual([r.errorCode, r.producerId, r.producerEpoch], [ErrorCode.INVALID_REQUEST, -1n, -1]);
  }
  assert.equal(h.created.topics, 0);
  assert.equal(h.core.metadata(''), undefined);
});

test('transaction.timeout.ms above transaction.max.timeout.ms (or not positive) is INVALID_TRANSACTION_TIMEOUT; the maximum itself is accepted', async () => {
  const h = transactionalHandler();
  assert.equal((await h.call('t', 900_001)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  assert.equal((await h.call('t', 0)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  assert.equal((await h.call('t', -5)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  assert.equal(h.created.topics, 0);
  const ok = await h.call('t', 900_000);
  assert.deepEqual([ok.errorCode, ok.producerId, ok.producerEpoch], [ErrorCode.NONE, 9000n, 0]);
  assert.equal(h.created.topics, 1);
});

test('the request checks come before coordinator availability, as in Kafka', async () => {
  const h = transactionalHandler();
  h.core.shutdown();
  assert.equal((await h.call('', 60_000)).errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal((await h.call('t', 900_001)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  assert.equal((await h.call('t', 60_000)).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
});
