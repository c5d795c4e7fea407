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
  if (raftLog.endOffset() > 0 || raftLog.latestSnapshotId() !== undefined) return;
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
  const legacyPath = join(legacyDir, 'metadata.log');
  if (existsSync(legacyPath)) {
    renameSync(legacyPath, `${legacyPath}.migrated`);
    fsyncDir(legacyDir);
    log.info('imported the metadata log into the Raft metadata log', { batches: legacy.length, from: legacyPath });
  }
}
