#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner, one run per
// test kind (the directory under test/: unit, protocol, fuzz, integration, fault, sim, cluster,
// ...), and prints how long each kind took.
// Usage: node scripts/run-tests.mjs [substring filter ...]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** The order kinds run in: quick ones first. Kinds not listed run after these, by name. */
const ORDER = ['unit', 'protocol', 'fuzz', 'helpers', 'integration', 'fault', 'sim', 'cluster'];

function walk(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
let files = walk('dist/test', []);
if (filters.length > 0) files = files.filter((f) => filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('run-tests: no test files found under dist/test (did the build run?)');
  process.exit(1);
}
const byKind = new Map();
for (const f of files) {
  const kind = relative('dist/test', f).split(sep)[0];
  if (!byKind.has(kind)) byKind.set(kind, []);
  byKind.get(kind).push(f);
}
const rank = (k) => (ORDER.includes(k) ? ORDER.indexOf(k) : ORDER.length);
const kinds = [...byKind.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
const times = [];
let failed = false;
for (const kind of kinds) {
  const start = Date.now();
  const res = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...byKind.get(kind)], {
    stdio: 'inherit',
  });
  const seconds = (Date.now() - start) / 1000;
  const ok = res.status === 0;
  if (!ok) failed = true;
  times.push({ kind, files: byKind.get(kind).length, seconds, ok });
  console.log(`\n== ${kind}: ${byKind.get(kind).length} files, ${seconds.toFixed(1)} s${ok ? '' : ' (FAILED)'}\n`);
}
console.log('test time by kind:');
for (const t of times)
  console.log(
    `  ${t.kind.padEnd(12)} ${String(t.files).padStart(3)} files ${t.seconds.toFixed(1).padStart(7)} s${t.ok ? '' : '  FAILED'}`,
  );
console.log(
  `  ${'total'.padEnd(12)} ${String(files.length).padStart(3)} files ${times
    .reduce((s, t) => s + t.seconds, 0)
    .toFixed(1)
    .padStart(7)} s`,
);
process.exit(failed ? 1 : 0);
