/** Scaling reports: the CSV schema (see results/README.md), provenance, the SVG plot and the table. */
import { execSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, hostname, loadavg } from 'node:os';
import { stringify } from 'csv-stringify/sync';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { summarize } from './stats.js';
import type { TraceEvent } from '../parallel/trace.js';

export const CSV_COLUMNS = [
  'kind', 'strategy', 'workers', 'repeat', 'epoch_seconds', 'samples_per_second', 'speedup', 'efficiency', 'test_accuracy',
  'busy_fraction', 'preset', 'data', 'precision', 'kernels', 'batch', 'train_samples', 'load_avg_1m',
  'git_sha', 'node_version', 'host', 'cpu_model', 'cores', 'timestamp', 'mode', 'batches_per_epoch', 'oversubscribed',
] as const;

export type CsvRow = Record<(typeof CSV_COLUMNS)[number], string | number>;

export interface Provenance {
  git_sha: string;
  node_version: string;
  /** The machine that measured (scale runs over a job queue mix machines). */
  host: string;
  cpu_model: string;
  cores: number;
}

export function provenance(): Provenance {
  let sha = 'unknown';
  try {
    sha = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || 'unknown';
  } catch {
    // not a git checkout
  }
  return { git_sha: sha, node_version: process.version, host: hostname(), cpu_model: cpus()[0]?.model.trim() ?? 'unknown', cores: availableParallelism() };
}

export const loadAvg1 = (): number => Number(loadavg()[0]!.toFixed(2));

/** Appends rows as they are measured, so an interrupted run keeps what it finished. */
export class CsvWriter {
  constructor(readonly path: string) {
    writeFileSync(path, stringify([], { header: true, columns: [...CSV_COLUMNS] }));
  }

  append(row: CsvRow): void {
    appendFileSync(this.path, stringify([row], { columns: [...CSV_COLUMNS] }));
  }
}

export interface ConfigSummary {
  kind: string;
  preset: string;
  strategy: string;
  workers: number;
  samplesPerSecond: number;
  epochSeconds: number;
  speedup: number;
  efficiency: number;
  testAccuracy: number;
  busyFraction: number;
  repeats: number;
  /** (slowest - fastest) / median epoch, over the repeats: the noise a ratio of two rows must clear (NaN under 2 repeats). */
  spread: number;
}

/** Medians per (preset, strategy, workers). */
export function summarizeRows(rows: CsvRow[]): ConfigSummary[] {
  const groups = new Map<string, CsvRow[]>();
  for (const r of rows) {
    const key = `${r.kind}|${r.preset}|${r.strategy}|${r.workers}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const med = (k: keyof CsvRow): number => summarize(g.map((r) => (r[k] === '' ? NaN : Number(r[k])))).median;
    const secs = summarize(g.map((r) => Number(r.epoch_seconds)).filter(Number.isFinite));
    return {
      kind: String(g[0]!.kind), preset: String(g[0]!.preset), strategy: String(g[0]!.strategy), workers: Number(g[0]!.workers),
      samplesPerSecond: med('samples_per_second'), epochSeconds: med('epoch_seconds'), speedup: med('speedup'),
      efficiency: med('efficiency'), testAccuracy: med('test_accuracy'), busyFraction: med('busy_fraction'), repeats: g.length,
      spread: secs.n < 2 ? NaN : (secs.max - secs.min) / secs.median,
    };
  });
}

export function formatTable(s: ConfigSummary[]): string {
  const head = ['preset', 'strategy', 'workers', 'samples/s', 's/epoch', 'spread', 'speedup', 'efficiency', 'test acc', 'busy', 'n'];
  const pct = (v: number, d: number): string => (Number.isFinite(v) ? `${(100 * v).toFixed(d)} %` : '-');
  const body = s.map((r) => [
    r.preset, r.kind === 'predicted' ? `${r.strategy} (predicted)` : r.kind === 'ceiling' ? 'ceiling (serials at once)' : r.strategy, String(r.workers), r.samplesPerSecond.toFixed(0), r.epochSeconds.toFixed(3), pct(r.spread, 0), `${r.speedup.toFixed(2)}x`,
    pct(r.efficiency, 0), pct(r.testAccuracy, 2), pct(r.busyFraction, 0), r.kind === 'predicted' ? '-' : String(r.repeats),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** Renders a vega-lite spec to SVG, headless. */
async function specToSvg(spec: object): Promise<string> {
  const compiled = vl.compile(spec as unknown as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** A plotted line's name: the preset and strategy, or the preset's ceiling (independent serial trainings at once). */
function seriesName(s: ConfigSummary): string {
  return s.kind === 'ceiling' ? `${s.preset} ceiling (serials at once)` : `${s.preset} ${s.strategy}`;
}

/** Speedup and efficiency against workers, one line per strategy, with the ideal; rendered by vega-lite + vega. */
export async function renderSvg(summary: ConfigSummary[], title: string): Promise<string> {
  const maxW = Math.max(1, ...summary.map((s) => s.workers));
  const points = summary.flatMap((s) => [
    { workers: s.workers, series: seriesName(s), kind: s.kind, metric: 'speedup', value: s.speedup },
    { workers: s.workers, series: seriesName(s), kind: s.kind, metric: 'efficiency', value: s.efficiency },
  ]);
  for (const w of new Set([1, ...summary.map((s) => s.workers)])) {
    points.push({ workers: w, series: 'ideal', kind: 'ideal', metric: 'speedup', value: w }, { workers: w, series: 'ideal', kind: 'ideal', metric: 'efficiency', value: 1 });
  }
  // Predictions out to many cores read better on doubling axes.
  const log = maxW > 8;
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: points },
    facet: { column: { field: 'metric', type: 'nominal', title: null, sort: ['speedup', 'efficiency'] } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 300,
      height: 220,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'workers', type: 'quantitative', title: 'threads (workers)', scale: log ? { type: 'log', base: 2 } : { domainMin: 1 }, axis: { tickMinStep: 1 } },
        y: { field: 'value', type: 'quantitative', title: null, scale: log ? { type: 'log', base: 2 } : {} },
        color: { field: 'series', type: 'nominal', title: 'strategy' },
        detail: { field: 'kind' },
        strokeDash: { field: 'kind', type: 'nominal', title: null, scale: { domain: ['measured', 'predicted', 'ideal', 'ceiling'], range: [[1, 0], [6, 3], [2, 2], [8, 2, 2, 2]] } },
      },
    },
  };
  return specToSvg(spec);
}


/** Accuracy against training seconds, one line per method (time-to-accuracy curves; vega-lite). */
export async function renderCurveSvg(points: { series: string; seconds: number; accuracy: number }[], title: string): Promise<string> {
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 520,
    height: 300,
    data: { values: points.map((p) => ({ ...p, accuracy: 100 * p.accuracy })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'seconds', type: 'quantitative', title: 'training seconds (cumulative)' },
      y: { field: 'accuracy', type: 'quantitative', title: 'test accuracy (%)', scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 1, labelLimit: 600 } },
    },
  };
  return specToSvg(spec);
}

/**
 * A timeline of the last few batches of a trace (vega-lite): one row per thread, one bar per span,
 * coloured by what it was, so a reader sees the threads update at the same time.
 */
export async function renderTimelineSvg(events: TraceEvent[], batches = 4, title = 'the last batches, every thread'): Promise<string> {
  const names = new Map(events.filter((e) => e.ph === 'M').map((e) => [e.tid, String(e.args?.name ?? e.tid)]));
  const spans = events.filter((e) => e.ph === 'X');
  const end = Math.max(...spans.map((e) => e.ts! + e.dur!));
  const start = Math.min(...spans.map((e) => e.ts!));
  const perBatch = (end - start) / Math.max(1, spans.filter((e) => e.tid === 0 && e.name === 'update').length);
  const from = end - batches * perBatch;
  const values = spans.filter((e) => e.ts! + e.dur! > from).map((e) => ({
    thread: names.get(e.tid) ?? String(e.tid), span: e.name, start: (Math.max(e.ts!, from) - from) / 1000, end: (e.ts! + e.dur! - from) / 1000,
  }));
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 640,
    height: { step: 28 },
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'thread', type: 'nominal', title: null, sort: [...names.values()], axis: { labelLimit: 400 } },
      x: { field: 'start', type: 'quantitative', title: 'ms' },
      x2: { field: 'end' },
      color: { field: 'span', type: 'nominal', title: null, scale: { domain: ['forward', 'amine', 'update', 'wait', 'stage'], range: ['#4c78a8', '#f58518', '#54a24b', '#d3d3d3', '#b279a2'] } },
    },
  };
  return specToSvg(spec);
}

/** Writes a trace as Chrome Trace Event Format JSON, and its timeline next to it (FILE.svg). */
export async function writeTrace(file: string, trace: { events: TraceEvent[]; dropped: number }, about: Record<string, string | number>): Promise<string> {
  writeFileSync(file, JSON.stringify({ traceEvents: trace.events, displayTimeUnit: 'ms', otherData: { ...about, droppedSpans: trace.dropped } }));
  const svg = file.replace(/\.json$/i, '') + '.svg';
  writeFileSync(svg, await renderTimelineSvg(trace.events));
  return svg;
}
