import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { seededRandom } from './prng.js';

export { seededRandom };

/**
 * A TCP proxy between clients and a broker that cuts connections at random points: each
 * connection gets a byte budget drawn from a seeded generator, and when the bytes forwarded
 * (both ways) reach it, the proxy forwards exactly the bytes up to the budget and destroys
 * both sides. A cut therefore lands anywhere: inside a request (the broker sees a torn
 * frame), between a request and its response, or inside a response (the client sees a torn
 * frame) — the last two are what make an idempotent producer retry a batch the broker
 * already wrote.
 *
 * Same seed, same budgets: a failing run is reproduced from the seed it printed (timing
 * still differs from run to run, so the cut points relative to requests may too).
 *
 * The same proxy sits on one directed link of a test cluster and injects link faults there
 * (`linkFault`): `cut` drops every connection and refuses new ones (a partition the peers
 * notice at once), `stall` holds every socket open but forwards nothing (a partition they
 * notice only by timeouts), `delay` forwards each chunk `ms` later, and `heal` ends the fault:
 * stalled bytes go through in order and the link passes everything again.
 */
export type LinkFault = { kind: 'cut' } | { kind: 'stall' } | { kind: 'delay'; ms: number } | { kind: 'heal' };

export interface CuttingProxyOptions {
  /** Where to forward (looked up on every new connection, so the target may restart). */
  readonly target: () => { host: string; port: number };
  readonly seed: number;
  /** Budgets are uniform in [minBytes, maxBytes]. */
  readonly minBytes?: number;
  readonly maxBytes?: number;
  /** No more cuts after this many (so the run ends); later connections pass everything. */
  readonly maxCuts?: number;
}

export interface CuttingProxy {
  readonly host: string;
  readonly port: number;
  readonly bootstrap: string;
  readonly seed: number;
  /** Connections cut so far. */
  readonly cuts: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Turns cutting on or off (off: connections opened afterwards pass everything). */
  setCutting(on: boolean): void;
  /** Destroys every open connection now (without counting it as a cut). */
  dropAll(): void;
  /** Injects (or, with `heal`, ends) a fault on this link. */
  linkFault(fault: LinkFault): void;
  /** The link fault in force ('heal' when none). */
  readonly fault: LinkFault['kind'];
  close(): Promise<void>;
}

/** Open connections at once; a client opening more is refused (put a limit on everything). */
const MAX_CONNECTIONS = 256;
/** Bytes a stalled link holds per direction of a connection before it stops reading (back-pressure). */
const MAX_STALLED_BYTES = 8 * 1024 * 1024;
/** JOCKO_TEST_PROXY_LOGS=1 prints each connection's budget and bytes when it ends. */
const debug = process.env['JOCKO_TEST_PROXY_LOGS'] === '1';

export async function startCuttingProxy(options: CuttingProxyOptions): Promise<CuttingProxy> {
  const random = seededRandom(options.seed);
  const minBytes = options.minBytes ?? 1;
  const maxBytes = options.maxBytes ?? 64 * 1024;
  const maxCuts = options.maxCuts ?? 50;
  if (minBytes < 1 || maxBytes < minBytes) throw new RangeError(`bad budget range ${minBytes}..${maxBytes}`);
  let cuts = 0;
  let connections = 0;
  let cutting = true;
  let fault: LinkFault = { kind: 'heal' };
  const open = new Set<Socket>();
  /** Called on heal: each releases what a connection held while stalled. */
  const onHeal = new Set<() => void>();

  const server: Server = createServer((client) => {
    connections++;
    if (fault.kind === 'cut') {
      client.destroy();
      return;
    }
    const { host, port } = options.target();
    const upstream = tcpConnect({ host, port });
    open.add(client);
    open.add(upstream);
    const budget = cutting && cuts < maxCuts ? minBytes + Math.floor(random() * (maxBytes - minBytes + 1)) : -1;
    let forwarded = 0;
    let done = false;
    let cut = false;
    const id = connections;
    const bytes = { up: 0, down: 0 };
    const finish = () => {
      if (done) return;
      done = true;
      if (debug)
        process.stderr.write(`proxy conn ${id}: budget ${budget} up ${bytes.up} down ${bytes.down} cut ${cut}\n`);
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    const forward = (from: Socket, to: Socket, chunk: Buffer) => {
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    };
    const pass = (from: Socket, to: Socket) => {
      const held: Buffer[] = [];
      let heldBytes = 0;
      const release = () => {
        onHeal.delete(release);
        if (done) return;
        for (const c of held.splice(0)) to.write(c);
        heldBytes = 0;
        from.resume();
      };
      from.on('data', (chunk: Buffer) => {
        if (done || cut) return;
        if (fault.kind === 'stall' || held.length > 0) {
          // Held until the heal, in order; past the bound the sender feels back-pressure.
          held.push(chunk);
          heldBytes += chunk.length;
          onHeal.add(release);
          if (heldBytes >= MAX_STALLED_BYTES) from.pause();
          return;
        }
        if (budget >= 0 && forwarded + chunk.length >= budget && cuts < maxCuts) {
          // Nothing more goes through this connection: the bytes up to the budget, then the cut.
          cut = true;
          cuts++;
          const keep = budget - forwarded;
          if (keep > 0) to.write(chunk.subarray(0, keep), finish);
          else finish();
          return;
        }
        forwarded += chunk.length;
        if (from === client) bytes.up += chunk.length;
        else bytes.down += chunk.length;
        // Equal delays fire in the order they were set: the stream stays in order.
        if (fault.kind === 'delay')
          setTimeout(() => {
            if (!done) to.write(chunk);
          }, fault.ms);
        else forward(from, to, chunk);
      });
      from.on('end', () => {
        if (held.length > 0) onHeal.add(() => to.end());
        else if (fault.kind === 'delay') setTimeout(() => to.end(), fault.ms);
        else to.end();
      });
    };
    client.pause();
    upstream.once('connect', () => client.resume());
    pass(client, upstream);
    pass(upstream, client);
    client.on('error', finish);
    upstream.on('error', finish);
    client.on('close', finish);
    upstream.on('close', finish);
  });
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('proxy has no address');
  return {
    host: '127.0.0.1',
    port: addr.port,
    bootstrap: `127.0.0.1:${addr.port}`,
    seed: options.seed,
    get cuts() {
      return cuts;
    },
    get connections() {
      return connections;
    },
    setCutting(on: boolean) {
      cutting = on;
    },
    dropAll() {
      for (const s of open) s.destroy();
      open.clear();
    },
    get fault() {
      return fault.kind;
    },
    linkFault(f: LinkFault) {
      fault = f;
      if (f.kind === 'cut') {
        for (const s of open) s.destroy();
        open.clear();
      }
      if (f.kind === 'heal') {
        const waiting = [...onHeal];
        onHeal.clear();
        for (const release of waiting) release();
      }
    },
    close() {
      for (const s of open) s.destroy();
      open.clear();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
