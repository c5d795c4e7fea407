#!/usr/bin/env node
// Prints the functions with the most self time in V8 .cpuprofile files (from `node --cpu-prof`).
// Usage: node scripts/cpu-profile-top.mjs FILE.cpuprofile [more files] [--top N]
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const topIdx = args.indexOf('--top');
const top = topIdx >= 0 ? Number(args[topIdx + 1]) : 30;
const valueAt = new Set([topIdx + 1, args.indexOf('--callers') + 1].filter((i) => i > 0));
const files = args.filter((a, i) => !a.startsWith('--') && !valueAt.has(i));
const self = new Map();
let total = 0;
for (const f of files) {
  const prof = JSON.parse(readFileSync(f, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const dt = prof.timeDeltas;
  for (let i = 0; i < prof.samples.length; i++) {
    const n = byId.get(prof.samples[i]);
    const us = dt[i] ?? 0;
    total += us;
    const cf = n.callFrame;
    const url = cf.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/');
    const key = `${cf.functionName || '(anonymous)'}  ${url}:${cf.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + us);
  }
}
const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
console.log(`total ${(total / 1e6).toFixed(2)} s sampled`);
for (const [k, us] of rows)
  console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);

// --callers NAME: the stacks (innermost first, 6 frames) under which NAME had its self time.
const callersIdx = args.indexOf('--callers');
if (callersIdx >= 0) {
  const name = args[callersIdx + 1];
  const stacks = new Map();
  for (const f of files) {
    const prof = JSON.parse(readFileSync(f, 'utf8'));
    const parent = new Map();
    for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n);
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    for (let i = 0; i < prof.samples.length; i++) {
      let n = byId.get(prof.samples[i]);
      if (n.callFrame.functionName !== name) continue;
      const frames = [];
      for (let d = 0; d < 7 && n !== undefined; d++, n = parent.get(n.id)) {
        frames.push(`${n.callFrame.functionName || '(anon)'}:${n.callFrame.lineNumber + 1}`);
      }
      const key = frames.join(' < ');
      stacks.set(key, (stacks.get(key) ?? 0) + (prof.timeDeltas[i] ?? 0));
    }
  }
  for (const [k, us] of [...stacks.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12))
    console.log(`${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
}
