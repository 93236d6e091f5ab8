#!/usr/bin/env node
/**
 * npm run docs: the API reference from the doc comments (TypeDoc, into docs/api/, not committed),
 * with validation on (typedoc.json: every export documented, no broken {@link}; warnings are
 * errors, so this exits non-zero on any). TypeDoc needs TypeScript's JavaScript API, which
 * TypeScript 7 (edsim's compiler) no longer has: it lives with TypeScript 6 in tools/typedoc/,
 * installed there on first use from its own lock file. Extra arguments go to TypeDoc (e.g. --out DIR).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tools = join(root, 'tools', 'typedoc');
const bin = join(tools, 'node_modules', 'typedoc', 'bin', 'typedoc');
if (!existsSync(bin)) {
  process.stderr.write('docs: installing TypeDoc into tools/typedoc (once)\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(npm, ['ci', '--no-audit', '--no-fund', '--silent'], { cwd: tools, stdio: 'inherit' });
}
const r = spawnSync(process.execPath, [bin, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
