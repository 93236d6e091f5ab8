/**
 * A sweep over the job queue with one worker process, then two, on this machine
 * (npm run bench:queue): a real redis-server on a free loopback port, worker processes already
 * warm (a first small sweep loads the data), then a 20-run MNIST 0/1 sweep timed end to end; the
 * two setups in turn each round, new seeds every time (finished runs would be reused), medians.
 * Writes results/bench-queue.csv.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { stringify } from 'csv-stringify/sync';
import { checkReachable } from '../src/queue/queue.js';
import { loadAvg1, provenance } from '../src/report/report.js';
import { summarize } from '../src/report/stats.js';

const rounds = Number(process.env.ROUNDS ?? 3);
const runs = 20;
const cli = fileURLToPath(new URL('../src/cli/cli.js', import.meta.url));
const sweepArgs = ['sweep', '--data', 'mnist', '--classes', '0,1', '--preset', 'article', '--epochs', '30', '--json', '--quiet'];

const port = await new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as { port: number }).port;
    s.close(() => resolve(p));
  });
});
const url = `redis://127.0.0.1:${port}`;
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
for (let i = 0; ; i++) {
  try {
    await checkReachable(url, 500);
    break;
  } catch (e) {
    if (i > 50) throw e;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function run(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, [cli, ...args], { stdio: 'ignore' });
    p.on('close', (code) => (code === 0 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`edsim ${args.join(' ')} exited ${code}`))));
  });
}

let seed = 1;
const seeds = (n: number): string => `${seed}-${(seed += n) - 1}`;
const times: Record<number, number[]> = { 1: [], 2: [] };
try {
  for (let r = 0; r < rounds; r++) {
    for (const n of [1, 2]) {
      const workers: ChildProcess[] = Array.from({ length: n }, () => spawn(process.execPath, [cli, 'worker', '--queue', url], { stdio: 'ignore' }));
      await run([...sweepArgs, '--seeds', seeds(2 * n), '--queue', url]); // warm-up: every worker loads the data
      times[n]!.push(await run([...sweepArgs, '--seeds', seeds(runs), '--queue', url]));
      for (const w of workers) w.kill('SIGTERM');
      await Promise.all(workers.map((w) => new Promise((r) => w.on('close', r))));
    }
    console.log(`round ${r + 1}: 1 worker ${times[1]!.at(-1)!.toFixed(2)} s, 2 workers ${times[2]!.at(-1)!.toFixed(2)} s`);
  }
} finally {
  redis.kill('SIGKILL');
}
const m1 = summarize(times[1]!).median;
const m2 = summarize(times[2]!).median;
const prov = provenance();
const stamp = new Date().toISOString();
const rows = [1, 2].map((n) => ({
  workers: n, runs, median_seconds: n === 1 ? m1 : m2, all_seconds: times[n]!.map((t) => t.toFixed(2)).join(' '), speedup_vs_one_worker: m1 / (n === 1 ? m1 : m2),
  sweep: `edsim ${sweepArgs.join(' ')} --seeds <20 new seeds> --queue <local redis>`, load_avg_1m: loadAvg1(), ...prov, timestamp: stamp, command: `ROUNDS=${rounds} npm run bench:queue`,
}));
writeFileSync('results/bench-queue.csv', stringify(rows, { header: true }));
console.log(`20-run sweep: 1 worker ${m1.toFixed(2)} s, 2 workers ${m2.toFixed(2)} s: ${(m1 / m2).toFixed(2)}x; wrote results/bench-queue.csv`);
