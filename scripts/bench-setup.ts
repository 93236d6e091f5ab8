/**
 * What the one-thread cost scripts (stage-cost.ts, split-cost.ts) share: their command line (a data
 * set, --shifted, --classes, --rounds and the script's own valued flags), a serial bench-wide trainer
 * on native kernels built for the data, and rows appended to a CSV in results/ with the
 * command that made them.
 */
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { stringify } from 'csv-stringify/sync';
import { type Dataset, loadDataset, parseClasses } from '../src/data/data.js';
import { createTrainer, type Trainer } from '../src/trainer.js';

export interface BenchSetup {
  /** A valued flag's value (--name value), if given. */
  flag(name: string): string | undefined;
  rounds: number;
  train: Dataset;
  /** The data as rows name it: "mnist 0,1 shifted". */
  dataName: string;
  /** A serial bench-wide trainer on native kernels, built for the data (close it at the end). */
  trainer: Trainer;
  /** The command line, for every row. */
  command: string;
}

export async function benchSetup(script: string, defaultRounds: number): Promise<BenchSetup> {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  // The data set: the one word that is neither a flag nor a valued flag's value (--shifted takes none).
  const spec = args.find((a, i) => !a.startsWith('--') && (i === 0 || !args[i - 1]!.startsWith('--') || args[i - 1] === '--shifted')) ?? 'mnist';
  const shifted = args.includes('--shifted');
  const classes = flag('--classes');
  const { train } = await loadDataset(spec, { shifted, ...(classes ? { classes: parseClasses(classes) } : {}) });
  const trainer = await createTrainer({ preset: 'bench-wide', model: { kernels: 'native' }, strategy: 'serial' });
  await trainer.build(train.features, train.outputs);
  return {
    flag, rounds: Number(flag('--rounds') ?? defaultRounds), train, trainer,
    dataName: `${spec}${classes ? ` ${classes}` : ''}${shifted ? ' shifted' : ''}`,
    command: `node dist/scripts/${script}.js ${args.join(' ')}`.trim(),
  };
}

/** Appends rows to results/<name>.csv, writing the header first where the file is new. */
export function appendRows(name: string, header: string[], rows: unknown[][]): void {
  if (!existsSync('results')) mkdirSync('results');
  const file = `results/${name}.csv`;
  if (!existsSync(file)) appendFileSync(file, stringify([header]));
  appendFileSync(file, stringify(rows));
}
