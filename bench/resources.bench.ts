/**
 * Broker resource use, measured on a broker process:
 * - RSS per idle partition: RSS with 10,000 partitions (10 topics of 1,000, one small batch in each)
 *   minus RSS of the same broker before they were created, divided by 10,000;
 * - RSS per idle connection: 1,000 connections that each completed one ApiVersions exchange;
 * - start-up time (spawn to "listening on") with those 10,000 partitions after a clean shutdown
 *   (SIGTERM) and after an unclean one (SIGKILL), next to the start-up of an empty broker;
 * - stop time (SIGTERM to exit) of a broker with those partitions that has just started cleanly
 *   (the first stop, after creating them, is printed beside it), next to an empty broker's.
 * RSS is the median of a few samples (the broker's GC runs on its own schedule).
 * Memory is printed next to the targets (20 KiB per partition, 100 KiB per connection).
 */
import { connect, type Socket } from 'node:net';
import { encodeApiVersionsRequest } from '../src/protocol/generated/api/18-api-versions.js';
import { encodeRequestHeader } from '../src/protocol/generated/headers.js';
import { Writer } from '../src/protocol/primitives/writer.js';
import { buildRecordBatch } from '../src/protocol/records/batch-builder.js';
import { makeTempDir, removeTempDir } from '../test/helpers/tmp.js';
import { adminClient, createTopic, startBenchBroker } from './lib/broker.js';
import { KiB, QUICK, Results, rssBytes, sleep } from './lib/harness.js';
import { WireConnection } from './lib/wire.js';

const PARTITIONS = Number(process.env['JOCKO_BENCH_PARTITIONS'] ?? (QUICK ? 2000 : 10000));
const PER_TOPIC = 1000;
const CONNECTIONS = Number(process.env['JOCKO_BENCH_CONNECTIONS'] ?? 1000);
const results = new Results('resources');

/** RSS once it has settled (the broker's GC runs on its own schedule): the median of a few samples. */
async function settledRss(pid: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    await sleep(300);
    samples.push(rssBytes(pid));
  }
  samples.sort((x, y) => x - y);
  return samples[2] as number;
}

function apiVersionsFrame(): Buffer {
  const w = new Writer();
  w.writeInt32(0);
  encodeRequestHeader(w, { requestApiKey: 18, requestApiVersion: 3, correlationId: 1, clientId: 'idle' }, 2);
  encodeApiVersionsRequest(w, { clientSoftwareName: 'jocko-bench', clientSoftwareVersion: '1' }, 3);
  const b = w.toBuffer();
  b.writeInt32BE(b.length - 4, 0);
  return b;
}

function openIdle(host: string, port: number, frame: Buffer): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    s.once('error', reject);
    s.once('connect', () => s.write(frame));
    s.once('data', () => resolve(s));
  });
}

async function main(): Promise<void> {
  const dataDir = makeTempDir('jocko-resources-bench-');
  const broker = await startBenchBroker({ dataDir });
  try {
    const admin = await adminClient(broker);
    // An empty broker's start-up, the baseline of the start-up figures.
    const before = await settledRss(broker.pid);

    const topics = Math.ceil(PARTITIONS / PER_TOPIC);
    const batch = buildRecordBatch({ records: [{ value: Buffer.alloc(100, 1), timestamp: Date.now() }] });
    for (let t = 0; t < topics; t++) {
      const name = `bench-idle-${t}`;
      await createTopic(admin, name, PER_TOPIC);
      const conn = await WireConnection.open(broker.host, broker.port);
      await conn.request(0, 9, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 30000,
        topicData: [
          { name, partitionData: Array.from({ length: PER_TOPIC }, (_, index) => ({ index, records: batch })) },
        ],
      });
      conn.close();
    }
    admin.close();
    await sleep(1000);
    const withPartitions = await settledRss(broker.pid);
    const perPartition = (withPartitions - before) / (topics * PER_TOPIC);
    results.add(`RSS per idle partition (${topics * PER_TOPIC})`, 'KiB', perPartition / KiB, 20, 'target', {
      rssBeforeMiB: before / 1048576,
      rssAfterMiB: withPartitions / 1048576,
    });

    const frame = apiVersionsFrame();
    const sockets: Socket[] = [];
    for (let i = 0; i < CONNECTIONS; i += 50) {
      const batchOf = await Promise.all(
        Array.from({ length: Math.min(50, CONNECTIONS - i) }, () => openIdle(broker.host, broker.port, frame)),
      );
      sockets.push(...batchOf);
    }
    await sleep(1000);
    const withConnections = await settledRss(broker.pid);
    results.add(
      `RSS per idle connection (${CONNECTIONS})`,
      'KiB',
      (withConnections - withPartitions) / CONNECTIONS / KiB,
      100,
      'target',
      {
        rssAfterMiB: withConnections / 1048576,
      },
    );
    for (const s of sockets) s.destroy();

    // Start-up: an empty broker as the baseline, then the 10,000 partitions after SIGTERM and SIGKILL.
    const emptyDir = makeTempDir('jocko-resources-empty-');
    let t0: bigint;
    const empty = await startBenchBroker({ dataDir: emptyDir });
    t0 = process.hrtime.bigint();
    await empty.stop();
    const emptyStop = Number(process.hrtime.bigint() - t0) / 1e6;
    t0 = process.hrtime.bigint();
    await empty.restart({ samePort: false });
    const emptyStart = Number(process.hrtime.bigint() - t0) / 1e6;
    await empty.dispose();
    await removeTempDir(emptyDir);

    t0 = process.hrtime.bigint();
    await broker.stop();
    const cleanStop = Number(process.hrtime.bigint() - t0) / 1e6;
    t0 = process.hrtime.bigint();
    await broker.restart({ samePort: false });
    const cleanStart = Number(process.hrtime.bigint() - t0) / 1e6;
    results.add(`start-up ${topics * PER_TOPIC} partitions, clean`, 'ms', cleanStart, emptyStart, 'empty broker');
    // A broker that has just started cleanly: its stop closes every log (the clean-shutdown path).
    t0 = process.hrtime.bigint();
    await broker.stop();
    const stopAfterStart = Number(process.hrtime.bigint() - t0) / 1e6;
    results.add(`stop ${topics * PER_TOPIC} partitions, clean`, 'ms', stopAfterStart, emptyStop, 'empty broker', {
      firstStopMs: cleanStop,
    });
    await broker.restart({ samePort: false });

    await broker.kill9();
    t0 = process.hrtime.bigint();
    await broker.restart({ samePort: false });
    const uncleanStart = Number(process.hrtime.bigint() - t0) / 1e6;
    results.add(`start-up ${topics * PER_TOPIC} partitions, unclean`, 'ms', uncleanStart, emptyStart, 'empty broker');
    results.note(
      'start-up is spawn to the "listening on" line, stop is SIGTERM to exit; RSS is the median of 5 samples 0.3 s apart',
    );
  } finally {
    await broker.dispose();
    await removeTempDir(dataDir);
  }
  results.save({ partitions: PARTITIONS, connections: CONNECTIONS });
}

await main();
