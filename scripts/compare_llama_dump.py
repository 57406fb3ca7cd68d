"""Compares gtr's intermediate tensors (`gtr-bench llama-dump MODEL DIR PROMPT STEPS`) with llama.cpp's
(`scripts/llama_cpp_dump.py MODEL OUT.npz STEPS PROMPT`), op by op in graph order: the share of bit-identical values and
the largest difference. `python scripts/compare_llama_dump.py OUT.npz DIR`."""
import re
import sys
import numpy as np

ref = np.load(sys.argv[1]); d = sys.argv[2]
ops = {"attn_norm": "MUL", "Qcur": "ROPE", "Kcur": "ROPE", "Vcur": "MUL_MAT", "kqv_out": "CONT", "attn_out": "MUL_MAT",
       "ffn_inp": "ADD", "ffn_norm": "MUL", "ffn_gate": "MUL_MAT", "ffn_up": "MUL_MAT", "ffn_swiglu": "SWIGLU",
       "ffn_out": "MUL_MAT", "l_out": "ADD", "result_norm": "MUL"}
first_bad = None
for line in open(d + "/shapes.txt"):
    parts = line.split(); f = parts[0]; shape = [int(x) for x in parts[1:]]
    phase, rest = f[:-4].split("|"); name, layer = re.match(r"(.*?)-(-?\d+)$", rest).groups()
    key = f"{phase}|{name}" + ("" if layer == "-1" else f"-{layer}") + f"|{ops[name]}"
    if key not in ref:
        continue
    mine = np.fromfile(d + "/" + f, dtype=np.float32).reshape(shape)
    theirs = ref[key].reshape(-1, shape[-1])
    if theirs.shape[0] != mine.shape[0]:
        mine = mine[-theirs.shape[0]:]
    same = float(np.mean(mine == theirs)) * 100
    diff = float(np.max(np.abs(mine.astype(np.float64) - theirs)))
    if same < 100 and first_bad is None:
        first_bad = key
    if len(sys.argv) > 3 or same < 100 or layer in ("0", "-1"):
        print(f"{key:32s} identical {same:6.2f} %  max |d| {diff:.3g}")
print("first difference:", first_bad or "none")
print("llama.cpp greedy:", list(ref["__gen"]))
