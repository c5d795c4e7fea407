import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import fc from 'fast-check';
import { murmur2, partitionForKey, StickyPartitioner, toPositive } from '../../../src/client/partitioner.js';

const require = createRequire(import.meta.url);
// kafkajs's Java-compatible murmur2 (its DefaultPartitioner), an independent implementation.
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;

test('murmur2 matches values computed by Kafka (Utils.murmur2 of the UTF-8 bytes)', () => {
  // Values from Kafka's UtilsTest.testMurmur2.
  const cases: Array<[string, number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [key, expected] of cases) assert.equal(murmur2(Buffer.from(key)), expected, key);
});

test('murmur2 agrees with kafkajs for arbitrary keys, so keys land where kafkajs puts them', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 1000 }), (bytes, n) => {
      const key = Buffer.from(bytes);
      assert.equal(murmur2(key), kafkajsMurmur2(key));
      assert.equal(partitionForKey(key, n), toPositive(kafkajsMurmur2(key)) % n);
    }),
    { numRuns: 2000 },
  );
});

test('toPositive masks the sign bit as Kafka does', () => {
  assert.equal(toPositive(-1), 0x7fffffff);
  assert.equal(toPositive(-2147483648), 0);
  assert.equal(toPositive(5), 5);
});

test('the sticky partitioner keeps one partition until a batch is sent, then moves to another', () => {
  let seed = 1;
  const random = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  const p = new StickyPartitioner(random);
  const first = p.partition(6);
  for (let i = 0; i < 10; i++) assert.equal(p.partition(6), first);
  for (let i = 0; i < 50; i++) {
    const before = p.partition(6);
    p.batchSent(before, 6);
    const after = p.partition(6);
    assert.notEqual(after, before);
    assert.ok(after >= 0 && after < 6);
  }
  const single = new StickyPartitioner(random);
  single.batchSent(single.partition(1), 1);
  assert.equal(single.partition(1), 0);
});
