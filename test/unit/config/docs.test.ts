import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BROKER_CONFIGS, brokerConfigDef } from '../../../src/config/broker-configs.js';
import { atLeast, between, listOf, oneOf } from '../../../src/config/config-def.js';
import {
  describeValidator,
  renderBrokerConfigTable,
  renderConfigReference,
  renderDefault,
  renderTopicConfigTable,
} from '../../../src/config/docs.js';
import { TOPIC_CONFIGS, topicConfigDef } from '../../../src/config/topic-configs.js';

test('the reference has one table row for every catalogue entry', () => {
  const broker = renderBrokerConfigTable().trimEnd().split('\n');
  const topic = renderTopicConfigTable().trimEnd().split('\n');
  assert.equal(broker.length, BROKER_CONFIGS.length + 2);
  assert.equal(topic.length, TOPIC_CONFIGS.length + 2);
  const all = renderConfigReference();
  for (const d of [...BROKER_CONFIGS, ...TOPIC_CONFIGS]) assert.ok(all.includes(`| \`${d.name}\``), d.name);
});

test('rows show type, default, valid values, importance, update mode and the server default property', () => {
  const row = renderBrokerConfigTable()
    .split('\n')
    .find((l) => l.startsWith('| `log.segment.bytes`'));
  assert.ok(row);
  assert.match(row, /\| int \| 1073741824 \(1 GiB\) \| \[1048576,\.\.\.\] \| high \| cluster-wide \|$/);
  const topicRow = renderTopicConfigTable()
    .split('\n')
    .find((l) => l.startsWith('| `retention.ms`'));
  assert.ok(topicRow);
  assert.match(topicRow, /\| long \| 604800000 \(7 days\) \| \[-1,\.\.\.\] \| `log.retention.ms` \| medium \|$/);
});

test('validators are described the way Kafka documents them', () => {
  assert.equal(describeValidator(atLeast(1)), '[1,...]');
  assert.equal(describeValidator(between(0, 1)), '[0,...,1]');
  assert.equal(describeValidator(oneOf('CreateTime', 'LogAppendTime')), '[CreateTime, LogAppendTime]');
  assert.equal(describeValidator(listOf('compact', 'delete')), '[compact, delete]');
  assert.equal(describeValidator(null), '');
});

test('defaults render as null, "" or the value with a readable hint', () => {
  const def = (n: string) => {
    const d = brokerConfigDef(n) ?? topicConfigDef(n);
    assert.ok(d, n);
    return d;
  };
  assert.equal(renderDefault(def('log.retention.ms')), 'null');
  assert.equal(renderDefault(def('max.connections.per.ip.overrides')), '""');
  assert.equal(renderDefault(def('flush.messages')), '9223372036854775807');
  assert.equal(renderDefault(def('connections.max.idle.ms')), '600000 (10 minutes)');
  assert.equal(renderDefault(def('cleanup.policy')), 'delete');
});

test('table cells cannot break the table', () => {
  for (const line of renderConfigReference().split('\n')) {
    if (!line.startsWith('|')) continue;
    assert.equal(line.replace(/\\\|/g, '').split('|').length, 9, line);
  }
});
