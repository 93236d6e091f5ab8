/**
 * Built-in datasets and loaders. Every loader validates what it reads and fails with one line.
 * Classification data with two classes trains one output (target = class index); with more classes,
 * one output per class (one-hot targets).
 */
import { MAX_TEXT_BYTES, readChecked } from '../files.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { check, EdsimError } from '../errors.js';
import type { Samples } from '../engine/engine.js';

/** Samples in memory: row-major features and targets, with class labels. */
export interface Dataset extends Samples {
  /** Number of samples. */
  n: number;
  /** Class index per sample (position in `classes`), or -1 for tasks without classes. */
  labels: Int32Array;
  /** The original label of each class index; empty for tasks without classes (e.g. mirror). */
  classes: number[];
}

/** A data set's training and test splits. */
export interface LoadedData {
  /** The name it was loaded by. */
  name: string;
  /** The training split. */
  train: Dataset;
  /** The test split. */
  test: Dataset;
}

/** What {@link loadDataset} keeps of a data set. */
export interface LoadOptions {
  /** Original labels to keep, in output order; default: every label in the data. */
  classes?: number[];
  /** Keep only the first N training samples. */
  limit?: number;
  /** Add each training image's four one-pixel shifts (withShifts): 5x the training samples. */
  shifted?: boolean;
  /** Where the fashion-mnist IDX files are (default: the Debian package's location). */
  fashionDir?: string;
}

export const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
export const DATASET_HELP = 'xor, parity:N, mirror:N, mnist, fashion-mnist, idx:DIR, csv:FILE';

/** Parses "0,1", "0-9" or "0-3,7" into a list of distinct non-negative integers. */
export function parseClasses(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    check(m, `--classes must look like 0,1 or 0-9, got '${spec}'`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    check(b >= a, `--classes range ${part.trim()} runs backwards`);
    for (let k = a; k <= b; k++) out.push(k);
  }
  check(new Set(out).size === out.length, `--classes lists a class twice: '${spec}'`);
  check(out.length >= 2, `--classes must select at least two classes, got '${spec}'`);
  return out;
}

function patterns(bits: number, targetsOf: (k: number) => number[], classTask: boolean): Dataset {
  const n = 2 ** bits;
  const outputs = targetsOf(0).length;
  const x = new Float64Array(n * bits);
  const y = new Float64Array(n * outputs);
  const labels = new Int32Array(n).fill(-1);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < bits; i++) x[k * bits + i] = (k >> i) & 1;
    y.set(targetsOf(k), k * outputs);
    if (classTask) labels[k] = targetsOf(k)[0]!;
  }
  return { n, features: bits, outputs, x, y, labels, classes: classTask ? [0, 1] : [] };
}

/** Kaneko's n-bit parity: pattern k's inputs are the bits of k (bit 0 first); target 1 iff an odd number are set. */
export function parityData(bits: number): Dataset {
  return patterns(bits, (k) => [popcount(k) % 2], true);
}

/** Kaneko's mirror task: output c reproduces input bit (bits - 1 - c). */
export function mirrorData(bits: number): Dataset {
  return patterns(bits, (k) => Array.from({ length: bits }, (_, c) => (k >> (bits - 1 - c)) & 1), false);
}

function popcount(k: number): number {
  let c = 0;
  for (; k; k >>= 1) c += k & 1;
  return c;
}

/** Builds a classification dataset from raw rows, keeping the selected classes. */
export function classData(x: ArrayLike<number>, features: number, rawLabels: ArrayLike<number>, rows: number[], classes: number[]): Dataset {
  const index = new Map(classes.map((c, i) => [c, i]));
  const outputs = classes.length === 2 ? 1 : classes.length;
  const n = rows.length;
  const xs = new Float64Array(n * features);
  const y = new Float64Array(n * outputs);
  const labels = new Int32Array(n);
  rows.forEach((r, k) => {
    for (let i = 0; i < features; i++) xs[k * features + i] = x[r * features + i]!;
    const c = index.get(rawLabels[r]!)!;
    labels[k] = c;
    if (outputs === 1) y[k] = c;
    else y[k * outputs + c] = 1;
  });
  return { n, features, outputs, x: xs, y, labels, classes };
}

function selectClasses(rawLabels: ArrayLike<number>, want: number[] | undefined, where: string): number[] {
  const present = [...new Set(Array.from(rawLabels))].sort((a, b) => a - b);
  const classes = want ?? present;
  for (const c of classes) check(present.includes(c), `class ${c} does not occur in ${where} (labels present: ${present.join(',')})`);
  check(classes.length >= 2, `${where} has fewer than two classes`);
  return classes;
}

/** Per class, the first floor(share n) rows train and the rest test; train rows interleave the classes round-robin. */
export function perClassSplit(rawLabels: ArrayLike<number>, classes: number[], share = 0.8): { train: number[]; test: number[] } {
  const byClass = classes.map((c) => {
    const rows: number[] = [];
    for (let r = 0; r < rawLabels.length; r++) if (rawLabels[r] === c) rows.push(r);
    return rows;
  });
  const cut = byClass.map((rows) => Math.floor(share * rows.length));
  return { train: roundRobin(byClass.map((rows, i) => rows.slice(0, cut[i]))), test: byClass.flatMap((rows, i) => rows.slice(cut[i])) };
}

function roundRobin(lists: number[][]): number[] {
  const out: number[] = [];
  const longest = Math.max(...lists.map((l) => l.length));
  for (let k = 0; k < longest; k++) for (const l of lists) if (k < l.length) out.push(l[k]!);
  return out;
}

function mnistPackage(): { x: Float64Array; labels: Int32Array } {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('mnist/package.json'));
  const parts: number[][] = [];
  for (let d = 0; d < 10; d++) {
    const file = join(root, 'src', 'digits', `${d}.json`);
    const data = (JSON.parse(readFileSync(file, 'utf8')) as { data: number[] }).data;
    check(Array.isArray(data) && data.length % 784 === 0, `mnist package file ${file} is corrupt`);
    parts.push(data);
  }
  const n = parts.reduce((s, p) => s + p.length / 784, 0);
  const x = new Float64Array(n * 784);
  const labels = new Int32Array(n);
  let off = 0;
  parts.forEach((p, d) => {
    x.set(p, off * 784);
    labels.fill(d, off, off + p.length / 784);
    off += p.length / 784;
  });
  return { x, labels };
}

function readMaybeGz(path: string): Buffer {
  const buf = readChecked(path, 'IDX file', 2 ** 31 - 1);
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      return gunzipSync(buf);
    } catch {
      throw new EdsimError(`${path} is a corrupt or truncated gzip file`);
    }
  }
  return buf;
}

function findIdx(dir: string, base: string): string {
  for (const name of [base, `${base}.gz`]) if (existsSync(join(dir, name))) return join(dir, name);
  throw new EdsimError(`missing IDX file ${join(dir, base)}[.gz]`);
}

/** Reads an IDX file (magic 0x0000 08 0D: unsigned bytes, D dimensions). Returns the dims and bytes. */
export function readIdx(path: string): { dims: number[]; data: Uint8Array } {
  const buf = readMaybeGz(path);
  check(buf.length >= 4, `${path} is empty or too short to be an IDX file`);
  check(buf[0] === 0 && buf[1] === 0 && buf[2] === 0x08, `${path} is not an unsigned-byte IDX file (bad magic number)`);
  const nd = buf[3]!;
  check(nd >= 1 && nd <= 3 && buf.length >= 4 + 4 * nd, `${path} has a corrupt IDX header`);
  const dims = Array.from({ length: nd }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * nd;
  check(buf.length - start === count, `${path} is truncated or has extra bytes: header says ${count} values, file has ${buf.length - start}`);
  check(count > 0, `${path} holds no samples`);
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + start, count) };
}

function idxPart(dir: string, prefix: string): { x: Float64Array; labels: Uint8Array; features: number } {
  const images = readIdx(findIdx(dir, `${prefix}-images-idx3-ubyte`));
  const labels = readIdx(findIdx(dir, `${prefix}-labels-idx1-ubyte`));
  check(images.dims.length === 3, `${prefix} images in ${dir} must have 3 dimensions (count, rows, cols)`);
  check(labels.dims.length === 1, `${prefix} labels in ${dir} must have 1 dimension`);
  check(images.dims[0] === labels.dims[0], `${prefix} images and labels in ${dir} disagree: ${images.dims[0]} images, ${labels.dims[0]} labels`);
  const x = new Float64Array(images.data.length);
  for (let i = 0; i < x.length; i++) x[i] = images.data[i]! / 255;
  return { x, labels: labels.data, features: images.dims[1]! * images.dims[2]! };
}

function idxData(dir: string, opts: LoadOptions): { train: Dataset; test: Dataset } {
  check(existsSync(dir) && statSync(dir).isDirectory(), `IDX directory ${dir} does not exist`);
  const tr = idxPart(dir, 'train');
  const te = idxPart(dir, 't10k');
  check(tr.features === te.features, `train and test images in ${dir} have different sizes`);
  const classes = selectClasses(tr.labels, opts.classes, dir);
  const rows = (labels: Uint8Array): number[] => {
    const keep = new Set(classes);
    const out: number[] = [];
    for (let r = 0; r < labels.length; r++) if (keep.has(labels[r]!)) out.push(r);
    return out;
  };
  return { train: classData(tr.x, tr.features, tr.labels, rows(tr.labels), classes), test: classData(te.x, te.features, te.labels, rows(te.labels), classes) };
}

/** CSV rows of numbers, features then an integer label; an optional non-numeric header line is skipped. */
export function csvData(path: string, opts: LoadOptions): { train: Dataset; test: Dataset } {
  const text = readChecked(path, 'CSV file', MAX_TEXT_BYTES, 'utf8');
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  check(lines.length > 0, `CSV file ${path} is empty`);
  if (lines[0]!.split(',').some((v) => v.trim() !== '' && Number.isNaN(Number(v)) && !/nan/i.test(v))) lines.shift();
  check(lines.length > 0, `CSV file ${path} has a header but no data rows`);
  const width = lines[0]!.split(',').length;
  check(width >= 2, `CSV file ${path} needs at least one feature column and a label column`);
  const features = width - 1;
  const x = new Float64Array(lines.length * features);
  const labels = new Int32Array(lines.length);
  lines.forEach((line, r) => {
    const cells = line.split(',');
    check(cells.length === width, `CSV file ${path} line ${r + 1}: expected ${width} columns, found ${cells.length}`);
    for (let i = 0; i < features; i++) {
      const v = Number(cells[i]!.trim());
      check(cells[i]!.trim() !== '' && Number.isFinite(v), `CSV file ${path} line ${r + 1} column ${i + 1}: '${cells[i]!.trim()}' is not a finite number`);
      x[r * features + i] = v;
    }
    const label = Number(cells[features]!.trim());
    check(Number.isInteger(label) && label >= 0, `CSV file ${path} line ${r + 1}: label '${cells[features]!.trim()}' is not a non-negative integer`);
    labels[r] = label;
  });
  const classes = selectClasses(labels, opts.classes, path);
  const split = perClassSplit(labels, classes);
  check(split.train.length > 0 && split.test.length > 0, `CSV file ${path} has too few rows to split into train and test`);
  return { train: classData(x, features, labels, split.train, classes), test: classData(x, features, labels, split.test, classes) };
}

function bitsOf(spec: string, name: string, max: number): number {
  const bits = Number(spec.slice(name.length + 1));
  check(Number.isInteger(bits) && bits >= 1 && bits <= max, `${name}:N needs N from 1 to ${max}, got '${spec}'`);
  return bits;
}

/**
 * Writes the side x side image at `src[from..]` moved `dr` rows down and `dc` columns right to
 * `dst[to..]`; pixels moved in from outside the image stay as `dst` holds them (0 in a new array).
 */
export function shiftImage(src: ArrayLike<number>, from: number, dst: Float64Array, to: number, side: number, dr: number, dc: number): void {
  for (let r = 0; r < side; r++) {
    const sr = r - dr;
    if (sr < 0 || sr >= side) continue;
    for (let q = 0; q < side; q++) {
      const sq = q - dc;
      if (sq >= 0 && sq < side) dst[to + r * side + q] = src[from + sr * side + sq]!;
    }
  }
}

/**
 * A square-image data set and its copies moved by one pixel right, left, down and up (the vacated
 * edge row or column 0): five times the samples, with MNIST's own sparsity, for scaling runs that
 * need hundreds of batches an epoch from the `mnist` package alone (and a plain augmentation).
 * Sample k of copy c is row c * n + k, so the first n rows are the originals.
 */
export function withShifts(d: Dataset, side: number): Dataset {
  check(d.features === side * side, `shifted copies need square images of ${side}x${side}`);
  const moves = [[0, 0], [0, 1], [0, -1], [1, 0], [-1, 0]] as const;
  const n = d.n;
  const x = new Float64Array(5 * n * d.features);
  moves.forEach(([dr, dc], c) => {
    for (let k = 0; k < n; k++) {
      shiftImage(d.x, k * d.features, x, (c * n + k) * d.features, side, dr, dc);
    }
  });
  const y = new Float64Array(5 * n * d.outputs);
  const labels = new Int32Array(5 * n);
  for (let c = 0; c < 5; c++) {
    y.set(d.y, c * n * d.outputs);
    labels.set(d.labels, c * n);
  }
  return { ...d, n: 5 * n, x, y, labels };
}

/** Samples [a, b) of a dataset, copied. */
export function sliceDataset(d: Dataset, a: number, b: number): Dataset {
  return {
    ...d, n: b - a, x: d.x.slice(a * d.features, b * d.features), y: d.y.slice(a * d.outputs, b * d.outputs), labels: d.labels.slice(a, b),
  };
}

function limitTrain(d: Dataset, limit: number | undefined): Dataset {
  if (limit === undefined || limit >= d.n) return d;
  check(Number.isInteger(limit) && limit >= 1, `--limit must be a positive integer, got ${limit}`);
  return sliceDataset(d, 0, limit);
}

/** Loads a dataset by name: xor, parity:N, mirror:N, mnist, fashion-mnist, idx:DIR or csv:FILE. */
export async function loadDataset(spec: string, opts: LoadOptions = {}): Promise<LoadedData> {
  let parts: { train: Dataset; test: Dataset };
  if (spec === 'xor' || spec.startsWith('parity:') || spec.startsWith('mirror:')) {
    check(opts.classes === undefined, `--classes does not apply to ${spec}`);
    const d = spec === 'xor' ? parityData(2) : spec.startsWith('parity:') ? parityData(bitsOf(spec, 'parity', 16)) : mirrorData(bitsOf(spec, 'mirror', 16));
    parts = { train: d, test: d };
  } else if (spec === 'mnist') {
    const { x, labels } = mnistPackage();
    const classes = selectClasses(labels, opts.classes, 'mnist');
    const split = perClassSplit(labels, classes);
    parts = { train: classData(x, 784, labels, split.train, classes), test: classData(x, 784, labels, split.test, classes) };
  } else if (spec === 'fashion-mnist') {
    const dir = opts.fashionDir ?? FASHION_DIR;
    check(existsSync(dir), `fashion-mnist needs the IDX files in ${dir} (Debian: apt-get install dataset-fashion-mnist)`);
    parts = idxData(dir, opts);
  } else if (spec.startsWith('idx:')) {
    parts = idxData(spec.slice(4), opts);
  } else if (spec.startsWith('csv:')) {
    parts = csvData(spec.slice(4), opts);
  } else {
    throw new EdsimError(`unknown dataset '${spec}' (expected one of: ${DATASET_HELP})`);
  }
  let train = parts.train;
  if (opts.shifted) {
    const side = Math.round(Math.sqrt(train.features));
    check(side * side === train.features, `--shifted needs square images; ${spec} has ${train.features} features`);
    train = withShifts(train, side);
  }
  return { name: opts.shifted ? `${spec}+shifts` : spec, train: limitTrain(train, opts.limit), test: parts.test };
}
