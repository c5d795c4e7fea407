#!/usr/bin/env node
// Captures the first request frames of every real client the tests drive (kcat, kafkajs,
// @platformatic/kafka, kafka-python, confluent-kafka) against a server that records and answers
// nothing, and writes them to test/fixtures/client-requests/ as <client>-<n>.bin (the frame
// without its 4-byte size prefix) plus index.json, for codec tests to decode real client bytes.
// Usage: npm run build && node scripts/capture-client-requests.mjs [--per-client N]
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAPTURE_CLIENTS, captureClientRequests } from '../dist/test/helpers/client-capture.js';
import { fixturesDir } from '../dist/test/helpers/paths.js';
import { implausibleRequestHeader, parseRequestHeaderPrefix } from '../dist/test/helpers/recording-server.js';

const argIndex = process.argv.indexOf('--per-client');
const perClient = argIndex > 0 ? Number(process.argv[argIndex + 1]) : 4;
if (!Number.isInteger(perClient) || perClient < 1) {
  console.error('--per-client expects a positive integer');
  process.exit(2);
}

const dir = join(fixturesDir, 'client-requests');
mkdirSync(dir, { recursive: true });
const index = [];
const files = new Map();
for (const client of CAPTURE_CLIENTS) {
  const capture = await captureClientRequests(client);
  // Keep the first frame of each distinct (api key, version): the same request resent on every
  // reconnect adds nothing.
  const seen = new Set();
  let n = 0;
  for (const frame of capture.frames) {
    const why = implausibleRequestHeader(frame.bytes);
    if (why !== undefined) throw new Error(`${client} sent an implausible frame (${why}); not saving it`);
    const h = parseRequestHeaderPrefix(frame.bytes);
    const kind = `${h.apiKey}/${h.apiVersion}`;
    if (seen.has(kind)) continue;
    seen.add(kind);
    n += 1;
    const file = `${client}-${n}.bin`;
    files.set(file, frame.bytes);
    index.push({
      file,
      client,
      apiKey: h.apiKey,
      apiVersion: h.apiVersion,
      correlationId: h.correlationId,
      clientId: h.clientId,
      size: frame.bytes.length,
    });
    if (n >= perClient) break;
  }
  if (n === 0) throw new Error(`${client} sent no frame:\n${capture.outcome}`);
  console.log(
    `${client}: ${capture.frames.length} frame(s) over ${capture.connections} connection(s), kept ${n}: ${[...seen].join(', ')}`,
  );
}

for (const f of readdirSync(dir)) if (f.endsWith('.bin')) rmSync(join(dir, f));
for (const [file, bytes] of files) writeFileSync(join(dir, file), bytes);
writeFileSync(join(dir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
console.log(`wrote ${files.size} fixture(s) and index.json to ${dir}`);
