/**
 * The public training API: createTrainer -> fit -> evaluate -> save -> close. The network is built
 * at the first fit (or load), when the data's shape is known.
 */
import type { Dataset } from './data/data.js';
import { codeInputs, codes, inputMeans, onOffInputs } from './data/coding.js';
import { featureSpec, gaborFeatures, networkInputs } from './data/features.js';
import { check, EdsimError } from './errors.js';
import { type Executor, memberMeans, slotSerial, SerialExecutor, STRATEGIES, type StrategyName, type WorkerStats } from './engine/executor.js';
import { allocateMemory, type Floats, type Layout, type Memory } from './engine/layout.js';
import { type Calibration, loadModel, type ModelFile, saveModel } from './model-io.js';
import {
  type Checkpoint, type CheckpointOptions, type EpochRecord, fingerprintData, readCheckpoint, resumeMismatch, writeCheckpoint,
} from './checkpoint.js';
import {
  getPreset, type ModelConfig, type PresetName, type TrainConfig, resolveKernels, validateModelConfig, validateTrainConfig,
} from './options.js';
import { Rng } from './engine/rng.js';
import { initWeights, readWeights, type WeightSet, writeWeights } from './engine/weights.js';
import { allocateTrace, type TraceEvent, TraceRecorder, type TraceSpec, traceEvents } from './parallel/trace.js';
import { createParallelExecutor, layoutFor, MAX_WORKERS, type ParallelOptions } from './parallel/parallel.js';

/** What {@link createTrainer} takes; anything left out comes from the preset. */
export interface TrainerOptions {
  /** Starting settings (default `kaneko`). */
  preset?: PresetName;
  /** Overrides of the preset's model settings (inputs/outputs come from the data). */
  model?: Partial<ModelConfig>;
  /** Overrides of the preset's training settings. */
  train?: Partial<TrainConfig>;
  /** How work is spread over threads (default: serial; with workers > 1, a byte-identical strategy suited to the model). */
  strategy?: StrategyName;
  /** Threads to use, the calling thread included (1 = everything on the caller). */
  workers?: number;
  /** Parallel engine settings: stall timeout, and test-only fault injection. @internal */
  parallel?: ParallelOptions;
  /** Record every thread's forward, amine, update, wait and stage spans (read them with trainer.trace()). */
  trace?: boolean;
  /**
   * Start from a saved model (a path, edsim JSON or safetensors, or a loaded ModelFile): its weights,
   * and its config, which fixes the shape (`model` may still change rates and other non-shape
   * settings). Data of another input size or class count is refused.
   */
  init?: string | ModelFile;
}

/** One finished epoch, with each thread's time computing and waiting. */
export interface EpochResult extends EpochRecord {
  /** Per thread: time computing and waiting. */
  stats: WorkerStats[];
}

/** Options of {@link Trainer.fit}. */
export interface FitOptions {
  /** Epochs to train (default: the training settings'; with `resume`, counted from the run's start). */
  epochs?: number;
  /** Called after every finished epoch. */
  onEpoch?: (e: EpochResult) => void;
  /** Aborting stops after the current batch and rolls back to the last whole epoch. */
  signal?: AbortSignal;
  /** Called after every mini-batch (serial and layer strategies), e.g. to record outputs. @internal */
  onBatch?: (start: number, count: number, f: Floats, layout: Layout) => void;
  /** Write checkpoints (a path: after every epoch; or CheckpointOptions) that `resume` can go on from. */
  checkpoint?: string | CheckpointOptions;
  /**
   * Go on from a checkpoint (a path, or one read with readCheckpoint) into this fresh trainer, made
   * with the same options (the epoch count, the thread count and the byte-identical strategy may
   * differ) and given the same data: the run ends byte-identical to one never stopped. `epochs`
   * then counts from the run's start, the checkpoint's epochs included.
   */
  resume?: string | Checkpoint;
}

/** What {@link Trainer.fit} resolves with. */
export interface FitHistory {
  /** This fit's epochs; after a resume, the checkpoint's epochs first (with empty stats). */
  epochs: EpochResult[];
  /** Whether an epoch's error sum fell below the stop rule. */
  converged: boolean;
  /** Whether the signal stopped the run. */
  aborted: boolean;
  /** Epochs the run had done at the checkpoint it resumed from (0 without resume). */
  resumedAt: number;
}

/** What {@link Trainer.evaluate} resolves with. */
export interface Evaluation {
  /** Share of samples answered right. */
  accuracy: number;
  /** Summed absolute error. */
  errSum: number;
  /** Outputs off their targets by more than 0.5 (Kaneko's count; with one output, the samples answered wrongly). */
  wrong: number;
  /** Samples scored. */
  samples: number;
}

/** Trains one ED network on one thread or many: fit, evaluate, predict, save, close. */
export class Trainer {
  /** The model, once built (at the first fit or load). */
  model: ModelConfig | undefined;
  /** Where everything lives in shared memory. @internal */
  layout: Layout | undefined;
  /** The shared memory. @internal */
  mem: Memory | undefined;
  private executor: Executor | undefined;
  /** Original labels of the classes the outputs stand for. */
  classes: number[] = [];
  private epochsDone = 0;
  /** The sample order, shuffled further each epoch (so two fits run as one longer fit). */
  private order: Int32Array | undefined;
  /** Every finished epoch of this trainer's run, for checkpoints. */
  private records: EpochRecord[] = [];
  /** Whether the run met its stop rule (a checkpoint of it has nothing left to train). */
  private converged = false;
  /** Weights to build the network from instead of fresh ones (createTrainer's `init`). */
  initial: ModelFile | undefined;
  /** The output calibration (model.calibrate): measured at the end of every fit, or loaded with a model. */
  calibration: Calibration | undefined;
  /**
   * The ON/OFF coding's reference (model.inputOnOff): per value the network reads before the
   * coding, its mean over the first data the trainer read (fit's training data), or loaded with a model.
   */
  inputMean: Float64Array | undefined;
  private failed: Error | undefined;
  private readonly rng: Rng;
  private traceSpec: TraceSpec | undefined;
  /** Record spans for trace() (set before the first fit). */
  tracing = false;
  /** Each data set as the network reads it, computed once (models with a feature bank; see seen()). */
  private readonly views = new WeakMap<object, object>();

  /** Use {@link createTrainer} or {@link loadTrainer}. @internal */
  constructor(
    /** The model settings before the data fixes inputs and outputs. @internal */
    readonly modelDefaults: Omit<ModelConfig, 'inputs' | 'outputs'> & Partial<ModelConfig>,
    /** The training settings. */
    readonly train: TrainConfig,
    /** How work is spread over threads. */
    readonly strategy: StrategyName,
    /** Threads, the calling one included. */
    readonly workers: number,
    /** Parallel engine settings (stall timeout, test faults). @internal */
    readonly parallel: ParallelOptions = {},
  ) {
    this.rng = new Rng(train.seed ^ 0x5eed);
  }

  /**
   * The data as the network reads it: through the model's feature bank where it has one, then its
   * input coding where it has one, else as it is. Users always pass pixels. The view is made once
   * per data set object and then is the same object every call, so a strategy that shares its
   * training data with its workers (output) knows it again at the next fit. @internal
   */
  seen<T extends Pick<Dataset, 'x' | 'features'>>(data: T): T {
    const name = this.modelDefaults.features;
    const coding = { power: this.modelDefaults.inputPower, scale: this.modelDefaults.inputScale };
    const onOff = this.modelDefaults.inputOnOff === true;
    if (name === undefined && !codes(coding) && !onOff) return data;
    let view = this.views.get(data) as T | undefined;
    if (!view) {
      let x: ArrayLike<number> = name === undefined ? data.x : gaborFeatures(data.x, data.x.length / data.features, data.features, featureSpec(name));
      if (codes(coding)) x = codeInputs(x, coding);
      if (onOff) {
        const values = this.inputsFor(data.features) / 2;
        // The first data read fixes the reference: fit's training data (predict and evaluate need a model first).
        this.inputMean ??= inputMeans(x, values);
        x = onOffInputs(x, values, this.inputMean);
      }
      view = { ...data, x, features: this.inputsFor(data.features) };
      this.views.set(data, view);
    }
    return view;
  }

  /** The inputs the network reads from samples of `pixels` values: its feature bank's count, or the pixels; twice that with the ON/OFF coding. */
  inputsFor(pixels: number): number {
    return networkInputs(this.modelDefaults, pixels);
  }

  /**
   * The model and memory layout for data of this shape, validated (a model too big for one shared
   * memory fails here, before anything is allocated). @internal
   */
  plan(inputs: number, outputs: number): { model: ModelConfig; layout: Layout } {
    if (this.initial) {
      const c = this.initial.config;
      check(c.inputs === inputs, `the data has ${inputs} features, but the model to train on reads ${c.inputs}`);
      check(c.outputs === outputs, `the data has ${outputs} output(s), but the model to train on has ${c.outputs}${this.initial.classes.length ? ` (classes ${this.initial.classes.join(',')})` : ''}`);
    }
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
    weights ??= this.initial?.weights;
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

  /**
   * Trains; resolves with the history. An aborted signal stops after the current batch and rolls
   * back to the last whole epoch. With `checkpoint`, writes checkpoints; with `resume`, goes on from one.
   */
  async fit(pixels: Dataset, opts: FitOptions = {}): Promise<FitHistory> {
    check(pixels.n > 0, 'training data is empty');
    if (this.failed) throw new EdsimError(`this trainer's workers failed earlier (${this.failed.message}); create a new trainer`);
    const ckOpts = typeof opts.checkpoint === 'string' ? { path: opts.checkpoint } : opts.checkpoint;
    const every = ckOpts?.everyEpochs ?? 1;
    check(Number.isInteger(every) && every >= 1, `checkpoint every N epochs: N must be a positive integer, got ${every}`);
    check(ckOpts?.everySeconds === undefined || (Number.isFinite(ckOpts.everySeconds) && ckOpts.everySeconds >= 0), `checkpoint seconds must be a number >= 0, got ${String(ckOpts?.everySeconds)}`);
    const fingerprint = ckOpts || opts.resume ? fingerprintData(pixels, ckOpts?.dataDescription ?? '') : undefined;
    const data = this.seen(pixels);
    const history: FitHistory = { epochs: [], converged: false, aborted: false, resumedAt: 0 };
    let epochs = opts.epochs ?? this.train.epochs;
    check(Number.isInteger(epochs) && epochs >= 1, `epochs must be a positive integer, got ${epochs}`);
    if (opts.resume) {
      const ck = typeof opts.resume === 'string' ? readCheckpoint(opts.resume) : opts.resume;
      const where = typeof opts.resume === 'string' ? opts.resume : 'the checkpoint';
      this.checkResume(ck, pixels, where);
      await this.build(data.features, data.outputs, ck.model.weights, data);
      this.rng.state = ck.rng;
      this.order = Int32Array.from(ck.order);
      this.epochsDone = ck.epochsDone;
      this.records = ck.history.slice();
      this.converged = ck.converged;
      history.epochs = ck.history.map((r) => ({ ...r, stats: [] }));
      history.resumedAt = ck.epochsDone;
      history.converged = ck.converged;
      epochs = ck.converged ? 0 : Math.max(0, epochs - ck.epochsDone);
    }
    await this.build(data.features, data.outputs, undefined, data);
    this.classes = data.classes;
    const layout = this.layout!;
    const f = this.mem!.f;
    if (this.order?.length !== data.n) this.order = Int32Array.from({ length: data.n }, (_, i) => i);
    const order = this.order;
    // The last whole epoch's weights, in the memory's own precision (one contiguous copy), and the
    // shuffle's state and order before the running epoch: a stopped epoch leaves no trace.
    const snapshot = f.slice(0, layout.weightFloats);
    const orderBefore = order.slice();
    let rngBefore = this.rng.state;
    let written = performance.now();
    const save = (): void => {
      if (!ckOpts) return;
      writeCheckpoint(ckOpts.path, this.checkpoint(fingerprint!));
      written = performance.now();
    };
    const rollback = (): void => {
      f.set(snapshot);
      order.set(orderBefore);
      this.rng.state = rngBefore;
    };
    for (let e = 0; e < epochs; e++) {
      await new Promise<void>((r) => setImmediate(r)); // let signals and worker events in between epochs
      if (opts.signal?.aborted) {
        history.aborted = true;
        break;
      }
      rngBefore = this.rng.state;
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
        rollback();
        this.failed = e as Error;
        await this.executor!.close();
        throw e;
      }
      const seconds = (performance.now() - t0) / 1000;
      if (tally.samples < data.n) {
        rollback();
        history.aborted = true;
        break;
      }
      snapshot.set(f.subarray(0, layout.weightFloats));
      orderBefore.set(order);
      this.epochsDone++;
      const result: EpochResult = {
        epoch: this.epochsDone, errSum: tally.errSum, wrong: tally.wrong, trainAccuracy: tally.correct / tally.samples,
        seconds, samplesPerSecond: tally.samples / seconds, stats: this.executor!.takeStats(),
      };
      history.epochs.push(result);
      const { stats: _, ...record } = result;
      this.records.push(record);
      if (this.train.stopErrSum > 0 && tally.errSum < this.train.stopErrSum) history.converged = this.converged = true;
      const last = history.converged || e === epochs - 1;
      const due = ckOpts?.everySeconds !== undefined ? (performance.now() - written) / 1000 >= ckOpts.everySeconds : this.epochsDone % every === 0;
      if (last || due) save();
      opts.onEpoch?.(result);
      if (history.converged) break;
    }
    // Stopped: the last whole epoch is checkpointed, unless it already was.
    if (history.aborted && ckOpts && this.records.length > 0) save();
    // Measured from the weights that stand, so a fit split in two calibrates as one longer fit does.
    if (this.model!.calibrate && this.records.length > 0) this.calibrate(pixels);
    return history;
  }

  /**
   * Measures the output calibration (see ModelConfig.calibrate) from the current weights: each
   * output's mean and standard deviation over the first `count` samples of `pixels` (default: the
   * model's `calibrate`), labels unused. fit calls it where the model asks; call it yourself to
   * calibrate a model trained without it (evaluate and scores then use it).
   */
  calibrate(pixels: Pick<Dataset, 'x' | 'features' | 'outputs' | 'y'>, count = this.model?.calibrate ?? 0): Calibration {
    check(this.model, 'the trainer has no model yet: call fit() or load() first');
    check(Number.isInteger(count) && count >= 1, `calibrate needs a whole number of samples >= 1, got ${count}`);
    check(this.model.outputs >= 2, 'calibrate needs two or more outputs (it standardises each output to compare them)');
    const n = Math.min(count, pixels.x.length / pixels.features);
    const first = { x: pixels.x.subarray(0, n * pixels.features), features: pixels.features, outputs: pixels.outputs, y: pixels.y.subarray(0, n * pixels.outputs) };
    this.calibration = calibrationOf(this.predict(first), this.model.outputs);
    return this.calibration;
  }

  /**
   * Throws, in one line, unless fit(data, { resume: ck }) can go on from `ck`: a fresh trainer, the
   * same data (by fingerprint), the same options but for the epoch count and an exact strategy.
   */
  checkResume(ck: Checkpoint, data: Dataset, where = 'the checkpoint'): void {
    check(!this.model, 'resume into a fresh trainer: this one has a model already');
    const fp = fingerprintData(data);
    if (fp.sha256 !== ck.data.sha256) {
      const d = ck.data;
      throw new EdsimError(`${where} was written for other data (${d.description || 'a data set'}: ${d.n} samples, ${d.features} features, ${d.outputs} output(s)); this run's data (${data.n} samples, ${data.features} features, ${data.outputs} output(s)) differs`);
    }
    const why = resumeMismatch(ck, this.plan(this.inputsFor(data.features), data.outputs).model, this.train, this.strategy, this.workers);
    if (why) throw new EdsimError(`cannot resume from ${where}: ${why}`);
  }

  /** The run's state after its last whole epoch, as a checkpoint (what fit writes). */
  checkpoint(data: ReturnType<typeof fingerprintData>): Checkpoint {
    check(this.model && this.order, 'the trainer has no run to checkpoint: call fit() first');
    return {
      // No calibration: fit measures it anew at its end, from the weights that stand then.
      model: { config: this.model, weights: this.weights(), classes: this.classes, ...(this.inputMean ? { inputMean: this.inputMean } : {}) }, train: this.train, strategy: this.strategy, workers: this.workers, data,
      epochsDone: this.epochsDone, converged: this.converged, history: this.records, rng: this.rng.state,
      order: this.order, written: new Date().toISOString(),
    };
  }

  /** The share of the running epoch done (0 between epochs); undefined where the strategy knows only at the end (output). */
  epochProgress(): number | undefined {
    return this.executor?.progress?.();
  }

  /** Scores `data` with the current weights: accuracy, error sum, wrong answers. */
  async evaluate(pixels: Dataset): Promise<Evaluation> {
    check(this.executor, 'the trainer has no model yet: call fit() or load() first');
    check(pixels.n > 0, 'evaluation data is empty');
    if (this.failed) throw new EdsimError(`this trainer's workers failed earlier (${this.failed.message}); load the saved model to evaluate it`);
    const data = this.seen(pixels);
    check(data.features === this.model!.inputs && data.outputs === this.model!.outputs,
      `data has ${data.features} features and ${data.outputs} outputs, but the model expects ${this.model!.inputs} and ${this.model!.outputs}`);
    // Calibrated: the strategy's own pass answers by the standardised outputs (scores); errSum and wrong stay Kaneko's counts of the raw outputs.
    const t = await this.executor.evaluate(data, data.outputs >= 2 ? this.calibration : undefined);
    return { accuracy: t.correct / t.samples, errSum: t.errSum, wrong: t.wrong, samples: t.samples };
  }

  /**
   * What the model answers by: predict's outputs, standardised per output by the calibration where
   * the model has one ((output - mean) / sd), else the outputs themselves. The answer for a sample is
   * its largest score.
   */
  scores(pixels: Pick<Dataset, 'x' | 'features' | 'outputs' | 'y'>): Float64Array {
    const o = this.predict(pixels);
    return this.calibration ? standardise(o, this.calibration) : o;
  }

  /**
   * The model's outputs for every sample of `data` (row-major, one row of `outputs` values per
   * sample), computed on the calling thread with the weights in place; targets are ignored.
   */
  predict(pixels: Pick<Dataset, 'x' | 'features' | 'outputs' | 'y'>): Float64Array {
    check(this.model && this.layout, 'the trainer has no model yet: call fit() or load() first');
    check(pixels.features > 0 && pixels.x.length % pixels.features === 0 && pixels.x.length > 0, 'prediction data is empty or ragged');
    const data = this.seen(pixels);
    check(data.features === this.model.inputs, `data has ${data.features} features, but the model expects ${this.model.inputs}`);
    const n = data.x.length / data.features;
    const y = data.y.length === n * this.model.outputs ? data.y : new Float64Array(n * this.model.outputs);
    const rows = slotSerial(this.mem!, this.layout!, this.model).outputs({ x: data.x, features: data.features, y, outputs: this.model.outputs });
    return memberMeans(rows, n, this.layout.members);
  }

  /** Every thread's recorded spans as Chrome Trace Event Format events (createTrainer({ trace: true })). */
  trace(): {
    /** The spans, one track per thread. */
    events: TraceEvent[];
    /** Spans lost because a thread's ring was full. */
    dropped: number;
  } {
    check(this.traceSpec && this.executor, 'no trace was recorded: create the trainer with trace: true and fit it');
    return traceEvents(this.traceSpec, this.executor.threadNames);
  }

  /** A copy of every layer's weights and bias, as float64. */
  weights(): WeightSet {
    check(this.mem, 'the trainer has no model yet: call fit() or load() first');
    return readWeights(this.mem.f, this.layout!);
  }

  /** The model as {@link saveModel} writes it. */
  modelFile(): ModelFile {
    return {
      config: this.model!, weights: this.weights(), classes: this.classes,
      ...(this.calibration ? { calibration: this.calibration } : {}), ...(this.inputMean ? { inputMean: this.inputMean } : {}),
    };
  }

  /** Writes the model atomically (a name ending in .safetensors writes that format). */
  async save(path: string): Promise<void> {
    check(this.model, 'the trainer has no model yet: call fit() or load() first');
    saveModel(path, this.modelFile());
  }

  /** Ends every worker thread. */
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
  validateModelConfig({ ...model, inputs: 1, outputs: 2 }, true); // shape-free checks, before any data is read (2 outputs: any the data may bring)
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

/** A trainer with `options` resolved against the preset (default `kaneko`); the network is built at the first fit. */
export async function createTrainer(o: TrainerOptions = {}): Promise<Trainer> {
  const init = typeof o.init === 'string' ? loadModel(o.init) : o.init;
  let r = resolveOptions(o);
  if (init) {
    // The saved config fixes the shape; explicit non-shape settings (rates, kernels) still apply.
    const { inputs: _i, outputs: _o, ...saved } = init.config;
    const shape = { topology: saved.topology, hidden: saved.hidden, bias: saved.bias, precision: saved.precision, ensemble: saved.ensemble ?? 1, features: saved.features ?? 'none',
      inputPower: saved.inputPower ?? 1, inputScale: saved.inputScale ?? 1, inputOnOff: saved.inputOnOff ?? false };
    // What the caller asks of the model: a key passed as undefined asks for nothing (it neither
    // changes the shape nor unsets a saved value).
    const asked: Partial<ModelConfig> = Object.fromEntries(Object.entries(o.model ?? {}).filter(([, v]) => v !== undefined));
    for (const [k, was] of Object.entries(shape) as [keyof typeof shape, unknown][]) {
      const v = asked[k];
      check(v === undefined || JSON.stringify(v) === JSON.stringify(was), `the model to train on has ${k} ${JSON.stringify(was)}; it cannot change (asked for ${JSON.stringify(v)})`);
    }
    // Kernels: the fastest here for the saved precision (the saved name may not be available here);
    // the saved ensemble size, feature bank and input coding, also where the file predates them (a preset's must not apply).
    r = resolveOptions({ ...o, model: { ...saved, ensemble: saved.ensemble, features: saved.features, inputPower: saved.inputPower, inputScale: saved.inputScale, inputOnOff: saved.inputOnOff, kernels: 'auto', ...asked } });
  }
  const t = new Trainer(r.model, r.train, r.strategy, r.workers, o.parallel);
  t.tracing = o.trace === true;
  t.initial = init;
  t.inputMean = init?.inputMean;
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
  trainer.calibration = file.calibration;
  trainer.inputMean = file.inputMean;
  return trainer;
}

/** Each of `k` outputs' mean and standard deviation over the rows of `o` (row-major outputs). */
export function calibrationOf(o: Float64Array, k: number): Calibration {
  const n = o.length / k;
  const mean = new Float64Array(k);
  const sd = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let m = 0;
    for (let s = 0; s < n; s++) m += o[s * k + c]!;
    m /= n;
    let v = 0;
    for (let s = 0; s < n; s++) v += (o[s * k + c]! - m) ** 2;
    mean[c] = m;
    // An output constant over every sample has no spread to compare: it keeps its raw scale.
    sd[c] = Math.sqrt(v / n) || 1;
  }
  return { mean, sd };
}

/** Rows of outputs (one value per output a row) standardised in place by a calibration: (o - mean) / sd per output. */
export function standardise(o: Float64Array, cal: Calibration): Float64Array {
  const k = cal.mean.length;
  for (let i = 0; i < o.length; i++) o[i] = (o[i]! - cal.mean[i % k]!) / cal.sd[i % k]!;
  return o;
}
