/**
 * Checkpoints: everything a training run needs to go on where it stopped, in one safetensors file
 * (so NumPy or PyTorch read its weights too): the weights as the model's tensors, the shuffle
 * generator's state and the sample order as tensors; the options, the data's fingerprint, the
 * epochs done and the history as JSON in the metadata, with a SHA-256 of the tensor bytes so that a
 * flipped bit is caught. Written atomically and durably (temporary file, fsync, rename, fsync of the
 * directory): a killed process or a full disk leaves the previous checkpoint as it was.
 */
import { createHash } from 'node:crypto';
import type { Dataset } from './data/data.js';
import { EXACT_STRATEGIES, type StrategyName } from './engine/executor.js';
import { check, EdsimError } from './errors.js';
import { atomicWrite, readChecked } from './files.js';
import { MODEL_FORMAT, type ModelFile, modelFromSafetensors, modelToSafetensors } from './model-io.js';
import type { ModelConfig, TrainConfig } from './options.js';
import { decodeSafetensors, isSafetensors } from './safetensors.js';

export const CHECKPOINT_FORMAT = 'edsim-checkpoint';
export const CHECKPOINT_VERSION = 1;
/** Checkpoints larger than this are refused when read (4 GiB covers the largest model one shared memory holds). */
const MAX_CHECKPOINT_BYTES = 2 ** 32;

/** One finished epoch, as the history keeps it (a checkpoint drops the per-thread statistics). */
export interface EpochRecord {
  /** Epoch number, from 1. */
  epoch: number;
  /** Summed absolute error. */
  errSum: number;
  /** Samples answered wrongly. */
  wrong: number;
  /** Share of training samples answered right. */
  trainAccuracy: number;
  /** Wall seconds. */
  seconds: number;
  /** Training samples per second. */
  samplesPerSecond: number;
}

/** What a data set is, for a checkpoint to recognise it: its description and a hash of its samples. */
export interface DataFingerprint {
  /** How the data was asked for (e.g. "mnist classes 0,1"), for messages; not compared. */
  description: string;
  /** Samples. */
  n: number;
  /** Features per sample. */
  features: number;
  /** Targets per sample. */
  outputs: number;
  /** Original class labels. */
  classes: number[];
  /** SHA-256 of the features, targets and labels, as stored. */
  sha256: string;
}

/** A training run's state after its last whole epoch: what {@link Trainer.fit} can resume from. */
export interface Checkpoint {
  /** The model: config, weights, classes. */
  model: ModelFile;
  /** The training settings the run was started with. */
  train: TrainConfig;
  /** The strategy that wrote it. */
  strategy: StrategyName;
  /** Threads of the run that wrote it. */
  workers: number;
  /** What the training data was. */
  data: DataFingerprint;
  /** Epochs finished (the learning-rate schedule's position). */
  epochsDone: number;
  /** Whether the run had met its stop rule (nothing is left to train). */
  converged: boolean;
  /** Every finished epoch. */
  history: EpochRecord[];
  /** The shuffle generator's state after the last finished epoch. */
  rng: Uint32Array;
  /** The sample order after the last finished epoch (each epoch shuffles it further). */
  order: Int32Array;
  /** When it was written (ISO time), for messages. */
  written: string;
}

/** Where and how often fit() writes checkpoints. */
export interface CheckpointOptions {
  /** The checkpoint file (rewritten in place, atomically). */
  path: string;
  /** Write after every N-th epoch (default 1), and always after the last and when stopped. */
  everyEpochs?: number;
  /** Write instead at the end of the first epoch at least S seconds after the last write. */
  everySeconds?: number;
  /** How the data was asked for, recorded for messages (e.g. "mnist classes 0,1"). */
  dataDescription?: string;
}

const hashes = new WeakMap<object, string>();

/** SHA-256 of a data set's samples, as stored: the same data loaded the same way gives the same hash (computed once per data set). */
export function fingerprintData(d: Dataset, description = ''): DataFingerprint {
  let sha = hashes.get(d.x);
  if (sha === undefined) {
    const h = createHash('sha256');
    for (const a of [d.x, d.y, d.labels]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    h.update(JSON.stringify([d.n, d.features, d.outputs, d.classes, d.x.constructor.name]));
    sha = h.digest('hex');
    hashes.set(d.x, sha);
  }
  return { description, n: d.n, features: d.features, outputs: d.outputs, classes: d.classes, sha256: sha };
}

function tensorHash(buf: Buffer): string {
  const n = Number(buf.readBigUInt64LE(0));
  return createHash('sha256').update(buf.subarray(8 + n)).digest('hex');
}

export function encodeCheckpoint(c: Checkpoint): Buffer {
  const meta = {
    version: CHECKPOINT_VERSION, train: c.train, strategy: c.strategy, workers: c.workers, data: c.data,
    epochsDone: c.epochsDone, converged: c.converged, history: c.history, written: c.written,
  };
  const encode = (sha: string): Buffer => modelToSafetensors(c.model, [
    ['trainer.rng', { dtype: 'U32', shape: [4], data: c.rng }],
    ['trainer.order', { dtype: 'I32', shape: [c.order.length], data: c.order }],
  ], { format: CHECKPOINT_FORMAT, 'edsim.checkpoint': JSON.stringify(meta), 'edsim.sha256': sha });
  // The hash covers the tensor bytes, which do not depend on the header that records it.
  return encode(tensorHash(encode('')));
}

export function decodeCheckpoint(buf: Buffer, where: string): Checkpoint {
  check(buf.length > 0, `checkpoint ${where} is empty`);
  const aModel = `${where} is a model file, not a checkpoint: train on from it with --model ${where}`;
  check(isSafetensors(buf) || !buf.subarray(0, 64).toString('latin1').startsWith(`{"format":"${MODEL_FORMAT}"`), aModel);
  const { tensors, metadata } = decodeSafetensors(buf, `checkpoint ${where}`);
  check(metadata.format === CHECKPOINT_FORMAT, metadata.format === MODEL_FORMAT ? aModel : `${where} is not an edsim checkpoint (its metadata names no edsim-checkpoint format)`);
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(metadata['edsim.checkpoint'] ?? '') as Record<string, unknown>;
  } catch {
    throw new EdsimError(`checkpoint ${where} is corrupt: its edsim.checkpoint metadata is not valid JSON`);
  }
  check(meta.version === CHECKPOINT_VERSION, `checkpoint ${where} has version ${String(meta.version)}; this edsim reads version ${CHECKPOINT_VERSION}`);
  check(metadata['edsim.sha256'] === tensorHash(buf), `checkpoint ${where} is corrupt: its tensors do not match the SHA-256 it was written with`);
  const model = modelFromSafetensors(buf, `checkpoint ${where}`);
  const rng = tensors.get('trainer.rng');
  const order = tensors.get('trainer.order');
  check(rng?.dtype === 'U32' && rng.data.length === 4 && order?.dtype === 'I32', `checkpoint ${where} is corrupt: no generator state or sample order`);
  const data = meta.data as DataFingerprint;
  check(data && typeof data === 'object' && order.data.length === data.n, `checkpoint ${where} is corrupt: its sample order does not match its data`);
  const history = meta.history as EpochRecord[];
  check(Array.isArray(history) && Number.isInteger(meta.epochsDone) && typeof meta.strategy === 'string', `checkpoint ${where} is corrupt: no history`);
  return {
    model, train: meta.train as TrainConfig, strategy: meta.strategy as StrategyName, workers: Number(meta.workers), data,
    epochsDone: meta.epochsDone as number, converged: meta.converged === true, history, rng: rng.data as Uint32Array,
    order: order.data as Int32Array, written: String(meta.written),
  };
}

/** Reads and checks a checkpoint file (one-line EdsimError if it is truncated, corrupt, of another version or not a checkpoint). */
export function readCheckpoint(path: string): Checkpoint {
  return decodeCheckpoint(readChecked(path, 'checkpoint', MAX_CHECKPOINT_BYTES), path);
}

/** Writes a checkpoint durably: a temporary file, fsync, rename over `path`, fsync of the directory (atomicWrite). */
export function writeCheckpoint(path: string, c: Checkpoint): void {
  atomicWrite(path, encodeCheckpoint(c), 'checkpoint');
}

/** The model and training settings that must match for a run to resume; undefined when they all do. */
export function resumeMismatch(c: Checkpoint, model: ModelConfig, train: TrainConfig, strategy: StrategyName, workers: number): string | undefined {
  const saved = c.model.config as unknown as Record<string, unknown>;
  const now = model as unknown as Record<string, unknown>;
  for (const k of new Set([...Object.keys(saved), ...Object.keys(now)])) {
    if (JSON.stringify(saved[k]) !== JSON.stringify(now[k])) return `model setting ${k}: ${fmt(saved[k])} in the checkpoint, ${fmt(now[k])} now`;
  }
  const st = c.train as unknown as Record<string, unknown>;
  const tn = train as unknown as Record<string, unknown>;
  for (const k of new Set([...Object.keys(st), ...Object.keys(tn)])) {
    if (k === 'epochs' || (k === 'alphaDecay' && (st[k] ?? 0) === (tn[k] ?? 0))) continue;
    if (JSON.stringify(st[k]) !== JSON.stringify(tn[k])) return `training setting ${k}: ${fmt(st[k])} in the checkpoint, ${fmt(tn[k])} now`;
  }
  const exact = (s: StrategyName): boolean => EXACT_STRATEGIES.includes(s);
  if (!(exact(c.strategy) && exact(strategy)) && (c.strategy !== strategy || c.workers !== workers)) {
    return `strategy ${c.strategy} on ${c.workers} thread(s) in the checkpoint, ${strategy} on ${workers} now (only byte-identical strategies may change on resume: ${EXACT_STRATEGIES.join(', ')})`;
  }
  return undefined;
}

const fmt = (v: unknown): string => (v === undefined ? 'unset' : JSON.stringify(v));
