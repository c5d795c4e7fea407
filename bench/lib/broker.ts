/** A broker process for the benchmarks (bin/jocko.js on port 0, temp data dir) and topic helpers. */
import { KafkaClient } from '../../src/client/kafka-client.js';
import {
  type BrokerProcess,
  type BrokerProcessOptions,
  startBrokerProcess,
} from '../../test/helpers/broker-process.js';

export type { BrokerProcess };

/**
 * With JOCKO_BENCH_PROFILE_DIR set, the broker records a CPU profile (cpu-profile-hook.ts) and
 * writes it there when it stops (summarise with `node scripts/cpu-profile-top.mjs DIR/*.cpuprofile`).
 */
export async function startBenchBroker(options: BrokerProcessOptions = {}): Promise<BrokerProcess> {
  const profileDir = process.env['JOCKO_BENCH_PROFILE_DIR'];
  const hook = new URL('./cpu-profile-hook.js', import.meta.url).href;
  const profile =
    profileDir === undefined ? {} : { NODE_OPTIONS: `--import=${hook}`, JOCKO_CPU_PROFILE_DIR: profileDir };
  return startBrokerProcess({
    startTimeoutMs: 120_000,
    stopTimeoutMs: 60_000,
    ...options,
    // JOCKO_BENCH_BROKER_SCRIPT: another build's bin/jocko.js, to compare builds in the same run.
    ...(process.env['JOCKO_BENCH_BROKER_SCRIPT'] !== undefined
      ? { script: process.env['JOCKO_BENCH_BROKER_SCRIPT'] }
      : {}),
    config: { 'auto.create.topics.enable': 'false', ...options.config },
    env: { JOCKO_LOG_LEVEL: 'warn', ...profile, ...options.env },
  });
}

export async function adminClient(broker: BrokerProcess): Promise<KafkaClient> {
  const c = new KafkaClient({ bootstrap: broker.bootstrap, clientId: 'jocko-bench-admin' });
  await c.connect();
  return c;
}

export async function createTopic(
  admin: KafkaClient,
  name: string,
  partitions: number,
  configs: Record<string, string> = {},
): Promise<void> {
  const [r] = await admin.createTopics([{ name, numPartitions: partitions, replicationFactor: 1, configs }], {
    timeoutMs: 120_000,
  });
  if (r === undefined || r.errorCode !== 0)
    throw new Error(`create topic ${name}: error ${r?.errorCode} ${r?.errorMessage}`);
  // Wait until every partition has a leader.
  for (let i = 0; i < 600; i++) {
    const md = await admin.metadata([name]);
    const t = md.topics.find((x) => x.name === name);
    if (
      t !== undefined &&
      t.errorCode === 0 &&
      t.partitions.length === partitions &&
      t.partitions.every((p) => p.leaderId >= 0)
    )
      return;
    await new Promise((r2) => setTimeout(r2, 100));
  }
  throw new Error(`topic ${name} has no leaders`);
}

export async function deleteTopic(admin: KafkaClient, name: string): Promise<void> {
  await admin.deleteTopics([name]);
}
