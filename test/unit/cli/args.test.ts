import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closest, flag, flagAll, parseArgs, parseIntArg, UsageError } from '../../../src/cli/args.js';
import { formatter, parseStartOffset } from '../../../src/cli/consume-command.js';

const SPECS = {
  partition: { type: 'string', short: 'p' },
  offset: { type: 'string' },
  header: { type: 'string' },
  'from-beginning': { type: 'boolean' },
} as const;

test('options: last value wins, repeats are kept, short names map to long ones, values may start with one dash', () => {
  const a = parseArgs(['t', '-p', '1', '--partition=2', '--offset', '-5', '--header', 'a=1', '--header', 'b=2'], SPECS);
  assert.deepEqual(a.positionals, ['t']);
  assert.equal(flag(a, 'partition'), '2');
  assert.equal(flag(a, 'offset'), '-5');
  assert.deepEqual(flagAll(a, 'header'), ['a=1', 'b=2']);
  assert.deepEqual(parseArgs(['--', '--not-an-option'], SPECS).positionals, ['--not-an-option']);
});

test('unknown options, missing values and values given to switches are usage errors', () => {
  assert.throws(
    () => parseArgs(['--partiton', '1'], SPECS),
    /unknown option --partiton \(did you mean --partition\?\)/,
  );
  assert.throws(
    () => parseArgs(['--zzz'], SPECS),
    (e: Error) => e instanceof UsageError && !/did you mean/.test(e.message),
  );
  assert.throws(() => parseArgs(['-x'], SPECS), /unknown option -x/);
  assert.throws(() => parseArgs(['--partition'], SPECS), /--partition needs a value/);
  // A forgotten value does not swallow the next option.
  assert.throws(() => parseArgs(['--partition', '--from-beginning'], SPECS), /--partition needs a value/);
  assert.throws(() => parseArgs(['--from-beginning=yes'], SPECS), /takes no value/);
});

test('integers are whole, in range, and nothing else', () => {
  assert.equal(parseIntArg('--n', '42'), 42);
  assert.equal(parseIntArg('--n', '-3'), -3);
  for (const bad of ['abc', '1.5', '', '1e3', '0x10', '99999999999999999999']) {
    assert.throws(() => parseIntArg('--n', bad), UsageError, bad);
  }
  assert.throws(() => parseIntArg('--n', '0', { min: 1 }), /at least 1/);
  assert.throws(() => parseIntArg('--n', '9', { min: 0, max: 5 }), /from 0 to 5/);
});

test('suggestions come only for near misses', () => {
  assert.equal(closest('partitons', ['partitions', 'replication-factor']), 'partitions');
  assert.equal(closest('form-beginning', ['from-beginning', 'offset']), 'from-beginning');
  assert.equal(closest('banana', ['partitions', 'offset']), undefined);
});

test('--offset forms and --format templates', () => {
  assert.deepEqual(parseStartOffset('earliest'), { kind: 'earliest' });
  assert.deepEqual(parseStartOffset('latest'), { kind: 'latest' });
  assert.deepEqual(parseStartOffset('17'), { kind: 'offset', offset: 17 });
  assert.deepEqual(parseStartOffset('-3'), { kind: 'fromEnd', count: 3 });
  assert.deepEqual(parseStartOffset('@1700000000000'), { kind: 'timestamp', timestamp: 1700000000000 });
  assert.throws(() => parseStartOffset('soon'), UsageError);
  const r = {
    topic: 't',
    partition: 2,
    offset: 5,
    timestamp: 1000,
    key: Buffer.from('k'),
    value: Buffer.from('vv'),
    headers: [{ key: 'h', value: Buffer.from('x') }],
  };
  assert.equal(formatter('%t %p %o %k %v %h %T')(r), 't 2 5 k vv h=x 1000\n');
  assert.equal(formatter('%K/%S 100%%\\t%v\\n')(r), '1/2 100%\tvv\n');
  assert.equal(
    formatter('json')(r),
    '{"topic":"t","partition":2,"offset":5,"timestamp":1000,"key":"k","value":"vv","headers":{"h":"x"}}\n',
  );
  assert.throws(() => formatter('%q'), /unknown field %q/);
  assert.throws(() => formatter('xml'), UsageError);
});
