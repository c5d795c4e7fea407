/**
 * A bystander client's produce latency while something else loads the broker: one small record
 * at a time (acks=all) to partition 0 of `topic`, the next as soon as the previous is answered,
 * for `ms` milliseconds. Each answer must be without error.
 */
import assert from 'node:assert/strict';
import type { ClientConnection } from '../../src/client/connection.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { buildRecordBatch } from '../../src/protocol/records/batch-builder.js';

export interface BystanderLatencies {
  readonly count: number;
  /** The latency at percentile `p` (100: the largest), in milliseconds. */
  at(p: number): number;
  /** "N produces, p50 … ms, p99 … ms, max … ms". */
  readonly summary: string;
}

export async function measureBystander(c: ClientConnection, topic: string, ms: number): Promise<BystanderLatencies> {
  const latencies: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const records = buildRecordBatch({ records: [{ value: Buffer.from(`b${latencies.length}`) }] });
    const t0 = performance.now();
    const r = (await c.request(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 10_000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    })) as { responses: { partitionResponses: { errorCode: number }[] }[] };
    assert.equal(r.responses[0]?.partitionResponses[0]?.errorCode, 0, 'bystander produce');
    latencies.push(performance.now() - t0);
  }
  latencies.sort((a, b) => a - b);
  const at = (p: number): number =>
    latencies[Math.min(latencies.length - 1, Math.max(0, Math.ceil((p / 100) * latencies.length) - 1))] ?? Number.NaN;
  return {
    count: latencies.length,
    at,
    summary: `${latencies.length} produces, p50 ${at(50).toFixed(1)} ms, p99 ${at(99).toFixed(1)} ms, max ${at(100).toFixed(1)} ms`,
  };
}
