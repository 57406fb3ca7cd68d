"""Every intermediate tensor llama.cpp computes for a prompt and N greedy tokens, through its graph callback (cb_eval):
`python scripts/llama_cpp_dump.py MODEL.gguf OUT.npz [STEPS] [PROMPT]` writes OUT.npz with keys "{phase}|{name}|{op}"
(phase p for the prompt, d0, d1, ... for each decoded token), the logits and the tokens. Needs `.venv-llama`
(`make real-servers`). `scripts/compare_llama_dump.py` compares it with `gtr-bench llama-dump`'s files op by op;
that is how gtr's `LlamaRunner` was made to round as llama.cpp does (n_ctx 512, 2 threads, flash attention off: the
settings of `scripts/smollm2_logits_reference.py`)."""
import ctypes, sys, glob, os, json
import numpy as np
import llama_cpp as L

gguf = sys.argv[1]; out = sys.argv[2]; steps = int(sys.argv[3]) if len(sys.argv) > 3 else 2
libdir = os.path.dirname(L.__file__) + "/lib/"
base = ctypes.CDLL(libdir + "libggml-base.so")
base.ggml_op_desc.restype = ctypes.c_char_p; base.ggml_op_desc.argtypes = [ctypes.c_void_p]

class T(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("buffer", ctypes.c_void_p), ("ne", ctypes.c_int64 * 4), ("nb", ctypes.c_size_t * 4),
                ("op", ctypes.c_int), ("op_params", ctypes.c_int32 * 16), ("flags", ctypes.c_int32), ("src", ctypes.c_void_p * 10),
                ("view_src", ctypes.c_void_p), ("view_offs", ctypes.c_size_t), ("data", ctypes.c_void_p), ("name", ctypes.c_char * 64),
                ("extra", ctypes.c_void_p), ("padding", ctypes.c_char * 8)]

store = {}; phase = ["p"]; order = []
def grab(tp):
    t = T.from_address(tp)
    if t.type not in (0, 1) or not t.data: return
    es = 4 if t.type == 0 else 2
    ne = [t.ne[i] for i in range(4)]; nb = [t.nb[i] for i in range(4)]
    extent = sum((ne[i] - 1) * nb[i] for i in range(4)) + es
    buf = (ctypes.c_char * extent).from_address(t.data)
    a = np.frombuffer(buf, dtype=np.float32 if t.type == 0 else np.float16)
    a = np.lib.stride_tricks.as_strided(a, shape=ne[::-1], strides=nb[::-1]).copy()
    key = f"{phase[0]}|{t.name.decode()}|{base.ggml_op_desc(tp).decode()}"
    k = key; i = 1
    while k in store: i += 1; k = f"{key}#{i}"
    store[k] = a; order.append(k)

@L.ggml_backend_sched_eval_callback
def cb(tp, ask, ud):
    if ask: return True
    grab(tp); return True

L.llama_backend_init()
mp = L.llama_model_default_params()
model = L.llama_model_load_from_file(gguf.encode(), mp)
cp = L.llama_context_default_params()
cp.n_ctx = 512; cp.n_batch = 512; cp.n_ubatch = 512; cp.n_threads = 2; cp.n_threads_batch = 2
cp.flash_attn_type = L.LLAMA_FLASH_ATTN_TYPE_DISABLED
cp.cb_eval = cb
ctx = L.llama_init_from_model(model, cp)
vocab = L.llama_model_get_vocab(model)
text = sys.argv[4] if len(sys.argv) > 4 else "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
tb = text.encode(); toks = (L.llama_token * 1024)()
n = L.llama_tokenize(vocab, tb, len(tb), toks, 1024, False, True)
ids = [toks[i] for i in range(n)]
nv = L.llama_vocab_n_tokens(vocab)
def decode(ids):
    arr = (L.llama_token * len(ids))(*ids)
    assert L.llama_decode(ctx, L.llama_batch_get_one(arr, len(ids))) == 0
    p = L.llama_get_logits_ith(ctx, -1)
    return np.ctypeslib.as_array(p, shape=(nv,)).copy()
lg = decode(ids); logits = [lg]; gen = []
for s in range(steps):
    nxt = int(np.argmax(lg)); gen.append(nxt); phase[0] = f"d{s}"
    lg = decode([nxt]); logits.append(lg)
np.savez(out, **{k: store[k] for k in order}, __logits=np.array(logits), __ids=np.array(ids), __gen=np.array(gen))
json.dump(order, open(out + ".order.json", "w"))
print(len(order), "tensors;", n, "prompt tokens; gen", gen)
