/**
 * runNets' mini-batch pass with a second activation slot (each layer's update of batch t and
 * forward pass of batch t + 1 in one call, block of sources by block on the native kernels)
 * against the plain pass (one slot: update every layer, then forward the next batch): the same
 * weights, outputs and errors, bit for bit, under both rules, with a last batch shorter than the
 * rest, for a layer fused (512 cells) and one below the size that is (48 cells).
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

/** n image-like samples (about half the pixels 0, as on MNIST's borders) of 784 pixels, 3 classes. */
function images(n: number, seed: number) {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = rng.next() < 0.5 ? 0 : rng.next();
  const y = new Float64Array(n * 3);
  for (let s = 0; s < n; s++) y[s * 3 + (s % 3)] = 1;
  return { x, features: 784, y, outputs: 3 };
}

/** Weights, outputs and errors after two passes over 100 samples with `slots` activation slots. */
function train(c: ModelConfig, slots: number) {
  const layout = computeLayout(c, 16, slots);
  const mem = allocateMemory(layout, c.beta);
  initWeights(mem.f, layout, c, 7);
  const kern = kernelsFor('native', mem);
  const data = images(100, 3);
  const order = Int32Array.from({ length: 100 }, (_, i) => (i * 37) % 100);
  const total = layout.nets.length;
  const out = new Float64Array(100 * total);
  const err = new Float64Array(100 * total);
  for (let epoch = 0; epoch < 2; epoch++) {
    assert.ok(runNets(kern, mem.f, layout, 0, layout.nets.length, data, order, 100, true, c.u0, c.u1, c.rule === 'kaneko', out, err, total));
  }
  return { weights: new Uint8Array(mem.f.buffer, mem.f.byteOffset, layout.weightFloats * layout.elem).slice(), out, err, layout, kern };
}

if (!nativeAddon()) console.log('batch-pass.test: skipped (no native addon: the other kernels have no fused batch pass)');
else {
  for (const hidden of [512, 48]) {
    for (const rule of ['kaneko', 'bidirectional'] as const) {
      test(`native, ${hidden} cells, ${rule} rule: batch t's update and batch t + 1's forward pass in one call equal the plain pass, bit for bit`, () => {
        const base = getPreset('mnist10').model;
        const c: ModelConfig = { ...base, inputs: 784, outputs: 3, hidden: [hidden], rule, precision: 'f32', kernels: 'native' };
        const plain = train(c, 1);
        const paired = train(c, 2);
        assert.ok(paired.kern.updateThenForwardBatch !== undefined, 'the native kernels fuse the batch pass');
        const first = paired.layout.nets[0]!.layers[0]!;
        // 1570 sources: 512 cells are past the size fused (131072 weights), 48 are not.
        assert.is(first.nIn * first.nOut >= 131072, hidden === 512);
        assert.equal(paired.out, plain.out, 'outputs');
        assert.equal(paired.err, plain.err, 'errors');
        assert.ok(Buffer.from(paired.weights).equals(Buffer.from(plain.weights)), 'weights');
      });
    }
  }
}

test.run();
