/**
 * Subnormal floats: ED's saturated cells used to leave 1.6e-38 in the activations and subnormal
 * products in the coefficients, and an Intel core takes a microcode assist on each (bench-wide ran
 * 8x slower on a 16-core Xeon, the wasm kernels 5x). The sigmoid is now 0 exactly where k u > 80 on
 * every backend, the native kernels flush subnormals (FTZ/DAZ) during each call and restore the
 * thread's mode on return. This holds each of those in place.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { allocateMemory } from '../src/engine/layout.js';
import { bindNative, nativeAddon } from '../src/kernels/native.js';
import { createTrainer } from '../src/trainer.js';
import { loadDataset } from '../src/data/data.js';
import { withTimeout } from './helpers.js';

const addon = nativeAddon();
const info = addon?.info();
const variants = addon ? ['portable', ...(info?.avx2 && info.fma ? ['avx2'] : []), ...(info?.avx512f ? ['avx512'] : [])] : [];

/** How many float32 values in `f` are subnormal (exponent bits 0, mantissa not). */
function subnormals(f: Float32Array): number {
  const u = new Uint32Array(f.buffer, f.byteOffset, f.length);
  let n = 0;
  for (let i = 0; i < u.length; i++) if ((u[i]! & 0x7f800000) === 0 && (u[i]! & 0x7fffff) !== 0) n++;
  return n;
}

// k u across the cut at 80 (k = -2 / u0 = -5): values of u on both sides, and far beyond the clamp.
const KU = [-100, -87, -1, 0, 1, 40, 79.5, 80, 80.25, 81, 87, 88, 100, 1e6];
const K = -5;

function sigmoidInput(): { mem: ReturnType<typeof allocateMemory>; at: number } {
  const mem = allocateMemory({ batch: 1, elem: 4, floats: 64, weightFloats: 0, rate: 63, bytes: 65536, members: 1, nets: [], slots: [] }, 0);
  KU.forEach((ku, i) => { mem.f[i] = ku / K; });
  return { mem, at: 4096 };
}

function expectCut(out: ArrayLike<number>, where: string): void {
  KU.forEach((ku, i) => {
    const v = out[i]!;
    if (ku > 80) assert.is(v, 0, `${where}: k u = ${ku} gives 0 exactly`);
    else assert.ok(v >= 1.17549435e-38 && v <= 1, `${where}: k u = ${ku} gives a normal value in (0, 1], got ${v}`);
  });
  assert.ok(Math.abs(out[KU.indexOf(79.5)]! - 1 / (1 + Math.exp(79.5))) < 1e-5 / (1 + Math.exp(79.5)), `${where}: just below the cut, the sigmoid itself`);
}

test('the sigmoid is 0 exactly where k u > 80, on wasm and every native variant', () => {
  const w = sigmoidInput();
  const wasm = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(new URL('../wasm/kernels.wasm', import.meta.url))), { env: { memory: w.mem.wasm } }).exports as unknown as { sigmoid(p: number, rows: number, cols: number, stride: number, k: number): void };
  wasm.sigmoid(w.at, 1, KU.length, 4 * KU.length, K);
  expectCut(w.mem.f.subarray(0, KU.length), 'wasm');
  for (const v of variants) {
    const n = sigmoidInput();
    addon!.bind(new Float32Array(n.mem.buffer), v).sigmoid(n.at, 1, KU.length, 4 * KU.length, K);
    expectCut(n.mem.f.subarray(0, KU.length), v);
  }
});

test('training bench-wide leaves no subnormal float in the shared memory (native and wasm)', withTimeout(60000, async () => {
  const data = (await loadDataset('mnist', { classes: [0, 1], limit: 512 })).train;
  for (const kernels of addon ? ['wasm', 'native'] as const : ['wasm'] as const) {
    const t = await createTrainer({ preset: 'bench-wide', model: { kernels } });
    await t.fit(data, { epochs: 2 });
    const f = t.mem!.f as Float32Array;
    let saturated = 0; // cells whose sigmoid is now 0: the case that used to leave 1.6e-38
    for (let i = 0; i < f.length; i++) if (f[i] === 0) saturated++;
    assert.ok(saturated > 0, `${kernels}: some zeros`);
    assert.is(subnormals(f), 0, `${kernels}: subnormal floats in memory after training`);
    await t.close();
  }
}));

test('the native kernels restore the thread\'s floating-point mode: JavaScript still rounds to subnormals', () => {
  if (!addon) return;
  const n = sigmoidInput();
  const k = bindNative(n.mem.buffer);
  k.sigmoid(n.at, 1, KU.length, 4 * KU.length, K);
  const tiny = Number(process.env.EDSIM_TEST_TINY ?? '1e-40'); // not a constant the compiler could fold
  assert.ok(new Float32Array([tiny])[0]! > 0, 'a float32 store of 1e-40 after a native call is subnormal, not 0');
  assert.ok(tiny * 1e-270 > 0, 'float64 subnormals too (1e-310)');
});

test('EDSIM_FLUSH_DENORMALS=0 turns the flushing off, and --verbose says so', () => {
  if (!addon) return;
  const cli = new URL('../src/cli/cli.js', import.meta.url).pathname;
  const r = spawnSync(process.execPath, [cli, 'train', '--data', 'xor', '--preset', 'article', '--epochs', '1', '--verbose'], { env: { ...process.env, EDSIM_FLUSH_DENORMALS: '0' }, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /subnormals not flushed \(EDSIM_FLUSH_DENORMALS=0\)/);
});

test.run();
