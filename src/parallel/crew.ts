/**
 * The worker threads of one executor: starting them (a comlink handshake), watching them (bounded
 * waits on the control block that also notice a thrown error, an exit or a stall), stopping them.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { transfer, wrap, type Remote } from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { check, EdsimError } from '../errors.js';
import { publish, SLOT, spinBudgetUs, waitAtLeast, type WorkerInit } from './protocol.js';

interface WorkerHostApi {
  init(m: WorkerInit): string;
  run(): void;
}

const WORKER_URL = new URL('../../workers/ed.worker.js', import.meta.url);
const SLICE_MS = 20;

/** Starting, watching and stopping the worker threads; shared by both executors. */
export class Crew {
  private readonly workers: { worker: Worker; api: Remote<WorkerHostApi>; running: Promise<void>; name: string }[] = [];
  failure: Error | undefined;
  private closing = false;
  readonly spinUs: number;

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly ctrl: Int32Array,
    readonly stallMs: number,
    threads: number,
  ) {
    this.spinUs = spinBudgetUs(threads, availableParallelism());
  }

  async start(inits: { init: WorkerInit; name: string }[]): Promise<void> {
    for (const { init, name } of inits) {
      // A port in the init moves to the worker (the samples strategy's stream descriptions).
      const sent = init.port ? transfer(init, [init.port as unknown as Parameters<typeof transfer>[1][number]]) : init;
      // Workers inherit the parent's Node flags; --input-type applies only to --eval code.
      const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
      const worker = new Worker(WORKER_URL, { execArgv });
      // Idle workers do not keep the process alive: a caller that forgets close() (or a test that
      // fails before it) still exits; while an epoch runs, the coordinator's awaited wait does.
      worker.unref();
      const api = wrap<WorkerHostApi>(nodeEndpoint(worker));
      const entry = { worker, api, running: Promise.resolve(), name };
      this.workers.push(entry);
      let startFailed: (e: Error) => void = () => undefined;
      const died = new Promise<never>((_, reject) => { startFailed = reject; });
      worker.on('error', (e) => {
        const err = new EdsimError(`${name} failed: ${e.message}`);
        this.fail(err);
        startFailed(err);
      });
      worker.on('exit', (code) => {
        const err = new EdsimError(`${name} exited unexpectedly (exit code ${code})`);
        if (!this.closing) this.fail(err);
        startFailed(err);
      });
      let timer: NodeJS.Timeout | undefined;
      const ready = await Promise.race([
        api.init(sent),
        died,
        new Promise<string>((_, reject) => { timer = setTimeout(() => reject(new EdsimError(`${name} did not start within 10 s`)), 10000); }),
      ]).finally(() => clearTimeout(timer));
      check(ready === 'READY', `${name} answered ${String(ready)} instead of READY`);
      entry.running = api.run().then(
        () => undefined,
        (e: unknown) => this.fail(new EdsimError(`${name} failed: ${e instanceof Error ? e.message : String(e)}`)),
      );
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
  }

  /** Waits until ctrl[slot] >= t; rejects on a worker failure, or when nothing moves for stallMs (naming `blame()`). */
  async waitFor(slot: number, t: number, blame: () => string): Promise<void> {
    if (waitAtLeast(this.ctrl, slot, t, this.spinUs, 1, () => true)) return;
    const watch = { seen: Atomics.load(this.ctrl, slot), since: performance.now() };
    for (;;) {
      const sliceEnd = performance.now() + SLICE_MS;
      if (waitAtLeast(this.ctrl, slot, t, 0, 5, () => performance.now() > sliceEnd || Atomics.load(this.ctrl, SLOT.FAULT) !== 0)) return;
      await new Promise<void>((r) => setImmediate(r));
      await this.checkSlice(slot, watch, blame);
    }
  }

  /** Between two slices of a wait: a raised fault flag or a failure ends it, and so does no progress on ctrl[slot] for stallMs. */
  private async checkSlice(slot: number, watch: { seen: number; since: number }, blame: () => string): Promise<void> {
    if (Atomics.load(this.ctrl, SLOT.FAULT) !== 0) {
      // The worker raised its flag; give its error message a moment to arrive.
      for (let i = 0; i < 20 && !this.failure; i++) await new Promise<void>((r) => setTimeout(r, 5));
      throw this.failure ?? new EdsimError(`${blame()} failed`);
    }
    if (this.failure) throw this.failure;
    const v = Atomics.load(this.ctrl, slot);
    if (v !== watch.seen) {
      watch.seen = v;
      watch.since = performance.now();
    } else if (performance.now() - watch.since > this.stallMs) {
      this.fail(new EdsimError(`${blame()} stopped answering (no progress for ${Math.round(this.stallMs)} ms)`));
      throw this.failure!;
    }
  }

  /**
   * Waits until ctrl[slot] >= t without blocking the event loop (Atomics.waitAsync in slices of
   * SLICE_MS; no spinning: the coordinator's core is for the workers). Between slices: `tick()` (it
   * may abort the stream), a worker failure, or no progress for stallMs (naming `blame()`) end it.
   */
  async waitAsync(slot: number, t: number, blame: () => string, tick: () => void): Promise<void> {
    const watch = { seen: Atomics.load(this.ctrl, slot), since: performance.now() };
    for (;;) {
      const v = Atomics.load(this.ctrl, slot);
      if (v >= t) return;
      const r = Atomics.waitAsync(this.ctrl, slot, v, SLICE_MS);
      if (r.async) await r.value;
      tick();
      await this.checkSlice(slot, watch, blame);
    }
  }

  /** Stops every worker: the stop flag first, then termination for any that does not leave in time. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    publish(this.ctrl, SLOT.STOP, 1);
    for (let i = 0; i < 256; i++) Atomics.notify(this.ctrl, i);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.workers.map((w) => w.running)), new Promise((r) => { timer = setTimeout(r, 500); })]);
    clearTimeout(timer);
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

