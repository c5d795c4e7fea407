// Kafka's start-up settings act: `listeners`, `advertised.listeners`, `node.id`,
// `process.roles` and `controller.quorum.bootstrap.servers` from a properties file; the ones
// Jocko cannot honour are refused at start-up, naming the setting.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startBrokerProcess } from '../helpers/broker-process.js';
import { jockoBin, repoRoot } from '../helpers/paths.js';
import { reservedPort } from '../helpers/ports.js';
import { formatRun, run } from '../helpers/run.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

function properties(t: { after: (fn: () => void) => void }, text: string): { dir: string; path: string } {
  const dir = makeTempDir('jocko-props-');
  t.after(() => removeTempDir(dir));
  const path = join(dir, 'server.properties');
  writeFileSync(path, text);
  return { dir, path };
}

test('listeners, advertised.listeners, node.id and controller.quorum.bootstrap.servers from a properties file act', async (t) => {
  const [p1, p2] = [await reservedPort(), await reservedPort()];
  const first = properties(t, `node.id=5\nlisteners=PLAINTEXT://127.0.0.1:${p1}\nprocess.roles=broker,controller\n`);
  const a = await startBrokerProcess({
    dataDir: join(first.dir, 'data'),
    extraArgs: ['--config', first.path],
    noListen: true,
  });
  t.after(() => a.dispose());
  assert.equal(a.port, p1, 'listens where listeners says');
  assert.match(a.output().stdout, /jocko broker 5 listening/);
  const second = properties(
    t,
    `listeners=PLAINTEXT://:${p2}\nadvertised.listeners=PLAINTEXT://127.0.0.1:${p2}\ncontroller.quorum.bootstrap.servers=127.0.0.1:${p1}\n`,
  );
  const b = await startBrokerProcess({
    dataDir: join(second.dir, 'data'),
    extraArgs: ['--config', second.path],
    noListen: true,
  });
  t.after(() => b.dispose());
  assert.equal(b.port, p2);
  // It joined the first one's cluster (an id no member uses), as --join would.
  assert.match(b.output().stdout, /jocko broker 6 listening/);
  // Both serve once the second has caught up with its own registration (it is unfenced then).
  let last = '';
  await waitFor(
    'brokers 5 and 6 serving, seen through the second',
    async () => {
      const status = await run(
        process.execPath,
        [jockoBin, 'cluster', 'status', '--bootstrap', `127.0.0.1:${p2}`, '--format', 'json'],
        { cwd: repoRoot, timeoutMs: 20_000 },
      );
      last = formatRun(status);
      const s = JSON.parse(status.stdout) as { brokers: Array<{ id: number; port: number; serving: boolean }> };
      const serving = s.brokers
        .filter((x) => x.serving)
        .map((x) => [x.id, x.port])
        .sort();
      return (
        JSON.stringify(serving) ===
        JSON.stringify([
          [5, p1],
          [6, p2],
        ])
      );
    },
    { timeoutMs: 20_000, intervalMs: 250, explain: () => last },
  );
});

for (const [what, text, named] of [
  ['a second listener', 'listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0\n', /CONTROLLER/],
  ['a static voter set', 'controller.quorum.voters=1@127.0.0.1:9093\n', /controller\.quorum\.voters/],
  ['an unknown role', 'process.roles=broker,gateway\n', /process\.roles/],
] as const) {
  test(`${what} is refused at start-up, naming the setting`, async (t) => {
    const p = properties(t, text);
    const r = await run(process.execPath, [jockoBin, 'broker', '--data-dir', join(p.dir, 'data'), '--config', p.path], {
      cwd: repoRoot,
      timeoutMs: 30_000,
    });
    assert.notEqual(r.code, 0, formatRun(r));
    assert.match(r.stderr, named, formatRun(r));
  });
}
