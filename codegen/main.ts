import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { generate } from './generate.js';

/**
 * Writes the generated codecs. Usage:
 *   node dist/codegen/main.js [--spec ../shared/kafka-protocol] [--out src/protocol/generated]
 */
export function writeGenerated(specRoot: string, outDir: string): number {
  const { files } = generate(specRoot);
  for (const entry of readdirSync(outDir, { withFileTypes: true })) {
    rmSync(join(outDir, entry.name), { recursive: true, force: true });
  }
  for (const f of files) {
    const p = join(outDir, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.content);
  }
  return files.length;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const spec = resolve(arg('--spec', '../shared/kafka-protocol'));
  const out = resolve(arg('--out', 'src/protocol/generated'));
  mkdirSync(out, { recursive: true });
  const n = writeGenerated(spec, out);
  console.log(`generated ${n} files into ${out} from ${spec}`);
}
