import { glibcExp } from '../kernels/glibc-exp.js';

/**
 * Activation functions and the derivative ED uses, written, as in Kaneko's program and the article,
 * as a function of the cell's output o (sigmoid: o(1 - o), without the 2/u0 factor).
 */
export type ActivationName = 'sigmoid' | 'relu' | 'elu' | 'softplus' | 'tanh';
export const ACTIVATIONS: readonly ActivationName[] = ['sigmoid', 'relu', 'elu', 'softplus', 'tanh'];

/** Small integer codes, so kernels switch once per layer instead of calling closures per cell. */
export const ACT_CODE: Record<ActivationName, number> = { sigmoid: 0, relu: 1, elu: 2, softplus: 3, tanh: 4 };
/** The sigmoid computed with glibc's exp, bit for bit (see kernels/glibc-exp.ts): Kaneko's program calls it. */
export const SIGMOID_EXACT = 5;

/** f(u); `u0` is the sigmoid slope (Kaneko: 1 / (1 + exp(-2u/u0))) and the softplus scale. */
export function activate(code: number, u: number, u0: number): number {
  switch (code) {
    case 0:
      return 1 / (1 + Math.exp((-2 * u) / u0));
    case 5:
      return 1 / (1 + glibcExp((-2 * u) / u0));
    case 1:
      return u > 0 ? u : 0;
    case 2:
      return u >= 0 ? u : Math.exp(u) - 1;
    case 3: {
      const x = u / 5;
      return (Math.log1p(Math.exp(-Math.abs(x))) + Math.max(x, 0)) / 5;
    }
    default:
      return Math.tanh(u);
  }
}

/** The rule's f'(o), from the output o (the article's definitions for relu and softplus). */
export function derivative(code: number, o: number): number {
  switch (code) {
    case 0:
    case 5:
      return o * (1 - o);
    case 1:
      return o > 0 ? 1 : 0;
    case 2:
      // The article writes max(o + 1, 1), which is >= 1 everywhere; elu's true slope is min(o + 1, 1).
      return o >= 0 ? 1 : o + 1;
    case 3:
      return 1 - Math.exp(-Math.abs(5 * o));
    default:
      return 1 - o * o;
  }
}
