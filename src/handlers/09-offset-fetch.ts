import { ErrorCode } from '../protocol/error-codes.js';
import type {
  OffsetFetchRequest,
  OffsetFetchResponseInit,
  OffsetFetchResponseTopicsInit,
} from '../protocol/generated/api/09-offset-fetch.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/**
 * OffsetFetch v0-9: one group (v0-7) or several (v8+). Null topics (v2+) ask for every
 * partition the group has offsets for; `require_stable` (v7+) answers UNSTABLE_OFFSET_COMMIT
 * for partitions with a commit still being written.
 */
export function offsetFetchHandler(services: BrokerServices): ApiHandler<OffsetFetchRequest, OffsetFetchResponseInit> {
  const fetchGroup = (
    groupId: string,
    topics: ReadonlyArray<{ name: string; partitionIndexes: readonly number[] }> | null,
    requireStable: boolean,
  ) => services.groups.core.fetchOffsets(groupId, topics, requireStable);
  return {
    apiKey: ApiKey.OffsetFetch,
    minVersion: 0,
    maxVersion: 9,
    async handle(req, ctx) {
      const v = ctx.apiVersion;
      const requireStable = v >= 7 && req.requireStable;
      if (v >= 8) {
        const groups = req.groups.map((g) => {
          const r = fetchGroup(g.groupId, g.topics, requireStable);
          return { groupId: g.groupId, errorCode: r.errorCode, topics: r.topics as OffsetFetchResponseTopicsInit[] };
        });
        return { throttleTimeMs: 0, groups };
      }
      const r = fetchGroup(req.groupId, v >= 2 ? req.topics : (req.topics ?? []), requireStable);
      if (v < 2 && r.errorCode !== ErrorCode.NONE) {
        // v0-1 have no top-level error: every partition carries it.
        return {
          throttleTimeMs: 0,
          topics: (req.topics ?? []).map((t) => ({
            name: t.name,
            partitions: t.partitionIndexes.map((p) => ({
              partitionIndex: p,
              committedOffset: -1n,
              metadata: '',
              errorCode: r.errorCode,
            })),
          })),
        };
      }
      return { throttleTimeMs: 0, errorCode: r.errorCode, topics: r.topics };
    },
  };
}
