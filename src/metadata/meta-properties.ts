// Kafka's `meta.properties`: the identity of a node's metadata directory — the cluster it
// belongs to, its node id and (KIP-858/KIP-853) the directory id that makes a wiped and
// re-formatted directory a different replica.

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { random } from '../runtime/random.js';

export const META_PROPERTIES = 'meta.properties';

export interface MetaProperties {
  readonly clusterId: string;
  readonly nodeId: number;
  readonly directoryId: string;
}

/** A Kafka-style cluster id: 16 random bytes in base64url (22 characters). */
export function newClusterId(): string {
  return random().bytes(16).toString('base64url');
}

function parse(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (!line.includes('=') || line.trimStart().startsWith('#')) continue;
    const i = line.indexOf('=');
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

/** Writes `dir/meta.properties` for a node that joins an existing cluster. */
export function writeMetaProperties(dir: string, p: MetaProperties): void {
  write(join(dir, META_PROPERTIES), p);
}

/** The node id `dir/meta.properties` records, or undefined when the directory is not formatted. */
export function formattedNodeId(dir: string): number | undefined {
  const path = join(dir, META_PROPERTIES);
  if (!existsSync(path)) return undefined;
  const id = parse(readFileSync(path, 'utf8'))['node.id'];
  return id === undefined || id === '' ? undefined : Number(id);
}

function write(path: string, p: MetaProperties): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `#\nversion=1\ncluster.id=${p.clusterId}\nnode.id=${p.nodeId}\ndirectory.id=${p.directoryId}\n`);
  renameSync(tmp, path);
}

/**
 * Reads `dir/meta.properties`, or formats it for `nodeId` with a new cluster id when it does not
 * exist. A directory formatted before directory ids existed gets one now. A directory of another
 * node id refuses to start.
 */
export function loadOrFormatMetaProperties(dir: string, nodeId: number): MetaProperties & { formatted: boolean } {
  const path = join(dir, META_PROPERTIES);
  if (!existsSync(path)) {
    const p = { clusterId: newClusterId(), nodeId, directoryId: random().uuid() };
    write(path, p);
    return { ...p, formatted: true };
  }
  const props = parse(readFileSync(path, 'utf8'));
  const clusterId = props['cluster.id'];
  if (clusterId === undefined || clusterId === '') throw new Error(`${path} has no cluster.id`);
  if (props['node.id'] !== undefined && Number(props['node.id']) !== nodeId) {
    throw new Error(`${path} belongs to node ${props['node.id']}, not ${nodeId}`);
  }
  let directoryId = props['directory.id'];
  if (directoryId === undefined || directoryId === '') {
    directoryId = random().uuid();
    write(path, { clusterId, nodeId, directoryId });
  }
  return { clusterId, nodeId, directoryId, formatted: false };
}
