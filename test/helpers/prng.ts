/**
 * The one seeded generator of the tests (mulberry32): floats in [0, 1). Same seed, same
 * sequence, so a failing run is reproduced from the seed it printed.
 */
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

/** An integer in [min, max] drawn from `random`. */
export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** The seed of this run: JOCKO_SEED when set, else one derived from the time (printed by the tests). */
export function testSeed(): number {
  const s = process.env['JOCKO_SEED'];
  return s !== undefined && s !== '' ? Number(s) : Date.now() % 2 ** 31;
}
