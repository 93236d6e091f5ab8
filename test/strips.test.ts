/**
 * runNets' mini-batch pass with a second activation slot (each layer's update of batch t and
 * forward pass of batch t + 1 strip of cells by strip) against the plain pass (one slot: update
 * the whole layer, then forward the whole layer): the same weights, outputs and errors, bit for
 * bit, on every kernel implementation, under both rules, with a last batch shorter than the rest.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allocateMemory, computeLayout } from '../src/engine/layout.js';
import { initWeights } from '../src/engine/weights.js';
import { runNets } from '../src/engine/layer-group.js';
import { kernelsFor } from '../src/kernels/backend.js';
import { nativeAddon } from '../src/kernels/native.js';
import { getPreset, type ModelConfig } from '../src/options.js';
import { Rng } from '../src/engine/rng.js';

/** 100 image-like samples (about half the pixels 0, as on MNIST's borders) of 784 pixels, 3 classes. */
function images(n: number, seed: number) {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = rng.next() < 0.5 ? 0 : rng.next();
  const y = new Float64Array(n * 3);
  for (let s = 0; s < n; s++) y[s * 3 + (s % 3)] = 1;
  return { x, features: 784, y, outputs: 3 };
}

/** Weights, outputs and errors after two passes over the samples with `slots` activation slots. */
function train(c: ModelConfig, impl: 'js' | 'wasm' | 'native', slots: number) {
  const layout = computeLayout(c, 16, slots);
  const mem = allocateMemory(layout, c.beta);
  initWeights(mem.f, layout, c, 7);
  const kern = kernelsFor(impl, mem);
  const data = images(100, 3);
  const order = Int32Array.from({ length: 100 }, (_, i) => (i * 37) % 100);
  const total = layout.nets.length;
  const out = new Float64Array(100 * total);
  const err = new Float64Array(100 * total);
  for (let epoch = 0; epoch < 2; epoch++) {
    assert.ok(runNets(kern, mem.f, layout, 0, layout.nets.length, data, order, 100, true, c.u0, c.u1, c.rule === 'kaneko', out, err, total));
  }
  return { weights: new Uint8Array(mem.f.buffer, mem.f.byteOffset, layout.weightFloats * layout.elem).slice(), out, err, cellTile: kern.cellTile };
}

const impls = ['js', 'wasm', ...(nativeAddon() ? ['native' as const] : [])] as const;

for (const impl of impls) {
  for (const rule of ['kaneko', 'bidirectional'] as const) {
    test(`${impl}, ${rule} rule: batch t's update and batch t + 1's forward pass strip by strip equal the plain pass, bit for bit`, () => {
      const base = getPreset('mnist10').model;
      const c: ModelConfig = { ...base, inputs: 784, outputs: 3, hidden: [48], rule, precision: impl === 'js' ? 'f64' : 'f32', kernels: impl };
      const plain = train(c, impl, 1);
      const strips = train(c, impl, 2);
      // 1570 sources: a strip is at most 192 KiB of weights, so the 48 cells run in 2 or 3 strips.
      assert.ok(Math.max(plain.cellTile, Math.floor(192 * 1024 / (1570 * (impl === 'js' ? 8 : 4)) / plain.cellTile) * plain.cellTile) < 48, 'more than one strip');
      assert.equal(strips.out, plain.out, 'outputs');
      assert.equal(strips.err, plain.err, 'errors');
      assert.ok(Buffer.from(strips.weights).equals(Buffer.from(plain.weights)), 'weights');
    });
  }
}

test.run();
