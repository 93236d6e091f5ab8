/** `edsim scale`: the main job. Sweeps strategies and worker counts, writes CSV + SVG, prints a table. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import cliProgress from 'cli-progress';
import { chanceNote, type NetworkArgs, parseNameList, parseWorkerList, toTrainerOptions, dataOptions } from './cli-options.js';
import { loadDataset } from '../data/data.js';
import { STRATEGIES } from '../engine/executor.js';
import { check } from '../errors.js';
import { checkWritable } from '../files.js';
import { PRESETS } from '../options.js';
import { type CsvRow, CsvWriter, formatTable, provenance, renderSvg, summarizeRows } from '../report/report.js';
import { ceilingRows, predictRows, runScale, type ScaleConfig, scaleConfigs, type ScaleMode, traceFile } from '../report/scale.js';
import { parseQueueUrl, type ScaleSpec, submitScale } from '../queue/queue.js';
import { summarize } from '../report/stats.js';
import { resolveOptions } from '../trainer.js';

export interface ScaleArgs extends NetworkArgs {
  presets?: string;
  strategies: string;
  workerList?: string;
  predict?: string;
  trace?: string;
  queue?: string;
  repeats: number;
  weak?: boolean;
  ceiling?: boolean;
  out?: string;
  json: boolean;
  quiet: boolean;
}

/**
 * Every configuration as one job on whichever machine takes it (three warm-up epochs each, as on a
 * fresh machine); speedups against the preset's first configuration measured on the same host.
 */
async function scaleOverQueue(url: string, a: ScaleArgs, configs: ScaleConfig[], csv: CsvWriter, signal: AbortSignal, onJob: () => void): Promise<{ rows: CsvRow[]; aborted: boolean }> {
  const specs: ScaleSpec[] = configs.map((config) => ({ data: a.data, dataOptions: dataOptions(a), config, repeats: a.repeats, warmup: 3 }));
  const r = await submitScale(url, specs, `${new Date().toISOString()} ${process.pid}`, onJob, signal);
  // Rows in the configurations' order (the jobs finish in any order on several workers).
  const at = (row: CsvRow): number => configs.findIndex((c) => c.presetName === row.preset && c.strategy === row.strategy && c.workers === Number(row.workers));
  const rows = r.rows.flat().sort((x, y) => at(x) - at(y) || Number(x.repeat) - Number(y.repeat));
  for (const row of rows) {
    const first = configs.find((c) => c.presetName === row.preset)!;
    const base = rows.filter((x) => x.preset === row.preset && x.host === row.host && x.strategy === first.strategy && Number(x.workers) === first.workers);
    const sps = summarize(base.map((x) => Number(x.samples_per_second))).median;
    row.speedup = Number(row.samples_per_second) / sps;
    row.efficiency = Number(row.speedup) / Number(row.workers);
    csv.append(row);
  }
  return { rows, aborted: r.aborted };
}

/** The measured epochs that time threads reliably: ~200 batches or ~0.5 s at the largest thread count. */
export const ENOUGH_BATCHES = 200;
export const ENOUGH_SECONDS = 0.5;

/** A one-line warning when the largest thread count's epochs are too short to time, else undefined. */
export function tooLittleWork(rows: CsvRow[]): string | undefined {
  const measured = rows.filter((r) => r.kind === 'measured' && r.strategy !== 'serial');
  if (measured.length === 0) return undefined;
  const most = Math.max(...measured.map((r) => Number(r.workers)));
  const top = measured.filter((r) => Number(r.workers) === most);
  const seconds = summarize(top.map((r) => Number(r.epoch_seconds))).median;
  const batches = Math.min(...top.map((r) => Number(r.batches_per_epoch)));
  if (batches >= ENOUGH_BATCHES && seconds >= ENOUGH_SECONDS) return undefined;
  return `at ${most} threads an epoch took ${seconds.toFixed(3)} s over ${batches} batches (under ${ENOUGH_SECONDS} s or ${ENOUGH_BATCHES} batches): too little work to time threads reliably; use more data (e.g. --shifted), a larger model, or more --repeats`;
}

export function defaultCsvPath(now = new Date()): string {
  return `results/scale-${now.toISOString().replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z')}.csv`;
}

export async function scaleCommand(a: ScaleArgs, signal: AbortSignal): Promise<number> {
  const strategies = parseNameList(a.strategies, STRATEGIES, 'strategies');
  const workers = a.workerList !== undefined ? parseWorkerList(a.workerList) : Array.from({ length: availableParallelism() }, (_, i) => i + 1);
  const presetNames = a.presets !== undefined ? parseNameList(a.presets, PRESETS, 'presets') : [a.preset];
  const predict = a.predict !== undefined ? parseWorkerList(a.predict, 'predict') : [];
  if (a.queue !== undefined) parseQueueUrl(a.queue);
  check(a.ceiling !== true || a.queue === undefined, '--ceiling measures this machine: it does not go over a --queue');
  // An empty prefix would write files named "-<preset>-...": refused, as train refuses an empty --trace.
  check(a.trace === undefined || a.trace.trim() !== '', '--trace needs a file prefix, got an empty one (e.g. --trace results/trace)');
  const out = a.out ?? defaultCsvPath();
  if (a.out === undefined && !existsSync(dirname(out))) mkdirSync(dirname(out), { recursive: true });
  checkWritable(out, '--out');
  const svgPath = out.replace(/\.csv$/i, '') + '.svg';
  checkWritable(svgPath);
  const presets = presetNames.map((name) => {
    const options = toTrainerOptions({ ...a, preset: name });
    return { name, options, topology: resolveOptions(options).model.topology };
  });
  const data = await loadDataset(a.data, dataOptions(a));
  const mode: ScaleMode = a.weak === true ? 'weak' : 'strong';
  const { configs, skipped } = scaleConfigs(presets.map((p) => ({ ...p, outputs: data.train.outputs })), strategies, workers, mode);
  const log = (s: string): void => {
    if (!a.quiet && !a.json) process.stderr.write(`${s}\n`);
  };
  skipped.forEach((s) => log(`edsim: ${s}`));
  const cores = availableParallelism();
  const most = Math.max(...configs.map((c) => c.workers));
  if (most > cores && a.queue === undefined) {
    process.stderr.write(`edsim: warning: up to ${most} threads on ${cores} available cores: rows with more threads than cores are marked oversubscribed (their speedups measure sharing, not scaling)\n`);
  }
  const csv = new CsvWriter(out);
  // A progress bar on stderr when stdout is a terminal; nothing when piped, with --quiet or --json.
  const tty = process.stdout.isTTY === true && process.stderr.isTTY === true && !a.quiet && !a.json;
  const bar = tty ? new cliProgress.SingleBar({ format: 'scale [{bar}] {value}/{total} configurations | {config}', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
  bar?.start(configs.length, 0, { config: '' });
  let done = 0;
  if (a.trace !== undefined && configs.length > 0) checkWritable(traceFile(a.trace, configs[0]!));
  const result = a.queue !== undefined
    ? await scaleOverQueue(a.queue, a, configs, csv, signal, () => bar?.update(++done, { config: 'over the queue' }))
    : await runScale(data, configs, csv, provenance(), {
      repeats: a.repeats,
      ...(a.trace !== undefined ? { tracePrefix: a.trace } : {}),
      signal,
      onConfig: (c) => {
        bar?.update(done++, { config: `${c.presetName} ${c.strategy} x${c.workers}` });
      },
    });
  bar?.update(configs.length);
  bar?.stop();
  if (a.ceiling === true && !result.aborted) {
    // Each preset's baseline, as its measured rows' speed-ups were computed against it.
    const baseline = (preset: string): number => {
      const r = result.rows.find((x) => x.kind === 'measured' && x.preset === preset && Number(x.speedup) > 0);
      return r ? Number(r.samples_per_second) / Number(r.speedup) : NaN;
    };
    const within = workers.filter((w) => w > 1 && w <= cores);
    if (within.length === 0) process.stderr.write(`edsim: warning: --ceiling: no thread count above 1 within the ${cores} cores, so no ceiling was measured\n`);
    else log('edsim: measuring the machine\'s ceiling: at each thread count, that many serial trainings at once');
    const c = await ceilingRows(data, presets, within, baseline, {
      repeats: a.repeats, mode, signal, onConfig: (p, w) => log(`edsim: ceiling: ${p}, ${w} serial trainings at once`),
    }, provenance(), csv);
    result.rows.push(...c.rows);
    if (c.aborted) result.aborted = true;
  }
  const short = tooLittleWork(result.rows);
  if (short) process.stderr.write(`edsim: warning: ${short}\n`);
  if (predict.length > 0 && !result.aborted) {
    log('edsim: measuring per-layer costs and the hand-off latency for the predictions');
    const predicted = await predictRows(data, presets, strategies, [...new Set([...workers, ...predict])].sort((x, y) => x - y), provenance(), mode);
    for (const row of predicted) csv.append(row);
    result.rows.push(...predicted);
  }
  const summary = summarizeRows(result.rows.filter((r) => Number.isFinite(Number(r.speedup))));
  if (summary.length > 0) {
    const title = `edsim ${mode === 'weak' ? 'weak scaling (batch x threads)' : 'scaling'}: ${a.data}${a.classes ? ` ${a.classes}` : ''} (${presetNames.join(', ')})`;
    writeFileSync(svgPath, await renderSvg(summary, title));
  }
  if (a.json) {
    process.stdout.write(`${JSON.stringify({ csv: out, svg: summary.length ? svgPath : null, aborted: result.aborted, configurations: summary })}\n`);
  } else {
    process.stdout.write(`${formatTable(summary)}\n\nCSV: ${out}\n${summary.length ? `SVG: ${svgPath}\n` : ''}`);
  }
  const chance = chanceNote(presets.map(({ name, topology }) => {
    const measured = result.rows.filter((r) => r.kind === 'measured' && r.preset === name).map((r) => Number(r.test_accuracy));
    return { name, topology, accuracy: measured.length ? summarize(measured).median : NaN };
  }), data.train.classes.length);
  if (chance && !a.quiet) process.stderr.write(`edsim: note: ${chance}\n`);
  return result.aborted ? 130 : 0;
}
