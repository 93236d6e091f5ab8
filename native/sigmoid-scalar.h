// The scalar sigmoid every variant's lanes compute: exp as 2^n p(f), n = round(t), t = clamp(k u) log2 e,
// p a degree-6 polynomial of 2^f in fused multiply-adds (relative error below 2e-7). Where k u > 80 the
// result is 0 exactly (the true value is below 1.9e-35): the clamp alone left saturated cells at
// 1.6e-38, whose products are subnormal, and each subnormal costs an Intel core a microcode assist.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace edsim {

constexpr float kSigC[7] = {1.5403530393381606e-4f, 1.3333558146428443e-3f, 9.618129107628477e-3f,
                            5.550410866482158e-2f, 0.2402265069591007f, 0.6931471805599453f, 1.0f};

constexpr float kSigZero = 80.0f;

inline float sigmoidScalar(float u, float k) {
  const float ku = k * u;
  float t = std::fmin(std::fmax(ku, -87.0f), 87.0f) * 1.4426950408889634f;
  float n = std::nearbyint(t);
  float f = t - n;
  float p = kSigC[0];
  for (int c = 1; c < 7; c++) p = std::fmaf(p, f, kSigC[c]);
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float s;
  std::memcpy(&s, &bits, 4);
  const float r = 1.0f / (1.0f + p * s);
  return ku <= kSigZero ? r : 0.0f;
}

}  // namespace edsim
