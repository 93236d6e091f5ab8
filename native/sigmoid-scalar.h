// The scalar sigmoid every variant's lanes compute: exp as 2^n p(f), n = round(t), t = clamp(k u) log2 e,
// p a degree-6 polynomial of 2^f in fused multiply-adds (relative error below 2e-7).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace edsim {

constexpr float kSigC[7] = {1.5403530393381606e-4f, 1.3333558146428443e-3f, 9.618129107628477e-3f,
                            5.550410866482158e-2f, 0.2402265069591007f, 0.6931471805599453f, 1.0f};

inline float sigmoidScalar(float u, float k) {
  float t = std::fmin(std::fmax(k * u, -87.0f), 87.0f) * 1.4426950408889634f;
  float n = std::nearbyint(t);
  float f = t - n;
  float p = kSigC[0];
  for (int c = 1; c < 7; c++) p = std::fmaf(p, f, kSigC[c]);
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float s;
  std::memcpy(&s, &bits, 4);
  return 1.0f / (1.0f + p * s);
}

}  // namespace edsim
