/**
 * Error-diffusion halftoning, where the method's name comes from (the article's opening example):
 * quantize each pixel to black or white in raster order and push the quantization error onto the
 * not-yet-visited neighbours with fixed weights.
 */
import { readChecked } from '../files.js';
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { EdsimError } from '../errors.js';

export type HalftoneKernel = 'floyd-steinberg' | 'jarvis';
export const HALFTONE_KERNELS: readonly HalftoneKernel[] = ['floyd-steinberg', 'jarvis'];

/** [dy, dx, weight] offsets, weights over their sum (Floyd-Steinberg 7/3/5/1 over 16; Jarvis-Judice-Ninke over 48). */
const KERNELS: Record<HalftoneKernel, [number, number, number][]> = {
  'floyd-steinberg': [[0, 1, 7], [1, -1, 3], [1, 0, 5], [1, 1, 1]],
  jarvis: [[0, 1, 7], [0, 2, 5], [1, -2, 3], [1, -1, 5], [1, 0, 7], [1, 1, 5], [1, 2, 3], [2, -2, 1], [2, -1, 3], [2, 0, 5], [2, 1, 3], [2, 2, 1]],
};

/** Halftones a grayscale image (values 0..1, row-major) in place to 0/1. */
export function errorDiffuse(gray: Float64Array, width: number, height: number, kernel: HalftoneKernel): void {
  const k = KERNELS[kernel];
  const total = k.reduce((s, [, , w]) => s + w, 0);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const old = gray[i]!;
      const q = old >= 0.5 ? 1 : 0;
      gray[i] = q;
      const err = old - q;
      for (const [dy, dx, w] of k) {
        const yy = y + dy;
        const xx = x + dx;
        if (yy < height && xx >= 0 && xx < width) gray[yy * width + xx] = gray[yy * width + xx]! + (err * w) / total;
      }
    }
  }
}

export function halftoneFile(input: string, output: string, kernel: HalftoneKernel): { width: number; height: number } {
  const buf = readChecked(input, 'image', 256 * 2 ** 20);
  let png: PNG;
  try {
    png = PNG.sync.read(buf);
  } catch {
    throw new EdsimError(`${input} is not a readable PNG image`);
  }
  const { width, height, data } = png;
  const gray = new Float64Array(width * height);
  for (let i = 0; i < gray.length; i++) {
    const a = data[4 * i + 3]! / 255;
    // Luma of the pixel composited on white.
    const l = (0.299 * data[4 * i]! + 0.587 * data[4 * i + 1]! + 0.114 * data[4 * i + 2]!) / 255;
    gray[i] = a * l + (1 - a);
  }
  errorDiffuse(gray, width, height, kernel);
  const out = new PNG({ width, height });
  for (let i = 0; i < gray.length; i++) {
    const v = gray[i]! > 0.5 ? 255 : 0;
    out.data[4 * i] = v;
    out.data[4 * i + 1] = v;
    out.data[4 * i + 2] = v;
    out.data[4 * i + 3] = 255;
  }
  try {
    writeFileSync(output, PNG.sync.write(out));
  } catch {
    throw new EdsimError(`cannot write ${output}`);
  }
  return { width, height };
}

/** A smooth test picture (gradients and rings) to show the halftone on. */
export function demoImage(path: string, size = 192): void {
  const png = new PNG({ width: size, height: size });
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = x - size / 2;
      const dy = y - size / 2;
      const r = Math.sqrt(dx * dx + dy * dy) / (size / 2);
      const v = Math.max(0, Math.min(1, 0.5 + 0.5 * Math.cos(6 * r) * (1 - r) * 0.9 + (x / size - 0.5) * 0.4));
      const i = 4 * (y * size + x);
      png.data[i] = png.data[i + 1] = png.data[i + 2] = Math.round(255 * v);
      png.data[i + 3] = 255;
    }
  }
  writeFileSync(path, PNG.sync.write(png));
}
