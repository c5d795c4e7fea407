import type {
  DescribeLogDirsRequest,
  DescribeLogDirsResponseInit,
} from '../protocol/generated/api/35-describe-log-dirs.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/** DescribeLogDirs: each log directory with the size of each partition in it. */
export function describeLogDirsHandler(
  services: BrokerServices,
): ApiHandler<DescribeLogDirsRequest, DescribeLogDirsResponseInit> {
  return {
    apiKey: ApiKey.DescribeLogDirs,
    minVersion: 0,
    maxVersion: 4,
    async handle(req) {
      const wanted =
        req.topics === null ? null : new Map(req.topics.map((t) => [t.topic, new Set(t.partitions)] as const));
      const dirs = await services.logDirs();
      return {
        throttleTimeMs: 0,
        errorCode: 0,
        results: dirs.map((d) => {
          const byTopic = new Map<
            string,
            Array<{ partitionIndex: number; partitionSize: bigint; offsetLag: bigint; isFutureKey: boolean }>
          >();
          for (const p of d.partitions) {
            if (wanted !== null && !wanted.get(p.topic)?.has(p.partition)) continue;
            const list = byTopic.get(p.topic) ?? [];
            list.push({
              partitionIndex: p.partition,
              partitionSize: BigInt(p.sizeBytes),
              offsetLag: BigInt(p.offsetLag),
              isFutureKey: false,
            });
            byTopic.set(p.topic, list);
          }
          return {
            errorCode: 0,
            logDir: d.path,
            topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
            totalBytes: BigInt(d.totalBytes),
            usableBytes: BigInt(d.usableBytes),
          };
        }),
      };
    },
  };
}
