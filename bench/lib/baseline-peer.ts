/**
 * The far end of the physical-limit baselines, a separate Node process like the broker:
 * - `sink FILE`: accepts one connection at a time and appends everything it receives to FILE
 *   with fs.writeSync, then closes its side once the sender has finished and all is written;
 * - `source FILE BYTES`: on each connection reads FILE from the start in 1 MiB reads (a new
 *   buffer per read, as a server that hands the bytes to the socket must) and sends BYTES of it.
 * - `relay FILE`: the latency baseline: a connection whose first byte is 'C' is the consumer; the
 *   bytes of every other connection are appended to FILE and passed on to the consumer as they come.
 * Prints `port N` once listening on 127.0.0.1.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';

const [mode, file, bytesArg] = process.argv.slice(2);
if (file === undefined || (mode !== 'sink' && mode !== 'source' && mode !== 'relay')) {
  console.error('usage: baseline-peer sink FILE | source FILE BYTES | relay FILE');
  process.exit(2);
}

function sink(s: Socket): void {
  const fd = openSync(file as string, 'a');
  s.on('data', (chunk: Buffer) => {
    let off = 0;
    while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
  });
  s.on('end', () => {
    closeSync(fd);
    s.end();
  });
  s.on('error', () => closeSync(fd));
}

function source(s: Socket): void {
  const total = Number(bytesArg);
  const fd = openSync(file as string, 'r');
  let pos = 0;
  const pump = () => {
    while (pos < total) {
      const b = Buffer.allocUnsafe(Math.min(1024 * 1024, total - pos));
      const n = readSync(fd, b, 0, b.length, pos);
      if (n === 0) break;
      pos += n;
      if (!s.write(n === b.length ? b : b.subarray(0, n))) {
        s.once('drain', pump);
        return;
      }
    }
    closeSync(fd);
    s.end();
  };
  s.on('error', () => {});
  pump();
}

let consumer: Socket | null = null;
function relay(s: Socket): void {
  s.setNoDelay(true);
  let fd = -1;
  let first = true;
  s.on('data', (chunk: Buffer) => {
    if (first) {
      first = false;
      if (chunk[0] === 0x43) {
        consumer = s;
        return;
      }
      fd = openSync(file as string, 'a');
    }
    let off = 0;
    while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
    consumer?.write(chunk);
  });
  s.on('close', () => {
    if (fd >= 0) closeSync(fd);
    if (consumer === s) consumer = null;
  });
  s.on('error', () => {});
}

const server = createServer({ noDelay: true }, mode === 'sink' ? sink : mode === 'source' ? source : relay);
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  if (a !== null && typeof a !== 'string') process.stdout.write(`port ${a.port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
