/**
 * The one module that knows where everything lives in memory. A network's weights, biases, cached
 * activations, amine and scratch all sit in one SharedArrayBuffer (the buffer of a shared
 * WebAssembly.Memory, so WebAssembly kernels can address it too); kernels receive offsets into it.
 * Stage s holds the input of layer s (layer s writes stage s + 1); a stage whose consumer reads
 * Kaneko's bias cells starts with two constant columns of value beta.
 */
import { ACT_CODE, SIGMOID_EXACT } from './activations.js';
import { check, EdsimError } from '../errors.js';
import type { ModelConfig } from '../options.js';

/** Bytes at the start of the buffer reserved for Int32 control words (see parallel/protocol.ts). */
export const CTRL_BYTES = 4096;
/** A cache line: every region of the layout starts on one. */
export const LINE_BYTES = 64;

/**
 * The bytes every region of a layout is aligned to: a cache line, unless EDSIM_ALIGN_BYTES (a
 * benchmark's knob, npm run bench:samples ALIGNS) asks for another power of two, e.g. 16, the
 * former layout's.
 */
export function alignBytes(): number {
  const env = process.env.EDSIM_ALIGN_BYTES;
  if (env === undefined || env === '') return LINE_BYTES;
  const n = Number(env);
  check(Number.isInteger(n) && n >= 16 && n <= 4096 && (n & (n - 1)) === 0, `EDSIM_ALIGN_BYTES must be a power of two from 16 to 4096, not '${env}'`);
  return n;
}
const PAGE = 65536;
/** Pages one WebAssembly memory can hold (4 GiB): the ceiling of everything a model lays out. */
const MAX_PAGES = 65536;

export interface LayerShape {
  nIn: number;
  nOut: number;
  /** 1 where source i is excitatory. */
  srcE: Uint8Array;
  /** +1 (E) or -1 (I) per cell. */
  cellTypes: Int8Array;
  biasVector: boolean;
  act: number;
  alpha: number;
  isOutput: boolean;
  /**
   * Cells per amine channel: cell j learns from channel j / amineGroup (nOut: one amine for the whole
   * layer; 1: the output layer, each cell its own error; cells per column: class columns).
   */
  amineGroup: number;
  /**
   * Output layer of the columns topology: cells per column of the layer below (0 otherwise). Output k
   * learns its own column's weights (and the bias) by the model's rule; the weights from other
   * columns start at 0 and follow the delta rule, sign free (see columnReadoutUpdate).
   */
  readoutColumn: number;
  /** Rate of a columns readout's weights from other columns. */
  alphaCross: number;
}

export interface LayerLayout extends LayerShape {
  w: number;
  /** nIn values, 1 for an excitatory source and 0 for an inhibitory one (read by the wasm kernels). */
  types: number;
  /** -1 when the layer has no bias vector. */
  b: number;
  x: number;
  xStride: number;
  y: number;
  yStride: number;
  gE: number;
  gI: number;
}

export interface NetLayout {
  layers: LayerLayout[];
  /** Index of this net's first output among every net's outputs side by side (an ensemble's members one after another). */
  firstOutput: number;
  /** Index of this net's first output among the data's targets (firstOutput but for an ensemble's later members). */
  dataOutput: number;
  outputs: number;
  /** Stage 0: where inputs are staged, and how (Kaneko interleaves E/I copies, paired blocks them). */
  input: number;
  inputStride: number;
  interleaved: boolean;
  biasCells: boolean;
  target: number;
  err: number;
  /** Per-sample hidden amine, `channels` values per sample (see computeAmine). */
  amine: number;
  /** 1: one amine for every hidden cell; outputs: one per class (the columns topology). */
  channels: number;
  /** One value every layer's rate is multiplied by (the learning-rate schedule; 1 at the start). */
  rate: number;
}

export interface Layout {
  batch: number;
  /** Bytes per element: 8 (f64) or 4 (f32). */
  elem: number;
  /** Elements after the control block. */
  floats: number;
  /** Every weight, bias and source-type region lies in [0, weightFloats): one copy saves or restores them all. */
  weightFloats: number;
  bytes: number;
  /** The rate multiplier's offset (see NetLayout.rate). */
  rate: number;
  /** Kaneko ensembles: networks per output (1 otherwise); the nets' outputs side by side are `members` rows of the model's outputs. */
  members: number;
  /** The nets of activation slot 0 (all slots share the weights). */
  nets: NetLayout[];
  /**
   * slots[k][n]: net n with its own activations, scratch, targets and amine for in-flight batch k;
   * the pipeline strategy keeps several mini-batches in flight, the others use one slot.
   */
  slots: NetLayout[][];
}

/** The layer shapes of each independent net, in forward order. */
export function netShapes(c: ModelConfig): LayerShape[][] {
  // A correctly rounded exp only matters in float64 (bit-faithful replays); float32 uses the fast sigmoid.
  const code = (a: ModelConfig['activation']): number => (a === 'sigmoid' && c.faithfulExp && c.precision === 'f64' ? SIGMOID_EXACT : ACT_CODE[a]);
  const hiddenAct = code(c.activation);
  const outAct = code(c.outputActivation ?? c.activation);
  const cells = c.bias === 'cells' ? 2 : 0;
  const biasSrc = cells ? [1, 0] : [];
  const mk = (src: number[], types: number[], isOutput: boolean, group = isOutput ? 1 : types.length, readout = 0): LayerShape => ({
    nIn: src.length, nOut: types.length, srcE: Uint8Array.from(src), cellTypes: Int8Array.from(types),
    biasVector: c.bias === 'vector', act: isOutput ? outAct : hiddenAct, alpha: isOutput ? c.alphaOutput : c.alphaHidden, isOutput, amineGroup: group,
    readoutColumn: readout, alphaCross: readout > 0 ? (c.alphaCross ?? c.alphaOutput / 100) : 0,
  });
  const toSrc = (types: number[]): number[] => [...biasSrc, ...types.map((t) => (t > 0 ? 1 : 0))];
  const inputTypes = (): number[] => {
    const t: number[] = [];
    for (let i = 0; i < c.inputs; i++) t.push(1, -1);
    return t;
  };
  const alternating = (h: number): number[] => Array.from({ length: h }, (_, j) => (j % 2 === 0 ? -1 : 1));
  if (c.topology === 'columns') {
    // One net: each hidden layer holds one column of h cells per class, every column reading every
    // cell of the layer below; column k learns from class k's amine only; each output reads all columns.
    let prev = inputTypes();
    const layers: LayerShape[] = [];
    for (const h of c.hidden) {
      const types = new Array<number[]>(c.outputs).fill(alternating(h)).flat();
      layers.push(mk(toSrc(prev), types, false, h));
      prev = types;
    }
    layers.push(mk(toSrc(prev), new Array<number>(c.outputs).fill(1), true, 1, c.hidden[c.hidden.length - 1]!));
    return [layers];
  }
  if (c.topology === 'kaneko') {
    // Member m's net for output o is net m * outputs + o: member 0 is the single model (weights are drawn net by net).
    const nets: LayerShape[][] = [];
    for (let n = 0; n < c.outputs * (c.ensemble ?? 1); n++) {
      let prev = inputTypes();
      const layers: LayerShape[] = [];
      for (const h of c.hidden) {
        const types = alternating(h);
        layers.push(mk(toSrc(prev), types, false));
        prev = types;
      }
      layers.push(mk(toSrc(prev), [1], true));
      nets.push(layers);
    }
    return nets;
  }
  let prev = [...new Array<number>(c.inputs).fill(1), ...new Array<number>(c.inputs).fill(-1)];
  const layers: LayerShape[] = [];
  for (const h of c.hidden) {
    const types = [...new Array<number>(h / 2).fill(1), ...new Array<number>(h / 2).fill(-1)];
    layers.push(mk(toSrc(prev), types, false));
    prev = types;
  }
  layers.push(mk(toSrc(prev), new Array<number>(c.outputs).fill(1), true));
  return [layers];
}

/** Lays out every net for mini-batches of up to `batch` samples, with `slots` sets of activations. */
export function computeLayout(c: ModelConfig, batch: number, slots = 1): Layout {
  let off = 0;
  // Every region starts on a cache line (64 bytes): SIMD loads of whole rows stay aligned, and where
  // threads split a layer's cells on a multiple of 16 the rows they write never share a line. At 16
  // bytes (the former layout) serial, cells and samples each trained 6-8 % slower on the ten shifted
  // MNIST classes, about 1 % on MNIST 0/1 (results/align-2026-12-02/).
  const align = alignBytes() / (c.precision === 'f32' ? 4 : 8);
  const take = (n: number): number => {
    const at = off;
    off += Math.ceil(n / align) * align;
    return at;
  };
  const cells = c.bias === 'cells' ? 2 : 0;
  const shapes = netShapes(c);
  const weights = shapes.map((layers) => layers.map((l) => ({ w: take(l.nOut * l.nIn), b: l.biasVector ? take(l.nOut) : -1, types: take(l.nIn) })));
  const weightFloats = off;
  const rate = take(1);
  const slotNets = Array.from({ length: slots }, () => shapes.map((layers, n): NetLayout => {
    const outputs = layers[layers.length - 1]!.nOut;
    const channels = c.topology === 'columns' ? outputs : 1;
    const stageOff = layers.map((l) => take(batch * l.nIn));
    const lastOut = take(batch * outputs);
    const placed = layers.map((l, k): LayerLayout => {
      const next = k + 1 < layers.length;
      return {
        ...l,
        ...weights[n]![k]!,
        x: stageOff[k]!,
        xStride: l.nIn,
        y: next ? stageOff[k + 1]! + cells : lastOut,
        yStride: next ? layers[k + 1]!.nIn : outputs,
        gE: take(batch * l.nOut),
        gI: take(batch * l.nOut),
      };
    });
    return {
      layers: placed, firstOutput: shapes.length > 1 ? n : 0, dataOutput: shapes.length > 1 ? n % c.outputs : 0, outputs,
      input: stageOff[0]!, inputStride: layers[0]!.nIn, interleaved: c.topology !== 'paired', biasCells: cells > 0,
      target: take(batch * outputs), err: take(batch * outputs), amine: take(batch * channels), channels, rate,
    };
  }));
  const elem = c.precision === 'f32' ? 4 : 8;
  const bytes = Math.ceil((CTRL_BYTES + off * elem) / PAGE) * PAGE;
  checkFits(bytes, c.precision === 'f64');
  return { batch, elem, floats: off, weightFloats, rate, bytes, members: c.ensemble ?? 1, nets: slotNets[0]!, slots: slotNets };
}

function checkFits(bytes: number, f64: boolean): void {
  if (bytes <= MAX_PAGES * PAGE) return;
  const gib = (n: number): string => `${(n / 2 ** 30).toFixed(2)} GiB`;
  const fix = f64 ? 'use --precision f32 (half the bytes), fewer or smaller hidden layers, or a smaller --batch'
    : 'use fewer or smaller hidden layers, or a smaller --batch';
  throw new EdsimError(`the model needs ${gib(bytes)} of shared memory (weights, activations, scratch), more than the ${gib(MAX_PAGES * PAGE)} one WebAssembly memory can hold: ${fix}`);
}

/** A net's views for rows [b0, b0 + rows) of its batch: every per-sample region moved by b0 rows. */
export function rowSlice(net: NetLayout, b0: number): NetLayout {
  return {
    ...net,
    input: net.input + b0 * net.inputStride,
    target: net.target + b0 * net.outputs,
    err: net.err + b0 * net.outputs,
    amine: net.amine + b0 * net.channels,
    layers: net.layers.map((l) => ({ ...l, x: l.x + b0 * l.xStride, y: l.y + b0 * l.yStride, gE: l.gE + b0 * l.nOut, gI: l.gI + b0 * l.nOut })),
  };
}

/** Float storage: float64 (reference) or float32 (fast path). */
export type Floats = Float64Array | Float32Array;

export interface Memory {
  /** The shared WebAssembly memory (what WebAssembly kernels are instantiated with). */
  wasm: WebAssembly.Memory;
  buffer: SharedArrayBuffer;
  /** Every float region, addressed by the layout's offsets. */
  f: Floats;
  ctrl: Int32Array;
}

/** Allocates the shared memory for a layout (zeroed, bias columns set to beta). */
export function allocateMemory(layout: Layout, beta: number): Memory {
  const pages = layout.bytes / PAGE;
  const wasm = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const mem = viewMemory(wasm, layout);
  mem.f[layout.rate] = 1;
  for (const net of layout.nets) for (const l of net.layers) for (let i = 0; i < l.nIn; i++) mem.f[l.types + i] = l.srcE[i]!;
  for (const net of layout.slots.flat()) {
    for (const l of net.layers) {
      if (!net.biasCells) continue;
      for (let b = 0; b < layout.batch; b++) {
        mem.f[l.x + b * l.xStride] = beta;
        mem.f[l.x + b * l.xStride + 1] = beta;
      }
    }
  }
  return mem;
}

/** Views over an existing shared memory (what a worker builds from the memory it is handed). */
export function viewMemory(wasm: WebAssembly.Memory, layout: Layout): Memory {
  const buffer = wasm.buffer as unknown as SharedArrayBuffer;
  return {
    wasm,
    buffer,
    f: layout.elem === 4 ? new Float32Array(buffer, CTRL_BYTES, layout.floats) : new Float64Array(buffer, CTRL_BYTES, layout.floats),
    ctrl: new Int32Array(buffer, 0, CTRL_BYTES / 4),
  };
}
