// The persistent map behind the metadata image: against a plain Map as the model, every version
// published stays as it was, and a run of changes copies only the paths it touches.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { hashOf, PersistentMap } from '../../../src/metadata/persistent-map.js';

/** Two pairs of keys with the same 32-bit hash (found by search), so collision nodes are exercised. */
const COLLIDING = [
  ['k32728', 'k261234'],
  ['k32729', 'k261235'],
] as const;

test('the colliding keys of the tests do collide', () => {
  for (const [a, b] of COLLIDING) assert.equal(hashOf(a), hashOf(b), `${a} ${b}`);
});

type Op = { kind: 'set'; key: string | number; value: number } | { kind: 'delete'; key: string | number };

const keyArb = fc.oneof(
  fc.integer({ min: 0, max: 200 }),
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.constantFrom(-1, 1.5, 2 ** 40),
  fc.constantFrom(...COLLIDING.flat(), 'a', 'b', 'topic.x', 'topic_x'),
  fc.string({ maxLength: 6 }),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key: keyArb, value: fc.integer() }),
  fc.record({ kind: fc.constant('delete' as const), key: keyArb }),
);

function sameContents(got: ReadonlyMap<string | number, number>, model: Map<string | number, number>): void {
  assert.equal(got.size, model.size);
  const entries = [...got.entries()];
  assert.equal(entries.length, model.size, 'iteration yields every entry once');
  for (const [k, v] of entries) assert.equal(model.get(k), v, `value of ${String(k)}`);
  for (const [k, v] of model) {
    assert.equal(got.get(k), v);
    assert.equal(got.has(k), true);
  }
  assert.deepEqual(
    [...got.keys()],
    entries.map(([k]) => k),
  );
  assert.deepEqual(
    [...got.values()],
    entries.map(([, v]) => v),
  );
}

test('a persistent map edited in runs matches a Map, and every published version keeps its contents', () => {
  fc.assert(
    fc.property(fc.array(fc.array(opArb, { maxLength: 40 }), { maxLength: 12 }), (runs) => {
      const model = new Map<string | number, number>();
      let map = PersistentMap.empty<string | number, number>();
      const published: Array<{ map: PersistentMap<string | number, number>; model: Map<string | number, number> }> = [];
      const editor = map.edit();
      for (const run of runs) {
        for (const op of run) {
          if (op.kind === 'set') {
            editor.set(op.key, op.value);
            model.set(op.key, op.value);
          } else {
            editor.delete(op.key);
            model.delete(op.key);
          }
          assert.equal(editor.size, model.size);
        }
        map = editor.finish();
        published.push({ map, model: new Map(model) });
        sameContents(map, model);
        assert.equal(map.has('absent-key'), model.has('absent-key'));
      }
      for (const p of published) sameContents(p.map, p.model);
    }),
    { numRuns: 300 },
  );
});

test('set and delete on a published map return new maps and leave it unchanged', () => {
  const a = PersistentMap.from(new Map<string, number>([['x', 1]]));
  const b = a.set('y', 2);
  const c = b.delete('x');
  assert.deepEqual([...a], [['x', 1]]);
  assert.equal(b.size, 2);
  assert.deepEqual([...c], [['y', 2]]);
  assert.equal(a.set('x', 1).get('x'), 1);
  assert.equal(PersistentMap.from(a), a, 'a persistent map is taken as it is');
});

test('integer keys iterate in ascending order', () => {
  const keys = [5, 0, 40_000, 31, 32, 1023, 1024, 7, 2 ** 31, 2 ** 32 - 1, 100_000];
  const m = PersistentMap.from(keys.map((k) => [k, String(k)] as const));
  assert.deepEqual(
    [...m.keys()],
    [...keys].sort((x, y) => x - y),
  );
});

test('a change to a large map copies one path, not the map', () => {
  const e = PersistentMap.empty<string, number>().edit();
  for (let i = 0; i < 50_000; i++) e.set(`topic-${i}`, i);
  const big = e.finish();
  const edit = big.edit();
  edit.set('one-more', 1);
  // At most 7 levels of at most 32 slots each.
  assert.ok(edit.copied <= 7 * 32, `copied ${edit.copied} slots`);
  assert.ok(edit.copied > 0);
  const next = edit.finish();
  assert.equal(next.size, 50_001);
  assert.equal(big.size, 50_000);
  assert.equal(big.has('one-more'), false);
});

test('n changes in one editor copy each shared node at most once', () => {
  const e = PersistentMap.empty<number, number>().edit();
  for (let i = 0; i < 20_000; i++) e.set(i, i);
  const base = e.finish();
  const edit = base.edit();
  for (let i = 0; i < 20_000; i++) edit.set(i, -i);
  // Every node of the trie is copied once: about n/32 × 32 slots, not n × depth × 32.
  assert.ok(edit.copied < 2 * 20_000, `copied ${edit.copied} slots`);
  const changed = edit.finish();
  assert.equal(changed.get(19_999), -19_999);
  assert.equal(base.get(19_999), 19_999, 'the published map is unchanged');
});

test('a map has one shape for its contents, however it was reached (images compare equal by value)', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
      const model = new Map<string | number, number>();
      const e = PersistentMap.empty<string | number, number>().edit();
      for (const op of ops) {
        if (op.kind === 'set') {
          e.set(op.key, op.value);
          model.set(op.key, op.value);
        } else {
          e.delete(op.key);
          model.delete(op.key);
        }
      }
      const reached = e.finish();
      // Colliding keys keep the order they came in; build the fresh map in the order the trie holds them.
      const fresh = PersistentMap.from([...reached.entries()]);
      sameContents(reached, model);
      assert.deepStrictEqual(stripOwners(reached), stripOwners(fresh));
    }),
    { numRuns: 300 },
  );
});

/** The trie without its editor tokens (which differ between editors by design). */
function stripOwners(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripOwners);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (k !== 'owner') out[k] = stripOwners(v);
  return out;
}
