import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

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
 */
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
  close(): Promise<void>;
}

/** mulberry32: a small seeded generator, floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Open connections at once; a client opening more is refused (put a limit on everything). */
const MAX_CONNECTIONS = 256;
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
  const open = new Set<Socket>();

  const server: Server = createServer((client) => {
    connections++;
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
    const pass = (from: Socket, to: Socket) => {
      from.on('data', (chunk: Buffer) => {
        if (done || cut) return;
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
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
      from.on('end', () => to.end());
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
    close() {
      for (const s of open) s.destroy();
      open.clear();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
