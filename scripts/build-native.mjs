// Builds the optional native kernels (native/, binding.gyp) with node-gyp at `npm install`. Never
// fails the install: without a compiler or node-gyp, edsim runs on its WebAssembly kernels, and
// this prints one line saying so (the full log goes to build/native-build.log).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (process.env.EDSIM_NATIVE_BUILD === '0') {
  console.log('edsim: native kernels not built (EDSIM_NATIVE_BUILD=0); edsim will use its WebAssembly kernels');
  process.exit(0);
}
// npm hands lifecycle scripts the path of its own node-gyp; elsewhere, node-gyp on PATH.
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
const t0 = Date.now();
const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300000 });
mkdirSync(join(root, 'build'), { recursive: true });
const log = join(root, 'build', 'native-build.log');
writeFileSync(log, `${cmd} ${args.join(' ')}\n${r.stdout ?? ''}\n${r.stderr ?? ''}\n${r.error ? String(r.error) : ''}\n`);
if (r.status === 0) {
  console.log(`edsim: native kernels built in ${((Date.now() - t0) / 1000).toFixed(1)} s (build/Release/edsim_native.node)`);
} else {
  const lines = `${r.stderr ?? ''}`.split('\n').filter((l) => /error/i.test(l));
  const why = r.error ? (r.error.code === 'ENOENT' ? 'node-gyp not found' : r.error.message) : (lines[0] ?? `node-gyp exited with ${r.status}`).trim();
  console.log(`edsim: native kernels not built (${why.slice(0, 160)}); edsim will use its WebAssembly kernels. Log: ${log}`);
  if (process.argv.includes('--verbose')) process.stdout.write(r.stderr ?? '');
}
