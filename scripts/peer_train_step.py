#!/usr/bin/env python3
"""PyTorch peer for `make bench-peers`: one training step (forward, backward, AdamW) of the same decoder-only
transformer gtr-bench times (d_model 128, 4 layers, 4 heads, sequence 256, batch 8, vocabulary 128, GPT-2 style:
learned positions, pre-LayerNorm, fused-free q/k/v/o with bias, GELU-tanh MLP of 4·d, untied head), on CPU with
the given thread count. Prints one JSON line: ms per step (median), peak RSS, versions.

`peer_train_step.py alt PAIRS`: the 2-thread speed-up in one process, as `gtr-bench train-step-scaling` measures
gtr's: PAIRS rounds of 1 thread then 2 threads (torch.set_num_threads), one untimed step after each switch, then
two timed steps; prints the median and range of the per-round ratios."""
import json, resource, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

alternate = len(sys.argv) > 1 and sys.argv[1] == "alt"
threads = 2 if alternate else (int(sys.argv[1]) if len(sys.argv) > 1 else 1)
steps = int(sys.argv[2]) if len(sys.argv) > 2 else (9 if alternate else 10)
torch.set_num_threads(threads)
torch.manual_seed(0)
V, D, L, H, T, B = 128, 128, 4, 4, 256, 8

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.n1, self.n2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.q, self.k, self.v, self.o = (nn.Linear(D, D) for _ in range(4))
        self.up, self.down = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)
    def forward(self, x):
        h = self.n1(x)
        q, k, v = (m(h).view(B, T, H, D // H).transpose(1, 2) for m in (self.q, self.k, self.v))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.o(a.transpose(1, 2).reshape(B, T, D))
        return x + self.down(F.gelu(self.up(self.n2(x)), approximate="tanh"))

class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed, self.pos = nn.Embedding(V, D), nn.Embedding(T, D)
        self.blocks = nn.ModuleList(Block() for _ in range(L))
        self.norm, self.head = nn.LayerNorm(D), nn.Linear(D, V, bias=False)
    def forward(self, ids):
        x = self.embed(ids) + self.pos(torch.arange(T))
        for b in self.blocks: x = b(x)
        return self.head(self.norm(x))

model = GPT()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
ids = torch.randint(0, V, (B, T)); targets = torch.randint(0, V, (B, T))
def step():
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(ids).view(-1, V), targets.view(-1))
    loss.backward(); opt.step()
    return loss.item()
for _ in range(3): step()
if alternate:
    def timed(n):
        torch.set_num_threads(n); step()
        t = time.perf_counter(); step(); step()
        return (time.perf_counter() - t) / 2
    ratios, one, two = [], [], []
    for _ in range(steps):
        a, b = timed(1), timed(2)
        ratios.append(a / b); one.append(a); two.append(b)
    ratios.sort(); one.sort(); two.sort()
    print(json.dumps({"median": ratios[steps // 2], "lo": ratios[0], "hi": ratios[-1], "pairs": steps,
                      "ms1": one[steps // 2] * 1000, "ms2": two[steps // 2] * 1000}))
    sys.exit(0)
times = []
for _ in range(steps):
    t = time.perf_counter(); step(); times.append(time.perf_counter() - t)
times.sort()
print(json.dumps({"ms": times[len(times) // 2] * 1000, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "torch": torch.__version__, "threads": threads, "params": sum(p.numel() for p in model.parameters())}))
