/**
 * Sweeps through a real Redis (redis-server on a free loopback port, started and stopped here; no
 * mocks) and real worker processes: the same results as a local sweep, no run lost or run twice
 * when a worker is killed mid-job, finished runs reused, an unreachable Redis one line and exit 2.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { checkReachable, QUEUE_NAME } from '../src/queue/queue.js';
import { CLI, lastJson, runCli, tempDir, withTimeout } from './helpers.js';

const haveRedis = spawnSync('redis-server', ['--version']).status === 0;
if (!haveRedis) console.log('queue.test: skipping (redis-server is not installed; .ci/run installs it)');
const dir = tempDir();
const children: ChildProcess[] = [];
const redisProcs = new Map<number, ChildProcess>();

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A redis-server on `port` (a free one by default); `aof`: an append-only file in `dataDir`, fsynced on every write. */
async function startRedis(o: { port?: number; aof?: boolean; dataDir?: string } = {}): Promise<string> {
  const port = o.port ?? await freePort();
  const persist = o.aof ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', o.dataDir!] : ['--appendonly', 'no'];
  redisProcs.set(port, spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persist], { stdio: 'ignore' }));
  children.push(redisProcs.get(port)!);
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    try {
      await checkReachable(url, 500);
      return url;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('redis-server did not start');
}

/** A worker process; resolves its log so far on demand. */
function startWorker(url: string, lockMs = 30000): { proc: ChildProcess; log: () => string } {
  let log = '';
  const proc = spawn(process.execPath, [CLI, 'worker', '--queue', url, '--lock-ms', String(lockMs)], { stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  children.push(proc);
  return { proc, log: () => log };
}

function runCliAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const csvRows = (file: string): Record<string, string>[] => {
  const [head, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const cols = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i]!, v])));
};

test('a sweep through the queue with two workers reports what the local sweep reports; a re-submitted sweep runs nothing again', withTimeout(120000, async () => {
  if (!haveRedis) return;
  const url = await startRedis();
  const w = [startWorker(url), startWorker(url)];
  const args = ['sweep', '--data', 'xor', '--preset', 'kaneko', '--hidden', '8', '--seeds', '1-100', '--json'];
  const local = runCli(args);
  assert.is(local.code, 0, local.stderr);
  const queued = await runCliAsync([...args, '--queue', url]);
  assert.is(queued.code, 0, queued.stderr);
  const pick = (j: Record<string, unknown>): unknown[] => [j.runs, j.converged, j.meanEpochs, j.medianEpochs];
  assert.equal(pick(lastJson(queued.stdout)), pick(lastJson(local.stdout)));
  assert.equal(pick(lastJson(local.stdout)), [100, 100, 73.13, 68]);
  const started = (): number => w.reduce((n, x) => n + (x.log().match(/started/g)?.length ?? 0), 0);
  assert.is(started(), 100);
  assert.ok(w.every((x) => /started/.test(x.log())), 'both workers took jobs');
  const again = await runCliAsync([...args, '--queue', url]);
  assert.equal(pick(lastJson(again.stdout)), pick(lastJson(local.stdout)));
  assert.is(started(), 100, 'the second submission ran no job again');
  // scale over the queue: one job per configuration, rows naming the machine that measured them
  const out = join(dir, 'scale.csv');
  const sc = await runCliAsync(['scale', '--data', 'xor', '--preset', 'article', '--hidden', '8', '--strategies', 'serial,cells', '--workers', '1,2', '--repeats', '2', '--queue', url, '--out', out, '--json']);
  assert.is(sc.code, 0, sc.stderr);
  const rows = csvRows(out);
  assert.equal(rows.map((x) => `${x.strategy} x${x.workers}`), ['serial x1', 'serial x1', 'cells x1', 'cells x1', 'cells x2', 'cells x2']);
  assert.ok(rows.every((x) => x.host === hostname() && x.kind === 'measured'));
  const serial = rows.filter((x) => x.strategy === 'serial').map((x) => Number(x.speedup));
  assert.ok(Math.abs((serial[0]! + serial[1]!) / 2 - 1) < 1e-9, 'speedups against serial on the same host');
  // A job with more threads than this machine's cores: the worker that takes it says so.
  const more = availableParallelism() + 1;
  const over = await runCliAsync(['scale', '--data', 'xor', '--preset', 'article', '--hidden', '8', '--strategies', 'cells', '--workers', String(more), '--repeats', '1', '--queue', url, '--out', join(dir, 'over.csv'), '--json']);
  assert.is(over.code, 0, over.stderr);
  assert.ok(w.some((x) => new RegExp(`warning: job \\S+ runs ${more} threads \\(${more} x concurrency 1\\) on ${availableParallelism()} available cores`).test(x.log())), w.map((x) => x.log()).join('\n'));
}));

test('a worker killed mid-job: the sweep completes, every seed once, results equal to the local sweep', withTimeout(120000, async () => {
  if (!haveRedis) return;
  const url = await startRedis();
  const a = startWorker(url, 1000);
  const b = startWorker(url, 1000);
  const args = ['sweep', '--data', 'mnist', '--classes', '0,1', '--preset', 'article', '--epochs', '4', '--seeds', '1-12'];
  const localCsv = join(dir, 'local.csv');
  const local = runCli([...args, '--out', localCsv, '--json']);
  assert.is(local.code, 0, local.stderr);
  const queuedCsv = join(dir, 'q.csv');
  const sweep = runCliAsync([...args, '--queue', url, '--out', queuedCsv, '--json']);
  await until('worker a to start a job', () => /started/.test(a.log()));
  a.proc.kill('SIGKILL');
  const r = await sweep;
  assert.is(r.code, 0, r.stderr);
  const rows = csvRows(queuedCsv);
  assert.is(rows.length, 12);
  assert.equal(rows.map((x) => Number(x.seed)), Array.from({ length: 12 }, (_, i) => i + 1));
  const want = new Map(csvRows(localCsv).map((x) => [x.seed, x.test_accuracy]));
  for (const x of rows) assert.is(x.test_accuracy, want.get(x.seed), `seed ${x.seed}`);
  assert.match(b.log(), /started/);
}));

/** Kills the redis-server on `url`'s port with SIGKILL and waits for it to be gone. */
async function killRedis(url: string): Promise<void> {
  const p = redisProcs.get(Number(new URL(url).port))!;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await gone;
}

const sweepArgs = ['sweep', '--data', 'mnist', '--classes', '0,1', '--preset', 'article', '--epochs', '6', '--seeds', '1-10'];

test('Redis killed (SIGKILL) and restarted from its append-only file mid-sweep: the sweep ends with every row once', withTimeout(180000, async () => {
  if (!haveRedis) return;
  const data = join(tempDir(), 'redis');
  mkdirSync(data);
  const url = await startRedis({ aof: true, dataDir: data });
  const w = startWorker(url, 5000);
  const out = join(dir, 'restart.csv');
  const sweep = runCliAsync([...sweepArgs, '--queue', url, '--out', out, '--json']);
  await until('two runs to finish', () => (w.log().match(/done/g)?.length ?? 0) >= 2, 60000);
  await killRedis(url);
  await new Promise((r) => setTimeout(r, 1500));
  await startRedis({ port: Number(new URL(url).port), aof: true, dataDir: data });
  const r = await sweep;
  assert.is(r.code, 0, r.stderr);
  const rows = csvRows(out);
  assert.equal(rows.map((x) => Number(x.seed)), Array.from({ length: 10 }, (_, i) => i + 1), 'every seed once');
  assert.is(lastJson(r.stdout).runs, 10);
}));

test('Redis restarted without its data mid-sweep: the submitter fails in one line, exit 2, and keeps the finished rows', withTimeout(180000, async () => {
  if (!haveRedis) return;
  const url = await startRedis();
  const w = startWorker(url, 5000);
  const out = join(dir, 'lost.csv');
  const sweep = runCliAsync([...sweepArgs, '--queue', url, '--out', out]);
  await until('two runs to finish', () => (w.log().match(/done/g)?.length ?? 0) >= 2, 60000);
  await killRedis(url);
  await new Promise((r) => setTimeout(r, 500));
  await startRedis({ port: Number(new URL(url).port) });
  const r = await sweep;
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /^edsim: Redis at redis:\/\/127\.0\.0\.1:\d+ lost this sweep's jobs \(restarted without its data\? run it with --appendonly yes\): \d+ run\(s\) unfinished, \d+ finished; the \d+ finished run\(s\) are in .*lost\.csv\n$/);
  assert.ok(csvRows(out).length >= 2, 'the finished rows were written');
}));

/** Resolves once `n` jobs wait in the queue (no worker takes them in these tests). */
async function jobsWaiting(url: string, n: number): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 0 });
  try {
    await until(`${n} jobs in the queue`, async () => (await r.llen(`bull:${QUEUE_NAME}:wait`)) >= n, 60000);
  } finally {
    r.disconnect();
  }
}

test('Redis gone for good mid-sweep: the submitter gives up after EDSIM_QUEUE_DOWN_S, in one line', withTimeout(90000, async () => {
  if (!haveRedis) return;
  const url = await startRedis();
  const sweep = runCliAsync([...sweepArgs, '--queue', url], { EDSIM_QUEUE_DOWN_S: '3' });
  // After the submission, however slow the start (coverage on two busy cores took over 1.5 s).
  await jobsWaiting(url, 10);
  await killRedis(url);
  const t0 = Date.now();
  const r = await sweep;
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /^edsim: lost Redis at redis:\/\/127\.0\.0\.1:\d+ for more than 3 s .*: 10 run\(s\) unfinished, 0 finished\n$/);
  assert.ok(Date.now() - t0 < 15000, `took ${Date.now() - t0} ms`);
}));

test('a Redis that stops answering writes before the jobs are added: the submitter gives up after EDSIM_QUEUE_DOWN_S, in one line', withTimeout(60000, async () => {
  if (!haveRedis) return;
  const url = await startRedis();
  // Reads (the reachability check, the event stream) still answer; the marker and the jobs never do.
  const r = new Redis(url, { maxRetriesPerRequest: 0 });
  await r.call('CLIENT', 'PAUSE', '120000', 'WRITE');
  r.disconnect();
  const t0 = Date.now();
  const sweep = await runCliAsync([...sweepArgs, '--queue', url], { EDSIM_QUEUE_DOWN_S: '3' });
  assert.is(sweep.code, 2, sweep.stderr);
  assert.match(sweep.stderr, /^edsim: lost Redis at redis:\/\/127\.0\.0\.1:\d+ for more than 3 s \(no answer\): 10 run\(s\) unfinished, 0 finished\n$/);
  assert.ok(Date.now() - t0 < 20000, `took ${Date.now() - t0} ms`);
  await killRedis(url);
}));

test('an unreachable Redis fails within seconds with one line and exit 2; a bad URL too', withTimeout(30000, async () => {
  const port = await freePort();
  const t0 = Date.now();
  const r = runCli(['sweep', '--data', 'xor', '--seeds', '1-2', '--queue', `redis://127.0.0.1:${port}`]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /^edsim: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+: /);
  assert.is(r.stderr.trim().split('\n').length, 1);
  assert.ok(Date.now() - t0 < 10000);
  const w = runCli(['worker', '--queue', `redis://127.0.0.1:${port}`]);
  assert.is(w.code, 2);
  const bad = runCli(['sweep', '--data', 'xor', '--queue', 'http://x']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--queue must look like redis:\/\/HOST:PORT/);
}));

test.after(() => {
  for (const c of children) c.kill('SIGKILL');
});

test.run();
