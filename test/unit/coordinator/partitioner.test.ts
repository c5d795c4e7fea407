import assert from 'node:assert/strict';
import { test } from 'node:test';
import { javaStringHashCode, kafkaAbs, partitionFor } from '../../../src/coordinator/group/partitioner.js';

test('String.hashCode as Java computes it (UTF-16 units, 32-bit wrap-around)', () => {
  assert.equal(javaStringHashCode(''), 0);
  assert.equal(javaStringHashCode('hello'), 99162322);
  // Java's classic collision pair.
  assert.equal(javaStringHashCode('Aa'), 2112);
  assert.equal(javaStringHashCode('BB'), 2112);
  // A character outside the BMP counts as its two surrogates.
  assert.equal(javaStringHashCode('\u{1F600}'), 0xd83d * 31 + 0xde00);
  // The Java puzzler: this string hashes to Integer.MIN_VALUE.
  assert.equal(javaStringHashCode('polygenelubricants'), -2147483648);
});

test('the partition of a key is Utils.abs(hashCode) % partitions, with Integer.MIN_VALUE mapping to 0', () => {
  assert.equal(kafkaAbs(-5), 5);
  assert.equal(kafkaAbs(-2147483648), 0);
  assert.equal(partitionFor('hello', 50), 99162322 % 50);
  assert.equal(partitionFor('polygenelubricants', 50), 0);
  // A negative hash: the absolute value, not a negative remainder.
  assert.equal(javaStringHashCode('my-group'), -1906497762);
  assert.equal(partitionFor('my-group', 50), 12);
  assert.throws(() => partitionFor('g', 0), RangeError);
});
