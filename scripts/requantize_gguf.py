"""Re-quantise a GGUF file's matrices to another ggml type with the PyPI `gguf` package (issue 17): every tensor is
dequantised; 2-D tensors (the attention/FFN matrices and token_embd) are quantised to the target type, the rest
(norms) are written as F32; metadata is copied unchanged except general.file_type. `make model-q8` runs it to turn
the Q4_1 SmolLM2 file into a Q8_0 one (the Q8_0 of Q4_1's values, not of the original weights).

usage: requantize_gguf.py IN.gguf OUT.gguf [Q8_0]
"""
import sys
import numpy as np
import gguf
from gguf.quants import dequantize, quantize

src, dst = sys.argv[1], sys.argv[2]
target = gguf.GGMLQuantizationType[sys.argv[3] if len(sys.argv) > 3 else "Q8_0"]
file_type = {"Q8_0": gguf.LlamaFileType.MOSTLY_Q8_0, "Q4_0": gguf.LlamaFileType.MOSTLY_Q4_0,
             "Q4_1": gguf.LlamaFileType.MOSTLY_Q4_1, "Q5_0": gguf.LlamaFileType.MOSTLY_Q5_0,
             "Q5_1": gguf.LlamaFileType.MOSTLY_Q5_1}[target.name]

reader = gguf.GGUFReader(src)
arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
writer = gguf.GGUFWriter(dst, arch)
for field in reader.fields.values():
    if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
        continue
    if field.name == gguf.Keys.General.FILE_TYPE:
        writer.add_file_type(file_type)
        continue
    val_type = field.types[0]
    sub_type = field.types[-1] if val_type == gguf.GGUFValueType.ARRAY else None
    writer.add_key_value(field.name, field.contents(), val_type, sub_type=sub_type)

for t in reader.tensors:
    # ggml dims are innermost-first; numpy shapes outermost-first
    shape = tuple(int(d) for d in reversed(t.shape))
    values = dequantize(t.data, t.tensor_type).reshape(shape).astype(np.float32)
    if len(shape) == 2:
        data, kind = quantize(values, target), target
    else:
        data, kind = values, gguf.GGMLQuantizationType.F32
    writer.add_tensor(t.name, data, raw_dtype=kind)
    print(f"{t.name}: {t.tensor_type.name} {list(shape)} -> {kind.name}")

writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()
print("wrote", dst)
