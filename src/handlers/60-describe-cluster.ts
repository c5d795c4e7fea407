import type {
  DescribeClusterRequest,
  DescribeClusterResponseInit,
} from '../protocol/generated/api/60-describe-cluster.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/** DescribeCluster (KIP-700): brokers, controller and cluster id. */
export function describeClusterHandler(
  services: BrokerServices,
): ApiHandler<DescribeClusterRequest, DescribeClusterResponseInit> {
  return {
    apiKey: ApiKey.DescribeCluster,
    minVersion: 0,
    maxVersion: 1,
    handle(req) {
      if (req.endpointType !== 1) {
        // Only broker endpoints are served (KIP-919 controller endpoints are not separate here).
        return {
          errorCode: 115,
          errorMessage: 'The request was sent to an endpoint of the wrong type.',
          endpointType: 1,
        };
      }
      return {
        throttleTimeMs: 0,
        errorCode: 0,
        errorMessage: null,
        endpointType: 1,
        clusterId: services.clusterId,
        controllerId: services.controllerId(),
        brokers: services.brokers().map((b) => ({ brokerId: b.id, host: b.host, port: b.port, rack: b.rack })),
        clusterAuthorizedOperations: -2147483648,
      };
    },
  };
}
