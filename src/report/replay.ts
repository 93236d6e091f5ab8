/**
 * Replays recorded trajectories (Kaneko's C program; the article's first NumPy implementation) from
 * their initial weights and reports the largest absolute difference from the recording.
 */
import { MAX_TEXT_BYTES, readChecked } from '../files.js';
import type { Dataset } from '../data/data.js';
import { check, EdsimError } from '../errors.js';
import type { ModelConfig } from '../options.js';
import { Trainer } from '../trainer.js';
import type { WeightSet } from '../engine/weights.js';

/** How closely edsim replays a recorded run. */
export interface ReplayResult {
  /** The largest absolute difference over every compared value. */
  maxAbsDiff: number;
  /** Epochs edsim ran. */
  epochs: number;
  /** Epochs the recording holds. */
  recordedEpochs: number;
  /** Where the largest difference is (empty when none). */
  detail: string;
}

function readJson(path: string): Record<string, unknown> {
  const text = readChecked(path, 'recording', MAX_TEXT_BYTES, 'utf8');
  check(text.trim() !== '', `recording ${path} is empty`);
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new EdsimError(`recording ${path} is not valid JSON`);
  }
}

const isNumArray = (a: unknown, n?: number): a is number[] =>
  Array.isArray(a) && (n === undefined || a.length === n) && a.every((v) => typeof v === 'number' && Number.isFinite(v));

function need(ok: unknown, path: string, what: string): asserts ok {
  check(ok, `recording ${path} is malformed: ${what}`);
}

/** The largest absolute difference seen, and where (NaN counts as infinite). */
class MaxDiff {
  value = 0;
  where = '';
  note(d: number, where: string): void {
    if (!(d <= this.value)) {
      this.value = Number.isNaN(d) ? Infinity : d;
      this.where = where;
    }
  }
}

/** Recorded rows are per cell (cell j: its sources in order); edsim stores weights source-major. */
function sourceMajor(rows: number[][]): Float64Array {
  const nOut = rows.length;
  const nIn = rows[0]!.length;
  const w = new Float64Array(nOut * nIn);
  rows.forEach((r, j) => r.forEach((v, i) => { w[i * nOut + j] = v; }));
  return w;
}

function patternData(inputs: number[][], targets: number[][]): Dataset {
  const n = inputs.length;
  const features = inputs[0]!.length;
  const outputs = targets[0]!.length;
  return {
    n, features, outputs, x: Float64Array.from(inputs.flat()), y: Float64Array.from(targets.flat()),
    labels: new Int32Array(n).fill(-1), classes: [],
  };
}

/** Replays a recording of Kaneko's original program (see ED_SPEC.md section 4 for the format). */
export async function kanekoReplay(path: string): Promise<ReplayResult> {
  const r = readJson(path);
  const bits = r.bits as number;
  const hidden = r.hidden as number;
  const outputs = r.outputs as number;
  const p = r.params as Record<string, number>;
  need(Number.isInteger(bits) && bits >= 1 && Number.isInteger(hidden) && hidden >= 1 && Number.isInteger(outputs) && outputs >= 1, path, 'bits, hidden and outputs must be positive integers');
  need(p && ['alpha', 'beta', 'u0', 'u1', 'stopErrSum', 'maxEpochs'].every((k) => typeof p[k] === 'number'), path, 'params needs alpha, beta, u0, u1, stopErrSum, maxEpochs');
  const inputs = r.inputs as number[][];
  const targets = r.targets as number[][];
  need(Array.isArray(inputs) && inputs.length >= 1 && inputs.every((x) => isNumArray(x, bits)), path, `inputs must be rows of ${bits} numbers`);
  need(Array.isArray(targets) && targets.length === inputs.length && targets.every((y) => isNumArray(y, outputs)), path, `targets must be ${inputs.length} rows of ${outputs} numbers`);
  const types = r.hiddenTypes as number[];
  need(isNumArray(types, hidden) && types.every((t, j) => t === (j % 2 === 0 ? -1 : 1)), path, 'hiddenTypes must alternate starting with -1 (I), as in Kaneko\'s program');
  const toWeights = (w: unknown, what: string): WeightSet => {
    need(Array.isArray(w) && w.length === outputs, path, `${what} must hold one entry per output`);
    return (w as { hidden: number[][]; output: number[] }[]).map((net) => {
      need(Array.isArray(net.hidden) && net.hidden.length === hidden && net.hidden.every((row) => isNumArray(row, 2 + 2 * bits)), path, `${what}[].hidden must be ${hidden} rows of ${2 + 2 * bits} numbers`);
      need(isNumArray(net.output, 2 + hidden), path, `${what}[].output must hold ${2 + hidden} numbers`);
      return [
        { w: sourceMajor(net.hidden), b: new Float64Array(0) },
        { w: Float64Array.from(net.output), b: new Float64Array(0) },
      ];
    });
  };
  const initial = toWeights(r.initialWeights, 'initialWeights');
  const final = toWeights(r.finalWeights, 'finalWeights');
  const epochs = r.epochs as { outputs: number[][]; errSum: number; wrong: number }[];
  need(Array.isArray(epochs) && epochs.length >= 1, path, 'epochs must be a non-empty list');

  const model: ModelConfig = {
    topology: 'kaneko', rule: 'kaneko', inputs: bits, outputs, hidden: [hidden], activation: 'sigmoid',
    u0: p.u0!, u1: p.u1!, beta: p.beta!, bias: 'cells', alphaHidden: p.alpha!, alphaOutput: p.alpha!, initScale: 1, faithfulExp: true, precision: 'f64', kernels: 'js',
  };
  const trainer = new Trainer(model, { batch: 1, epochs: p.maxEpochs!, shuffle: false, stopErrSum: p.stopErrSum!, seed: 1 }, 'serial', 1);
  const data = patternData(inputs, targets);
  await trainer.build(bits, outputs, initial);
  const diff = new MaxDiff();
  const note = diff.note.bind(diff);
  let epoch = 0;
  const history = await trainer.fit(data, {
    onBatch: (start, _count, f, layout) => {
      const rec = epochs[epoch]?.outputs?.[start];
      layout.nets.forEach((net, n) => {
        const out = net.layers[net.layers.length - 1]!;
        const got = f[out.y]!;
        note(rec && typeof rec[n] === 'number' ? Math.abs(got - rec[n]!) : Infinity, `epoch ${epoch + 1} pattern ${start} output ${n}`);
      });
    },
    onEpoch: (e) => {
      const rec = epochs[epoch];
      note(rec ? Math.abs(e.errSum - rec.errSum) : Infinity, `epoch ${epoch + 1} errSum`);
      if (rec && e.wrong !== rec.wrong) note(Infinity, `epoch ${epoch + 1} wrong count`);
      epoch++;
    },
  });
  await trainer.close();
  const ran = history.epochs.length;
  const recorded = typeof r.epochsRun === 'number' ? r.epochsRun : epochs.length;
  if (ran !== recorded) note(Infinity, `epochs run: ${ran}, recorded ${recorded}`);
  const got = trainer.weights();
  final.forEach((net, n) => net.forEach((l, k) => l.w.forEach((v, i) => note(Math.abs(got[n]![k]!.w[i]! - v), `final weight net ${n} layer ${k} #${i} (source-major)`))));
  return { maxAbsDiff: diff.value, epochs: ran, recordedEpochs: recorded, detail: diff.where };
}

/** Replays the article's first matrix implementation (the file's `notes` describe it). */
export async function articleReplay(path: string): Promise<ReplayResult> {
  const r = readJson(path);
  const inputs = r.inputs as number[][];
  const rawTargets = r.targets as number[];
  need(Array.isArray(inputs) && inputs.length >= 1 && inputs.every((x) => isNumArray(x, inputs[0]!.length)), path, 'inputs must be rows of numbers');
  need(isNumArray(rawTargets, inputs.length), path, `targets must hold ${inputs.length} numbers`);
  const layers = r.init_weights_per_layer as Record<'pp' | 'np' | 'pn' | 'nn', number[][]>[];
  need(Array.isArray(layers) && layers.length >= 2, path, 'init_weights_per_layer must list at least two layers');
  const recorded = r.outputs_per_iteration_before_update as number[][];
  need(Array.isArray(recorded) && recorded.length >= 1 && recorded.every((o) => isNumArray(o, inputs.length)), path, 'outputs_per_iteration_before_update must be rows of one output per pattern');
  const finalOut = r.final_outputs as number[];
  need(isNumArray(finalOut, inputs.length), path, 'final_outputs must hold one output per pattern');
  const alpha = /alpha=([0-9.]+)/.exec(String(r.model ?? ''));
  const features = inputs[0]!.length;
  const widths: number[] = [];
  const weights = layers.map((l, k) => {
    const nIn = k === 0 ? features : widths[k - 1]!;
    const isOut = k === layers.length - 1;
    const blocks = ['pp', 'np', 'pn', 'nn'] as const;
    need(blocks.every((b) => Array.isArray(l[b]) && l[b].length === nIn && l[b].every((row) => isNumArray(row, l.pp[0]!.length))), path, `layer ${k} needs pp, np, pn, nn matrices of ${nIn} rows`);
    const nOut = l.pp[0]!.length;
    widths.push(nOut);
    const cells = isOut ? 1 : 2;
    const cols = cells * nOut;
    const w = new Float64Array(cols * 2 * nIn);
    for (let c = 0; c < cells; c++) {
      for (let j = 0; j < nOut; j++) {
        for (let i = 0; i < nIn; i++) {
          // E cells: +pp from E sources, -np from I sources; I cells: -pn from E sources, +nn from I sources.
          w[i * cols + c * nOut + j] = c === 0 ? l.pp[i]![j]! : -l.pn[i]![j]!;
          w[(nIn + i) * cols + c * nOut + j] = c === 0 ? -l.np[i]![j]! : l.nn[i]![j]!;
        }
      }
    }
    return { w, b: new Float64Array(0) };
  });
  need(widths[widths.length - 1] === 1, path, 'the output layer must have one output');
  const a = alpha ? Number(alpha[1]) : 0.8;
  const model: ModelConfig = {
    topology: 'paired', rule: 'bidirectional', inputs: features, outputs: 1, hidden: widths.slice(0, -1).map((w) => 2 * w),
    activation: 'sigmoid', u0: 0.4, u1: 1, beta: 0, bias: 'none', alphaHidden: a, alphaOutput: 0.8, initScale: 1, faithfulExp: false, precision: 'f64', kernels: 'js',
  };
  const n = inputs.length;
  const trainer = new Trainer(model, { batch: n, epochs: recorded.length, shuffle: false, stopErrSum: 0, seed: 1 }, 'serial', 1);
  const data = patternData(inputs, rawTargets.map((t) => [t]));
  await trainer.build(features, 1, [weights]);
  const diff = new MaxDiff();
  const note = diff.note.bind(diff);
  let it = 0;
  await trainer.fit(data, {
    onBatch: (_s, count, f, layout) => {
      const out = layout.nets[0]!.layers[layout.nets[0]!.layers.length - 1]!;
      for (let b = 0; b < count; b++) note(Math.abs(f[out.y + b * out.yStride]! - recorded[it]![b]!), `iteration ${it} pattern ${b}`);
      it++;
    },
  });
  const trainerOut = trainer.layout!.nets[0]!;
  await trainer.evaluate(data);
  const out = trainerOut.layers[trainerOut.layers.length - 1]!;
  for (let b = 0; b < n; b++) note(Math.abs(trainer.mem!.f[out.y + b * out.yStride]! - finalOut[b]!), `final output ${b}`);
  await trainer.close();
  return { maxAbsDiff: diff.value, epochs: it, recordedEpochs: recorded.length, detail: diff.where };
}
