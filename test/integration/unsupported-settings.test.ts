import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBrokerProcess } from '../helpers/broker-process.js';

/** Starting a broker with `config` fails, its output naming `pattern`. */
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
