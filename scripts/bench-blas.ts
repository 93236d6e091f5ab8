/**
 * Kernel source chosen by measurement (npm run bench:blas): one-thread sgemm from Debian's BLAS
 * packages (OpenBLAS 0.3.21, BLIS 0.9; scripts/bench-blas.c through CBLAS, as the machine's
 * environment sets them up) against edsim's native and wasm kernels, on the same products in the
 * same run. Needs gcc, libopenblas-dev and libblis-dev; a missing one is skipped with one line.
 * Writes results/bench-blas.csv.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'csv-stringify/sync';
import { benchKernels } from '../src/kernels/bench.js';
import { provenance } from '../src/report/report.js';

const shapes: [number, number, number][] = [[128, 784, 256], [128, 1568, 512], [128, 1024, 512]];
const src = fileURLToPath(new URL('../../scripts/bench-blas.c', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'edsim-bench-blas-'));
const libs = [
  { name: 'OpenBLAS 0.3.21 (Debian)', flags: ['-I/usr/include/x86_64-linux-gnu/openblas-pthread', '-lopenblas'], env: { OPENBLAS_NUM_THREADS: '1' } },
  { name: 'BLIS 0.9 (Debian)', flags: ['-I/usr/include/x86_64-linux-gnu/blis-openmp', '-lblis'], env: { BLIS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' } },
];
interface Row { source: string; op: string; shape: string; gflops: number }
const rows: Row[] = [];
for (const lib of libs) {
  const exe = join(dir, lib.name.split(' ')[0]!);
  const cc = spawnSync('gcc', ['-O2', '-o', exe, src, ...lib.flags], { encoding: 'utf8' });
  if (cc.status !== 0) {
    console.log(`${lib.name}: skipped (${(cc.stderr || String(cc.error)).split('\n')[0]})`);
    continue;
  }
  for (const [B, nIn, nOut] of shapes) {
    const r = spawnSync(exe, [String(B), String(nIn), String(nOut), '5'], { encoding: 'utf8', env: { ...process.env, ...lib.env } });
    const [fwd, upd] = r.stdout.trim().split(' ').map(Number);
    rows.push({ source: lib.name, op: 'forward', shape: `${B}x${nIn}->${nOut}`, gflops: fwd! }, { source: lib.name, op: 'update', shape: `${B}x${nIn}->${nOut}`, gflops: upd! });
  }
}
rmSync(dir, { recursive: true, force: true });
for (const k of benchKernels(shapes, 5)) {
  if (k.op === 'peak') rows.push({ source: `edsim native (${k.variant})`, op: 'peak', shape: 'register FMAs', gflops: k.gflops });
  else if (k.impl !== 'js') rows.push({ source: k.impl === 'native' ? `edsim native (${k.variant})` : 'edsim wasm', op: k.op, shape: `${k.batch}x${k.in}->${k.out}`, gflops: k.gflops });
}
const prov = provenance();
const stamp = new Date().toISOString();
const out = rows.map((r) => ({ ...r, OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? '', ...prov, timestamp: stamp, command: 'npm run bench:blas' }));
for (const r of out) console.log(`${r.source.padEnd(28)} ${r.op.padEnd(8)} ${r.shape.padEnd(14)} ${r.gflops.toFixed(1)} GFLOP/s`);
writeFileSync('results/bench-blas.csv', stringify(out, { header: true }));
console.log('wrote results/bench-blas.csv');
