import type { TestContext } from 'node:test';
import {
  Admin,
  type AdminOptions,
  type BaseOptions,
  Consumer,
  type ConsumerOptions,
  deserializersFrom,
  Producer,
  type ProducerOptions,
  serializersFrom,
  stringDeserializer,
  stringSerializer,
} from '@platformatic/kafka';

/**
 * @platformatic/kafka clients for tests: short timeouts and one retry, so a broken broker fails
 * a test in seconds. The library logs nothing unless asked (its diagnostics channels are silent).
 * Producers and consumers use string keys, values and headers.
 */

export function platformaticBaseOptions(
  bootstrap: string | string[],
  overrides: Partial<BaseOptions> = {},
): BaseOptions {
  return {
    clientId: 'jocko-test-platformatic',
    bootstrapBrokers: Array.isArray(bootstrap) ? bootstrap : [bootstrap],
    connectTimeout: 3000,
    timeout: 10_000,
    retries: 1,
    retryDelay: 100,
    ...overrides,
  };
}

/** An Admin client, closed when the test `t` ends (pass undefined to close it yourself). */
export function platformaticAdmin(
  t: TestContext | undefined,
  bootstrap: string | string[],
  overrides: Partial<AdminOptions> = {},
): Admin {
  const admin = new Admin(platformaticBaseOptions(bootstrap, overrides));
  t?.after(() => admin.close());
  return admin;
}

export type StringProducer = Producer<string, string, string, string>;
export type StringConsumer = Consumer<string, string, string, string>;

/** A producer of string keys/values/headers, closed when the test `t` ends. */
export function platformaticProducer(
  t: TestContext | undefined,
  bootstrap: string | string[],
  overrides: Partial<ProducerOptions<string, string, string, string>> = {},
): StringProducer {
  const producer = new Producer<string, string, string, string>({
    ...platformaticBaseOptions(bootstrap),
    serializers: serializersFrom(stringSerializer),
    ...overrides,
  });
  t?.after(() => producer.close());
  return producer;
}

/** A consumer of string keys/values/headers in group `groupId`, closed when the test `t` ends. */
export function platformaticConsumer(
  t: TestContext | undefined,
  bootstrap: string | string[],
  groupId: string,
  overrides: Partial<ConsumerOptions<string, string, string, string>> = {},
): StringConsumer {
  const consumer = new Consumer<string, string, string, string>({
    ...platformaticBaseOptions(bootstrap),
    groupId,
    deserializers: deserializersFrom(stringDeserializer),
    maxWaitTime: 500,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
    ...overrides,
  } as ConsumerOptions<string, string, string, string>);
  t?.after(() => consumer.close(true));
  return consumer;
}
