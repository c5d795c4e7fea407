import { AssertionError } from 'node:assert';

/**
 * Assertions for what a log must guarantee, with messages that say what went wrong (which
 * values are missing, duplicated or out of place) instead of dumping two long arrays.
 */

type Key = string | number | bigint;

const SHOW = 10;

function fail(message: string): never {
  throw new AssertionError({ message });
}

function show(values: readonly unknown[]): string {
  const head = values.slice(0, SHOW).map((v) => (typeof v === 'bigint' ? `${v}n` : JSON.stringify(v)));
  return values.length > SHOW ? `${head.join(', ')}, ... (${values.length} in all)` : head.join(', ');
}

/** `count` distinct values `${prefix}-0` ... `${prefix}-(count-1)`: what a test produces and expects back. */
export function sequenceValues(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

/** Fails if any key occurs more than once; lists the duplicated ones with their positions. */
export function assertNoDuplicates<T>(
  values: readonly T[],
  keyOf: (v: T) => Key = (v) => v as Key,
  label = 'values',
): void {
  const seen = new Map<Key, number>();
  const dups: string[] = [];
  values.forEach((v, i) => {
    const k = keyOf(v);
    const first = seen.get(k);
    if (first === undefined) seen.set(k, i);
    else dups.push(`${String(k)} at ${first} and ${i}`);
  });
  if (dups.length > 0) fail(`${label}: ${dups.length} duplicate(s): ${dups.slice(0, SHOW).join('; ')}`);
}

/**
 * Fails unless `offsets` are exactly `from, from+1, from+2, ...` (the order given): no gap, no
 * duplicate, nothing out of order. With `to`, the last one must be `to - 1` (exclusive end, like
 * a high watermark).
 */
export function assertNoGaps(
  offsets: readonly (number | bigint)[],
  options: { from?: number | bigint; to?: number | bigint; label?: string } = {},
): void {
  const label = options.label ?? 'offsets';
  if (offsets.length === 0) {
    if (options.to !== undefined && options.from !== undefined && BigInt(options.to) !== BigInt(options.from)) {
      fail(`${label}: none, but expected ${options.from}..${BigInt(options.to) - 1n}`);
    }
    return;
  }
  let expected = BigInt(options.from ?? (offsets[0] as number | bigint));
  for (let i = 0; i < offsets.length; i++) {
    const got = BigInt(offsets[i] as number | bigint);
    if (got !== expected) {
      const what = got > expected ? `gap: ${expected}..${got - 1n} missing` : `went back (duplicate or reordering)`;
      fail(
        `${label}: at index ${i} expected ${expected} but got ${got} (${what}); around it: ${show(offsets.slice(Math.max(0, i - 3), i + 4))}`,
      );
    }
    expected += 1n;
  }
  if (options.to !== undefined && expected !== BigInt(options.to)) {
    fail(`${label}: ended at ${expected - 1n} but expected the last to be ${BigInt(options.to) - 1n}`);
  }
}

/**
 * Fails unless `actual` equals `expected` element by element. The message names the first
 * difference, and what is missing, extra and duplicated, so a failure reads as a diagnosis.
 */
export function assertExactSequence<T extends Key>(
  actual: readonly T[],
  expected: readonly T[],
  label = 'sequence',
): void {
  const n = Math.max(actual.length, expected.length);
  let firstDiff = -1;
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i]) {
      firstDiff = i;
      break;
    }
  }
  if (firstDiff === -1) return;
  const expectedSet = new Set<Key>(expected);
  const actualSet = new Set<Key>(actual);
  const missing = expected.filter((v) => !actualSet.has(v));
  const extra = actual.filter((v) => !expectedSet.has(v));
  const counts = new Map<Key, number>();
  for (const v of actual) counts.set(v, (counts.get(v) ?? 0) + 1);
  const duplicated = [...counts].filter(([, c]) => c > 1).map(([v, c]) => `${String(v)} x${c}`);
  const lines = [
    `${label}: got ${actual.length} values, expected ${expected.length}; first difference at index ${firstDiff}: ` +
      `got ${show(actual.slice(firstDiff, firstDiff + 3))}, expected ${show(expected.slice(firstDiff, firstDiff + 3))}`,
  ];
  if (missing.length > 0) lines.push(`  missing (${missing.length}): ${show(missing)}`);
  if (extra.length > 0) lines.push(`  unexpected (${extra.length}): ${show(extra)}`);
  if (duplicated.length > 0) lines.push(`  duplicated (${duplicated.length}): ${duplicated.slice(0, SHOW).join(', ')}`);
  if (missing.length === 0 && extra.length === 0 && duplicated.length === 0)
    lines.push('  same values, different order');
  fail(lines.join('\n'));
}

/**
 * "Nothing acknowledged is lost": every acknowledged value is among the consumed ones. Consumed
 * values that were never acknowledged are allowed (a write can succeed after its ack was lost).
 */
export function assertContainsAll<T extends Key>(
  consumed: readonly T[],
  acknowledged: readonly T[],
  label = 'acknowledged values',
): void {
  const have = new Set<Key>(consumed);
  const lost = acknowledged.filter((v) => !have.has(v));
  if (lost.length > 0) fail(`${label}: ${lost.length} of ${acknowledged.length} not found: ${show(lost)}`);
}

/**
 * Per key, values appear in the order they were produced: `produced` gives the order, `consumed`
 * may interleave keys (different partitions) but must keep each key's own order.
 */
export function assertOrderPerKey<T>(
  consumed: readonly T[],
  keyOf: (v: T) => Key,
  positionOf: (v: T) => number | bigint,
  label = 'per-key order',
): void {
  const last = new Map<Key, number | bigint>();
  for (let i = 0; i < consumed.length; i++) {
    const v = consumed[i] as T;
    const k = keyOf(v);
    const pos = positionOf(v);
    const prev = last.get(k);
    if (prev !== undefined && pos <= prev) fail(`${label}: key ${String(k)} went from ${prev} to ${pos} at index ${i}`);
    last.set(k, pos);
  }
}
