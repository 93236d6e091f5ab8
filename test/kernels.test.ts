import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { matrix, multiply, transpose, type Matrix } from 'mathjs';
import { activate, derivative, ACT_CODE } from '../src/engine/activations.js';
import { amineCoefficients, amineUpdate, amineUpdateOnline, forwardDense } from '../src/kernels/reference.js';
import { Rng } from '../src/engine/rng.js';
import { jsKernels, rawUpdate, wasmKernels } from '../src/kernels/backend.js';
import { allocateMemory, computeLayout, CTRL_BYTES, LINE_BYTES } from '../src/engine/layout.js';
import { getPreset } from '../src/options.js';
import { expectClose } from './helpers.js';

const rng = new Rng(42);
const rand = (n: number, lo = 0, hi = 1): number[] => Array.from({ length: n }, () => lo + (hi - lo) * rng.next());
/** Kernels store weights source-major; the tests think in cell-major rows (mathjs W is nOut x nIn). */
const sourceMajor = (W: number[], nOut: number, nIn: number): number[] => Array.from({ length: nOut * nIn }, (_, k) => W[(k % nOut) * nIn + Math.floor(k / nOut)]!);

test('forwardDense matches mathjs X W^T + b, then the activation (1e-12)', () => {
  for (const act of ['sigmoid', 'relu', 'elu', 'softplus', 'tanh'] as const) {
    const B = 5, nIn = 7, nOut = 4;
    const W = rand(nOut * nIn, -1, 1), X = rand(B * nIn), bias = rand(nOut, -0.5, 0.5);
    const m = new Float64Array(W.length + X.length + bias.length + B * nOut);
    m.set(sourceMajor(W, nOut, nIn), 0); m.set(X, W.length); m.set(bias, W.length + X.length);
    const y = W.length + X.length + bias.length;
    forwardDense(m, 0, W.length + X.length, W.length, nIn, y, nOut, B, nIn, nOut, ACT_CODE[act], 0.4);
    const Wm = matrix(Array.from({ length: nOut }, (_, j) => W.slice(j * nIn, (j + 1) * nIn)));
    const Xm = matrix(Array.from({ length: B }, (_, b) => X.slice(b * nIn, (b + 1) * nIn)));
    const U = (multiply(Xm, transpose(Wm)) as Matrix).toArray() as number[][];
    const want = U.flatMap((row) => row.map((u, j) => activate(ACT_CODE[act], u + bias[j]!, 0.4)));
    expectClose(m.subarray(y), want, 1e-12, `forward ${act}`);
  }
});

test('amineUpdate (bidirectional) matches mathjs alpha/B * G^T X', () => {
  const B = 6, nIn = 5, nOut = 3;
  const W = rand(nOut * nIn, -1, 1), X = rand(B * nIn), G = rand(B * nOut, -1, 1);
  const m = new Float64Array(W.length + X.length + 2 * G.length);
  m.set(sourceMajor(W, nOut, nIn), 0); m.set(X, W.length); m.set(G, W.length + X.length); m.set(G, W.length + X.length + G.length);
  const srcE = Uint8Array.from([1, 0, 1, 0, 1]);
  amineUpdate(m, 0, -1, W.length, nIn, B, nIn, nOut, srcE, W.length + X.length, W.length + X.length + G.length, 0.3 / B, false);
  const Gm = matrix(Array.from({ length: B }, (_, b) => G.slice(b * nOut, (b + 1) * nOut)));
  const Xm = matrix(Array.from({ length: B }, (_, b) => X.slice(b * nIn, (b + 1) * nIn)));
  const D = (multiply(transpose(Gm), Xm) as Matrix).toArray() as number[][];
  expectClose(m.subarray(0, W.length), sourceMajor(W.map((w, k) => w + (0.3 / B) * D[Math.floor(k / nIn)]![k % nIn]!), nOut, nIn), 1e-12, 'W');
});

test('amineCoefficients: kaneko rule splits the amine into d+ (E sources) and d- (I sources)', () => {
  const m = new Float64Array(16);
  m.set([0.3, 0.6], 0); // outputs of 2 cells, batch 1
  m[2] = -0.5; // amine
  amineCoefficients(m, 0, 2, 1, 2, Int8Array.from([1, -1]), 0, 2, 1, 2, true, 4, 6);
  expectClose(m.subarray(4, 8), [0, 0, 0.3 * 0.7 * -0.5, 0.6 * 0.4 * -0.5 * -1], 1e-15, 'g');
  amineCoefficients(m, 0, 2, 1, 2, Int8Array.from([1, -1]), 0, 2, 1, 2, false, 4, 6);
  expectClose(m.subarray(4, 8), [0.3 * 0.7 * -0.5, -(0.6 * 0.4 * -0.5), 0.3 * 0.7 * -0.5, -(0.6 * 0.4 * -0.5)], 1e-15, 'g');
});

test('online kernel agrees with the batch kernels for a batch of one (1e-15)', () => {
  for (const kaneko of [true, false]) {
    const nIn = 6, nOut = 4;
    const types = Int8Array.from([-1, 1, -1, 1]);
    const srcE = Uint8Array.from([1, 0, 1, 0, 1, 0]);
    const W = Array.from({ length: nOut * nIn }, (_, k) => (srcE[k % nIn] ? 1 : -1) * types[Math.floor(k / nIn)]! * rng.next());
    W[3] = 0;
    const base = [...W, ...rand(nIn), ...rand(nOut, 0.05, 0.95), -0.4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const a = Float64Array.from(base), b = Float64Array.from(base);
    const x = W.length, y = x + nIn, am = y + nOut, gE = am + 1, gI = gE + nOut;
    amineUpdateOnline(a, 0, -1, x, y, nIn, nOut, srcE, types, 0, am, nOut, 0.8, kaneko);
    amineCoefficients(b, y, nOut, 1, nOut, types, 0, am, 1, nOut, kaneko, gE, gI);
    amineUpdate(b, 0, -1, x, nIn, 1, nIn, nOut, srcE, gE, gI, 0.8, kaneko);
    expectClose(a.subarray(0, W.length), b.subarray(0, W.length), 1e-15, `W (kaneko ${kaneko})`);
  }
});

test('wasm online update (batch of one, E/I sources interleaved, zero weights frozen) matches the JS kernel', () => {
  for (const kanekoRule of [true, false]) {
    const c = { ...getPreset('kaneko').model, hidden: [6], inputs: 5, outputs: 1, precision: 'f32' as const, kernels: 'wasm' as const, faithfulExp: false };
    const layout = computeLayout(c, 1);
    const a = allocateMemory(layout, c.beta);
    const b = allocateMemory(layout, c.beta);
    for (let i = 0; i < layout.floats; i++) a.f[i] = b.f[i] = rng.next() * 0.9 + 0.05;
    const net = layout.nets[0]!;
    for (const l of net.layers) {
      for (let i = 0; i < l.nIn; i++) a.f[l.types + i] = b.f[l.types + i] = l.srcE[i]!;
      for (let i = 0; i < l.nIn; i++) for (let j = 0; j < l.nOut; j++) {
        const v = i === 3 && j === 1 ? 0 : (l.srcE[i] ? 1 : -1) * l.cellTypes[j]! * rng.next();
        a.f[l.w + i * l.nOut + j] = b.f[l.w + i * l.nOut + j] = v;
      }
    }
    a.f[net.amine] = b.f[net.amine] = -0.3;
    a.f[net.err] = b.f[net.err] = -0.3;
    const k = wasmKernels(a);
    for (const l of net.layers) {
      k.update(a.f, net, l, 1, kanekoRule);
      jsKernels.update(b.f, net, l, 1, kanekoRule);
      expectClose(a.f.subarray(l.w, l.w + l.nIn * l.nOut), b.f.subarray(l.w, l.w + l.nIn * l.nOut), 1e-6, `W (kaneko rule ${kanekoRule})`);
      if (kanekoRule && l.nOut > 1) assert.is(a.f[l.w + 3 * l.nOut + 1], 0);
    }
  }
});

test('fused wasm chains of tiny paired layers match the JS float32 kernels layer by layer', async () => {
  const { createTrainer } = await import('../src/trainer.js');
  const { parityData } = await import('../src/data/data.js');
  const data = parityData(6);
  const weights: { w: Float64Array }[][][] = [];
  for (const kernels of ['js', 'wasm'] as const) {
    const t = await createTrainer({ preset: 'article', model: { hidden: [8, 4, 4, 4, 4, 6, 6], kernels, precision: 'f32', bias: 'none' }, train: { epochs: 3, batch: 16, shuffle: false } });
    await t.fit(data);
    weights.push(t.weights());
    await t.close();
  }
  weights[0]!.forEach((net, n) => net.forEach((l, k) => expectClose(weights[1]![n]![k]!.w, l.w, 1e-5, `layer ${k}`)));
});

test('derivatives are written as functions of the output', () => {
  assert.is(derivative(ACT_CODE.sigmoid, 0.25), 0.25 * 0.75);
  assert.is(derivative(ACT_CODE.relu, 0.3), 1);
  assert.is(derivative(ACT_CODE.relu, 0), 0);
  assert.is(derivative(ACT_CODE.elu, -0.5), 0.5);
  assert.is(derivative(ACT_CODE.elu, 2), 1);
  assert.ok(derivative(ACT_CODE.softplus, 0.2) > 0);
  assert.is(derivative(ACT_CODE.tanh, 0.5), 0.75);
});

test('Rng is reproducible and uniform enough', () => {
  const a = new Rng(7), b = new Rng(7);
  const xs = Array.from({ length: 10000 }, () => a.next());
  assert.equal(xs.slice(0, 5), Array.from({ length: 5 }, () => b.next()));
  const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
  assert.ok(xs.every((v) => v >= 0 && v < 1));
  const n = Array.from({ length: 4000 }, () => a.normal());
  assert.ok(Math.abs(n.reduce((s, v) => s + v, 0) / n.length) < 0.08);
});

test('WebAssembly SIMD kernels (f32) match the float64 reference on odd shapes', () => {
  const shapes = [[128, 784, 256], [5, 7, 3], [9, 13, 17], [4, 8, 8], [1, 3, 9], [33, 2, 12]];
  for (const [B, nIn, nOut] of shapes as [number, number, number][]) {
    // Regions for W, bias, X, Y, gE, gI in one scratch memory, each 16-byte aligned.
    const sizes = [nIn * nOut, nOut, B * nIn, B * nOut, B * nOut, B * nOut];
    const offs: number[] = [];
    let off = 0;
    for (const n of sizes) {
      offs.push(off);
      off += Math.ceil(n / 4) * 4;
    }
    const mem = allocateMemory({ batch: 1, elem: 4, floats: off + 1, weightFloats: 0, rate: off, bytes: Math.ceil((4096 + (off + 4) * 4) / 65536) * 65536, members: 1, nets: [], slots: [] }, 0);
    const [w, bias, x, y, gE, gI] = offs as [number, number, number, number, number, number];
    const W = rand(nIn * nOut, -1, 1), bv = rand(nOut, -1, 1), X = rand(B * nIn), G = rand(B * nOut, -1, 1), G2 = rand(B * nOut, -1, 1);
    for (const [v, o] of [[W, w], [bv, bias], [X, x], [G, gE], [G2, gI]] as [number[], number][]) mem.f.set(v, o);
    const ref = Float64Array.from(mem.f); // the same float32-rounded inputs, computed in float64
    const srcE = Uint8Array.from({ length: nIn }, (_, i) => (i < nIn / 2 ? 1 : 0));
    const l = { nIn, nOut, srcE, cellTypes: new Int8Array(nOut).fill(1), biasVector: true, act: 0, alpha: 0.5, isOutput: false, amineGroup: nOut, readoutColumn: 0, alphaCross: 0, w, b: bias, types: -1, x, xStride: nIn, y, yStride: nOut, gE, gI };
    wasmKernels(mem).forward(mem.f, l, B, 0.4);
    forwardDense(ref, w, bias, x, nIn, y, nOut, B, nIn, nOut, 0, 0.4);
    // float32 sums of n terms of size ~1 carry up to ~n * 2^-24 relative error (stated tolerance).
    expectClose(mem.f.subarray(y, y + B * nOut), ref.subarray(y, y + B * nOut), 1e-6 + 6e-8 * nIn, `forward ${B}x${nIn}->${nOut}`);
    rawUpdate(mem, l, B, 0.5 / B);
    amineUpdate(ref, w, -1, x, nIn, B, nIn, nOut, srcE, gE, gI, 0.5 / B, false);
    expectClose(mem.f.subarray(w, w + nIn * nOut), ref.subarray(w, w + nIn * nOut), 1e-6 + 6e-8 * B, `update ${B}x${nIn}->${nOut}`);
  }
});

test.run();

test('every region of a layout starts on a cache line; EDSIM_ALIGN_BYTES sets another power of two or is refused', () => {
  const c = { ...getPreset('bench-wide').model, inputs: 784, outputs: 10, precision: 'f32' as const };
  const starts = (l: ReturnType<typeof computeLayout>): number[] => l.slots.flatMap((nets) => nets.flatMap((n) => [n.input, n.target, n.err, n.amine,
    ...n.layers.flatMap((x) => [x.w, x.types, x.x, x.gE, x.gI, ...(x.b >= 0 ? [x.b] : [])])]));
  const line = computeLayout(c, 128, 2);
  assert.ok(starts(line).every((o) => (CTRL_BYTES + 4 * o) % LINE_BYTES === 0), 'a region off a cache line');
  process.env.EDSIM_ALIGN_BYTES = '16';
  try {
    const old = computeLayout(c, 128, 2);
    assert.ok(starts(old).some((o) => (4 * o) % LINE_BYTES !== 0), 'at 16 bytes some region sits inside a line');
    assert.ok(old.floats < line.floats);
    for (const bad of ['48', '8', 'x']) {
      process.env.EDSIM_ALIGN_BYTES = bad;
      assert.throws(() => computeLayout(c, 128), /EDSIM_ALIGN_BYTES must be a power of two/);
    }
  } finally {
    delete process.env.EDSIM_ALIGN_BYTES;
  }
});
