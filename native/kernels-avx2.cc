// The AVX2 + FMA variant (8 lanes, masked loads and stores for tails); compiled with -mavx2 -mfma,
// called only where the CPU has both.
#include <immintrin.h>
#include "kernels-simd.h"

namespace edsim {
namespace {

struct V256 {
  using T = __m256;
  using M = __m256i;
  static constexpr int L = 8;
  static M mask(int n) {
    n = n < 0 ? 0 : n > 8 ? 8 : n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static bool full(M m) { return _mm256_movemask_ps(_mm256_castsi256_ps(m)) == 0xff; }
  static T zero() { return _mm256_setzero_ps(); }
  static T set(float v) { return _mm256_set1_ps(v); }
  static T load(const float* p, M m) { return full(m) ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m); }
  static void store(float* p, T v, M m) {
    if (full(m)) _mm256_storeu_ps(p, v);
    else _mm256_maskstore_ps(p, m, v);
  }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T div(T a, T b) { return _mm256_div_ps(a, b); }
  static T min(T a, T b) { return _mm256_min_ps(a, b); }
  static T max(T a, T b) { return _mm256_max_ps(a, b); }
  // Bit l set where lane l is not 0 (as x != 0.0f: -0 is 0, NaN is not).
  static unsigned nonzeroBits(T v) { return static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NEQ_UQ))); }
  // v where x <= c, else 0 (NaN: 0).
  static T zeroUnlessLE(T v, T x, T c) { return _mm256_and_ps(_mm256_cmp_ps(x, c, _CMP_LE_OQ), v); }
  static T roundEven(T a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static T pow2(T n) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23)); }
  static T negateFrom(T v, int first) {
    const T neg = _mm256_xor_ps(v, _mm256_set1_ps(-0.0f));
    return _mm256_blendv_ps(neg, v, _mm256_castsi256_ps(mask(first)));
  }
  static T keepZeros(T old, T updated) { return _mm256_blendv_ps(old, updated, _mm256_cmp_ps(old, _mm256_setzero_ps(), _CMP_NEQ_OQ)); }
};

}  // namespace

const KernelTable kAvx2 = {"avx2", simd::fwd<V256, 6, 2>, simd::upd<V256, 6, 2>, simd::updTyped<V256, 6, 2>, simd::fwd1<V256>, simd::upd1<V256>, simd::sigmoid<V256>, simd::coef<V256>, simd::updfwd1<V256>};
double (*peakAvx2)(double) = simd::peak<V256>;

}  // namespace edsim
