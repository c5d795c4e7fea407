import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root, found by walking up from this file to the package.json named "jocko".
 * Works both from `test/helpers/` (sources) and from `dist/test/helpers/` (compiled).
 */
export const repoRoot: string = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

/** Checked-in test data (read from the sources, never from dist/). */
export const fixturesDir: string = join(repoRoot, 'test', 'fixtures');

/** The client driver scripts run by `python-clients.ts`. */
export const clientScriptsDir: string = join(repoRoot, 'test', 'clients');

/** The broker executable. */
export const jockoBin: string = join(repoRoot, 'bin', 'jocko.js');

function findRepoRoot(start: string): string {
  let dir = start;
  for (let i = 0; i < 10; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const name = (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name;
      if (name === 'jocko') return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`test helpers: no package.json named "jocko" above ${start}`);
}
