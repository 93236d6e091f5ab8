/**
 * Every command's `--help` examples, in one table: cli.ts shows them, and test/examples.test.ts
 * runs each one (in order, in one folder, so a file one example saves is there for the next).
 * `tested` names flags the test adds to run a shorter variant (a flag given twice takes its last
 * value), for examples that take long, whose description must then say how long; `notRun` says why
 * the test cannot run one at all (a Redis server on a named machine).
 */
export interface HelpExample {
  /** The command line, `$0` for `edsim`. */
  cmd: string;
  /** What it shows (and, for a long one, how long it takes on 2 cores). */
  desc: string;
  /** Flags the example test appends to run it in seconds. */
  tested?: string;
  /** Why the example test does not run it. */
  notRun?: string;
}

export const EXAMPLES: Record<string, HelpExample[]> = {
  train: [
    { cmd: '$0 train --data xor --preset kaneko', desc: "Kaneko's XOR, trained until the error sum is below 0.1" },
    { cmd: '$0 train --data mnist --classes 0,1 --preset bench-wide --strategy cells --workers 2 --epochs 2 --trace cells.json', desc: 'a timeline of every thread (cells.json, cells.svg)' },
    { cmd: '$0 train --data mnist --classes 0,1 --preset article --json', desc: "the article's 512-layer model on MNIST 0/1 (~10 s)", tested: '--epochs 2' },
    { cmd: '$0 train --data mnist --classes 0,1 --preset bench-wide --strategy layer --workers 2', desc: 'layer groups on two threads' },
    { cmd: '$0 train --data mnist --classes 0-9 --preset mnist10 --workers 2', desc: 'ten classes: one network per class over two threads, on the images and their shifts (97.1 %, ~80 s)', tested: '--epochs 1 --limit 4000' },
    { cmd: '$0 train --data fashion-mnist --classes 0-9 --preset fashion10 --workers 2', desc: 'Fashion-MNIST, an ensemble of 4 nets of 512 cells per class reading each sqrt(pixel) as ON/OFF inputs (above and below its mean), 10 epochs with a decaying rate, answers by calibrated outputs (89.3 %; ~17 min on a 2-core AVX-512 VM, about an hour on AVX2 only)', tested: '--epochs 1 --limit 2000 --hidden 64' },
    { cmd: '$0 train --data fashion-mnist --classes 0-9 --preset fashion10 --no-input-onoff --input-scale 0.5 --workers 2', desc: 'the same without ON/OFF, reading 0.5 sqrt(pixel): the earlier fashion10 (87.4 %; ~9 min on a 2-core AVX-512 VM, about twice as fast)', tested: '--epochs 1 --limit 2000 --hidden 64' },
    { cmd: '$0 train --data mnist --classes 0-9 --preset mnist10-gabor --workers 2', desc: '"features + ED": the same networks reading a fixed Gabor bank of the images (97.8 %, ~3 min)', tested: '--epochs 1 --limit 2000' },
    { cmd: '$0 train --data mnist --classes 0-9 --preset mnist10 --topology columns', desc: 'one network, a column of cells per class (~6 min)', tested: '--epochs 1 --limit 4000' },
    { cmd: '$0 train --data mnist --classes 0,1 --preset bench-wide --epochs 20 --checkpoint run.ckpt --save m.edsim', desc: 'checkpoints after every epoch; if the run is killed, add --resume run.ckpt to go on' },
    { cmd: '$0 train --data mnist --classes 0,1 --preset bench-wide --epochs 25 --checkpoint run.ckpt --resume run.ckpt --save m.edsim', desc: 'five more epochs of that run: the same model as 25 epochs in one go' },
    { cmd: '$0 train --data mnist --classes 0,1 --preset bench-wide --epochs 2 --model m.edsim --save m2.edsim', desc: 'two more epochs from a saved model (a new run from its weights)' },
  ],
  eval: [
    { cmd: '$0 eval --model m.edsim --data mnist --classes 0,1', desc: 'test accuracy of a saved model' },
  ],
  export: [
    { cmd: '$0 export m.edsim m.safetensors', desc: 'for NumPy, PyTorch or a model hub' },
  ],
  import: [
    { cmd: '$0 import m.safetensors m3.edsim', desc: 'back into an edsim model file' },
  ],
  sweep: [
    { cmd: '$0 sweep --data xor --preset kaneko --hidden 8 --seeds 1-100 --json', desc: "Kaneko's XOR table, hidden 8" },
    { cmd: '$0 sweep --data mnist --classes 0,1 --preset article --epochs 4 --seeds 1-20 --queue redis://127.0.0.1:6379 --out runs.csv', desc: 'the same runs on every machine running a worker', notRun: 'needs a Redis server and workers; test/queue.test.ts runs sweeps over a real one' },
  ],
  worker: [
    { cmd: '$0 worker --queue redis://10.0.0.5:6379', desc: 'serve sweeps submitted with --queue', notRun: 'serves until Ctrl-C, from a Redis server on another machine; test/queue.test.ts runs workers' },
  ],
  scale: [
    { cmd: '$0 scale --data mnist --shifted --presets bench-wide,article --strategies serial,layer,pipeline,cells,samples', desc: 'the default experiment (npm start, ~90 s on 2 cores)', tested: '--limit 600 --repeats 1 --workers 1,2' },
    { cmd: '$0 scale --data mnist --shifted --preset bench-wide --strategies serial,samples --weak', desc: 'weak scaling: batch 128 x threads (~30 s)', tested: '--limit 1000 --repeats 1' },
    { cmd: '$0 scale --data mnist --classes 0-9 --preset mnist10 --strategies serial,output --workers 1,2', desc: 'independent output networks over threads (~1 min)', tested: '--limit 1000 --repeats 1' },
    { cmd: '$0 scale --data mnist --classes 0,1 --preset bench-wide --strategies serial,cells,layer,pipeline --workers 1,2 --predict 4,8,16,32,64', desc: 'measure on this machine, predict up to 64 cores (~30 s)', tested: '--repeats 1' },
  ],
  bench: [
    { cmd: '$0 bench --json', desc: 'the kernel table as JSON (npm run bench:kernels -- --json; ~20 s)', tested: '--repeats 1 --shapes 16x64x64' },
  ],
  halftone: [
    { cmd: '$0 halftone --demo results/halftone-input.png results/halftone-fs.png', desc: 'the README picture' },
  ],
  'kaneko-replay': [
    { cmd: '$0 kaneko-replay test/fixtures/kaneko-parity4-seed1.json', desc: "replays a run recorded from Kaneko's C program (in the repository)" },
  ],
  'article-replay': [
    { cmd: '$0 article-replay test/fixtures/article-xor-v1-seed1.json', desc: "replays a run recorded from the article's NumPy code (in the repository)" },
  ],
};
