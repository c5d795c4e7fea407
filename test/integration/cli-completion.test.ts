import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jockoBin, repoRoot } from '../helpers/paths.js';
import { assertRunOk, formatRun, requireCommand, run } from '../helpers/run.js';

/** What bash completes for the words typed (the last one being completed), using `jocko completion bash`. */
async function complete(typed: readonly string[]): Promise<string[]> {
  const bash = requireCommand('bash');
  const script = [
    `source <("${process.execPath}" "${jockoBin}" completion bash)`,
    `COMP_WORDS=(jocko ${typed.map((w) => `'${w}'`).join(' ')})`,
    `COMP_CWORD=${typed.length}`,
    '_jocko',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash expansion, not a template
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const r = await run(bash, ['-c', script], { cwd: repoRoot, timeoutMs: 30_000 });
  assertRunOk(r);
  return r.stdout.split('\n').filter((l) => l !== '');
}

test("bash completion offers commands, subcommands and each command's own options", async () => {
  assert.deepEqual(await complete(['pro']), ['produce']);
  assert.deepEqual(await complete(['topic', 'cr']), ['create']);
  assert.deepEqual(await complete(['topic', 'create', 't', '--part']), ['--partitions']);
  assert.deepEqual(await complete(['consume', 't', '--from-']), ['--from-beginning', '--from-timestamp']);
  assert.deepEqual(await complete(['produce', 't', '--key']), ['--key-separator']);
  assert.deepEqual(await complete(['group', 'reset-offsets', 'g', '--to-l']), ['--to-latest']);
  assert.deepEqual(await complete(['broker', '--help-c']), ['--help-config']);
  assert.deepEqual(await complete(['broker-config', 'al']), ['alter']);
  assert.deepEqual(await complete(['broker-config', 'alter', '--de']), ['--default', '--delete']);
  assert.deepEqual(await complete(['topic', 'describe', 't', '--all']), ['--all-configs']);
  assert.deepEqual(await complete(['records', 'delete', 't', '--be']), ['--before']);
  assert.deepEqual(await complete(['par']), ['partition']);
  assert.deepEqual(await complete(['partition', '']), ['reassign', 'reassignments', 'cancel', 'elect-leaders']);
  assert.deepEqual(await complete(['partition', 'reassign', 't', '--re']), ['--replicas']);
  assert.deepEqual(await complete(['partition', 'reassign', 't', '--ti']), ['--timeout-ms']);
  assert.deepEqual(await complete(['partition', 'elect-leaders', '--ty']), ['--type']);
  assert.deepEqual(await complete(['group', 'delete-o']), ['delete-offsets']);
  assert.deepEqual(await complete(['perf', 'produce', 't', '--num']), ['--num-records']);
  assert.deepEqual(await complete(['produce', 't', '--prog']), ['--progress']);
  const zsh = await run(process.execPath, [jockoBin, 'completion', 'zsh'], { cwd: repoRoot, timeoutMs: 30_000 });
  assertRunOk(zsh);
  assert.match(zsh.stdout, /bashcompinit/);
  const bad = await run(process.execPath, [jockoBin, 'completion', 'fish'], { cwd: repoRoot, timeoutMs: 30_000 });
  assert.equal(bad.code, 2, formatRun(bad));
});
