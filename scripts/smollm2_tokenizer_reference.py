"""Reference token ids for gtr's GGUF tokenizer (issue 17): llama.cpp (through llama-cpp-python, vocabulary only)
tokenizes a fixed prompt set with SmolLM2-135M-Instruct's GGUF. Writes Tests/AgentsTests/Fixtures/smollm2-tokens.json.
Run with `make tokenizer-reference` (needs .venv-llama from `make real-servers` and the GGUF from `make model`).
"""
import json
import sys
from llama_cpp import Llama

gguf = sys.argv[1] if len(sys.argv) > 1 else "models/SmolLM2-135M-Instruct.Q4_1.gguf"
out = sys.argv[2] if len(sys.argv) > 2 else "Tests/AgentsTests/Fixtures/smollm2-tokens.json"
prompts = [
    "Hello, world!",
    "The cards are 10, 8, 8 and 3: (10-8)*8/3 is not 24.",
    "24 = 3 * 8; 123456789 0.5 -7 1e10 ½ ²",
    "I'm sure you've seen it; they'll say we'd won. It's THEIR 'quote'.",
    "  leading spaces,   runs of   spaces, trailing   ",
    "line one\nline two\n\n\tindented\r\nwindows\n",
    "unicode: café naïve Zürich Ελληνικά русский 中文 日本語 한국어 emoji 🙂👍🏽 — “quotes” …",
    '{"cards": [10, 8, 8, 3], "formula": "(10-8)*8/3", "thoughts": "I should add a number.", "action": "3"}',
    "def f(x):\n    return x ** 2  # square\n",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    "<|im_start|>user\nSolve 24 with 1, 2, 3 and 4.<|im_end|>\n<|im_start|>assistant\n",
    "You are in the middle of a room. Looking quickly around you, you see a cabinet 4, a countertop 1.",
    "",
    " ",
    "a",
    "\u00a0non-breaking\u2003em-space\u3000ideographic",
]
llm = Llama(model_path=gguf, vocab_only=True, verbose=False)
rows = []
for p in prompts:
    ids = llm.tokenize(p.encode("utf-8"), add_bos=False, special=True)
    rows.append({"text": p, "ids": ids})
json.dump({"model": gguf.split("/")[-1], "reference": "llama-cpp-python " + __import__("llama_cpp").__version__,
           "rows": rows}, open(out, "w"), ensure_ascii=False, indent=1)
print("wrote", out, len(rows), "prompts")
