// Compiles wasm/kernels.wat to dist/wasm/kernels.wasm with wabt (from the npm registry), at build time.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import createWabt from 'wabt';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wabt = await createWabt();
const src = readFileSync(join(root, 'wasm', 'kernels.wat'), 'utf8');
const mod = wabt.parseWat('kernels.wat', src, { simd: true, threads: true });
// wabt.js's own validate() ignores the enabled features (it rejects shared memory), so V8 validates.
const { buffer } = mod.toBinary({});
if (!WebAssembly.validate(buffer)) throw new Error('kernels.wasm does not validate');
mkdirSync(join(root, 'dist', 'wasm'), { recursive: true });
writeFileSync(join(root, 'dist', 'wasm', 'kernels.wasm'), buffer);
console.log(`wasm/kernels.wat -> dist/wasm/kernels.wasm (${buffer.length} bytes)`);
