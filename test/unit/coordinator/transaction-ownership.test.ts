import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TransactionStateRecord } from '../../../src/coordinator/transaction/records.js';
import {
  TransactionCoordinator,
  type TransactionCoordinatorRuntime,
  type TxnMarkers,
} from '../../../src/coordinator/transaction/transaction-coordinator.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';

const PARTITIONS = 4;

function setup() {
  const log = new Map<number, TransactionStateRecord[]>();
  const markers: TxnMarkers[] = [];
  const state = { held: null as Promise<void> | null, markersHeld: null as Promise<void> | null };
  let nextId = 100n;
  const runtime: TransactionCoordinatorRuntime = {
    now: () => 1_000_000,
    append: async (partition, records) => {
      if (state.held !== null) await state.held;
      log.set(partition, [...(log.get(partition) ?? []), ...records]);
    },
    generateProducerId: async () => nextId++,
    writeMarkers: async (m) => {
      if (state.markersHeld !== null) await state.markersHeld;
      markers.push(m);
    },
    groupPartition: () => ({ topic: '__consumer_offsets', partition: 0 }),
  };
  const core = new TransactionCoordinator(
    {
      transactionMaxTimeoutMs: 900_000,
      transactionalIdExpirationMs: 604_800_000,
      transactionStatePartitions: PARTITIONS,
    },
    runtime,
  );
  const ids = new Map<number, string>();
  for (let i = 0; ids.size < PARTITIONS && i < 1000; i++) {
    const p = core.partitionFor(`txn-${i}`);
    if (!ids.has(p)) ids.set(p, `txn-${i}`);
  }
  const idOf = (p: number) => ids.get(p) as string;
  const load = (partition: number, leaderEpoch = 0) => {
    const shard = core.onElection(partition, leaderEpoch);
    assert.ok(shard !== null);
    return core.completeLoad(shard, log.get(partition) ?? []);
  };
  const init = (transactionalId: string) =>
    core.initProducerId({ transactionalId, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
  return { core, log, markers, state, idOf, load, init };
}

async function allTransactionApis(core: TransactionCoordinator, id: string) {
  const tp = [{ topic: 't', partition: 0 }];
  return {
    initProducerId: (
      await core.initProducerId({
        transactionalId: id,
        transactionTimeoutMs: 60_000,
        producerId: -1n,
        producerEpoch: -1,
      })
    ).errorCode,
    addPartitions: await core.addPartitions(id, 1n, 0, tp),
    addOffsets: await core.addOffsets(id, 1n, 0, 'g'),
    endTxn: (await core.endTransaction(id, 1n, 0, true)).errorCode,
    describe: core.describe([id])[0]?.errorCode,
    verify: core.verifyPartitions(id, 1n, 0, tp)[0],
  };
}

test('a transactional id of a partition not led here gets NOT_COORDINATOR from every transaction API; ListTransactions lists only what is served here', async () => {
  const h = setup();
  h.load(0);
  assert.equal((await h.init(h.idOf(0))).errorCode, ErrorCode.NONE);
  const errors = await allTransactionApis(h.core, h.idOf(1));
  for (const [api, code] of Object.entries(errors)) {
    assert.equal(code, ErrorCode.NOT_COORDINATOR, `${api} for an id of another partition`);
  }
  assert.equal(h.core.metadata(h.idOf(1)), undefined);
  assert.equal(h.log.has(1), false, 'nothing written to a partition led elsewhere');
  const listed = h.core.list([], [], -1);
  assert.equal(listed.errorCode, ErrorCode.NONE);
  assert.deepEqual(
    listed.transactionStates.map((t) => t.transactionalId),
    [h.idOf(0)],
  );
});

test('while its partition loads an id answers COORDINATOR_LOAD_IN_PROGRESS; once loaded, its state is back and markers carry the new coordinator epoch', async () => {
  const h = setup();
  const id = h.idOf(2);
  h.load(2, 3);
  const { producerId, producerEpoch } = await h.init(id);
  assert.equal(
    await h.core.addPartitions(id, producerId, producerEpoch, [{ topic: 't', partition: 0 }]),
    ErrorCode.NONE,
  );
  // The partition moves away with the transaction Ongoing, then comes back at a later epoch.
  assert.equal(h.core.onResignation(2, 4), true);
  assert.equal(h.core.describe([id])[0]?.errorCode, ErrorCode.NOT_COORDINATOR);

  const shard = h.core.onElection(2, 5);
  assert.ok(shard !== null);
  for (const [api, code] of Object.entries(await allTransactionApis(h.core, id))) {
    assert.equal(code, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, `${api} while loading`);
  }
  assert.equal(h.core.list([], [], -1).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  assert.deepEqual(h.core.completeLoad(shard, h.log.get(2) ?? []), { transactions: 1 });
  assert.equal(h.core.metadata(id)?.state, 'Ongoing');

  assert.equal((await h.core.endTransaction(id, producerId, producerEpoch, false)).errorCode, ErrorCode.NONE);
  await h.core.idle();
  assert.equal(h.markers.length, 1);
  assert.equal(h.markers[0]?.coordinatorEpoch, 5);
  assert.equal(h.core.metadata(id)?.state, 'CompleteAbort');
});

test('a state write that ends after its partition moved away answers NOT_COORDINATOR and changes nothing in memory', async () => {
  const h = setup();
  const id = h.idOf(3);
  h.load(3);
  const first = await h.init(id);
  let release = () => {};
  h.state.held = new Promise<void>((r) => {
    release = r;
  });
  const pending = h.core.addPartitions(id, first.producerId, first.producerEpoch, [{ topic: 't', partition: 1 }]);
  await new Promise<void>((r) => setImmediate(r));
  h.core.onResignation(3, 1);
  h.state.held = null;
  release();
  assert.equal(await pending, ErrorCode.NOT_COORDINATOR);
  assert.equal(h.core.metadata(id), undefined);
  assert.equal(h.core.coordinates(id, 0), false);
});

test('markers of a partition resigned while they were being written do not complete the transaction here', async () => {
  const h = setup();
  const id = h.idOf(1);
  h.load(1, 2);
  const p = await h.init(id);
  assert.equal(
    await h.core.addPartitions(id, p.producerId, p.producerEpoch, [{ topic: 't', partition: 0 }]),
    ErrorCode.NONE,
  );
  let release = () => {};
  h.state.markersHeld = new Promise<void>((r) => {
    release = r;
  });
  assert.equal((await h.core.endTransaction(id, p.producerId, p.producerEpoch, true)).errorCode, ErrorCode.NONE);
  assert.equal(h.core.coordinates(id, 2), true);
  const written = h.log.get(1)?.length ?? 0;
  h.core.onResignation(1);
  assert.equal(h.core.coordinates(id, 2), false);
  release();
  await h.core.idle();
  // No CompleteCommit was written: the next coordinator finds PrepareCommit and completes it.
  assert.equal(h.log.get(1)?.length, written);
  h.load(1, 3);
  assert.equal(h.core.metadata(id)?.state, 'PrepareCommit');
  await h.core.idle();
  assert.equal(h.core.metadata(id)?.state, 'CompleteCommit');
  assert.deepEqual(
    h.markers.map((m) => m.coordinatorEpoch),
    [2, 3],
  );
});
