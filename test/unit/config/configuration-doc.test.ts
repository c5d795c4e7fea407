import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BROKER_CONFIGS } from '../../../src/config/broker-configs.js';
import { renderConfigReference } from '../../../src/config/docs.js';
import { repoRoot } from '../../helpers/paths.js';

test('docs/configuration.md is the catalogue as rendered now (regenerate with npm run docs)', () => {
  const committed = readFileSync(join(repoRoot, 'docs', 'configuration.md'), 'utf8');
  assert.equal(committed, renderConfigReference(), 'docs/configuration.md is stale: run npm run docs');
  for (const def of BROKER_CONFIGS) assert.ok(committed.includes(`\`${def.name}\``), `${def.name} is documented`);
});
