#!/usr/bin/env node
// Runs every compiled benchmark (dist/bench/**/*.bench.js) in turn; each prints its figures,
// its baseline and the ratio, and writes JSON under bench/results/.
// Usage: node scripts/run-bench.mjs [substring filter ...]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.bench.js')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
let files = walk('dist/bench', []);
if (filters.length > 0) files = files.filter((f) => filters.some((s) => f.includes(s)));
let failed = 0;
for (const f of files) {
  console.log(`\n### ${f}`);
  const res = spawnSync(process.execPath, ['--expose-gc', f], { stdio: 'inherit' });
  if (res.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
