// The SIMD kernels, written once over a vector type V (AVX-512: 16 lanes, AVX2: 8 lanes) and
// included by one file per instruction set. Each output is the reference's fma chain, lane by lane.
#pragma once
#include <algorithm>
#include <chrono>
#include <vector>
#include "kernels.h"
#include "sigmoid-scalar.h"

namespace edsim {
namespace simd {

template <class V>
inline typename V::T sigmoidV(typename V::T u, typename V::T k) {
  using T = typename V::T;
  const T ku = V::mul(k, u);
  T t = V::mul(V::min(V::max(ku, V::set(-87.0f)), V::set(87.0f)), V::set(1.4426950408889634f));
  T n = V::roundEven(t);
  T f = V::sub(t, n);
  T p = V::set(kSigC[0]);
  for (int c = 1; c < 7; c++) p = V::fma(p, f, V::set(kSigC[c]));
  T one = V::set(1.0f);
  return V::zeroUnlessLE(V::div(one, V::add(one, V::mul(p, V::pow2(n)))), ku, V::set(kSigZero));
}

// Rows of x (samples) x NV vectors of cells: the forward pass over `count` sources, k0, k0 + 1, ...
// or (LIST) the ones listed; the first block starts the chains at 0, later ones continue from y;
// the last adds the bias and applies f. Source i's weights for cells j .. j + nc are at
// wj + (i - wBase) * wStride: the layer's rows (wj = w + j, wStride nOut, wBase 0) or a packed panel.
template <class V, int MR, int NV, bool LIST>
inline void fwdTile(const float* wj, long wStride, int wBase, const float* bias, const float* x, int xs, float* y, int ys, int j, int nc,
                    int k0, const int* list, int count, bool first, bool last, int act, float k) {
  using T = typename V::T;
  typename V::M m[NV];
  _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) m[v] = V::mask(nc - v * V::L);
  T acc[MR][NV];
  _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) acc[r][v] = first ? V::zero() : V::load(y + r * ys + j + v * V::L, m[v]);
  for (int q = 0; q < count; q++) {
    const int i = LIST ? list[q] : k0 + q;
    const float* pw = wj + (i - wBase) * wStride;
    // Rows a few sources ahead: the first tile of a panel streams them from memory.
    if (!LIST || q + 8 < count) {
      const float* ahead = LIST ? wj + (list[q + 8] - wBase) * wStride : pw + 8L * wStride;
      _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) __builtin_prefetch(ahead + v * V::L, 0, 3);
    }
    T wv[NV];
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) wv[v] = V::load(pw + v * V::L, m[v]);
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {
      T xb = V::set(x[r * xs + i]);
      _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) acc[r][v] = V::fma(xb, wv[v], acc[r][v]);
    }
  }
  if (last) {
    T kv = V::set(k);
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) {
      T bv = bias ? V::load(bias + j + v * V::L, m[v]) : V::zero();
      _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {
        if (bias) acc[r][v] = V::add(acc[r][v], bv);
        if (act == 1) acc[r][v] = sigmoidV<V>(acc[r][v], kv);
      }
    }
  }
  _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) V::store(y + r * ys + j + v * V::L, acc[r][v], m[v]);
}

// The rows left after the MR-row tiles (B mod MR of them) as one tile of that many rows, which
// streams the weights once for all of them (row by row it streamed them once a row: a batch of 16
// on AVX2's 6-row tiles made four one-row passes). Each lane's chain is the same either way.
template <class V, int MR, int NV>
inline void fwdRest(int rows, const float* wj, long wStride, int wBase, const float* bias, const float* x, int xs, float* y, int ys, int j, int nc, int k0,
                    int count, bool first, bool last, int act, float k) {
  static_assert(MR <= 8, "fwdRest covers remainders of up to 7 rows");
  switch (rows) {
    case 1: fwdTile<V, 1, NV, false>(wj, wStride, wBase, bias, x, xs, y, ys, j, nc, k0, nullptr, count, first, last, act, k); break;
    case 2: fwdTile<V, 2, NV, false>(wj, wStride, wBase, bias, x, xs, y, ys, j, nc, k0, nullptr, count, first, last, act, k); break;
    case 3: fwdTile<V, 3, NV, false>(wj, wStride, wBase, bias, x, xs, y, ys, j, nc, k0, nullptr, count, first, last, act, k); break;
    case 4: fwdTile<V, 4, NV, false>(wj, wStride, wBase, bias, x, xs, y, ys, j, nc, k0, nullptr, count, first, last, act, k); break;
    case 5: fwdTile<V, 5, NV, false>(wj, wStride, wBase, bias, x, xs, y, ys, j, nc, k0, nullptr, count, first, last, act, k); break;
    case 6: if (MR > 6) fwdTile<V, 6, NV, false>(wj, wStride, wBase, bias, x, xs, y, ys, j, nc, k0, nullptr, count, first, last, act, k); break;
    case 7: if (MR > 7) fwdTile<V, 7, NV, false>(wj, wStride, wBase, bias, x, xs, y, ys, j, nc, k0, nullptr, count, first, last, act, k); break;
    default: break;
  }
}

template <class V, int MR, int NV>
void fwd(const float* w, const float* bias, const float* x, int xs, float* y, int ys, int B, int nIn, int nOut, int j0, int j1, int act, float k) {
  constexpr int KC = 256;
  constexpr int NR = NV * V::L;
  // Sources whose inputs are 0 for every row of a tile add exactly nothing to its chains (a chain
  // that starts at +0 never holds -0), so a tile skips them: image borders, mostly. Lists per tile
  // of rows and block of sources, used when they leave out at least a quarter of the sources.
  const int tiles = B / MR;
  int* lists = tiles > 0 ? new int[static_cast<size_t>(tiles) * KC] : nullptr;
  alignas(64) thread_local float panel[KC * NR];
  int counts[4096 / MR + 1];
  const bool listable = tiles <= 4096 / MR;
  for (int k0 = 0; k0 < nIn || k0 == 0; k0 += KC) {
    const int k1 = std::min(nIn, k0 + KC);
    const bool first = k0 == 0;
    const bool last = k1 == nIn;
    bool sparse = false;
    if (listable && tiles > 0) {
      long kept = 0;
      for (int t = 0; t < tiles; t++) {
        // The first tile decides: a dense block (hidden layers) costs one tile's scan, not all.
        if (t == 1 && counts[0] * 4 > 3 * (k1 - k0)) break;
        int n = 0;
        const float* xt = x + static_cast<long>(t) * MR * xs;
        // A vector of sources at a time: the OR over the tile's rows of "x != 0", then the set
        // bits in order (the same list as the scalar scan, several times faster; every thread
        // of the cells strategy scans the whole input of its slices).
        int i = k0;
        const typename V::M full = V::mask(V::L);
        for (; i + V::L <= k1; i += V::L) {
          unsigned bits = 0;
          for (int r = 0; r < MR; r++) bits |= V::nonzeroBits(V::load(xt + r * xs + i, full));
          while (bits) {
            lists[t * KC + n++] = i + __builtin_ctz(bits);
            bits &= bits - 1;
          }
        }
        for (; i < k1; i++) {
          bool any = false;
          for (int r = 0; r < MR; r++) any |= xt[r * xs + i] != 0.0f;
          if (any) lists[t * KC + n++] = i;
        }
        counts[t] = n;
        kept += n;
      }
      sparse = counts[0] * 4 <= 3 * (k1 - k0) && kept * 4 <= 3L * tiles * (k1 - k0);
    }
    for (int j = j0; j < j1; j += NR) {
      const int nc = std::min(NR, j1 - j);
      // A remainder of one vector or less runs one-vector tiles: a two-vector tile would do twice
      // the work for it (cell slices of 48 ran at 76 % of the 32-cell rate). Each lane's chain is the
      // same either way.
      const bool narrow = NV > 1 && nc <= V::L;
      // A strip read by two passes of tiles or more is first copied into a panel, its rows NR floats
      // apart: in the layer, one strip's rows lie nOut floats apart, and with nOut = 512 (2 KiB) they
      // all fall in 2 of the 64 sets of a 32 KiB L1 (in 32 of L2's), so every pass after the first
      // fetched them again (16 x 3138 -> 512, AVX2: 2.2-2.35 ms a call against 2.5-3.3). Only where
      // the rows lie a multiple of 2 KiB apart: with 256, 520 or 784 cells the copy gained nothing.
      const float* wj = w + j;
      long wStride = nOut;
      int wBase = 0;
      if (!narrow && nc == NR && B > MR && (nOut * 4) % 2048 == 0) {
        const int n = k1 - k0;
        const typename V::M full = V::mask(V::L);
        for (int q = 0; q < n; q++) {
          const float* src = w + static_cast<long>(k0 + q) * nOut + j;
          _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) {
            __builtin_prefetch(src + 16L * nOut + v * V::L, 0, 3);
            V::store(panel + q * NR + v * V::L, V::load(src + v * V::L, full), full);
          }
        }
        wj = panel;
        wStride = NR;
        wBase = k0;
      }
      int b = 0;
      for (int t = 0; b + MR <= B; b += MR, t++) {
        const float* xb = x + static_cast<long>(b) * xs;
        float* yb = y + static_cast<long>(b) * ys;
        if (narrow) {
          if (sparse) fwdTile<V, MR, 1, true>(wj, wStride, wBase, bias, xb, xs, yb, ys, j, nc, k0, lists + t * KC, counts[t], first, last, act, k);
          else fwdTile<V, MR, 1, false>(wj, wStride, wBase, bias, xb, xs, yb, ys, j, nc, k0, nullptr, k1 - k0, first, last, act, k);
        } else if (sparse) {
          fwdTile<V, MR, NV, true>(wj, wStride, wBase, bias, xb, xs, yb, ys, j, nc, k0, lists + t * KC, counts[t], first, last, act, k);
        } else {
          fwdTile<V, MR, NV, false>(wj, wStride, wBase, bias, xb, xs, yb, ys, j, nc, k0, nullptr, k1 - k0, first, last, act, k);
        }
      }
      if (b < B) {
        const float* xb = x + static_cast<long>(b) * xs;
        float* yb = y + static_cast<long>(b) * ys;
        if (narrow) fwdRest<V, MR, 1>(B - b, wj, wStride, wBase, bias, xb, xs, yb, ys, j, nc, k0, k1 - k0, first, last, act, k);
        else fwdRest<V, MR, NV>(B - b, wj, wStride, wBase, bias, xb, xs, yb, ys, j, nc, k0, k1 - k0, first, last, act, k);
      }
    }
    if (nIn == 0) break;
  }
  delete[] lists;
}

// MR sources x NV vectors of cells: the sums over the batch, then one fma into the weights. The
// sources are rows[0 .. MR) (not necessarily consecutive: upd leaves out rows whose inputs are all 0).
// LIST false: the MR consecutive sources from rows[0] (constant offsets, no index registers: the
// indexed form ran the dense update 20 % slower).
template <class V, int MR, int NV, bool LIST>
inline void updTile(float* w, const float* x, int xs, const float* gj, int gs, int B, const int* rows, int nOut, int j, int nc, float scale, int freeze, int dup) {
  using T = typename V::T;
  typename V::M m[NV];
  _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) m[v] = V::mask(nc - v * V::L);
  T acc[MR][NV];
  int ir[MR];
  _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {
    ir[r] = LIST ? rows[r] : rows[0] + r;
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) acc[r][v] = V::zero();
  }
  // The weights this tile will update come from memory while the sums run (they are far from cache
  // when a layer is larger than L2).
  _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)
    for (int c = 0; c < nc; c += 16) {
      __builtin_prefetch(w + static_cast<long>(ir[r]) * nOut + j + c, 1, 3);
      if (dup) __builtin_prefetch(w + static_cast<long>(ir[r] + dup) * nOut + j + c, 1, 3);
    }
  const float* pg = gj;
  const float* px = LIST ? x : x + rows[0];
  for (int b = 0; b < B; b++, pg += gs, px += xs) {
    T gv[NV];
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) gv[v] = V::load(pg + v * V::L, m[v]);
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {
      T xb = V::set(LIST ? px[ir[r]] : px[r]);
      _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) acc[r][v] = V::fma(xb, gv[v], acc[r][v]);
    }
  }
  T sc = V::set(scale);
  for (int copy = 0; copy <= (dup ? 1 : 0); copy++) {
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {
      float* pw = w + static_cast<long>(ir[r] + copy * dup) * nOut + j;
      _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) {
        T wv = V::load(pw + v * V::L, m[v]);
        T nw = V::fma(sc, acc[r][v], wv);
        if (freeze) nw = V::keepZeros(wv, nw);
        V::store(pw + v * V::L, nw, m[v]);
      }
    }
  }
}

// The tiles over the sources listed in rows[0 .. n) (ascending): MR consecutive ones as a plain
// tile, a broken run as a listed one, the last few one by one.
template <class V, int MR, int NV>
inline void updRows(float* w, const float* x, int xs, const float* gj, int gs, int B, const int* rows, int n, int nOut, int j, int nc, float scale, int freeze, int dup) {
  int k = 0;
  for (; k + MR <= n; k += MR) {
    if (rows[k + MR - 1] - rows[k] == MR - 1) updTile<V, MR, NV, false>(w, x, xs, gj, gs, B, rows + k, nOut, j, nc, scale, freeze, dup);
    else updTile<V, MR, NV, true>(w, x, xs, gj, gs, B, rows + k, nOut, j, nc, scale, freeze, dup);
  }
  for (; k < n; k++) updTile<V, 1, NV, false>(w, x, xs, gj, gs, B, rows + k, nOut, j, nc, scale, freeze, dup);
}

// Whether every g[b][j] (b < B, j0 <= j < j1; rows gs apart) is finite: g - g is 0 exactly then.
template <class V>
inline bool allFinite(const float* g, int gs, int B, int j0, int j1) {
  const typename V::M full = V::mask(V::L);
  for (int b = 0; b < B; b++) {
    int j = j0;
    for (; j + V::L <= j1; j += V::L) {
      const typename V::T v = V::load(g + static_cast<long>(b) * gs + j, full);
      if (V::nonzeroBits(V::sub(v, v))) return false;
    }
    for (; j < j1; j++) {
      const float v = g[static_cast<long>(b) * gs + j];
      if (v - v != 0.0f) return false;
    }
  }
  return true;
}

// The samples a pass of updSources sums over. A sample whose coefficients are all 0 over [j0, j1)
// adds a signed 0 to each of its chains (its inputs finite), and a chain that starts at +0 is left
// as it is by that: such samples are left out, the others copied in order into per-thread buffers
// (`Rows` then points there), so every sum is bit-identical with half the work under Kaneko's rule,
// where each sample's amine sign makes either all of gE or all of gI 0.
struct Rows {
  const float* x;
  int xs;
  const float* g;
  int gs;
  int B;
};

template <class V>
inline Rows liveSamples(const float* x, int xs, const float* g, int gs, int B, int i0, int i1, int j0, int j1, std::vector<float>& xBuf,
                        std::vector<float>& gBuf) {
  const typename V::M full = V::mask(V::L);
  auto zero = [&](const float* p, int a, int e) {
    int k = a;
    for (; k + V::L <= e; k += V::L)
      if (V::nonzeroBits(V::load(p + k, full))) return false;
    for (; k < e; k++)
      if (p[k] != 0.0f) return false;
    return true;
  };
  auto finite = [&](const float* p, int a, int e) {
    int k = a;
    for (; k + V::L <= e; k += V::L) {
      const typename V::T v = V::load(p + k, full);
      if (V::nonzeroBits(V::sub(v, v))) return false;
    }
    for (; k < e; k++)
      if (p[k] - p[k] != 0.0f) return false;
    return true;
  };
  std::vector<int> keep;
  keep.reserve(static_cast<size_t>(B));
  for (int b = 0; b < B; b++) {
    const float* xb = x + static_cast<long>(b) * xs;
    if (!zero(g + static_cast<long>(b) * gs, j0, j1) || !finite(xb, i0, i1)) keep.push_back(b);
  }
  const int n = static_cast<int>(keep.size());
  if (n == B) return {x, xs, g, gs, B};
  // Row q of the copies holds sample keep[q]: inputs i0 .. i1 at their own columns, coefficients j0 .. j1.
  xBuf.resize(static_cast<size_t>(n) * i1 + 1);
  gBuf.resize(static_cast<size_t>(n) * j1 + 1);
  for (int q = 0; q < n; q++) {
    std::copy(x + static_cast<long>(keep[q]) * xs + i0, x + static_cast<long>(keep[q]) * xs + i1, xBuf.data() + static_cast<long>(q) * i1 + i0);
    std::copy(g + static_cast<long>(keep[q]) * gs + j0, g + static_cast<long>(keep[q]) * gs + j1, gBuf.data() + static_cast<long>(q) * j1 + j0);
  }
  return {xBuf.data(), i1, gBuf.data(), j1, n};
}

// The core of upd and updTyped: source i sums against gE, or against gI where `types` is given and
// types[i] is 0 (types null: gE for every source). The sources that are 0 in every sample are left
// out (see upd), then the live ones run as tiles, one list per type.
template <class V, int MR, int NV>
void updSources(float* w, const float* x, int xs, const float* gE, const float* gI, int gs, int B, const float* types, int i0, int i1, int nOut,
                int j0, int j1, float scale, int freeze, int dup) {
  constexpr int NR = NV * V::L;
  const int n = i1 - i0;
  if (n <= 0 || j1 <= j0) return;
  int* live = new int[static_cast<size_t>(n)];
  int nLive = 0;
  bool skip = B > 0 && n >= 4 * MR;
  const typename V::M full = V::mask(V::L);
  if (skip) {  // the sources with a nonzero input in some sample, in order
    unsigned* nz = new unsigned[static_cast<size_t>(n / V::L + 1)]();
    for (int b = 0; b < B; b++) {
      const float* xb = x + static_cast<long>(b) * xs;
      int c = 0, i = i0;
      for (; i + V::L <= i1; i += V::L, c++) nz[c] |= V::nonzeroBits(V::load(xb + i, full));
      for (int l = 0; i < i1; i++, l++) if (xb[i] != 0.0f) nz[c] |= 1u << l;
    }
    for (int c = 0; c * V::L < n; c++)
      for (int l = 0; l < V::L && c * V::L + l < n; l++)
        if (nz[c] >> l & 1u) live[nLive++] = i0 + c * V::L + l;
    delete[] nz;
    skip = n - nLive >= MR;  // worth a list only when it leaves out at least a tile
  }
  // ... and only while every g is finite, checked last: hidden layers rarely have an all-zero
  // source, and then the coefficients need no scan.
  if (skip && !(allFinite<V>(gE, gs, B, j0, j1) && (!types || allFinite<V>(gI, gs, B, j0, j1)))) skip = false;
  if (!skip) {
    nLive = n;
    for (int i = 0; i < n; i++) live[i] = i0 + i;
  } else if (!freeze) {
    // The left-out rows: w = fma(scale, +0, w), as their tiles would have done.
    const typename V::T sc = V::set(scale);
    int k = 0;
    for (int i = i0; i < i1; i++) {
      if (k < nLive && live[k] == i) { k++; continue; }
      for (int copy = 0; copy <= (dup ? 1 : 0); copy++) {
        float* pw = w + static_cast<long>(i + copy * dup) * nOut;
        for (int j = j0; j < j1; j += V::L) {
          const typename V::M m = V::mask(j1 - j);
          V::store(pw + j, V::fma(sc, V::zero(), V::load(pw + j, m)), m);
        }
      }
    }
  }
  // With types: the live E sources first in `live`, the I sources after them, each in order.
  int nE = nLive;
  int* liveI = nullptr;
  if (types) {
    liveI = new int[static_cast<size_t>(nLive) + 1];
    int nI = 0;
    nE = 0;
    for (int k = 0; k < nLive; k++) {
      if (types[live[k]] != 0.0f) live[nE++] = live[k];
      else liveI[nI++] = live[k];
    }
    for (int k = 0; k < nI; k++) live[nE + k] = liveI[k];
    delete[] liveI;
  }
  const int nI = nLive - nE;
  // Each pass over the samples with a nonzero coefficient (liveSamples). A pass left with none adds
  // +0 to every weight it covers: nothing to do where zeros are frozen (a weight stays what it was),
  // else its tiles run over no samples to do exactly that.
  thread_local std::vector<float> bufXE, bufGE, bufXI, bufGI;
  const Rows e = liveSamples<V>(x, xs, gE, gs, B, i0, i1, j0, j1, bufXE, bufGE);
  const Rows in = types ? liveSamples<V>(x, xs, gI, gs, B, i0, i1, j0, j1, bufXI, bufGI) : e;
  const bool runE = nE > 0 && (e.B > 0 || !freeze);
  const bool runI = nI > 0 && (in.B > 0 || !freeze);
  // A strip's coefficients, copied into a panel (rows NR floats apart) where the layer's rows lie a
  // multiple of 2 KiB apart: there they shared 2 of L1's 64 sets with the strip's weights, which
  // evicted them (16 x 3138 -> 512, AVX2: 10-15 % faster a call). The sums are the same.
  thread_local std::vector<float> panelE, panelI;
  const bool pack = (nOut * 4) % 2048 == 0;
  auto strip = [&](const Rows& r, std::vector<float>& p, int j, int nc) -> const float* {
    if (!pack || nc != NR) return r.g + j;
    p.resize(static_cast<size_t>(r.B) * NR + 1);
    const typename V::M full = V::mask(V::L);
    for (int b = 0; b < r.B; b++)
      _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) V::store(p.data() + b * NR + v * V::L, V::load(r.g + static_cast<long>(b) * r.gs + j + v * V::L, full), full);
    return p.data();
  };
  for (int j = j0; j < j1; j += NR) {
    const int nc = std::min(NR, j1 - j);
    if (NV > 1 && nc <= V::L) {  // a one-vector remainder: one-vector tiles (as in fwd)
      if (runE) updRows<V, MR, 1>(w, e.x, e.xs, e.g + j, e.gs, e.B, live, nE, nOut, j, nc, scale, freeze, dup);
      if (runI) updRows<V, MR, 1>(w, in.x, in.xs, in.g + j, in.gs, in.B, live + nE, nI, nOut, j, nc, scale, freeze, dup);
      continue;
    }
    if (runE) {
      const float* gj = strip(e, panelE, j, nc);
      updRows<V, MR, NV>(w, e.x, e.xs, gj, gj == e.g + j ? e.gs : NR, e.B, live, nE, nOut, j, nc, scale, freeze, dup);
    }
    if (runI) {
      const float* gj = strip(in, panelI, j, nc);
      updRows<V, MR, NV>(w, in.x, in.xs, gj, gj == in.g + j ? in.gs : NR, in.B, live + nE, nI, nOut, j, nc, scale, freeze, dup);
    }
  }
  delete[] live;
}

// W[i][j0 .. j1) += scale * sum_b x[b][i] g[b][j] for sources i0 <= i < i1 (and the same sums into
// row i + dup when dup > 0). A source whose input is 0 in every sample has the sum +0 exactly (every
// product is a signed 0 and the chain starts at +0) provided every g is finite, so its rows get
// fma(scale, +0, w): unchanged under the kaneko rule (a nonzero w stays, a zero one is kept), and
// under the other rule a pass that does exactly that fma. Image borders make 45 % of MNIST 0/1's
// input sources 0 across a batch of 128.
template <class V, int MR, int NV>
void upd(float* w, const float* x, int xs, const float* g, int gs, int B, int i0, int i1, int nOut, int j0, int j1, float scale, int freeze, int dup) {
  updSources<V, MR, NV>(w, x, xs, g, g, gs, B, nullptr, i0, i1, nOut, j0, j1, scale, freeze, dup);
}

// upd over the sources i0 <= i < i1 with g = gE where types[i] != 0 and gI elsewhere: exactly upd
// called on every run of one type (each weight's sum the same chain over b). Kaneko's nets
// interleave E and I sources (E, I, E, I, ...), so the runs are one source long: called run by run,
// a 1568-source layer cost 1568 calls of one-source tiles per batch.
template <class V, int MR, int NV>
void updTyped(float* w, const float* x, int xs, const float* gE, const float* gI, int gs, int B, const float* types, int i0, int i1, int nOut,
              int j0, int j1, float scale, int freeze) {
  updSources<V, MR, NV>(w, x, xs, gE, gI, gs, B, types, i0, i1, nOut, j0, j1, scale, freeze, 0);
}

// The start of an online block of up to NV vectors of cells, `left` cells from its first: each
// vector's mask and a zero accumulator; returns how many vectors it covers (NV when FULL).
template <class V, int NV, bool FULL>
inline int blockStart(typename V::M* m, typename V::T* acc, int left) {
  _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) {
    m[v] = V::mask(FULL ? V::L : left - v * V::L);
    acc[v] = V::zero();
  }
  return FULL ? NV : std::min(NV, (left + V::L - 1) / V::L);
}

// Online forward: up to 8 vectors of cells held in registers across all sources (FULL: exactly 8
// whole vectors, constant bounds and no masks, as in updfwd1Block).
template <class V, int NV, bool FULL>
inline void fwd1Block(const float* w, const float* bias, const float* x, float* y, int nIn, int nOut, int j1, int j) {
  using T = typename V::T;
  typename V::M m[NV];
  T acc[NV];
  const int nv = blockStart<V, NV, FULL>(m, acc, j1 - j);
  const float* pw = w + j;
  for (int i = 0; i < nIn; i++, pw += nOut) {
    const float xi = x[i];
    if (xi == 0.0f) continue;
    T xb = V::set(xi);
    _Pragma("GCC unroll 16") for (int v = 0; v < (FULL ? NV : nv); v++) acc[v] = V::fma(xb, V::load(pw + v * V::L, m[v]), acc[v]);
  }
  _Pragma("GCC unroll 16") for (int v = 0; v < (FULL ? NV : nv); v++) {
    if (bias) acc[v] = V::add(acc[v], V::load(bias + j + v * V::L, m[v]));
    V::store(y + j + v * V::L, acc[v], m[v]);
  }
}

template <class V>
void fwd1(const float* w, const float* bias, const float* x, float* y, int nIn, int nOut, int j0, int j1) {
  constexpr int NV = 8;
  for (int j = j0; j < j1; j += NV * V::L) {
    if (j + NV * V::L <= j1) fwd1Block<V, NV, true>(w, bias, x, y, nIn, nOut, j1, j);
    else fwd1Block<V, NV, false>(w, bias, x, y, nIn, nOut, j1, j);
  }
}

template <class V>
void upd1(float* w, const float* x, const float* gE, const float* gI, const float* types, int nIn, int nOut, int j0, int j1, float scale, int freeze) {
  using T = typename V::T;
  // As in the reference: rows whose coefficients are all 0 keep their (frozen-sign) weights.
  auto allZero = [&](const float* g) {
    for (int j = j0; j < j1; j++)
      if (g[j] != 0.0f) return false;
    return true;
  };
  const bool skipE = freeze && allZero(gE), skipI = freeze && allZero(gI);
  for (int i = 0; i < nIn; i++) {
    const float xi = scale * x[i];
    if (xi == 0.0f) continue;
    if (types[i] != 0.0f ? skipE : skipI) continue;
    const float* g = types[i] != 0.0f ? gE : gI;
    T xb = V::set(xi);
    float* pw = w + static_cast<long>(i) * nOut;
    for (int j = j0; j < j1; j += V::L) {
      typename V::M m = V::mask(j1 - j);
      T wv = V::load(pw + j, m);
      T nw = V::fma(xb, V::load(g + j, m), wv);
      if (freeze) nw = V::keepZeros(wv, nw);
      V::store(pw + j, nw, m);
    }
  }
}

// One block of up to NV vectors of cells of updfwd1. FULL: exactly NV whole vectors, so the loops
// have constant bounds and no masks (the accumulators stay in registers); otherwise nv <= NV
// vectors, the last masked. Either way each lane does the same operations in the same order.
template <class V, int NV, bool FULL>
inline void updfwd1Block(float* w, const float* xOld, const float* gE, const float* gI, const float* types, float scale, int freeze,
                         bool skipE, bool skipI, const float* xNew, const float* bias, float* y, int nIn, int nOut, int act,
                         typename V::T kv, int j) {
  using T = typename V::T;
  typename V::M m[NV];
  T acc[NV];
  const int nv = blockStart<V, NV, FULL>(m, acc, nOut - j);
  float* pw = w + j;
  for (int i = 0; i < nIn; i++, pw += nOut) {
    const float xo = scale * xOld[i];
    const bool e = types[i] != 0.0f;
    const bool update = xo != 0.0f && !(e ? skipE : skipI);
    const float xi = xNew[i];
    if (!update && xi == 0.0f) continue;
    const float* g = (e ? gE : gI) + j;
    const T xob = V::set(xo);
    const T xb = V::set(xi);
    _Pragma("GCC unroll 16") for (int v = 0; v < (FULL ? NV : nv); v++) {
      T wv = V::load(pw + v * V::L, m[v]);
      if (update) {
        T nw = V::fma(xob, V::load(g + v * V::L, m[v]), wv);
        if (freeze) nw = V::keepZeros(wv, nw);
        V::store(pw + v * V::L, nw, m[v]);
        wv = nw;
      }
      if (xi != 0.0f) acc[v] = V::fma(xb, wv, acc[v]);
    }
  }
  _Pragma("GCC unroll 16") for (int v = 0; v < (FULL ? NV : nv); v++) {
    if (bias) acc[v] = V::add(acc[v], V::load(bias + j + v * V::L, m[v]));
    if (act == 1) acc[v] = sigmoidV<V>(acc[v], kv);
    V::store(y + j + v * V::L, acc[v], m[v]);
  }
}

// One pass over the rows: each row updated (unless upd1 would skip it), then added to the next
// sample's sums with its new values; up to 8 vectors of cells in registers per pass.
template <class V>
void updfwd1(float* w, const float* xOld, const float* gE, const float* gI, const float* types, float scale, int freeze,
             const float* xNew, const float* bias, float* y, int nIn, int nOut, int act, float k) {
  constexpr int NV = 8;
  auto allZero = [&](const float* g) {
    for (int j = 0; j < nOut; j++)
      if (g[j] != 0.0f) return false;
    return true;
  };
  const bool skipE = freeze && allZero(gE), skipI = freeze && allZero(gI);
  const typename V::T kv = V::set(k);
  for (int j = 0; j < nOut; j += NV * V::L) {
    if (j + NV * V::L <= nOut)
      updfwd1Block<V, NV, true>(w, xOld, gE, gI, types, scale, freeze, skipE, skipI, xNew, bias, y, nIn, nOut, act, kv, j);
    else
      updfwd1Block<V, NV, false>(w, xOld, gE, gI, types, scale, freeze, skipE, skipI, xNew, bias, y, nIn, nOut, act, kv, j);
  }
}

template <class V>
void sigmoid(float* p, int rows, int cols, int stride, float k) {
  typename V::T kv = V::set(k);
  _Pragma("GCC unroll 16") for (int r = 0; r < rows; r++) {
    float* q = p + static_cast<long>(r) * stride;
    for (int c = 0; c < cols; c += V::L) {
      typename V::M m = V::mask(cols - c);
      V::store(q + c, sigmoidV<V>(V::load(q + c, m), kv), m);
    }
  }
}

template <class V>
void coef(const float* y, int ys, int B, int nOut, int nE, const float* a, int as, float* g, int j0, int j1) {
  using T = typename V::T;
  const T one = V::set(1.0f);
  for (int b = 0; b < B; b++) {
    const T ab = V::set(a[b * as]);
    const float* yr = y + static_cast<long>(b) * ys;
    float* gr = g + static_cast<long>(b) * nOut;
    for (int j = j0; j < j1; j += V::L) {
      typename V::M m = V::mask(j1 - j);
      const T o = V::load(yr + j, m);
      T v = V::mul(V::mul(o, V::sub(one, o)), ab);
      // Lanes at or past nE are inhibitory cells: their coefficient changes sign.
      v = V::negateFrom(v, nE - j);
      V::store(gr + j, v, m);
    }
  }
}

// Twelve independent accumulators, registers only: the core's FMA peak.
template <class V>
double peak(double seconds) {
  using T = typename V::T;
  T a[12];
  _Pragma("GCC unroll 16") for (int r = 0; r < 12; r++) a[r] = V::set(1.0f + r * 1e-3f);
  const T mul = V::set(0.999999f);
  const T add = V::set(1e-7f);
  long iters = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  do {
    for (int n = 0; n < 4096; n++)
      _Pragma("GCC unroll 16") for (int r = 0; r < 12; r++) a[r] = V::fma(a[r], mul, add);
    iters += 4096;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } while (elapsed < seconds);
  T s = a[0];
  _Pragma("GCC unroll 16") for (int r = 1; r < 12; r++) s = V::add(s, a[r]);
  float out[V::L];
  V::store(out, s, V::mask(V::L));
  volatile float sink = out[0];
  (void)sink;
  return static_cast<double>(iters) * 12 * V::L * 2 / elapsed / 1e9;
}

}  // namespace simd
}  // namespace edsim
