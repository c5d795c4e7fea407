import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import * as generated from '../../src/protocol/generated/index.js';
import { DecodeError } from '../../src/protocol/primitives/decode-error.js';
import { Reader } from '../../src/protocol/primitives/reader.js';
import { Writer } from '../../src/protocol/primitives/writer.js';
import { SCHEMA, structArbitrary } from '../protocol/schema-arbitrary.js';

type Encode = (w: Writer, m: unknown, v: number) => void;
type Decode = (r: Reader, v: number) => unknown;
const codecs = generated as unknown as Record<string, Encode | Decode>;

const SEED = Number(process.env['JOCKO_SEED'] ?? Date.now() % 2 ** 31);

/** Decoding hostile bytes may succeed or throw DecodeError; anything else is a bug. */
function decodeOrDecodeError(name: string, buf: Buffer, v: number): void {
  try {
    (codecs[`decode${name}`] as Decode)(new Reader(buf), v);
  } catch (err) {
    if (!(err instanceof DecodeError)) {
      throw new Error(
        `${name} v${v} threw ${(err as Error).name}: ${(err as Error).message} on ${buf.toString('hex')}`,
      );
    }
  }
}

const requests = SCHEMA.filter((m) => m.name.endsWith('Request') || m.name === 'RequestHeader');

test(`mutated requests of every API and version decode or fail with DecodeError only (seed ${SEED})`, () => {
  let cases = 0;
  for (const m of requests) {
    for (let v = m.validVersions[0]; v <= m.validVersions[1]; v++) {
      fc.assert(
        fc.property(
          structArbitrary(m, m.name, v, 0, false),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
          fc.nat(),
          (value, flips, cut) => {
            const w = new Writer();
            (codecs[`encode${m.name}`] as Encode)(w, value, v);
            const bytes = Buffer.from(w.toBuffer());
            if (bytes.length === 0) return;
            for (const [pos, byte] of flips) bytes[pos % bytes.length] = byte;
            decodeOrDecodeError(m.name, bytes, v);
            decodeOrDecodeError(m.name, bytes.subarray(0, cut % bytes.length), v);
            cases++;
          },
        ),
        { seed: SEED + cases, numRuns: 8 },
      );
    }
  }
  assert.ok(cases > 1000);
});

test('random bytes fed to every request decoder never throw anything but DecodeError', () => {
  fc.assert(
    fc.property(fc.constantFrom(...requests), fc.nat(), fc.uint8Array({ maxLength: 64 }), (m, vi, bytes) => {
      const v = m.validVersions[0] + (vi % (m.validVersions[1] - m.validVersions[0] + 1));
      decodeOrDecodeError(m.name, Buffer.from(bytes), v);
    }),
    { seed: SEED, numRuns: 5000 },
  );
});

test('hostile lengths are refused before anything is allocated', () => {
  const cases: Array<[string, Buffer]> = [
    ['huge int32 array length', Buffer.from([0x7f, 0xff, 0xff, 0xff])],
    ['negative array length', Buffer.from([0xff, 0xff, 0xff, 0xfe])],
    ['huge compact array length', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])],
    ['varint longer than 5 bytes', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])],
  ];
  for (const [what, bytes] of cases) {
    const before = process.memoryUsage().arrayBuffers;
    // MetadataRequest v1 starts with an int32 array length; v12 (flexible) with a compact one.
    const v = what.includes('compact') || what.includes('varint') ? 12 : 1;
    assert.throws(() => generated.decodeMetadataRequest(new Reader(bytes), v), DecodeError, what);
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(grown < 1024 * 1024, `${what}: grew ${grown} bytes`);
  }
  const r = new Reader(Buffer.from([0x7f, 0xff]));
  assert.throws(() => r.readString(), DecodeError, 'string longer than the frame');
  assert.throws(() => new Reader(Buffer.from([0xff, 0xfe])).readString(), DecodeError, 'negative string length');
});
