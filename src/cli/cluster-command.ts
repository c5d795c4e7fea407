import { KafkaClient, KafkaResponseError } from '../client/kafka-client.js';
import {
  addRaftVoter,
  type QuorumError,
  type QuorumStatus,
  removeRaftVoter,
  describeQuorum as requestQuorum,
} from '../client/quorum-admin.js';
import { errorName, kafkaError } from '../protocol/error-codes.js';
import type { Endpoint, ReplicaDescription } from '../raft/types.js';
import {
  bootstrapOf,
  COMMON_OPTIONS,
  flag,
  flagAll,
  has,
  type OptionSpecs,
  type ParsedArgs,
  parseArgs,
  parseHostPort,
  UsageError,
} from './args.js';
import { formatTable } from './table.js';

export const CLUSTER_HELP = `Usage: jocko cluster <status|add-voter|remove-voter> [options]

The KRaft metadata quorum, as kafka-metadata-quorum.sh shows and changes it.

  status  [--format json]
      cluster id, quorum leader, leader epoch, high watermark and the largest follower lag;
      every voter and observer with its log end offset, lag behind the leader, and how long
      ago it last fetched and was last caught up; the brokers and the active controller
  add-voter --id N --directory-id UUID --listener [NAME://]HOST:PORT... [--timeout-ms MS]
      makes an observer that is fetching and caught up a voter; the listener name defaults
      to PLAINTEXT, --timeout-ms (default 30000) bounds the wait for the change to commit
  remove-voter --id N --directory-id UUID
      removes a voter (the quorum refuses to remove its last voter)

Directory ids are printed by 'status'; either form is accepted, the UUID one
(00000000-0000-0000-0000-000000000000) or Kafka's 22-character base64 one.

Common options:
  --bootstrap HOST:PORT   broker to talk to (default localhost:9092); requests go to the
                          quorum leader, which DescribeCluster names
  --help                  this text
`;

const SUBCOMMANDS: ReadonlySet<string> = new Set(['status', 'add-voter', 'remove-voter']);
const DEFAULT_LISTENER = 'PLAINTEXT';
const DEFAULT_ADD_TIMEOUT_MS = 30_000;

export const CLUSTER_OPTIONS: Record<string, OptionSpecs> = {
  status: { format: { type: 'string' } },
  'add-voter': {
    id: { type: 'string' },
    'directory-id': { type: 'string' },
    listener: { type: 'string' },
    'timeout-ms': { type: 'string' },
  },
  'remove-voter': { id: { type: 'string' }, 'directory-id': { type: 'string' } },
};

function nodeId(args: ParsedArgs): number {
  const s = flag(args, 'id');
  if (s === undefined) throw new UsageError('--id N is required');
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n > 0x7fffffff) {
    throw new UsageError(`--id must be a node id (a non-negative integer), got ${s}`);
  }
  return n;
}

/** The UUID form the codecs write; Kafka prints the same 16 bytes as unpadded base64url. */
export function parseDirectoryId(s: string): string {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s)) return s.toLowerCase();
  if (/^[A-Za-z0-9_-]{22}$/.test(s)) {
    const hex = Buffer.from(s, 'base64url').toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  throw new UsageError(`--directory-id must be a UUID or Kafka's base64 form of one, got ${s}`);
}

function directoryId(args: ParsedArgs): string {
  const s = flag(args, 'directory-id');
  if (s === undefined) throw new UsageError('--directory-id UUID is required');
  const id = parseDirectoryId(s);
  // Kafka's ReplicaKey.NO_DIRECTORY_ID: a voter without a directory id cannot be named (KIP-853).
  if (/^[0-]+$/.test(id)) throw new UsageError('--directory-id must not be the zero UUID');
  return id;
}

function listeners(args: ParsedArgs): Endpoint[] {
  const values = flagAll(args, 'listener');
  if (values.length === 0) throw new UsageError('--listener HOST:PORT is required');
  return values.map((v) => {
    const m = /^([A-Za-z0-9_.-]+):\/\/(.*)$/.exec(v);
    const { host, port } = parseHostPort(m === null ? v : (m[2] as string), -1);
    if (port <= 0) throw new UsageError(`--listener needs HOST:PORT, got ${v}`);
    return { name: m === null ? DEFAULT_LISTENER : (m[1] as string).toUpperCase(), host, port };
  });
}

/** Kafka's error name and the broker's message, e.g. `INVALID_REQUEST: cannot remove the last voter`. */
function printError(e: QuorumError): void {
  process.stderr.write(`Error: ${errorName(e.errorCode)}: ${e.errorMessage}\n`);
}

export async function clusterCommand(argv: readonly string[]): Promise<number> {
  const sub = argv[0] !== undefined && !argv[0].startsWith('-') ? argv[0] : undefined;
  let args: ParsedArgs;
  try {
    args = parseArgs(argv, { ...COMMON_OPTIONS, ...(sub === undefined ? {} : CLUSTER_OPTIONS[sub]) });
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n\n${CLUSTER_HELP}`);
    return 2;
  }
  if (sub === undefined || has(args, 'help')) {
    process.stdout.write(CLUSTER_HELP);
    return has(args, 'help') ? 0 : 2;
  }
  if (!SUBCOMMANDS.has(sub)) {
    process.stderr.write(`unknown cluster command '${sub}'\n\n${CLUSTER_HELP}`);
    return 2;
  }
  const client = new KafkaClient({ bootstrap: bootstrapOf(args) });
  try {
    // Usage errors that need no broker are found before connecting.
    const run = prepare(sub, args, client);
    await client.connect();
    return await run();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\nRun 'jocko cluster --help' for the options.\n`);
      return 2;
    }
    if (err instanceof KafkaResponseError) {
      process.stderr.write(
        `Error: ${err.context}: ${errorName(err.errorCode)}: ${kafkaError(err.errorCode).message}\n`,
      );
      return 1;
    }
    throw err;
  } finally {
    client.close();
  }
}

function prepare(sub: string, args: ParsedArgs, client: KafkaClient): () => Promise<number> {
  switch (sub) {
    case 'status': {
      const format = flag(args, 'format') ?? 'text';
      if (format !== 'text' && format !== 'json') throw new UsageError(`unknown --format ${format} (text or json)`);
      return async () => {
        const r = await requestQuorum(client);
        if (!r.ok) {
          printError(r);
          return 1;
        }
        const view = statusView(r.value, Date.now());
        process.stdout.write(format === 'json' ? `${JSON.stringify(view)}\n` : statusText(view));
        return 0;
      };
    }
    case 'add-voter': {
      const voter = { voterId: nodeId(args), voterDirectoryId: directoryId(args), listeners: listeners(args) };
      const t = flag(args, 'timeout-ms');
      const timeoutMs = t === undefined ? DEFAULT_ADD_TIMEOUT_MS : Number(t);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > 0x7fffffff) {
        throw new UsageError(`--timeout-ms must be a positive number of milliseconds, got ${t}`);
      }
      return async () => {
        const r = await addRaftVoter(client, voter, timeoutMs);
        if (!r.ok) {
          printError(r);
          return 1;
        }
        const where = voter.listeners.map(endpointText).join(', ');
        process.stdout.write(`added voter ${voter.voterId} with directory id ${voter.voterDirectoryId} at ${where}\n`);
        return 0;
      };
    }
    case 'remove-voter': {
      const voter = { voterId: nodeId(args), voterDirectoryId: directoryId(args) };
      return async () => {
        const r = await removeRaftVoter(client, voter);
        if (!r.ok) {
          printError(r);
          return 1;
        }
        process.stdout.write(`removed voter ${voter.voterId} with directory id ${voter.voterDirectoryId}\n`);
        return 0;
      };
    }
    default:
      throw new UsageError(`unknown cluster command '${sub}'`);
  }
}

// ---------------------------------------------------------------- status

interface ReplicaView {
  readonly id: number;
  readonly directoryId: string | null;
  readonly endpoints: string[];
  readonly status: 'Leader' | 'Follower' | 'Observer';
  /** -1 when the leader has not heard from the replica. */
  readonly logEndOffset: number;
  /** The leader's log end offset minus the replica's (Kafka's MetadataQuorumCommand). */
  readonly lag: number;
  /** Wall-clock ms, -1 when unknown; `...MsAgo` is null then. */
  readonly lastFetchTimestamp: number;
  readonly lastFetchMsAgo: number | null;
  readonly lastCaughtUpTimestamp: number;
  readonly lastCaughtUpMsAgo: number | null;
}

interface StatusView {
  readonly clusterId: string;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly highWatermark: number;
  readonly maxFollowerLag: number;
  readonly maxFollowerLagTimeMs: number;
  readonly voters: ReplicaView[];
  readonly observers: ReplicaView[];
  readonly controllerId: number;
  /**
   * The brokers serving clients (DescribeCluster), then every other node the quorum's leader
   * hears from: a broker that is fenced (its session timed out, or it is shutting down) or a
   * node that is only a controller. DescribeCluster before v2 lists unfenced brokers only, so
   * the two cannot be told apart here.
   */
  readonly brokers: Array<{ id: number; host: string; port: number; rack: string | null; serving: boolean }>;
}

function endpointText(e: Endpoint): string {
  return `${e.name}://${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
}

function msAgo(timestamp: number, now: number): number | null {
  // A leader whose clock is ahead of ours would give a negative age: shown as 0.
  return timestamp < 0 ? null : Math.max(0, now - timestamp);
}

export function statusView(s: QuorumStatus, now: number): StatusView {
  const q = s.quorum;
  const leader = q.currentVoters.find((v) => v.replicaId === q.leaderId);
  // Only the leader answers DescribeQuorum and it lists itself among the voters; without it
  // there is no log end offset to measure lag from, so the high watermark stands in.
  const leaderEnd = leader?.logEndOffset ?? q.highWatermark;
  const view = (r: ReplicaDescription, status: ReplicaView['status']): ReplicaView => ({
    id: r.replicaId,
    directoryId: r.replicaDirectoryId ?? null,
    endpoints: status === 'Observer' ? [] : (s.nodes.get(r.replicaId) ?? []).map(endpointText),
    status,
    logEndOffset: r.logEndOffset,
    lag: leaderEnd - r.logEndOffset,
    lastFetchTimestamp: r.lastFetchTimestamp,
    lastFetchMsAgo: msAgo(r.lastFetchTimestamp, now),
    lastCaughtUpTimestamp: r.lastCaughtUpTimestamp,
    lastCaughtUpMsAgo: msAgo(r.lastCaughtUpTimestamp, now),
  });
  // Kafka's MaxFollowerLag: the leader's log end offset minus the smallest among the voters;
  // MaxFollowerLagTimeMs: how far that voter's last catch-up trails the leader's (-1 unknown).
  let slowest = leader;
  for (const v of q.currentVoters) if (slowest === undefined || v.logEndOffset < slowest.logEndOffset) slowest = v;
  let maxFollowerLagTimeMs = -1;
  if (slowest !== undefined && slowest === leader) maxFollowerLagTimeMs = 0;
  else if (leader !== undefined && slowest !== undefined) {
    if (leader.lastCaughtUpTimestamp >= 0 && slowest.lastCaughtUpTimestamp >= 0) {
      maxFollowerLagTimeMs = leader.lastCaughtUpTimestamp - slowest.lastCaughtUpTimestamp;
    }
  }
  return {
    clusterId: s.cluster.clusterId,
    leaderId: q.leaderId,
    leaderEpoch: q.leaderEpoch,
    highWatermark: q.highWatermark,
    maxFollowerLag: slowest === undefined ? 0 : leaderEnd - slowest.logEndOffset,
    maxFollowerLagTimeMs,
    voters: [
      ...q.currentVoters.filter((v) => v.replicaId === q.leaderId).map((v) => view(v, 'Leader')),
      ...q.currentVoters.filter((v) => v.replicaId !== q.leaderId).map((v) => view(v, 'Follower')),
    ],
    observers: q.observers.map((o) => view(o, 'Observer')),
    controllerId: s.cluster.controllerId,
    brokers: brokerRows(s),
  };
}

function brokerRows(s: QuorumStatus): StatusView['brokers'] {
  const rows: Array<StatusView['brokers'][number]> = s.cluster.brokers.map((b) => ({
    id: b.brokerId,
    host: b.host,
    port: b.port,
    rack: b.rack,
    serving: true,
  }));
  const serving = new Set(rows.map((r) => r.id));
  for (const r of [...s.quorum.currentVoters, ...s.quorum.observers]) {
    if (serving.has(r.replicaId)) continue;
    serving.add(r.replicaId);
    // A voter's listener is known from DescribeQuorum v2; an observer's is not.
    const e = s.nodes.get(r.replicaId)?.[0];
    rows.push({ id: r.replicaId, host: e?.host ?? '-', port: e?.port ?? -1, rack: null, serving: false });
  }
  return rows.sort((a, b) => a.id - b.id);
}

function replicaSummary(r: ReplicaView): string {
  const parts = [`"id": ${r.id}`];
  if (r.directoryId !== null) parts.push(`"directoryId": "${r.directoryId}"`);
  if (r.endpoints.length > 0) parts.push(`"endpoints": [${r.endpoints.map((e) => `"${e}"`).join(', ')}]`);
  return `{${parts.join(', ')}}`;
}

function ago(ms: number | null): string {
  return ms === null ? '-' : `${ms} ms ago`;
}

export function statusText(v: StatusView): string {
  const label = (name: string, value: string | number) => `${`${name}:`.padEnd(24)}${value}\n`;
  const replicas = [...v.voters, ...v.observers];
  return [
    label('ClusterId', v.clusterId),
    label('LeaderId', v.leaderId),
    label('LeaderEpoch', v.leaderEpoch),
    label('HighWatermark', v.highWatermark),
    label('MaxFollowerLag', v.maxFollowerLag),
    label('MaxFollowerLagTimeMs', v.maxFollowerLagTimeMs),
    label('CurrentVoters', `[${v.voters.map(replicaSummary).join(', ')}]`),
    label('CurrentObservers', `[${v.observers.map(replicaSummary).join(', ')}]`),
    '\n',
    formatTable(
      ['NodeId', 'DirectoryId', 'LogEndOffset', 'Lag', 'LastFetch', 'LastCaughtUp', 'Status'],
      replicas.map((r) => [
        String(r.id),
        r.directoryId ?? '-',
        String(r.logEndOffset),
        String(r.lag),
        ago(r.lastFetchMsAgo),
        ago(r.lastCaughtUpMsAgo),
        r.status,
      ]),
    ),
    '\n',
    formatTable(
      ['BrokerId', 'Host', 'Port', 'Rack', 'Controller', 'State'],
      v.brokers.map((b) => [
        String(b.id),
        b.host,
        b.port < 0 ? '-' : String(b.port),
        b.rack ?? '-',
        b.id === v.controllerId ? 'yes' : '',
        b.serving ? 'serving' : 'not serving',
      ]),
    ),
    v.brokers.some((b) => !b.serving)
      ? '\nnot serving: in the quorum but not a live broker (fenced, shutting down, or a controller only)\n'
      : '',
  ].join('');
}
