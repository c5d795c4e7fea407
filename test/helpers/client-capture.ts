import { kafkajsClient } from './kafkajs.js';
import { kcat } from './kcat.js';
import { platformaticAdmin } from './platformatic.js';
import { runPythonClient } from './python-clients.js';
import { type RecordedFrame, startRecordingServer } from './recording-server.js';
import { formatRun } from './run.js';

/**
 * Points one real client at a recording server (which answers at most ApiVersions and closes
 * each connection after its first other frame), lets the client give up, and returns what it sent.
 */

export type CaptureClient = 'kcat' | 'kafkajs' | 'platformatic' | 'kafka-python' | 'confluent-kafka';

export const CAPTURE_CLIENTS: readonly CaptureClient[] = [
  'kcat',
  'kafkajs',
  'platformatic',
  'kafka-python',
  'confluent-kafka',
];

export interface Capture {
  readonly client: CaptureClient;
  readonly frames: readonly RecordedFrame[];
  readonly connections: number;
  /** How the client ended (it always fails: nobody answers), for messages. */
  readonly outcome: string;
}

/**
 * kafka-python's admin client, once its version probe succeeds, waits for a usable broker without
 * any bound, so it is never answered: unanswered, its probe gives up in time, after trying the
 * older APIs it uses to guess a broker's version.
 */
const ANSWER_API_VERSIONS: Record<CaptureClient, boolean> = {
  kcat: true,
  kafkajs: true,
  platformatic: true,
  'kafka-python': false,
  'confluent-kafka': true,
};

export async function captureClientRequests(client: CaptureClient): Promise<Capture> {
  const server = await startRecordingServer({
    closeAfterFrame: true,
    maxFrames: 200,
    answerApiVersions: ANSWER_API_VERSIONS[client],
  });
  try {
    const outcome = await driveClient(client, server.bootstrap);
    return { client, frames: [...server.frames], connections: server.connections, outcome };
  } finally {
    await server.close();
  }
}

async function driveClient(client: CaptureClient, bootstrap: string): Promise<string> {
  switch (client) {
    case 'kcat': {
      const r = await kcat(bootstrap, ['-L', '-m', '3'], { timeoutMs: 20_000 });
      return formatRun(r, 1500);
    }
    case 'kafkajs': {
      const admin = kafkajsClient(bootstrap, {
        connectionTimeout: 1000,
        requestTimeout: 2000,
        retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 200 },
      }).admin();
      try {
        await admin.connect();
        await admin.listTopics();
        return 'admin.connect() and listTopics() succeeded';
      } catch (err) {
        return `admin.connect() or listTopics() failed: ${String(err)}`;
      } finally {
        await admin.disconnect();
      }
    }
    case 'platformatic': {
      const admin = platformaticAdmin(undefined, bootstrap, {
        retries: 1,
        retryDelay: 100,
        timeout: 2000,
        connectTimeout: 1000,
      });
      try {
        await admin.metadata({ topics: [] });
        return 'admin.metadata() succeeded';
      } catch (err) {
        return `admin.metadata() failed: ${String(err)}`;
      } finally {
        await admin.close();
      }
    }
    case 'kafka-python': {
      const reply = await runPythonClient(
        'kafka-python',
        bootstrap,
        { op: 'metadata', api_version_auto_timeout_ms: 2000, timeout_ms: 3000 },
        { timeoutMs: 30_000 },
      );
      return formatRun(reply.run, 1500);
    }
    case 'confluent-kafka': {
      const reply = await runPythonClient(
        'confluent-kafka',
        bootstrap,
        { op: 'metadata', timeout_ms: 3000 },
        { timeoutMs: 30_000 },
      );
      return formatRun(reply.run, 1500);
    }
  }
}

export interface FixtureEntry {
  readonly file: string;
  readonly client: CaptureClient;
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null | undefined;
  readonly size: number;
}
