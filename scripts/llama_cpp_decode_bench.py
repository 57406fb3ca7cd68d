"""llama.cpp's speed on a GGUF through llama-cpp-python, for `gtr-bench quant`: loads the file with n_threads,
times the prompt (prefill) and `steps` greedy tokens one by one (decode), and prints one JSON line with tokens/s and
the process's peak RSS (VmHWM, which includes the Python interpreter and numpy: about 40 MB of it).

usage: llama_cpp_decode_bench.py MODEL.gguf THREADS PROMPT_FILE [STEPS]
"""
import json
import sys
import time
import numpy as np
import llama_cpp
from llama_cpp import Llama

path, threads, prompt_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
steps = int(sys.argv[4]) if len(sys.argv) > 4 else 128
text = open(prompt_file).read()
llm = Llama(model_path=path, n_ctx=512, n_batch=512, n_threads=threads, n_threads_batch=threads, verbose=False, seed=0)
ids = llm.tokenize(text.encode(), add_bos=False, special=True)
n_vocab = llm.n_vocab()


def last_logits():
    # the context's own logits of the last evaluated token (without logits_all, `llm.scores` is not filled)
    return np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(n_vocab,))


def run():
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(ids)
    t1 = time.perf_counter()
    out = []
    for _ in range(steps):
        nxt = int(np.argmax(last_logits()))
        out.append(nxt)
        llm.eval([nxt])
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, out


run()  # warm-up: pages the weights in
best_p, best_d, out = None, None, None
for _ in range(2):
    p, d, out = run()
    best_p = p if best_p is None else min(best_p, p)
    best_d = d if best_d is None else min(best_d, d)
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
print(json.dumps({"prompt_tokens": len(ids), "prefill_tps": len(ids) / best_p, "decode_tps": steps / best_d,
                  "peak_rss_mb": hwm, "greedy": out}))
