#!/usr/bin/env node
/**
 * The edsim command line. Every failure prints one line on stderr and exits non-zero (2 for bad
 * input, 1 for a failure while running, 130 when interrupted); --verbose adds the stack trace.
 */
import { availableParallelism } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadDataset } from '../data/data.js';
import { codingText } from '../data/coding.js';
import { EdsimError } from '../errors.js';
import { nativeReason } from '../kernels/native.js';
import { ROW_COLUMNS, type RunRow, type RunSpec, runOne, summarizeRuns } from '../queue/runs.js';
import { stringify } from 'csv-stringify/sync';
import { fastestExactStrategy } from '../parallel/scaling-model.js';
import { checkWritable } from '../files.js';
import { readCheckpoint } from '../checkpoint.js';
import { checkJsonModelFits, modelFormatOf } from '../model-io.js';
import { articleReplay, kanekoReplay, type ReplayResult } from '../report/replay.js';
import { chanceNote, dataOptions, int, type NetworkArgs, num, toTrainerOptions, withDataFlags, withModelFlags, withNetworkFlags } from './cli-options.js';
import type { ScaleArgs } from './scale-command.js';
import { choiceLine } from './usage-errors.js';
import { EXAMPLES } from './examples.js';
import { parseClasses } from '../data/data.js';
import { createTrainer, loadTrainer, type Trainer } from '../trainer.js';
import { summarize } from '../report/stats.js';

/** A command's --help examples (src/cli/examples.ts, which the examples test also runs). */
const examplePairs = (command: string): [string, string][] => (EXAMPLES[command] ?? []).map((e) => [e.cmd, e.desc]);

let verbose = process.argv.includes('--verbose');
// Output piped into a reader that stops early (| head) is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
// edsim's own version: yargs would look for a package.json from the working directory up, which
// inside a user's project is the user's.
const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function fail(err: unknown, code = 1): never {
  const e = err instanceof Error ? err : new Error(String(err));
  const line = e instanceof EdsimError ? e.message : `${e.message}`;
  process.stderr.write(`edsim: ${line.split('\n')[0]}\n`);
  if (verbose && e.stack) process.stderr.write(`${e.stack}\n`);
  process.exit(e instanceof EdsimError ? 2 : code);
}

/** Which kernels run, and with --verbose why (the native variant and the CPU features it was chosen for). */
function kernelsLine(k: string): string {
  if (!verbose) return `${k} kernels`;
  return k === 'native' ? `native kernels (${nativeReason()})` : k === 'wasm' ? `wasm kernels (${nativeReason()})` : 'js kernels';
}

const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;

/** Ctrl-C aborts the run cleanly: the current epoch is dropped, what finished is kept. */
function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const onInt = (): void => {
    process.stderr.write('\nedsim: interrupted, stopping after the current batch\n');
    ac.abort();
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onInt);
  return { signal: ac.signal, dispose: () => { process.off('SIGINT', onInt); process.off('SIGTERM', onInt); } };
}

function printReplay(r: ReplayResult): void {
  process.stdout.write(`epochs: ${r.epochs} (recorded ${r.recordedEpochs})\n`);
  if (r.detail) process.stdout.write(`largest difference at: ${r.detail}\n`);
  process.stdout.write(`max abs diff: ${r.maxAbsDiff}\n`);
  process.exitCode = r.maxAbsDiff <= 1e-9 ? 0 : 1;
}

/** "1 h 05 min", "3 min 20 s", "42 s". */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${String(Math.round((s % 3600) / 60)).padStart(2, '0')} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${s} s`;
}

/** Epochs estimated to take at least this long are announced once the first has run this long. */
const LONG_EPOCH_S = 30;
const ESTIMATE_AFTER_S = 3;

/**
 * Watches the first epoch: once it has run ESTIMATE_AFTER_S and is estimated (from the share done)
 * to take LONG_EPOCH_S or more, says once how long an epoch and the whole run may take. The rate is
 * measured from the first share seen, not from the call: building a large model (its weights, the
 * ON/OFF means) takes seconds that are no part of an epoch (fashion10 on 200 images was announced
 * at 4 min 37 s an epoch, which took 5 s).
 */
function longEpochNotice(trainer: Trainer, log: (s: string) => void, firstDone: () => boolean): NodeJS.Timeout {
  let first: { t: number; share: number } | undefined;
  const timer: NodeJS.Timeout = setInterval(() => {
    const share = trainer.epochProgress();
    if (firstDone()) return clearInterval(timer);
    if (share === undefined || share <= 0) return;
    const now = performance.now();
    if (!first) {
      first = { t: now, share };
      return;
    }
    const seen = (now - first.t) / 1000;
    if (seen < ESTIMATE_AFTER_S || share <= first.share) return;
    const epoch = seen / (share - first.share);
    const elapsed = epoch * share;
    clearInterval(timer);
    if (epoch < LONG_EPOCH_S) return;
    const epochs = trainer.train.epochs;
    const stop = trainer.train.stopErrSum > 0 ? ` (fewer if the error sum falls below ${trainer.train.stopErrSum})` : '';
    log(`edsim: an epoch will take about ${duration(epoch)} (${(100 * share).toFixed(1)} % of the first done in ${duration(elapsed)}); up to ${epochs} epoch(s)${stop}: up to ${duration(epoch * epochs)} in all (--epochs sets the count; Ctrl-C stops and saves the last whole epoch)`);
  }, 1000);
  timer.unref();
  return timer;
}

/** How the data was asked for, recorded in checkpoints for messages ("mnist classes 0,1 shifted"). */
function describeData(a: { data: string; classes?: string; limit?: number; shifted?: boolean; preset?: string }): string {
  return [a.data, a.classes !== undefined ? `classes ${a.classes}` : '', a.limit !== undefined ? `limit ${a.limit}` : '', dataOptions(a).shifted ? 'shifted' : ''].filter(Boolean).join(' ');
}

interface TrainArgs extends NetworkArgs {
  save?: string;
  json: boolean;
  quiet: boolean;
  trace?: string;
  checkpoint?: string;
  'checkpoint-every'?: number;
  'checkpoint-seconds'?: number;
  resume?: string;
  model?: string;
}

async function trainCommand(a: TrainArgs): Promise<void> {
  if (a.save !== undefined) checkWritable(a.save, '--save');
  if (a.trace !== undefined) checkWritable(a.trace, '--trace');
  if (a.checkpoint !== undefined) checkWritable(a.checkpoint, '--checkpoint');
  if (a.checkpoint === undefined && (a['checkpoint-every'] !== undefined || a['checkpoint-seconds'] !== undefined)) {
    throw new EdsimError('--checkpoint-every and --checkpoint-seconds need --checkpoint FILE');
  }
  if (a['checkpoint-every'] !== undefined && a['checkpoint-seconds'] !== undefined) throw new EdsimError('give --checkpoint-every or --checkpoint-seconds, not both');
  if (a.resume !== undefined && a.model !== undefined) throw new EdsimError('--resume goes on from a checkpoint, --model from a saved model: give one');
  // Read before the data loads, so that a bad checkpoint fails in a second.
  const resume = a.resume !== undefined ? readCheckpoint(a.resume) : undefined;
  const opts = toTrainerOptions(a);
  if (a.model !== undefined) opts.init = a.model;
  let trainer = await createTrainer({ ...opts, trace: a.trace !== undefined });
  const data = await loadDataset(a.data, dataOptions(a));
  const log = (s: string): void => {
    if (!a.quiet && !a.json) process.stderr.write(`${s}\n`);
  };
  if (opts.strategy === undefined && trainer.workers > 1) {
    // Threads without a strategy: the exact strategy the scaling model predicts fastest here.
    const pick = await fastestExactStrategy(opts, data.train, trainer.workers);
    const rates = Object.entries(pick.predicted).map(([s, v]) => `${s} ${Math.round(v)}`).join(', ');
    log(`edsim: strategy ${pick.strategy}: the fastest byte-identical strategy the scaling model predicts on ${trainer.workers} threads (samples/s: ${rates})`);
    await trainer.close();
    trainer = await createTrainer({ ...opts, strategy: pick.strategy, trace: a.trace !== undefined });
  }
  if (trainer.workers > availableParallelism()) {
    process.stderr.write(`edsim: warning: ${trainer.workers} threads on ${availableParallelism()} available cores: threads will share cores (slower than ${availableParallelism()})\n`);
  }
  if (resume) {
    trainer.checkResume(resume, data.train, a.resume);
    const of = resume.converged ? 'converged' : `of ${trainer.train.epochs}`;
    log(`edsim: resuming from ${a.resume}: ${resume.epochsDone} epoch(s) done ${of} (written ${resume.written} by strategy ${resume.strategy} on ${resume.workers} thread(s))`);
  }
  const { model, layout } = trainer.plan(trainer.inputsFor(data.train.features), data.train.outputs);
  if (a.save !== undefined && modelFormatOf(a.save) === 'json') {
    // Before training, not after it: a model too large for edsim's JSON would be lost at the end.
    let values = model.calibrate ? 2 * model.outputs : 0;
    if (model.inputOnOff) values += model.inputs / 2;
    for (const net of layout.nets) for (const l of net.layers) values += l.nIn * l.nOut + (l.b >= 0 ? l.nOut : 0);
    checkJsonModelFits(values, `--save ${a.save}`);
  }
  const text = codingText(model);
  const coded = text ? `, coded as ${text}` : '';
  const bank = model.features ? ` (read as ${model.inputs} ${model.features} features${coded})` : model.inputOnOff ? ` (read as ${model.inputs} inputs${coded})` : coded ? ` (${coded.slice(2)})` : '';
  log(`edsim: ${data.name}: ${data.train.n} training / ${data.test.n} test samples, ${data.train.features} features${bank}, ${data.train.outputs} output(s); preset ${a.preset}, strategy ${trainer.strategy}, ${trainer.workers} thread(s), ${model.precision} on ${kernelsLine(model.kernels)}`);
  const { signal, dispose } = interruptSignal();
  let epochsSeen = 0;
  const notice = longEpochNotice(trainer, log, () => epochsSeen > 0);
  let history;
  try {
    history = await trainer.fit(data.train, {
      signal,
      ...(resume ? { resume } : {}),
      ...(a.checkpoint !== undefined ? {
        checkpoint: {
          path: a.checkpoint, dataDescription: describeData(a),
          ...(a['checkpoint-every'] !== undefined ? { everyEpochs: a['checkpoint-every'] } : {}),
          ...(a['checkpoint-seconds'] !== undefined ? { everySeconds: a['checkpoint-seconds'] } : {}),
        },
      } : {}),
      onEpoch: (e) => (epochsSeen++, log(`epoch ${e.epoch}  err ${e.errSum.toFixed(4)}  wrong ${e.wrong}  train ${pct(e.trainAccuracy)}  ${e.seconds.toFixed(3)} s  ${Math.round(e.samplesPerSecond)} samples/s`)),
    });
  } catch (err) {
    if (a.save !== undefined && trainer.model) await trainer.save(a.save).catch(() => undefined);
    await trainer.close();
    throw err;
  } finally {
    clearInterval(notice);
    dispose();
  }
  if (history.aborted) {
    // Only a model that finished at least one epoch is worth writing.
    const saved = a.save !== undefined && history.epochs.length > 0;
    if (saved) await trainer.save(a.save!);
    await trainer.close();
    const ck = a.checkpoint !== undefined && history.epochs.length > 0 ? `; --resume ${a.checkpoint} goes on from there` : '';
    log(`edsim: stopped after ${history.epochs.length} complete epoch(s)${saved ? `; saved them to ${a.save}` : ''}${ck}`);
    process.exit(130);
  }
  const calibrated = trainer.calibration ? Math.min(trainer.model!.calibrate!, data.train.n) : null;
  if (calibrated) log(`edsim: outputs calibrated on the first ${calibrated} training samples: answers compare (output - mean) / sd`);
  if (a.save !== undefined) await trainer.save(a.save);
  // The trace covers training only: taken before evaluation adds its own spans.
  const trace = a.trace !== undefined ? trainer.trace() : undefined;
  const test = await trainer.evaluate(data.test);
  const train = await trainer.evaluate(data.train);
  await trainer.close();
  if (trace) {
    const { writeTrace } = await import('../report/report.js');
    const svg = await writeTrace(a.trace!, trace, { command: `edsim ${process.argv.slice(2).join(' ')}`, strategy: trainer.strategy, workers: trainer.workers });
    log(`edsim: trace of ${trace.events.length} events in ${a.trace} (open it in Perfetto or chrome://tracing), timeline in ${svg}`);
  }
  const secs = summarize(history.epochs.map((e) => e.seconds));
  const sps = summarize(history.epochs.map((e) => e.samplesPerSecond));
  const result = {
    data: a.data, preset: a.preset, strategy: trainer.strategy, workers: trainer.workers,
    precision: trainer.model!.precision, kernels: trainer.model!.kernels,
    epochs: history.epochs.length, converged: history.converged, testAccuracy: test.accuracy, trainAccuracy: train.accuracy,
    testErrSum: test.errSum, finalErrSum: history.epochs.at(-1)?.errSum ?? NaN,
    secondsPerEpoch: secs.median, samplesPerSecond: sps.median, trainSamples: data.train.n, testSamples: data.test.n,
    calibrated, saved: a.save ?? null,
  };
  if (a.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(`test accuracy ${pct(test.accuracy)} (${test.samples} samples), train ${pct(train.accuracy)}, ${result.epochs} epochs, ${secs.median.toFixed(3)} s/epoch (median)\n`);
  const chance = chanceNote([{ name: a.preset, accuracy: test.accuracy, topology: trainer.model!.topology }], data.train.classes.length);
  if (chance) log(`edsim: note: ${chance}`);
}

async function evalCommand(a: { model: string; data: string; classes?: string; limit?: number; json: boolean; strategy?: string }): Promise<void> {
  const trainer = await loadTrainer(a.model);
  const classes = a.classes !== undefined ? parseClasses(a.classes) : trainer.classes.length ? trainer.classes : undefined;
  const data = await loadDataset(a.data, { ...dataOptions(a), ...(classes && !/^(xor|parity:|mirror:)/.test(a.data) ? { classes } : {}) });
  const test = await trainer.evaluate(data.test);
  await trainer.close();
  const result = { model: a.model, data: a.data, precision: trainer.model!.precision, kernels: trainer.model!.kernels, testAccuracy: test.accuracy, testErrSum: test.errSum, wrong: test.wrong, testSamples: test.samples };
  if (a.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(`test accuracy ${pct(test.accuracy)} (${test.samples} samples)\n`);
}

async function convertModel(from: string, to: string, format: 'json' | 'safetensors'): Promise<void> {
  checkWritable(to, '<output>');
  const { loadModel, modelTensors, saveModel } = await import('../model-io.js');
  const m = loadModel(from);
  saveModel(to, m, format);
  process.stdout.write(`${to}: ${format === 'safetensors' ? 'safetensors' : 'edsim model'}, ${modelTensors(m).length} tensors (${m.config.precision}), ${m.weights.length} net(s)${m.calibration ? ', calibrated outputs' : ''}\n`);
}

function parseSeeds(spec: string): number[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(spec.trim());
  if (!m) throw new EdsimError(`--seeds must look like 1-100 or 7, got '${spec}'`);
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (b < a || b - a >= 100000) throw new EdsimError(`--seeds range must run forwards and hold at most 100000 seeds, got '${spec}'`);
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

/** A sweep's rows as CSV, by seed. */
function writeRows(path: string, rows: RunRow[]): void {
  writeFileSync(path, stringify([...rows].sort((x, y) => x.seed - y.seed), { header: true, columns: ROW_COLUMNS, cast: { boolean: (v) => String(v) } }));
}

async function sweepCommand(a: NetworkArgs & { seeds: string; json: boolean; quiet: boolean; queue?: string; out?: string }): Promise<void> {
  const seeds = parseSeeds(a.seeds);
  const opts = toTrainerOptions(a);
  if (a.out !== undefined) checkWritable(a.out, '--out');
  const queue = a.queue !== undefined ? await import('../queue/queue.js') : undefined;
  if (a.queue !== undefined) queue!.parseQueueUrl(a.queue);
  const specs: RunSpec[] = seeds.map((seed) => ({ data: a.data, dataOptions: dataOptions(a), options: opts, seed }));
  const progress = (n: number): void => {
    if (!a.quiet && !a.json && process.stderr.isTTY) process.stderr.write(`\r${n}/${seeds.length} runs`);
  };
  const { signal, dispose } = interruptSignal();
  let rows: RunRow[] = [];
  let aborted = false;
  try {
    if (a.queue !== undefined) {
      const done: RunRow[] = [];
      try {
        ({ rows, aborted } = await queue!.submitRuns(a.queue, specs, (r) => progress(done.push(r)), signal));
      } catch (e) {
        // The queue failed mid-sweep: keep the finished rows.
        if (a.out !== undefined && done.length > 0) {
          writeRows(a.out, done);
          (e as Error).message += `; the ${done.length} finished run(s) are in ${a.out}`;
        }
        throw e;
      }
    } else {
      const data = await loadDataset(a.data, dataOptions(a));
      for (const spec of specs) {
        if (signal.aborted) break;
        rows.push(await runOne(spec, data));
        progress(rows.length);
      }
      aborted = signal.aborted;
    }
  } finally {
    dispose();
  }
  if (!a.quiet && !a.json && process.stderr.isTTY) process.stderr.write('\n');
  if (a.out !== undefined) writeRows(a.out, rows);
  rows.sort((x, y) => x.seed - y.seed);
  const r = summarizeRuns(rows);
  if (a.json) process.stdout.write(`${JSON.stringify({ data: a.data, preset: a.preset, hidden: a.hidden ?? null, ...r, ...(aborted ? { aborted: true } : {}) })}\n`);
  else process.stdout.write(`${r.converged}/${r.runs} converged; epochs to converge: mean ${r.meanEpochs.toFixed(2)}, median ${r.medianEpochs}, min ${r.minEpochs}, max ${r.maxEpochs}; test accuracy mean ${pct(r.meanTestAccuracy)}\n`);
  if (aborted) process.exit(130);
}

export function buildCli(argv: string[]): Argv {
  return yargs(argv)
    .scriptName('edsim')
    // A flag given twice takes its last value (as most command lines do), not an array.
    .parserConfiguration({ 'duplicate-arguments-array': false })
    .version(VERSION)
    .usage('$0 <command> [options]\n\nTrain neural networks with Isamu Kaneko\'s ED (Error Diffusion) method, on one or many cores.')
    .command('train', 'train a network and report its test accuracy', (y) =>
      withNetworkFlags(y)
        .option('save', { type: 'string', describe: 'write the trained model here (checked before training); a name ending in .safetensors writes that format' })
        .option('checkpoint', { type: 'string', describe: 'write a checkpoint here after every epoch (atomically: a killed run leaves the last whole one), for --resume' })
        .option('checkpoint-every', { coerce: int('checkpoint-every', 1, 1e7), describe: 'checkpoint every N epochs (and after the last, and on Ctrl-C)' })
        .option('checkpoint-seconds', { coerce: num('checkpoint-seconds', 0), describe: 'checkpoint at the end of the first epoch S seconds or more after the last checkpoint' })
        .option('resume', { type: 'string', describe: 'go on from this checkpoint: the same command line with --resume added ends with the same model, byte for byte (--epochs, --workers and an exact --strategy may change)' })
        .option('model', { type: 'string', describe: 'train on from this saved model (edsim or safetensors): its weights and shape; flags may change rates' })
        .option('trace', { type: 'string', describe: "write every thread's forward/amine/update/wait spans here (Chrome Trace Event JSON, for Perfetto or chrome://tracing) and a timeline of the last batches as FILE.svg" })
        .option('json', { type: 'boolean', default: false, describe: 'last stdout line: one JSON object with the results' })
        .option('quiet', { type: 'boolean', default: false, describe: 'no per-epoch progress' })
        .example(examplePairs('train')),
    (a) => trainCommand(a as unknown as Parameters<typeof trainCommand>[0]))
    .command('eval', 'evaluate a saved model on a dataset\'s test split', (y) =>
      withDataFlags(y)
        .option('model', { type: 'string', demandOption: true, describe: 'model file written by train --save' })
        .option('json', { type: 'boolean', default: false })
        .example(examplePairs('eval')),
    (a) => evalCommand(a as unknown as Parameters<typeof evalCommand>[0]))
    .command('export <model> <output>', 'write a saved model as safetensors (one tensor per layer\'s weights and bias, the config in the metadata) for NumPy, PyTorch and model hubs', (y) =>
      y.positional('model', { type: 'string', demandOption: true, describe: 'edsim model file (train --save)' })
        .positional('output', { type: 'string', demandOption: true, describe: '.safetensors file to write' })
        .example(examplePairs('export')),
    (a) => convertModel(String(a.model), String(a.output), 'safetensors'))
    .command('import <input> <output>', 'read a safetensors model (edsim\'s tensor names and metadata, as export writes them) into an edsim model file', (y) =>
      y.positional('input', { type: 'string', demandOption: true, describe: '.safetensors file' })
        .positional('output', { type: 'string', demandOption: true, describe: 'edsim model file to write' })
        .example(examplePairs('import')),
    (a) => convertModel(String(a.input), String(a.output), 'json'))
    .command('sweep', 'train one network per seed until Kaneko\'s stop rule; report how many converge and how fast', (y) =>
      withNetworkFlags(y)
        .option('seeds', { type: 'string', default: '1-100', describe: 'seed range, e.g. 1-100' })
        .option('queue', { type: 'string', describe: 'run through the job queue at redis://HOST:PORT[/DB] (start `edsim worker --queue URL` on each machine)' })
        .option('out', { type: 'string', describe: 'write one CSV row per run (seed, epochs, converged, final_err_sum, test_accuracy, seconds, host, ...)' })
        .option('json', { type: 'boolean', default: false })
        .option('quiet', { type: 'boolean', default: false })
        .example(examplePairs('sweep')),
    (a) => sweepCommand(a as unknown as Parameters<typeof sweepCommand>[0]))
    .command('worker', 'take training runs from a job queue on Redis until Ctrl-C (one machine of a distributed sweep)', (y) =>
      y.option('queue', { type: 'string', demandOption: true, describe: 'redis://HOST:PORT[/DB]' })
        .option('concurrency', { coerce: (v: unknown) => { const n = Number(v); if (!Number.isInteger(n) || n < 1 || n > 64) throw new EdsimError(`--concurrency must be an integer from 1 to 64, got '${String(v)}'`); return n; }, default: 1, describe: 'runs at a time' })
        .option('lock-ms', { coerce: (v: unknown) => { const n = Number(v); if (!Number.isInteger(n) || n < 500) throw new EdsimError(`--lock-ms must be an integer >= 500, got '${String(v)}'`); return n; }, default: 30000, describe: 'a job whose worker stops answering goes back to the queue after this long' })
        .example(examplePairs('worker')),
    async (a) => {
      const { runWorker } = await import('../queue/queue.js');
      await runWorker(String(a.queue), { concurrency: a.concurrency as number, lockMs: a['lock-ms'] as number, log: (s) => process.stderr.write(`${s}\n`) });
      process.exit(0);
    })
    .command('scale', 'measure training speed over strategies and worker counts; write a CSV and an SVG plot', (y) =>
      withModelFlags(y)
        .option('presets', { type: 'string', describe: 'comma-separated presets to measure (default: --preset)' })
        .option('strategies', { type: 'string', default: 'serial,layer,pipeline,output,samples', describe: 'comma-separated strategies' })
        .option('workers', { type: 'string', describe: 'comma-separated thread counts (default: 1 to the number of cores)' })
        .option('trace', { type: 'string', describe: "trace every configuration: PREFIX-<preset>-<strategy>-x<threads>.json (Chrome Trace Event JSON) and .svg" })
        .option('queue', { type: 'string', describe: 'measure each configuration on whichever machine runs `edsim worker --queue URL` (redis://HOST:PORT[/DB]); rows name the host' })
        .option('predict', { type: 'string', describe: 'also predict every strategy at these thread counts (and at the measured ones) from costs measured here: rows of kind "predicted", dashed in the SVG' })
        .option('repeats', { coerce: (v: unknown) => { const n = Number(v); if (!Number.isInteger(n) || n < 1 || n > 1000) throw new EdsimError(`--repeats must be an integer from 1 to 1000, got '${String(v)}'`); return n; }, default: 3, describe: 'measured epochs per configuration (after one warm-up)' })
        .option('weak', { type: 'boolean', default: false, describe: 'weak scaling: the mini-batch grows with the thread count (batch x threads), so every thread keeps the same rows and cells per batch; rows have mode "weak"' })
        .option('ceiling', { type: 'boolean', default: false, describe: 'also measure what this machine allows: at each thread count P > 1 (up to the cores), P serial trainings of the preset at once, sharing nothing; rows of kind "ceiling", whose speedup no exact strategy can beat here' })
        .option('out', { type: 'string', describe: 'CSV path (default: results/scale-<UTC timestamp>.csv); the SVG goes next to it' })
        .option('json', { type: 'boolean', default: false })
        .option('quiet', { type: 'boolean', default: false, describe: 'no progress display' })
        .example(examplePairs('scale')),
    async (a) => {
      const { signal, dispose } = interruptSignal();
      const { scaleCommand } = await import('./scale-command.js');
      const code = await scaleCommand({ ...(a as unknown as ScaleArgs), workerList: (a as { workers?: string }).workers, workers: undefined } as ScaleArgs, signal).finally(dispose);
      if (code !== 0) process.exit(code);
    })
    .command('bench', 'measure the kernels: GFLOP/s of forward and update per implementation, precision and shape', (y) =>
      y.option('json', { type: 'boolean', default: false, describe: 'last stdout line: { "kernels": [ ... ] }' })
        .option('repeats', { coerce: (v: unknown) => { const n = Number(v); if (!Number.isInteger(n) || n < 1 || n > 100) throw new EdsimError(`--repeats must be an integer from 1 to 100, got '${String(v)}'`); return n; }, default: 5 })
        .option('shapes', { type: 'string', describe: 'batch x in x out list, e.g. 128x784x256,1x256x128 (default: a standard set)' })
        .example(examplePairs('bench')),
    async (a) => {
      const { benchKernels, DEFAULT_SHAPES } = await import('../kernels/bench.js');
      const shapes = a.shapes === undefined ? DEFAULT_SHAPES : String(a.shapes).split(',').map((p) => {
        const m = /^(\d+)x(\d+)x(\d+)$/.exec(p.trim());
        if (!m || Number(m[1]) < 1 || Number(m[2]) < 1 || Number(m[3]) < 1) throw new EdsimError(`--shapes must list BxINxOUT, e.g. 128x784x256, got '${p}'`);
        return [Number(m[1]), Number(m[2]), Number(m[3])] as [number, number, number];
      });
      if (!a.json) process.stdout.write(`native: ${nativeReason()}\n`);
      const kernels = benchKernels(shapes, a.repeats as number);
      if (!a.json) {
        for (const k of kernels) {
          const shape = k.op === 'peak' ? 'register FMAs' : `${k.batch}x${k.in}->${k.out}`;
          const share = k.shareOfPeak === undefined ? '' : `  ${(100 * k.shareOfPeak).toFixed(0).padStart(3)} % of peak`;
          process.stdout.write(`${k.op.padEnd(8)} ${k.impl.padEnd(6)} ${k.dtype}  ${shape.padEnd(14)} ${k.gflops.toFixed(2).padStart(7)} GFLOP/s${share}\n`);
        }
      }
      process.stdout.write(a.json ? `${JSON.stringify({ native: nativeReason(), kernels })}\n` : '');
    })
    .command('halftone <input> <output>', 'error-diffusion halftoning of a PNG (where the method\'s name comes from)', (y) =>
      y.positional('input', { type: 'string', demandOption: true, describe: 'PNG to read (--demo: where to write a test picture first)' })
        .positional('output', { type: 'string', demandOption: true, describe: 'black-and-white PNG to write' })
        .option('kernel', { type: 'string', choices: ['floyd-steinberg', 'jarvis'], default: 'floyd-steinberg' })
        .option('demo', { type: 'boolean', default: false, describe: 'write a smooth test picture to <input> first' })
        .example(examplePairs('halftone')),
    async (a) => {
      const { halftoneFile, demoImage } = await import('../data/halftone.js');
      checkWritable(String(a.output), '<output>');
      if (a.demo) demoImage(String(a.input));
      const r = halftoneFile(String(a.input), String(a.output), a.kernel as 'floyd-steinberg' | 'jarvis');
      process.stdout.write(`${a.output}: ${r.width}x${r.height}, ${a.kernel}\n`);
    })
    .command('kaneko-replay <file>', "replay a recorded trajectory of Kaneko's C program; exit 0 iff max abs diff <= 1e-9", (y) =>
      y.positional('file', { type: 'string', demandOption: true }).example(examplePairs('kaneko-replay')),
    async (a) => printReplay(await kanekoReplay(String(a.file))))
    .command('article-replay <file>', "replay a recording of the article's first matrix implementation", (y) =>
      y.positional('file', { type: 'string', demandOption: true }).example(examplePairs('article-replay')),
    async (a) => printReplay(await articleReplay(String(a.file))))
    .option('verbose', { type: 'boolean', default: false, describe: 'show stack traces on errors' })
    .demandCommand(1, 'name a command (see --help)')
    .recommendCommands()
    .strict()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      // Argument errors (yargs' own, or thrown by a coerce) are usage errors: exit 2.
      if (err && !(err instanceof EdsimError) && err.name !== 'YError') fail(err);
      fail(new EdsimError(choiceLine(err ? err.message : msg ?? 'invalid arguments')));
    })
    .help();
}

export async function main(argv: string[] = hideBin(process.argv)): Promise<void> {
  verbose = argv.includes('--verbose');
  try {
    await buildCli(argv).parseAsync();
  } catch (err) {
    fail(err);
  }
}

await main();
