/** 64-bit integers: the allocation-free paths for 53-bit values agree with Node's BigInt codec on every value. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Reader } from '../../../../src/protocol/primitives/reader.js';
import { Writer } from '../../../../src/protocol/primitives/writer.js';

const EDGES = [
  0n,
  1n,
  -1n,
  0xffffffffn,
  0x100000000n,
  -0x100000000n,
  -0xffffffffn,
  BigInt(Number.MAX_SAFE_INTEGER),
  BigInt(-Number.MAX_SAFE_INTEGER),
  BigInt(Number.MAX_SAFE_INTEGER) + 1n,
  BigInt(-Number.MAX_SAFE_INTEGER) - 1n,
  (1n << 53n) - 2n,
  -(1n << 53n),
  (1n << 63n) - 1n,
  -(1n << 63n),
  0x001fffff00000000n,
  0x0020000000000000n,
  -0x0020000000000000n,
  -0x0020000000000001n,
];

function roundTrip(v: bigint): void {
  const w = new Writer(8);
  w.writeInt64(v);
  const out = w.toBuffer();
  const expected = Buffer.alloc(8);
  expected.writeBigInt64BE(v, 0);
  assert.deepEqual(out, expected, `bytes of ${v}`);
  assert.equal(new Reader(expected).readInt64(), v, `value of ${v}`);
}

test('int64 edges around 32, 53 and 64 bits are written and read as Node writes and reads them', () => {
  for (const v of EDGES) roundTrip(v);
});

test('any int64 is written and read as Node writes and reads it', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), (v) => roundTrip(v)),
    { numRuns: 5000 },
  );
  fc.assert(
    fc.property(fc.bigInt({ min: -(1n << 54n), max: 1n << 54n }), (v) => roundTrip(v)),
    { numRuns: 5000 },
  );
});
