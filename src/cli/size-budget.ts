/**
 * `jocko topic describe`: each partition's effective size limit and where it comes from
 * (retention.bytes, the topic's retention.bytes.total divided by its partition count, or the
 * broker's log.retention.bytes.total divided among its delete-policy logs), computed from
 * DescribeConfigs, DescribeLogDirs and the metadata with the broker's own rule (config/size-budget.ts).
 */
import type { KafkaClient } from '../client/kafka-client.js';
import { BROKER_BUDGET, budgetShare, effectiveSizeLimit, type SizeLimit, TOPIC_BUDGET } from '../config/size-budget.js';
import type { DescribeConfigsResponse } from '../protocol/generated/api/32-describe-configs.js';
import type { DescribeLogDirsResponse } from '../protocol/generated/api/35-describe-log-dirs.js';
import { ApiKey } from '../protocol/generated/api-table.js';

const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;

export interface DescribedPartition {
  readonly partitionIndex: number;
  readonly leaderId: number;
  readonly replicaNodes: readonly number[];
}

interface NamedValue {
  readonly name: string;
  readonly value: string | null;
  /** DescribeConfigs' source: 1 is the topic's own value. */
  readonly configSource?: number;
}

/** What one broker contributes: its budget, the logs it divides it among, and its partition sizes. */
interface BrokerView {
  readonly budget: number;
  readonly budgetedLogs: number;
  readonly sizes: ReadonlyMap<string, number>;
}

const num = (configs: readonly NamedValue[], name: string): number => {
  const v = configs.find((c) => c.name === name)?.value;
  return v === undefined || v === null || v === '' ? -1 : Number(v);
};

/** Bytes in binary units, one decimal where needed: 26214400 → "25 MiB", 13107200 → "12.5 MiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const text = Number.isInteger(v) ? String(v) : v.toFixed(1).replace(/\.0$/, '');
  return `${text} ${units[u]}`;
}

function isDeletePolicy(policy: string | null | undefined): boolean {
  return (policy ?? 'delete').split(',').some((p) => p.trim() === 'delete');
}

async function brokerView(client: KafkaClient, brokerId: number): Promise<BrokerView> {
  const conn = await client.brokerConnection(brokerId);
  const described = await client.call<DescribeConfigsResponse>(
    ApiKey.DescribeConfigs,
    {
      resources: [
        { resourceType: RESOURCE_BROKER, resourceName: String(brokerId), configurationKeys: [BROKER_BUDGET] },
      ],
      includeSynonyms: false,
      includeDocumentation: false,
    },
    undefined,
    conn,
  );
  const budget = num(described.results[0]?.configs ?? [], BROKER_BUDGET);
  const dirs = await client.call<DescribeLogDirsResponse>(ApiKey.DescribeLogDirs, { topics: null }, undefined, conn);
  const sizes = new Map<string, number>();
  const partitionsByTopic = new Map<string, number>();
  for (const d of dirs.results) {
    for (const t of d.topics) {
      partitionsByTopic.set(t.name, (partitionsByTopic.get(t.name) ?? 0) + t.partitions.length);
      for (const p of t.partitions) sizes.set(`${t.name}-${p.partitionIndex}`, Number(p.partitionSize));
    }
  }
  let budgetedLogs = 0;
  if (budget >= 0 && partitionsByTopic.size > 0) {
    // The broker divides its budget among the logs whose cleanup.policy includes delete.
    const policies = await client.call<DescribeConfigsResponse>(
      ApiKey.DescribeConfigs,
      {
        resources: [...partitionsByTopic.keys()].map((name) => ({
          resourceType: RESOURCE_TOPIC,
          resourceName: name,
          configurationKeys: ['cleanup.policy'],
        })),
        includeSynonyms: false,
        includeDocumentation: false,
      },
      undefined,
      conn,
    );
    for (const r of policies.results) {
      if (r.errorCode !== 0) continue;
      if (isDeletePolicy(r.configs.find((c) => c.name === 'cleanup.policy')?.value))
        budgetedLogs += partitionsByTopic.get(r.resourceName) ?? 0;
    }
  }
  return { budget, budgetedLogs, sizes };
}

function describeSource(
  limit: SizeLimit,
  topicConfigs: readonly NamedValue[],
  partitions: number,
  broker: BrokerView,
  id: number,
) {
  switch (limit.source) {
    case 'retention.bytes': {
      const own = topicConfigs.find((c) => c.name === 'retention.bytes')?.configSource;
      return own === undefined || own === 1 ? 'retention.bytes' : 'retention.bytes (broker log.retention.bytes)';
    }
    case TOPIC_BUDGET:
      return `${TOPIC_BUDGET} ${formatBytes(num(topicConfigs, TOPIC_BUDGET))} / ${partitions} partitions`;
    case BROKER_BUDGET:
      return `${BROKER_BUDGET} ${formatBytes(broker.budget)} of broker ${id} / ${broker.budgetedLogs} logs`;
    default:
      return 'no size limit';
  }
}

/**
 * The "Size limits" block of `topic describe`: one line per partition with the limit its leader
 * enforces, where it comes from and the leader's current size, and the replicas that enforce a
 * different one (a broker budget's share depends on what each broker holds).
 */
export async function sizeLimitLines(
  client: KafkaClient,
  topic: string,
  partitions: readonly DescribedPartition[],
  topicConfigs: readonly NamedValue[],
): Promise<string> {
  const policy = topicConfigs.find((c) => c.name === 'cleanup.policy')?.value;
  if (!isDeletePolicy(policy)) return `Size limits: none (cleanup.policy=${policy})\n`;
  const retentionBytes = num(topicConfigs, 'retention.bytes');
  const topicBudget = num(topicConfigs, TOPIC_BUDGET);
  const brokers = new Map<number, BrokerView>();
  const ids = new Set(partitions.flatMap((p) => p.replicaNodes));
  await Promise.all(
    [...ids].map(async (id) => {
      try {
        brokers.set(id, await brokerView(client, id));
      } catch {
        // An unreachable replica shows as unknown below; the others are still described.
      }
    }),
  );
  const limitOn = (id: number): SizeLimit | undefined => {
    const b = brokers.get(id);
    if (b === undefined) return undefined;
    return effectiveSizeLimit({
      retentionBytes,
      retentionBytesTotal: topicBudget,
      partitionCount: partitions.length,
      brokerRetentionBytesTotal: b.budget,
      brokerPartitionCount: b.budgetedLogs,
    });
  };
  const header = [`Size limits:`];
  if (topicBudget >= 0)
    header.push(
      `${TOPIC_BUDGET}=${topicBudget} (${formatBytes(budgetShare(topicBudget, partitions.length))} per partition)`,
    );
  if (retentionBytes >= 0) header.push(`retention.bytes=${retentionBytes}`);
  const diskPercent = num(topicConfigs, 'retention.disk.percent');
  if (diskPercent > 0) header.push(`disk guard: retention.disk.percent=${diskPercent}`);
  const lines = [`${header.join('\t')}\n`];
  const segmentBytes = num(topicConfigs, 'segment.bytes');
  let smallest = -1;
  for (const p of [...partitions].sort((a, b) => a.partitionIndex - b.partitionIndex)) {
    const leader = brokers.get(p.leaderId);
    const limit = limitOn(p.leaderId);
    const size = leader?.sizes.get(`${topic}-${p.partitionIndex}`);
    const cols = [`\tPartition: ${p.partitionIndex}`];
    if (leader === undefined || limit === undefined) cols.push(`Limit: unknown (leader ${p.leaderId} unreachable)`);
    else {
      cols.push(`Limit: ${limit.bytes < 0 ? 'none' : `${limit.bytes} (${formatBytes(limit.bytes)})`}`);
      cols.push(`Source: ${describeSource(limit, topicConfigs, partitions.length, leader, p.leaderId)}`);
      if (limit.bytes >= 0 && (smallest < 0 || limit.bytes < smallest)) smallest = limit.bytes;
    }
    if (size !== undefined) cols.push(`Size: ${size} (${formatBytes(size)})`);
    const others = p.replicaNodes
      .filter((id) => id !== p.leaderId)
      .map((id) => [id, limitOn(id)] as const)
      .filter(([, l]) => l !== undefined && l.bytes !== limit?.bytes)
      .map(([id, l]) => `${id}=${l === undefined || l.bytes < 0 ? 'none' : formatBytes(l.bytes)}`);
    if (others.length > 0) cols.push(`Replica limits: ${others.join(',')}`);
    lines.push(`${cols.join('\t')}\n`);
  }
  if (smallest >= 0 && segmentBytes > smallest)
    lines.push(
      `note: segment.bytes ${segmentBytes} is above the smallest limit; the active segment is never deleted by size, so a partition may exceed its limit by up to one segment\n`,
    );
  return lines.join('');
}
