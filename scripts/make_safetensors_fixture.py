#!/usr/bin/env python3
"""Writes Tests/TensorsTests/Fixtures/reference.safetensors with numpy only (no safetensors package), so the
Swift reader is checked against an independent writer: F32, F16 (incl. a subnormal and the max half), BF16,
F64, a 0-d tensor and string metadata. The expected values are the numpy arrays below, restated in the test."""
import json, struct, sys
import numpy as np

tensors = {
    "a.f32": np.array([[1.5, -2.25, 3e-5], [0.0, 100.0, -7.0]], dtype="<f4"),
    "b.f16": np.array([0.5, -1.0, 65504.0, 5.960464477539063e-08], dtype="<f2"),
    "c.bf16": np.array([1.0, -3.140625, 256.0], dtype="<f4").view("<u4") >> 16,
    "d.f64": np.array([[2.5], [-0.125]], dtype="<f8"),
    "e.scalar": np.array(42.0, dtype="<f4"),
}
dtypes = {"a.f32": "F32", "b.f16": "F16", "c.bf16": "BF16", "d.f64": "F64", "e.scalar": "F32"}
header, blobs, off = {"__metadata__": {"format": "pt", "source": "numpy"}}, [], 0
for name, arr in tensors.items():
    raw = arr.astype("<u2").tobytes() if dtypes[name] == "BF16" else arr.tobytes()
    header[name] = {"dtype": dtypes[name], "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
    blobs.append(raw); off += len(raw)
h = json.dumps(header).encode()
h += b" " * ((8 - len(h) % 8) % 8)
out = sys.argv[1] if len(sys.argv) > 1 else "Tests/TensorsTests/Fixtures/reference.safetensors"
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(h))); f.write(h); f.write(b"".join(blobs))
print("wrote", out)
