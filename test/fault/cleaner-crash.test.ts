/**
 * kill -9 while the log cleaner works: a child appends fsynced batches to a compacted log and
 * cleans it over and over; the parent kills it at a random moment (in a pass, in a swap, in
 * an append), reopens the log and checks it against a model of everything acknowledged:
 * every key's latest value is there (a key whose latest record is a tombstone may be gone),
 * nothing is served that was not written at that offset, offsets increase, every batch is
 * intact, and no `.cleaned` or `.swap` file is left.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeBatch } from '../../src/protocol/records/record.js';
import { splitBatches } from '../../src/protocol/records/record-batch.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { runUntilKilled } from '../helpers/children.js';
import { seededRandom, testSeed } from '../helpers/prng.js';
import { tempDir } from '../helpers/tmp.js';
import { readAll } from '../unit/storage/log-fixtures.js';
import {
  type CrashRecord,
  cleanerCrashConfig,
  cleanerCrashRecords,
  RECORDS_PER_BATCH,
} from './cleaner-crash-batches.js';

const SEED = testSeed();
const ROUNDS = Number(process.env['JOCKO_CRASH_ROUNDS'] ?? 12);
const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'cleaner-crash-child.js');

/** Runs one child, kills it `delayMs` after it opened the log; returns the first offsets it acknowledged by k. */
async function runAndKill(dir: string, round: number, delayMs: number): Promise<number[]> {
  const lines = await runUntilKilled(CHILD, [dir, String(round)], delayMs);
  const [openLine, ...acks] = lines;
  assert.match(openLine ?? '', /^OPEN \d+$/, `child output: ${lines.slice(0, 3).join(' | ')}`);
  return acks.map((l) => Number(l.split(' ')[2]));
}

test(`a compacted log keeps every key's latest acknowledged value through kill -9 during cleaning (seed ${SEED})`, async (t) => {
  const dir = tempDir(t, 'jocko-cleaner-crash-');
  const rand = seededRandom(SEED);
  const config = cleanerCrashConfig();
  /** Every record acknowledged (or found written just before the kill), by offset. */
  const written = new Map<number, CrashRecord>();
  let nextOffset = 0;
  let totalAcks = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const firsts = await runAndKill(dir, round, 50 + Math.floor(rand() * 400));
    totalAcks += firsts.length;
    firsts.forEach((first, k) => {
      assert.equal(first, nextOffset, 'appends follow each other');
      cleanerCrashRecords(round, k).forEach((r, i) => {
        written.set(first + i, r);
      });
      nextOffset = first + RECORDS_PER_BATCH;
    });

    const log = PartitionLog.open(dir, config);
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.endsWith('.cleaned') || n.endsWith('.swap')),
      [],
      'no swap leftovers after open',
    );
    // A batch written but not acknowledged before the kill may be there too.
    if (log.logEndOffset === nextOffset + RECORDS_PER_BATCH) {
      cleanerCrashRecords(round, firsts.length).forEach((r, i) => {
        written.set(nextOffset + i, r);
      });
      nextOffset += RECORDS_PER_BATCH;
    }
    assert.equal(log.logEndOffset, nextOffset, 'the log ends after the last acknowledged batch');

    const served: Array<{ offset: number; key: string; value: string | null }> = [];
    const bytes = readAll(log); // checks every batch's CRC and that offsets increase
    for (const { pos, size } of splitBatches(bytes)) {
      for (const r of decodeBatch(bytes.subarray(pos, pos + size)).records) {
        served.push({ offset: r.offset, key: r.key?.toString() ?? '', value: r.value?.toString() ?? null });
      }
    }
    for (const r of served) {
      assert.deepEqual({ key: r.key, value: r.value }, written.get(r.offset), `offset ${r.offset} is what was written`);
    }
    const latestWritten = new Map<string, { offset: number; value: string | null }>();
    for (const [offset, r] of [...written].sort((a, b) => a[0] - b[0]))
      latestWritten.set(r.key, { offset, value: r.value });
    const latestServed = new Map<string, { offset: number; value: string | null }>();
    for (const r of served) latestServed.set(r.key, { offset: r.offset, value: r.value });
    for (const [key, w] of latestWritten) {
      const s = latestServed.get(key);
      if (w.value === null) assert.ok(s === undefined || s.offset === w.offset, `${key}: its tombstone or nothing`);
      else assert.deepEqual(s, w, `${key}: the latest value`);
    }
    if (rand() < 0.3) log.close();
    else log.abandon();
  }
  t.diagnostic(`${totalAcks} acknowledged appends over ${ROUNDS} kills; log end ${nextOffset}`);
  assert.ok(totalAcks > ROUNDS, `only ${totalAcks} appends were acknowledged in ${ROUNDS} rounds`);
});
