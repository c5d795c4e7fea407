import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { generate } from '../../../codegen/generate.js';
import { buildModel, kebab, parseVersions } from '../../../codegen/model.js';
import { stripComments } from '../../../codegen/read-spec.js';

const SPEC = resolve('../shared/kafka-protocol');
const OUT = resolve('src/protocol/generated');

function listFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) listFiles(p, out);
    else out.push(p);
  }
  return out;
}

test('the committed generated code is exactly what the generator writes from ../shared/kafka-protocol', (t) => {
  if (!existsSync(join(SPEC, 'messages'))) {
    // Said plainly: without the definitions this check cannot run.
    t.diagnostic(`NOT CHECKED: ${SPEC}/messages is missing, so the generated code cannot be compared`);
    t.skip(`../shared/kafka-protocol not found at ${SPEC}`);
    return;
  }
  const { files } = generate(SPEC);
  const expected = new Map(files.map((f) => [f.path, f.content]));
  const committed = listFiles(OUT).map((p) => relative(OUT, p));
  assert.deepEqual(
    committed.sort(),
    [...expected.keys()].sort(),
    'generated file list differs: run `npm run generate`',
  );
  for (const [path, content] of expected) {
    const actual = readFileSync(join(OUT, path), 'utf8');
    assert.ok(actual === content, `${path} is stale or edited by hand: run \`npm run generate\``);
  }
});

test('generation is deterministic: two runs give byte-identical files', (t) => {
  if (!existsSync(join(SPEC, 'messages'))) {
    t.skip(`../shared/kafka-protocol not found at ${SPEC}`);
    return;
  }
  const a = generate(SPEC).files;
  const b = generate(SPEC).files;
  assert.deepEqual(a, b);
});

test('generated code carries no prose from the definitions', () => {
  for (const p of listFiles(OUT)) {
    const text = readFileSync(p, 'utf8');
    assert.ok(!/"about"|\babout:/.test(text), `${p} mentions an about text`);
  }
});

test('comments are stripped outside strings only', () => {
  const json = stripComments('{ // c1\n "a": "http://x//y", // c2\n "b": 1 }');
  assert.deepEqual(JSON.parse(json), { a: 'http://x//y', b: 1 });
});

test('version ranges parse as Kafka writes them', () => {
  assert.deepEqual(parseVersions('0+'), { lo: 0, hi: Number.POSITIVE_INFINITY });
  assert.deepEqual(parseVersions('3-5'), { lo: 3, hi: 5 });
  assert.deepEqual(parseVersions('7'), { lo: 7, hi: 7 });
  const none = parseVersions('none');
  assert.ok(none.lo > none.hi);
});

test('file names are kebab-case of the message names', () => {
  assert.equal(kebab('OffsetForLeaderEpoch'), 'offset-for-leader-epoch');
  assert.equal(kebab('ApiVersions'), 'api-versions');
});

test('a field with only taggedVersions exists in those versions (as Kafka reads the definitions)', () => {
  const m = buildModel({
    type: 'data',
    name: 'TaggedOnly',
    validVersions: '0-1',
    flexibleVersions: '1+',
    fields: [
      { name: 'A', type: 'int64', versions: '0+' },
      { name: 'B', type: 'int64', taggedVersions: '1+', tag: 0, default: -1 },
    ],
  } as Parameters<typeof buildModel>[0]);
  const b = m.root.fields.find((f) => f.prop === 'b');
  assert.ok(b !== undefined);
  assert.deepEqual([b.versions.lo, b.versions.hi], [1, 1]);
});
