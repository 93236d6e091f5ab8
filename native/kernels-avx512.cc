// The AVX-512 variant (16 lanes, masked tails); compiled with -mavx512f -mfma, called only where
// the CPU has AVX-512F.
#include <immintrin.h>
#include <cstdint>
#include "kernels-simd.h"

namespace edsim {
namespace {

struct V512 {
  using T = __m512;
  using M = __mmask16;
  static constexpr int L = 16;
  static M mask(int n) { return n >= 16 ? static_cast<M>(0xffff) : n <= 0 ? static_cast<M>(0) : static_cast<M>((1u << n) - 1); }
  static T zero() { return _mm512_setzero_ps(); }
  static T set(float v) { return _mm512_set1_ps(v); }
  static T load(const float* p, M m) { return m == 0xffff ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, T v, M m) {
    if (m == 0xffff) _mm512_storeu_ps(p, v);
    else _mm512_mask_storeu_ps(p, m, v);
  }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T div(T a, T b) { return _mm512_div_ps(a, b); }
  static T min(T a, T b) { return _mm512_min_ps(a, b); }
  static T max(T a, T b) { return _mm512_max_ps(a, b); }
  // Bit l set where lane l is not 0 (as x != 0.0f: -0 is 0, NaN is not).
  static unsigned nonzeroBits(T v) { return _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NEQ_UQ); }
  // v where x <= c, else 0 (NaN: 0).
  static T zeroUnlessLE(T v, T x, T c) { return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, c, _CMP_LE_OQ), v); }
  static T roundEven(T a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static T pow2(T n) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23)); }
  // Negates lanes k >= first (first may be <= 0: all, or >= 16: none).
  static T negateFrom(T v, int first) {
    const M keep = mask(first);
    const __m512i bits = _mm512_castps_si512(v);
    return _mm512_castsi512_ps(_mm512_mask_xor_epi32(bits, static_cast<M>(~keep), bits, _mm512_set1_epi32(INT32_MIN)));
  }
  // Where the old weight is 0, it stays 0.
  static T keepZeros(T old, T updated) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(old, _mm512_setzero_ps(), _CMP_NEQ_OQ), old, updated); }
};

}  // namespace

const KernelTable kAvx512 = {"avx512", simd::fwd<V512, 8, 2>, simd::upd<V512, 8, 2>, simd::updTyped<V512, 8, 2>, simd::fwd1<V512>, simd::upd1<V512>, simd::sigmoid<V512>, simd::coef<V512>, simd::updfwd1<V512>};
double (*peakAvx512)(double) = simd::peak<V512>;

}  // namespace edsim
