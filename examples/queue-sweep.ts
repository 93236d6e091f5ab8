/**
 * A sweep over the job queue: one worker process (the package's own `edsim worker`) takes the
 * runs from Redis while this program submits ten seeds and collects the rows.
 *
 *   node queue-sweep.js redis://127.0.0.1:6379
 * (start a redis-server first; on many machines, run `npx edsim worker --queue URL` on each.)
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { checkReachable, type RunSpec, submitRuns, summarizeRuns } from 'edsim/queue';

const url = process.argv[2] ?? 'redis://127.0.0.1:6379';
await checkReachable(url); // one clear line if Redis is not there

const cli = join(dirname(createRequire(import.meta.url).resolve('edsim/package.json')), 'dist', 'src', 'cli', 'cli.js');
const worker = spawn(process.execPath, [cli, 'worker', '--queue', url], { stdio: 'inherit' });
try {
  const specs: RunSpec[] = Array.from({ length: 10 }, (_, i) => ({
    data: 'xor', dataOptions: {}, options: { preset: 'kaneko', model: { hidden: [8] } }, seed: i + 1,
  }));
  const { rows } = await submitRuns(url, specs, (r) => console.log(`seed ${r.seed}: ${r.epochs} epochs on ${r.host}`));
  const s = summarizeRuns(rows);
  console.log(JSON.stringify({ runs: s.runs, converged: s.converged, meanEpochs: s.meanEpochs }));
} finally {
  worker.kill('SIGINT');
}
