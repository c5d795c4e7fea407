import { join } from 'node:path';
import { ProduceAcks } from '@platformatic/kafka';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { KafkaClient } from '../../src/client/kafka-client.js';
import { spawnLineChild } from '../helpers/children.js';
import { kafkajsClient } from '../helpers/kafkajs.js';
import { clientScriptsDir } from '../helpers/paths.js';
import { platformaticProducer, type StringProducer } from '../helpers/platformatic.js';
import { PYTHON, requirePythonModule } from '../helpers/run.js';
import { sleep } from '../helpers/wait.js';
import type { History, HistoryRecorder } from './history.js';

/**
 * The workload of the fault suites: idempotent acks=all producers of three client families
 * (kafkajs, @platformatic/kafka and confluent-kafka), each sending unique values `<process>-<seq>` one at a time
 * to partitions in turn, and consumers of two kinds: a kafkajs consumer group and a
 * confluent-kafka (librdkafka) consumer by assignment. Everything they are told goes into the
 * history. A producer whose send did not end in `ok` is replaced by a new one (a new producer
 * id and a new process name), as Jepsen retires a process after an indeterminate operation: a
 * retry of the old batch under the old sequence number would otherwise carry the next value.
 *
 * Bounded: at most `maxSendsPerProducer` values per producer, and everything stops on `stop()`.
 */
export type ProducerFamily = 'kafkajs' | 'platformatic' | 'confluent';

export interface WorkloadOptions {
  readonly bootstrap: readonly string[];
  readonly topic: string;
  readonly partitions: number;
  readonly history: History;
  readonly producers: readonly ProducerFamily[];
  /** A kafkajs consumer group. */
  readonly groupConsumer?: boolean;
  /** A confluent-kafka consumer by assignment (a Python process). */
  readonly assignConsumer?: boolean;
  readonly maxSendsPerProducer?: number;
  /** Where client logs go (the run dir): librdkafka's debug log when JOCKO_RDKAFKA_DEBUG is set. */
  readonly logDir?: string;
  /** Producer request timeout: shorter than the pauses, so a paused broker times sends out. */
  readonly requestTimeoutMs?: number;
}

/** One producer, whichever client it is. */
interface ValueSender {
  send(partition: number, value: string): Promise<{ offset: number }>;
  close(): Promise<void>;
}

export class Workload {
  private stopping = false;
  private readonly loops: Promise<void>[] = [];
  private readonly closers: Array<() => Promise<void>> = [];
  private acked = 0;
  /** Per consumer, the highest offset delivered per partition. */
  private readonly positions = new Map<string, Map<number, number>>();
  private readonly onAck = new Set<() => void>();
  /** Errors the workload's own machinery hit (not client outcomes): they fail the test. */
  readonly problems: string[] = [];

  constructor(private readonly o: WorkloadOptions) {}

  /** Acknowledged sends so far. */
  get acknowledged(): number {
    return this.acked;
  }

  /** Resolves at the next acknowledgement (a fault injected then lands in the middle of writes). */
  nextAck(): Promise<void> {
    return new Promise((resolve) => {
      const f = () => {
        this.onAck.delete(f);
        resolve();
      };
      this.onAck.add(f);
    });
  }

  /** Whether every consumer has been delivered each partition up to `ends[p]` (exclusive). */
  consumersReached(ends: ReadonlyMap<number, number>): boolean {
    const expected = (this.o.groupConsumer ? 1 : 0) + (this.o.assignConsumer ? 1 : 0);
    if (this.positions.size < expected) return [...ends.values()].every((e) => e === 0);
    for (const pos of this.positions.values())
      for (const [p, end] of ends) if (end > 0 && (pos.get(p) ?? -1) < end - 1) return false;
    return true;
  }

  private delivered(process: string, records: ReadonlyArray<readonly [number, number, string]>): void {
    let pos = this.positions.get(process);
    if (pos === undefined) {
      pos = new Map();
      this.positions.set(process, pos);
    }
    for (const [p, o] of records) if (o > (pos.get(p) ?? -1)) pos.set(p, o);
  }

  async start(): Promise<void> {
    this.o.producers.forEach((family, i) => {
      this.loops.push(this.produceLoop(family, i));
    });
    if (this.o.groupConsumer) await this.startGroupConsumer();
    if (this.o.assignConsumer) this.startAssignConsumer();
  }

  /** Stops the producers (each finishes its current send). */
  async stopProducers(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  /** Stops the consumers. */
  async stopConsumers(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) {
      try {
        await close();
      } catch (err) {
        this.problems.push(`closing a consumer: ${String(err)}`);
      }
    }
  }

  private async produceLoop(family: ProducerFamily, index: number): Promise<void> {
    const max = this.o.maxSendsPerProducer ?? 100_000;
    const h = this.o.history;
    let seq = 0;
    for (let incarnation = 0; !this.stopping && seq < max; incarnation++) {
      const process = `${family}-${index}.${incarnation}`;
      let sender: ValueSender;
      try {
        sender = await this.newSender(family, process);
      } catch {
        await sleep(200);
        continue;
      }
      try {
        while (!this.stopping && seq < max) {
          const partition = seq % this.o.partitions;
          const value = `${process}-${seq++}`;
          h.record({ f: 'send', type: 'invoke', process, value, partition });
          try {
            const { offset } = await sender.send(partition, value);
            h.record({ f: 'send', type: 'ok', process, value, partition, offset });
            this.acked++;
            for (const f of [...this.onAck]) f();
          } catch (err) {
            h.record({
              f: 'send',
              type: definiteFailure(err) ? 'fail' : 'info',
              process,
              value,
              partition,
              error: describe(err),
            });
            break;
          }
        }
      } finally {
        await sender.close().catch(() => undefined);
      }
    }
  }

  private async newSender(family: ProducerFamily, clientId: string): Promise<ValueSender> {
    const timeout = this.o.requestTimeoutMs ?? 2000;
    const topic = this.o.topic;
    if (family === 'kafkajs') {
      const kafka: Kafka = kafkajsClient([...this.o.bootstrap], {
        clientId,
        requestTimeout: timeout,
        connectionTimeout: 1000,
        retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 500 },
      });
      const producer: Producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
      });
      await producer.connect().catch(async (err) => {
        await producer.disconnect().catch(() => undefined);
        throw err;
      });
      return {
        async send(partition, value) {
          // kafkajs waits requestTimeout plus the produce timeout (the broker's wait for acks): keep the
          // latter short, so the whole stays under the suites' pauses.
          const [r] = await producer.send({ topic, acks: -1, timeout: 500, messages: [{ partition, value }] });
          if (r === undefined || r.errorCode !== 0) throw new Error(`kafkajs send result ${JSON.stringify(r)}`);
          return { offset: Number(r.baseOffset) };
        },
        close: () => producer.disconnect(),
      };
    }
    if (family === 'confluent') return confluentSender(this.o.bootstrap, topic, timeout, clientId);
    const producer: StringProducer = platformaticProducer(undefined, [...this.o.bootstrap], {
      clientId,
      idempotent: true,
      acks: ProduceAcks.ALL,
      timeout,
      connectTimeout: 1000,
      retries: 3,
      retryDelay: 100,
    });
    return {
      async send(partition, value) {
        const r = await producer.send({ messages: [{ topic, partition, value }], acks: ProduceAcks.ALL });
        const o = r.offsets?.find((x) => x.partition === partition);
        if (o === undefined) throw new Error(`platformatic send result ${JSON.stringify(r)}`);
        return { offset: Number(o.offset) };
      },
      close: () => producer.close(),
    };
  }

  private async startGroupConsumer(): Promise<void> {
    const process = 'kafkajs-group';
    const h = this.o.history;
    const kafka = kafkajsClient([...this.o.bootstrap], {
      clientId: process,
      requestTimeout: 3000,
      connectionTimeout: 1000,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    const consumer: Consumer = kafka.consumer({
      groupId: `${this.o.topic}-group`,
      sessionTimeout: 6000,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 300,
      retry: { retries: 1000, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    // kafkajs may report a join or a crash after disconnect() has begun (its runner stops
    // asynchronously): the history ends when the consumer is closed, so such late events are not
    // part of it.
    let closed = false;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      if (closed) return;
      h.record({ f: 'assign', type: 'ok', process, partitions: e.payload.memberAssignment[this.o.topic] ?? [] });
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (closed) return;
      h.record({ f: 'assign', type: 'ok', process, partitions: [] });
      h.record({ f: 'poll', type: 'info', process, error: describe(e.payload.error) });
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [this.o.topic], fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        if (batch.messages.length === 0) return;
        const records = batch.messages.map(
          (m) => [batch.partition, Number(m.offset), m.value?.toString('utf8') ?? ''] as const,
        );
        if (closed) return;
        h.record({ f: 'poll', type: 'ok', process, records });
        this.delivered(process, records);
      },
    });
    this.closers.push(() => {
      closed = true;
      return consumer.disconnect();
    });
  }

  private startAssignConsumer(): void {
    requirePythonModule('confluent_kafka');
    const process = 'confluent-assign';
    const h = this.o.history;
    let done = false;
    const proc = spawnLineChild(
      PYTHON,
      [
        join(clientScriptsDir, 'assign_consumer_confluent.py'),
        this.o.bootstrap.join(','),
        this.o.topic,
        String(this.o.partitions),
        '600',
      ],
      (line) => {
        const m = JSON.parse(line) as { records?: Array<[number, number, string]>; error?: unknown; done?: boolean };
        if (m.records !== undefined) {
          h.record({ f: 'poll', type: 'ok', process, records: m.records });
          this.delivered(process, m.records);
        } else if (m.error !== undefined)
          h.record({ f: 'poll', type: 'info', process, error: JSON.stringify(m.error) });
        else if (m.done === true) done = true;
        else return false;
        return true;
      },
      {
        env:
          this.o.logDir !== undefined && globalThis.process.env['JOCKO_RDKAFKA_DEBUG'] !== undefined
            ? { JOCKO_RDKAFKA_DEBUG_FILE: join(this.o.logDir, 'confluent-assign.log') }
            : {},
      },
    );
    h.record({ f: 'assign', type: 'ok', process, partitions: Array.from({ length: this.o.partitions }, (_, i) => i) });
    this.closers.push(async () => {
      const exit = await proc.stop('SIGTERM', 10_000);
      if (!done)
        this.problems.push(
          `the confluent-kafka consumer ended badly (${JSON.stringify(exit)}): ${proc.stderr.toString()}`,
        );
    });
  }
}

/**
 * A confluent-kafka producer in a Python process (test/clients/producer_confluent.py), sending
 * one value at a time: each send writes a command line and takes the next reply line. A send
 * that librdkafka did not acknowledge is indeterminate (its delivery report does not tell a
 * refused write from a timed-out one once its retries are spent).
 */
async function confluentSender(
  bootstrap: readonly string[],
  topic: string,
  timeoutMs: number,
  clientId: string,
): Promise<ValueSender> {
  requirePythonModule('confluent_kafka');
  type Reply = { ready?: boolean; offset?: number; error?: unknown };
  const waiting: Array<(r: Reply) => void> = [];
  const proc = spawnLineChild(
    PYTHON,
    [join(clientScriptsDir, 'producer_confluent.py'), bootstrap.join(','), topic, String(timeoutMs), clientId],
    (line) => {
      const next = waiting.shift();
      if (next === undefined) return false;
      next(JSON.parse(line) as Reply);
      return true;
    },
    { stdin: true },
  );
  const reply = (bound: number): Promise<Reply> =>
    new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = waiting.indexOf(done);
        if (i >= 0) waiting.splice(i, 1);
        reject(new Error(`confluent-kafka producer: no reply in ${bound} ms\n${proc.stderr.toString()}`));
      }, bound);
      const done = (r: Reply) => {
        clearTimeout(timer);
        resolve(r);
      };
      waiting.push(done);
      void proc.exited.then((exit) => {
        const i = waiting.indexOf(done);
        if (i < 0) return;
        waiting.splice(i, 1);
        clearTimeout(timer);
        reject(
          new Error(`confluent-kafka producer exited ${JSON.stringify(exit)}: ${proc.stderr.toString().slice(-600)}`),
        );
      });
    });
  try {
    await reply(10_000);
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return {
    async send(partition, value) {
      const r = reply(timeoutMs * 3 + 5000);
      proc.child.stdin?.write(`${partition} ${value}\n`);
      const { offset, error } = await r;
      if (offset === undefined) throw new Error(`confluent-kafka delivery report ${JSON.stringify(error)}`);
      return { offset };
    },
    async close() {
      proc.child.stdin?.end();
      await proc.stop('SIGTERM', 5000);
    },
  };
}

/**
 * A definite failure: a Kafka error the broker returned that says the write was refused and is
 * not worth retrying. Everything else (timeouts, lost connections, retries exhausted on
 * retriable errors) is indeterminate: the write may have happened.
 */
export function definiteFailure(err: unknown): boolean {
  const e = err as { name?: string; retriable?: boolean; canRetry?: boolean; cause?: unknown; errors?: unknown[] };
  if (e === null || typeof e !== 'object') return false;
  if (e.name === 'KafkaJSProtocolError') return e.retriable === false;
  if (e.name === 'KafkaJSNumberOfRetriesExceeded' || e.name === 'KafkaJSRequestTimeoutError') return false;
  if (Array.isArray(e.errors) && e.errors.length > 0) return e.errors.every((x) => protocolRefusal(x));
  return false;
}

function protocolRefusal(x: unknown): boolean {
  const e = x as { code?: string; canRetry?: boolean; apiCode?: number };
  return e !== null && typeof e === 'object' && e.code === 'PLT_KFK_PROTOCOL' && e.canRetry === false;
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`.slice(0, 800);
  return String(err).slice(0, 800);
}

/**
 * After healing: reads one partition from offset 0 to its high watermark from one node
 * directly (no proxy), and records it as a final read. Bounded in requests and time.
 */
export async function finalRead(
  history: HistoryRecorder,
  node: { id: number; direct: string },
  topic: string,
  partition: number,
): Promise<{ highWatermark: number; records: number }> {
  const client = new KafkaClient({ bootstrap: node.direct, clientId: 'final-read', requestTimeoutMs: 10_000 });
  await client.connect();
  try {
    const records: Array<[number, string]> = [];
    let next = 0;
    let highWatermark = (await client.listOffset(topic, partition, -1)).offset;
    const deadline = performance.now() + 60_000;
    while (next < highWatermark) {
      if (performance.now() > deadline)
        throw new Error(
          `final read of ${topic}-${partition} from node ${node.id}: stuck at ${next} of ${highWatermark}`,
        );
      const r = await client.fetch(topic, partition, next, { maxBytes: 1024 * 1024, maxWaitMs: 100 });
      highWatermark = r.highWatermark;
      for (const rec of r.records) {
        if (rec.offset >= highWatermark) break;
        records.push([rec.offset, rec.value?.toString('utf8') ?? '']);
        next = rec.offset + 1;
      }
    }
    history.record({ f: 'final-read', type: 'ok', process: 'final', node: node.id, partition, records });
    return { highWatermark, records: records.length };
  } finally {
    client.close();
  }
}
