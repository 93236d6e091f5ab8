/**
 * The native kernels: every variant (AVX-512, AVX2, portable C) bit-identical to the others and
 * within float32 error of the float64 reference; sub-ranges of cells equal to slices of the whole;
 * strategies byte-identical to serial on them; the WebAssembly fallback when the addon is off.
 * Skipped, with one line, where the addon did not build.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { forwardDense, amineUpdate } from '../src/kernels/reference.js';
import { allocateMemory, type NetLayout } from '../src/engine/layout.js';
import { float32Inputs, stageBatch, stagedInputs, stagingLimits } from '../src/engine/engine.js';
import { nativeKernels } from '../src/kernels/backend.js';
import { bindNative, nativeAddon, nativeReason, type NativeBound } from '../src/kernels/native.js';
import { Rng } from '../src/engine/rng.js';
import { createTrainer, type TrainerOptions } from '../src/trainer.js';
import { type Dataset, loadDataset } from '../src/data/data.js';
import { CLI, expectClose, tempDir, trainedModelFile, withTimeout } from './helpers.js';

const addon = nativeAddon();
if (!addon) console.log(`native.test: skipping the native kernel tests (${nativeReason()})`);
const info = addon?.info();
const variants = ['portable', ...(info?.avx2 && info.fma ? ['avx2'] : []), ...(info?.avx512f ? ['avx512'] : [])];

/** W, bias, X, Y, G, G2 regions in one scratch memory (the same values for the same shape), float offsets and byte addresses. */
function scratch(B: number, nIn: number, nOut: number) {
  const rng = new Rng(B * 7919 + nIn * 31 + nOut);
  const sizes = [nIn * nOut, nOut, B * nIn, B * nOut, B * nOut, B * nOut, nIn];
  const offs: number[] = [];
  let off = 0;
  for (const n of sizes) {
    offs.push(off);
    off += Math.ceil(n / 16) * 16;
  }
  const mem = allocateMemory({ batch: 1, elem: 4, floats: off + 1, weightFloats: 0, rate: off, bytes: Math.ceil((4096 + (off + 4) * 4) / 65536) * 65536, members: 1, nets: [], slots: [] }, 0);
  for (let i = 0; i < off; i++) mem.f[i] = rng.next() * 2 - 1;
  const [w, bias, x, y, g, g2, types] = offs as [number, number, number, number, number, number, number];
  for (let i = 0; i < nIn; i++) mem.f[types + i] = i % 3 === 0 ? 0 : 1;
  for (let i = 0; i < B * nIn; i += 5) mem.f[x + i] = 0; // zero inputs: the online kernels skip them
  // Image-like inputs in the 40- and 16-sample shapes: sources zero in every sample (borders), which the
  // forward kernel's tiles skip.
  if (B === 40 || B === 16) for (let b = 0; b < B; b++) for (let i = 0; i < nIn; i++) if (i % 10 < 7) mem.f[x + b * nIn + i] = 0;
  for (let i = 0; i < nIn * nOut; i += 7) mem.f[w + i] = 0; // zero weights: frozen by the kaneko rule
  for (let i = 3; i < nIn * nOut; i += 11) mem.f[w + i] = -0; // negative zeros: an update of +0 turns them to +0 unless frozen
  const a = (o: number): number => 4096 + 4 * o;
  return { mem, off: { w, bias, x, y, g, g2, types }, addr: { w: a(w), bias: a(bias), x: a(x), y: a(y), g: a(g), g2: a(g2), types: a(types) } };
}

// Batches that leave every remainder of the forward tiles (6 rows on AVX2, 8 on AVX-512): 1 to 7 rows.
// Layers of 512 and 1024 cells (rows 2 and 4 KiB apart): the forward pass copies strips into panels.
const SHAPES: [number, number, number][] = [[128, 784, 256], [13, 300, 45], [9, 13, 17], [1, 256, 128], [33, 2, 12], [7, 600, 1], [8, 4, 4], [40, 700, 70], [11, 40, 20], [14, 50, 33], [16, 300, 40], [10, 30, 18], [12, 30, 18], [16, 600, 512], [20, 90, 1024]];

/** Runs every kernel on a copy of the same memory with one variant; returns the memory after. */
function runAll(variant: string, B: number, nIn: number, nOut: number, split: number): Float32Array {
  const s = scratch(B, nIn, nOut);
  process.env.EDSIM_NATIVE_VARIANT = variant;
  const k: NativeBound = bindNative(s.mem.buffer);
  delete process.env.EDSIM_NATIVE_VARIANT;
  const A = s.addr;
  // Forward with bias and sigmoid, in two column ranges [0, split) and [split, nOut) (as cell slices would).
  k.fwd(A.w, A.bias, 1, A.x, 4 * nIn, A.y, 4 * nOut, B, nIn, nOut, 1, -5, 0, split);
  k.fwd(A.w, A.bias, 1, A.x, 4 * nIn, A.y, 4 * nOut, B, nIn, nOut, 1, -5, split, nOut);
  k.upd(A.w, A.x, 4 * nIn, A.g, 4 * nOut, B, 0, nIn >> 1, nOut, 0.01, 1, 0, split);
  k.upd(A.w, A.x, 4 * nIn, A.g, 4 * nOut, B, 0, nIn >> 1, nOut, 0.01, 1, split, nOut);
  k.upd(A.w, A.x, 4 * nIn, A.g2, 4 * nOut, B, nIn >> 1, nIn, nOut, 0.01, 0);
  if (nIn >= 4) k.upd(A.w, A.x, 4 * nIn, A.g, 4 * nOut, B, 0, nIn >> 2, nOut, 0.005, 0, 0, nOut, nIn >> 1); // rows i and i + nIn/2 from one sum
  k.fwd1(A.w, A.bias, 1, A.x, A.g, nIn, nOut, 1, -5, 0, split);
  k.fwd1(A.w, A.bias, 1, A.x, A.g, nIn, nOut, 1, -5, split, nOut);
  k.sigmoid(A.g, 1, nOut, 4 * nOut, 0.5);
  s.mem.f.fill(0, s.off.g2, s.off.g2 + nOut); // gI all 0 (the kaneko rule's d- = 0): those rows are skipped
  k.upd1(A.w, A.x, A.g, A.g2, A.types, nIn, nOut, 0.3, 1, 0, split);
  k.upd1(A.w, A.x, A.g, A.g2, A.types, nIn, nOut, 0.3, 1, split, nOut);
  // the fused online step: update from x, then the next sample (the first row of y as input when it fits) forward
  if (B * nOut >= nIn) k.updfwd1(A.w, A.x, A.g, A.g2, A.types, 0.2, 1, A.y, A.bias, 1, A.g, nIn, nOut, 1, -5);
  return Float32Array.from(s.mem.f);
}

test('every native variant gives the same bits on every kernel, and cell ranges equal the whole', () => {
  if (!addon) return;
  for (const [B, nIn, nOut] of SHAPES) {
    const whole = runAll('portable', B, nIn, nOut, nOut);
    for (const v of variants) {
      for (const split of [nOut, Math.floor(nOut / 3)]) {
        const got = runAll(v, B, nIn, nOut, split);
        for (let i = 0; i < whole.length; i++) {
          if (!Object.is(got[i], whole[i])) assert.unreachable(`${v}, ${B}x${nIn}->${nOut}, split at ${split}: float ${i} is ${got[i]}, portable ${whole[i]}`);
        }
      }
    }
  }
});

/**
 * updTyped (gE for the sources typed E, gI for the others, in one call) or, as the backend did
 * before it, upd called on every run of one type; `interleaved`: Kaneko's E, I, E, I sources, else
 * runs of one and two; `poison`: an infinite coefficient (nothing may be left out then).
 */
function typedUpdate(variant: string, typed: boolean, B: number, nIn: number, nOut: number, freeze: number, split: number, interleaved: boolean, poison: boolean): Float32Array {
  const s = scratch(B, nIn, nOut);
  const { off, addr: A } = s;
  if (interleaved) for (let i = 0; i < nIn; i++) s.mem.f[off.types + i] = i % 2 === 0 ? 1 : 0;
  if (poison) s.mem.f[off.g2 + (3 % (B * nOut))] = Infinity;
  process.env.EDSIM_NATIVE_VARIANT = variant;
  const k: NativeBound = bindNative(s.mem.buffer);
  delete process.env.EDSIM_NATIVE_VARIANT;
  if (typed) {
    k.updTyped!(A.w, A.x, 4 * nIn, A.g, A.g2, 4 * nOut, B, A.types, 0, nIn, nOut, 0.01, freeze, 0, split);
    k.updTyped!(A.w, A.x, 4 * nIn, A.g, A.g2, 4 * nOut, B, A.types, 0, nIn, nOut, 0.01, freeze, split, nOut);
  } else {
    for (let i = 0; i < nIn;) {
      let j = i + 1;
      while (j < nIn && (s.mem.f[off.types + j] !== 0) === (s.mem.f[off.types + i] !== 0)) j++;
      k.upd(A.w, A.x, 4 * nIn, s.mem.f[off.types + i] !== 0 ? A.g : A.g2, 4 * nOut, B, i, j, nOut, 0.01, freeze, 0, nOut);
      i = j;
    }
  }
  return Float32Array.from(s.mem.f);
}

test('updTyped gives the bits of upd called run by run of one source type, on every variant', () => {
  if (!addon) return;
  for (const [B, nIn, nOut] of [...SHAPES, [16, 1570, 40] as [number, number, number]]) {
    for (const freeze of [1, 0]) {
      for (const [interleaved, poison] of [[true, false], [false, false], [true, true]] as const) {
        const want = typedUpdate('portable', false, B, nIn, nOut, freeze, nOut, interleaved, poison);
        for (const v of variants) {
          for (const split of [nOut, Math.floor(nOut / 3)]) {
            const got = typedUpdate(v, true, B, nIn, nOut, freeze, split, interleaved, poison);
            for (let i = 0; i < want.length; i++) {
              if (!Object.is(got[i], want[i])) assert.unreachable(`${v}, ${B}x${nIn}->${nOut}, freeze ${freeze}, ${interleaved ? 'interleaved' : 'runs'}${poison ? ', infinite g' : ''}, split at ${split}: float ${i} is ${got[i]}, run by run ${want[i]}`);
            }
          }
        }
      }
    }
  }
});

/**
 * upd and updTyped with Kaneko's coefficients: per sample either gE or gI is all 0 (some of them -0),
 * so the SIMD variants leave those samples out of each pass's sums. `mode`: 'split' (the amine's
 * sign picks the side per sample), 'inf' (also an infinite input in a sample whose gE is 0: that
 * sample must stay in, giving the same NaN), 'none' (gE 0 in every sample: the E pass sums nothing).
 */
function zeroSampleUpdate(variant: string, B: number, nIn: number, nOut: number, freeze: number, split: number, mode: 'split' | 'inf' | 'none'): Float32Array {
  const s = scratch(B, nIn, nOut);
  const { off, addr: A } = s;
  const f = s.mem.f;
  for (let i = 0; i < nIn; i++) f[off.types + i] = i % 2 === 0 ? 1 : 0;
  for (let b = 0; b < B; b++) {
    const eZero = mode === 'none' || b % 3 !== 1;
    const zeroed = eZero ? off.g : off.g2;
    for (let j = 0; j < nOut; j++) f[zeroed + b * nOut + j] = j % 4 === 1 ? -0 : 0;
  }
  if (mode === 'inf') f[off.x + 0 * nIn + (nIn >> 1)] = Infinity; // sample 0: gE 0 there
  process.env.EDSIM_NATIVE_VARIANT = variant;
  const k: NativeBound = bindNative(s.mem.buffer);
  delete process.env.EDSIM_NATIVE_VARIANT;
  k.updTyped!(A.w, A.x, 4 * nIn, A.g, A.g2, 4 * nOut, B, A.types, 0, nIn, nOut, 0.01, freeze, 0, split);
  k.updTyped!(A.w, A.x, 4 * nIn, A.g, A.g2, 4 * nOut, B, A.types, 0, nIn, nOut, 0.01, freeze, split, nOut);
  k.upd(A.w, A.x, 4 * nIn, A.g, 4 * nOut, B, 0, nIn >> 1, nOut, 0.02, freeze, 0, nOut);
  if (nIn >= 4) k.upd(A.w, A.x, 4 * nIn, A.g2, 4 * nOut, B, 0, nIn >> 2, nOut, 0.005, freeze, 0, nOut, nIn >> 1);
  return Float32Array.from(f);
}

test('samples whose coefficients are all 0 change no bit of the update (Kaneko\'s rule: gE or gI is 0 per sample), on every variant', () => {
  if (!addon) return;
  for (const [B, nIn, nOut] of [...SHAPES, [16, 1570, 40] as [number, number, number]]) {
    for (const freeze of [1, 0]) {
      for (const mode of ['split', 'inf', 'none'] as const) {
        const want = zeroSampleUpdate('portable', B, nIn, nOut, freeze, nOut, mode);
        for (const v of variants) {
          for (const split of [nOut, Math.floor(nOut / 3)]) {
            const got = zeroSampleUpdate(v, B, nIn, nOut, freeze, split, mode);
            for (let i = 0; i < want.length; i++) {
              if (!Object.is(got[i], want[i])) assert.unreachable(`${v}, ${B}x${nIn}->${nOut}, freeze ${freeze}, ${mode}, split at ${split}: float ${i} is ${got[i]}, portable ${want[i]}`);
            }
          }
        }
      }
    }
  }
});

test('native forward (fused sigmoid) and update match the float64 reference', () => {
  if (!addon) return;
  for (const [B, nIn, nOut] of SHAPES) {
    const s = scratch(B, nIn, nOut);
    const ref = Float64Array.from(s.mem.f);
    const k = bindNative(s.mem.buffer);
    const { off, addr: A } = s;
    k.fwd(A.w, A.bias, 1, A.x, 4 * nIn, A.y, 4 * nOut, B, nIn, nOut, 1, -2 / 0.4);
    forwardDense(ref, off.w, off.bias, off.x, nIn, off.y, nOut, B, nIn, nOut, 0, 0.4);
    expectClose(s.mem.f.subarray(off.y, off.y + B * nOut), ref.subarray(off.y, off.y + B * nOut), 1e-6 + 6e-8 * nIn, `forward ${B}x${nIn}->${nOut}`);
    const srcE = Uint8Array.from({ length: nIn }, (_, i) => (i < nIn >> 1 ? 1 : 0));
    k.upd(A.w, A.x, 4 * nIn, A.g, 4 * nOut, B, 0, nIn >> 1, nOut, 0.5 / B, 0);
    k.upd(A.w, A.x, 4 * nIn, A.g2, 4 * nOut, B, nIn >> 1, nIn, nOut, 0.5 / B, 0);
    amineUpdate(ref, off.w, -1, off.x, nIn, B, nIn, nOut, srcE, off.g, off.g2, 0.5 / B, false);
    expectClose(s.mem.f.subarray(off.w, off.w + nIn * nOut), ref.subarray(off.w, off.w + nIn * nOut), 1e-6 + 6e-8 * B, `update ${B}x${nIn}->${nOut}`);
  }
});

test('native training tracks the wasm kernels (paired mini-batch and the article\'s fused tiny layers)', withTimeout(60000, async () => {
  if (!addon) return;
  const data = (await loadDataset('mnist', { classes: [0, 1], limit: 256 })).train;
  for (const hidden of [[48, 16, 16, 8], [8, 4, 4, 4, 4, 4, 6]]) {
    const w: Float64Array[] = [];
    for (const kernels of ['wasm', 'native'] as const) {
      const t = await createTrainer({ preset: 'article', model: { hidden, kernels }, train: { epochs: 2, batch: 32, shuffle: false } });
      await t.fit(data);
      assert.is(t.model!.kernels, kernels);
      w.push(Float64Array.from(t.weights()[0]!.flatMap((l) => Array.from(l.w))));
      await t.close();
    }
    expectClose(w[1]!, w[0]!, 2e-4, `weights, hidden ${hidden.join(',')}`);
  }
  // Online (batch of one), Kaneko's nets and rule: the rank-1 kernels, the fused online sigmoid, the
  // skipped rows whose coefficients are all 0; against the float64 reference engine.
  const ten = (await loadDataset('mnist', { limit: 100 })).train;
  const online: Float64Array[] = [];
  for (const model of [{ kernels: 'native', precision: 'f32' }, { kernels: 'js', precision: 'f64' }] as const) {
    const t = await createTrainer({ preset: 'kaneko', model: { ...model, hidden: [12], faithfulExp: false, alphaHidden: 0.1, alphaOutput: 0.1 }, train: { epochs: 1 } });
    await t.fit(ten);
    online.push(Float64Array.from(t.weights().flatMap((net) => net.flatMap((l) => Array.from(l.w)))));
    await t.close();
  }
  // (at Kaneko's rate of 0.8 the online trajectory amplifies float32 rounding; at 0.1 it stays within 1e-5)
  expectClose(online[0]!, online[1]!, 2e-5, 'online weights, native f32 against js f64');
}));

const dir = tempDir();
const saved = (o: TrainerOptions, data: Dataset, name: string): Promise<string> => trainedModelFile(o, data, dir, name);

test('on native kernels, layer and output save model files byte-identical to serial', withTimeout(120000, async () => {
  if (!addon) return;
  const mnist01 = (await loadDataset('mnist', { classes: [0, 1], limit: 256 })).train;
  const paired: TrainerOptions = { preset: 'bench-wide', model: { hidden: [48, 16, 16, 8, 8], kernels: 'native' }, train: { epochs: 2, batch: 32 } };
  const serial = await saved({ ...paired, strategy: 'serial' }, mnist01, 'n-serial');
  assert.match(serial, /"kernels":"native"/);
  for (const workers of [2, 3]) assert.ok(await saved({ ...paired, strategy: 'layer', workers }, mnist01, `n-layer-${workers}`) === serial, `layer x${workers}`);
  const mnist10 = (await loadDataset('mnist', { limit: 200 })).train;
  const online: TrainerOptions = { preset: 'mnist10', model: { hidden: [12] }, train: { epochs: 2 } };
  const serial10 = await saved({ ...online, strategy: 'serial' }, mnist10, 'n10-serial');
  assert.match(serial10, /"kernels":"native"/);
  assert.ok(await saved({ ...online, strategy: 'output', workers: 2 }, mnist10, 'n10-out') === serial10, 'output x2');
}));

test('stageRows gathers a batch\'s rows into the shared memory in order, and refuses indices outside the rows', () => {
  if (!addon) return;
  const s = scratch(4, 8, 4);
  const k = bindNative(s.mem.buffer);
  const width = 6;
  const rows = Float32Array.from({ length: 5 * width }, (_, i) => i + 0.5);
  const order = Int32Array.from([3, 0, 4, 1, 2]);
  k.stageRows!(s.addr.x, 4 * 10, rows, order, 1, 3, width); // samples 0, 4, 1 at rows 10 floats apart
  for (let b = 0; b < 3; b++) {
    const sample = order[1 + b]!;
    assert.equal(Array.from(s.mem.f.subarray(s.off.x + 10 * b, s.off.x + 10 * b + width)), Array.from(rows.subarray(sample * width, (sample + 1) * width)));
  }
  assert.throws(() => k.stageRows!(s.addr.x, 40, rows, Int32Array.from([5]), 0, 1, width), /outside the rows/);
  assert.throws(() => k.stageRows!(s.addr.x, 40, rows, order, 4, 3, width), /covering the batch/);
});

test('stageBatch writes the same float32 input rows from the doubled rows (copies or stageRows), from the float32 copy (copies or stageRowsDoubled), and from float64 rows converted where both copies would pass their limits', () => {
  const nf = 13;
  const n = 9;
  const rng = new Rng(4242);
  const x = Float64Array.from({ length: n * nf }, () => (rng.next() < 0.3 ? 0 : rng.next() / 3)); // float64 values float32 rounds
  const y = Float64Array.from({ length: n * 2 }, (_, i) => i % 2);
  const order = Int32Array.from([4, 8, 0, 3, 7, 1, 6, 2, 5]);
  const count = 5;
  const staged = (interleaved: boolean, path: 'rows' | 'copy' | 'convert' | 'gather' | 'native'): Float32Array => {
    const stride = 2 * nf + 2 + 3; // bias cells, then padding the rows must not touch
    const net = { biasCells: true, input: 0, inputStride: stride, target: count * stride, outputs: 2, dataOutput: 0, interleaved } as unknown as NetLayout;
    const floats = count * stride + count * 2;
    const mem = allocateMemory({ batch: 1, elem: 4, floats: floats + 1, weightFloats: 0, rate: floats, bytes: 65536, members: 1, nets: [], slots: [] }, 0);
    mem.f.fill(-7);
    const data = { x: x.slice(), features: nf, y, outputs: 2 }; // a new array: stagedInputs caches per array
    const saved = { ...stagingLimits };
    if (path === 'copy' || path === 'convert') stagingLimits.doubledRowsBytes = 0;
    if (path === 'convert') stagingLimits.float32CopyBytes = 0;
    try {
      const k = path === 'native' || (path === 'convert' && addon) ? nativeKernels(mem) : path === 'gather' ? { gatherRows: nativeKernels(mem).gatherRows } : {};
      stageBatch(mem.f, net, data, order, 2, count, k);
      if (path === 'copy' || path === 'convert') assert.is(stagedInputs(net, data), undefined, 'no doubled rows over the limit');
      if (path === 'convert') assert.is(float32Inputs(data.x), undefined, 'no float32 copy over the limit');
    } finally {
      Object.assign(stagingLimits, saved);
    }
    return Float32Array.from(mem.f.subarray(0, floats));
  };
  for (const interleaved of [false, true]) {
    const want = staged(interleaved, 'rows');
    const s = order[2]!;
    const row = Array.from(want.subarray(2, 2 + 2 * nf));
    const v = Array.from(Float32Array.from(x.subarray(s * nf, (s + 1) * nf)));
    assert.equal(row, interleaved ? v.flatMap((a) => [a, a]) : [...v, ...v], 'the first staged row is the sample, twice');
    assert.equal(Array.from(staged(interleaved, 'copy')), Array.from(want), `float32 copy, interleaved ${interleaved}`);
    assert.equal(Array.from(staged(interleaved, 'convert')), Array.from(want), `float64 rows converted, interleaved ${interleaved}`);
    if (!addon) continue;
    assert.equal(Array.from(staged(interleaved, 'gather')), Array.from(want), `stageRows, interleaved ${interleaved}`);
    assert.equal(Array.from(staged(interleaved, 'native')), Array.from(want), `stageRowsDoubled, interleaved ${interleaved}`);
  }
  if (!addon) return;
  const s = scratch(4, 8, 4);
  const k = bindNative(s.mem.buffer);
  assert.throws(() => k.stageRowsDoubled!(s.addr.x, 40, Float32Array.from([1, 2]), Int32Array.from([1]), 0, 1, 2, false), /outside the rows/);
  assert.throws(() => k.stageRowsDoubled!(s.addr.x, 40, Float32Array.from([1, 2]), Int32Array.from([0]), 0, 2, 2, true), /covering the batch/);
});

test('without the addon, the default falls back to wasm and says so once; --kernels native is a clear error', () => {
  const env = { ...process.env, EDSIM_NATIVE: '0' };
  const r = spawnSync(process.execPath, [CLI, 'train', '--data', 'xor', '--preset', 'article', '--hidden', '4', '--epochs', '2', '--json'], { env, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stderr.match(/using the WebAssembly kernels/g)?.length, 1, r.stderr);
  assert.is(JSON.parse(r.stdout.trim().split('\n').at(-1)!).kernels, 'wasm');
  const bad = spawnSync(process.execPath, [CLI, 'train', '--data', 'xor', '--preset', 'article', '--kernels', 'native'], { env, encoding: 'utf8' });
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /^edsim: --kernels native: turned off by EDSIM_NATIVE=0 \(use --kernels wasm\)\n$/);
});

test.run();
