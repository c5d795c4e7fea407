import { PRODUCER_ID_BLOCK_SIZE } from '../coordinator/transaction/producer-id-manager.js';
import { NotControllerError } from '../metadata/raft-metadata-log.js';
import type {
  AllocateProducerIdsRequest,
  AllocateProducerIdsResponseInit,
} from '../protocol/generated/api/67-allocate-producer-ids.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/**
 * AllocateProducerIds (KIP-730): a broker asks the active controller for its next block of
 * producer ids; the block is a ProducerIdsRecord in the metadata log, so no two brokers ever
 * hand out the same id. Off the active controller: NOT_CONTROLLER.
 */
export function allocateProducerIdsHandler(
  services: BrokerServices,
): ApiHandler<AllocateProducerIdsRequest, AllocateProducerIdsResponseInit> {
  return {
    apiKey: ApiKey.AllocateProducerIds,
    minVersion: 0,
    maxVersion: 0,
    async handle(req) {
      try {
        const start = await services.controller.allocateProducerIds(
          req.brokerId,
          req.brokerEpoch,
          PRODUCER_ID_BLOCK_SIZE,
        );
        return { throttleTimeMs: 0, errorCode: 0, producerIdStart: start, producerIdLen: PRODUCER_ID_BLOCK_SIZE };
      } catch (err) {
        if (!(err instanceof NotControllerError)) throw err;
        return { throttleTimeMs: 0, errorCode: err.errorCode, producerIdStart: -1n, producerIdLen: 0 };
      }
    },
  };
}
