/**
 * kill -9 during appends: a child appends batches and prints each acknowledgement; the parent
 * kills it at a random moment, reopens the log, and checks that every acknowledged batch is
 * there byte for byte, that nothing torn or corrupt is served, that offsets run without a gap
 * and that the leader epochs are those the batches carry. Then the next round's child (a
 * leader of the next epoch) goes on from where the log ends. The child either fsyncs every
 * append or leaves the syncing to the background flushes, killed in the middle of them. Some rounds
 * end with a clean close by the parent, some leave the crash for the child to recover, and
 * some add the torn head of a batch to the tail, as a write cut short would.
 */
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { lastOffsetAt, partitionLeaderEpochAt, splitBatches } from '../../src/protocol/records/record-batch.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { runUntilKilled } from '../helpers/children.js';
import { seededRandom, testSeed } from '../helpers/prng.js';
import { tempDir } from '../helpers/tmp.js';
import { readAll, segmentLogPath } from '../unit/storage/log-fixtures.js';
import { type CrashTestMode, crashTestBatch, crashTestConfig, storedCrashTestBatch } from './storage-crash-batches.js';

const SEED = testSeed();
const ROUNDS = Number(process.env['JOCKO_CRASH_ROUNDS'] ?? 15);
const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'storage-crash-child.js');

interface Ack {
  round: number;
  k: number;
  first: number;
  last: number;
}

/** Runs one child until it has acknowledged something (or a short while passed) and a random delay later kills it. */
async function runAndKill(
  dir: string,
  round: number,
  delayMs: number,
  mode: CrashTestMode,
): Promise<{ acks: Ack[]; openedClean: boolean }> {
  const lines = await runUntilKilled(CHILD, [dir, String(SEED), String(round), mode], delayMs);
  const [openLine, ...ackLines] = lines;
  assert.match(openLine ?? '', /^OPEN \d+ (true|false)$/, `child output: ${lines.slice(0, 3).join(' | ')}`);
  const acks = ackLines.map((l) => {
    const [, k, first, last] = l.split(' ').map(Number);
    return { round, k: k as number, first: first as number, last: last as number };
  });
  return { acks, openedClean: (openLine as string).endsWith('true') };
}

async function crashRounds(t: TestContext, mode: CrashTestMode): Promise<void> {
  const dir = tempDir(t, 'jocko-crash-');
  const rand = seededRandom(SEED);
  const config = crashTestConfig(mode);
  const acked: Ack[] = [];
  let expectCleanOpen = false;
  let totalAcks = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const { acks, openedClean } = await runAndKill(dir, round, 20 + Math.floor(rand() * 250), mode);
    assert.equal(openedClean, expectCleanOpen, `round ${round}: the child saw the shutdown the parent left`);
    acked.push(...acks);
    totalAcks += acks.length;

    const log = PartitionLog.open(dir, config);
    assert.equal(log.loadSummary.cleanShutdown, false, 'a killed child leaves no clean-shutdown marker');
    const lastAck = acked[acked.length - 1];
    if (lastAck !== undefined)
      assert.ok(log.logEndOffset > lastAck.last, `log ends at ${log.logEndOffset}, acked ${lastAck.last}`);
    // readAll checks every served batch's CRC and that offsets increase.
    const all = readAll(log, 256 * 1024);
    const byOffset = new Map<number, Buffer>();
    const epochs: Array<{ epoch: number; startOffset: number }> = [];
    let expectedNext = 0;
    for (const { pos, size } of splitBatches(all)) {
      const base = Number(all.readBigInt64BE(pos));
      assert.equal(base, expectedNext, 'offsets run without a gap');
      byOffset.set(base, all.subarray(pos, pos + size));
      expectedNext = lastOffsetAt(all, pos) + 1;
      const epoch = partitionLeaderEpochAt(all, pos);
      if (epoch > (epochs[epochs.length - 1]?.epoch ?? -1)) epochs.push({ epoch, startOffset: base });
    }
    assert.equal(expectedNext, log.logEndOffset);
    assert.deepEqual(log.leaderEpochEntries(), epochs, `round ${round}: the leader epochs the batches carry`);
    for (const a of acked) {
      const stored = byOffset.get(a.first);
      assert.ok(stored !== undefined, `acknowledged batch ${a.round}/${a.k} at ${a.first} is missing`);
      assert.deepEqual(stored, storedCrashTestBatch(SEED, a.round, a.k, a.first), `batch ${a.round}/${a.k} differs`);
    }
    // A batch written but not yet acknowledged when the kill came may be there too, intact.
    const unacked = [...byOffset.keys()].filter((o) => o > (lastAck?.last ?? -1));
    assert.ok(unacked.length <= 1, `${unacked.length} batches beyond the last acknowledgement`);
    const nextK = acks.length > 0 ? (acks[acks.length - 1] as Ack).k + 1 : 0;
    for (const o of unacked) assert.deepEqual(byOffset.get(o), storedCrashTestBatch(SEED, round, nextK, o));
    if (unacked.length === 1) {
      const o = unacked[0] as number;
      const b = byOffset.get(o) as Buffer;
      acked.push({ round, k: nextK, first: o, last: lastOffsetAt(b, 0) });
    }

    const ending = rand();
    if (ending < 0.3) {
      log.close();
      expectCleanOpen = true;
    } else {
      const bases = log.segmentBaseOffsets();
      log.abandon();
      expectCleanOpen = false;
      if (ending < 0.6) {
        // The head of a batch, as a write cut short by the kill would leave it.
        const torn = crashTestBatch(SEED, 999, round);
        appendFileSync(
          segmentLogPath(dir, bases[bases.length - 1] as number),
          torn.subarray(0, 1 + Math.floor(rand() * (torn.length - 1))),
        );
      }
    }
  }
  t.diagnostic(`${totalAcks} acknowledged appends over ${ROUNDS} kills; log end ${acked[acked.length - 1]?.last}`);
  assert.ok(totalAcks > ROUNDS, `only ${totalAcks} appends were acknowledged in ${ROUNDS} rounds`);
  const final = PartitionLog.open(dir, config);
  t.after(() => final.abandon());
  assert.ok(final.logEndOffset > (acked[acked.length - 1]?.last ?? -1));
}

test(`every acknowledged batch survives kill -9 byte for byte and nothing torn is served (seed ${SEED})`, (t) =>
  crashRounds(t, 'fsync'));

test(`kill -9 while flushes after rolls and leader-epoch checkpoint writes run in the background (seed ${SEED})`, (t) =>
  crashRounds(t, 'background'));
