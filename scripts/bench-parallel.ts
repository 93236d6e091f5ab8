/**
 * Parallel speed-ups and memory (npm run bench:parallel). Speed: bench-wide on MNIST 0/1, serial
 * against layer and pipeline with 2 threads, the configurations measured in turn, one epoch each
 * per round, median of the rounds, with each thread's busy and waiting time. Memory: peak RSS of
 * child processes training a ~32 M-weight network serially and with 2 threads.
 * Writes results/parallel-speed.csv and results/parallel-memory.csv.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stringify } from 'csv-stringify/sync';
import { loadDataset } from '../src/data/data.js';
import type { StrategyName } from '../src/engine/executor.js';
import { nativeAddon } from '../src/kernels/native.js';
import type { KernelImpl } from '../src/options.js';
import { loadAvg1, provenance } from '../src/report/report.js';
import { summarize } from '../src/report/stats.js';
import { createTrainer, type Trainer } from '../src/trainer.js';

const rounds = Number(process.env.ROUNDS ?? 3);
const prov = provenance();
const stamp = new Date().toISOString();

async function speed(): Promise<void> {
  const data = await loadDataset('mnist', { classes: [0, 1] });
  const kernels: KernelImpl[] = nativeAddon() ? ['native', 'wasm'] : ['wasm'];
  const configs: [StrategyName, number, KernelImpl][] = kernels.flatMap((k) => [['serial', 1, k], ['cells', 2, k], ['layer', 2, k], ['pipeline', 2, k]] as [StrategyName, number, KernelImpl][]);
  const trainers: Trainer[] = [];
  for (const [strategy, workers, k] of configs) {
    const t = await createTrainer({ preset: 'bench-wide', model: { kernels: k }, strategy, workers });
    await t.fit(data.train, { epochs: 1 }); // warm-up: JIT, worker start
    trainers.push(t);
  }
  const secs: number[][] = configs.map(() => []);
  const stats: string[][] = configs.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let c = 0; c < configs.length; c++) {
      const h = await trainers[c]!.fit(data.train, { epochs: 1 });
      const e = h.epochs[0]!;
      secs[c]!.push(e.seconds);
      stats[c]!.push(e.stats.map((s) => `${s.group}: busy ${s.busyMs.toFixed(0)} ms, wait ${s.waitMs.toFixed(0)} ms`).join('; '));
    }
  }
  const accs: number[] = [];
  for (const t of trainers) {
    accs.push((await t.evaluate(data.test)).accuracy);
    await t.close();
  }
  const rows = configs.map(([strategy, workers, k], c) => {
    const med = summarize(secs[c]!).median;
    const base = summarize(secs[configs.findIndex((x) => x[2] === k && x[0] === 'serial')]!).median;
    const row = {
      preset: 'bench-wide', data: 'mnist 0/1', kernels: k, strategy, workers, rounds, median_seconds_per_epoch: med,
      all_seconds: secs[c]!.map((s) => s.toFixed(3)).join(' '), samples_per_second: data.train.n / med,
      speedup_vs_serial: base / med, test_accuracy_after: accs[c], thread_times_last_round: stats[c]!.at(-1),
      load_avg_1m: loadAvg1(), ...prov, timestamp: stamp,
    };
    console.log(`${k.padEnd(6)} ${strategy.padEnd(8)} x${workers}: ${med.toFixed(4)} s/epoch (${row.all_seconds}), speed-up ${row.speedup_vs_serial.toFixed(2)}x, test ${(100 * accs[c]!).toFixed(2)} %\n    ${row.thread_times_last_round}`);
    return row;
  });
  writeFileSync('results/parallel-speed.csv', stringify(rows, { header: true }));
}

/** Child mode: train a few batches of a ~32 M-weight network, print peak RSS in MB. */
async function memoryChild(strategy: StrategyName, workers: number): Promise<void> {
  const n = 64;
  const x = new Float64Array(n * 784).map((_, i) => ((i * 2654435761) % 1000) / 1000);
  const y = Float64Array.from({ length: n }, (_, i) => i % 2);
  const data = { n, features: 784, outputs: 1, x, y, labels: Int32Array.from({ length: n }, (_, i) => i % 2), classes: [0, 1] };
  const t = await createTrainer({ preset: 'bench-wide', model: { hidden: [4096, 4096, 2048] }, train: { batch: 16 }, strategy, workers });
  await t.fit(data, { epochs: 1 });
  const weights = t.layout!.nets[0]!.layers.reduce((s, l) => s + l.nIn * l.nOut, 0);
  await t.close();
  console.log(JSON.stringify({ weights, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
}

/**
 * The CLI path (training, then evaluation of the test split on the piscina pool), on the command of
 * the evaluation-copies issue; peak RSS of the whole process, worker threads included.
 */
function cliMemory(): { path: string; strategy: string; workers: number; weights: string; peak_rss_mb: number; extra_over_serial_mb: number }[] {
  const cli = fileURLToPath(new URL('../src/cli/cli.js', import.meta.url));
  const report = `data:text/javascript,process.on('exit',()=>process.stderr.write('maxrss '+process.resourceUsage().maxRSS+'\\n'))`;
  const rows = (['serial', 'layer'] as StrategyName[]).map((strategy) => {
    const workers = strategy === 'serial' ? 1 : 2;
    const args = ['train', '--data', 'mnist', '--classes', '0,1', '--hidden', '4096,4096', '--epochs', '1', '--limit', '256', '--batch', '64', '--seed', '1', '--strategy', strategy, '--workers', String(workers), '--json'];
    const r = spawnSync(process.execPath, ['--import', report, cli, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`edsim ${args.join(' ')} failed: ${r.stderr}`);
    const kb = Number(/maxrss (\d+)/.exec(r.stderr)![1]);
    const acc = (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { testAccuracy: number }).testAccuracy;
    return { path: `cli train+eval (test ${(100 * acc).toFixed(2)} %)`, strategy, workers, weights: `edsim ${args.join(' ')}`, peak_rss_mb: kb / 1024 };
  });
  return rows.map((r) => ({ ...r, extra_over_serial_mb: r.peak_rss_mb - rows[0]!.peak_rss_mb }));
}

function memory(): void {
  const self = fileURLToPath(import.meta.url);
  const rows = (['serial', 'layer', 'pipeline'] as StrategyName[]).map((strategy) => {
    const workers = strategy === 'serial' ? 1 : 2;
    const out = execFileSync(process.execPath, [self, 'memory-child', strategy, String(workers)], { encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as { weights: number; maxRssMB: number };
    return { strategy, workers, weights: r.weights, peak_rss_mb: r.maxRssMB };
  });
  const base = rows[0]!.peak_rss_mb;
  const lib = rows.map((r) => ({ path: 'library fit', ...r, extra_over_serial_mb: r.peak_rss_mb - base }));
  const cli = cliMemory();
  const out = [...lib, ...cli].map((r) => ({ ...r, ...prov, timestamp: stamp }));
  for (const r of out) console.log(`${r.path}, ${r.strategy.padEnd(8)} x${r.workers}: ${typeof r.weights === 'number' ? `${(r.weights / 1e6).toFixed(1)} M weights` : r.weights}, peak RSS ${r.peak_rss_mb.toFixed(0)} MB (+${r.extra_over_serial_mb.toFixed(0)} MB over serial)`);
  writeFileSync('results/parallel-memory.csv', stringify(out, { header: true }));
}

if (process.argv[2] === 'memory-child') {
  await memoryChild(process.argv[3] as StrategyName, Number(process.argv[4]));
} else {
  if (process.argv[2] !== 'memory') await speed();
  if (process.argv[2] !== 'speed') memory();
  console.log('wrote results/parallel-*.csv');
}
