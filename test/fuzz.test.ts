/**
 * A fuzzer over the whole CLI: argument vectors built from what yargs says about each command (its
 * --help: the options, their types and choices), each command run with small valid arguments and one
 * or two options given a wrong value (out of range, NaN, huge, empty, a near-miss choice, a
 * directory, a device, a missing or unwritable place). The property: the process ends within a few
 * seconds with exit 0 or 2; a failure is one line on stderr that names what was wrong, never a stack
 * trace; no file is left behind that the arguments did not name. fast-check, fixed seed.
 * `bench` (it measures for seconds by design) and `worker` (it waits for a Redis server) are left out.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CLI, FIXTURES, runCli, tempDir } from './helpers.js';

const SEED = 20261130;
const RUNS = Number(process.env.EDSIM_FUZZ_RUNS ?? 200);
const LEFT_OUT = ['bench', 'worker'];

interface Option {
  name: string;
  type: 'string' | 'number' | 'boolean' | 'other';
  choices: string[];
}

/** The commands yargs lists in `edsim --help`. */
function commands(): string[] {
  const help = runCli(['--help']).stdout;
  return [...help.matchAll(/^\s+edsim (\S+)/gm)].map((m) => m[1]!).filter((c) => !c.startsWith('<') && !LEFT_OUT.includes(c));
}

/** A command's options as yargs prints them: name, type and choices (an option's text may wrap onto following lines). */
function optionsOf(command: string): Option[] {
  const help = runCli([command, '--help']).stdout;
  const blocks = help.split(/\n(?=\s{2}--)/).filter((b) => /^\s{2}--/.test(b));
  return blocks.map((b) => {
    const name = /^\s{2}--([\w-]+)/.exec(b)![1]!;
    const type: Option['type'] = /\[boolean\]/.test(b) ? 'boolean' : /\[number\]/.test(b) ? 'number' : /\[string\]/.test(b) ? 'string' : 'other';
    const choices = [...(/\[choices: ([^\]]*)\]/.exec(b.replace(/\s*\n\s*/g, ' '))?.[1] ?? '').matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    return { name, type, choices };
  }).filter((o) => !['help', 'version', 'verbose'].includes(o.name));
}

const base = tempDir();
const model = join(base, 'm.edsim');
const made = runCli(['train', '--data', 'xor', '--epochs', '2', '--save', model]);
const tensors = join(base, 'm.safetensors');
const exported = runCli(['export', model, tensors]);

/** Small valid arguments per command (fast: xor, two epochs); outputs go to the run's own folder. */
const VALID: Record<string, { positional: string[]; options: Record<string, string | null> }> = {
  train: { positional: [], options: { data: 'xor', epochs: '2' } },
  eval: { positional: [], options: { model, data: 'xor' } },
  sweep: { positional: [], options: { data: 'xor', seeds: '1-2', epochs: '2' } },
  scale: { positional: [], options: { data: 'xor', strategies: 'serial', workers: '1', repeats: '1', out: 'fuzz-scale.csv' } },
  halftone: { positional: ['in.png', 'out.png'], options: { demo: null } },
  export: { positional: [model, 'out.safetensors'], options: {} },
  import: { positional: [tensors, 'out.edsim'], options: {} },
  'kaneko-replay': { positional: [join(FIXTURES, 'kaneko-parity4-seed1.json')], options: {} },
  'article-replay': { positional: [join(FIXTURES, 'article-xor-v1-seed1.json')], options: {} },
};
/** Files a valid run of each command writes in its folder (besides any path the arguments name). */
const WRITES: Record<string, string[]> = { scale: ['fuzz-scale.csv', 'fuzz-scale.svg'], halftone: ['in.png', 'out.png'] };

/** Wrong values: for numbers, paths and free strings alike (a value meant for one kind is wrong for another). */
const wrongValue = fc.constantFrom('-1', '0', '1.5', '-0.5', 'NaN', '1e309', '99999999999', 'abc', '', base, '/dev/zero', '/nonexistent/fuzz/x', '/proc/fuzz-x.csv');

function nearMiss(choices: string[]): fc.Arbitrary<string> {
  return fc.oneof(fc.constantFrom('bogus', ''), fc.constantFrom(...choices).map((c) => c.slice(0, -1)), fc.constantFrom(...choices).map((c) => c.toUpperCase()));
}

const cmds = commands();
const opts = Object.fromEntries(cmds.map((c) => [c, optionsOf(c)]));

test('the fuzzer knows every command but bench and worker, with options read from yargs', () => {
  assert.is(made.code, 0, made.stderr);
  assert.is(exported.code, 0, exported.stderr);
  assert.equal([...cmds].sort(), Object.keys(VALID).sort());
  assert.ok(opts.train!.some((o) => o.name === 'strategy' && o.choices.includes('samples')), 'train --strategy and its choices');
  assert.ok(opts.scale!.some((o) => o.name === 'weak' && o.type === 'boolean'));
});

test(`fuzzing the CLI: ${RUNS} argument vectors, seed ${SEED}: exit 0 or 2 within seconds, one line naming what was wrong, no stack trace, no stray file`, () => {
  const caseArb = fc.constantFrom(...cmds).chain((command) => {
    const own = opts[command]!.filter((o) => o.type !== 'boolean');
    const pick = own.length > 0 ? fc.uniqueArray(fc.constantFrom(...own), { minLength: 1, maxLength: 2, selector: (o) => o.name }) : fc.constant([] as Option[]);
    return pick.chain((chosen) => fc.tuple(fc.constant(command), fc.tuple(...chosen.map((o) => fc.tuple(fc.constant(o.name), o.choices.length > 0 ? nearMiss(o.choices) : wrongValue))), fc.boolean()));
  });
  let n = 0;
  const tally: Record<number, number> = {};
  let failed = '';
  const check = (ok: boolean, message: () => string): void => {
    if (ok) return;
    failed = message();
    throw new Error(failed);
  };
  try {
  fc.assert(fc.property(caseArb, ([command, wrong, positionalWrong]) => {
    const cwd = join(base, `case-${n++}`);
    mkdirSync(cwd);
    try {
      const valid = VALID[command]!;
      const given = Object.fromEntries(wrong);
      const options = { ...valid.options, ...given };
      // Now and then a positional (a file to read) is the wrong one instead.
      const positional = positionalWrong && valid.positional.length > 0 ? ['/dev/zero', ...valid.positional.slice(1)] : valid.positional;
      const argv = [command, ...positional, ...Object.entries(options).flatMap(([k, v]) => (v === null ? [`--${k}`] : [`--${k}`, v]))];
      const r = spawnSync(process.execPath, [CLI, ...argv], { cwd, encoding: 'utf8', timeout: 20000 });
      const what = `edsim ${argv.map((a) => JSON.stringify(a)).join(' ')}`;
      tally[r.status ?? -1] = (tally[r.status ?? -1] ?? 0) + 1;
      check(r.status === 0 || r.status === 2, () => `${what}: exit ${r.status}${r.signal ? ` (${r.signal}: ran past 20 s)` : ''}; stderr: ${r.stderr}`);
      if (r.status === 2) {
        const lines = r.stderr.trim().split('\n');
        check(lines.length === 1 && lines[0]!.startsWith('edsim: '), () => `${what}: stderr is not one edsim line: ${r.stderr}`);
        check(!/\n\s+at /.test(r.stderr), () => `${what}: a stack trace: ${r.stderr}`);
        const named = [...wrong.flatMap(([k, v]) => [k, k.replace(/-/g, ' '), v]), ...(positionalWrong ? ['/dev/zero'] : []), 'Unknown argument', 'Not enough arguments'].filter((s) => s !== '');
        check(named.some((s) => lines[0]!.includes(s)), () => `${what}: the line names neither the option nor the value: ${lines[0]}`);
      }
      // What a run may leave: its command's own outputs, a path the arguments name, or one derived
      // from such a path (scale's and trace's PATH.svg beside PATH).
      const allowed = new Set(r.status === 0 ? WRITES[command] ?? [] : []);
      const named = argv.map((a) => basename(a)).filter((a) => a !== '');
      const stray = readdirSync(cwd).filter((f) => !allowed.has(f) && !named.some((a) => f === a || f.startsWith(`${a.replace(/\.(csv|json)$/i, '')}.`)));
      check(stray.length === 0, () => `${what}: left ${stray.join(', ')} behind`);
      return true;
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }), { seed: SEED, numRuns: RUNS, endOnFailure: true });
  } catch (e) {
    throw new Error(`${failed || (e as Error).message}`);
  }
  console.log(`  fuzz: ${RUNS} cases, seed ${SEED}, exits ${JSON.stringify(tally)}`);
});

test.run();
