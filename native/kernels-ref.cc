// The C reference of every native kernel: plain loops, one fma chain per output. The SIMD variants
// are held to it bit for bit (test/native.test.ts); it is also the portable fallback.
#include <cmath>
#include "kernels.h"
#include "sigmoid-scalar.h"

namespace edsim {
namespace {

void fwd(const float* w, const float* bias, const float* x, int xs, float* y, int ys, int B, int nIn, int nOut, int j0, int j1, int act, float k) {
  for (int b = 0; b < B; b++) {
    for (int j = j0; j < j1; j++) {
      float s = 0.0f;
      for (int i = 0; i < nIn; i++) s = std::fmaf(x[b * xs + i], w[i * nOut + j], s);
      if (bias) s += bias[j];
      y[b * ys + j] = act == 1 ? sigmoidScalar(s, k) : s;
    }
  }
}

void upd(float* w, const float* x, int xs, const float* g, int gs, int B, int i0, int i1, int nOut, int j0, int j1, float scale, int freeze, int dup) {
  for (int i = i0; i < i1; i++) {
    for (int j = j0; j < j1; j++) {
      float s = 0.0f;
      for (int b = 0; b < B; b++) s = std::fmaf(x[b * xs + i], g[b * gs + j], s);
      for (int row = i; row <= i + dup; row += dup > 0 ? dup : 1) {
        float* p = &w[row * nOut + j];
        if (!freeze || *p != 0.0f) *p = std::fmaf(scale, s, *p);
      }
    }
  }
}

void updTyped(float* w, const float* x, int xs, const float* gE, const float* gI, int gs, int B, const float* types, int i0, int i1, int nOut,
              int j0, int j1, float scale, int freeze) {
  for (int i = i0; i < i1; i++) upd(w, x, xs, types[i] != 0.0f ? gE : gI, gs, B, i, i + 1, nOut, j0, j1, scale, freeze, 0);
}

void fwd1(const float* w, const float* bias, const float* x, float* y, int nIn, int nOut, int j0, int j1) {
  for (int j = j0; j < j1; j++) y[j] = 0.0f;
  for (int i = 0; i < nIn; i++) {
    const float xi = x[i];
    if (xi == 0.0f) continue;
    for (int j = j0; j < j1; j++) y[j] = std::fmaf(xi, w[i * nOut + j], y[j]);
  }
  if (bias) for (int j = j0; j < j1; j++) y[j] += bias[j];
}

// With frozen zero weights, a row whose coefficients are all 0 keeps its weights exactly (w + 0 is
// w for every w != 0): the kaneko rule zeroes gE or gI for every sample (d+ or d- is 0), so half of
// the rows are skipped.
bool allZero(const float* g, int j0, int j1) {
  for (int j = j0; j < j1; j++)
    if (g[j] != 0.0f) return false;
  return true;
}

void upd1(float* w, const float* x, const float* gE, const float* gI, const float* types, int nIn, int nOut, int j0, int j1, float scale, int freeze) {
  const bool skipE = freeze && allZero(gE, j0, j1), skipI = freeze && allZero(gI, j0, j1);
  for (int i = 0; i < nIn; i++) {
    const float xi = scale * x[i];
    if (xi == 0.0f) continue;
    if (types[i] != 0.0f ? skipE : skipI) continue;
    const float* g = types[i] != 0.0f ? gE : gI;
    for (int j = j0; j < j1; j++) {
      float* p = &w[i * nOut + j];
      if (!freeze || *p != 0.0f) *p = std::fmaf(xi, g[j], *p);
    }
  }
}

void sigmoid(float* p, int rows, int cols, int stride, float k) {
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++) p[r * stride + c] = sigmoidScalar(p[r * stride + c], k);
}

void coef(const float* y, int ys, int B, int nOut, int nE, const float* a, int as, float* g, int j0, int j1) {
  for (int b = 0; b < B; b++) {
    const float ab = a[b * as];
    for (int j = j0; j < j1; j++) {
      const float o = y[b * ys + j];
      const float v = o * (1.0f - o) * ab;
      g[b * nOut + j] = j < nE ? v : -v;
    }
  }
}

void updfwd1(float* w, const float* xOld, const float* gE, const float* gI, const float* types, float scale, int freeze,
             const float* xNew, const float* bias, float* y, int nIn, int nOut, int act, float k) {
  upd1(w, xOld, gE, gI, types, nIn, nOut, 0, nOut, scale, freeze);
  fwd1(w, bias, xNew, y, nIn, nOut, 0, nOut);
  if (act == 1) sigmoid(y, 1, nOut, nOut, k);
}

}  // namespace

const KernelTable kRef = {"portable", fwd, upd, updTyped, fwd1, upd1, sigmoid, coef, updfwd1};

}  // namespace edsim
