/**
 * Ensembles of seeds trained apart (one process per seed, e.g. each with its own routing): reads
 * the validation outputs that the search script writes with SAVE=PREFIX and prints, per epoch, one
 * JSON line with each seed's raw and calibrated accuracy and those of their sums (outputs summed;
 * standardised outputs summed), and of the calibrated outputs of each seed's last 3 epochs summed.
 *
 *   node dist/scripts/combine-outputs.js PREFIX CONFIG 1,2,3,4 [EPOCHS]
 */
import { existsSync, readFileSync } from 'node:fs';
import { accuracy } from './readings.js';

const [prefix, config, seedList = '1,2,3,4', epochArg = '10'] = process.argv.slice(2);
if (!prefix || !config) throw new Error('usage: combine-outputs PREFIX CONFIG SEEDS [EPOCHS]');
const seeds = seedList.split(',').map(Number);
const read = (path: string): Float64Array => new Float64Array(new Uint8Array(readFileSync(path)).buffer);
const held = { labels: new Int32Array(new Uint8Array(readFileSync(`${prefix}-labels.i32`)).buffer) };
const score = (o: Float64Array): number => accuracy(o, held);

function summed(all: Float64Array[]): Float64Array {
  const out = new Float64Array(all[0]!.length);
  for (const o of all) for (let i = 0; i < o.length; i++) out[i]! += o[i]!;
  return out;
}

const file = (s: number, e: number, z: boolean): string => `${prefix}-${config}-s${s}-e${e}${z ? '-z' : ''}.f64`;
for (let e = 1; e <= Number(epochArg); e++) {
  if (!seeds.every((s) => existsSync(file(s, e, true)))) continue;
  const raw = seeds.map((s) => read(file(s, e, false)));
  const z = seeds.map((s) => read(file(s, e, true)));
  const snapshots = seeds.flatMap((s) => [e - 2, e - 1, e].filter((q) => q >= 1).map((q) => read(file(s, q, true))));
  console.log(JSON.stringify({
    config, epoch: e, seeds, validation: raw.map(score), ensemble: score(summed(raw)),
    calibrated: { validation: z.map(score), ensemble: score(summed(z)), snapshots: score(summed(snapshots)) },
  }));
}
