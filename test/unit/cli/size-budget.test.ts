import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes } from '../../../src/cli/size-budget.js';

test('size limits print in binary units with at most one decimal', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1000), '1000 B');
  assert.equal(formatBytes(25 * 1024 * 1024), '25 MiB');
  assert.equal(formatBytes(13107200), '12.5 MiB');
  assert.equal(formatBytes(34952533), '33.3 MiB');
  assert.equal(formatBytes(3 * 1024 ** 4), '3 TiB');
});
