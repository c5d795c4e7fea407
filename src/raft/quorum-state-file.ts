/**
 * The `quorum-state` file of the metadata log directory, as Kafka's FileQuorumStateStore keeps
 * it: one line of JSON holding QuorumStateData's fields for its version plus `data_version`.
 *
 *   version 1 (KIP-853): {"leaderId":-1,"leaderEpoch":2,"votedId":1,"votedDirectoryId":"J8aAPcfLQt2bqs1JT_rMgQ","data_version":1}
 *   version 0:           {"clusterId":"","leaderId":1,"leaderEpoch":2,"votedId":-1,"appliedOffset":0,"currentVoters":[],"data_version":0}
 *
 * -1 means "none" for leaderId and votedId; the all-zero directory id means "no directory id"
 * (a vote cast under kraft.version 0). Both versions are read; version 1 is written, which
 * Kafka reads from 3.9 on.
 *
 * A write is atomic and durable before its promise resolves: the JSON goes to `quorum-state.tmp`,
 * which is fsynced, renamed over `quorum-state`, and the directory fsynced — every step on the
 * libuv threadpool. A crash at any point leaves either the old file or the new one. A vote must
 * not be granted before its write resolves (KIP-595: a voter votes once per epoch, across
 * restarts). A file that is there but cannot be read — torn, not JSON, wrong fields — is an
 * error: starting as if nothing had been voted could vote twice in one epoch.
 */
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDirOffLoop } from '../storage/file-io.js';
import type { ElectionState } from './types.js';

export const QUORUM_STATE_FILE = 'quorum-state';
const DATA_VERSION = 'data_version';
const LOWEST_DATA_VERSION = 0;
const HIGHEST_DATA_VERSION = 1;
const NONE = -1;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
/** Anything larger is not a quorum-state file; reading it whole would only waste memory. */
const MAX_FILE_BYTES = 64 * 1024;

/** The quorum-state file exists but does not hold a valid election state. */
export class QuorumStateFileError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`quorum state file ${path} is unreadable, refusing to start: ${reason}`);
    this.name = 'QuorumStateFileError';
  }
}

/** Kafka writes a Uuid as its 16 bytes in unpadded base64url; we keep UUIDs as dashed hex. */
export function uuidToKafkaBase64(uuid: string): string {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new TypeError(`invalid uuid ${uuid}`);
  return Buffer.from(hex, 'hex').toString('base64url');
}

export function kafkaBase64ToUuid(text: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{22}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.length !== 16) return undefined;
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The JSON line Kafka's FileQuorumStateStore writes for `state` (data version 1). */
export function encodeQuorumState(state: ElectionState): string {
  if (!isInt32(state.epoch) || state.epoch < 0) throw new RangeError(`invalid epoch ${state.epoch}`);
  const leaderId = state.leaderId ?? NONE;
  const voted = state.votedKey;
  if (!isInt32(leaderId) || leaderId < NONE) throw new RangeError(`invalid leader id ${leaderId}`);
  if (voted !== undefined && (!isInt32(voted.id) || voted.id < 0)) throw new RangeError(`invalid voted id ${voted.id}`);
  // Field order as Kafka's generated JSON converter writes them, data_version last.
  return JSON.stringify({
    leaderId,
    leaderEpoch: state.epoch,
    votedId: voted === undefined ? NONE : voted.id,
    votedDirectoryId: uuidToKafkaBase64(voted?.directoryId ?? ZERO_UUID),
    [DATA_VERSION]: HIGHEST_DATA_VERSION,
  });
}

/** Parses a quorum-state file's text; throws QuorumStateFileError (naming `path`) if it is not a valid one. */
export function decodeQuorumState(text: string, path: string): ElectionState {
  const bad = (reason: string): QuorumStateFileError => new QuorumStateFileError(path, reason);
  // Kafka reads the first line only.
  const line = text.split('\n', 1)[0] ?? '';
  if (line.trim() === '') throw bad('the file is empty');
  let node: unknown;
  try {
    node = JSON.parse(line);
  } catch (err) {
    throw bad(`not JSON (${(err as Error).message})`);
  }
  if (typeof node !== 'object' || node === null || Array.isArray(node)) throw bad('not a JSON object');
  const obj = node as Record<string, unknown>;
  const version = obj[DATA_VERSION];
  if (version === undefined) throw bad(`no ${DATA_VERSION} field`);
  if (!isInt32(version) || version < LOWEST_DATA_VERSION || version > HIGHEST_DATA_VERSION) {
    throw bad(
      `${DATA_VERSION} ${JSON.stringify(version)} is not within ${LOWEST_DATA_VERSION}..${HIGHEST_DATA_VERSION}`,
    );
  }
  // Every field of the version is mandatory, as in Kafka's generated JSON converter.
  const int = (name: string): number => {
    const v = obj[name];
    if (v === undefined) throw bad(`field ${name}, mandatory in version ${version}, is missing`);
    if (!isInt32(v)) throw bad(`field ${name} is ${JSON.stringify(v)}, not a 32-bit integer`);
    return v;
  };
  const leaderId = int('leaderId');
  const leaderEpoch = int('leaderEpoch');
  const votedId = int('votedId');
  let votedDirectoryId: string | undefined;
  if (version >= 1) {
    const raw = obj['votedDirectoryId'];
    if (raw === undefined) throw bad('field votedDirectoryId, mandatory in version 1, is missing');
    const uuid = typeof raw === 'string' ? kafkaBase64ToUuid(raw) : undefined;
    if (uuid === undefined) throw bad(`field votedDirectoryId is ${JSON.stringify(raw)}, not a Kafka uuid`);
    votedDirectoryId = uuid === ZERO_UUID ? undefined : uuid;
  } else {
    if (typeof obj['clusterId'] !== 'string') throw bad('field clusterId, mandatory in version 0, is not a string');
    const applied = obj['appliedOffset'];
    if (typeof applied !== 'number' || !Number.isInteger(applied)) {
      throw bad('field appliedOffset, mandatory in version 0, is not an integer');
    }
    const voters = obj['currentVoters'];
    if (voters !== null && !Array.isArray(voters)) throw bad('field currentVoters is not an array');
  }
  if (leaderEpoch < 0) throw bad(`leaderEpoch ${leaderEpoch} is negative`);
  if (leaderId < NONE) throw bad(`leaderId ${leaderId} is invalid`);
  if (votedId < NONE) throw bad(`votedId ${votedId} is invalid`);
  return {
    epoch: leaderEpoch,
    leaderId: leaderId === NONE ? undefined : leaderId,
    votedKey: votedId === NONE ? undefined : { id: votedId, directoryId: votedDirectoryId },
  };
}

/**
 * The election state in `dir`'s quorum-state file: undefined when there is no file (a new node),
 * the state when it is valid; throws QuorumStateFileError otherwise.
 */
export async function readQuorumState(dir: string): Promise<ElectionState | undefined> {
  const path = join(dir, QUORUM_STATE_FILE);
  let bytes: Buffer;
  try {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      if (size > MAX_FILE_BYTES) throw new QuorumStateFileError(path, `${size} bytes is too large`);
      bytes = await readFile(fh);
    } finally {
      await fh.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return decodeQuorumState(bytes.toString('utf8'), path);
}

/**
 * Writes election states to `dir`'s quorum-state file one at a time, in the order asked: a
 * write starts once the one before has finished, so a later state can never be overwritten by
 * an earlier one, and the temporary file has one writer.
 */
export class QuorumStateFile {
  private tail: Promise<void> = Promise.resolve();

  constructor(readonly dir: string) {}

  get path(): string {
    return join(this.dir, QUORUM_STATE_FILE);
  }

  read(): Promise<ElectionState | undefined> {
    return readQuorumState(this.dir);
  }

  /** Resolves once `state` is durable (the shell then feeds `electionStatePersisted`); rejects if it may not be. */
  write(state: ElectionState): Promise<void> {
    const text = encodeQuorumState(state);
    const done = this.tail.then(() => writeAtomically(this.dir, this.path, text));
    // A failed write does not stop later ones (each rewrites the whole file); its caller sees the error.
    this.tail = done.catch(() => undefined);
    return done;
  }

  /** Resolves when every write asked for so far has finished (or failed). */
  settled(): Promise<void> {
    return this.tail;
  }
}

async function writeAtomically(dir: string, path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
  await fsyncDirOffLoop(dir);
}

function isInt32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff;
}
