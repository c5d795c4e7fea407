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
import { assertClean, faultRun } from './fault-run.js';

const CYCLES = Number(process.env['JOCKO_REPLICATION_FAULT_CYCLES'] ?? 5);
/** Longer than the broker session timeout (3 s in the cluster's test settings): the paused leader is fenced. */
const PAUSE_MS = 4500;
const PRODUCERS = ['kafkajs', 'platformatic', 'confluent'] as const;

test('replication factor 3: kill -9 of a partition leader loses nothing acknowledged with acks=all', async (t) => {
  const r = await faultRun(t, {
    fault: 'kill9',
    cycles: CYCLES,
    nodes: 3,
    replicationFactor: 3,
    producers: PRODUCERS,
    expect: 'valid',
  });
  assertClean(r, CYCLES);
});

test('replication factor 3: a partition leader paused past its session loses nothing acknowledged', async (t) => {
  const r = await faultRun(t, {
    fault: 'pause',
    cycles: CYCLES,
    nodes: 3,
    replicationFactor: 3,
    producers: PRODUCERS,
    pauseMs: PAUSE_MS,
    expect: 'valid',
  });
  assertClean(r, CYCLES);
});

test('replication factor 3: a partition leader cut off from the other brokers (clients still reach it) loses nothing', async (t) => {
  const r = await faultRun(t, {
    fault: 'isolate',
    cycles: CYCLES,
    nodes: 3,
    replicationFactor: 3,
    producers: PRODUCERS,
    expect: 'valid',
  });
  assertClean(r, CYCLES);
});

test('replication factor 3: one broker link cut or stalled, one way or both, loses nothing', async (t) => {
  const r = await faultRun(t, {
    fault: 'peer-link',
    cycles: CYCLES,
    nodes: 3,
    replicationFactor: 3,
    producers: PRODUCERS,
    expect: 'valid',
  });
  assertClean(r, CYCLES);
});

test('five brokers, replication factor 3: kill -9 of a partition leader loses nothing acknowledged', async (t) => {
  const r = await faultRun(t, {
    fault: 'kill9',
    cycles: CYCLES,
    nodes: 5,
    replicationFactor: 3,
    partitions: 5,
    producers: PRODUCERS,
    expect: 'valid',
  });
  assertClean(r, CYCLES);
});
