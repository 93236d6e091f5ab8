/** Test helpers: a timeout wrapper (uvu has none), the CLI runner, temp dirs, closeness checks that name the index. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import type { Dataset } from '../src/data/data.js';
import { EdsimError } from '../src/errors.js';
import { serializeModel } from '../src/model-io.js';
import { createTrainer, type TrainerOptions } from '../src/trainer.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'cli.js');

export function withTimeout<T>(ms: number, fn: () => Promise<T>): () => Promise<T> {
  return () => {
    let timer: NodeJS.Timeout;
    return Promise.race([
      fn().finally(() => clearTimeout(timer)),
      new Promise<T>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`test timed out after ${ms} ms`)), ms);
      }),
    ]);
  };
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { timeout?: number; cwd?: string } = {}): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: opts.timeout ?? 120000, cwd: opts.cwd ?? ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const made: string[] = [];
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary folder, removed when the test process exits. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edsim-test-'));
  made.push(dir);
  return dir;
}

/** Trains a fresh trainer on `data`, saves it as DIR/NAME.edsim and returns the file's text (to compare strategies byte for byte). */
export async function trainedModelFile(o: TrainerOptions, data: Dataset, dir: string, name: string): Promise<string> {
  const t = await createTrainer(o);
  try {
    await t.fit(data);
    const file = join(dir, `${name}.edsim`);
    await t.save(file);
    return readFileSync(file, 'utf8');
  } finally {
    await t.close();
  }
}

/** Trains `o` on `data` serially and on each of `others` (strategy and workers), and fails naming the first whose model file differs from the serial one. */
export async function expectSerialModel(o: TrainerOptions, data: Dataset, others: Partial<TrainerOptions>[]): Promise<void> {
  const file = async (p: Partial<TrainerOptions>): Promise<string> => {
    const t = await createTrainer({ ...o, ...p });
    try {
      await t.fit(data);
      return serializeModel(t.modelFile());
    } finally {
      await t.close();
    }
  };
  const serial = await file({});
  for (const p of others) assert.ok(await file(p) === serial, `${p.strategy} x${p.workers} differs from serial`);
}

/** Throws naming the first index where |a - b| > tol. */
export function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what = 'value'): void {
  if (a.length !== b.length) throw new Error(`${what}: lengths differ (${a.length} vs ${b.length})`);
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i]! - b[i]!) <= tol)) throw new Error(`${what}[${i}]: ${a[i]} vs ${b[i]} (tolerance ${tol})`);
  }
}

export function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

/**
 * Trains bench-wide (16, 8, 8) with `strategy` on 3 workers in a child process, worker 1 hanging at
 * batch 3 and a 500 ms stall watch; the child prints "rejected: <message>" and should then exit by
 * itself (no thread left behind).
 */
export function hangingWorkerRun(strategy: string): Run {
  const script = `
    import { createTrainer, loadDataset } from ${JSON.stringify(join(ROOT, 'dist', 'src', 'index.js'))};
    const d = await loadDataset('mnist', { classes: [0, 1], limit: 128 });
    const t = await createTrainer({ preset: 'bench-wide', model: { hidden: [16, 8, 8] }, train: { batch: 16 }, strategy: '${strategy}', workers: 3, parallel: { fault: { group: 1, kind: 'hang', at: 3 }, stallMs: 500 } });
    await t.fit(d.train).catch((e) => console.log('rejected:', e.message));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Asserts that `p` (or what `p()` returns) rejects with a one-line EdsimError matching `re`. */
export async function rejects(p: Promise<unknown> | (() => Promise<unknown>), re: RegExp): Promise<void> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.instance(e, EdsimError, `not an EdsimError: ${String(e)}`);
    assert.match((e as Error).message, re);
    assert.not.match((e as Error).message, /\n/);
    return;
  }
  assert.unreachable(`expected a rejection matching ${re}`);
}
