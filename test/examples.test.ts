/**
 * Every example command runs as written: the `npx edsim ...` lines of README.md's and docs/'s
 * shell blocks, and every command's --help examples (src/cli/examples.ts, the table yargs shows).
 * Each source runs in order in its own folder (a file one example saves is there for the next),
 * each example under a time cap. A comment `tested with FLAGS` (markdown) or `tested` (the table)
 * adds flags for a shorter variant (a flag given twice takes its last value); `not run here: WHY` /
 * `notRun` skips one, and the test lists every skip with its reason.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { EXAMPLES } from '../src/cli/examples.js';
import { FASHION_DIR } from '../src/data/data.js';
import { CLI, ROOT, tempDir } from './helpers.js';

/** Seconds an example may take in the test (its shorter variant, where it has one). */
const CAP_S = Number(process.env.EDSIM_EXAMPLE_CAP_S ?? 90);

interface Example {
  where: string;
  args: string[];
  tested: string[];
  notRun?: string;
}

/** Splits a command line as a shell would (quotes, no expansions). */
export function shellWords(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let any = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      any = true;
    } else if (/\s/.test(ch)) {
      if (cur !== '' || any) out.push(cur);
      cur = '';
      any = false;
    } else cur += ch;
  }
  if (cur !== '' || any) out.push(cur);
  return out;
}

/** The `npx edsim` lines of a markdown file's shell blocks, continuation lines joined. */
export function markdownExamples(file: string): Example[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out: Example[] = [];
  for (const block of text.matchAll(/```(?:sh|bash|shell)?\n([\s\S]*?)```/g)) {
    const lines = block[1]!.replace(/\\\n\s*/g, ' ').split('\n');
    lines.forEach((raw) => {
      const m = /^\s*npx edsim\s+(.*)$/.exec(raw);
      if (!m) return;
      const hash = m[1]!.search(/\s#\s/);
      const command = hash < 0 ? m[1]! : m[1]!.slice(0, hash);
      const comment = hash < 0 ? '' : m[1]!.slice(hash + 3);
      const tested = /tested with (.*)$/.exec(comment)?.[1];
      const notRun = /not run here: (.*)$/.exec(comment)?.[1];
      out.push({ where: `${file}: npx edsim ${command.trim()}`, args: shellWords(command), tested: tested ? shellWords(tested) : [], ...(notRun ? { notRun } : {}) });
    });
  }
  return out;
}

/** Every command's --help examples, in the order --help shows them. */
function helpExamples(): Example[] {
  return Object.entries(EXAMPLES).flatMap(([command, list]) => list.map((e) => ({
    where: `edsim ${command} --help: ${e.cmd.replace('$0', 'edsim')}`,
    args: shellWords(e.cmd).slice(1),
    tested: e.tested ? shellWords(e.tested) : [],
    ...(e.notRun ? { notRun: e.notRun } : {}),
  })));
}

/** Runs a source's examples in order in a fresh folder; returns the failures and what was skipped. */
function runAll(examples: Example[]): { failed: string[]; skipped: string[]; seconds: number } {
  const dir = tempDir();
  mkdirSync(join(dir, 'results'));
  mkdirSync(join(dir, 'test'));
  symlinkSync(join(ROOT, 'test', 'fixtures'), join(dir, 'test', 'fixtures'));
  const failed: string[] = [];
  const skipped: string[] = [];
  const t0 = performance.now();
  for (const e of examples) {
    if (e.notRun) {
      skipped.push(`${e.where} (${e.notRun})`);
      continue;
    }
    if (e.args.includes('fashion-mnist') && !existsSync(FASHION_DIR) && !process.env.EDSIM_CI) {
      skipped.push(`${e.where} (Fashion-MNIST is not installed: Debian package dataset-fashion-mnist; .ci/run installs it)`);
      continue;
    }
    const args = [...e.args, ...e.tested];
    const t1 = performance.now();
    const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: CAP_S * 1000, killSignal: 'SIGKILL' });
    const s = (performance.now() - t1) / 1000;
    if (r.signal) failed.push(`${e.where}${e.tested.length ? ` (run with ${e.tested.join(' ')})` : ''}: still running after ${CAP_S} s`);
    else if (r.status !== 0) failed.push(`${e.where}: exit ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').at(-1)}`);
    else if (process.env.EDSIM_EXAMPLE_VERBOSE) console.log(`  ${s.toFixed(1)} s  ${e.where}`);
  }
  return { failed, skipped, seconds: (performance.now() - t0) / 1000 };
}

const sources: [string, () => Example[]][] = [
  ['README.md', () => markdownExamples('README.md')],
  ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f): [string, () => Example[]] => [`docs/${f}`, () => markdownExamples(`docs/${f}`)]),
  ['--help', helpExamples],
];

for (const [name, get] of sources) {
  const examples = get();
  if (examples.length === 0) continue;
  test(`every example of ${name} runs as written (${examples.length}, ${CAP_S} s cap each)`, () => {
    const r = runAll(examples);
    for (const s of r.skipped) console.log(`  not run: ${s}`);
    assert.equal(r.failed, [], `\n${r.failed.join('\n')}`);
  });
}

test('the example reader finds commands, continuation lines, comments and markers', () => {
  assert.equal(shellWords(`train --data 'a b' --x "c" ''`), ['train', '--data', 'a b', '--x', 'c', '']);
  const readme = markdownExamples('README.md');
  assert.ok(readme.length >= 5, 'README.md shows commands');
  assert.ok(readme.some((e) => e.args[0] === 'train' && e.args.includes('mnist10')));
  assert.ok(helpExamples().some((e) => e.notRun && e.args[0] === 'worker'), 'the worker example says why it is not run');
  for (const e of Object.values(EXAMPLES).flat()) {
    if (e.tested) assert.match(e.desc, /~\d+ (s|min)/, `${e.cmd}: a shortened example says how long the full one takes`);
  }
});

test.run();
