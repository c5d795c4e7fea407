import { randomBytes, randomUUID } from 'node:crypto';

/**
 * The only door to randomness: ids (UUIDs, cluster ids, member ids), random bytes and floats
 * all come from `random()`. A simulation swaps in `seededRandomSource(seed)` so a run is
 * reproduced from one printed number.
 */
export interface RandomSource {
  /** A float in [0, 1). */
  float(): number;
  bytes(n: number): Buffer;
  /** An RFC 4122 version 4 UUID, as text. */
  uuid(): string;
}

export const systemRandom: RandomSource = {
  float: () => Math.random(),
  bytes: (n) => randomBytes(n),
  uuid: () => randomUUID(),
};

let current: RandomSource = systemRandom;

export function random(): RandomSource {
  return current;
}

/** Replaces the randomness every module uses (null: back to the system's). For simulations and tests. */
export function useRandom(source: RandomSource | null): void {
  current = source ?? systemRandom;
}

/** A deterministic source (mulberry32): same seed, same floats, bytes and UUIDs. Not for secrets. */
export function seededRandomSource(seed: number): RandomSource {
  let a = seed >>> 0;
  const next32 = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const bytes = (n: number): Buffer => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i += 4) {
      const v = next32();
      for (let j = 0; j < 4 && i + j < n; j++) b[i + j] = (v >>> (8 * j)) & 0xff;
    }
    return b;
  };
  return {
    float: () => next32() / 4294967296,
    bytes,
    uuid: () => {
      const b = bytes(16);
      b[6] = ((b[6] as number) & 0x0f) | 0x40;
      b[8] = ((b[8] as number) & 0x3f) | 0x80;
      const h = b.toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    },
  };
}
