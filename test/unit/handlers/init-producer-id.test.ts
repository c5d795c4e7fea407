import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProducerIdManager } from '../../../src/coordinator/transaction/producer-id-manager.js';
import { initProducerIdHandler } from '../../../src/handlers/22-init-producer-id.js';
import type { BrokerServices } from '../../../src/handlers/broker-services.js';
import type { RequestContext } from '../../../src/handlers/request-context.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import type { InitProducerIdRequest } from '../../../src/protocol/generated/api/22-init-producer-id.js';

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
