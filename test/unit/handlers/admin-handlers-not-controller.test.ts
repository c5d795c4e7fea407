import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerConfig } from '../../../src/config/broker-config.js';
import { Controller } from '../../../src/controller/controller.js';
import { deleteTopicsHandler } from '../../../src/handlers/20-delete-topics.js';
import { alterConfigsHandler } from '../../../src/handlers/33-alter-configs.js';
import { createPartitionsHandler } from '../../../src/handlers/37-create-partitions.js';
import { incrementalAlterConfigsHandler } from '../../../src/handlers/44-incremental-alter-configs.js';
import type { BrokerServices } from '../../../src/handlers/broker-services.js';
import type { RequestContext } from '../../../src/handlers/request-context.js';
import { MetadataStore } from '../../../src/metadata/metadata-store.js';
import { NotControllerError } from '../../../src/metadata/raft-metadata-log.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { createTopicRecords, testTopicId } from '../../helpers/metadata-records.js';

/**
 * A controller whose leadership ends while its change is being committed: the metadata log
 * rejects the commit with NotControllerError, as RaftMetadataLog does on a role change.
 */
async function losingLeadership(): Promise<BrokerServices> {
  const store = MetadataStore.open(null, 1);
  await store.commit([
    {
      type: 'RegisterBrokerRecord',
      data: {
        brokerId: 1,
        incarnationId: '0b6d3c1e-0000-4000-8000-000000000001',
        brokerEpoch: 0n,
        endPoints: [{ name: 'PLAINTEXT', host: 'b1', port: 9092, securityProtocol: 0 }],
        rack: null,
        fenced: false,
        inControlledShutdown: false,
      },
    },
    ...createTopicRecords(1, 1),
  ]);
  const controller = new Controller(
    {
      image: () => store.image(),
      commit: () => Promise.reject(new NotControllerError('leadership lost in epoch 3')),
      activeEpoch: () => 3,
    },
    () => BrokerConfig.defaults(),
  );
  return { controller } as unknown as BrokerServices;
}

const ctx = (apiVersion: number) => ({ apiVersion }) as RequestContext;

test('config changes whose commit loses the leadership answer NOT_CONTROLLER per resource, not a closed connection', async () => {
  const s = await losingLeadership();
  const incremental = await incrementalAlterConfigsHandler(s).handle(
    {
      resources: [
        {
          resourceType: 2,
          resourceName: 't1',
          configs: [{ name: 'retention.ms', configOperation: 0, value: '1000' }],
        },
      ],
      validateOnly: false,
    },
    ctx(1),
  );
  assert.deepEqual(
    (incremental as { responses: Array<{ errorCode: number; resourceName: string }> }).responses.map((r) => [
      r.resourceName,
      r.errorCode,
    ]),
    [['t1', ErrorCode.NOT_CONTROLLER]],
  );
  const legacy = await alterConfigsHandler(s).handle(
    {
      resources: [{ resourceType: 2, resourceName: 't1', configs: [{ name: 'retention.ms', value: '1000' }] }],
      validateOnly: false,
    },
    ctx(2),
  );
  assert.equal(
    (legacy as { responses: Array<{ errorCode: number }> }).responses[0]?.errorCode,
    ErrorCode.NOT_CONTROLLER,
  );
});

test('topic deletion and new partitions whose commit loses the leadership answer NOT_CONTROLLER per topic', async () => {
  const s = await losingLeadership();
  const deleted = await deleteTopicsHandler(s).handle(
    { topics: [{ name: 't1', topicId: testTopicId(1) }], topicNames: [], timeoutMs: 1000 },
    ctx(6),
  );
  assert.deepEqual(
    (deleted as { responses: Array<{ name: string | null; errorCode: number }> }).responses.map((r) => [
      r.name,
      r.errorCode,
    ]),
    [['t1', ErrorCode.NOT_CONTROLLER]],
  );
  const grown = await createPartitionsHandler(s).handle(
    { topics: [{ name: 't1', count: 2, assignments: null }], timeoutMs: 1000, validateOnly: false },
    ctx(3),
  );
  assert.deepEqual(
    (grown as { results: Array<{ name: string; errorCode: number }> }).results.map((r) => [r.name, r.errorCode]),
    [['t1', ErrorCode.NOT_CONTROLLER]],
  );
});
