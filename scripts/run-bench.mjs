#!/usr/bin/env node
// Runs every compiled benchmark (dist/bench/**/*.bench.js) in turn; each prints its figures,
// its baseline and the ratio, and writes JSON under bench/results/.
// Usage: node scripts/run-bench.mjs [--quick] [substring filter ...]
//   --quick   smaller volumes and fewer cases (the whole suite in under 2 minutes); results go
//             to bench/results/<name>.quick.json so they never overwrite a full run.
//   filters   run only the benches whose path contains one of them (produce, consume, latency,
//             resources, storage, codec, records, metadata, raft-sim, recorder, cluster (both
//             cluster benches), cluster-failover, cluster.bench, startup).
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

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const filters = args.filter((a) => !a.startsWith('--'));
const quick = flags.includes('--quick');
let files = walk('dist/bench', []);
if (filters.length > 0) files = files.filter((f) => filters.some((s) => f.includes(s)));
let failed = 0;
const started = Date.now();
for (const f of files) {
  console.log(`\n### ${f}`);
  const t = Date.now();
  const res = spawnSync(process.execPath, ['--expose-gc', f, ...flags], {
    stdio: 'inherit',
    env: { ...process.env, ...(quick ? { JOCKO_BENCH_QUICK: '1' } : {}) },
  });
  if (res.status !== 0) {
    failed++;
    console.log(`### ${f} FAILED (exit ${res.status ?? res.signal})`);
  }
  console.log(`### ${f}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
}
console.log(`\n${files.length} benches, ${failed} failed, ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(failed === 0 ? 0 : 1);
