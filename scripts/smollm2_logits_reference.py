"""Reference next-token logits and greedy continuations for gtr's GGUF llama (issue 17 §9): llama.cpp (through
llama-cpp-python) runs SmolLM2-135M-Instruct Q4_1 on a few chat prompts. Writes
Tests/AgentsTests/Fixtures/smollm2-logits.json: for each prompt, its token ids, the top-5 next-token ids with
their logits, and 64 greedy tokens. Run with `make logits-reference` (needs `make real-servers`).
"""
import json
import sys
import numpy as np
from llama_cpp import Llama

gguf = sys.argv[1] if len(sys.argv) > 1 else "models/SmolLM2-135M-Instruct.Q4_1.gguf"
out = sys.argv[2] if len(sys.argv) > 2 else "Tests/AgentsTests/Fixtures/smollm2-logits.json"
system = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
users = [
    "What is the capital of France?",
    "You are playing 24 with the cards 4, 6, 2 and 3. Write a formula that makes 24.",
    "Describe a kitchen in one sentence.",
    "Write a short poem about the sea.",
    "You are in the middle of a room. Looking around you, you see a countertop 1, a drawer 1 and a fridge 1. Your task is to: put a clean mug in the coffeemachine. What do you do first, and why?",
]
llm = Llama(model_path=gguf, n_ctx=512, n_threads=2, logits_all=True, verbose=False, seed=0)
rows = []
for u in users:
    text = system + "<|im_start|>user\n" + u + "<|im_end|>\n<|im_start|>assistant\n"
    ids = llm.tokenize(text.encode(), add_bos=False, special=True)
    llm.reset()
    llm.eval(ids)
    logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
    top = list(np.argsort(-logits)[:5])
    greedy = []
    for _ in range(64):
        nxt = int(np.argmax(np.array(llm.scores[llm.n_tokens - 1])))
        greedy.append(nxt)
        if nxt == llm.token_eos():
            break
        llm.eval([nxt])
    rows.append({"prompt": text, "ids": ids, "top5": [int(t) for t in top], "top5_logits": [float(logits[t]) for t in top],
                 "greedy": greedy, "greedy_text": llm.detokenize(greedy).decode("utf-8", "replace")})
json.dump({"model": gguf.split("/")[-1], "reference": "llama-cpp-python " + __import__("llama_cpp").__version__, "rows": rows},
          open(out, "w"), ensure_ascii=False, indent=1)
print("wrote", out)
for r in rows: print(repr(r["greedy_text"][:120]))
