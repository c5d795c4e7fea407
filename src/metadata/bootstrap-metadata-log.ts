// Formats a new metadata log: the first batch holds kraft.version 1 and the initial voters (what
// Kafka puts in its bootstrap checkpoint), then, for a data directory that ran before the Raft
// quorum, every batch of its old `metadata.log`, so nothing it held is lost.

import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { logger } from '../observability/logger.js';
import type { PartitionRaftLog } from '../raft/partition-raft-log.js';
import type { Voter } from '../raft/types.js';
import { fsyncDir } from '../storage/file-io.js';
import { readLegacyMetadataLog } from './metadata-store.js';
import { encodeMetadataRecord } from './records.js';

const log = logger('metadata');

/** The epoch of the records written before any leader: the bootstrap and imported batches. */
const BOOTSTRAP_EPOCH = 0;

/**
 * Writes the bootstrap batch (and imports `legacyDir/metadata.log`) into an empty metadata log,
 * durably, then renames the old file so the import happens once. A log that has records or a
 * snapshot is left alone.
 */
export async function bootstrapMetadataLog(
  raftLog: PartitionRaftLog,
  legacyDir: string,
  voters: readonly Voter[],
): Promise<void> {
  const legacyPath = join(legacyDir, 'metadata.log');
  const legacyLeft = existsSync(legacyPath);
  if (raftLog.endOffset() > 0 || raftLog.latestSnapshotId() !== undefined) {
    // A log formatted and in use is left alone. But an import that a crash cut short (the old
    // file is renamed only once the import is durable) is redone from the start, as long as
    // the log holds nothing but what formatting wrote (no leader has written in any epoch).
    if (!legacyLeft || raftLog.latestSnapshotId() !== undefined || raftLog.lastFetchedEpoch() !== BOOTSTRAP_EPOCH)
      return;
    log.warn('an earlier import of the metadata log did not finish: importing again', { from: legacyPath });
    raftLog.truncateTo(0);
  }
  raftLog.appendAsLeader(
    [
      { kind: 'control', record: { type: 'KRaftVersion', kraftVersion: 1 } },
      { kind: 'control', record: { type: 'Voters', voters } },
    ],
    BOOTSTRAP_EPOCH,
  );
  const legacy = readLegacyMetadataLog(legacyDir);
  for (const batch of legacy) {
    if (batch.length === 0) continue;
    raftLog.appendAsLeader(
      batch.map((r) => ({ kind: 'data' as const, value: encodeMetadataRecord(r) })),
      BOOTSTRAP_EPOCH,
    );
  }
  await raftLog.flush();
  if (legacyLeft) {
    renameSync(legacyPath, `${legacyPath}.migrated`);
    fsyncDir(legacyDir);
    log.info('imported the metadata log into the Raft metadata log', { batches: legacy.length, from: legacyPath });
  }
}
