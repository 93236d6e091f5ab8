/**
 * The package as a user installs it: `npm pack`, the tarball installed into a temporary project that
 * cannot see this source tree, the README's library example run there, and `npx edsim --version`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, tempDir } from './helpers.js';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

// The README's library example, read from README.md (the ts block under "## Library"), with a JSON line added at the end.
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const libraryBlock = /## Library\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
const example = `${libraryBlock ?? 'throw new Error("no library example in README.md")'}
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
  assert.is(r.epochs, 5);
  assert.ok(r.accuracy > 0.9, `accuracy ${r.accuracy}`);
  assert.ok(existsSync(join(app, 'run.ckpt')) && existsSync(join(app, 'model.edsim')), 'the example wrote its checkpoint and model');
  runExamples(app);
  const v = spawnSync(npm, ['exec', '--offline', '--', 'edsim', '--version'], { cwd: app, encoding: 'utf8', timeout: 60000 });
  assert.is(v.status, 0, v.stderr);
  assert.is(v.stdout.trim(), pkg.version);
});

/**
 * examples/*.ts as a user has them: type-checked with tsc --strict against the installed package's
 * types, compiled, and run in the project (small data: each finishes in seconds).
 */
function runExamples(app: string): void {
  mkdirSync(join(app, 'examples'));
  const files = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length >= 4, `examples/: ${files.join(', ')}`);
  for (const f of files) copyFileSync(join(ROOT, 'examples', f), join(app, 'examples', f));
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, target: 'ES2023', lib: ['ES2024'], module: 'NodeNext', moduleResolution: 'NodeNext', outDir: 'out', rootDir: 'examples', skipLibCheck: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] },
    include: ['examples/*.ts'],
  }));
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], { cwd: app, encoding: 'utf8', timeout: 120000 });
  assert.is(tsc.status, 0, `tsc --strict: ${tsc.stdout}${tsc.stderr}`);
  const run = (name: string, args: string[] = []): string => {
    const r = spawnSync(process.execPath, [join('out', name), ...args], { cwd: app, encoding: 'utf8', timeout: 120000 });
    assert.is(r.status, 0, `${name}: ${r.stderr}`);
    return r.stdout;
  };
  const trained = JSON.parse(run('train-parallel.js').trim().split('\n').at(-1)!) as { testAccuracy: number; strategy: string };
  assert.ok(trained.testAccuracy > 0.9 && trained.strategy === 'samples', JSON.stringify(trained));
  run('scaling-csv.js', ['scaling.csv']);
  const csv = readFileSync(join(app, 'scaling.csv'), 'utf8').trim().split('\n');
  assert.is(csv.length, 4);
  assert.match(csv[0]!, /^strategy,workers,seconds_per_epoch,speedup,oversubscribed$/);
  const resumed = JSON.parse(run('checkpoint-resume.js').trim().split('\n').at(-1)!) as { identical: boolean; scores: number[] };
  assert.ok(resumed.identical, 'the resumed run ends byte-identical');
  assert.is(resumed.scores.length, 5);
  queueExample = { app, file: join('out', 'queue-sweep.js') };
}

let queueExample: { app: string; file: string } | undefined;

test('examples/queue-sweep: a sweep over a real redis-server, with a worker the program starts', async () => {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    console.log('  (skipped: redis-server is not installed; .ci/run installs it)');
    return;
  }
  assert.ok(queueExample, 'the package test ran the other examples first');
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const r = spawnSync(process.execPath, [queueExample.file, `redis://127.0.0.1:${port}`], { cwd: queueExample.app, encoding: 'utf8', timeout: 120000 });
    assert.is(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { runs: number; converged: number };
    assert.equal([j.runs, j.converged], [10, 10]);
  } finally {
    redis.kill('SIGKILL');
  }
});

test.run();
