{
  "target_defaults": {
    "cflags_cc": ["-std=c++17", "-O3", "-ffp-contract=off", "-fno-math-errno", "-fPIC", "-Wno-maybe-uninitialized"],
    "cflags_cc!": ["-fno-exceptions"],
    "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS", "NAPI_VERSION=8"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"]
  },
  "targets": [
    {
      "target_name": "edsim_avx512",
      "type": "static_library",
      "sources": ["native/kernels-avx512.cc"],
      "cflags_cc": ["-mavx512f", "-mfma"]
    },
    {
      "target_name": "edsim_avx2",
      "type": "static_library",
      "sources": ["native/kernels-avx2.cc"],
      "cflags_cc": ["-mavx2", "-mfma"]
    },
    {
      "target_name": "edsim_native",
      "sources": ["native/addon.cc", "native/kernels-ref.cc"],
      "dependencies": ["edsim_avx512", "edsim_avx2"]
    }
  ]
}
