/**
 * What one abusive client costs everyone else. A bystander produces one small record at a time
 * (acks=all, the next as soon as the previous is answered) and its latency is measured:
 * idle (the baseline, same run), then during (a) a half-frame flood: 30 connections each
 * announcing a request of socket.request.max.bytes (100 MiB) and sending as much of it as the
 * broker reads, never the rest; (b) huge fetches: 4 connections fetching in a loop from offset 0
 * of a large partition with max_bytes 2^31-1. Also printed: the broker's peak RSS during each,
 * next to its idle RSS, and the broker's own event-loop delay (max) in each phase, to tell its
 * stalls from the bench process's (which receives the fetched bytes); (c) a client asking again
 * and again for a topic of 1,000,000 partitions (each refused with POLICY_VIOLATION: one
 * operation writes at most 10,000 metadata records). Then the time a CreateTopics takes for
 * 1,000, 5,000 and 9,999 partitions (ratio against linear growth from 1,000) and for 100,000
 * (refused), each with the broker's longest event-loop stall meanwhile. Defaults:
 * queued.max.request.bytes 200 MiB, fetch.max.bytes 55 MiB.
 * (d) zstd bombs: four clients sending Produce requests of 64 batches that inflate past the
 * 64 MiB bound, each refused with CORRUPT_MESSAGE.
 * (e) large appends: one client, then four, sending 16 MiB Produce requests (16 partitions of
 * one 1 MiB batch each, acks=1) back to back; the appended bytes per second are printed too.
 * JOCKO_ABUSE_PHASES (a comma list of flood, fetch, bombs, appends, create, sizes) runs only
 * those phases.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { ClientConnection } from '../src/client/connection.js';
import { ApiKey, requestHeaderVersion } from '../src/protocol/generated/api-table.js';
import { encodeRequestHeader } from '../src/protocol/generated/headers.js';
import { Writer } from '../src/protocol/primitives/writer.js';
import { buildRecordBatch } from '../src/protocol/records/batch-builder.js';
import { Compression } from '../src/protocol/records/record-batch.js';
import { hugeFetchFrame, startFetchFlood } from '../test/helpers/fetch-flood.js';
import { adminClient, createTopic, startBenchBroker } from './lib/broker.js';
import { MiB, QUICK, Results, rssBytes, sleep } from './lib/harness.js';

const PHASE_MS = QUICK ? 3000 : 10000;
const BIG_TOPIC_BYTES = (QUICK ? 64 : 256) * MiB;
const FLOODERS = 30;
const FRAME_BYTES = 100 * MiB - 4;
const FLOOD_SEND_BYTES = 50 * MiB;
const FETCHERS = 4;
const HUGE_CREATE_PARTITIONS = 1_000_000;
const CREATE_SIZES = QUICK ? [1000, 2000, 5000] : [1000, 5000, 9999];
const REFUSED_CREATE_PARTITIONS = 100_000;
const POLICY_VIOLATION = 44;
const results = new Results('abuse');
const PHASES = new Set((process.env['JOCKO_ABUSE_PHASES'] ?? 'flood,fetch,bombs,appends,create,sizes').split(','));
const APPEND_PARTITIONS = 16;
const CORRUPT_MESSAGE = 2;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

async function connection(host: string, port: number, clientId: string): Promise<ClientConnection> {
  const c = new ClientConnection({ host, port, clientId, requestTimeoutMs: 60_000 });
  await c.connect();
  return c;
}

async function produce(c: ClientConnection, topic: string, records: Buffer): Promise<void> {
  const r = (await c.request(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  })) as { responses: { partitionResponses: { errorCode: number }[] }[] };
  const code = r.responses[0]?.partitionResponses[0]?.errorCode;
  if (code !== 0) throw new Error(`produce to ${topic}: error ${code}`);
}

interface Phase {
  p50: number;
  p99: number;
  max: number;
  count: number;
  peakRss: number;
}

/** The bystander's produce latencies (ms) and the broker's peak RSS over one phase. */
async function bystanderPhase(c: ClientConnection, topic: string, pid: number): Promise<Phase> {
  const latencies: number[] = [];
  let peakRss = rssBytes(pid);
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssBytes(pid));
  }, 50);
  const end = performance.now() + PHASE_MS;
  try {
    while (performance.now() < end) {
      const batch = buildRecordBatch({ records: [{ value: Buffer.from(`bystander ${latencies.length}`) }] });
      const t0 = performance.now();
      await produce(c, topic, batch);
      latencies.push(performance.now() - t0);
    }
  } finally {
    clearInterval(sampler);
  }
  latencies.sort((a, b) => a - b);
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? Number.NaN,
    count: latencies.length,
    peakRss,
  };
}

/** A connection sending the start of a request it never finishes, as fast as the broker reads it. */
function halfFrame(host: string, port: number): { socket: Socket; stop: () => void } {
  const socket = connect({ host, port });
  socket.on('error', () => undefined);
  let stopped = false;
  const w = new Writer(64);
  encodeRequestHeader(
    w,
    { requestApiKey: ApiKey.Produce, requestApiVersion: 9, correlationId: 1, clientId: 'flood' },
    requestHeaderVersion(ApiKey.Produce, 9),
  );
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(FRAME_BYTES);
  const piece = Buffer.alloc(MiB, 0x5a);
  let sent = 0;
  const pump = () => {
    while (!stopped && sent < FLOOD_SEND_BYTES) {
      sent += piece.length;
      if (!socket.write(piece)) {
        socket.once('drain', pump);
        return;
      }
    }
  };
  socket.once('connect', () => {
    socket.write(Buffer.concat([prefix, w.toBuffer()]));
    pump();
  });
  return {
    socket,
    stop: () => {
      stopped = true;
      socket.destroy();
    },
  };
}

/** CreateTopics of one topic of `partitions`; resolves with its error code and the time it took (ms). */
async function createTimed(
  c: ClientConnection,
  name: string,
  partitions: number,
): Promise<{ errorCode: number; ms: number }> {
  const t0 = performance.now();
  const r = (await c.request(ApiKey.CreateTopics, 5, {
    topics: [{ name, numPartitions: partitions, replicationFactor: -1, assignments: [], configs: [] }],
    timeoutMs: 600_000,
    validateOnly: false,
  })) as { topics: { errorCode: number }[] };
  return { errorCode: r.topics[0]?.errorCode ?? -1, ms: performance.now() - t0 };
}

async function main(): Promise<void> {
  // The broker's own event-loop delay per phase (JOCKO_EVENT_LOOP_STATS, reported on SIGUSR2),
  // to tell its stalls from the bench process's.
  const broker = await startBenchBroker({ env: { JOCKO_EVENT_LOOP_STATS: '1', JOCKO_LOG_LEVEL: 'info' } });
  const loopDelay = async (): Promise<{ p99Ms: number; maxMs: number }> => {
    const before = broker.output().stderr.split('event-loop delay').length;
    process.kill(broker.pid, 'SIGUSR2');
    for (let i = 0; i < 50 && broker.output().stderr.split('event-loop delay').length === before; i++) await sleep(20);
    const lines = broker
      .output()
      .stderr.split('\n')
      .filter((l) => l.includes('event-loop delay'));
    const last = lines[lines.length - 1] ?? '';
    return {
      p99Ms: Number(/p99Ms=([\d.]+)/.exec(last)?.[1] ?? Number.NaN),
      maxMs: Number(/maxMs=([\d.]+)/.exec(last)?.[1] ?? Number.NaN),
    };
  };
  const admin = await adminClient(broker);
  try {
    await createTopic(admin, 'bystander', 1);
    await createTopic(admin, 'big', 1);
    await createTopic(admin, 'bombs', 64);
    if (PHASES.has('appends')) await createTopic(admin, 'appends', APPEND_PARTITIONS);
    const creator = new ClientConnection({
      host: broker.host,
      port: broker.port,
      clientId: 'huge-create',
      requestTimeoutMs: 600_000,
    });
    await creator.connect();
    // CreateTopics time against the partition count (each a new topic, on a fresh broker), and
    // the refusal above the cap.
    if (PHASES.has('sizes')) {
      const createTimes: Array<{ partitions: number; ms: number; loopMaxMs: number }> = [];
      for (const partitions of CREATE_SIZES) {
        await loopDelay();
        const r = await createTimed(creator, `sized-${partitions}`, partitions);
        if (r.errorCode !== 0) throw new Error(`CreateTopics of ${partitions} partitions: error ${r.errorCode}`);
        // The broker's longest stall while it created them: every other client waited that long.
        createTimes.push({ partitions, ms: r.ms, loopMaxMs: (await loopDelay()).maxMs });
      }
      const refusedCreate = await createTimed(creator, 'sized-refused', REFUSED_CREATE_PARTITIONS);
      if (refusedCreate.errorCode !== POLICY_VIOLATION) {
        throw new Error(`CreateTopics of ${REFUSED_CREATE_PARTITIONS} partitions: error ${refusedCreate.errorCode}`);
      }
      const first = createTimes[0] as { partitions: number; ms: number };
      for (const c of createTimes) {
        results.add(
          `CreateTopics time, ${c.partitions} partitions`,
          'ms',
          c.ms,
          (first.ms * c.partitions) / first.partitions,
          `linear from ${first.partitions}`,
          { msPerPartition: c.ms / c.partitions, brokerLoopMaxMs: c.loopMaxMs },
        );
      }
      results.add(
        `CreateTopics time, ${REFUSED_CREATE_PARTITIONS} partitions (refused, POLICY_VIOLATION)`,
        'ms',
        refusedCreate.ms,
        first.ms,
        `${first.partitions} partitions created`,
      );
    }
    const bystander = await connection(broker.host, broker.port, 'bystander');
    await bystanderPhase(bystander, 'bystander', broker.pid); // warm-up
    await sleep(500);
    await loopDelay();
    const idle = await bystanderPhase(bystander, 'bystander', broker.pid);
    const idleLoop = await loopDelay();
    const idleRss = rssBytes(broker.pid);
    const idleNote = { idleP50: idle.p50, idleMax: idle.max, samples: idle.count };
    /** The bystander's p99 and the broker's event-loop delay during one kind of abuse, against idle. */
    const report = (abuse: string, phase: Phase, loop: { p99Ms: number; maxMs: number }, extra = {}) => {
      results.add(`bystander produce p99, ${abuse}`, 'ms', phase.p99, idle.p99, 'idle p99', {
        ...idleNote,
        p50: phase.p50,
        max: phase.max,
        samples: phase.count,
        ...extra,
      });
      results.add(`broker event-loop max delay, ${abuse}`, 'ms', loop.maxMs, idleLoop.maxMs, 'idle max', {
        p99Ms: loop.p99Ms,
        idleP99Ms: idleLoop.p99Ms,
      });
    };

    if (PHASES.has('flood')) {
      const flooders = Array.from({ length: FLOODERS }, () => halfFrame(broker.host, broker.port));
      await sleep(500);
      await loopDelay();
      const flood = await bystanderPhase(bystander, 'bystander', broker.pid);
      const floodLoop = await loopDelay();
      for (const f of flooders) f.stop();
      await sleep(2000);
      const afterFloodRss = rssBytes(broker.pid);
      report('half-frame flood', flood, floodLoop);
      results.add('broker peak RSS, half-frame flood', 'MiB', flood.peakRss / MiB, idleRss / MiB, 'idle', {
        afterMiB: afterFloodRss / MiB,
        flooders: FLOODERS,
        announcedMiB: (FLOODERS * FRAME_BYTES) / MiB,
      });
    }

    if (PHASES.has('fetch')) {
      const filler = await connection(broker.host, broker.port, 'filler');
      const value = randomBytes(MiB - 200);
      for (let written = 0; written < BIG_TOPIC_BYTES; written += MiB) {
        await produce(filler, 'big', buildRecordBatch({ records: [{ value }] }));
      }
      filler.close();
      await sleep(500);
      // From raw sockets in a worker thread that skip the responses' bytes (so the bench
      // process's own event loop, which times the bystander, neither decodes nor receives them).
      const fetchFrame = hugeFetchFrame('big');
      const floodStart = performance.now();
      const flood = startFetchFlood({ host: broker.host, port: broker.port, frame: fetchFrame, connections: FETCHERS });
      await sleep(500);
      await loopDelay();
      const fetch = await bystanderPhase(bystander, 'bystander', broker.pid);
      const fetchesLoop = await loopDelay();
      const { fetchedBytes, largestResponse } = await flood.stop();
      const floodSeconds = (performance.now() - floodStart) / 1000;
      report('huge fetches', fetch, fetchesLoop);
      results.add('broker peak RSS, huge fetches', 'MiB', fetch.peakRss / MiB, idleRss / MiB, 'idle', {
        fetchers: FETCHERS,
        partitionMiB: BIG_TOPIC_BYTES / MiB,
        largestResponseMiB: largestResponse / MiB,
        fetchedMiB: fetchedBytes / MiB,
        fetchedMiBPerS: fetchedBytes / MiB / floodSeconds,
      });
    }

    if (PHASES.has('bombs')) {
      // Four clients sending Produce requests of 64 zstd bombs each (a few kilobytes that inflate
      // past the 64 MiB bound), again as soon as refused.
      const bomb = buildRecordBatch({ records: [{ value: Buffer.alloc(65 * MiB) }], compression: Compression.ZSTD });
      const request = {
        transactionalId: null,
        acks: -1,
        timeoutMs: 30_000,
        topicData: [
          { name: 'bombs', partitionData: Array.from({ length: 64 }, (_, index) => ({ index, records: bomb })) },
        ],
      };
      const bombers = await Promise.all([0, 1, 2, 3].map((i) => connection(broker.host, broker.port, `bomber-${i}`)));
      let bombing = true;
      let refused = 0;
      let accepted = 0;
      const loops = bombers.map(async (c) => {
        while (bombing) {
          const r = (await c.request(ApiKey.Produce, 9, request)) as {
            responses: { partitionResponses: { errorCode: number }[] }[];
          };
          for (const p of r.responses[0]?.partitionResponses ?? []) {
            if (p.errorCode === CORRUPT_MESSAGE) refused++;
            else accepted++;
          }
        }
      });
      await sleep(500);
      await loopDelay();
      const bombs = await bystanderPhase(bystander, 'bystander', broker.pid);
      const bombsLoop = await loopDelay();
      bombing = false;
      await Promise.all(loops);
      for (const c of bombers) c.close();
      if (refused === 0 || accepted > 0)
        throw new Error(`zstd bombs: ${refused} refused, ${accepted} otherwise answered`);
      report('zstd bombs', bombs, bombsLoop, { bombsRefused: refused });
    }

    if (PHASES.has('appends')) {
      // 16 MiB requests: a 1 MiB batch (under message.max.bytes) for each of 16 partitions.
      const oneMiB = buildRecordBatch({
        records: Array.from({ length: 1000 }, (_, i) => ({ value: Buffer.alloc(1000, i) })),
      });
      const request = {
        transactionalId: null,
        acks: 1,
        timeoutMs: 30_000,
        topicData: [
          {
            name: 'appends',
            partitionData: Array.from({ length: APPEND_PARTITIONS }, (_, index) => ({ index, records: oneMiB })),
          },
        ],
      };
      for (const writers of [1, 4]) {
        const clients = await Promise.all(
          Array.from({ length: writers }, (_, i) => connection(broker.host, broker.port, `appender-${i}`)),
        );
        let appending = true;
        let bytes = 0;
        const loops = clients.map(async (c) => {
          while (appending) {
            const r = (await c.request(ApiKey.Produce, 9, request)) as {
              responses: { partitionResponses: { errorCode: number }[] }[];
            };
            for (const p of r.responses[0]?.partitionResponses ?? []) {
              if (p.errorCode !== 0) throw new Error(`large append: error ${p.errorCode}`);
            }
            bytes += oneMiB.length * APPEND_PARTITIONS;
          }
        });
        await sleep(500);
        await loopDelay();
        const t0 = performance.now();
        const before = bytes;
        const phase = await bystanderPhase(bystander, 'bystander', broker.pid);
        const mibPerS = (bytes - before) / MiB / ((performance.now() - t0) / 1000);
        const phaseLoop = await loopDelay();
        appending = false;
        await Promise.all(loops);
        for (const c of clients) c.close();
        report(`${writers} client${writers > 1 ? 's' : ''} writing 16 MiB requests`, phase, phaseLoop, {
          appendedMiBPerS: Number(mibPerS.toFixed(0)),
        });
      }
    }

    if (PHASES.has('create')) {
      // One client asking for a topic of 1,000,000 partitions, again as soon as refused.
      let creating = true;
      const refusals: number[] = [];
      let otherAnswers = 0;
      const createLoop = (async () => {
        for (let i = 0; creating; i++) {
          const r = await createTimed(creator, `huge-${i}`, HUGE_CREATE_PARTITIONS);
          if (r.errorCode === POLICY_VIOLATION) refusals.push(r.ms);
          else otherAnswers++;
        }
      })();
      await sleep(500);
      await loopDelay();
      const create = await bystanderPhase(bystander, 'bystander', broker.pid);
      const createLoopDelay = await loopDelay();
      creating = false;
      await createLoop;
      if (refusals.length === 0 || otherAnswers > 0) {
        throw new Error(
          `1,000,000-partition CreateTopics: ${refusals.length} refused, ${otherAnswers} otherwise answered`,
        );
      }
      refusals.sort((a, b) => a - b);
      report('1,000,000-partition CreateTopics', create, createLoopDelay, {
        refusals: refusals.length,
        refusalP50Ms: percentile(refusals, 50),
        refusalMaxMs: refusals[refusals.length - 1] ?? Number.NaN,
      });
    }
    bystander.close();
    creator.close();
    results.save();
  } finally {
    admin.close();
    await broker.dispose();
  }
}

await main();
