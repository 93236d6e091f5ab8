#!/usr/bin/env python3
"""The bench-wide ED training written the way a NumPy user writes it for speed: float32, one matrix
product per forward pass and per weight update, BLAS doing the work. Same model and rule as edsim's
`bench-wide` preset: 784 inputs staged as E and I copies (1568 sources), four paired hidden layers
of 512 cells (256 E + 256 I), one output, sigmoid 1 / (1 + exp(-2u/u0)), bidirectional rule,
batch 128, shuffled, alpha 0.2 (hidden) / 0.8 (output), u0 0.4, u1 1.

usage: bench-numpy.py DATA.bin N FEATURES EPOCHS MODE  (DATA.bin: N x FEATURES float32 images, then N float32 targets)
MODE plain: one matrix product per update, as a NumPy user writes it (numpy matmul, W += scale * X^T G);
MODE tuned: every update in place by one BLAS sgemm (scipy), and the first layer's two identical input
copies updated from one product (what edsim's native kernels do).
prints one JSON line: seconds per epoch, test-free train accuracy, and the BLAS in use.
"""
import json, sys, time
import numpy as np

def main():
    path, n, features, epochs, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    raw = np.fromfile(path, dtype=np.float32)
    X = raw[: n * features].reshape(n, features)
    T = raw[n * features: n * features + n].reshape(n, 1)
    rng = np.random.default_rng(1)
    u0, u1, alpha_h, alpha_o, batch = np.float32(0.4), np.float32(1.0), np.float32(0.2), np.float32(0.8), 128
    k = np.float32(-2.0) / u0
    sizes = [2 * features, 512, 512, 512, 512, 1]
    W, cell_t = [], []
    for li in range(5):
        n_in, n_out = sizes[li], sizes[li + 1]
        src = np.where(np.arange(n_in) < n_in // 2, 1, -1).astype(np.float32)
        t = np.where(np.arange(n_out) < max(n_out // 2, 1), 1, -1).astype(np.float32)
        W.append((rng.random((n_in, n_out), dtype=np.float32) * src[:, None] * t[None, :]).astype(np.float32))
        cell_t.append(t)

    sgemm = None
    if mode == 'tuned':
        try:
            from scipy.linalg.blas import sgemm
        except ImportError:
            pass

    times, correct = [], 0
    for _ in range(epochs):
        t0 = time.perf_counter()
        order = rng.permutation(n)
        correct = 0
        for s in range(0, n, batch):
            idx = order[s: s + batch]
            xb = X[idx]
            acts = [np.concatenate([xb, xb], axis=1)]
            for li in range(5):
                u = acts[-1] @ W[li]
                u *= k  # the sigmoid in place: 1 / (1 + exp(k u))
                np.exp(u, out=u)
                u += np.float32(1.0)
                np.reciprocal(u, out=u)
                acts.append(u)
            o = acts[-1]
            err = T[idx] - o
            correct += int(np.sum(np.abs(err) < 0.5))
            a = u1 * err  # (B, 1): one output, the amine is its error
            for li in range(5):
                h = acts[li + 1]
                g = h * (np.float32(1.0) - h) * a * cell_t[li][None, :]
                scale = (alpha_o if li == 4 else alpha_h) / np.float32(len(idx))
                if mode == 'tuned' and li == 0:  # both input copies get the same update: one product
                    d = xb.T @ g
                    d *= scale
                    W[0][:features] += d
                    W[0][features:] += d
                elif sgemm is not None:  # W += scale X^T G in one BLAS call, in place (F-order views of C arrays)
                    sgemm(scale, g.T, acts[li].T, beta=1.0, c=W[li].T, trans_b=1, overwrite_c=1)
                else:
                    W[li] += scale * (acts[li].T @ g)
        times.append(time.perf_counter() - t0)
    blas = 'unknown'
    try:  # the OpenBLAS builds loaded (numpy's, scipy's) name the kernel set each picked for this CPU
        import ctypes
        names = []
        for lib in sorted({l.split()[-1] for l in open('/proc/self/maps') if 'openblas' in l}):
            for sym in ('scipy_openblas_get_corename64_', 'scipy_openblas_get_corename', 'openblas_get_corename'):
                f = getattr(ctypes.CDLL(lib), sym, None)
                if f is not None:
                    f.restype = ctypes.c_char_p
                    names.append(f.decode() if isinstance(f, bytes) else f().decode())
                    break
        if names:
            blas = 'OpenBLAS ' + '/'.join(names)
    except Exception:
        pass
    print(json.dumps({'seconds': times, 'trainAccuracy': correct / n, 'numpy': np.__version__, 'blas': blas, 'mode': mode + (' (scipy sgemm in place)' if sgemm is not None else '')}))

main()
