// Kafka 4.x's default KRaft server.properties, as Kafka ships it, starts a working broker:
// on the ports it names (the PLAINTEXT one and the CONTROLLER one), with its node.id, keeping
// partitions and the metadata log in its log.dirs. Only the ports and the directory are
// replaced (by free ones), so tests never collide with each other or a real Kafka.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startBrokerProcess } from '../helpers/broker-process.js';
import { kafkajsAdmin, kafkajsClient, kafkajsProducer } from '../helpers/kafkajs.js';
import { jockoBin, repoRoot } from '../helpers/paths.js';
import { reservedPort } from '../helpers/ports.js';
import { assertRunOk, run } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';
import { uniqueTopic } from '../helpers/unique.js';

/** The settings of Kafka 4.0's config/server.properties (its comments left out). */
const KAFKA_4_SERVER_PROPERTIES = `process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=localhost:9093
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
inter.broker.listener.name=PLAINTEXT
advertised.listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600
log.dirs=/tmp/kraft-combined-logs
num.partitions=1
num.recovery.threads.per.data.dir=1
offsets.topic.replication.factor=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
log.retention.hours=168
log.retention.check.interval.ms=300000
`;

test("Kafka 4's default server.properties starts a working broker on its ports, with its node.id and log.dirs; a second one on it refuses", async (t) => {
  const [plain, controller] = [await reservedPort(), await reservedPort()];
  const dir = tempDir(t, 'jocko-kafka-props-');
  const logDir = join(dir, 'kraft-combined-logs');
  const path = join(dir, 'server.properties');
  writeFileSync(
    path,
    KAFKA_4_SERVER_PROPERTIES.replaceAll('9092', String(plain))
      .replaceAll('9093', String(controller))
      .replaceAll('/tmp/kraft-combined-logs', logDir),
  );
  const broker = await startBrokerProcess({ extraArgs: ['--config', path], noListen: true, noDataDir: true });
  t.after(() => broker.dispose());
  assert.equal(broker.port, plain, 'listens on the PLAINTEXT port');
  assert.match(broker.output().stdout, /jocko broker 1 listening on 0\.0\.0\.0:/);
  assert.match(broker.output().stdout, new RegExp(`bootstrap servers localhost:${plain}`));
  assert.doesNotMatch(broker.output().stderr, /ERROR/);

  const topic = uniqueTopic('kafka-props');
  const kafka = kafkajsClient(`localhost:${plain}`);
  const admin = await kafkajsAdmin(t, kafka);
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  const producer = await kafkajsProducer(t, kafka);
  await producer.send({ topic, messages: [{ key: 'a', value: 'one' }] });
  // The CONTROLLER port serves Kafka requests too (Kafka's tools use it as --bootstrap-controller).
  const viaController = await run(
    process.execPath,
    [jockoBin, 'consume', topic, '--offset', 'earliest', '-c', '1', '--bootstrap', `127.0.0.1:${controller}`],
    { cwd: repoRoot, timeoutMs: 30_000 },
  );
  assertRunOk(viaController);
  assert.equal(viaController.stdout, 'one\n');

  // Partitions and the metadata log live in log.dirs, nothing in the working directory.
  const entries = readdirSync(logDir);
  assert.ok(entries.includes(`${topic}-0`) && entries.includes(`${topic}-1`), entries.join(' '));
  assert.ok(entries.includes('metadata'), entries.join(' '));
  assert.ok(entries.includes('.lock'), entries.join(' '));
  assert.ok(!existsSync(join(repoRoot, 'jocko-data')), 'no ./jocko-data');

  await assert.rejects(
    startBrokerProcess({ extraArgs: ['--config', path], noListen: true, noDataDir: true }),
    (err: Error) => {
      assert.match(
        err.message,
        new RegExp(`${logDir.replaceAll('/', '\\/')} is in use by another broker \\(pid ${broker.pid} `),
      );
      return true;
    },
  );
  assert.ok(broker.running);
});
