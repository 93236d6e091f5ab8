/**
 * The documentation holds: README.md stays a short guide, every local link and anchor of README.md
 * and docs/ resolves, and the API reference builds with TypeDoc's validation on (every export
 * documented, no broken {@link}; tools/typedoc holds TypeDoc, installed there on first use).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT, tempDir } from './helpers.js';

const pages = ['README.md', 'results/README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[1]!.toLowerCase().replace(/<[^>]*>/g, '').replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Every [text](target) outside code, with its line number. */
export function linksOf(markdown: string): { target: string; line: number }[] {
  const out: { target: string; line: number }[] = [];
  let fenced = false;
  markdown.split('\n').forEach((line, i) => {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced) return;
    const text = line.replace(/`[^`]*`/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) out.push({ target: m[1]!, line: i + 1 });
  });
  return out;
}

/** Broken local links of one page: a missing file, or an anchor its target does not have. */
function brokenLinks(page: string): string[] {
  const file = join(ROOT, page);
  const bad: string[] = [];
  for (const { target, line } of linksOf(readFileSync(file, 'utf8'))) {
    if (/^[a-z]+:/i.test(target)) continue; // http(s), mailto: not checked (no network here)
    const [path, anchor] = target.split('#') as [string, string | undefined];
    const dest = path === '' ? file : resolve(dirname(file), decodeURI(path));
    if (!existsSync(dest)) {
      bad.push(`${page}:${line}: ${target}: no such file ${relative(ROOT, dest)}`);
      continue;
    }
    if (anchor !== undefined && statSync(dest).isFile() && dest.endsWith('.md') && !anchorsOf(readFileSync(dest, 'utf8')).has(anchor)) {
      bad.push(`${page}:${line}: ${target}: ${relative(ROOT, dest)} has no heading #${anchor}`);
    }
  }
  return bad;
}

test('README.md is a short guide (under 12,000 characters) that points to docs/', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  assert.ok(readme.length < 12000, `README.md has ${readme.length} characters`);
  for (const p of pages.filter((x) => x.startsWith('docs/'))) assert.ok(readme.includes(`(${p})`), `README.md does not link ${p}`);
});

test('every local link and anchor in README.md, results/README.md and docs/ resolves', () => {
  const bad = pages.flatMap(brokenLinks);
  assert.equal(bad, [], bad.join('\n'));
});

test('the link check catches a missing file and a missing anchor', () => {
  assert.equal([...anchorsOf('# A b\n## `samples`: every thread (x)\n## A b\n```\n# not a heading\n```')], ['a-b', 'samples-every-thread-x', 'a-b-1']);
  assert.equal(linksOf('[a](b.md#c) `[x](y)`\n```\n[no](z)\n```\n[d](http://e)').map((l) => l.target), ['b.md#c', 'http://e']);
});

test('npm run docs: the API reference builds with zero validation warnings (every export documented, no broken link)', () => {
  const out = join(tempDir(), 'api');
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'docs.mjs'), '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 240000 });
  const text = `${r.stdout}${r.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
  assert.is(r.status, 0, text);
  assert.not.match(text, /\[warning\]/, text);
  assert.ok(readdirSync(join(out, 'functions')).some((f) => f.endsWith('createTrainer.html')), 'createTrainer has its page');
});

test.run();
