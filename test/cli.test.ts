import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, FIXTURES, lastJson, ROOT, runCli, tempDir, withTimeout } from './helpers.js';

const dir = tempDir();
const csv = join(dir, 'ok.csv');
writeFileSync(csv, Array.from({ length: 40 }, (_, i) => `${i % 2},${(i % 3) / 2},${i % 2}`).join('\n'));

test('kaneko-replay and article-replay print the max abs diff and exit 0', () => {
  const k = runCli(['kaneko-replay', join(FIXTURES, 'kaneko-parity4-seed1.json')]);
  assert.is(k.code, 0, k.stderr);
  assert.match(k.stdout, /max abs diff: 0\n/);
  const a = runCli(['article-replay', join(FIXTURES, 'article-xor-v1-seed1.json')]);
  assert.is(a.code, 0, a.stderr);
  assert.match(a.stdout, /max abs diff: [0-9.e-]+\n/);
});

test('train --json ends with one JSON object; --save then eval reproduces the test accuracy', () => {
  const model = join(dir, 'xor.edsim');
  const t = runCli(['train', '--data', 'parity:3', '--preset', 'kaneko', '--hidden', '16', '--save', model, '--json']);
  assert.is(t.code, 0, t.stderr);
  const r = lastJson(t.stdout);
  assert.is(r.testAccuracy, 1);
  assert.ok((r.secondsPerEpoch as number) > 0);
  assert.is(r.converged, true);
  const e = runCli(['eval', '--model', model, '--data', 'parity:3', '--json']);
  assert.is(e.code, 0, e.stderr);
  assert.is(lastJson(e.stdout).testAccuracy, 1);
  const human = runCli(['train', '--data', `csv:${csv}`, '--preset', 'kaneko', '--epochs', '5']);
  assert.is(human.code, 0, human.stderr);
  assert.match(human.stdout, /test accuracy/);
  assert.match(human.stderr, /epoch 5/);
});

test('--workers without --strategy runs the exact strategy the scaling model predicts fastest, and says why', () => {
  const r = runCli(['train', '--data', 'mnist', '--classes', '0,1', '--limit', '256', '--preset', 'bench-wide', '--hidden', '64,64', '--workers', '2', '--epochs', '1']);
  assert.is(r.code, 0, r.stderr);
  const m = /strategy (\w+): the fastest byte-identical strategy the scaling model predicts on 2 threads \(samples\/s: (.*)\)/.exec(r.stderr);
  assert.ok(m, r.stderr);
  assert.ok(['samples', 'cells', 'layer'].includes(m[1]!), m[1]);
  assert.match(m[2]!, /samples \d+, cells \d+, layer \d+/);
  assert.match(r.stderr, new RegExp(`strategy ${m[1]}, 2 thread`));
});

test('sweep --json reports runs, converged, meanEpochs, medianEpochs', () => {
  const s = runCli(['sweep', '--data', 'xor', '--preset', 'kaneko', '--hidden', '32', '--seeds', '1-20', '--json']);
  assert.is(s.code, 0, s.stderr);
  const r = lastJson(s.stdout);
  assert.is(r.runs, 20);
  assert.is(r.converged, 20);
  assert.type(r.meanEpochs, 'number');
  assert.type(r.medianEpochs, 'number');
});

const badModel = join(dir, 'bad.edsim');
writeFileSync(badModel, '{"format":"edsim-model","version":7}');
const corrupt = join(dir, 'corrupt.edsim');
writeFileSync(corrupt, 'PK\u0003\u0004 not json');
const nanCsv = join(dir, 'nan.csv');
writeFileSync(nanCsv, '1,2,0\n1,NaN,1\n');
const emptyCsv = join(dir, 'empty.csv');
writeFileSync(emptyCsv, '');
const raggedCsv = join(dir, 'ragged.csv');
writeFileSync(raggedCsv, '1,2,0\n1,1\n');

const badInputs: [string, string[], RegExp][] = [
  ['unknown command', ['fly'], /Unknown argument: fly/],
  ['unknown flag', ['train', '--data', 'xor', '--speed', '3'], /Unknown argument/],
  ['no command', [], /name a command/],
  ['workers 0', ['train', '--data', 'xor', '--workers', '0'], /--workers must be an integer from 1 to 64, got '0'/],
  ['absurd workers', ['train', '--data', 'xor', '--workers', '100000'], /--workers must be an integer/],
  ['epochs abc', ['train', '--data', 'xor', '--epochs', 'abc'], /--epochs must be a number, got 'abc'/],
  ['negative alpha', ['train', '--data', 'xor', '--alpha', '-1'], /alpha must be a positive number/],
  ['negative alpha decay', ['train', '--data', 'xor', '--alpha-decay', '-1'], /alpha decay must be a number >= 0, got -1/],
  ['negative cross rate', ['train', '--data', 'xor', '--topology', 'columns', '--alpha-cross', '-2'], /cross-column alpha must be a number >= 0/],
  ['unknown strategy', ['train', '--data', 'xor', '--strategy', 'magic'], /--strategy 'magic' is not allowed: expected one of serial/],
  ['unknown preset', ['train', '--data', 'xor', '--preset', 'huge'], /--preset 'huge' is not allowed: expected one of kaneko/],
  ['unknown dataset', ['train', '--data', 'cifar'], /unknown dataset 'cifar'/],
  ['one class', ['train', '--data', 'mnist', '--classes', '3'], /at least two classes/],
  ['class out of range', ['train', '--data', 'mnist', '--classes', '0,11'], /class 11 does not occur in mnist/],
  ['malformed classes', ['train', '--data', 'mnist', '--classes', 'x'], /--classes must look like/],
  ['bad hidden', ['train', '--data', 'xor', '--hidden', '8,a'], /--hidden must list cells/],
  ['odd paired layer', ['train', '--data', 'xor', '--preset', 'article', '--hidden', '3'], /even number of cells/],
  ['missing CSV', ['train', '--data', `csv:${join(dir, 'nope.csv')}`], /cannot read CSV file/],
  ['empty CSV', ['train', '--data', `csv:${emptyCsv}`], /is empty/],
  ['NaN in CSV', ['train', '--data', `csv:${nanCsv}`], /'NaN' is not a finite number/],
  ['ragged CSV', ['train', '--data', `csv:${raggedCsv}`], /expected 3 columns, found 2/],
  ['missing IDX dir', ['train', '--data', `idx:${join(dir, 'none')}`], /does not exist/],
  ['unwritable save path', ['train', '--data', 'xor', '--save', join(dir, 'no', 'such', 'dir', 'm.edsim')], /directory .* does not exist/],
  ['save path is a directory', ['train', '--data', 'xor', '--save', dir], /it is a directory/],
  ['an empty trace path', ['train', '--data', 'xor', '--epochs', '2', '--trace', ''], /^edsim: --trace needs a file name, got an empty one\n$/],
  ['an empty export path', ['export', 'm.edsim', ''], /^edsim: <output> needs a file name, got an empty one\n$/],
  ['wrong model version', ['eval', '--model', badModel, '--data', 'xor'], /format version 7/],
  ['corrupt model', ['eval', '--model', corrupt, '--data', 'xor'], /not valid JSON/],
  ['missing model', ['eval', '--model', join(dir, 'none.edsim'), '--data', 'xor'], /cannot read model file/],
  ['model and data disagree', ['eval', '--model', join(dir, 'xor.edsim'), '--data', 'xor'], /model expects 3/],
  ['missing recording', ['kaneko-replay', join(dir, 'none.json')], /cannot read recording/],
  ['model too big for one shared memory', ['train', '--data', 'mnist', '--classes', '0,1', '--hidden', '30000,30000', '--epochs', '1'], /needs 7\.06 GiB of shared memory.*4\.00 GiB.*--precision f32/],
  ['bad seeds', ['sweep', '--data', 'xor', '--seeds', '5-1'], /--seeds range must run forwards/],
  ['model is a device', ['eval', '--model', '/dev/zero', '--data', 'xor'], /edsim: cannot read model file \/dev\/zero: not a regular file\n/],
  ['model is a directory', ['eval', '--model', dir, '--data', 'xor'], /cannot read model file .*: it is a directory\n/],
  ['recording is a device', ['kaneko-replay', '/dev/zero'], /edsim: cannot read recording \/dev\/zero: not a regular file\n/],
  ['CSV is a device', ['train', '--data', 'csv:/dev/zero'], /edsim: cannot read CSV file \/dev\/zero: not a regular file\n/],
  ['scale output under /proc', ['scale', '--data', 'xor', '--strategies', 'serial', '--out', '/proc/edsim-x.csv'], /edsim: cannot write \/proc\/edsim-x.csv: /],
  ['save over a device', ['train', '--data', 'xor', '--save', '/dev/null'], /edsim: cannot write \/dev\/null: not a regular file\n/],
];

for (const [name, args, re] of badInputs) {
  test(`bad input gives one line on stderr and a non-zero exit: ${name}`, () => {
    const r = runCli(args);
    assert.is(r.code, 2, `exit code ${r.code}`);
    assert.match(r.stderr, re);
    assert.is(r.stderr.trim().split('\n').length, 1, `more than one line: ${r.stderr}`);
    assert.not.match(r.stderr, /\n\s+at /);
  });
}

test('a value outside an option\'s choices: one line naming the option, the value, the choices and a near miss; exit 2', () => {
  const cases: [string[], RegExp][] = [
    [['--strategy', 'bogus'], /^edsim: --strategy 'bogus' is not allowed: expected one of serial, layer, pipeline, output, cells, samples$/],
    [['--strategy', 'sample'], /^edsim: --strategy 'sample' is not allowed: expected one of .*samples \(did you mean 'samples'\?\)$/],
    [['--kernels', 'gpu'], /^edsim: --kernels 'gpu' is not allowed: expected one of auto, native, wasm, js$/],
    [['--precision', 'f16'], /^edsim: --precision 'f16' is not allowed: expected one of f32, f64$/],
    [['--topology', 'ring'], /^edsim: --topology 'ring' is not allowed: expected one of kaneko, paired, columns$/],
    [['--preset', 'bench'], /^edsim: --preset 'bench' is not allowed: expected one of .* \(did you mean 'bench-wide'\?\)$/],
    [['--rule'], /^edsim: --rule needs a value: expected one of kaneko, bidirectional$/],
  ];
  for (const [args, re] of cases) {
    const r = runCli(['train', '--data', 'xor', ...args]);
    assert.is(r.code, 2, args.join(' '));
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trim(), re);
  }
});

test('--save to edsim\'s JSON of a model too large for it fails before training, in one line, and writes nothing', () => {
  // fashion10's shape (40 nets of 3,138 x 512 weights): 655 MiB of base64, over V8's longest string.
  const path = join(dir, 'big.json');
  const r = runCli(['train', '--data', 'mnist', '--classes', '0-9', '--limit', '100', '--preset', 'fashion10', '--save', path]);
  assert.is(r.code, 2, r.stderr);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr.trim(), /^edsim: --save .*big\.json: a model of 64287604 values is 655 MiB as edsim's JSON, over the 511 MiB a string can hold; save it as safetensors/);
  assert.not.match(r.stderr, /epoch 1/);
  assert.not.ok(existsSync(path));
});

test('a long first epoch is announced with its estimated length and the run\'s, then Ctrl-C stops it', withTimeout(60000, async () => {
  // Three 1024-cell layers on the float64 JavaScript kernels: about a minute an epoch on 2 cores,
  // progress after every batch (63 an epoch).
  const child = spawn(process.execPath, [CLI, 'train', '--data', 'mnist', '--classes', '0-9', '--preset', 'bench-wide', '--precision', 'f64', '--kernels', 'js', '--hidden', '1024,1024,1024', '--epochs', '3'], { cwd: ROOT });
  let err = '';
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no estimate within 45 s: ${err}`)), 45000);
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /edsim: an epoch will take about .*\n/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
  });
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.match(line, /^edsim: an epoch will take about (\d+ h \d+ min|\d+ min \d+ s|\d+ s) \([\d.]+ % of the first done in \d+ s\); up to 3 epoch\(s\): up to .* in all/);
  assert.is(code, 130);
}));

test('--verbose adds the stack trace', () => {
  const r = runCli(['train', '--data', 'cifar', '--verbose']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /\n\s+at /);
});

test('--help explains each command with examples', () => {
  const r = runCli(['train', '--help']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /--strategy/);
  assert.match(r.stdout, /Examples:/);
});

test.run();
