#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner, one run per
// test kind (the directory under test/: unit, protocol, fuzz, integration, fault, sim, cluster,
// ...), and prints how long each kind took.
// A kind's failing tests are printed again at the very end, so that a log cut to its tail still
// names them.
// Usage: node scripts/run-tests.mjs [substring filter ...]
import { spawn } from 'node:child_process';
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
const failures = [];
let failed = false;

/** Runs one kind's files, passing its output through, and resolves to its exit status and the
 * spec reporter's closing "failing tests" section (empty when none failed). */
function runKind(kindFiles) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', ...kindFiles], {
      stdio: ['inherit', 'pipe', 'inherit'],
    });
    // Keep only a bounded tail: the failing-tests section comes last.
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-200_000);
    });
    child.on('close', (code, signal) => {
      const at = tail.lastIndexOf('failing tests:');
      resolve({ status: code ?? (signal ? 1 : 0), failing: at >= 0 ? tail.slice(at) : '' });
    });
  });
}

for (const kind of kinds) {
  const start = Date.now();
  const res = await runKind(byKind.get(kind));
  const seconds = (Date.now() - start) / 1000;
  const ok = res.status === 0;
  if (!ok) {
    failed = true;
    failures.push({ kind, text: res.failing || `(exit ${res.status}; no failing-tests section printed)` });
  }
  times.push({ kind, files: byKind.get(kind).length, seconds, ok });
  console.log(`\n== ${kind}: ${byKind.get(kind).length} files, ${seconds.toFixed(1)} s${ok ? '' : ' (FAILED)'}\n`);
}
for (const f of failures) {
  const text = f.text.length > 20_000 ? `${f.text.slice(0, 20_000)}\n... (cut)` : f.text;
  console.log(`\n== ${f.kind} FAILED; its ${text.trimEnd()}\n`);
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
// Last, one line per failing test with the first line of its error.
for (const f of failures) {
  const lines = f.text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith('\u2716 ')) continue;
    const why = (lines[i + 1] ?? '').trim().slice(0, 300);
    console.log(
      `FAILED ${f.kind}: ${lines[i - 1]?.startsWith('test at ') ? `${lines[i - 1].slice(8)} ` : ''}${lines[i].slice(2)} -- ${why}`,
    );
  }
}
process.exit(failed ? 1 : 0);
