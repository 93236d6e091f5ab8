import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { articleReplay, kanekoReplay } from '../src/report/replay.js';
import { EdsimError } from '../src/errors.js';
import { FIXTURES, tempDir, withTimeout } from './helpers.js';

test('the recorded run of Kaneko\'s C program replays bit for bit', withTimeout(60000, async () => {
  const r = await kanekoReplay(join(FIXTURES, 'kaneko-parity4-seed1.json'));
  assert.is(r.epochs, 148);
  assert.is(r.maxAbsDiff, 0);
}));

test('every other recording (two to four outputs, mirror and parity targets, 64 hidden cells, up to 705 epochs) replays bit for bit', withTimeout(120000, async () => {
  for (const f of ['kaneko-mirror3-h6-seed7.json', 'kaneko-parity3-h12-seed3.json', 'kaneko-parity5-h64-seed11.json', 'kaneko-parities5-h64-seed4.json']) {
    const r = await kanekoReplay(join(FIXTURES, f));
    assert.is(r.maxAbsDiff, 0, `${f}: ${r.maxAbsDiff} at ${r.detail}`);
    assert.is(r.epochs, r.recordedEpochs);
  }
}));

test('the article\'s first matrix implementation replays within 1e-9', withTimeout(60000, async () => {
  const r = await articleReplay(join(FIXTURES, 'article-xor-v1-seed1.json'));
  assert.is(r.epochs, 100);
  assert.ok(r.maxAbsDiff <= 1e-9, String(r.maxAbsDiff));
}));

test('a tampered recording fails the replay', withTimeout(60000, async () => {
  const dir = tempDir();
  const src = JSON.parse((await import('node:fs')).readFileSync(join(FIXTURES, 'kaneko-parity4-seed1.json'), 'utf8'));
  src.epochs[10].outputs[3][0] += 1e-6;
  writeFileSync(join(dir, 'bad.json'), JSON.stringify(src));
  const r = await kanekoReplay(join(dir, 'bad.json'));
  assert.ok(r.maxAbsDiff > 1e-9);
  assert.match(r.detail, /epoch 11 pattern 3/);
}));

test('malformed recordings fail with one clear line', withTimeout(60000, async () => {
  const dir = tempDir();
  const cases: [string, RegExp][] = [
    ['', /is empty/],
    ['{nope', /not valid JSON/],
    ['{"bits": 2}', /bits, hidden and outputs/],
    ['{"bits":2,"hidden":2,"outputs":1,"params":{"alpha":1,"beta":1,"u0":1,"u1":1,"stopErrSum":1,"maxEpochs":1},"inputs":[[0,1]],"targets":[[1]],"hiddenTypes":[1,-1]}', /hiddenTypes/],
  ];
  for (const [text, re] of cases) {
    writeFileSync(join(dir, 'r.json'), text);
    try {
      await kanekoReplay(join(dir, 'r.json'));
      assert.unreachable('should have thrown');
    } catch (e) {
      assert.instance(e, EdsimError);
      assert.match((e as Error).message, re);
    }
  }
  await articleReplay(join(dir, 'missing.json')).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /cannot read recording/));
  writeFileSync(join(dir, 'a.json'), '{"inputs": [[1]], "targets": [1]}');
  await articleReplay(join(dir, 'a.json')).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /init_weights_per_layer/));
}));

test.run();
