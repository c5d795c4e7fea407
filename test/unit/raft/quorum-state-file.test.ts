/** The quorum-state file: Kafka's JSON format, atomic durable writes, and refusing a damaged file. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  decodeQuorumState,
  encodeQuorumState,
  kafkaBase64ToUuid,
  QUORUM_STATE_FILE,
  QuorumStateFile,
  QuorumStateFileError,
  readQuorumState,
  uuidToKafkaBase64,
} from '../../../src/raft/quorum-state-file.js';
import type { ElectionState } from '../../../src/raft/types.js';
import { tempDir } from '../../helpers/tmp.js';

const DIR_ID = '27c6803d-c7cb-42dd-9daa-cd4d253feb32';

test('a missing file means no election state yet', async (t) => {
  assert.equal(await readQuorumState(tempDir(t)), undefined);
});

test('states round-trip through the file: a vote with a directory id, a vote without, a leader, neither', async (t) => {
  const file = new QuorumStateFile(tempDir(t));
  const states: ElectionState[] = [
    { epoch: 7, leaderId: undefined, votedKey: { id: 2, directoryId: DIR_ID } },
    { epoch: 8, leaderId: undefined, votedKey: { id: 3, directoryId: undefined } },
    { epoch: 9, leaderId: 1, votedKey: undefined },
    { epoch: 10, leaderId: undefined, votedKey: undefined },
    { epoch: 11, leaderId: 4, votedKey: { id: 4, directoryId: DIR_ID } },
  ];
  for (const s of states) {
    await file.write(s);
    assert.deepEqual(await file.read(), s);
  }
});

test('the file is the one line of JSON Kafka writes (data_version 1, base64url directory id, -1 for none)', async (t) => {
  const dir = tempDir(t);
  await new QuorumStateFile(dir).write({ epoch: 2, leaderId: undefined, votedKey: { id: 1, directoryId: DIR_ID } });
  const text = readFileSync(join(dir, QUORUM_STATE_FILE), 'utf8');
  assert.equal(
    text,
    `{"leaderId":-1,"leaderEpoch":2,"votedId":1,"votedDirectoryId":"${uuidToKafkaBase64(DIR_ID)}","data_version":1}`,
  );
  assert.equal(uuidToKafkaBase64(DIR_ID), 'J8aAPcfLQt2dqs1NJT_rMg');
  assert.equal(kafkaBase64ToUuid('J8aAPcfLQt2dqs1NJT_rMg'), DIR_ID);
  assert.equal(uuidToKafkaBase64('00000000-0000-0000-0000-000000000000'), 'AAAAAAAAAAAAAAAAAAAAAA');
  assert.equal(existsSync(join(dir, `${QUORUM_STATE_FILE}.tmp`)), false, 'the temporary file was renamed away');
});

test('files written by Kafka are read: version 1 from the FileQuorumStateStore docs, and version 0', () => {
  assert.deepEqual(
    decodeQuorumState(
      '{"leaderId":-1,"leaderEpoch":2,"votedId":1,"votedDirectoryId":"J8aAPcfLQt2bqs1JT_rMgQ","data_version":1}\n',
      'x',
    ),
    { epoch: 2, leaderId: undefined, votedKey: { id: 1, directoryId: kafkaBase64ToUuid('J8aAPcfLQt2bqs1JT_rMgQ') } },
  );
  assert.deepEqual(
    decodeQuorumState(
      '{"clusterId":"","leaderId":1,"leaderEpoch":2,"votedId":-1,"appliedOffset":0,"currentVoters":[{"voterId":1}],"data_version":0}',
      'x',
    ),
    { epoch: 2, leaderId: 1, votedKey: undefined },
  );
  assert.deepEqual(
    decodeQuorumState(
      '{"clusterId":"","leaderId":-1,"leaderEpoch":5,"votedId":3,"appliedOffset":0,"currentVoters":null,"data_version":0}',
      'x',
    ),
    { epoch: 5, leaderId: undefined, votedKey: { id: 3, directoryId: undefined } },
    'version 0 has no directory ids',
  );
});

test('a torn, empty or malformed file is refused with an error naming it, never read as "no state"', async (t) => {
  const good = encodeQuorumState({ epoch: 3, leaderId: undefined, votedKey: { id: 2, directoryId: DIR_ID } });
  const cases: Array<[string, string]> = [
    ['', 'empty'],
    [good.slice(0, good.length - 5), 'torn'],
    ['\u0000\u0000\u0000\u0000', 'zeroes'],
    ['[1,2,3]', 'not an object'],
    ['{"leaderId":-1,"leaderEpoch":2,"votedId":1,"votedDirectoryId":"AAAAAAAAAAAAAAAAAAAAAA"}', 'no data_version'],
    ['{"leaderId":-1,"leaderEpoch":2,"votedId":1,"votedDirectoryId":"AAAAAAAAAAAAAAAAAAAAAA","data_version":2}', 'v2'],
    ['{"leaderId":-1,"votedId":1,"votedDirectoryId":"AAAAAAAAAAAAAAAAAAAAAA","data_version":1}', 'no epoch'],
    ['{"leaderId":-1,"leaderEpoch":2,"votedId":1,"data_version":1}', 'no directory id in v1'],
    [
      '{"leaderId":-1,"leaderEpoch":"2","votedId":1,"votedDirectoryId":"AAAAAAAAAAAAAAAAAAAAAA","data_version":1}',
      'str',
    ],
    ['{"leaderId":-1,"leaderEpoch":2,"votedId":1,"votedDirectoryId":"zz","data_version":1}', 'bad uuid'],
    [
      '{"leaderId":-1,"leaderEpoch":-4,"votedId":1,"votedDirectoryId":"AAAAAAAAAAAAAAAAAAAAAA","data_version":1}',
      'neg',
    ],
    ['{"leaderId":-1,"leaderEpoch":2,"votedId":-1,"data_version":0}', 'v0 without its fields'],
  ];
  for (const [text, what] of cases) {
    const dir = tempDir(t);
    writeFileSync(join(dir, QUORUM_STATE_FILE), text);
    await assert.rejects(
      readQuorumState(dir),
      (err: unknown) => err instanceof QuorumStateFileError && err.message.includes(join(dir, QUORUM_STATE_FILE)),
      what,
    );
  }
});

test('a crash after the temporary file is written but before the rename leaves the old state', async (t) => {
  const dir = tempDir(t);
  const file = new QuorumStateFile(dir);
  const old: ElectionState = { epoch: 4, leaderId: undefined, votedKey: { id: 1, directoryId: DIR_ID } };
  await file.write(old);
  // The crash: the new state reached the temporary file only, whole or torn.
  const next = encodeQuorumState({ epoch: 5, leaderId: undefined, votedKey: { id: 2, directoryId: DIR_ID } });
  writeFileSync(join(dir, `${QUORUM_STATE_FILE}.tmp`), next);
  assert.deepEqual(await readQuorumState(dir), old);
  writeFileSync(join(dir, `${QUORUM_STATE_FILE}.tmp`), next.slice(0, 10));
  assert.deepEqual(await readQuorumState(dir), old);
  // After the restart the leftover is overwritten by the next write.
  const after: ElectionState = { epoch: 6, leaderId: 3, votedKey: undefined };
  await new QuorumStateFile(dir).write(after);
  assert.deepEqual(await readQuorumState(dir), after);
  assert.equal(existsSync(join(dir, `${QUORUM_STATE_FILE}.tmp`)), false);
});

test('writes asked for together land in order: the last one asked is what the file holds', async (t) => {
  const file = new QuorumStateFile(tempDir(t));
  const finished: number[] = [];
  const writes = [1, 2, 3, 4, 5].map((epoch) =>
    file.write({ epoch, leaderId: undefined, votedKey: { id: epoch, directoryId: undefined } }).then(() => {
      finished.push(epoch);
    }),
  );
  await Promise.all(writes);
  assert.deepEqual(finished, [1, 2, 3, 4, 5]);
  assert.equal((await file.read())?.epoch, 5);
});

test('a write that fails rejects its promise and later writes still succeed', async (t) => {
  const dir = join(tempDir(t), 'not-yet-created');
  const file = new QuorumStateFile(dir);
  await assert.rejects(file.write({ epoch: 1, leaderId: undefined, votedKey: undefined }), /ENOENT/);
  mkdirSync(dir);
  await file.write({ epoch: 2, leaderId: undefined, votedKey: undefined });
  assert.equal((await file.read())?.epoch, 2);
});

test('a state that cannot be written as Kafka would is refused before touching the disk', () => {
  assert.throws(() => encodeQuorumState({ epoch: -1, leaderId: undefined, votedKey: undefined }), RangeError);
  assert.throws(() => encodeQuorumState({ epoch: 1, leaderId: undefined, votedKey: { id: 1, directoryId: 'nope' } }));
});
