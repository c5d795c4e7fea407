#!/usr/bin/env node
// A stand-in for `jocko broker` that keeps only its process contract (flags, the
// "listening on HOST:PORT" line, SIGTERM), used to test the broker-process helper itself.
// STUB_MODE: ok (default) | crash (exits 3 during startup) | silent (never says it listens)
//            | ignore-term (does not exit on SIGTERM)
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const mode = process.env.STUB_MODE ?? 'ok';
const dataDir = flag('data-dir');
const [host, port] = (flag('listen') ?? '127.0.0.1:0').split(':');

if (mode === 'crash') {
  process.stderr.write('stub broker: cannot open data dir (on purpose)\n');
  process.exit(3);
}
if (dataDir) {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, `started-${process.pid}`), args.join(' '));
}
const server = createServer((socket) => socket.end());
server.listen(Number(port), host, () => {
  if (mode === 'silent') return;
  const address = server.address();
  process.stdout.write(`jocko broker 1 listening on ${address.address}:${address.port}\n`);
});
process.on('SIGTERM', () => {
  if (mode === 'ignore-term') return;
  server.close(() => process.exit(0));
});
