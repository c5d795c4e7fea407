import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FrameDecoder } from '../../../src/network/frame-decoder.js';
import { MemoryPool, SMALL_FRAME_BYTES, SMALL_FRAME_HEADROOM_BYTES } from '../../../src/network/memory-pool.js';

test('a decoder whose reservations are refused at random still passes every frame on, in order, each reserved once', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
      fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 10 }),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 30 }),
      (bodies, cuts, answers) => {
        const stream = Buffer.concat(
          bodies.map((b) => {
            const p = Buffer.alloc(4);
            p.writeInt32BE(b.length);
            return Buffer.concat([p, Buffer.from(b)]);
          }),
        );
        let asked = 0;
        let reserved = 0;
        const decoder = new FrameDecoder(1000, {
          poolProduceFrames: false,
          reserve: (size) => {
            const yes = answers[asked++ % answers.length] === true || asked % 7 === 0;
            if (yes) reserved += size;
            return yes;
          },
        });
        const got: Buffer[] = [];
        const onFrame = (f: Buffer) => got.push(Buffer.from(f));
        let pos = 0;
        for (let i = 0; pos < stream.length; i++) {
          const n = cuts[i % cuts.length] as number;
          decoder.push(stream.subarray(pos, pos + n), onFrame);
          pos += n;
          // Memory frees now and then (every 7th ask at least): the stalled frames are tried again, bounded.
          for (let tries = 0; decoder.stalled && tries < 10_000; tries++) decoder.resume(onFrame);
          assert.equal(decoder.stalled, false, 'resumes once memory is granted');
        }
        assert.deepEqual(
          got.map((g) => g.toString('hex')),
          bodies.map((b) => Buffer.from(b).toString('hex')),
        );
        assert.equal(reserved, bodies.reduce((s, b) => s + b.length, 0) + decoder.reservedPending);
        assert.equal(decoder.reservedPending, 0);
      },
    ),
    { numRuns: 300 },
  );
});

test('the memory pool refuses a large frame over the budget, lets small ones use the headroom, and wakes waiters on release', () => {
  const pool = new MemoryPool(10 * 1024 * 1024);
  assert.equal(pool.tryReserve(8 * 1024 * 1024), true);
  assert.equal(pool.tryReserve(4 * 1024 * 1024), false, 'over the budget');
  let small = 0;
  while (pool.tryReserve(SMALL_FRAME_BYTES)) small++;
  const expected = Math.floor((2 * 1024 * 1024 + SMALL_FRAME_HEADROOM_BYTES) / SMALL_FRAME_BYTES);
  assert.equal(small, expected, 'small frames fill the budget and the headroom, no more');
  let woken = 0;
  pool.waitForMemory(() => woken++);
  pool.release(8 * 1024 * 1024);
  assert.equal(woken, 1);
  pool.release(small * SMALL_FRAME_BYTES);
  assert.equal(pool.reservedBytes, 0);
  assert.equal(pool.tryReserve(64 * 1024 * 1024), true, 'a frame larger than the budget is read alone');
  assert.equal(pool.tryReserve(1), false, 'nothing more until it is answered');
  pool.release(64 * 1024 * 1024);
  assert.equal(pool.tryReserve(SMALL_FRAME_BYTES + 1), true);
  assert.throws(() => pool.release(128 * 1024 * 1024), /released more than reserved/);
});
