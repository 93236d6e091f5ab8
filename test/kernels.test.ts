import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { matrix, multiply, transpose, type Matrix } from 'mathjs';
import { activate, derivative, ACT_CODE } from '../src/activations.js';
import { amineCoefficients, amineUpdate, amineUpdateOnline, forwardDense } from '../src/kernels.js';
import { exactExp } from '../src/exact-exp.js';
import { Rng } from '../src/rng.js';
import { expectClose } from './helpers.js';

const rng = new Rng(42);
const rand = (n: number, lo = 0, hi = 1): number[] => Array.from({ length: n }, () => lo + (hi - lo) * rng.next());

test('forwardDense matches mathjs X W^T + b, then the activation (1e-12)', () => {
  for (const act of ['sigmoid', 'relu', 'elu', 'softplus', 'tanh'] as const) {
    const B = 5, nIn = 7, nOut = 4;
    const W = rand(nOut * nIn, -1, 1), X = rand(B * nIn), bias = rand(nOut, -0.5, 0.5);
    const m = new Float64Array(W.length + X.length + bias.length + B * nOut);
    m.set(W, 0); m.set(X, W.length); m.set(bias, W.length + X.length);
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
  m.set(W, 0); m.set(X, W.length); m.set(G, W.length + X.length); m.set(G, W.length + X.length + G.length);
  const srcE = Uint8Array.from([1, 0, 1, 0, 1]);
  amineUpdate(m, 0, -1, W.length, nIn, B, nIn, nOut, srcE, W.length + X.length, W.length + X.length + G.length, 0.3 / B, false);
  const Gm = matrix(Array.from({ length: B }, (_, b) => G.slice(b * nOut, (b + 1) * nOut)));
  const Xm = matrix(Array.from({ length: B }, (_, b) => X.slice(b * nIn, (b + 1) * nIn)));
  const D = (multiply(transpose(Gm), Xm) as Matrix).toArray() as number[][];
  expectClose(m.subarray(0, W.length), W.map((w, k) => w + (0.3 / B) * D[Math.floor(k / nIn)]![k % nIn]!), 1e-12, 'W');
});

test('amineCoefficients: kaneko rule splits the amine into d+ (E sources) and d- (I sources)', () => {
  const m = new Float64Array(16);
  m.set([0.3, 0.6], 0); // outputs of 2 cells, batch 1
  m[2] = -0.5; // amine
  amineCoefficients(m, 0, 2, 1, 2, Int8Array.from([1, -1]), 0, 2, 1, false, true, 4, 6);
  expectClose(m.subarray(4, 8), [0, 0, 0.3 * 0.7 * -0.5, 0.6 * 0.4 * -0.5 * -1], 1e-15, 'g');
  amineCoefficients(m, 0, 2, 1, 2, Int8Array.from([1, -1]), 0, 2, 1, false, false, 4, 6);
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
    amineUpdateOnline(a, 0, -1, x, y, nIn, nOut, srcE, types, 0, am, false, 0.8, kaneko);
    amineCoefficients(b, y, nOut, 1, nOut, types, 0, am, 1, false, kaneko, gE, gI);
    amineUpdate(b, 0, -1, x, nIn, 1, nIn, nOut, srcE, gE, gI, 0.8, kaneko);
    expectClose(a.subarray(0, W.length), b.subarray(0, W.length), 1e-15, `W (kaneko ${kaneko})`);
  }
});

test('exactExp is correctly rounded where a double-double check can tell, and handles the edges', () => {
  for (const x of [0, 1, -1, 0.5, 10, -10, 700, -700]) assert.ok(Math.abs(exactExp(x) / Math.exp(x) - 1) < 4e-16, `x=${x}`);
  assert.is(exactExp(1000), Infinity);
  assert.is(exactExp(-1000), 0);
  assert.ok(Number.isNaN(exactExp(NaN)));
  // Cases where V8's Math.exp is one ulp off the correctly rounded value (checked with 40-digit decimals).
  assert.is(exactExp(1.727762149334012), 5.628045080921312);
  assert.is(exactExp(-0.3813001193484524), 0.6829728854811828);
  assert.is(exactExp(0.26416835025156615), 1.3023474283636813);
  // A near-tie (2.776e-17 vs 2.774e-17 away): glibc rounds down here, the correct rounding is up.
  assert.is(exactExp(-0.7484646006196272), 0.4730923811290387);
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

test.run();
