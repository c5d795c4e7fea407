import { ElectionType } from '../controller/replication-operations.js';
import { NotControllerError } from '../metadata/raft-metadata-log.js';
import type { ElectLeadersRequest, ElectLeadersResponseInit } from '../protocol/generated/api/43-elect-leaders.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/**
 * ElectLeaders (KIP-183, KIP-460): preferred (v0 has no election type: always preferred) or
 * unclean leader election for the named partitions, or every partition when the list is null.
 * Decided by the active controller; another broker forwards it there (`forwarded`).
 */
export function electLeadersHandler(
  services: BrokerServices,
): ApiHandler<ElectLeadersRequest, ElectLeadersResponseInit> {
  return {
    apiKey: ApiKey.ElectLeaders,
    minVersion: 0,
    maxVersion: 2,
    async handle(req, ctx) {
      const electionType = ctx.apiVersion >= 1 ? req.electionType : ElectionType.PREFERRED;
      try {
        const r = await services.controller.electLeaders(electionType, req.topicPartitions);
        return { throttleTimeMs: 0, errorCode: r.errorCode, replicaElectionResults: r.replicaElectionResults };
      } catch (err) {
        if (!(err instanceof NotControllerError)) throw err;
        return notController(req, err);
      }
    },
  };
}

/** NOT_CONTROLLER for every partition named (and at the top level from v1, which has the field). */
function notController(req: ElectLeadersRequest, err: NotControllerError): ElectLeadersResponseInit {
  return {
    throttleTimeMs: 0,
    errorCode: err.errorCode,
    replicaElectionResults: (req.topicPartitions ?? []).map((t) => ({
      topic: t.topic,
      partitionResult: t.partitions.map((partitionId) => ({
        partitionId,
        errorCode: err.errorCode,
        errorMessage: err.message,
      })),
    })),
  };
}
