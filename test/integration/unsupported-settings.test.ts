import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { startBrokerProcess } from '../helpers/broker-process.js';
import { kafkajsAdmin, kafkajsClient } from '../helpers/kafkajs.js';
import { platformaticAdmin } from '../helpers/platformatic.js';
import { requirePythonClient, runPythonClient } from '../helpers/python-clients.js';

/** Starting a broker with `config` fails, its output naming `pattern`. */
const { ConfigResourceTypes } = kafkajs;

async function refused(config: Record<string, string>, pattern: RegExp): Promise<void> {
  await assert.rejects(
    startBrokerProcess({ config }).then((b) => b.dispose()),
    (err: Error) => {
      assert.match(err.message, /exited during startup \(code [1-9]/);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

test('security settings the broker cannot honour stop start-up naming them, instead of serving anonymous plaintext clients', async () => {
  await refused(
    { 'ssl.client.auth': 'required', 'ssl.keystore.location': '/nonexistent/keystore.jks' },
    /ssl\.client\.auth is not supported yet: the broker serves PLAINTEXT only[\s\S]*ssl\.keystore\.location is not supported yet/,
  );
  await refused({ 'sasl.enabled.mechanisms': 'SCRAM-SHA-512' }, /sasl\.enabled\.mechanisms is not supported yet/);
  await refused(
    { 'listener.security.protocol.map': 'PLAINTEXT:SSL' },
    /listener\.security\.protocol\.map: PLAINTEXT:SSL is not supported yet/,
  );
  await refused(
    { 'inter.broker.listener.name': 'INTERNAL' },
    /inter\.broker\.listener\.name: INTERNAL is not supported yet/,
  );
  await refused({ 'max.connection.creation.rate': '5' }, /max\.connection\.creation\.rate is not supported yet/);
});

test("Kafka's default protocol map and a PLAINTEXT-only one are accepted", async (t) => {
  const b = await startBrokerProcess({
    config: {
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL',
      'inter.broker.listener.name': 'PLAINTEXT',
    },
  });
  t.after(() => b.dispose());
  assert.equal(b.running, true);
});

test('security settings set later through AlterConfigs (kafkajs), IncrementalAlterConfigs (@platformatic/kafka) or confluent-kafka are refused naming them, and not stored', async (t) => {
  const b = await startBrokerProcess({});
  t.after(() => b.dispose());
  const kafka = kafkajsClient(b.bootstrap);
  const admin = await kafkajsAdmin(t, kafka);
  const { brokers } = await admin.describeCluster();
  const id = String(brokers[0]?.nodeId);
  await admin.createTopics({ topics: [{ topic: 'secured', numPartitions: 1 }] });

  // AlterConfigs (legacy) at broker level: INVALID_REQUEST, as Kafka answers a broker config it cannot apply.
  for (const [name, value] of [
    ['ssl.client.auth', 'required'],
    ['sasl.enabled.mechanisms', 'SCRAM-SHA-512'],
    ['listener.security.protocol.map', 'PLAINTEXT:SASL_SSL'],
    ['listeners', 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0'],
  ] as const) {
    await assert.rejects(
      admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.BROKER, name: id, configEntries: [{ name, value }] }],
      }),
      (e: Error & { type?: string }) => {
        assert.equal(e.type, 'INVALID_REQUEST', `${name}: ${e.message}`);
        return true;
      },
    );
  }
  // At topic level a security setting is no topic config at all: INVALID_CONFIG.
  await assert.rejects(
    admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: 'secured',
          configEntries: [{ name: 'ssl.client.auth', value: 'required' }],
        },
      ],
    }),
    (e: Error & { type?: string }) => e.type === 'INVALID_CONFIG',
  );

  // IncrementalAlterConfigs: SET and APPEND are refused with a message naming the setting.
  const pAdmin = platformaticAdmin(t, b.bootstrap);
  for (const [name, value, configOperation] of [
    ['ssl.keystore.location', '/etc/broker.jks', 0],
    ['sasl.enabled.mechanisms', 'PLAIN', 2],
    ['principal.builder.class', 'com.example.Builder', 0],
  ] as const) {
    await assert.rejects(
      pAdmin.incrementalAlterConfigs({
        resources: [{ resourceType: 4, resourceName: id, configs: [{ name, value, configOperation }] }],
      }),
      (e: Error & { errors?: { response?: { responses?: { errorCode: number; errorMessage: string }[] } }[] }) => {
        const answer = e.errors?.[0]?.response?.responses?.[0];
        assert.equal(answer?.errorCode, 42, `${name}: ${e.message}`);
        assert.match(String(answer?.errorMessage), new RegExp(`^${name.replace(/\./g, '\\.')} is not supported yet`));
        return true;
      },
    );
  }

  // confluent-kafka (librdkafka) AlterConfigs: the same refusal with its message.
  requirePythonClient('confluent-kafka');
  const py = await runPythonClient('confluent-kafka', b.bootstrap, {
    op: 'alter_configs',
    resource_type: 'broker',
    name: id,
    configs: { 'ssl.truststore.location': '/etc/trust.jks' },
  });
  assert.equal(py.ok, false);
  if (!py.ok) {
    assert.equal(py.error.code, 42);
    assert.match(py.error.message, /ssl\.truststore\.location is not supported yet: the broker serves PLAINTEXT only/);
  }

  // Nothing was stored: every one still described at its default.
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.BROKER, name: id }],
  });
  const entries = new Map(described.resources[0]?.configEntries.map((e) => [e.configName, e]));
  for (const name of [
    'ssl.client.auth',
    'sasl.enabled.mechanisms',
    'listener.security.protocol.map',
    'ssl.keystore.location',
    'principal.builder.class',
    'ssl.truststore.location',
  ]) {
    assert.equal(entries.get(name)?.isDefault, true, `${name} ${JSON.stringify(entries.get(name))}`);
  }
  const topic = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: 'secured' }],
  });
  assert.ok(!topic.resources[0]?.configEntries.some((e) => e.configName.startsWith('ssl.')));
  // And the broker still serves plaintext clients.
  assert.deepEqual(await admin.listTopics(), ['secured']);
});
