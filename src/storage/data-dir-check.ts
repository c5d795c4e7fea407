// Start-up refuses a data directory whose identity it cannot trust. `meta.properties` names the
// cluster and node a directory belongs to; Kafka will not start on a log dir that holds data but
// is not formatted, or whose meta.properties is unreadable or inconsistent. Formatting a new
// cluster id over existing data would make this node a member of a cluster that does not exist,
// with partitions and a metadata log that belong to another one.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The identity file of a metadata directory (Kafka's name). */
const META_PROPERTIES = 'meta.properties';

/** Start-up stopped because a data directory cannot be trusted; the message says why and what to do. */
export class UntrustedDataDirError extends Error {
  override readonly name = 'UntrustedDataDirError';
}

/** A partition directory: `topic-N`, or one being deleted (`topic-N.<uuid>-delete`). */
const PARTITION_DIR = /^.+-\d+(\.[0-9a-f]+-delete)?$/;

/**
 * What in `dir` shows that a broker ran on it, at most `limit` names: in the metadata dir anything
 * but meta.properties; in a log dir, partition directories (a broker that stopped before it held a
 * partition, say a refused join, leaves only files that tell nothing of a cluster).
 */
function dataIn(dir: string, isLogDir: boolean, limit = 3): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    if (found.length >= limit) break;
    if (name === META_PROPERTIES || name === `${META_PROPERTIES}.tmp`) continue;
    if (!isLogDir) {
      found.push(name);
      continue;
    }
    let isDir = false;
    try {
      isDir = statSync(join(dir, name)).isDirectory();
    } catch {
      continue;
    }
    if (isDir && PARTITION_DIR.test(name)) found.push(name);
  }
  return found;
}

function recovery(path: string, dataDirs: readonly string[]): string {
  return (
    `To recover, restore ${path} from a backup, or write it again with the lines ` +
    '"cluster.id=<id>", "node.id=<id>" and "directory.id=<uuid>" this node had ("jocko cluster status" ' +
    "against another member prints the cluster id and each voter's directory id; without the old " +
    "directory id the node is no longer the voter it was). To discard this node's data and start it as " +
    `a new, empty node, remove ${dataDirs.join(' and ')}.`
  );
}

/**
 * Throws UntrustedDataDirError when `metadataDir/meta.properties` is missing while the metadata
 * dir or a log dir holds data, or when it exists but cannot be read, is empty, has no cluster.id
 * or a node.id that is not a number. A directory with no data and no meta.properties is fresh and
 * passes (it is formatted next).
 */
export function refuseUntrustedDataDirs(metadataDir: string, logDirs: readonly string[]): void {
  const path = join(metadataDir, META_PROPERTIES);
  const dataDirs = [metadataDir, ...logDirs];
  if (!existsSync(path)) {
    const found = [
      ...dataIn(metadataDir, false).map((n) => join(metadataDir, n)),
      ...logDirs.flatMap((d) => dataIn(d, true).map((n) => join(d, n))),
    ];
    if (found.length === 0) return;
    throw new UntrustedDataDirError(
      `${path} is missing but the data directory holds a broker's data (${found.slice(0, 3).join(', ')}), ` +
        'so the cluster id and node id it belongs to are unknown; refusing to start rather than ' +
        `form a new cluster over it. ${recovery(path, dataDirs)}`,
    );
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new UntrustedDataDirError(`${path} cannot be read (${why}); refusing to start. ${recovery(path, dataDirs)}`);
  }
  if (text.trim() === '') {
    throw new UntrustedDataDirError(`${path} is empty; refusing to start. ${recovery(path, dataDirs)}`);
  }
  const props = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i < 0 || line.trimStart().startsWith('#')) continue;
    props.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const clusterId = props.get('cluster.id');
  if (clusterId === undefined || clusterId === '') {
    throw new UntrustedDataDirError(
      `${path} has no cluster.id (it is damaged or not a meta.properties file); refusing to start. ${recovery(path, dataDirs)}`,
    );
  }
  const nodeId = props.get('node.id');
  if (nodeId !== undefined && !/^\d+$/.test(nodeId)) {
    throw new UntrustedDataDirError(
      `${path} has node.id "${nodeId}", not a node id; refusing to start. ${recovery(path, dataDirs)}`,
    );
  }
}
