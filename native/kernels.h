// edsim's native float32 kernels: one C reference (kernels-ref.cc) and SIMD variants of it
// (kernels-avx512.cc, kernels-avx2.cc) chosen at run time by CPU feature. Every variant computes
// each output as the same chain of fused multiply-adds in the same order, so all variants give
// bit-identical results, whatever the blocking, the thread or the slice of cells a call covers.
// Weights are source-major (W[i][j] at w[i * nOut + j]); strides are in floats.
#pragma once
#include <cstdint>

namespace edsim {

struct KernelTable {
  const char* name;
  // y[b][j] = act(sum_i W[i][j] x[b][i] (+ bias[j])) for b < B and j0 <= j < j1; act 1: sigmoid
  // 1 / (1 + exp(k u)), act 0: none (the caller applies f). The sum is one fma chain over i.
  void (*fwd)(const float* w, const float* bias, const float* x, int xs, float* y, int ys, int B, int nIn, int nOut, int j0, int j1, int act, float k);
  // W[i][j] = fma(scale, sum_b x[b][i] g[b][j], W[i][j]) for i0 <= i < i1, j0 <= j < j1 (the sum an fma
  // chain over b). freeze: weights that are 0 stay 0 (the kaneko rule's fixed signs). dup > 0: the
  // sources i + dup hold the same inputs as i (paired inputs are staged twice), so the same sums
  // also update rows i + dup: the result is bit-identical to computing them, at half the work.
  void (*upd)(float* w, const float* x, int xs, const float* g, int gs, int B, int i0, int i1, int nOut, int j0, int j1, float scale, int freeze, int dup);
  // upd over i0 <= i < i1 (dup 0) with g = gE where types[i] != 0 and gI elsewhere, bit-identical to
  // upd called on every run of sources of one type (Kaneko's interleaved E/I sources: runs of one).
  void (*updTyped)(float* w, const float* x, int xs, const float* gE, const float* gI, int gs, int B, const float* types, int i0, int i1,
                   int nOut, int j0, int j1, float scale, int freeze);
  // Batch of one: y[j] = sum_i W[i][j] x[i] (+ bias[j]) for j0 <= j < j1, zero inputs skipped.
  void (*fwd1)(const float* w, const float* bias, const float* x, float* y, int nIn, int nOut, int j0, int j1);
  // Batch of one: W[i][j] = fma(scale x[i], g[j], W[i][j]) with g = gE where types[i] != 0 and gI
  // elsewhere, for j0 <= j < j1; zero inputs skipped; freeze as in upd.
  void (*upd1)(float* w, const float* x, const float* gE, const float* gI, const float* types, int nIn, int nOut, int j0, int j1, float scale, int freeze);
  // In place: p = 1 / (1 + exp(k p)) for rows x cols values, rows `stride` floats apart.
  void (*sigmoid)(float* p, int rows, int cols, int stride, float k);
  // The bidirectional rule's coefficients of a sigmoid layer with one amine channel and its E cells
  // first: g[b][j] = o(1 - o) a[b] (negated for j >= nE), o = y[b][j], for j0 <= j < j1.
  void (*coef)(const float* y, int ys, int B, int nOut, int nE, const float* a, int as, float* g, int j0, int j1);
  // Online training in one pass over the weights: upd1 of one sample (xOld, gE, gI, as upd1), then
  // fwd1 of the next (xNew) with the updated weights, bias added, sigmoid applied when act is 1.
  // Exactly upd1 followed by fwd1 (each weight's update, each cell's chain in source order).
  void (*updfwd1)(float* w, const float* xOld, const float* gE, const float* gI, const float* types, float scale, int freeze,
                  const float* xNew, const float* bias, float* y, int nIn, int nOut, int act, float k);
};

extern const KernelTable kRef;
extern const KernelTable kAvx2;
extern const KernelTable kAvx512;

// Peak float32 FMA throughput of one core, from a loop of independent register-only FMAs.
double peakGflops(const KernelTable& t, double seconds);
extern double (*peakAvx512)(double);
extern double (*peakAvx2)(double);

}  // namespace edsim
