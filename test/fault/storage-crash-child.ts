/**
 * Child process of storage-crash.test.ts: opens the log (recovering it if needed), then
 * appends batches as fast as it can and prints each acknowledged one, until it is killed.
 *
 *   node storage-crash-child.js <dir> <seed> <round> [fsync|background]
 *   stdout: "OPEN <logEndOffset> <clean>", then "ACK <k> <firstOffset> <lastOffset>" per append
 */
import { writeSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { type CrashTestMode, crashTestBatch, crashTestConfig } from './storage-crash-batches.js';

const [dir, seedArg, roundArg, modeArg = 'fsync'] = process.argv.slice(2);
if (dir === undefined || seedArg === undefined || roundArg === undefined) {
  throw new Error('usage: storage-crash-child.js <dir> <seed> <round> [fsync|background]');
}
const seed = Number(seedArg);
const round = Number(roundArg);
const mode = modeArg as CrashTestMode;
const log = PartitionLog.open(dir, crashTestConfig(mode));
// Writes to a pipe with writeSync: a line is out before the next append starts.
writeSync(1, `OPEN ${log.logEndOffset} ${log.loadSummary.cleanShutdown}\n`);
// Bounded, should the parent never kill us.
for (let k = 0; k < 200_000; k++) {
  const r = log.append(crashTestBatch(seed, round, k), { assignOffsets: true, leaderEpoch: round });
  writeSync(1, `ACK ${k} ${r.firstOffset} ${r.lastOffset}\n`);
  // Lets the background flushes and checkpoint writes run between appends, as between requests.
  if (mode === 'background') await nextTurn();
}
log.close();
