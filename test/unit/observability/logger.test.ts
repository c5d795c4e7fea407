import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getLogLevel, logger, setLogLevel, setLogNode, setLogSink } from '../../../src/observability/logger.js';

test('once the node id is set, every log line carries it', (t) => {
  const lines: string[] = [];
  const level = getLogLevel();
  setLogSink({ write: (l) => lines.push(l) });
  setLogLevel('info');
  t.after(() => {
    setLogSink(null);
    setLogLevel(level);
    setLogNode(null);
  });
  const log = logger('produce');
  log.info('before');
  setLogNode(3);
  log.info('after', { topic: 't' });
  assert.match(lines[0] ?? '', /^\S+ INFO {2}produce: before\n$/);
  assert.match(lines[1] ?? '', /^\S+ INFO {2}node=3 produce: after topic=t\n$/);
});
