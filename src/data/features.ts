/**
 * Fixed, unsupervised input features (issue 21's "features + ED" family): a bank of Gabor filters,
 * computed once from the pixels and never learned. ED then trains on the features instead of the
 * pixels. Figures with features are reported apart from raw-pixel ones.
 *
 * The bank: ORIENTATIONS orientations (k * 180 / ORIENTATIONS degrees), each an even (cosine) and an
 * odd (sine) Gabor kernel of wavelength LAMBDA and width SIGMA over a (2 RADIUS + 1)^2 square; a
 * map's value at a pixel is the complex cell's energy sqrt(even^2 + odd^2) ("same" size, zero
 * outside the image), the largest in each POOL x POOL block is kept, and divided by SCALE (clamped
 * to 1) so that features lie in [0, 1] as pixels do. Features are ordered orientation, row, column.
 */
import type { Dataset } from './data.js';
import { check } from '../errors.js';

/** The input feature banks a model may read through (absent: raw pixels). */
export type FeatureName = 'gabor';

/** A Gabor bank's parameters (the named bank is {@link GABOR}; other values are for searches). */
export interface GaborSpec {
  /** Orientations, evenly spaced over 180 degrees. */
  orientations: number;
  /** Kernel half-width in pixels (kernels are (2 radius + 1)^2). */
  radius: number;
  /** Gaussian envelope's standard deviation, pixels. */
  sigma: number;
  /** Wavelength of the carrier, pixels. */
  lambda: number;
  /** Aspect ratio of the envelope across the carrier. */
  gamma: number;
  /** Max-pooling block side (1: none). */
  pool: number;
  /** Energies are divided by this and clamped to 1. */
  scale: number;
  /** Also keep the raw pixels, after the maps. */
  raw: boolean;
}

/** The bank `features: 'gabor'` names (chosen on MNIST's validation split: results/accuracy-search.jsonl). */
export const GABOR: Readonly<GaborSpec> = { orientations: 8, radius: 3, sigma: 2, lambda: 5, gamma: 0.5, pool: 2, scale: 18, raw: false };

const BANKS: Record<FeatureName, Readonly<GaborSpec>> = { gabor: GABOR };
/** Every feature bank's name. */
export const FEATURE_NAMES = Object.keys(BANKS) as readonly FeatureName[];

/** The spec a feature name stands for. */
export function featureSpec(name: FeatureName): GaborSpec {
  return { ...BANKS[name] };
}

/** Square images' side, or a one-line error. */
function sideOf(features: number): number {
  const side = Math.round(Math.sqrt(features));
  check(side * side === features && side >= 4, `Gabor features need square images (at least 4x4); the data has ${features} features a sample`);
  return side;
}

/** Features a sample of `pixels` square-image pixels turns into. */
export function featureCount(spec: GaborSpec, pixels: number): number {
  const side = sideOf(pixels);
  const cells = Math.ceil(side / spec.pool);
  return spec.orientations * cells * cells + (spec.raw ? pixels : 0);
}

/**
 * The inputs a network reads from samples of `pixels` values: its feature bank's count, or the
 * pixels; twice that with the ON/OFF coding (every value read as two inputs).
 */
export function networkInputs(model: { features?: FeatureName; inputOnOff?: boolean }, pixels: number): number {
  return (model.features === undefined ? pixels : featureCount(featureSpec(model.features), pixels)) * (model.inputOnOff ? 2 : 1);
}

/** The bank's kernels: even then odd, per orientation, each (2 radius + 1)^2 row-major; the even ones have zero mean. */
export function gaborKernels(spec: GaborSpec): { even: Float64Array[]; odd: Float64Array[] } {
  const w = 2 * spec.radius + 1;
  const even: Float64Array[] = [];
  const odd: Float64Array[] = [];
  for (let k = 0; k < spec.orientations; k++) {
    const t = (k * Math.PI) / spec.orientations;
    const e = new Float64Array(w * w);
    const o = new Float64Array(w * w);
    for (let dy = -spec.radius; dy <= spec.radius; dy++) {
      for (let dx = -spec.radius; dx <= spec.radius; dx++) {
        const xr = dx * Math.cos(t) + dy * Math.sin(t);
        const yr = -dx * Math.sin(t) + dy * Math.cos(t);
        const env = Math.exp(-(xr * xr + spec.gamma * spec.gamma * yr * yr) / (2 * spec.sigma * spec.sigma));
        const i = (dy + spec.radius) * w + (dx + spec.radius);
        e[i] = env * Math.cos((2 * Math.PI * xr) / spec.lambda);
        o[i] = env * Math.sin((2 * Math.PI * xr) / spec.lambda);
      }
    }
    const mean = e.reduce((a, b) => a + b, 0) / e.length;
    for (let i = 0; i < e.length; i++) e[i]! -= mean;
    even.push(e);
    odd.push(o);
  }
  return { even, odd };
}

/**
 * Every sample's features: `x` holds n square images of `pixels` values each; returns n rows of
 * featureCount(spec, pixels). Zero pixels are skipped (each nonzero pixel adds its kernels around it).
 */
export function gaborFeatures(x: ArrayLike<number>, n: number, pixels: number, spec: GaborSpec): Float64Array {
  const side = sideOf(pixels);
  const { even, odd } = gaborKernels(spec);
  const r = spec.radius;
  const w = 2 * r + 1;
  const cells = Math.ceil(side / spec.pool);
  const perMap = cells * cells;
  const width = featureCount(spec, pixels);
  const out = new Float64Array(n * width);
  const re = new Float64Array(pixels);
  const im = new Float64Array(pixels);
  // Each pixel's pooling block, the same for every map of every sample.
  const blockOf = Int32Array.from({ length: pixels }, (_, q) => Math.floor(Math.floor(q / side) / spec.pool) * cells + Math.floor((q % side) / spec.pool));
  for (let s = 0; s < n; s++) {
    const img = s * pixels;
    const row = s * width;
    for (let k = 0; k < spec.orientations; k++) {
      re.fill(0);
      im.fill(0);
      const ek = even[k]!;
      const ok = odd[k]!;
      for (let py = 0; py < side; py++) {
        for (let px = 0; px < side; px++) {
          const v = x[img + py * side + px]!;
          if (v === 0) continue;
          const y0 = Math.max(0, py - r), y1 = Math.min(side - 1, py + r);
          const x0 = Math.max(0, px - r), x1 = Math.min(side - 1, px + r);
          for (let qy = y0; qy <= y1; qy++) {
            const kRow = (qy - py + r) * w + r - px;
            const oRow = qy * side;
            for (let qx = x0; qx <= x1; qx++) {
              re[oRow + qx]! += v * ek[kRow + qx]!;
              im[oRow + qx]! += v * ok[kRow + qx]!;
            }
          }
        }
      }
      const base = row + k * perMap;
      for (let q = 0; q < pixels; q++) {
        const energy = Math.min(1, Math.sqrt(re[q]! * re[q]! + im[q]! * im[q]!) / spec.scale);
        const at = base + blockOf[q]!;
        if (energy > out[at]!) out[at] = energy;
      }
    }
    if (spec.raw) for (let q = 0; q < pixels; q++) out[row + spec.orientations * perMap + q] = x[img + q]!;
  }
  return out;
}

/** A data set seen through a feature bank: the same samples, targets and labels, `x` replaced by features. */
export function withFeatures(d: Dataset, spec: GaborSpec): Dataset {
  return { ...d, x: gaborFeatures(d.x, d.n, d.features, spec), features: featureCount(spec, d.features) };
}
