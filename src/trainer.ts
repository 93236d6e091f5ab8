/**
 * The public training API: createTrainer -> fit -> evaluate -> save -> close. The network is built
 * at the first fit (or load), when the data's shape is known.
 */
import type { Dataset } from './data/data.js';
import { check, EdsimError } from './errors.js';
import { type Executor, slotSerial, SerialExecutor, STRATEGIES, type StrategyName, type WorkerStats } from './engine/executor.js';
import { allocateMemory, type Floats, type Layout, type Memory } from './engine/layout.js';
import { loadModel, type ModelFile, saveModel } from './model-io.js';
import {
  getPreset, type ModelConfig, type PresetName, type TrainConfig, resolveKernels, validateModelConfig, validateTrainConfig,
} from './options.js';
import { Rng } from './engine/rng.js';
import { initWeights, readWeights, type WeightSet, writeWeights } from './engine/weights.js';
import { allocateTrace, type TraceEvent, TraceRecorder, type TraceSpec, traceEvents } from './parallel/trace.js';
import { createParallelExecutor, layoutFor, MAX_WORKERS, type ParallelOptions } from './parallel/parallel.js';

export interface TrainerOptions {
  preset?: PresetName;
  /** Overrides of the preset's model settings (inputs/outputs come from the data). */
  model?: Partial<ModelConfig>;
  /** Overrides of the preset's training settings. */
  train?: Partial<TrainConfig>;
  strategy?: StrategyName;
  /** Threads to use, the calling thread included (1 = everything on the caller). */
  workers?: number;
  /** Parallel engine settings: stall timeout, and test-only fault injection. */
  parallel?: ParallelOptions;
  /** Record every thread's forward, amine, update, wait and stage spans (read them with trainer.trace()). */
  trace?: boolean;
}

export interface EpochResult {
  epoch: number;
  errSum: number;
  wrong: number;
  trainAccuracy: number;
  seconds: number;
  samplesPerSecond: number;
  stats: WorkerStats[];
}

export interface FitOptions {
  epochs?: number;
  onEpoch?: (e: EpochResult) => void;
  signal?: AbortSignal;
  /** Called after every mini-batch (serial and layer strategies), e.g. to record outputs. */
  onBatch?: (start: number, count: number, f: Floats, layout: Layout) => void;
}

export interface FitHistory {
  epochs: EpochResult[];
  converged: boolean;
  aborted: boolean;
}

export interface Evaluation {
  accuracy: number;
  errSum: number;
  wrong: number;
  samples: number;
}

export class Trainer {
  model: ModelConfig | undefined;
  layout: Layout | undefined;
  mem: Memory | undefined;
  private executor: Executor | undefined;
  /** Original labels of the classes the outputs stand for. */
  classes: number[] = [];
  private epochsDone = 0;
  private failed: Error | undefined;
  private readonly rng: Rng;
  private traceSpec: TraceSpec | undefined;
  /** Record spans for trace() (set before the first fit). */
  tracing = false;

  constructor(
    readonly modelDefaults: Omit<ModelConfig, 'inputs' | 'outputs'> & Partial<ModelConfig>,
    readonly train: TrainConfig,
    readonly strategy: StrategyName,
    readonly workers: number,
    readonly parallel: ParallelOptions = {},
  ) {
    this.rng = new Rng(train.seed ^ 0x5eed);
  }

  /**
   * The model and memory layout for data of this shape, validated (a model too big for one shared
   * memory fails here, before anything is allocated).
   */
  plan(inputs: number, outputs: number): { model: ModelConfig; layout: Layout } {
    const model: ModelConfig = { ...this.modelDefaults, inputs, outputs };
    validateModelConfig(model);
    return { model, layout: layoutFor(this.strategy, this.workers, model, this.train.batch) };
  }

  /**
   * Builds the network for data of this shape (or for a loaded model), allocating all shared memory
   * once and starting the workers. The output strategy also shares `data` with its workers.
   */
  async build(inputs: number, outputs: number, weights?: WeightSet, data?: Dataset): Promise<void> {
    if (this.model) {
      check(this.model.inputs === inputs && this.model.outputs === outputs,
        `data has ${inputs} features and ${outputs} outputs, but the model was built for ${this.model.inputs} and ${this.model.outputs}`);
      return;
    }
    const { model, layout } = this.plan(inputs, outputs);
    const mem = allocateMemory(layout, model.beta);
    if (weights) writeWeights(mem.f, layout, weights);
    else initWeights(mem.f, layout, model, this.train.seed);
    if (this.tracing) this.traceSpec = allocateTrace(this.workers);
    const spec = this.traceSpec;
    this.executor = this.strategy === 'serial'
      ? new SerialExecutor(mem, layout, model, spec && new TraceRecorder(spec, 0))
      : await createParallelExecutor(this.strategy, this.workers, mem, layout, model, { ...this.parallel, ...(data ? { data } : {}), ...(spec ? { trace: spec } : {}) });
    this.model = model;
    this.layout = layout;
    this.mem = mem;
  }

  /** Trains; resolves with the history. An aborted signal stops after the current batch and rolls back to the last whole epoch. */
  async fit(data: Dataset, opts: FitOptions = {}): Promise<FitHistory> {
    check(data.n > 0, 'training data is empty');
    if (this.failed) throw new EdsimError(`this trainer's workers failed earlier (${this.failed.message}); create a new trainer`);
    await this.build(data.features, data.outputs, undefined, data);
    this.classes = data.classes;
    const epochs = opts.epochs ?? this.train.epochs;
    check(Number.isInteger(epochs) && epochs >= 1, `epochs must be a positive integer, got ${epochs}`);
    const layout = this.layout!;
    const f = this.mem!.f;
    const history: FitHistory = { epochs: [], converged: false, aborted: false };
    const order = Int32Array.from({ length: data.n }, (_, i) => i);
    // The last whole epoch's weights, in the memory's own precision (one contiguous copy).
    const snapshot = f.slice(0, layout.weightFloats);
    for (let e = 0; e < epochs; e++) {
      await new Promise<void>((r) => setImmediate(r)); // let signals and worker events in between epochs
      if (opts.signal?.aborted) {
        history.aborted = true;
        break;
      }
      if (this.train.shuffle) this.rng.shuffle(order);
      f[layout.rate] = 1 / (1 + (this.train.alphaDecay ?? 0) * this.epochsDone);
      const t0 = performance.now();
      const hook = opts.onBatch ? (s: number, c: number) => opts.onBatch!(s, c, f, layout) : undefined;
      let tally;
      try {
        tally = await this.executor!.trainEpoch(data, order, this.train.batch, hook, opts.signal);
      } catch (e) {
        // A failed worker leaves a half-trained epoch: go back to the last whole one, so it can be
        // saved; stop every other worker; refuse further training.
        f.set(snapshot);
        this.failed = e as Error;
        await this.executor!.close();
        throw e;
      }
      const seconds = (performance.now() - t0) / 1000;
      if (tally.samples < data.n) {
        f.set(snapshot);
        history.aborted = true;
        break;
      }
      snapshot.set(f.subarray(0, layout.weightFloats));
      this.epochsDone++;
      const result: EpochResult = {
        epoch: this.epochsDone, errSum: tally.errSum, wrong: tally.wrong, trainAccuracy: tally.correct / tally.samples,
        seconds, samplesPerSecond: tally.samples / seconds, stats: this.executor!.takeStats(),
      };
      history.epochs.push(result);
      opts.onEpoch?.(result);
      if (this.train.stopErrSum > 0 && tally.errSum < this.train.stopErrSum) {
        history.converged = true;
        break;
      }
    }
    return history;
  }

  /** The share of the running epoch done (0 between epochs); undefined where the strategy knows only at the end (output). */
  epochProgress(): number | undefined {
    return this.executor?.progress?.();
  }

  async evaluate(data: Dataset): Promise<Evaluation> {
    check(this.executor, 'the trainer has no model yet: call fit() or load() first');
    check(data.n > 0, 'evaluation data is empty');
    if (this.failed) throw new EdsimError(`this trainer's workers failed earlier (${this.failed.message}); load the saved model to evaluate it`);
    check(data.features === this.model!.inputs && data.outputs === this.model!.outputs,
      `data has ${data.features} features and ${data.outputs} outputs, but the model expects ${this.model!.inputs} and ${this.model!.outputs}`);
    const t = await this.executor.evaluate(data);
    return { accuracy: t.correct / t.samples, errSum: t.errSum, wrong: t.wrong, samples: t.samples };
  }

  /**
   * The model's outputs for every sample of `data` (row-major, one row of `outputs` values per
   * sample), computed on the calling thread with the weights in place; targets are ignored.
   */
  predict(data: Pick<Dataset, 'x' | 'features' | 'outputs' | 'y'>): Float64Array {
    check(this.model && this.layout, 'the trainer has no model yet: call fit() or load() first');
    check(data.features === this.model.inputs, `data has ${data.features} features, but the model expects ${this.model.inputs}`);
    check(data.x.length % data.features === 0 && data.x.length > 0, 'prediction data is empty or ragged');
    const n = data.x.length / data.features;
    const y = data.y.length === n * this.model.outputs ? data.y : new Float64Array(n * this.model.outputs);
    return slotSerial(this.mem!, this.layout!, this.model).outputs({ x: data.x, features: data.features, y, outputs: this.model.outputs });
  }

  /** Every thread's recorded spans as Chrome Trace Event Format events (createTrainer({ trace: true })). */
  trace(): { events: TraceEvent[]; dropped: number } {
    check(this.traceSpec && this.executor, 'no trace was recorded: create the trainer with trace: true and fit it');
    return traceEvents(this.traceSpec, this.executor.threadNames);
  }

  weights(): WeightSet {
    check(this.mem, 'the trainer has no model yet: call fit() or load() first');
    return readWeights(this.mem.f, this.layout!);
  }

  modelFile(): ModelFile {
    return { config: this.model!, weights: this.weights(), classes: this.classes };
  }

  async save(path: string): Promise<void> {
    check(this.model, 'the trainer has no model yet: call fit() or load() first');
    saveModel(path, this.modelFile());
  }

  async close(): Promise<void> {
    await this.executor?.close();
  }
}

/** Fills options from the preset (default `kaneko`) and validates them. */
export function resolveOptions(o: TrainerOptions = {}): { model: Omit<ModelConfig, 'inputs' | 'outputs'>; train: TrainConfig; strategy: StrategyName; workers: number } {
  const preset = getPreset(o.preset ?? 'kaneko');
  const model = { ...preset.model, ...o.model };
  if (preset.alphaTogether && o.model?.alphaHidden !== undefined && o.model.alphaOutput === undefined) model.alphaOutput = o.model.alphaHidden;
  const train: TrainConfig = { ...preset.train, seed: 1, ...o.train };
  validateTrainConfig(train);
  validateModelConfig({ ...model, inputs: 1, outputs: 1 }); // shape-free checks, before any data is read
  model.kernels = resolveKernels(model.kernels, model.precision, true);
  // Asking for threads without a strategy picks a byte-identical one for the topology: independent
  // output nets side by side (kaneko topology); where layers are wide enough to share (4 cells per
  // thread), chunks of samples and ranges of cells claimed by every thread (mini-batches of at least
  // 8 rows a thread) or else cell slices; layer groups for narrow layers (the article's 512 layers of
  // 4 cells, where layer measured 1.81x on 2 threads and samples 1.33x).
  const threads = o.workers ?? 1;
  const wide = Math.max(...model.hidden) >= 4 * threads;
  const strategy = o.strategy ?? (threads === 1 ? 'serial'
    : model.topology === 'kaneko' ? 'output' : wide && train.batch >= 8 * threads ? 'samples' : model.topology !== 'columns' && wide ? 'cells' : 'layer');
  check((STRATEGIES as readonly string[]).includes(strategy), `unknown strategy '${strategy}' (expected one of: ${STRATEGIES.join(', ')})`);
  const workers = o.workers ?? (strategy === 'serial' ? 1 : 2);
  check(Number.isInteger(workers) && workers >= 1 && workers <= MAX_WORKERS, `workers must be an integer from 1 to ${MAX_WORKERS}, got ${workers}`);
  return { model, train, strategy, workers };
}

export async function createTrainer(o: TrainerOptions = {}): Promise<Trainer> {
  const r = resolveOptions(o);
  const t = new Trainer(r.model, r.train, r.strategy, r.workers, o.parallel);
  t.tracing = o.trace === true;
  return t;
}

/** A trainer around a saved model (for evaluation or further training). */
export async function loadTrainer(path: string, o: Omit<TrainerOptions, 'model' | 'preset'> = {}): Promise<Trainer> {
  const file = loadModel(path);
  const r = resolveOptions({ ...o, preset: 'kaneko' });
  const config = { ...file.config, kernels: resolveKernels(file.config.kernels, file.config.precision, false) };
  const trainer = new Trainer(config, { ...r.train, batch: o.train?.batch ?? 128 }, r.strategy, r.workers);
  await trainer.build(file.config.inputs, file.config.outputs, file.weights);
  trainer.classes = file.classes;
  return trainer;
}

