import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { crc32, crc32c, crc32cRange, crc32Range } from '../../../../src/protocol/records/crc32c.js';

test('crc32c of "123456789" is the Castagnoli check value 0xe3069283', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
});

test('crc32c matches the RFC 3720 test vectors', () => {
  assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  const ascending = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
  assert.equal(crc32c(ascending), 0x46dd794e);
  const descending = Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i));
  assert.equal(crc32c(descending), 0x113fdb5c);
});

test('crc32c of an empty buffer is 0', () => {
  assert.equal(crc32c(Buffer.alloc(0)), 0);
});

test('crc32 (IEEE) of "123456789" is 0xcbf43926', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
});

test('checksums continue across pieces and ranges equal checksums of slices', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), (bytes, cut) => {
      const buf = Buffer.from(bytes);
      const k = buf.length === 0 ? 0 : cut % (buf.length + 1);
      const whole = crc32c(buf);
      assert.equal(crc32c(buf.subarray(k), crc32c(buf.subarray(0, k))), whole);
      assert.equal(crc32cRange(buf, 0, k), crc32c(buf.subarray(0, k)));
      assert.equal(crc32Range(buf, k, buf.length), crc32(buf.subarray(k)));
      assert.ok(whole >= 0 && whole <= 0xffffffff);
    }),
    { numRuns: 200 },
  );
});
