import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import * as generated from '../../src/protocol/generated/index.js';
import { Reader } from '../../src/protocol/primitives/reader.js';
import { Writer } from '../../src/protocol/primitives/writer.js';
import { SCHEMA, samePresentFields, structArbitrary } from './schema-arbitrary.js';

type Encode = (w: Writer, m: unknown, v: number) => void;
type Decode = (r: Reader, v: number) => Record<string, unknown>;
const codecs = generated as unknown as Record<string, Encode | Decode>;

const SEED = Number(process.env['JOCKO_SEED'] ?? Date.now() % 2 ** 31);
const RUNS = Number(process.env['JOCKO_ROUNDTRIP_RUNS'] ?? 40);

function encode(name: string, value: unknown, v: number): Buffer {
  const w = new Writer();
  (codecs[`encode${name}`] as Encode)(w, value, v);
  return w.toBuffer();
}

function decode(name: string, buf: Buffer, v: number): Record<string, unknown> {
  const r = new Reader(buf);
  const out = (codecs[`decode${name}`] as Decode)(r, v);
  assert.equal(r.remaining, 0, `${name} v${v}: ${r.remaining} bytes left after decode`);
  return out;
}

test(`every message in every version round-trips: decode(encode(x)) keeps x and re-encodes byte-identically (seed ${SEED})`, () => {
  let pairs = 0;
  for (const m of SCHEMA) {
    const [lo, hi] = m.validVersions;
    for (let v = lo; v <= hi; v++) {
      pairs++;
      const arb = structArbitrary(m, m.name, v);
      fc.assert(
        fc.property(arb, (input) => {
          const bytes = encode(m.name, input, v);
          const decoded = decode(m.name, bytes, v);
          const diff = samePresentFields(m, m.name, v, input, decoded);
          assert.equal(diff, null, `${m.name} v${v}: ${diff}`);
          const again = encode(m.name, decoded, v);
          assert.ok(again.equals(bytes), `${m.name} v${v}: re-encoding differs`);
        }),
        { seed: SEED + pairs, numRuns: RUNS },
      );
    }
  }
  // 186 message files (176 APIs' requests and responses, headers, data) plus the record layouts.
  assert.ok(SCHEMA.length >= 240, `expected every definition, got ${SCHEMA.length}`);
  assert.ok(pairs >= 750, `expected every version of every message, got ${pairs}`);
});

test('a message encoded from an empty init object decodes to the schema defaults in every version', () => {
  for (const m of SCHEMA) {
    const [lo, hi] = m.validVersions;
    const def = (codecs[`default${m.name}`] as unknown as () => Record<string, unknown>)();
    for (let v = lo; v <= hi; v++) {
      const bytes = encode(m.name, {}, v);
      const decoded = decode(m.name, bytes, v);
      const diff = samePresentFields(m, m.name, v, def, decoded);
      assert.equal(diff, null, `${m.name} v${v}: ${diff}`);
    }
  }
});

test('decoding a version outside validVersions is a decode error, not a crash', () => {
  assert.throws(() => decode('ApiVersionsRequest', Buffer.alloc(0), 99), { name: 'DecodeError' });
});
