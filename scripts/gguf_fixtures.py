"""Golden GGUF fixture for gtr's GGUF reader and dequantisers (issue 17).

Writes Tests/TensorsTests/Fixtures/quants.gguf with the PyPI `gguf` package (the reference implementation of the
format and of ggml's dequantisation in Python):
  * one metadata key of every value type, nested arrays and strings included;
  * for each tensor type gtr reads (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K), a 2-row tensor
    `<type>` of random blocks (scales set to finite f16 values, everything else random bytes) and, beside it,
    `<type>.expected`: what `gguf.quants.dequantize` makes of it, as F32.

Run with `make fixtures-gguf` (it creates .venv-gguf with `gguf` and numpy). Deterministic (fixed seed).
"""
import sys
import numpy as np
import gguf
from gguf import GGMLQuantizationType as T, GGML_QUANT_SIZES

out = sys.argv[1] if len(sys.argv) > 1 else "Tests/TensorsTests/Fixtures/quants.gguf"
rng = np.random.default_rng(17)

# Byte offsets of the f16 scale fields in each block (ggml-common.h); the rest of a block is any bytes.
scale_fields = {
    T.Q8_0: [0], T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2],
    T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}

w = gguf.GGUFWriter(out, arch="gtrtest")
w.add_uint8("test.u8", 200)
w.add_int8("test.i8", -100)
w.add_uint16("test.u16", 60000)
w.add_int16("test.i16", -30000)
w.add_uint32("test.u32", 4_000_000_000)
w.add_int32("test.i32", -2_000_000_000)
w.add_float32("test.f32", 1.5e-5)
w.add_bool("test.bool", True)
w.add_string("test.string", "héllo, ĠGGUF")
w.add_uint64("test.u64", 2**63 + 5)
w.add_int64("test.i64", -(2**62))
w.add_float64("test.f64", 3.141592653589793)
w.add_array("test.strings", ["Ġthe", "a b", "", "∑"])
w.add_array("test.ints", [1, -2, 3])
w.add_array("test.nested", [[1, 2], [3]])

for t in [T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q4_K, T.Q5_K, T.Q6_K]:
    block, size = GGML_QUANT_SIZES[t]
    rows = 2
    blocks_per_row = 3 if block == 32 else 2
    cols = block * blocks_per_row if block > 1 else 96
    name = t.name.lower()
    if t == T.F32:
        vals = rng.standard_normal((rows, cols)).astype(np.float32)
        w.add_tensor(name, vals)
        w.add_tensor(name + ".expected", vals)
        continue
    if t in (T.F16, T.BF16):
        vals = (rng.standard_normal((rows, cols)) * 3).astype(np.float32)
        raw = gguf.quants.quantize(vals, t)
        expected = gguf.quants.dequantize(raw, t).astype(np.float32)
        w.add_tensor(name, raw, raw_dtype=t)
        w.add_tensor(name + ".expected", expected)
        continue
    raw = rng.integers(0, 256, size=(rows, blocks_per_row, size), dtype=np.uint8)
    for off in scale_fields[t]:
        scales = (rng.uniform(-0.05, 0.05, size=(rows, blocks_per_row))).astype(np.float16)
        raw[:, :, off:off + 2] = scales.view(np.uint8).reshape(rows, blocks_per_row, 2)
    raw = raw.reshape(rows, blocks_per_row * size)
    expected = gguf.quants.dequantize(raw, t).astype(np.float32)
    assert expected.shape == (rows, cols), expected.shape
    assert np.isfinite(expected).all()
    w.add_tensor(name, raw, raw_dtype=t)
    w.add_tensor(name + ".expected", expected)

w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
print("wrote", out)
