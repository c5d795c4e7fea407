import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** Directories created here and not yet removed; whatever is left goes when the process exits. */
const live = new Set<string>();

process.once('exit', () => {
  for (const dir of live) rmSync(dir, { recursive: true, force: true });
});

/** Creates a fresh empty directory under the OS temp dir. The caller removes it with `removeTempDir`. */
export function makeTempDir(prefix = 'jocko-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  live.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  live.delete(dir);
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** A fresh temp directory that is removed when the test `t` ends, whether it passed or not. */
export function tempDir(t: TestContext, prefix = 'jocko-test-'): string {
  const dir = makeTempDir(prefix);
  t.after(() => removeTempDir(dir));
  return dir;
}
