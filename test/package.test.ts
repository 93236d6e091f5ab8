/**
 * The package as a user installs it: `npm pack`, the tarball installed into a temporary project that
 * cannot see this source tree, the README's library example run there, and `npx edsim --version`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from './helpers.js';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

// The README's library example, as written there (printing a JSON line at the end).
const example = `
import { createTrainer, loadDataset } from 'edsim';

const data = await loadDataset('mnist', { classes: [0, 1] });
const trainer = await createTrainer({ preset: 'article', strategy: 'pipeline', workers: 2 });
const history = await trainer.fit(data.train, { epochs: 10, onEpoch: (e) => console.log(e.epoch, e.errSum.toFixed(2)) });
const { accuracy } = await trainer.evaluate(data.test);
await trainer.save('model.edsim');
await trainer.close();
console.log(JSON.stringify({ epochs: history.epochs.length, accuracy }));
`;

test('the packed tarball installs into another project, runs the README example and the CLI', () => {
  const packDir = tempDir();
  const out = execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', packDir], { cwd: ROOT, encoding: 'utf8' });
  const tarball = join(packDir, (JSON.parse(out) as { filename: string }[])[0]!.filename);
  const app = tempDir();
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'edsim-user', version: '1.0.0', type: 'module', private: true }));
  const install = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: app, encoding: 'utf8', timeout: 300000 });
  assert.is(install.status, 0, install.stderr);
  writeFileSync(join(app, 'example.mjs'), example);
  const run = spawnSync(process.execPath, ['example.mjs'], { cwd: app, encoding: 'utf8', timeout: 120000 });
  assert.is(run.status, 0, run.stderr);
  const r = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { epochs: number; accuracy: number };
  assert.is(r.epochs, 10);
  assert.ok(r.accuracy > 0.9, `accuracy ${r.accuracy}`);
  const v = spawnSync(npm, ['exec', '--offline', '--', 'edsim', '--version'], { cwd: app, encoding: 'utf8', timeout: 60000 });
  assert.is(v.status, 0, v.stderr);
  assert.is(v.stdout.trim(), pkg.version);
});

test.run();
