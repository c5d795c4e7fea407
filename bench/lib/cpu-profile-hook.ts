/**
 * Preloaded into a broker process (`--import`, which NODE_OPTIONS allows where `--cpu-prof` is
 * not) to record a V8 CPU profile from start to exit and write it to JOCKO_CPU_PROFILE_DIR.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env['JOCKO_CPU_PROFILE_DIR'];
if (dir !== undefined) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
  process.once('exit', () => {
    // An in-thread session answers synchronously, so this completes before the process ends.
    session.post('Profiler.stop', (err, res) => {
      if (err === null && res !== undefined) {
        writeFileSync(join(dir, `broker-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
      }
    });
  });
}
