import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { API_BY_KEY, ApiKey, requestHeaderVersion } from '../../src/protocol/generated/api-table.js';
import { encodeRequestHeader } from '../../src/protocol/generated/headers.js';
import { Writer } from '../../src/protocol/primitives/writer.js';
import { buildRecordBatch } from '../../src/protocol/records/batch-builder.js';
import { type BrokerProcess, withBroker } from '../helpers/broker-process.js';
import { kafkajsClient, kafkajsConsumeN, kafkajsConsumer, kafkajsProducer } from '../helpers/kafkajs.js';
import { fixturesDir } from '../helpers/paths.js';
import { randomInt, seededRandom, testSeed } from '../helpers/prng.js';
import { uniqueGroup, uniqueTopic } from '../helpers/unique.js';
import { SCHEMA, structArbitrary } from '../protocol/schema-arbitrary.js';

/**
 * Whole request sequences against a broker process: each of a few connections sends a seeded
 * random sequence of valid-but-odd requests (random values of every field the schema allows),
 * mutated and truncated frames (of those and of captured client requests), random API keys
 * and versions, huge and half-sent frames, interleaved with valid Produce requests whose
 * acknowledgements are remembered. Meanwhile the broker's RSS is sampled and a bystander
 * kafkajs producer sends a record every 50 ms. Afterwards the bystander produces once more and
 * consumes: every acknowledged record, its own and the sequences', is read back.
 * Reproduce a run with JOCKO_SEED=<printed seed>.
 */

const SEED = testSeed();
const SEQUENCES = 4;
const STEPS = 400;
/** The whole attack must end within this (each step is also bounded). */
const ATTACK_DEADLINE_MS = 150_000;
/** No request may leave a connection with neither an answer nor a close for longer. */
const SYNC_TIMEOUT_MS = 30_000;
/** The broker's request memory budget, and the RSS the broker must stay under throughout. */
const QUEUED_MAX_REQUEST_BYTES = 64 * 1024 * 1024;
const RSS_BOUND_MB = 300;

/**
 * Client APIs whose random requests are sent. Left out: the metadata quorum's and brokers' own
 * APIs (Vote, BeginQuorumEpoch, BrokerRegistration, AlterPartition, WriteTxnMarkers, raft voter
 * changes...): a valid one is obeyed by design on this listener, so random ones would test the
 * quorum's reaction to a peer, not a client's reach.
 */
const CLIENT_APIS = new Set([
  0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 23, 24, 25, 26, 28, 32, 33, 35, 37, 42, 43, 44, 47,
  60, 61, 65, 66,
]);
const REQUEST_SCHEMAS = SCHEMA.filter((m) => m.name.endsWith('Request') && CLIENT_APIS.has(m.apiKey));

type Encode = (w: Writer, m: unknown, v: number) => void;

function sized(payload: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

function frame(apiKey: number, version: number, correlationId: number, body: unknown): Buffer {
  const w = new Writer(256);
  encodeRequestHeader(
    w,
    { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: 'sequence-fuzz' },
    requestHeaderVersion(apiKey, version),
  );
  (API_BY_KEY.get(apiKey) as unknown as { encodeRequest: Encode }).encodeRequest(w, body, version);
  return sized(w.toBuffer());
}

/** Request payloads captured from real clients (size prefix stripped). */
function captures(): Buffer[] {
  const index = JSON.parse(readFileSync(join(fixturesDir, 'client-requests', 'index.json'), 'utf8')) as {
    file: string;
  }[];
  return index.map((e) => {
    const bytes = readFileSync(join(fixturesDir, 'client-requests', e.file));
    return bytes.readInt32BE(0) === bytes.length - 4 ? bytes.subarray(4) : bytes;
  });
}

/** A random valid-but-odd request of a client API, encoded by the generated codecs (payload only). */
function oddRequest(random: () => number, correlationId: number): { payload: Buffer; what: string } {
  const m = REQUEST_SCHEMAS[randomInt(random, 0, REQUEST_SCHEMAS.length - 1)] as (typeof REQUEST_SCHEMAS)[number];
  const v = randomInt(random, m.validVersions[0], m.validVersions[1]);
  const [value] = fc.sample(structArbitrary(m, m.name, v, 0, true), {
    seed: randomInt(random, 0, 2 ** 30),
    numRuns: 1,
  });
  const body = { ...(value as Record<string, unknown>) };
  // Partition counts are odd but not slow: creating thousands of partitions is measured elsewhere.
  if (m.apiKey === ApiKey.CreateTopics && Array.isArray(body['topics'])) {
    body['topics'] = (body['topics'] as Record<string, unknown>[]).map((t) => ({
      ...t,
      numPartitions: [-1, 0, 1, 2, 1_000_000, 2 ** 31 - 1][randomInt(random, 0, 5)],
    }));
  }
  if (m.apiKey === ApiKey.CreatePartitions && Array.isArray(body['topics'])) {
    body['topics'] = (body['topics'] as Record<string, unknown>[]).map((t) => ({
      ...t,
      count: [-1, 0, 2, 1_000_000][randomInt(random, 0, 3)],
    }));
  }
  const f = frame(m.apiKey, v, correlationId, body);
  return { payload: f.subarray(4), what: `${m.name} v${v}` };
}

/** One connection's view: response frames by correlation id, and whether it closed. */
class FuzzConnection {
  readonly socket: Socket;
  readonly answered = new Set<number>();
  closed = false;
  #pending = Buffer.alloc(0);
  #waiters: Array<() => void> = [];

  constructor(broker: BrokerProcess) {
    this.socket = connect({ host: broker.host, port: broker.port });
    this.socket.on('data', (d: Buffer) => {
      this.#pending = Buffer.concat([this.#pending, d]);
      while (this.#pending.length >= 4 && this.#pending.length >= 4 + this.#pending.readInt32BE(0)) {
        const size = this.#pending.readInt32BE(0);
        this.answered.add(this.#pending.readInt32BE(4));
        this.#pending = this.#pending.subarray(4 + size);
      }
      this.#wake();
    });
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  write(bytes: Buffer): void {
    if (!this.closed) this.socket.write(bytes);
  }

  /** Resolves true when `correlationId` is answered, false when the connection closed first; rejects after `ms`. */
  async answer(correlationId: number, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.answered.has(correlationId)) {
      if (this.closed) return false;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`request ${correlationId}: neither answered nor closed within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  close(): void {
    this.socket.destroy();
  }
}

function p99(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m !== null, 'VmRSS in /proc/<pid>/status');
  return Number(m[1]) / 1024;
}

function flip(random: () => number, payload: Buffer): Buffer {
  const out = Buffer.from(payload);
  const n = randomInt(random, 1, 4);
  for (let i = 0; i < n; i++) out[randomInt(random, 0, out.length - 1)] = randomInt(random, 0, 255);
  return out;
}

interface SequenceResult {
  steps: string[];
  closes: number;
  acked: string[];
}

/** One seeded sequence on one connection (a new one after the broker closes it). */
async function runSequence(
  broker: BrokerProcess,
  seed: number,
  topic: string,
  deadline: number,
): Promise<SequenceResult> {
  const random = seededRandom(seed);
  const recorded = captures();
  const steps: string[] = [];
  const acked: string[] = [];
  let closes = 0;
  let conn = new FuzzConnection(broker);
  let correlationId = 1000;
  const next = () => correlationId++;
  const reconnect = () => {
    conn.close();
    closes++;
    conn = new FuzzConnection(broker);
  };
  try {
    for (let step = 0; step < STEPS && Date.now() < deadline; step++) {
      if (conn.closed) reconnect();
      const kind = randomInt(random, 0, 9);
      const id = next();
      if (kind <= 2) {
        const r = oddRequest(random, id);
        steps.push(r.what);
        conn.write(sized(r.payload));
      } else if (kind === 3) {
        const base =
          random() < 0.3
            ? (recorded[randomInt(random, 0, recorded.length - 1)] as Buffer)
            : oddRequest(random, id).payload;
        steps.push('mutated frame');
        conn.write(sized(flip(random, base)));
      } else if (kind === 4) {
        const base = oddRequest(random, id).payload;
        steps.push('truncated frame');
        conn.write(sized(base.subarray(0, randomInt(random, 0, Math.max(0, base.length - 1)))));
      } else if (kind === 5) {
        const header = Buffer.alloc(8);
        const apiKey = random() < 0.5 ? randomInt(random, 0, 100) : randomInt(random, -32768, 32767);
        const safe = CLIENT_APIS.has(apiKey) || !API_BY_KEY.has(apiKey);
        header.writeInt16BE(safe ? apiKey : 18);
        header.writeInt16BE(randomInt(random, -1, 20), 2);
        header.writeInt32BE(id, 4);
        const body = Buffer.alloc(randomInt(random, 0, 64));
        for (let i = 0; i < body.length; i++) body[i] = randomInt(random, 0, 255);
        steps.push(`random header api ${header.readInt16BE(0)} v${header.readInt16BE(2)}`);
        conn.write(sized(Buffer.concat([header, body])));
      } else if (kind === 6) {
        // A frame announcing more than will ever come, or more than any request may be.
        const size = [2 ** 31 - 1, 200 * 1024 * 1024, 30 * 1024 * 1024, 20 * 1024 * 1024, -5][
          randomInt(random, 0, 4)
        ] as number;
        const head = Buffer.alloc(4);
        head.writeInt32BE(size);
        const part = Buffer.alloc(randomInt(random, 0, 1024 * 1024), 0x61);
        steps.push(`half-sent frame of ${size} bytes (${part.length} sent)`);
        conn.write(Buffer.concat([head, part]));
        await new Promise((r) => setTimeout(r, 50));
        reconnect();
      } else {
        // An interleaved valid request: a Produce whose acknowledgement is remembered, or a sync.
        const value = `s${seed}-${step}`;
        if (kind <= 8) {
          const records = buildRecordBatch({
            records: [{ key: null, value: Buffer.from(value), timestamp: Date.now() }],
          });
          const body = {
            transactionalId: null,
            acks: -1,
            timeoutMs: 10_000,
            topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
          };
          steps.push('valid Produce');
          conn.write(frame(ApiKey.Produce, 9, id, body));
        } else {
          steps.push('valid ApiVersions');
          conn.write(frame(ApiKey.ApiVersions, 3, id, { clientSoftwareName: 'fuzz', clientSoftwareVersion: '1' }));
        }
        if (await conn.answer(id, SYNC_TIMEOUT_MS)) {
          if (kind <= 8) acked.push(value);
        }
      }
    }
    // Whatever is still in flight is answered or closed, never left hanging.
    if (!conn.closed) {
      const id = next();
      conn.write(frame(ApiKey.ApiVersions, 3, id, { clientSoftwareName: 'fuzz', clientSoftwareVersion: '1' }));
      await conn.answer(id, SYNC_TIMEOUT_MS);
    }
  } catch (err) {
    throw new Error(`seed ${seed}: ${(err as Error).message}; last steps: ${steps.slice(-8).join(' | ')}`);
  } finally {
    conn.close();
  }
  return { steps, closes, acked };
}

test(`request sequences: odd, mutated, truncated and huge requests on one connection leave the broker serving, its memory bounded, nothing acknowledged lost (seed ${SEED})`, async (t) => {
  console.log(`request-sequence fuzz: seed ${SEED} (JOCKO_SEED=${SEED} repeats this run)`);
  const broker = await withBroker(t, {
    config: {
      'queued.max.request.bytes': String(QUEUED_MAX_REQUEST_BYTES),
      'socket.request.max.bytes': String(QUEUED_MAX_REQUEST_BYTES / 2),
      'group.initial.rebalance.delay.ms': '0',
    },
  });
  const topic = uniqueTopic('fuzz-bystander');
  const kafka = kafkajsClient(broker.bootstrap);
  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const producer = await kafkajsProducer(t, kafka);
  const before = Array.from({ length: 10 }, (_, i) => `before-${i}`);
  await producer.send({ topic, acks: -1, messages: before.map((value) => ({ value })) });

  const idleRss = rssMb(broker.pid);
  let peakRss = idleRss;
  const sampler = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, rssMb(broker.pid));
    } catch {
      // The process is gone: the checks below say so.
    }
  }, 100);
  t.after(() => clearInterval(sampler));

  const deadline = Date.now() + ATTACK_DEADLINE_MS;
  const started = Date.now();
  // The bystander produces throughout, one record at a time.
  let attacking = true;
  const during: string[] = [];
  const latencies: number[] = [];
  const bystander = (async () => {
    for (let i = 0; attacking && i < 10_000; i++) {
      const t1 = Date.now();
      await producer.send({ topic, acks: -1, messages: [{ value: `during-${i}` }] });
      latencies.push(Date.now() - t1);
      during.push(`during-${i}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const results = await Promise.all(
    Array.from({ length: SEQUENCES }, (_, i) => runSequence(broker, SEED + i, topic, deadline)),
  ).finally(() => {
    attacking = false;
  });
  await bystander;
  clearInterval(sampler);
  const attackMs = Date.now() - started;
  assert.equal(broker.running, true, 'the broker is still running');

  // The bystander: a produce round trip and a consumer reading everything acknowledged.
  const t0 = Date.now();
  await producer.send({ topic, acks: -1, messages: [{ value: 'after' }] });
  const produceAfterMs = Date.now() - t0;
  const acked = [...before, ...during, ...results.flatMap((r) => r.acked), 'after'];
  const consumer = await kafkajsConsumer(t, kafka, { groupId: uniqueGroup('fuzz-bystander') });
  // Everything in the partition is read: produces whose answer a close cut off may be there too.
  const [offsets] = await admin.fetchTopicOffsets(topic);
  const stored = Number(offsets?.high ?? 0);
  assert.ok(stored >= acked.length, `${stored} records stored, ${acked.length} acknowledged`);
  const seen = await kafkajsConsumeN(consumer, topic, stored, 60_000);
  const values = new Set(seen.map((m) => m.message.value?.toString()));
  const lost = acked.filter((v) => !values.has(v));
  const endRss = rssMb(broker.pid);

  const steps = results.reduce((n, r) => n + r.steps.length, 0);
  const kinds = new Map<string, number>();
  for (const s of results.flatMap((r) => r.steps)) {
    const k = s.replace(/ v-?\d+$| of .*$|api -?\d+ v-?\d+$/, '');
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  console.log(
    `request-sequence fuzz: ${steps} steps on ${SEQUENCES} connections in ${attackMs} ms, ${results.reduce((n, r) => n + r.closes, 0)} reconnects after a close; ` +
      `${acked.length} acknowledged records; RSS idle ${idleRss.toFixed(0)} MB, peak ${peakRss.toFixed(0)} MB, after ${endRss.toFixed(0)} MB (bound ${RSS_BOUND_MB} MB); bystander produce during: ${latencies.length} sends, p99 ${p99(latencies)} ms, max ${Math.max(...latencies)} ms; after: ${produceAfterMs} ms`,
  );
  console.log(`request-sequence fuzz: step kinds ${JSON.stringify(Object.fromEntries(kinds))}`);

  assert.ok(steps >= SEQUENCES * 20, `the sequences ran (${steps} steps)`);
  assert.deepEqual(lost, [], `acknowledged records lost (seed ${SEED})`);
  assert.ok(peakRss < RSS_BOUND_MB, `peak RSS ${peakRss.toFixed(0)} MB over ${RSS_BOUND_MB} MB (seed ${SEED})`);
  assert.ok(latencies.length > 0, 'the bystander produced during the attack');
  assert.ok(produceAfterMs < 10_000, `bystander produce took ${produceAfterMs} ms`);
});
