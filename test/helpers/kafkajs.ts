import type { TestContext } from 'node:test';
// Registers the zstd codec on import.
import '@sensejs/kafkajs-zstd-support';
import kafkajs, {
  type Admin,
  type Consumer,
  type ConsumerConfig,
  type Kafka,
  type KafkaConfig,
  type KafkaMessage,
  type Producer,
  type ProducerConfig,
} from 'kafkajs';
import lz4Module from 'kafkajs-lz4';
import SnappyCodec from 'kafkajs-snappy';

/**
 * kafkajs clients for tests: quiet, with short timeouts and few retries, so a broken broker
 * fails a test in seconds rather than minutes. Every compression codec is registered
 * (snappy: kafkajs-snappy, lz4: kafkajs-lz4, zstd: @sensejs/kafkajs-zstd-support).
 */

const { Kafka: KafkaClass, logLevel, CompressionTypes, CompressionCodecs } = kafkajs;
CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
// kafkajs-lz4 is compiled CommonJS with `exports.default`: Node hands the class itself to a
// default import, while TypeScript types the default import as the whole module.
type LZ4CodecClass = typeof lz4Module.default;
const LZ4Codec = ((lz4Module as { default?: LZ4CodecClass }).default ?? lz4Module) as LZ4CodecClass;
CompressionCodecs[CompressionTypes.LZ4] = new LZ4Codec().codec;

export { CompressionTypes };

/** Set JOCKO_TEST_CLIENT_LOGS=1 to see the clients' own logs. */
const verbose = process.env['JOCKO_TEST_CLIENT_LOGS'] === '1';

export function kafkajsClient(bootstrap: string | string[], config: Partial<KafkaConfig> = {}): Kafka {
  return new KafkaClass({
    clientId: 'jocko-test-kafkajs',
    brokers: Array.isArray(bootstrap) ? bootstrap : [bootstrap],
    logLevel: verbose ? logLevel.DEBUG : logLevel.NOTHING,
    connectionTimeout: 3000,
    authenticationTimeout: 3000,
    requestTimeout: 10_000,
    enforceRequestTimeout: true,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    ...config,
  });
}

/** A connected admin client, disconnected when the test `t` ends. */
export async function kafkajsAdmin(t: TestContext, kafka: Kafka): Promise<Admin> {
  const admin = kafka.admin();
  t.after(() => admin.disconnect());
  await admin.connect();
  return admin;
}

/** A connected producer, disconnected when the test `t` ends. */
export async function kafkajsProducer(t: TestContext, kafka: Kafka, config: ProducerConfig = {}): Promise<Producer> {
  const producer = kafka.producer({ allowAutoTopicCreation: false, ...config });
  t.after(() => producer.disconnect());
  await producer.connect();
  return producer;
}

/** A connected consumer, disconnected when the test `t` ends. */
export async function kafkajsConsumer(t: TestContext, kafka: Kafka, config: ConsumerConfig): Promise<Consumer> {
  const consumer = kafka.consumer({ sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 500, ...config });
  t.after(() => consumer.disconnect());
  await consumer.connect();
  return consumer;
}

export interface ReceivedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
}

/**
 * Subscribes `consumer` to `topic` from the beginning and collects messages until `count` have
 * arrived, then stops it. Rejects after `timeoutMs` with how many had arrived.
 */
export async function kafkajsConsumeN(
  consumer: Consumer,
  topic: string,
  count: number,
  timeoutMs = 20_000,
): Promise<ReceivedMessage[]> {
  const received: ReceivedMessage[] = [];
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`kafkajs: ${received.length} of ${count} messages from ${topic} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      consumer
        .run({
          eachMessage: async ({ topic: tp, partition, message }) => {
            received.push({ topic: tp, partition, message });
            if (received.length >= count) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    clearTimeout(timer);
    await consumer.stop();
  }
  return received;
}
