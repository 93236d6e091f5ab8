/**
 * Scaling experiments: for each preset, strategy and worker count, one untimed warm-up epoch (which
 * also starts the workers), then measured epochs, one configuration at a time; a CSV row per
 * measured epoch as soon as it is measured.
 */
import type { LoadedData } from '../data/data.js';
import { check } from '../errors.js';
import type { StrategyName } from '../engine/executor.js';
import { type CsvRow, CsvWriter, loadAvg1, type Provenance, writeTrace } from './report.js';
import { summarize } from './stats.js';
import { measureCosts, predictSamplesPerSecond } from '../parallel/scaling-model.js';
import { createTrainer, resolveOptions, type TrainerOptions } from '../trainer.js';
import { availableParallelism } from 'node:os';
import { IndependentCrew } from '../parallel/independent.js';

export interface ScaleConfig {
  presetName: string;
  options: TrainerOptions;
  strategy: StrategyName;
  workers: number;
  /** strong: the same batch at every thread count; weak: the batch times the thread count (each thread keeps its rows and cells per batch). */
  mode?: ScaleMode;
}

export type ScaleMode = 'strong' | 'weak';

/** The columns every row of a configuration shares: its mode, the batches an epoch takes, whether its threads outnumber the cores. */
export function configColumns(c: ScaleConfig, n: number, batch: number): Pick<CsvRow, 'mode' | 'batches_per_epoch' | 'oversubscribed'> {
  return { mode: c.mode ?? 'strong', batches_per_epoch: Math.ceil(n / batch), oversubscribed: c.workers > availableParallelism() ? 1 : 0 };
}

export interface ScaleOptions {
  repeats: number;
  /** Write every configuration's trace (training and its evaluations) to PREFIX-<preset>-<strategy>-x<threads>.json and .svg. */
  tracePrefix?: string;
  signal?: AbortSignal;
  onRow?: (row: CsvRow) => void;
  onConfig?: (c: ScaleConfig, note?: string) => void;
}

/** The configurations of a sweep; `output` needs several Kaneko nets, so it is skipped elsewhere (with a note). */
export function scaleConfigs(presets: { name: string; options: TrainerOptions; outputs: number }[], strategies: StrategyName[], workers: number[], mode: ScaleMode = 'strong'): { configs: ScaleConfig[]; skipped: string[] } {
  const configs: ScaleConfig[] = [];
  const skipped: string[] = [];
  for (const p of presets) {
    for (const strategy of strategies) {
      if (strategy === 'output' && (p.options.model?.topology ?? (p.name === 'kaneko' ? 'kaneko' : 'paired')) !== 'kaneko') {
        skipped.push(`${p.name}: output strategy skipped (needs the kaneko topology)`);
        continue;
      }
      if (strategy === 'output' && p.outputs < 2) {
        skipped.push(`${p.name}: output strategy skipped (the data has one output)`);
        continue;
      }
      const batch = resolveOptions(p.options).train.batch;
      for (const w of strategy === 'serial' ? [1] : workers) {
        const options = mode === 'weak' ? { ...p.options, train: { ...p.options.train, batch: batch * w } } : p.options;
        configs.push({ presetName: p.name, options: { ...options, strategy, workers: w }, strategy, workers: w, mode });
      }
    }
  }
  return { configs, skipped };
}

/**
 * Predicted rows for every configuration of `presets` at `threads` (and at the measured worker
 * counts), from costs measured on this machine (scaling-model.ts); speedups against the predicted
 * serial rate.
 */
export async function predictRows(data: LoadedData, presets: { name: string; options: TrainerOptions }[], strategies: StrategyName[], threads: number[], prov: Provenance, mode: ScaleMode = 'strong'): Promise<CsvRow[]> {
  const rows: CsvRow[] = [];
  const stamp = new Date().toISOString();
  for (const p of presets) {
    const serialCosts = await measureCosts(p.options, data.train);
    const serial = predictSamplesPerSecond(serialCosts, 'serial', 1);
    const { configs } = scaleConfigs([{ ...p, outputs: data.train.outputs }], strategies, threads, mode);
    // Weak scaling: each thread count has its own batch, so its own costs.
    const costsAt = new Map<number, Awaited<ReturnType<typeof measureCosts>>>([[serialCosts.batch, serialCosts]]);
    const t = await createTrainer({ ...p.options, strategy: 'serial', workers: 1 });
    const { model } = t.plan(t.inputsFor(data.train.features), data.train.outputs);
    await t.close();
    for (const c of configs) {
      const batch = resolveOptions(c.options).train.batch;
      if (!costsAt.has(batch)) costsAt.set(batch, await measureCosts(c.options, data.train));
      const costs = costsAt.get(batch)!;
      const sps = predictSamplesPerSecond(costs, c.strategy, c.workers);
      rows.push({
        kind: 'predicted', strategy: c.strategy, workers: c.workers, repeat: 0, epoch_seconds: data.train.n / sps, samples_per_second: sps,
        speedup: sps / serial, efficiency: sps / serial / c.workers, test_accuracy: '', busy_fraction: '',
        preset: p.name, data: data.name, precision: model.precision, kernels: model.kernels, batch: costs.batch, train_samples: data.train.n,
        load_avg_1m: loadAvg1(), ...prov, timestamp: stamp, ...configColumns(c, data.train.n, costs.batch),
      });
    }
  }
  return rows;
}

/**
 * The machine's ceiling (`scale --ceiling`): for each preset and each thread count P in `threads`
 * (the caller's, each above 1), P serial trainers of the preset, each with its own model, train `repeats` epochs at the
 * same moment after a warm-up epoch (src/parallel/independent.ts): rows of kind `ceiling`, strategy
 * `serial`, P x the samples of an epoch over the wall time of all P. Their speed-up, against the
 * preset's measured baseline (`baseline`: samples per second), is the most any exact strategy could
 * reach on that many threads here. Weak sweeps use the preset's own batch: P independent trainings.
 */
export async function ceilingRows(
  data: LoadedData, presets: { name: string; options: TrainerOptions }[], threads: number[], baseline: (preset: string) => number,
  o: { repeats: number; mode?: ScaleMode; signal?: AbortSignal; onConfig?: (preset: string, threads: number) => void }, prov: Provenance, csv?: CsvWriter,
): Promise<{ rows: CsvRow[]; aborted: boolean }> {
  const rows: CsvRow[] = [];
  const stamp = new Date().toISOString();
  for (const p of presets) {
    const { model, train: { batch } } = resolveOptions(p.options);
    for (const w of [...new Set(threads)].sort((a, b) => a - b)) {
      if (o.signal?.aborted) return { rows, aborted: true };
      o.onConfig?.(p.name, w);
      const crew = await IndependentCrew.start(w, p.options, data.train, 1, model.precision === 'f32');
      try {
        for (let r = 1; r <= o.repeats; r++) {
          if (o.signal?.aborted) return { rows, aborted: true };
          const seconds = await crew.epoch();
          const sps = (w * data.train.n) / seconds;
          const speedup = sps / baseline(p.name);
          const row: CsvRow = {
            kind: 'ceiling', strategy: 'serial', workers: w, repeat: r, epoch_seconds: seconds, samples_per_second: sps, speedup, efficiency: speedup / w,
            test_accuracy: '', busy_fraction: '', preset: p.name, data: data.name, precision: model.precision, kernels: model.kernels, batch, train_samples: data.train.n,
            load_avg_1m: loadAvg1(), ...prov, timestamp: stamp, mode: o.mode ?? 'strong', batches_per_epoch: Math.ceil(data.train.n / batch), oversubscribed: w > availableParallelism() ? 1 : 0,
          };
          rows.push(row);
          csv?.append(row);
        }
      } finally {
        await crew.close();
      }
    }
  }
  return { rows, aborted: false };
}

/** Where `scale --trace PREFIX` writes a configuration's trace. */
export function traceFile(prefix: string, c: ScaleConfig): string {
  return `${prefix.replace(/\.json$/i, '')}-${c.presetName}-${c.strategy}-x${c.workers}.json`;
}

/** Runs every configuration; returns the rows (also appended to `csv` as they come). */
export async function runScale(data: LoadedData, configs: ScaleConfig[], csv: CsvWriter, prov: Provenance, o: ScaleOptions): Promise<{ rows: CsvRow[]; aborted: boolean }> {
  check(configs.length > 0, 'nothing to measure: no strategy applies to this network and data');
  const rows: CsvRow[] = [];
  const baseline = new Map<string, number>();
  const stamp = new Date().toISOString();
  const emit = (row: CsvRow, base: number): void => {
    row.speedup = Number(row.samples_per_second) / base;
    row.efficiency = Number(row.speedup) / Number(row.workers);
    csv.append(row);
    o.onRow?.(row);
  };
  for (const c of configs) {
    if (o.signal?.aborted) return { rows, aborted: true };
    o.onConfig?.(c);
    // One warm-up epoch per configuration; the very first configuration gets three, since the
    // JIT (and V8's tier-up of WebAssembly) would otherwise make whatever runs first look slow.
    const m = await measureConfig(data, c, { repeats: o.repeats, warmup: c === configs[0] ? 3 : 1, ...(o.signal ? { signal: o.signal } : {}), ...(o.tracePrefix !== undefined ? { tracePrefix: o.tracePrefix } : {}) }, prov, stamp);
    for (const row of m.rows) {
      rows.push(row);
      const base = baseline.get(c.presetName);
      if (base !== undefined) emit(row, base);
    }
    if (!baseline.has(c.presetName) && m.rows.length > 0) {
      // The preset's first configuration (serial, when measured) is the baseline of its speedups.
      const mine = rows.filter((x) => x.preset === c.presetName);
      const base = summarize(mine.map((x) => Number(x.samples_per_second))).median;
      baseline.set(c.presetName, base);
      for (const row of mine) emit(row, base);
    }
    if (m.aborted) return { rows, aborted: true };
  }
  return { rows, aborted: false };
}

/**
 * One configuration: `warmup` untimed epochs (which also start the workers), then `repeats`
 * measured epochs, each with the test accuracy after it; rows without speedups (the caller knows
 * the baseline). Also what a queue worker runs for `scale --queue`.
 */
export async function measureConfig(
  data: LoadedData, c: ScaleConfig, o: { repeats: number; warmup: number; signal?: AbortSignal; tracePrefix?: string }, prov: Provenance, stamp: string,
): Promise<{ rows: CsvRow[]; aborted: boolean }> {
  const rows: CsvRow[] = [];
  const trainer = await createTrainer({ ...c.options, trace: o.tracePrefix !== undefined });
  try {
    const warm = await trainer.fit(data.train, { epochs: o.warmup, ...(o.signal ? { signal: o.signal } : {}) });
    if (warm.aborted) return { rows, aborted: true };
    const threads = trainer.workers;
    for (let r = 1; r <= o.repeats; r++) {
      const h = await trainer.fit(data.train, { epochs: 1, ...(o.signal ? { signal: o.signal } : {}) });
      if (h.aborted) return { rows, aborted: true };
      const e = h.epochs[0]!;
      const { accuracy } = await trainer.evaluate(data.test);
      const busy = e.stats.reduce((s, w) => s + w.busyMs, 0);
      rows.push({
        kind: 'measured', strategy: c.strategy, workers: threads, repeat: r, epoch_seconds: e.seconds, samples_per_second: e.samplesPerSecond,
        speedup: NaN, efficiency: NaN, test_accuracy: accuracy, busy_fraction: Math.min(1, busy / (threads * e.seconds * 1000)),
        preset: c.presetName, data: data.name, precision: trainer.model!.precision, kernels: trainer.model!.kernels, batch: trainer.train.batch, train_samples: data.train.n,
        load_avg_1m: loadAvg1(), ...prov, timestamp: stamp, ...configColumns(c, data.train.n, trainer.train.batch),
      });
    }
    if (o.tracePrefix !== undefined) {
      await writeTrace(traceFile(o.tracePrefix, c), trainer.trace(), { preset: c.presetName, strategy: c.strategy, workers: threads, note: 'warm-up, measured epochs and their evaluations' });
    }
    return { rows, aborted: false };
  } finally {
    await trainer.close();
  }
}
