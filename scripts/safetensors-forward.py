#!/usr/bin/env python3
"""An edsim model read without edsim: the safetensors file parsed by its published specification
(8-byte little-endian header length, JSON header, raw little-endian tensors) with NumPy alone, and
ED's forward pass computed from the tensors and the config in the metadata.

  safetensors-forward.py forward MODEL.safetensors X.f64 FEATURES OUT.f64
      outputs of every row of X (float64, row-major; pixels, also for a model with a feature bank)
      -> OUT (float64, row-major)
  safetensors-forward.py scores MODEL.safetensors X.f64 FEATURES OUT.f64
      what the model answers by (the largest per row): the outputs, or with a calibration (tensors
      calibration.mean and calibration.sd) (output - mean) / sd
  safetensors-forward.py write MODEL.safetensors OUT.safetensors SCALE
      writes the model again from Python: every tensor as float64 times SCALE (signs kept), the
      metadata copied, the header padded as the format allows
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F64": np.float64, "F32": np.float32, "I32": np.int32, "U32": np.uint32}


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    data = raw[8 + n :]
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        a = np.frombuffer(data[begin:end], dtype=np.dtype(DTYPES[t["dtype"]]).newbyteorder("<"))
        tensors[name] = a.reshape(t["shape"]).astype(np.float64)
    return tensors, meta


def write(path, tensors, meta):
    header = {"__metadata__": meta}
    blobs = []
    offset = 0
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype="<f8").tobytes()
        header[name] = {"dtype": "F64", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def act(name, u, u0):
    if name == "sigmoid":
        return 1 / (1 + np.exp(-2 * u / u0))
    if name == "relu":
        return np.maximum(u, 0)
    if name == "elu":
        return np.where(u >= 0, u, np.expm1(np.minimum(u, 0)))
    if name == "softplus":
        x = u / 5
        return (np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)) / 5
    if name == "tanh":
        return np.tanh(u)
    raise ValueError(name)


def gabor(x, spec):
    """The fixed Gabor features edsim's config.features names (metadata edsim.features holds the bank)."""
    n = x.shape[0]
    side = int(round(x.shape[1] ** 0.5))
    r, p = spec["radius"], spec["pool"]
    cells = -(-side // p)
    imgs = x.reshape(n, side, side)
    pad = np.pad(imgs, ((0, 0), (r, r), (r, r)))
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    out = []
    for k in range(spec["orientations"]):
        t = k * np.pi / spec["orientations"]
        xr = dx * np.cos(t) + dy * np.sin(t)
        yr = -dx * np.sin(t) + dy * np.cos(t)
        env = np.exp(-(xr**2 + spec["gamma"] ** 2 * yr**2) / (2 * spec["sigma"] ** 2))
        even = env * np.cos(2 * np.pi * xr / spec["lambda"])
        even -= even.mean()
        odd = env * np.sin(2 * np.pi * xr / spec["lambda"])
        re = np.zeros_like(imgs)
        im = np.zeros_like(imgs)
        for a in range(-r, r + 1):
            for b in range(-r, r + 1):
                moved = pad[:, r - a : r - a + side, r - b : r - b + side]  # pixel (y - a, x - b)
                re += moved * even[a + r, b + r]
                im += moved * odd[a + r, b + r]
        energy = np.zeros((n, cells * p, cells * p))
        energy[:, :side, :side] = np.minimum(1, np.sqrt(re**2 + im**2) / spec["scale"])
        out.append(energy.reshape(n, cells, p, cells, p).max(axis=(2, 4)).reshape(n, -1))
    if spec["raw"]:
        out.append(x)
    return np.concatenate(out, axis=1)


def forward(tensors, cfg, x):
    rows = x.shape[0]
    nets = sorted({int(k.split(".")[0][3:]) for k in tensors if k.startswith("net")})
    cells = cfg["bias"] == "cells"
    outs = []
    for n in nets:
        layers = sorted({int(k.split(".")[1][5:]) for k in tensors if k.startswith(f"net{n}.")})
        h = np.concatenate([x, x], axis=1) if cfg["topology"] == "paired" else np.repeat(x, 2, axis=1)
        for k in layers:
            inp = np.concatenate([np.full((rows, 2), cfg["beta"]), h], axis=1) if cells else h
            u = inp @ tensors[f"net{n}.layer{k}.weight"]
            if f"net{n}.layer{k}.bias" in tensors:
                u = u + tensors[f"net{n}.layer{k}.bias"]
            last = k == layers[-1]
            h = act(cfg.get("outputActivation") or cfg["activation"] if last else cfg["activation"], u, cfg["u0"])
        outs.append(h)
    # An ensemble (config "ensemble": k networks per output, member-major): the mean of its members.
    return np.concatenate(outs, axis=1).reshape(rows, cfg.get("ensemble", 1), -1).mean(axis=1)


def main():
    if sys.argv[1] in ("forward", "scores"):
        tensors, meta = read(sys.argv[2])
        cfg = json.loads(meta["edsim.config"])
        x = np.fromfile(sys.argv[3], dtype="<f8").reshape(-1, int(sys.argv[4]))
        if "edsim.features" in meta:
            x = gabor(x, json.loads(meta["edsim.features"]))
        # Input coding (config inputPower, inputScale): scale * sign(v) * |v|^power, value by value.
        x = cfg.get("inputScale", 1) * np.sign(x) * np.abs(x) ** cfg.get("inputPower", 1)
        # ON/OFF coding (config inputOnOff): how far above and how far below the saved means, each clipped at 0.
        if "input.mean" in tensors:
            u = x - tensors["input.mean"]
            x = np.concatenate([np.maximum(u, 0), np.maximum(-u, 0)], axis=1)
        y = forward(tensors, cfg, x)
        if sys.argv[1] == "scores" and "calibration.mean" in tensors:
            y = (y - tensors["calibration.mean"]) / tensors["calibration.sd"]
        y.astype("<f8").tofile(sys.argv[5])
    elif sys.argv[1] == "write":
        tensors, meta = read(sys.argv[2])
        # Weights scaled; a calibration and input means (measured, not learned) as they are.
        write(sys.argv[3], {k: v if k.startswith("calibration.") or k == "input.mean" else v * float(sys.argv[4]) for k, v in tensors.items()}, meta)
    else:
        raise SystemExit(f"unknown mode {sys.argv[1]}")


if __name__ == "__main__":
    main()
