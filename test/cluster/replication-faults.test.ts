/**
 * Partition replication under faults: `jocko broker` processes formed by --join (three, and five
 * for one run), a topic with replication factor 3 and min.insync.replicas 2, idempotent acks=all
 * producers of three client families (kafkajs, @platformatic/kafka, confluent-kafka) and
 * consumers (a kafkajs group and a confluent-kafka reader by assignment). Each cycle strikes the
 * node leading a random partition:
 * - kill -9 and restart;
 * - SIGSTOP past the session timeout, then SIGCONT (it is fenced, and comes back believing it
 *   still leads);
 * - isolation from every other node while clients still reach it (cut or stalled links, shorter
 *   or longer than the session timeout);
 * - one link to one other node cut or stalled, one way or both (a follower that cannot fetch
 *   leaves the ISR and comes back).
 * Each time the controller must elect a new leader from the ISR when the old one is gone, and
 * the clients must follow. The checker must find nothing: no acknowledged value lost,
 * duplicated or reordered, no consumer skipping or going back, and once every follower is back
 * in the ISR the replicas' logs are the same bytes.
 *
 * JOCKO_REPLICATION_FAULT_CYCLES sets the cycles per run (default 5).
 */
import { test } from 'node:test';
import { assertClean, type FaultRunOptions, faultRun } from './fault-run.js';

const CYCLES = Number(process.env['JOCKO_REPLICATION_FAULT_CYCLES'] ?? 5);
/** Longer than the broker session timeout (3 s in the cluster's test settings): the paused leader is fenced. */
const PAUSE_MS = 4500;
const PRODUCERS = ['kafkajs', 'platformatic', 'confluent'] as const;

const RUNS: ReadonlyArray<{ name: string; options: Partial<FaultRunOptions> }> = [
  {
    name: 'replication factor 3: kill -9 of a partition leader loses nothing acknowledged with acks=all',
    options: { fault: 'kill9' },
  },
  {
    name: 'replication factor 3: a partition leader paused past its session loses nothing acknowledged',
    options: { fault: 'pause', pauseMs: PAUSE_MS },
  },
  {
    name: 'replication factor 3: a partition leader cut off from the other brokers (clients still reach it) loses nothing',
    options: { fault: 'isolate' },
  },
  {
    name: 'replication factor 3: one broker link cut or stalled, one way or both, loses nothing',
    options: { fault: 'peer-link' },
  },
  {
    name: 'five brokers, replication factor 3: kill -9 of a partition leader loses nothing acknowledged',
    options: { fault: 'kill9', nodes: 5, partitions: 5 },
  },
];

for (const run of RUNS) {
  test(run.name, async (t) => {
    const r = await faultRun(t, {
      fault: 'kill9',
      cycles: CYCLES,
      nodes: 3,
      replicationFactor: 3,
      producers: PRODUCERS,
      expect: 'valid',
      ...run.options,
    });
    assertClean(r, CYCLES);
  });
}
