/**
 * The metadata log on disk: Raft appends and reads as Kafka record batches over PartitionLog,
 * epochs and truncation as Kafka's KafkaMetadataLog answers them, control records, snapshot
 * files, durability through flush(), and reopening.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { decodeBatch } from '../../../src/protocol/records/record.js';
import {
  isControl,
  PARTITION_LEADER_EPOCH_OFFSET,
  readBatchHeader,
  splitBatches,
} from '../../../src/protocol/records/record-batch.js';
import { decodeControlRecord } from '../../../src/raft/control-records.js';
import {
  InvalidRaftRecordsError,
  type MetadataLogRetention,
  metadataLogConfig,
  PartitionRaftLog,
  parseSnapshotFileName,
  snapshotFileName,
} from '../../../src/raft/partition-raft-log.js';
import type { ControlRecord, LogEntry, Voter } from '../../../src/raft/types.js';
import { StorageResources } from '../../../src/storage/storage-resources.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';

const NOW = 1_700_000_000_000;
const VOTERS: Voter[] = [
  {
    id: 1,
    directoryId: '27c6803d-c7cb-42dd-9daa-cd4d253feb32',
    endpoints: [{ name: 'CONTROLLER', host: '127.0.0.1', port: 9093 }],
    minSupportedVersion: 0,
    maxSupportedVersion: 1,
  },
  { id: 2, directoryId: undefined, endpoints: [], minSupportedVersion: 0, maxSupportedVersion: 0 },
];
const LEADER_CHANGE: ControlRecord = { type: 'LeaderChange', leaderId: 1, voters: [1, 2, 3], grantingVoters: [1, 3] };

interface Scratch {
  readonly logs: PartitionRaftLog[];
  readonly dirs: string[];
}
const scratches = new WeakMap<TestContext, Scratch>();

/** What a test made: at its end the logs are let go of first (as a crash), then the directories removed. */
function scratchOf(t: TestContext): Scratch {
  let s = scratches.get(t);
  if (s === undefined) {
    const made: Scratch = { logs: [], dirs: [] };
    t.after(async () => {
      for (const l of made.logs) l.abandon();
      for (const d of made.dirs) await removeTempDir(d);
    });
    scratches.set(t, made);
    s = made;
  }
  return s;
}

function newDir(t: TestContext): string {
  const d = makeTempDir();
  scratchOf(t).dirs.push(d);
  return d;
}

function openLog(t: TestContext, dir = newDir(t)): PartitionRaftLog {
  const log = PartitionRaftLog.open(dir, { resources: new StorageResources(), now: () => NOW });
  scratchOf(t).logs.push(log);
  return log;
}

function data(...values: string[]): LogEntry[] {
  return values.map((v) => ({ kind: 'data', value: Buffer.from(v) }));
}

/** Epoch 1 at offsets 0-9, epoch 3 at 10-19, epoch 4 at 20-24, one record a batch. */
function withEpochs(log: PartitionRaftLog): void {
  for (let offset = 0; offset < 25; offset++) {
    log.appendAsLeader(data(`v${offset}`), offset < 10 ? 1 : offset < 20 ? 3 : 4);
  }
  assert.equal(log.endOffset(), 25);
}

/** The values of the log's data records and the kinds of its control records, in offset order. */
function contents(log: PartitionRaftLog): string[] {
  const out: string[] = [];
  const bytes = log.read(log.startOffset(), 1 << 20);
  for (const { pos, size } of splitBatches(bytes)) {
    const b = decodeBatch(bytes.subarray(pos, pos + size));
    for (const r of b.records) {
      out.push(isControl(b.header.attributes) ? `control:${JSON.stringify(decodeControlRecord(r))}` : String(r.value));
    }
  }
  return out;
}

test('a leader append is one batch stamped with the epoch, read back as stored bytes', (t) => {
  const log = openLog(t);
  assert.deepEqual(log.appendAsLeader(data('a', 'b', 'c'), 5), { firstOffset: 0, lastOffset: 2 });
  assert.deepEqual(log.appendAsLeader(data('d'), 5), { firstOffset: 3, lastOffset: 3 });
  const bytes = log.read(0, 1 << 20);
  const spans = splitBatches(bytes);
  assert.equal(spans.length, 2, 'one batch per append');
  const first = readBatchHeader(bytes, 0);
  assert.equal(first.partitionLeaderEpoch, 5);
  assert.equal(first.baseOffset, 0);
  assert.equal(first.recordCount, 3);
  assert.equal(isControl(first.attributes), false);
  assert.deepEqual(contents(log), ['a', 'b', 'c', 'd']);
  assert.equal(log.lastFetchedEpoch(), 5);
  assert.equal(log.isEmpty(log.read(4, 100)), true, 'nothing past the end');
  assert.equal(log.isEmpty(log.read(3, 1)), false, 'at least one batch whatever maxBytes says');
});

test("control records are written as one control batch with Kafka's keys and read back", (t) => {
  const log = openLog(t);
  log.appendAsLeader(data('x'), 1);
  const entries: LogEntry[] = [
    { kind: 'control', record: LEADER_CHANGE },
    { kind: 'control', record: { type: 'KRaftVersion', kraftVersion: 1 } },
    { kind: 'control', record: { type: 'Voters', voters: VOTERS } },
  ];
  assert.deepEqual(log.appendAsLeader(entries, 2), { firstOffset: 1, lastOffset: 3 });
  const bytes = log.read(1, 1 << 20);
  const header = readBatchHeader(bytes, 0);
  assert.equal(isControl(header.attributes), true);
  assert.equal(header.partitionLeaderEpoch, 2);
  const keys = decodeBatch(bytes).records.map((r) => [r.key?.readInt16BE(0), r.key?.readInt16BE(2)]);
  assert.deepEqual(
    keys,
    [
      [0, 2],
      [0, 5],
      [0, 6],
    ],
    'key version 0; LeaderChange 2, KRaftVersion 5, Voters 6',
  );
  assert.deepEqual(log.controlRecords(), [
    { offset: 1, record: LEADER_CHANGE },
    { offset: 2, record: { type: 'KRaftVersion', kraftVersion: 1 } },
    { offset: 3, record: { type: 'Voters', voters: VOTERS } },
  ]);
  assert.throws(() => log.appendAsLeader([...data('y'), { kind: 'control', record: LEADER_CHANGE }], 2), /mixes/);
  assert.throws(() => log.appendAsLeader(data('y'), 1), /epoch 1 after records of epoch 2/);
  assert.throws(() => log.appendAsLeader(data('y'), -1), /invalid leader epoch/);
  assert.equal(log.endOffset(), 4, 'refused appends add nothing');
});

test('endOffsetForEpoch: a known epoch, one between two known, one newer than all, and an empty log', (t) => {
  const log = openLog(t);
  assert.deepEqual(log.endOffsetForEpoch(3), { offset: 0, epoch: 0 }, 'empty log: its end and epoch 0');
  withEpochs(log);
  assert.deepEqual(log.endOffsetForEpoch(4), { offset: 25, epoch: 4 }, 'the latest epoch ends at the log end');
  assert.deepEqual(log.endOffsetForEpoch(3), { offset: 20, epoch: 3 }, 'an older epoch ends where the next begins');
  assert.deepEqual(log.endOffsetForEpoch(1), { offset: 10, epoch: 1 });
  assert.deepEqual(log.endOffsetForEpoch(2), { offset: 10, epoch: 1 }, 'between 1 and 3: the end of epoch 1');
  assert.deepEqual(log.endOffsetForEpoch(9), { offset: 25, epoch: 4 }, 'newer than all: the log end and last epoch');
  assert.deepEqual(log.endOffsetForEpoch(0), { offset: 0, epoch: 0 }, 'older than all, no snapshot: the log start');
});

test('endOffsetForEpoch of an epoch older than the log start answers with the snapshot the log starts at', async (t) => {
  const log = openLog(t);
  withEpochs(log);
  await log.createSnapshot({ offset: 10, epoch: 1 }, { lastContainedLogTimestamp: NOW, control: [], values: [] });
  log.deleteBeforeSnapshot();
  assert.equal(log.startOffset(), 10);
  assert.deepEqual(log.endOffsetForEpoch(1), { offset: 10, epoch: 1 }, 'the snapshot id');
  assert.deepEqual(log.endOffsetForEpoch(0), { offset: 10, epoch: 1 }, 'the snapshot id');
  assert.deepEqual(log.endOffsetForEpoch(3), { offset: 20, epoch: 3 }, 'epochs in the log answer as before');
});

test('truncateToEndOffset follows KIP-595: to the smaller of the two ends of a shared epoch, else to our end of the floor epoch', (t) => {
  const cases: Array<{ leader: { offset: number; epoch: number }; end: number; why: string }> = [
    { leader: { offset: 15, epoch: 3 }, end: 15, why: 'the leader ended epoch 3 before we did' },
    { leader: { offset: 100, epoch: 4 }, end: 25, why: 'we end epoch 4 first: nothing to remove' },
    { leader: { offset: 18, epoch: 2 }, end: 10, why: 'we have no epoch 2: the end of our epoch 1' },
    { leader: { offset: 7, epoch: 0 }, end: 7, why: 'epoch 0: the smaller offset' },
    { leader: { offset: 3, epoch: 1 }, end: 3, why: 'the leader ended epoch 1 at 3' },
  ];
  for (const c of cases) {
    const log = openLog(t);
    withEpochs(log);
    assert.equal(log.truncateToEndOffset(c.leader), c.end, c.why);
    assert.equal(log.endOffset(), c.end, c.why);
    assert.equal(contents(log).length, c.end, c.why);
    assert.equal(log.endOffsetForEpoch(9).offset, c.end, 'the epochs were cut too');
  }
});

test('a cut inside a batch removes the whole batch, as Kafka truncates', (t) => {
  const log = openLog(t);
  log.appendAsLeader(data('a', 'b', 'c'), 1);
  log.appendAsLeader(data('d', 'e'), 2);
  assert.equal(log.truncateToEndOffset({ offset: 4, epoch: 2 }), 3);
  assert.deepEqual(contents(log), ['a', 'b', 'c']);
  assert.equal(log.lastFetchedEpoch(), 1);
});

test('truncateTo removes the epochs that start at or after the cut', (t) => {
  const log = openLog(t);
  withEpochs(log);
  log.truncateTo(10);
  assert.equal(log.lastFetchedEpoch(), 1);
  assert.deepEqual(log.endOffsetForEpoch(3), { offset: 10, epoch: 1 });
  log.appendAsLeader(data('new'), 6);
  assert.deepEqual(log.endOffsetForEpoch(3), { offset: 10, epoch: 1 });
  assert.deepEqual(log.endOffsetForEpoch(6), { offset: 11, epoch: 6 });
});

test('a follower appends the leader’s batches byte for byte and reports their control records', (t) => {
  const leader = openLog(t);
  leader.appendAsLeader(data('a', 'b'), 1);
  leader.appendAsLeader([{ kind: 'control', record: LEADER_CHANGE }], 2);
  leader.appendAsLeader(data('c'), 2);
  const follower = openLog(t);
  const fetched = leader.read(0, 1 << 20);
  const r = follower.appendAsFollower(fetched);
  assert.equal(r.firstOffset, 0);
  assert.equal(r.lastOffset, 3);
  assert.deepEqual(r.control, [{ offset: 2, record: LEADER_CHANGE }]);
  assert.deepEqual(follower.read(0, 1 << 20), fetched, 'the same bytes');
  assert.equal(follower.lastFetchedEpoch(), 2);
  assert.deepEqual(follower.endOffsetForEpoch(1), { offset: 2, epoch: 1 });
});

test('a follower refuses, appending nothing, batches that are corrupt, torn, misplaced or of an older epoch', (t) => {
  const leader = openLog(t);
  leader.appendAsLeader(data('a', 'b'), 3);
  leader.appendAsLeader(data('c'), 3);
  const good = leader.read(0, 1 << 20);
  const firstBatch = good.subarray(0, splitBatches(good)[0]?.size);
  const secondBatch = good.subarray(firstBatch.length);

  const follower = openLog(t);
  const corrupt = Buffer.from(good);
  corrupt[corrupt.length - 1] = (corrupt[corrupt.length - 1] as number) ^ 0xff;
  assert.throws(() => follower.appendAsFollower(corrupt), InvalidRaftRecordsError, 'CRC mismatch');
  assert.throws(() => follower.appendAsFollower(good.subarray(0, good.length - 3)), InvalidRaftRecordsError, 'torn');
  assert.throws(() => follower.appendAsFollower(secondBatch), /starts at offset 2, expected 0/);
  assert.throws(() => follower.appendAsFollower(Buffer.alloc(0)), InvalidRaftRecordsError);
  assert.equal(follower.endOffset(), 0, 'nothing was appended');

  follower.appendAsFollower(firstBatch);
  const older = Buffer.from(secondBatch);
  older.writeInt32BE(2, PARTITION_LEADER_EPOCH_OFFSET); // not covered by the CRC, as in Kafka
  assert.throws(() => follower.appendAsFollower(older), /epoch 2, after epoch 3/);
  assert.equal(follower.endOffset(), 2);
  const noEpoch = Buffer.from(secondBatch);
  noEpoch.writeInt32BE(-1, PARTITION_LEADER_EPOCH_OFFSET);
  assert.throws(() => follower.appendAsFollower(noEpoch), /epoch -1/, 'a batch with no leader epoch');
  follower.appendAsFollower(secondBatch);
  assert.equal(follower.endOffset(), 3);
});

test('reopening after a clean close finds the same end offset, epochs and control records', (t) => {
  const dir = newDir(t);
  const log = openLog(t, dir);
  withEpochs(log);
  log.appendAsLeader([{ kind: 'control', record: LEADER_CHANGE }], 5);
  log.appendAsLeader([{ kind: 'control', record: { type: 'Voters', voters: VOTERS } }], 5);
  const before = {
    end: log.endOffset(),
    epoch: log.lastFetchedEpoch(),
    ends: [1, 2, 3, 4, 5].map((e) => log.endOffsetForEpoch(e)),
    control: log.controlRecords(),
  };
  log.close();
  const again = openLog(t, dir);
  assert.deepEqual(
    {
      end: again.endOffset(),
      epoch: again.lastFetchedEpoch(),
      ends: [1, 2, 3, 4, 5].map((e) => again.endOffsetForEpoch(e)),
      control: again.controlRecords(),
    },
    before,
  );
  assert.equal(before.end, 27);
  assert.equal(before.control.length, 2);
});

test('flush resolves with the end it made durable; a crash after it loses nothing below it', async (t) => {
  const dir = newDir(t);
  const log = openLog(t, dir);
  withEpochs(log);
  const flushed = await log.flush();
  assert.equal(flushed, 25);
  log.abandon(); // a crash: no clean-shutdown steps
  const again = openLog(t, dir);
  assert.equal(again.endOffset(), 25);
  assert.equal(again.lastFetchedEpoch(), 4);
  assert.deepEqual(again.endOffsetForEpoch(3), { offset: 20, epoch: 3 });
});

test('a truncation while a flush runs lowers what the flush reports to the truncation point', async (t) => {
  const log = openLog(t);
  withEpochs(log);
  const p = log.flush();
  log.truncateTo(10);
  log.appendAsLeader(data('again', 'and again'), 5);
  assert.equal(await p, 10, 'the records appended again after the cut are not covered');
  assert.equal(await log.flush(), 12);
});

test('snapshot files: Kafka’s name, header first and footer last, control records at the last contained offset', async (t) => {
  const log = openLog(t);
  withEpochs(log);
  const id = { offset: 20, epoch: 3 };
  const values = Array.from({ length: 5 }, (_, i) => Buffer.from(`state-${i}`));
  await log.createSnapshot(id, {
    lastContainedLogTimestamp: NOW - 5,
    control: [
      { type: 'KRaftVersion', kraftVersion: 1 },
      { type: 'Voters', voters: VOTERS },
    ],
    values,
  });
  assert.equal(snapshotFileName(id), '00000000000000000020-0000000003.checkpoint');
  assert.deepEqual(parseSnapshotFileName('00000000000000000020-0000000003.checkpoint.part'), {
    id,
    state: 'partial',
  });
  assert.ok(existsSync(join(log.dir, '00000000000000000020-0000000003.checkpoint')));
  assert.deepEqual(log.latestSnapshotId(), id);
  assert.deepEqual(log.latestSnapshotControlRecords(), [
    { offset: 19, record: { type: 'KRaftVersion', kraftVersion: 1 } },
    { offset: 19, record: { type: 'Voters', voters: VOTERS } },
  ]);
  const bytes = readFileSync(join(log.dir, snapshotFileName(id)));
  assert.equal(log.snapshotSize(id), bytes.length);
  const batches = splitBatches(bytes).map(({ pos, size }) => decodeBatch(bytes.subarray(pos, pos + size)));
  const kinds = batches.map((b) =>
    b.records.map((r) => (isControl(b.header.attributes) ? decodeControlRecord(r).kind : String(r.value))),
  );
  assert.deepEqual(kinds, [['snapshotHeader', 'raft', 'raft'], values.map(String), ['snapshotFooter']]);
  assert.deepEqual(decodeControlRecord(batches[0]?.records[0] as never), {
    kind: 'snapshotHeader',
    lastContainedLogTimestamp: NOW - 5,
  });
  assert.ok(
    batches.every((b) => b.header.partitionLeaderEpoch === 3),
    'batches in the snapshot epoch',
  );
  assert.deepEqual(
    batches.map((b) => b.header.baseOffset),
    [0, 3, 8],
    'offsets from 0',
  );
  // Reads are byte ranges, not aligned to batches.
  assert.deepEqual(log.readSnapshot(id, 7, 50), bytes.subarray(7, 57));
  assert.deepEqual(log.readSnapshot(id, bytes.length - 4, 50), bytes.subarray(bytes.length - 4));
  await assert.rejects(
    log.createSnapshot({ offset: 20, epoch: 2 }, { lastContainedLogTimestamp: 0, control: [], values: [] }),
    /does not match the log's epochs/,
  );
  await assert.rejects(
    log.createSnapshot({ offset: 30, epoch: 4 }, { lastContainedLogTimestamp: 0, control: [], values: [] }),
    /outside the log/,
  );
});

test('a snapshot downloaded in chunks is a .part file until complete, then replaces the follower’s log', async (t) => {
  const leader = openLog(t);
  withEpochs(leader);
  const id = { offset: 20, epoch: 3 };
  await leader.createSnapshot(id, {
    lastContainedLogTimestamp: NOW,
    control: [{ type: 'Voters', voters: VOTERS }],
    values: [Buffer.from('a'), Buffer.from('b')],
  });

  const follower = openLog(t);
  follower.appendAsLeader(data('stale', 'stale'), 1);
  follower.appendAsLeader(data('diverged'), 2);
  follower.beginSnapshotDownload(id);
  const part = join(follower.dir, '00000000000000000020-0000000003.checkpoint.part');
  const size = leader.snapshotSize(id);
  for (let position = 0; position < size; position += 40) {
    follower.writeSnapshotChunk(id, position, leader.readSnapshot(id, position, 40));
    assert.ok(existsSync(part), 'a .part file while downloading');
    assert.equal(follower.latestSnapshotId(), undefined, 'not named before it is complete');
  }
  assert.throws(() => follower.writeSnapshotChunk(id, 0, Buffer.from('x')), /chunk at 0, but \d+ bytes/);
  follower.completeSnapshotDownload(id);
  assert.equal(existsSync(part), false);
  assert.deepEqual(
    readFileSync(join(follower.dir, snapshotFileName(id))),
    readFileSync(join(leader.dir, snapshotFileName(id))),
    'the same bytes',
  );
  assert.deepEqual(follower.latestSnapshotId(), id);
  assert.equal(follower.startOffset(), 20);
  assert.equal(follower.endOffset(), 20);
  assert.equal(follower.lastFetchedEpoch(), 3, 'the snapshot epoch, the stale epochs are forgotten');
  assert.deepEqual(follower.endOffsetForEpoch(2), id);
  assert.deepEqual(follower.latestSnapshotControlRecords(), [
    { offset: 19, record: { type: 'Voters', voters: VOTERS } },
  ]);
  // Fetching goes on from the snapshot's end.
  follower.appendAsFollower(leader.read(20, 1 << 20));
  assert.equal(follower.endOffset(), 25);
  assert.equal(follower.lastFetchedEpoch(), 4);
});

test('a downloaded snapshot that is not header-to-footer intact batches is refused and the log kept', async (t) => {
  const leader = openLog(t);
  withEpochs(leader);
  const id = { offset: 10, epoch: 1 };
  await leader.createSnapshot(id, { lastContainedLogTimestamp: NOW, control: [], values: [Buffer.from('v')] });
  const whole = leader.readSnapshot(id, 0, 1 << 20);
  const follower = openLog(t);
  follower.appendAsLeader(data('mine'), 1);

  const attempts: Array<[Buffer, RegExp]> = [
    [whole.subarray(0, whole.length - 10), /torn/],
    [
      (() => {
        const b = Buffer.from(whole);
        b[b.length - 1] = (b[b.length - 1] as number) ^ 1;
        return b;
      })(),
      /corrupt/,
    ],
    [whole.subarray(0, whole.length - splitBatches(whole).at(-1)!.size), /SnapshotFooter/],
    [whole.subarray(splitBatches(whole)[0]!.size), /SnapshotHeader/],
  ];
  for (const [bytes, error] of attempts) {
    follower.beginSnapshotDownload(id);
    follower.writeSnapshotChunk(id, 0, bytes);
    assert.throws(() => follower.completeSnapshotDownload(id), error);
    assert.equal(follower.latestSnapshotId(), undefined);
    assert.deepEqual(contents(follower), ['mine'], 'the log is untouched');
    assert.deepEqual(
      readdirSync(follower.dir).filter((n) => n.includes('.checkpoint')),
      [],
      'no snapshot file is left',
    );
  }
});

test('reopening: partial snapshots go, complete ones stay, and one past the log end (a crash mid-install) empties the log', async (t) => {
  const leader = openLog(t);
  withEpochs(leader);
  const id = { offset: 20, epoch: 3 };
  await leader.createSnapshot(id, { lastContainedLogTimestamp: NOW, control: [], values: [] });

  const dir = newDir(t);
  const follower = openLog(t, dir);
  follower.appendAsLeader(data('a', 'b'), 1);
  follower.close();
  // The crash left the complete snapshot renamed into place, the log not yet emptied, and a partial download.
  writeFileSync(join(dir, snapshotFileName(id)), leader.readSnapshot(id, 0, 1 << 20));
  writeFileSync(join(dir, snapshotFileName({ offset: 30, epoch: 4 }, '.checkpoint.part')), 'half');
  const again = openLog(t, dir);
  assert.deepEqual(again.latestSnapshotId(), id);
  assert.equal(again.startOffset(), 20);
  assert.equal(again.endOffset(), 20);
  assert.equal(again.lastFetchedEpoch(), 3);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.includes('.checkpoint')),
    [snapshotFileName(id)],
  );
});

test('the leader’s own snapshot survives reopening, and records below it go only when asked', async (t) => {
  const dir = newDir(t);
  const log = openLog(t, dir);
  withEpochs(log);
  await log.createSnapshot({ offset: 10, epoch: 1 }, { lastContainedLogTimestamp: NOW, control: [], values: [] });
  await log.createSnapshot({ offset: 20, epoch: 3 }, { lastContainedLogTimestamp: NOW, control: [], values: [] });
  assert.equal(log.startOffset(), 0, 'a snapshot alone deletes nothing');
  log.close();
  const again = openLog(t, dir);
  assert.deepEqual(again.latestSnapshotId(), { offset: 20, epoch: 3 });
  assert.equal(again.endOffset(), 25, 'a snapshot inside the log does not empty it');
  again.deleteBeforeSnapshot();
  assert.equal(again.startOffset(), 20);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.includes('.checkpoint')),
    [snapshotFileName({ offset: 20, epoch: 3 })],
    'older snapshots are deleted with the records',
  );
  assert.deepEqual(contents(again), ['v20', 'v21', 'v22', 'v23', 'v24']);
  again.close();
  const third = openLog(t, dir);
  assert.equal(third.startOffset(), 20);
  assert.deepEqual(third.endOffsetForEpoch(1), { offset: 20, epoch: 3 }, 'older than the log: the snapshot id');
});

test('a log that starts past 0 with no snapshot reaching its start refuses to open', async (t) => {
  const dir = newDir(t);
  const log = openLog(t, dir);
  withEpochs(log);
  await log.createSnapshot({ offset: 10, epoch: 1 }, { lastContainedLogTimestamp: NOW, control: [], values: [] });
  log.deleteBeforeSnapshot();
  log.close();
  for (const n of readdirSync(dir)) if (n.endsWith('.checkpoint')) rmSync(join(dir, n));
  assert.throws(
    () => PartitionRaftLog.open(dir, { resources: new StorageResources(), now: () => NOW }),
    /starts at 10 but no snapshot reaches it/,
  );
});

// ------------------------------------------------------------------ snapshots written in pieces, retention

function openWith(
  t: TestContext,
  options: { dir?: string; retention?: MetadataLogRetention; segmentBytes?: number; now?: () => number },
): PartitionRaftLog {
  const log = PartitionRaftLog.open(options.dir ?? newDir(t), {
    resources: new StorageResources(),
    now: options.now ?? (() => NOW),
    ...(options.retention !== undefined ? { retention: options.retention } : {}),
    ...(options.segmentBytes !== undefined
      ? { config: metadataLogConfig({ segmentBytes: options.segmentBytes }) }
      : {}),
  });
  scratchOf(t).logs.push(log);
  return log;
}

const snapshotFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((n) => n.includes('.checkpoint'))
    .sort();

test('a snapshot written in pieces is a private .part file until frozen, and a crash leaves nothing that opening keeps', async (t) => {
  const dir = newDir(t);
  const log = openLog(t, dir);
  withEpochs(log);
  const id = { offset: 20, epoch: 3 };
  const writer = await log.beginSnapshot(id, { lastContainedLogTimestamp: NOW, control: [] });
  await writer.append([Buffer.from('one'), Buffer.from('two')]);
  await writer.append([Buffer.from('three')]);
  const [part] = snapshotFiles(dir);
  assert.match(part ?? '', /^00000000000000000020-0000000003\.\d+\.checkpoint\.part$/);
  assert.equal(log.latestSnapshotId(), undefined, 'not named before it is frozen');
  log.abandon();
  const again = openLog(t, dir);
  assert.deepEqual(snapshotFiles(dir), [], 'the partial file is removed on open');
  assert.equal(again.latestSnapshotId(), undefined);
  await writer.abort(); // the crashed writer's file handle

  const second = await again.beginSnapshot(id, { lastContainedLogTimestamp: NOW - 7, control: [] });
  await second.append([Buffer.from('one'), Buffer.from('two')]);
  await second.append([Buffer.from('three')]);
  assert.equal(await second.freeze(), true);
  assert.deepEqual(snapshotFiles(dir), [snapshotFileName(id)]);
  const values: string[] = [];
  again.forEachSnapshotBatch(id, (batch) => {
    const b = decodeBatch(batch);
    if (!isControl(b.header.attributes)) for (const r of b.records) values.push(String(r.value));
  });
  assert.deepEqual(values, ['one', 'two', 'three']);
  assert.equal(again.snapshotTimestamp(id), NOW - 7);
  await assert.rejects(second.append([Buffer.from('late')]), /snapshot writer frozen/);
});

test('an aborted snapshot leaves no file, and one the log moved past while it was written is dropped at freeze', async (t) => {
  const log = openLog(t);
  withEpochs(log);
  const aborted = await log.beginSnapshot({ offset: 10, epoch: 1 }, { lastContainedLogTimestamp: NOW, control: [] });
  await aborted.append([Buffer.from('x')]);
  await aborted.abort();
  assert.deepEqual(snapshotFiles(log.dir), []);

  const writer = await log.beginSnapshot({ offset: 10, epoch: 1 }, { lastContainedLogTimestamp: NOW, control: [] });
  await writer.append([Buffer.from('old state')]);
  // Meanwhile the leader's snapshot at 20 arrives and the log restarts there.
  const leader = openLog(t);
  withEpochs(leader);
  const id = { offset: 20, epoch: 3 };
  await leader.createSnapshot(id, { lastContainedLogTimestamp: NOW, control: [], values: [Buffer.from('s')] });
  log.beginSnapshotDownload(id);
  log.writeSnapshotChunk(id, 0, leader.readSnapshot(id, 0, 1 << 20));
  log.completeSnapshotDownload(id);
  assert.equal(await writer.freeze(), false);
  assert.deepEqual(snapshotFiles(log.dir), [snapshotFileName(id)]);
  assert.deepEqual(log.latestSnapshotId(), id);
  assert.deepEqual(log.earliestSnapshotId(), id);
});

/** Snapshots at 5, 10 and 20 of the log of withEpochs, each with a value of `valueBytes`. */
async function threeSnapshots(log: PartitionRaftLog, valueBytes: number, timestamps = [NOW, NOW, NOW]) {
  const ids = [
    { offset: 5, epoch: 1 },
    { offset: 10, epoch: 1 },
    { offset: 20, epoch: 3 },
  ];
  for (const [i, id] of ids.entries()) {
    await log.createSnapshot(id, {
      lastContainedLogTimestamp: timestamps[i] as number,
      control: [],
      values: [Buffer.alloc(valueBytes, 1)],
    });
  }
  return ids;
}

test('retention by size: oldest snapshots go, the log restarting at the next, until log and snapshots fit', async (t) => {
  const probe = openWith(t, { retention: { bytes: -1, ms: -1 } });
  withEpochs(probe);
  const ids = await threeSnapshots(probe, 1000);
  const logBytes = probe.sizeInBytes();
  const snapshotBytes = probe.snapshotSize(ids[0]!);
  assert.equal(probe.maybeClean(), false, 'no limit: nothing goes');
  assert.equal(probe.startOffset(), 0);

  // Room for the log and two snapshots: only the oldest goes.
  const log = openWith(t, { retention: { bytes: logBytes + 2 * snapshotBytes + 10, ms: -1 } });
  withEpochs(log);
  await threeSnapshots(log, 1000);
  assert.equal(log.maybeClean(), true);
  assert.equal(log.startOffset(), 10);
  assert.deepEqual(log.earliestSnapshotId(), ids[1]);
  assert.deepEqual(snapshotFiles(log.dir), [snapshotFileName(ids[1]!), snapshotFileName(ids[2]!)]);
  assert.deepEqual(contents(log).slice(0, 2), ['v10', 'v11']);
  assert.deepEqual(log.endOffsetForEpoch(0), ids[1], 'older than the log: the snapshot it starts at');
  assert.equal(log.maybeClean(), false, 'within the limit now');

  // No room at all: everything below the latest snapshot goes, the latest stays.
  const tight = openWith(t, { retention: { bytes: 0, ms: -1 } });
  withEpochs(tight);
  await threeSnapshots(tight, 1000);
  assert.equal(tight.maybeClean(), true);
  assert.equal(tight.startOffset(), 20);
  assert.deepEqual(snapshotFiles(tight.dir), [snapshotFileName(ids[2]!)]);
  assert.deepEqual(contents(tight), ['v20', 'v21', 'v22', 'v23', 'v24']);
});

test('a single snapshot keeps the log below it, whatever the retention (Kafka deletes only between snapshots)', async (t) => {
  const log = openWith(t, { retention: { bytes: 0, ms: 0 } });
  withEpochs(log);
  await log.createSnapshot({ offset: 20, epoch: 3 }, { lastContainedLogTimestamp: 0, control: [], values: [] });
  assert.equal(log.maybeClean(), false);
  assert.equal(log.startOffset(), 0);
});

test('retention by time: snapshots whose last record is older than the retention go, oldest first', async (t) => {
  const log = openWith(t, { retention: { bytes: -1, ms: 60_000 } });
  withEpochs(log);
  const ids = await threeSnapshots(log, 10, [NOW - 120_000, NOW - 90_000, NOW - 30_000]);
  assert.equal(log.maybeClean(), true);
  assert.equal(log.startOffset(), 20, 'the two old snapshots went; the latest always stays');
  assert.deepEqual(snapshotFiles(log.dir), [snapshotFileName(ids[2]!)]);

  const recent = openWith(t, { retention: { bytes: -1, ms: 60_000 } });
  withEpochs(recent);
  await threeSnapshots(recent, 10, [NOW - 120_000, NOW - 30_000, NOW - 10_000]);
  assert.equal(recent.maybeClean(), true);
  assert.equal(recent.startOffset(), 10, 'stops at the first snapshot within the retention');
});

test('cleaning deletes whole segments below the new log start, and a reopened log starts there', async (t) => {
  const dir = newDir(t);
  const log = openWith(t, { dir, retention: { bytes: 0, ms: -1 }, segmentBytes: 300 });
  withEpochs(log);
  const segments = () => readdirSync(dir).filter((n) => n.endsWith('.log')).length;
  const before = segments();
  assert.ok(before > 3, `small segments (${before})`);
  await threeSnapshots(log, 10);
  assert.equal(log.maybeClean(), true);
  assert.ok(segments() < before, `segments below the start deleted (${segments()} of ${before})`);
  assert.equal(log.startOffset(), 20);
  log.close();
  const again = openWith(t, { dir, retention: { bytes: 0, ms: -1 }, segmentBytes: 300 });
  assert.equal(again.startOffset(), 20);
  assert.deepEqual(again.latestSnapshotId(), { offset: 20, epoch: 3 });
  assert.deepEqual(contents(again), ['v20', 'v21', 'v22', 'v23', 'v24']);
});
