/**
 * Child process of cleaner-crash.test.ts: opens the compacted log (recovering it, finishing
 * or undoing an interrupted swap), then appends batches, rolls segments and runs cleaning
 * passes until it is killed, printing each acknowledged append.
 *
 *   node cleaner-crash-child.js <dir> <round>
 *   stdout: "OPEN <logEndOffset>", then "ACK <k> <firstOffset>" per append
 */
import { writeSync } from 'node:fs';
import { cleanLog, DEFAULT_CLEANER_SETTINGS } from '../../src/storage/cleaner.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { cleanerCrashBatch, cleanerCrashConfig } from './cleaner-crash-batches.js';

const [dir, roundArg] = process.argv.slice(2);
if (dir === undefined || roundArg === undefined) throw new Error('usage: cleaner-crash-child.js <dir> <round>');
const round = Number(roundArg);
const log = PartitionLog.open(dir, cleanerCrashConfig());
writeSync(1, `OPEN ${log.logEndOffset}\n`);
const settings = { ...DEFAULT_CLEANER_SETTINGS, ioBufferSize: 1024 };
// Bounded, should the parent never kill us.
for (let k = 0; k < 100_000; k++) {
  const r = log.append(cleanerCrashBatch(round, k), { assignOffsets: true, leaderEpoch: 0 });
  log.highWatermark = log.logEndOffset;
  writeSync(1, `ACK ${k} ${r.firstOffset}\n`);
  if (k % 4 === 3) log.forceRoll();
  if (k % 8 === 7) await cleanLog(log, undefined, Date.now(), settings);
}
log.close();
