// Formatting the Raft metadata log, and importing a metadata.log from before the quorum: once,
// again after a crash cut it short, and never over a log a leader has written to.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { bootstrapMetadataLog } from '../../../src/metadata/bootstrap-metadata-log.js';
import { readLegacyMetadataLog } from '../../../src/metadata/metadata-store.js';
import { PartitionRaftLog } from '../../../src/raft/partition-raft-log.js';
import type { Voter } from '../../../src/raft/types.js';
import { fixturesDir } from '../../helpers/paths.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';

const VOTER: Voter = {
  id: 1,
  directoryId: '00000000-0000-0000-0000-000000000001',
  endpoints: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 9092 }],
  minSupportedVersion: 0,
  maxSupportedVersion: 1,
};

function setup(t: { after: (fn: () => void) => void }, withLegacy: boolean) {
  const dir = makeTempDir('jocko-bootstrap-');
  const logs: PartitionRaftLog[] = [];
  t.after(() => {
    for (const l of logs) l.close();
    removeTempDir(dir);
  });
  if (withLegacy) copyFileSync(join(fixturesDir, 'metadata', 'metadata.log'), join(dir, 'metadata.log'));
  const open = () => {
    const l = PartitionRaftLog.open(join(dir, '__cluster_metadata-0'));
    logs.push(l);
    return l;
  };
  return { dir, open };
}

const legacyRecords = readLegacyMetadataLog(join(fixturesDir, 'metadata')).reduce((n, b) => n + b.length, 0);

test('a new metadata log starts with kraft.version 1 and the initial voters at epoch 0', async (t) => {
  const { dir, open } = setup(t, false);
  const raftLog = open();
  await bootstrapMetadataLog(raftLog, dir, [VOTER]);
  assert.equal(raftLog.endOffset(), 2);
  assert.deepEqual(
    raftLog.controlRecords().map((c) => c.record.type),
    ['KRaftVersion', 'Voters'],
  );
  await bootstrapMetadataLog(raftLog, dir, [VOTER]);
  assert.equal(raftLog.endOffset(), 2, 'formatting happens once');
});

test('an old metadata.log is imported batch by batch after the bootstrap batch, then renamed', async (t) => {
  const { dir, open } = setup(t, true);
  assert.ok(legacyRecords > 10);
  const raftLog = open();
  await bootstrapMetadataLog(raftLog, dir, [VOTER]);
  assert.equal(raftLog.endOffset(), 2 + legacyRecords);
  assert.equal(existsSync(join(dir, 'metadata.log')), false);
  assert.equal(existsSync(join(dir, 'metadata.log.migrated')), true);
});

test('an import a crash cut short (the old file still there) is redone from the start, not doubled', async (t) => {
  const { dir, open } = setup(t, false);
  const first = open();
  // The crash: the bootstrap batch reached the log, the import did not finish, the old file stays.
  await bootstrapMetadataLog(first, dir, [VOTER]);
  first.close();
  copyFileSync(join(fixturesDir, 'metadata', 'metadata.log'), join(dir, 'metadata.log'));
  const raftLog = open();
  await bootstrapMetadataLog(raftLog, dir, [VOTER]);
  assert.equal(raftLog.endOffset(), 2 + legacyRecords);
  assert.equal(existsSync(join(dir, 'metadata.log')), false);
});

test('a metadata log a leader has written to is never replaced by an old file', async (t) => {
  const { dir, open } = setup(t, false);
  const raftLog = open();
  await bootstrapMetadataLog(raftLog, dir, [VOTER]);
  raftLog.appendAsLeader([{ kind: 'data', value: Buffer.from('written by the leader of epoch 1') }], 1);
  await raftLog.flush();
  copyFileSync(join(fixturesDir, 'metadata', 'metadata.log'), join(dir, 'metadata.log'));
  await bootstrapMetadataLog(raftLog, dir, [VOTER]);
  assert.equal(raftLog.endOffset(), 3);
  assert.equal(existsSync(join(dir, 'metadata.log')), true, 'the old file is left for an operator to look at');
});
