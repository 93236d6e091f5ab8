/**
 * Kills `edsim train --checkpoint` with SIGKILL at several moments and resumes it each time, then
 * checks that the final model file is byte-identical to an uninterrupted run's (issue 19).
 *
 * Moments, in turn: mid-checkpoint-write (between writing the temporary file and renaming it, held
 * there by EDSIM_TEST_CHECKPOINT_PAUSE_MS), right after a checkpoint (as the epoch's line appears),
 * then random times in what is left of the run (mid-epoch, most likely, or during start-up).
 *
 *   node dist/scripts/kill-resume.js            # the two runs of the issue, writes results/kill-resume.csv
 *   KILLS=5 SEED=7 node dist/scripts/kill-resume.js
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCheckpoint } from '../src/checkpoint.js';
import { Rng } from '../src/engine/rng.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'cli.js');

export type KillMoment = 'random' | 'mid-write' | 'after-checkpoint';

export interface KillRecord {
  attempt: number;
  moment: KillMoment;
  /** Seconds after the start the process was killed (or finished, if it finished first). */
  at: number;
  killed: boolean;
  /** Epochs the checkpoint held after the kill (0: none yet). */
  checkpointEpochs: number;
  /** Whether a temporary file was left beside the checkpoint (mid-write kills leave one). */
  tempLeft: boolean;
}

export interface KillResumeResult {
  identical: boolean;
  kills: KillRecord[];
  uninterruptedSeconds: number;
  bytes: number;
}

interface Spawned {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  stderr: () => string;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): Spawned {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, stderr: err }));
  });
  return { child, done, stderr: () => err };
}

/** Resolves once the child's stderr matches, or after `ms`, whichever comes first; false if it timed out. */
async function waitFor(s: Spawned, re: RegExp, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (re.test(s.stderr())) return true;
    if (s.child.exitCode !== null || s.child.signalCode !== null) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}

/**
 * Trains `args` (an `edsim train` command line without --save, --checkpoint or --resume) once
 * uninterrupted, then again killed `kills` times and resumed, and compares the two model files.
 */
export async function killResume(args: string[], o: { kills?: number; seed?: number; log?: (s: string) => void } = {}): Promise<KillResumeResult> {
  const kills = o.kills ?? 5;
  const rng = new Rng(o.seed ?? 1);
  const dir = mkdtempSync(join(tmpdir(), 'edsim-kill-'));
  const log = o.log ?? (() => undefined);
  try {
    const full = join(dir, 'full.edsim');
    const t0 = performance.now();
    const refCk = join(dir, 'ref.ckpt');
    const ref = start([...args, '--quiet', '--save', full, '--checkpoint', refCk, '--checkpoint-every', '1000000']);
    const r = await ref.done;
    if (r.code !== 0) throw new Error(`the uninterrupted run failed (${r.code}): ${r.stderr.trim().split('\n').at(-1)}`);
    const uninterruptedSeconds = (performance.now() - t0) / 1000;
    const total = readCheckpoint(refCk).epochsDone;
    log(`uninterrupted: ${uninterruptedSeconds.toFixed(1)} s, ${total} epochs`);
    const ck = join(dir, 'run.ckpt');
    const out = join(dir, 'resumed.edsim');
    const records: KillRecord[] = [];
    // The two targeted moments first, while the run surely has epochs left.
    const moments: KillMoment[] = ['mid-write', 'after-checkpoint', 'random'];
    for (let k = 0; k < kills; k++) {
      const moment = moments[k] ?? 'random';
      const cmd = [...args, '--checkpoint', ck, '--save', out, ...(existsSync(ck) ? ['--resume', ck] : [])];
      const s = start(cmd, moment === 'mid-write' ? { EDSIM_TEST_CHECKPOINT_PAUSE_MS: '3000' } : {});
      const t1 = performance.now();
      if (moment === 'random') {
        // Anywhere in what is left of the run, start-up included (a kill before the first
        // checkpoint leaves none), estimated from the uninterrupted run's time.
        const left = existsSync(ck) ? 1 - readCheckpoint(ck).epochsDone / total : 1;
        await Promise.race([new Promise((res) => setTimeout(res, rng.next() * Math.max(0.5, uninterruptedSeconds * left) * 1000)), s.done]);
      } else {
        await waitFor(s, moment === 'mid-write' ? /checkpoint written, not yet renamed/ : /^epoch \d+ /m, uninterruptedSeconds * 1000 + 30000);
      }
      const killed = s.child.exitCode === null && s.child.signalCode === null;
      if (killed) s.child.kill('SIGKILL');
      await s.done;
      const at = (performance.now() - t1) / 1000;
      const tempLeft = readdirSync(dir).some((n) => /^run\.ckpt\.\d+\.tmp$/.test(n));
      const checkpointEpochs = existsSync(ck) ? readCheckpoint(ck).epochsDone : 0;
      records.push({ attempt: k + 1, moment, at, killed, checkpointEpochs, tempLeft });
      log(`kill ${k + 1} (${moment}) at ${at.toFixed(2)} s: ${killed ? 'killed' : 'had finished'}; checkpoint holds ${checkpointEpochs} epoch(s)${tempLeft ? ', a temporary file left beside it' : ''}`);
    }
    const last = start([...args, '--quiet', '--checkpoint', ck, '--save', out, ...(existsSync(ck) ? ['--resume', ck] : [])]);
    const fin = await last.done;
    if (fin.code !== 0) throw new Error(`the final resumed run failed (${fin.code}): ${fin.stderr.trim().split('\n').at(-1)}`);
    const a = readFileSync(full);
    const b = readFileSync(out);
    return { identical: a.equals(b), kills: records, uninterruptedSeconds, bytes: a.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const RUNS: { name: string; args: string[] }[] = [
  { name: 'bench-wide MNIST 0/1, cells on 2 threads', args: ['train', '--data', 'mnist', '--classes', '0,1', '--preset', 'bench-wide', '--strategy', 'cells', '--workers', '2', '--epochs', '20'] },
  { name: 'mnist10 preset, output on 2 threads', args: ['train', '--data', 'mnist', '--classes', '0-9', '--preset', 'mnist10', '--strategy', 'output', '--workers', '2'] },
];

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows: string[] = ['run,kills,identical,uninterrupted_s,model_bytes,moments'];
  for (const run of RUNS) {
    process.stderr.write(`${run.name}\n`);
    const r = await killResume(run.args, { kills: Number(process.env.KILLS ?? 5), seed: Number(process.env.SEED ?? 1), log: (s) => process.stderr.write(`  ${s}\n`) });
    process.stderr.write(`  final model ${r.identical ? 'byte-identical' : 'DIFFERS'} (${r.bytes} bytes)\n`);
    const moments = r.kills.map((k) => `${k.moment}@${k.at.toFixed(2)}s:${k.killed ? `ck${k.checkpointEpochs}` : 'finished'}`).join(' ');
    rows.push([JSON.stringify(run.name), r.kills.filter((k) => k.killed).length, r.identical, r.uninterruptedSeconds.toFixed(1), r.bytes, JSON.stringify(moments)].join(','));
    if (!r.identical) process.exitCode = 1;
  }
  rows.push(`# node dist/scripts/kill-resume.js (KILLS=${process.env.KILLS ?? 5} SEED=${process.env.SEED ?? 1}), ${new Date().toISOString()}`);
  writeFileSync(process.env.OUT_CSV ?? 'results/kill-resume.csv', `${rows.join('\n')}\n`);
}
