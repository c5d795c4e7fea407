// Joining a cluster by naming any member (`--join host:port[,host:port]`): a node without state
// asks the seeds what cluster they belong to (DescribeCluster) and who its voters are
// (DescribeQuorum, from the quorum leader), then follows the metadata log as an observer.
// With `--bootstrap-expect N` every node of a new cluster is started the same way; the seeds
// that have no cluster yet say so, and only the lowest node id formats, once all N have
// answered, so two halves of a split network can never both format a cluster.

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClientConnection } from '../client/connection.js';
import { KafkaClient } from '../client/kafka-client.js';
import { describeQuorum } from '../client/quorum-admin.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { DescribeClusterResponse } from '../protocol/generated/api/60-describe-cluster.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { Voter } from '../raft/types.js';

export interface SeedAddress {
  readonly host: string;
  readonly port: number;
}

/** What a seed said. */
export type SeedAnswer =
  | {
      readonly kind: 'member';
      readonly seed: string;
      readonly clusterId: string;
      /** The voters with their directory ids and listeners (the observer's bootstrap voters). */
      readonly voters: readonly Voter[];
      /** Every node id the cluster is known to use (voters, observers, live brokers). */
      readonly usedIds: readonly number[];
      readonly leaderId: number;
    }
  /** A node started to form a new cluster, waiting for the others (`--bootstrap-expect`). */
  | { readonly kind: 'unformed'; readonly seed: string; readonly nodeId: number }
  | { readonly kind: 'unreachable'; readonly seed: string; readonly error: string };

export function parseSeeds(text: string): SeedAddress[] {
  const out: SeedAddress[] = [];
  for (const raw of text.split(',')) {
    const s = raw.trim();
    if (s === '') continue;
    const i = s.lastIndexOf(':');
    const port = Number(s.slice(i + 1));
    if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new Error(`--join: "${s}" is not host:port`);
    }
    out.push({ host: s.slice(0, i).replace(/^\[|\]$/g, ''), port });
  }
  if (out.length === 0) throw new Error('--join names no member');
  return out;
}

export function seedName(s: SeedAddress): string {
  return `${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.port}`;
}

/**
 * The DescribeCluster answer of a node that has no cluster yet: no cluster id, no controller,
 * itself as the one broker (so the others learn its node id).
 */
export function unformedDescription(nodeId: number, host: string, port: number) {
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    endpointType: 1,
    clusterId: '',
    controllerId: -1,
    brokers: [{ brokerId: nodeId, host, port, rack: null }],
    clusterAuthorizedOperations: -2147483648,
  };
}

/** Asks one seed what it belongs to; never throws. */
export async function askSeed(seed: SeedAddress, timeoutMs: number): Promise<SeedAnswer> {
  const name = seedName(seed);
  const conn = new ClientConnection({
    host: seed.host,
    port: seed.port,
    clientId: 'jocko-join',
    requestTimeoutMs: timeoutMs,
    connectTimeoutMs: timeoutMs,
  });
  try {
    await conn.connect();
    const dc = (await conn.request(ApiKey.DescribeCluster, conn.pickVersion(ApiKey.DescribeCluster), {
      endpointType: 1,
    })) as DescribeClusterResponse;
    if (dc.errorCode !== ErrorCode.NONE) return { kind: 'unreachable', seed: name, error: `error ${dc.errorCode}` };
    if (dc.clusterId === '') {
      const self = dc.brokers[0];
      if (self === undefined) return { kind: 'unreachable', seed: name, error: 'an unformed node without an id' };
      return { kind: 'unformed', seed: name, nodeId: self.brokerId };
    }
    const client = new KafkaClient({ bootstrap: name, clientId: 'jocko-join', requestTimeoutMs: timeoutMs });
    try {
      await client.connect();
      const q = await describeQuorum(client);
      if (!q.ok) return { kind: 'unreachable', seed: name, error: `DescribeQuorum: ${q.errorMessage}` };
      const { quorum, nodes } = q.value;
      const voters: Voter[] = quorum.currentVoters.map((v) => ({
        id: v.replicaId,
        directoryId: v.replicaDirectoryId,
        endpoints: nodes.get(v.replicaId) ?? [],
        minSupportedVersion: 0,
        maxSupportedVersion: 1,
      }));
      const used = new Set<number>([
        ...quorum.currentVoters.map((v) => v.replicaId),
        ...quorum.observers.map((v) => v.replicaId),
        ...q.value.cluster.brokers.map((b) => b.brokerId),
      ]);
      return {
        kind: 'member',
        seed: name,
        clusterId: dc.clusterId,
        voters,
        usedIds: [...used].sort((a, b) => a - b),
        leaderId: quorum.leaderId,
      };
    } finally {
      client.close();
    }
  } catch (err) {
    return { kind: 'unreachable', seed: name, error: err instanceof Error ? err.message : String(err) };
  } finally {
    conn.close();
  }
}

/** Where a node that joined keeps the voters it learned, until its log holds the voter set. */
const JOINED_VOTERS = 'joined-voters.json';

/** Saves the voters a joining node learned (its bootstrap voters on every start). */
export function saveJoinedVoters(dir: string, voters: readonly Voter[]): void {
  const path = join(dir, JOINED_VOTERS);
  writeFileSync(`${path}.tmp`, `${JSON.stringify({ voters }, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

/** The voters a node learned when it joined, or undefined for a node that formed its cluster. */
export function loadJoinedVoters(dir: string): Voter[] | undefined {
  const path = join(dir, JOINED_VOTERS);
  if (!existsSync(path)) return undefined;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { voters?: Voter[] };
  if (!Array.isArray(parsed.voters)) throw new Error(`${path} holds no voters`);
  return parsed.voters;
}
