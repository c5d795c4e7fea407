/** The bulk budget per turn of the event loop: bounded per turn, paid back when overrun, waiters in order. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TurnBudget } from '../../../src/runtime/turn-budget.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

test('a turn grants until its budget is spent, and the next turn has it again', async () => {
  const budget = new TurnBudget(100);
  assert.equal(budget.tryTake(60), true);
  assert.equal(budget.tryTake(60), true, 'taken whole while any budget is left');
  assert.equal(budget.tryTake(1), false, 'spent (20 over)');
  await nextTurn();
  assert.equal(budget.tryTake(80), true, 'refilled, less the 20 the last turn went over');
  assert.equal(budget.tryTake(1), false);
});

test('waiters run on later turns in the order they asked, each turn doing at most its budget', async () => {
  const budget = new TurnBudget(300);
  const order: string[] = [];
  let turn = 0;
  const perTurn = new Map<number, number>();
  let stop = false;
  const ticker = (async () => {
    while (!stop) {
      await nextTurn();
      turn++;
    }
  })();
  const worker = async (name: string, slices: number) => {
    for (let i = 0; i < slices; i++) {
      await budget.take(100);
      perTurn.set(turn, (perTurn.get(turn) ?? 0) + 100);
      order.push(`${name}${i}`);
    }
  };
  await Promise.all([worker('a', 6), worker('b', 6), worker('c', 6)]);
  stop = true;
  await ticker;
  assert.equal(order.length, 18);
  for (const [t, bytes] of perTurn) assert.ok(bytes <= 300, `turn ${t} did ${bytes} bytes`);
  assert.ok(perTurn.size >= 6, `18 slices of 100 over ${perTurn.size} turns of 300`);
  // Round robin: no worker finishes before each of the others has had a slice in its last turns.
  const firstDone = Math.min(...['a', 'b', 'c'].map((n) => order.indexOf(`${n}5`)));
  assert.ok(firstDone >= 15, `a worker finished at ${firstDone} while others waited: ${order.join(' ')}`);
});
