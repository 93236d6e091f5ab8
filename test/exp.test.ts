/**
 * glibc's exp, ported (src/glibc-exp.ts), against the C library itself: test/fixtures/glibc-exp.json
 * was made by scripts/exp-fixture.py from python3's math.exp (glibc 2.36, x86-64, both of its builds).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fma, glibcExp, glibcExpPlain } from '../src/kernels/glibc-exp.js';
import { exactExp } from './correctly-rounded-exp.js';
import { FIXTURES } from './helpers.js';

interface Fixture {
  generator: { seed: number; count: number; low: number; width: number };
  denseDiffersFromCorrectlyRounded: { fma: [number, number][]; plain: [number, number][] };
  pairs: [string, string, string][];
}
const fixture = JSON.parse(readFileSync(join(FIXTURES, 'glibc-exp.json'), 'utf8')) as Fixture;

/** Parses C99 hex floats as Python's float.hex writes them ('0x1.8p+1', '-0x0.0p+0', 'inf'). */
function fromHex(s: string): number {
  if (s === 'inf') return Infinity;
  if (s === '-inf') return -Infinity;
  const m = /^(-?)0x([01])\.([0-9a-f]+)p([+-]\d+)$/.exec(s);
  if (!m) throw new Error(`not a hex float: ${s}`);
  const mant = Number(m[2]) + parseInt(m[3]!, 16) / 16 ** m[3]!.length;
  const e = Number(m[4]);
  const v = e < -1022 ? mant * 2 ** (e + 60) * 2 ** -60 : mant * 2 ** e;
  return m[1] ? -v : v;
}

/** The script's xorshift32 draws, as doubles in [low, low + width). */
function denseInputs(g: Fixture['generator']): Float64Array {
  const xs = new Float64Array(g.count);
  let s = g.seed >>> 0;
  const next = (): number => {
    s = (s ^ (s << 13)) >>> 0;
    s = (s ^ (s >>> 17)) >>> 0;
    s = (s ^ (s << 5)) >>> 0;
    return s;
  };
  for (let i = 0; i < g.count; i++) {
    const a = next();
    const b = next();
    xs[i] = g.low + g.width * (((a >>> 5) * 67108864 + (b >>> 6)) / 9007199254740992);
  }
  return xs;
}

const bits = new Float64Array(1);
const word = new BigInt64Array(bits.buffer);
function stepUlps(x: number, k: number): number {
  bits[0] = x;
  word[0] = word[0]! + BigInt(k);
  return bits[0]!;
}

function checkDense(exp: (x: number) => number, diffs: [number, number][], build: string): void {
  const xs = denseInputs(fixture.generator);
  const off = new Map(diffs);
  for (let i = 0; i < xs.length; i++) {
    const want = stepUlps(exactExp(xs[i]!), off.get(i) ?? 0);
    const got = exp(xs[i]!);
    if (got !== want) assert.unreachable(`${build} build, input ${i}: exp(${xs[i]}) = ${want} in the C library, ${got} here`);
  }
}

test('one million inputs over [-60, 60]: the FMA build, bit for bit', () => {
  assert.is(fixture.generator.count, 1000000);
  assert.ok(fixture.denseDiffersFromCorrectlyRounded.fma.length > 500, 'the C library differs from correct rounding on some inputs');
  checkDense(glibcExp, fixture.denseDiffersFromCorrectlyRounded.fma, 'FMA');
});

test('one million inputs over [-60, 60]: the plain build, bit for bit', () => {
  checkDense(glibcExpPlain, fixture.denseDiffersFromCorrectlyRounded.plain, 'plain');
});

test('the whole range, subnormal results, overflow and the edges, in both builds', () => {
  assert.ok(fixture.pairs.length > 10000);
  for (const [xs, fs, ps] of fixture.pairs) {
    const x = fromHex(xs);
    assert.is(glibcExp(x), fromHex(fs), `FMA build, exp(${x})`);
    assert.is(glibcExpPlain(x), fromHex(ps), `plain build, exp(${x})`);
  }
  // The example: the C library's value is one ulp below the correctly rounded one.
  assert.is(glibcExp(4.897425202392711), 133.94445544231573);
  assert.is(exactExp(4.897425202392711), 133.94445544231576);
  assert.ok(Number.isNaN(glibcExp(NaN)));
});

test('fma rounds once, as the instruction does (values from the C library\'s fma)', () => {
  const cases: [string, string, string, string][] = [
    ['0x1.999999999999ap-4', '0x1.4000000000000p+3', '-0x1.0000000000000p+0', '0x1.0000000000000p-54'],
    ['0x1.0000000000001p+0', '0x1.fffffffffffffp-1', '-0x1.0000000000000p+0', '0x1.ffffffffffffep-54'],
    ['0x1.8000000000000p+1', '0x1.5555555555555p-2', '-0x1.0000000000000p+0', '-0x1.0000000000000p-54'],
    ['0x1.5c8437bb9985ep+0', '0x1.1a94e1f8bfe9ap+0', '-0x1.80b45577b9e8fp+0', '-0x1.13864281189bap-51'],
    ['-0x1.06913487eb178p-1', '0x1.7949c41f8fb2cp+0', '0x1.82f77ef1bb058p-1', '0x1.82f77f076bfb8p-31'],
    ['0x1.0c362de608e9ap+0', '-0x1.b65786ee3cdeap+0', '0x1.cb4066564f996p+0', '0x1.cb4066bd1e32cp-30'],
    ['-0x1.7e428e6f12bb6p+0', '-0x1.fe2ebb038a73cp+0', '-0x1.7ce72f7b636b1p+1', '0x1.88e3c47b3f150p-53'],
  ];
  for (const [a, b, c, want] of cases) assert.is(fma(fromHex(a), fromHex(b), fromHex(c)), fromHex(want), `fma(${a}, ${b}, ${c})`);
});

test('the reference exactExp is correctly rounded where a double-double check can tell, and handles the edges', () => {
  for (const x of [0, 1, -1, 0.5, 10, -10, 700, -700]) assert.ok(Math.abs(exactExp(x) / Math.exp(x) - 1) < 4e-16, `x=${x}`);
  assert.is(exactExp(1000), Infinity);
  assert.is(exactExp(-1000), 0);
  assert.ok(Number.isNaN(exactExp(NaN)));
  // Cases where V8's Math.exp is one ulp off the correctly rounded value (checked with 40-digit decimals).
  assert.is(exactExp(1.727762149334012), 5.628045080921312);
  assert.is(exactExp(-0.3813001193484524), 0.6829728854811828);
  assert.is(exactExp(0.26416835025156615), 1.3023474283636813);
});

test.run();
