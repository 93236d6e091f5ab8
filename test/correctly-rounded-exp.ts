/**
 * exp(x) correctly rounded to float64, computed in double-double arithmetic: the independent
 * reference the exp conformance test measures glibc's results against (the fixture stores only
 * where, and by how many ulps, glibc's exp differs from the correctly rounded value).
 */
const SPLIT = 134217729; // 2^27 + 1
const LN2_HI = 0.6931471805599453;
const LN2_LO = 2.3190468138462996e-17;
// 1/n! as double-double pairs, n = 0..22
const INV_FACT: [number, number][] = [];
let rh = 0;
let rl = 0;
{
  // Build 1/n! in double-double by repeated division.
  let hi = 1;
  let lo = 0;
  for (let n = 0; n <= 22; n++) {
    if (n > 0) [hi, lo] = ddDivSmall(hi, lo, n);
    INV_FACT.push([hi, lo]);
  }
}

function twoProd(a: number, b: number): void {
  const p = a * b;
  const ca = SPLIT * a;
  const ah = ca - (ca - a);
  const al = a - ah;
  const cb = SPLIT * b;
  const bh = cb - (cb - b);
  const bl = b - bh;
  rh = p;
  rl = ah * bh - p + ah * bl + al * bh + al * bl;
}

function ddMul(ah: number, al: number, bh: number, bl: number): void {
  twoProd(ah, bh);
  const p = rh;
  const e = rl + (ah * bl + al * bh);
  rh = p + e;
  rl = e - (rh - p);
}

function ddAdd(ah: number, al: number, bh: number, bl: number): void {
  const s = ah + bh;
  const v = s - ah;
  const e = ah - (s - v) + (bh - v) + al + bl;
  rh = s + e;
  rl = e - (rh - s);
}

function ddDivSmall(hi: number, lo: number, n: number): [number, number] {
  const q1 = hi / n;
  twoProd(q1, n);
  const r = hi - rh - rl + lo;
  const q2 = r / n;
  const s = q1 + q2;
  return [s, q2 - (s - q1)];
}

export function exactExp(x: number): number {
  if (!(x === x)) return NaN;
  if (x > 709.782712893384) return Infinity;
  if (x < -745.1332191019412) return 0;
  const k = Math.round(x / LN2_HI);
  // r = x - k ln2 in double-double
  twoProd(k, LN2_HI);
  const ph = rh;
  const pl = rl + k * LN2_LO;
  ddAdd(x, 0, -ph, -pl);
  const r0 = rh;
  const r1 = rl;
  // Horner in double-double: sum_{n<=22} r^n / n!
  let sh = INV_FACT[22]![0];
  let sl = INV_FACT[22]![1];
  for (let n = 21; n >= 0; n--) {
    ddMul(sh, sl, r0, r1);
    ddAdd(rh, rl, INV_FACT[n]![0], INV_FACT[n]![1]);
    sh = rh;
    sl = rl;
  }
  const y = sh + sl;
  // Scale by 2^k in two exact steps (k may exceed the exponent range of one power).
  const k1 = k >> 1;
  return y * 2 ** k1 * 2 ** (k - k1);
}
