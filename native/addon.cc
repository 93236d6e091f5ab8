// The Node-API face of the native kernels: `bind(view)` takes a Float32Array over the whole shared
// WebAssembly memory and returns the kernels with the wasm module's signatures (byte offsets into
// that memory), working in place on it. Context-aware (no per-process state but the CPU dispatch,
// fixed at load), so every worker thread loads it.
#include <napi.h>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include "kernels.h"
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace {

using edsim::KernelTable;

// The arguments of one online update-then-forward step, fixed per layer and pair of slots, so the
// per-sample call passes only an index and the rate (argument conversions cost more than the math
// for small nets).
struct OnlineStep {
  float *w, *y;
  const float *xOld, *gE, *gI, *types, *xNew, *bias;
  int freeze, nIn, nOut, act;
  float k;
};

struct Bound {
  uint8_t* base;
  const KernelTable* t;
  std::vector<OnlineStep> steps;
};

const KernelTable* pick(const char* forced) {
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (forced && *forced) {
    if (!std::strcmp(forced, "avx512")) return avx512 ? &edsim::kAvx512 : nullptr;
    if (!std::strcmp(forced, "avx2")) return avx2 ? &edsim::kAvx2 : nullptr;
    if (!std::strcmp(forced, "portable")) return &edsim::kRef;
    return nullptr;
  }
  return avx512 ? &edsim::kAvx512 : avx2 ? &edsim::kAvx2 : &edsim::kRef;
}

// Every kernel call runs with subnormal floats flushed to zero (MXCSR FTZ and DAZ), restored on
// return so the thread's JavaScript keeps IEEE semantics. ED makes subnormals as a matter of course
// (saturated cells' o(1 - o) times a small amine), and Intel cores take a microcode assist on each
// one: bench-wide ran 0.99 s/epoch instead of 0.12 on a 16-core Xeon. Every variant and every thread
// flushes alike, so strategies stay byte-identical. EDSIM_FLUSH_DENORMALS=0 at load turns it off
// (to measure the difference).
#if defined(__x86_64__) || defined(__i386__)
const bool kFlush = [] {
  const char* v = std::getenv("EDSIM_FLUSH_DENORMALS");
  return !(v && !std::strcmp(v, "0"));
}();
struct Flush {
  unsigned saved = 0;
  Flush() {
    if (kFlush) {
      saved = _mm_getcsr();
      _mm_setcsr(saved | 0x8040);
    }
  }
  ~Flush() {
    if (kFlush) _mm_setcsr(saved);
  }
};
#else
const bool kFlush = false;
struct Flush {};
#endif

inline int I(const Napi::CallbackInfo& info, size_t k) { return info[k].As<Napi::Number>().Int32Value(); }
inline float F(const Napi::CallbackInfo& info, size_t k) { return info[k].As<Napi::Number>().FloatValue(); }
inline Bound* B(const Napi::CallbackInfo& info) { return static_cast<Bound*>(info.Data()); }
template <class P>
inline P* at(const Bound* b, int off) { return reinterpret_cast<P*>(b->base + static_cast<uint32_t>(off)); }

// fwd(w, bias, hasBias, x, xs, y, ys, B, nIn, nOut, act, k[, j0, j1]): strides in bytes, as in wasm.
Napi::Value Fwd(const Napi::CallbackInfo& info) {
  const Flush flush;
  const Bound* b = B(info);
  const int nOut = I(info, 9);
  const int j0 = info.Length() > 12 ? I(info, 12) : 0;
  const int j1 = info.Length() > 13 ? I(info, 13) : nOut;
  b->t->fwd(at<float>(b, I(info, 0)), I(info, 2) ? at<float>(b, I(info, 1)) : nullptr, at<float>(b, I(info, 3)), I(info, 4) / 4,
            at<float>(b, I(info, 5)), I(info, 6) / 4, I(info, 7), I(info, 8), nOut, j0, j1, I(info, 10), F(info, 11));
  return info.Env().Undefined();
}

// upd(w, x, xs, g, gs, B, i0, i1, nOut, scale, freeze[, j0, j1[, dup]])
Napi::Value Upd(const Napi::CallbackInfo& info) {
  const Flush flush;
  const Bound* b = B(info);
  const int nOut = I(info, 8);
  const int j0 = info.Length() > 11 ? I(info, 11) : 0;
  const int j1 = info.Length() > 12 ? I(info, 12) : nOut;
  const int dup = info.Length() > 13 ? I(info, 13) : 0;
  b->t->upd(at<float>(b, I(info, 0)), at<float>(b, I(info, 1)), I(info, 2) / 4, at<float>(b, I(info, 3)), I(info, 4) / 4, I(info, 5),
            I(info, 6), I(info, 7), nOut, j0, j1, F(info, 9), I(info, 10), dup);
  return info.Env().Undefined();
}

// updTyped(w, x, xs, gE, gI, gs, B, types, i0, i1, nOut, scale, freeze[, j0, j1]): upd with gE for the
// sources whose types value is not 0 and gI for the others.
Napi::Value UpdTyped(const Napi::CallbackInfo& info) {
  const Flush flush;
  const Bound* b = B(info);
  const int nOut = I(info, 10);
  const int j0 = info.Length() > 13 ? I(info, 13) : 0;
  const int j1 = info.Length() > 14 ? I(info, 14) : nOut;
  b->t->updTyped(at<float>(b, I(info, 0)), at<float>(b, I(info, 1)), I(info, 2) / 4, at<float>(b, I(info, 3)), at<float>(b, I(info, 4)), I(info, 5) / 4,
                 I(info, 6), at<float>(b, I(info, 7)), I(info, 8), I(info, 9), nOut, j0, j1, F(info, 11), I(info, 12));
  return info.Env().Undefined();
}

// sigmoid(p, rows, cols, stride, k)
Napi::Value Sigmoid(const Napi::CallbackInfo& info) {
  const Flush flush;
  const Bound* b = B(info);
  b->t->sigmoid(at<float>(b, I(info, 0)), I(info, 1), I(info, 2), I(info, 3) / 4, F(info, 4));
  return info.Env().Undefined();
}

// upd1(w, x, gE, gI, types, nIn, nOut, scale, freeze[, j0, j1])
Napi::Value Upd1(const Napi::CallbackInfo& info) {
  const Flush flush;
  const Bound* b = B(info);
  const int nOut = I(info, 6);
  const int j0 = info.Length() > 9 ? I(info, 9) : 0;
  const int j1 = info.Length() > 10 ? I(info, 10) : nOut;
  b->t->upd1(at<float>(b, I(info, 0)), at<float>(b, I(info, 1)), at<float>(b, I(info, 2)), at<float>(b, I(info, 3)), at<float>(b, I(info, 4)),
             I(info, 5), nOut, j0, j1, F(info, 7), I(info, 8));
  return info.Env().Undefined();
}

// fwd1(w, bias, hasBias, x, y, nIn, nOut, act, k[, j0, j1]): act 1 applies the sigmoid in the same call.
Napi::Value Fwd1(const Napi::CallbackInfo& info) {
  const Flush flush;
  const Bound* b = B(info);
  const int nOut = I(info, 6);
  const int j0 = info.Length() > 9 ? I(info, 9) : 0;
  const int j1 = info.Length() > 10 ? I(info, 10) : nOut;
  float* y = at<float>(b, I(info, 4));
  b->t->fwd1(at<float>(b, I(info, 0)), I(info, 2) ? at<float>(b, I(info, 1)) : nullptr, at<float>(b, I(info, 3)), y, I(info, 5), nOut, j0, j1);
  if (I(info, 7) == 1) b->t->sigmoid(y + j0, 1, j1 - j0, 0, F(info, 8));
  return info.Env().Undefined();
}

// updfwd1(w, xOld, gE, gI, types, scale, freeze, xNew, bias, hasBias, y, nIn, nOut, act, k)
Napi::Value UpdFwd1(const Napi::CallbackInfo& info) {
  const Flush flush;
  const Bound* b = B(info);
  b->t->updfwd1(at<float>(b, I(info, 0)), at<float>(b, I(info, 1)), at<float>(b, I(info, 2)), at<float>(b, I(info, 3)), at<float>(b, I(info, 4)),
                F(info, 5), I(info, 6), at<float>(b, I(info, 7)), I(info, 9) ? at<float>(b, I(info, 8)) : nullptr, at<float>(b, I(info, 10)),
                I(info, 11), I(info, 12), I(info, 13), F(info, 14));
  return info.Env().Undefined();
}

// prepUpdFwd1(w, xOld, gE, gI, types, freeze, xNew, bias, hasBias, y, nIn, nOut, act, k) -> index for runUpdFwd1
Napi::Value PrepUpdFwd1(const Napi::CallbackInfo& info) {
  Bound* b = static_cast<Bound*>(info.Data());
  b->steps.push_back({at<float>(b, I(info, 0)), at<float>(b, I(info, 9)), at<float>(b, I(info, 1)), at<float>(b, I(info, 2)),
                      at<float>(b, I(info, 3)), at<float>(b, I(info, 4)), at<float>(b, I(info, 6)), I(info, 8) ? at<float>(b, I(info, 7)) : nullptr,
                      I(info, 5), I(info, 10), I(info, 11), I(info, 12), F(info, 13)});
  return Napi::Number::New(info.Env(), static_cast<double>(b->steps.size() - 1));
}

// runUpdFwd1(index, scale)
Napi::Value RunUpdFwd1(const Napi::CallbackInfo& info) {
  const Flush flush;
  const Bound* b = B(info);
  const OnlineStep& s = b->steps[static_cast<size_t>(I(info, 0))];
  b->t->updfwd1(s.w, s.xOld, s.gE, s.gI, s.types, F(info, 1), s.freeze, s.xNew, s.bias, s.y, s.nIn, s.nOut, s.act, s.k);
  return info.Env().Undefined();
}

// Copies rows[order[start + r]] (width floats each, from a Float32Array outside the shared memory)
// for r < count through write(out, src) to dst + r * dstStride (bytes), after checking the arrays,
// the batch's place in the order and every sample index; `name` heads the errors.
template <class Write>
Napi::Value GatherRows(const Napi::CallbackInfo& info, const char* name, Write write) {
  const Bound* b = B(info);
  const int dst = I(info, 0), stride = I(info, 1), start = I(info, 4), count = I(info, 5), width = I(info, 6);
  void* rowsData = nullptr;
  void* orderData = nullptr;
  size_t rowsLen = 0, orderLen = 0;
  napi_typedarray_type rt, ot;
  if (napi_get_typedarray_info(info.Env(), info[2], &rt, &rowsLen, &rowsData, nullptr, nullptr) != napi_ok || rt != napi_float32_array ||
      napi_get_typedarray_info(info.Env(), info[3], &ot, &orderLen, &orderData, nullptr, nullptr) != napi_ok || ot != napi_int32_array ||
      start < 0 || count < 0 || width < 0 || static_cast<size_t>(start) + static_cast<size_t>(count) > orderLen) {
    Napi::TypeError::New(info.Env(), std::string(name) + ": expected a Float32Array of rows and an Int32Array order covering the batch").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  const float* rows = static_cast<const float*>(rowsData);
  const int32_t* order = static_cast<const int32_t*>(orderData);
  for (int r = 0; r < count; r++) {
    const int32_t s = order[start + r];
    if (s < 0 || (static_cast<size_t>(s) + 1) * static_cast<size_t>(width) > rowsLen) {
      Napi::RangeError::New(info.Env(), std::string(name) + ": a sample index is outside the rows").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    write(at<float>(b, dst + r * stride), rows + static_cast<size_t>(s) * width, static_cast<size_t>(width));
  }
  return info.Env().Undefined();
}

// stageRows(dst, dstStride, rows, order, start, count, width): copies rows[order[start + b]] (width
// floats each) to dst + b * dstStride (bytes), for b < count: one call per mini-batch instead of one
// typed-array copy per sample.
Napi::Value StageRows(const Napi::CallbackInfo& info) {
  return GatherRows(info, "stageRows", [](float* out, const float* src, size_t width) { std::memcpy(out, src, width * 4); });
}

// stageRowsDoubled(dst, dstStride, rows, order, start, count, width, interleaved): stageRows for an
// unpaired row (width floats) that the net reads twice: the row, then the row again (paired layout),
// or each value twice in turn (interleaved), 2 * width floats per sample: staging from the data's
// float32 copy, half the size of rows already doubled.
Napi::Value StageRowsDoubled(const Napi::CallbackInfo& info) {
  if (info.Length() > 7 && info[7].ToBoolean().Value()) {
    return GatherRows(info, "stageRowsDoubled", [](float* out, const float* src, size_t width) {
      for (size_t i = 0; i < width; i++) out[2 * i] = out[2 * i + 1] = src[i];
    });
  }
  return GatherRows(info, "stageRowsDoubled", [](float* out, const float* src, size_t width) {
    std::memcpy(out, src, width * 4);
    std::memcpy(out + width, src, width * 4);
  });
}

// coef(y, ys, B, nOut, nE, amine, amineStride, g[, j0, j1]): strides in bytes.
Napi::Value Coef(const Napi::CallbackInfo& info) {
  const Flush flush;
  const Bound* b = B(info);
  const int nOut = I(info, 3);
  const int j0 = info.Length() > 8 ? I(info, 8) : 0;
  const int j1 = info.Length() > 9 ? I(info, 9) : nOut;
  b->t->coef(at<float>(b, I(info, 0)), I(info, 1) / 4, I(info, 2), nOut, I(info, 4), at<float>(b, I(info, 5)), I(info, 6) / 4, at<float>(b, I(info, 7)), j0, j1);
  return info.Env().Undefined();
}

// chainFwd(w, wS, x, xS, count, B, nIn, nOut, k): identical paired layers, forward + sigmoid each.
Napi::Value ChainFwd(const Napi::CallbackInfo& info) {
  const Flush flush;
  const Bound* b = B(info);
  const int w = I(info, 0), wS = I(info, 1), x = I(info, 2), xS = I(info, 3), count = I(info, 4), n = I(info, 5), nIn = I(info, 6), nOut = I(info, 7);
  const float k = F(info, 8);
  for (int c = 0; c < count; c++) {
    const int xc = x + c * xS;
    b->t->fwd(at<float>(b, w + c * wS), nullptr, at<float>(b, xc), nIn, at<float>(b, xc + xS), nOut, n, nIn, nOut, 0, nOut, 1, k);
  }
  return info.Env().Undefined();
}

// chainUpd(w, wS, x, xS, g, gS, count, B, nIn, nOut, nE, amine, scale): the bidirectional update of
// the same run, g[b][j] = o(1 - o) a[b] t_j (t_j = +1 for the first nE cells), then W += scale X^T g.
Napi::Value ChainUpd(const Napi::CallbackInfo& info) {
  const Flush flush;
  const Bound* b = B(info);
  const int w = I(info, 0), wS = I(info, 1), x = I(info, 2), xS = I(info, 3), g = I(info, 4), gS = I(info, 5), count = I(info, 6), n = I(info, 7);
  const int nIn = I(info, 8), nOut = I(info, 9), nE = I(info, 10), amine = I(info, 11);
  const float scale = F(info, 12);
  const float* a = at<float>(b, amine);
  for (int c = 0; c < count; c++) {
    const float* y = at<float>(b, x + (c + 1) * xS);
    float* gc = at<float>(b, g + c * gS);
    for (int s = 0; s < n; s++) {
      for (int j = 0; j < nOut; j++) {
        const float o = y[s * nOut + j];
        float v = o * (1.0f - o);
        v = v * a[s];
        gc[s * nOut + j] = j < nE ? v : -v;
      }
    }
    b->t->upd(at<float>(b, w + c * wS), at<float>(b, x + c * xS), nIn, gc, nOut, n, 0, nIn, nOut, 0, nOut, scale, 0, 0);
  }
  return info.Env().Undefined();
}

Napi::Value Bind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) {
    Napi::TypeError::New(env, "bind: expected a Float32Array over the shared memory").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::TypedArray view = info[0].As<Napi::TypedArray>();
  const std::string forced = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : std::string();
  const KernelTable* t = pick(forced.c_str());
  if (!t) {
    Napi::Error::New(env, "bind: kernel variant '" + forced + "' is not available on this CPU").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // The raw call: node-addon-api's ArrayBuffer() rejects a SharedArrayBuffer, the data pointer does not.
  void* data = nullptr;
  if (napi_get_typedarray_info(env, view, nullptr, nullptr, &data, nullptr, nullptr) != napi_ok || !data) {
    Napi::Error::New(env, "bind: cannot read the memory's address").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* bound = new Bound{static_cast<uint8_t*>(data), t};
  Napi::Object o = Napi::Object::New(env);
  o.Set("variant", Napi::String::New(env, t->name));
  o.Set("memory", view);  // keeps the memory alive as long as these kernels
  o.Set("fwd", Napi::Function::New(env, Fwd, "fwd", bound));
  o.Set("upd", Napi::Function::New(env, Upd, "upd", bound));
  o.Set("updTyped", Napi::Function::New(env, UpdTyped, "updTyped", bound));
  o.Set("sigmoid", Napi::Function::New(env, Sigmoid, "sigmoid", bound));
  o.Set("upd1", Napi::Function::New(env, Upd1, "upd1", bound));
  o.Set("fwd1", Napi::Function::New(env, Fwd1, "fwd1", bound));
  o.Set("coef", Napi::Function::New(env, Coef, "coef", bound));
  o.Set("updfwd1", Napi::Function::New(env, UpdFwd1, "updfwd1", bound));
  o.Set("prepUpdFwd1", Napi::Function::New(env, PrepUpdFwd1, "prepUpdFwd1", bound));
  o.Set("runUpdFwd1", Napi::Function::New(env, RunUpdFwd1, "runUpdFwd1", bound));
  o.Set("chainFwd", Napi::Function::New(env, ChainFwd, "chainFwd", bound));
  o.Set("chainUpd", Napi::Function::New(env, ChainUpd, "chainUpd", bound));
  o.Set("stageRows", Napi::Function::New(env, StageRows, "stageRows", bound));
  o.Set("stageRowsDoubled", Napi::Function::New(env, StageRowsDoubled, "stageRowsDoubled", bound));
  o.AddFinalizer([](Napi::Env, Bound* p) { delete p; }, bound);
  return o;
}

// The variant chosen for this CPU and the features seen.
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("variant", Napi::String::New(env, pick(nullptr)->name));
  o.Set("avx512f", Napi::Boolean::New(env, __builtin_cpu_supports("avx512f")));
  o.Set("avx2", Napi::Boolean::New(env, __builtin_cpu_supports("avx2")));
  o.Set("fma", Napi::Boolean::New(env, __builtin_cpu_supports("fma")));
  o.Set("flushDenormals", Napi::Boolean::New(env, kFlush));
  return o;
}

// peak(seconds[, variant]): GFLOP/s of register-only FMAs on this thread.
Napi::Value Peak(const Napi::CallbackInfo& info) {
  const double s = info[0].As<Napi::Number>().DoubleValue();
  const std::string forced = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : std::string();
  const KernelTable* t = pick(forced.c_str());
  double g = 0;
  if (t == &edsim::kAvx512) g = edsim::peakAvx512(s);
  else if (t == &edsim::kAvx2) g = edsim::peakAvx2(s);
  return Napi::Number::New(info.Env(), g);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("bind", Napi::Function::New(env, Bind, "bind"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("peak", Napi::Function::New(env, Peak, "peak"));
  return exports;
}

}  // namespace

NODE_API_MODULE(edsim_native, Init)
