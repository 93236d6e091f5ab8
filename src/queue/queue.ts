/**
 * Sweeps over a job queue on Redis, with BullMQ: `submitRuns` enqueues one job per run (job id =
 * the run's configuration, so a re-submitted sweep reuses finished jobs and runs none twice) and
 * collects the rows; `runWorker` takes jobs until SIGINT/SIGTERM. A worker killed mid-job loses
 * its lock after `lockMs`; another worker then runs the job again (once).
 */
import { availableParallelism } from 'node:os';
import { Job, Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { type LoadedData, loadDataset, type LoadOptions } from '../data/data.js';
import { type CsvRow, provenance } from '../report/report.js';
import { measureConfig, type ScaleConfig } from '../report/scale.js';
import { EdsimError } from '../errors.js';
import { type RunRow, type RunSpec, runId, runOne } from './runs.js';

export const QUEUE_NAME = 'edsim-runs';

/** A scaling measurement: one configuration of `scale`, measured where a worker takes it. */
export interface ScaleSpec {
  data: string;
  dataOptions: LoadOptions;
  config: ScaleConfig;
  repeats: number;
  warmup: number;
}

const describe = (s: RunSpec | ScaleSpec): string => ('seed' in s ? `seed ${s.seed}` : `${s.config.presetName} ${s.config.strategy} x${s.config.workers}`);

interface Connection {
  host: string;
  port: number;
  db: number;
}

/** redis://HOST:PORT[/DB] as connection options; anything else is one clear error. */
export function parseQueueUrl(url: string): Connection {
  const m = /^redis:\/\/([^:/]+)(?::(\d+))?(?:\/(\d+))?\/?$/.exec(url);
  if (!m) throw new EdsimError(`--queue must look like redis://HOST:PORT[/DB], got '${url}'`);
  return { host: m[1]!, port: Number(m[2] ?? 6379), db: Number(m[3] ?? 0) };
}

/** An error's first line (ioredis' messages can run to several). */
const firstLine = (e: unknown): string => (e as Error).message.split('\n')[0]!;

/** Fails within `ms` with one line when Redis cannot be reached. */
export async function checkReachable(url: string, ms = 3000): Promise<void> {
  const c = parseQueueUrl(url);
  const client = new Redis({ ...c, lazyConnect: true, connectTimeout: ms, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms); }),
    ]).finally(() => clearTimeout(timer));
  } catch (e) {
    throw new EdsimError(`cannot reach Redis at ${url}: ${firstLine(e)}`);
  } finally {
    client.disconnect();
  }
}

/**
 * Enqueues every run (reusing jobs finished earlier) and resolves with the rows as the workers
 * finish them (`onRow` as each comes). An aborted signal stops waiting: the rows so far come back,
 * and the jobs stay in the queue for the workers.
 */
export async function submitRuns(url: string, specs: RunSpec[], onRow?: (r: RunRow) => void, signal?: AbortSignal): Promise<Submission<RunRow>> {
  return submitJobs<RunSpec, RunRow>(url, 'run', specs.map((spec) => ({ id: runId(spec), spec })), onRow, signal);
}

/**
 * One scaling measurement per configuration, on whichever machine takes it; `nonce` makes a new
 * submission measure again (a measurement is not a deterministic result to reuse), while a
 * worker killed mid-job still hands the same job to another.
 */
export async function submitScale(url: string, specs: ScaleSpec[], nonce: string, onRows?: (r: CsvRow[]) => void, signal?: AbortSignal): Promise<{ rows: CsvRow[][]; aborted: boolean }> {
  const jobs = specs.map((spec) => ({ id: createHash('sha256').update(JSON.stringify([nonce, spec])).digest('hex').slice(0, 32), spec }));
  return submitJobs<ScaleSpec, CsvRow[]>(url, 'scale', jobs, onRows, signal);
}

/** What a submission resolves with. */
export interface Submission<R> {
  /** The rows finished, in the order they came. */
  rows: R[];
  /** Whether the signal stopped the wait before every run finished (the jobs stay queued). */
  aborted: boolean;
}

/** How often the submitter reads its jobs' states itself (events can be missed while Redis restarts). */
const POLL_MS = 1000;
/** How long the submitter waits for an unreachable Redis before it gives up (EDSIM_QUEUE_DOWN_S overrides). */
export const REDIS_DOWN_S = 60;

/**
 * Adds the jobs and waits for them. Completions come as events and, every POLL_MS, from reading
 * each pending job (events published while the submitter was reconnecting are not replayed). A
 * Redis restarted from an append-only file keeps the jobs, and the sweep goes on; one restarted
 * without its data (no appendonly) has lost them, which the submission's marker key, written
 * before the jobs, tells: the submitter then fails in one line, as it does when Redis stays
 * unreachable or silent for REDIS_DOWN_S, whether that happens while it adds the jobs or while it
 * waits for them.
 */
async function submitJobs<S, R>(url: string, name: 'run' | 'scale', specs: { id: string; spec: S }[], onRow?: (r: R) => void, signal?: AbortSignal): Promise<Submission<R>> {
  await checkReachable(url);
  const connection = parseQueueUrl(url);
  const downLimit = Number(process.env.EDSIM_QUEUE_DOWN_S ?? REDIS_DOWN_S) * 1000;
  const queue = new Queue(QUEUE_NAME, { connection });
  const events = new QueueEvents(QUEUE_NAME, { connection });
  // Reconnection is retried below; without listeners these errors would end the process.
  queue.on('error', () => undefined);
  events.on('error', () => undefined);
  const marker = `edsim:submission:${process.pid}:${Date.now()}:${Math.random().toString(36).slice(2)}`;
  const rows: R[] = [];
  const pending = new Map(specs.map(({ id, spec }) => [id, spec]));
  let lastOk = Date.now();
  let lastError = 'no answer';
  const lost = (): EdsimError => new EdsimError(`lost Redis at ${url} for more than ${Math.round(downLimit / 1000)} s (${lastError}): ${pending.size} run(s) unfinished, ${rows.length} finished`);
  /**
   * `op` until it answers; an error or a silence is tried again until Redis has not answered for
   * downLimit. The client queues commands while it reconnects, so a command can also just wait.
   */
  const whileUp = async <T>(op: () => Promise<T>): Promise<T> => {
    for (;;) {
      const left = lastOk + downLimit - Date.now();
      if (left <= 0) throw lost();
      let timer: NodeJS.Timeout | undefined;
      try {
        const silence = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('no answer')), left); });
        const value = await Promise.race([op(), silence]);
        lastOk = Date.now();
        return value;
      } catch (e) {
        if (e instanceof EdsimError) throw e;
        lastError = firstLine(e);
        await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(0, lastOk + downLimit - Date.now()))));
      } finally {
        clearTimeout(timer);
      }
    }
  };
  let poller: NodeJS.Timeout | undefined;
  try {
    const client = await whileUp(() => queue.client);
    await whileUp(() => events.waitUntilReady());
    let failure: Error | undefined;
    let wake: () => void = () => undefined;
    const take = (id: string, value: unknown): void => {
      if (!pending.delete(id)) return;
      const row = (typeof value === 'string' ? JSON.parse(value) : value) as R;
      rows.push(row);
      onRow?.(row);
      wake();
    };
    const fail = (e: Error): void => {
      failure ??= e;
      wake();
    };
    // Listen before adding, so no completion is missed; each job counts once.
    events.on('completed', ({ jobId, returnvalue }) => take(jobId, returnvalue));
    events.on('failed', ({ jobId, failedReason }) => {
      if (pending.has(jobId)) fail(new EdsimError(`run ${jobId} failed on a worker: ${failedReason}`));
    });
    await whileUp(() => client.set(marker, String(specs.length), 'EX', 7 * 24 * 3600));
    /**
     * Brings one run's job to where it should be: a finished job's row is taken; a missing one is
     * added (at submission; later: lost in the last second before a crash, appendfsync everysec);
     * a failed one is retried at submission (a sweep submitted again) and fails the sweep later (a
     * failure whose event came while the submitter was reconnecting). Adding is idempotent (the
     * job id is the run's), so a try that Redis did not answer can be made again.
     */
    const settle = async (id: string, spec: S, submitting: boolean): Promise<void> => {
      const job = await Job.fromId<S, R>(queue, id);
      if (!job) await queue.add(name, spec, { jobId: id, attempts: 2, removeOnComplete: false, removeOnFail: false });
      else if (await job.isCompleted()) take(id, job.returnvalue);
      else if (await job.isFailed()) {
        if (submitting) await job.retry();
        else fail(new EdsimError(`run ${id} failed on a worker: ${job.failedReason}`));
      }
    };
    for (const { id, spec } of specs) await whileUp(() => settle(id, spec, true));
    let polling = false;
    const poll = async (): Promise<void> => {
      // Bounded whatever the client does with commands while disconnected (queue or fail them).
      if (Date.now() - lastOk > downLimit) fail(lost());
      if (polling || failure) return;
      polling = true;
      try {
        if ((await client.exists(marker)) === 0) {
          fail(new EdsimError(`Redis at ${url} lost this sweep's jobs (restarted without its data? run it with --appendonly yes): ${pending.size} run(s) unfinished, ${rows.length} finished`));
          return;
        }
        for (const [id, spec] of [...pending]) await settle(id, spec, false);
        lastOk = Date.now();
      } catch (e) {
        lastError = firstLine(e);
      } finally {
        polling = false;
      }
    };
    poller = setInterval(() => void poll(), POLL_MS);
    signal?.addEventListener('abort', () => wake(), { once: true });
    while (pending.size > 0 && !failure && !signal?.aborted) await new Promise<void>((r) => { wake = r; });
    if (failure) throw failure;
    await client.del(marker).catch(() => undefined);
    return { rows, aborted: pending.size > 0 };
  } finally {
    clearInterval(poller);
    await Promise.race([Promise.all([events.close(), queue.close()]), new Promise((r) => setTimeout(r, 2000).unref())]);
  }
}

/** Takes jobs until SIGINT/SIGTERM, `concurrency` at a time; the current job finishes before it leaves. */
export async function runWorker(url: string, o: { concurrency: number; lockMs: number; log: (s: string) => void }): Promise<void> {
  await checkReachable(url);
  const connection = { ...parseQueueUrl(url), maxRetriesPerRequest: null };
  const datasets = new Map<string, Promise<LoadedData>>();
  const worker = new Worker<RunSpec | ScaleSpec, RunRow | CsvRow[]>(QUEUE_NAME, async (job) => {
    const key = JSON.stringify([job.data.data, job.data.dataOptions]);
    let data = datasets.get(key);
    if (!data) datasets.set(key, (data = loadDataset(job.data.data, job.data.dataOptions)));
    o.log(`edsim worker: job ${job.id} started (${describe(job.data)})`);
    if ('seed' in job.data) return runOne(job.data, await data);
    const s = job.data;
    // A scaling job measured with more threads than this machine has cores measures sharing.
    const threads = s.config.workers * o.concurrency;
    if (threads > availableParallelism()) o.log(`edsim worker: warning: job ${job.id} runs ${threads} threads (${s.config.workers} x concurrency ${o.concurrency}) on ${availableParallelism()} available cores: its speedups measure sharing, not scaling`);
    const m = await measureConfig(await data, s.config, { repeats: s.repeats, warmup: s.warmup }, provenance(), new Date().toISOString());
    return m.rows;
  }, { connection, concurrency: o.concurrency, lockDuration: o.lockMs, stalledInterval: o.lockMs, maxStalledCount: 1 });
  worker.on('completed', (job) => o.log(`edsim worker: job ${job.id} done (${describe(job.data)})`));
  worker.on('failed', (job, e) => o.log(`edsim worker: job ${job?.id ?? '?'} failed: ${e.message}`));
  worker.on('error', (e) => o.log(`edsim worker: ${e.message}`));
  await worker.waitUntilReady();
  o.log(`edsim worker: taking jobs from ${url} (concurrency ${o.concurrency})`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      o.log('edsim worker: stopping after the current job');
      void worker.close().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
