#!/usr/bin/env python3
"""PyTorch peer for `make bench-peers`: gtr's batched greedy generation (TinyVLM.generateRows) on the identical
model and inputs. Rebuilds the default agent (36 visual tokens from linear patch embeddings + RMSNorm + patch
positions, then text; a d128 L4 llama-style decoder: RMSNorm, SwiGLU, RoPE on halves, tied embeddings; value head)
from Sources/Agents/DefaultAgent/model.safetensors, and reads the 8 inputs and gtr's own answers from
`gtr-bench gen-inputs FILE.json`.

Usage: peer_generate.py THREADS [REPS] [INPUTS.json]
Counting, as gtr does: greedy, at most max_new_tokens per row, a row stops at <eos> (counted); at batch 8 a
finished row keeps its slot (fed <pad>) until every row is done. Batch 1 runs the 8 rows one after another;
batch 8 left-pads the prompts and masks the padding so each row computes what it computes alone.
Checks that every row's tokens equal gtr's at both batch sizes and that the first-step logits agree (exit 1
otherwise, naming the first differing position); prints one JSON line (tokens/s are medians of REPS runs)."""
import json, struct, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
inputs_path = sys.argv[3] if len(sys.argv) > 3 else ".build/peer-gen-inputs.json"
torch.set_num_threads(threads)
LOGIT_TOL = 1e-4


def load_safetensors(path):
    """{name: float32 tensor}: an 8-byte little-endian header length, a JSON header, then the raw data."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header, base = json.loads(raw[8:8 + n]), 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__": continue
        assert t["dtype"] == "F32", f"{name}: {t['dtype']}"
        a, b = t["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(raw, dtype="<f4", count=(b - a) // 4, offset=base + a).reshape(t["shape"]).copy())
    return out


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(d)), eps
    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.h, self.hkv, self.hd = c["heads"], c["kvHeads"], c["dModel"] // c["heads"]
        self.q = nn.Linear(c["dModel"], self.h * self.hd, bias=False)
        self.k = nn.Linear(c["dModel"], self.hkv * self.hd, bias=False)
        self.v = nn.Linear(c["dModel"], self.hkv * self.hd, bias=False)
        self.o = nn.Linear(self.h * self.hd, c["dModel"], bias=False)
    def forward(self, x, rope, cache, layer, mask):
        b, t, _ = x.shape
        q = self.q(x).view(b, t, self.h, self.hd).transpose(1, 2)
        k = self.k(x).view(b, t, self.hkv, self.hd).transpose(1, 2)
        v = self.v(x).view(b, t, self.hkv, self.hd).transpose(1, 2)
        past = 0 if cache[layer] is None else cache[layer][0].shape[2]
        q, k = rope(q, past), rope(k, past)
        if cache[layer] is not None:
            k, v = torch.cat([cache[layer][0], k], 2), torch.cat([cache[layer][1], v], 2)
        cache[layer] = (k, v)
        if self.hkv != self.h:  # query head h reads kv head h // (H / Hkv)
            k, v = k.repeat_interleave(self.h // self.hkv, 1), v.repeat_interleave(self.h // self.hkv, 1)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.o(y.transpose(1, 2).reshape(b, t, self.h * self.hd))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, f = c["dModel"], c["ffnHidden"]
        self.norm1, self.norm2 = RMSNorm(d, c["normEps"]), RMSNorm(d, c["normEps"])
        self.attn = Attention(c)
        self.gate, self.up, self.down = nn.Linear(d, f, bias=False), nn.Linear(d, f, bias=False), nn.Linear(f, d, bias=False)
    def forward(self, x, rope, cache, layer, mask):
        x = x + self.attn(self.norm1(x), rope, cache, layer, mask)
        h = self.norm2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class TinyVLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg["transformer"]
        assert c["positions"] == "rope" and c["ropePairing"] == "halves" and c["tieEmbeddings"] and not c["bias"]
        assert c["norm"] == "rms" and c["activation"] == "swiglu"
        d, p = c["dModel"], (cfg["imageSide"] // cfg["downsample"] // cfg["patch"]) ** 2
        self.patch_embed = nn.Linear(cfg["patch"] ** 2 * 3, d)
        self.patch_norm = RMSNorm(d, 1e-5)  # gtr's RMSNorm default eps, not the decoder's normEps
        self.patch_positions = nn.Embedding(p, d)
        self.embed = nn.Embedding(c["vocabSize"], d)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c["layers"]))
        self.final_norm = RMSNorm(d, c["normEps"])
        self.value_hidden, self.value_out = nn.Linear(d, cfg["valueHidden"]), nn.Linear(cfg["valueHidden"], 1)
        # RoPE tables for every position: θ_i = base^(−2i/D) and the angles in float64 (as gtr), then float32
        hd = d // c["heads"]
        theta = c["ropeBase"] ** (-2.0 * torch.arange(hd // 2, dtype=torch.float64) / hd)
        ang = torch.arange(c["maxSequence"], dtype=torch.float64)[:, None] * theta
        self.cos, self.sin = ang.cos().float().repeat(1, 2), ang.sin().float().repeat(1, 2)

    def load(self, w):
        """gtr's parameter names (model.decoder.blocks.0.attn.q.weight, …) onto this module's."""
        names = {"decoder.embed.weight": "embed.weight", "decoder.final_norm.weight": "final_norm.weight",
                 "value.hidden.weight": "value_hidden.weight", "value.hidden.bias": "value_hidden.bias",
                 "value.out.weight": "value_out.weight", "value.out.bias": "value_out.bias"}
        state = {}
        for k, t in w.items():
            k = k.removeprefix("model.")
            if k == "pixel_mean": continue  # already subtracted from the patches gtr exports
            k = names.get(k, k.removeprefix("decoder.").replace("mlp.", ""))
            state[k] = t
        self.load_state_dict(state, strict=True)

    def rope(self, x, past):
        """Rotates pairs (x[i], x[i + D/2]) of (B, H, T, D) by the angles of positions past..<past+T."""
        t, half = x.shape[2], x.shape[3] // 2
        cos, sin = self.cos[past:past + t], self.sin[past:past + t]
        return x * cos + torch.cat([-x[..., half:], x[..., :half]], -1) * sin

    def embed_rows(self, patches, texts, pads):
        """(B, T0, C): each row is [zeros for its left padding] + 36 visual tokens + its text embeddings."""
        vis = self.patch_norm(self.patch_embed(patches)) + self.patch_positions.weight
        rows = [torch.cat([vis.new_zeros(pad, vis.shape[2]), vis[r], self.embed(torch.tensor(ids))])
                for r, (ids, pad) in enumerate(zip(texts, pads))]
        return torch.stack(rows)

    def hidden(self, x, cache, pads):
        b, t, _ = x.shape
        s = t + (0 if cache[0] is None else cache[0][0].shape[2])
        # keys j a query at absolute position i sees: j ≤ i and not the row's left padding; a padding query sees
        # only itself (gtr outputs zeros there), so no row of the softmax is empty
        qpos, kpos = torch.arange(s - t, s).view(1, t, 1), torch.arange(s).view(1, 1, s)
        mask = (((kpos <= qpos) & (kpos >= pads.view(-1, 1, 1))) | (kpos == qpos)).unsqueeze(1)
        if t == 1 and not pads.any(): mask = None  # one new token, no padding: it sees every key
        for i, blk in enumerate(self.blocks):
            x = blk(x, self.rope, cache, i, mask)
        return self.final_norm(x)

    def logits(self, h):
        return h @ self.embed.weight.T


def generate(model, patches, texts, max_new, pad_id, eos_id):
    """gtr's generateRows, greedy: returns per-row tokens, their log-probs, the first step's logits and values."""
    b = len(texts)
    longest = max(len(t) for t in texts)
    pads = torch.tensor([longest - len(t) for t in texts])
    cache = [None] * len(model.blocks)
    last = model.hidden(model.embed_rows(patches, texts, pads), cache, pads)[:, -1]
    values = model.value_out(F.relu(model.value_hidden(last))).view(b)
    done = torch.zeros(b, dtype=torch.bool)
    steps, first = [], None
    for _ in range(max_new):
        logits = model.logits(last)
        first = logits if first is None else first
        lp = logits.log_softmax(-1)
        nxt = logits.argmax(-1)
        # what gtr scores per token: log-prob and entropy of the chosen token's distribution
        steps.append((nxt, lp.gather(1, nxt[:, None])[:, 0], -(lp.exp() * lp).sum(-1), done.clone()))
        fed = torch.where(done, torch.tensor(pad_id), nxt)  # rows finished earlier keep their slot, fed <pad>
        done |= nxt == eos_id
        if bool(done.all()): break
        last = model.hidden(model.embed(fed[:, None]), cache, pads)[:, -1]
    tokens = [[int(s[0][r]) for s in steps if not s[3][r]] for r in range(b)]
    logprobs = [[float(s[1][r]) for s in steps if not s[3][r]] for r in range(b)]
    return tokens, logprobs, first, values


def check(name, got, want):
    """Exits 1 at the first row whose tokens differ from gtr's, naming the position."""
    for r, (g, w) in enumerate(zip(got, want)):
        if g != w:
            pos = next((i for i, (a, b) in enumerate(zip(g, w)) if a != b), min(len(g), len(w)))
            print(f"{name}: row {r} differs from gtr at token {pos}: torch {g[pos:pos + 5]} gtr {w[pos:pos + 5]}", file=sys.stderr)
            sys.exit(1)
    print(f"{name}: {len(got)}/{len(want)} rows match gtr's greedy tokens", file=sys.stderr)


data = json.load(open(inputs_path))
cfg = json.load(open(data["model_dir"] + "/config.json"))["model"]
model = TinyVLM(cfg)
model.load(load_safetensors(data["model_dir"] + "/model.safetensors"))
model.eval()
rows = data["rows"]
P, PD = data["patch_shape"]
patches = torch.tensor([r["patches"] for r in rows], dtype=torch.float32).view(len(rows), P, PD)
texts = [r["prompt_ids"] for r in rows]
gen = lambda idx: generate(model, patches[idx], [texts[i] for i in idx], data["max_new_tokens"], data["pad_id"], data["eos_id"])
want = [r["tokens"] for r in rows]
gtr_logits = torch.tensor([r["first_logits"] for r in rows])

with torch.inference_mode():
    # correctness: every row alone and all 8 at once give gtr's tokens; logits, log-probs and values agree
    solo = [gen([i]) for i in range(len(rows))]
    batch = gen(list(range(len(rows))))
    check("batch 1", [s[0][0] for s in solo], want)
    check("batch 8", batch[0], want)
    # The 8 prompts are equally long; a ninth row with 7 more prompt ids makes the batch left-pad the 8 by 7
    longer = texts[0][:-1] + texts[0][1:8] + texts[0][-1:]
    padded = generate(model, torch.cat([patches, patches[:1]]), texts + [longer], data["max_new_tokens"], data["pad_id"], data["eos_id"])
    check("batch 9, the 8 left-padded", padded[0][:len(rows)], want)
    d1 = (torch.cat([s[2] for s in solo]) - gtr_logits).abs().max().item()
    d8 = max((batch[2] - gtr_logits).abs().max().item(), (padded[2][:len(rows)] - gtr_logits).abs().max().item())
    dlp = max(abs(a - b) for s, r in zip(solo, rows) for a, b in zip(s[1][0], r["logprobs"]))
    dv = max(abs(float(s[3][0]) - r["value"]) for s, r in zip(solo, rows))
    print(f"first-step logits max |torch − gtr|: batch 1 {d1:.2e}, batch 8 and 9 {d8:.2e}; log-probs {dlp:.2e}; values {dv:.2e}", file=sys.stderr)
    if max(d1, d8) > LOGIT_TOL:
        print(f"first-step logits differ from gtr's by more than {LOGIT_TOL}", file=sys.stderr)
        sys.exit(1)

    # speed: tokens/s, median of reps (the correctness runs above were the warm-up)
    def tok_s(run):
        r = []
        for _ in range(reps):
            t = time.perf_counter(); n = run(); r.append(n / (time.perf_counter() - t))
        return sorted(r)[len(r) // 2]
    b1 = tok_s(lambda: sum(len(gen([i])[0][0]) for i in range(len(rows))))
    b8 = tok_s(lambda: sum(len(t) for t in gen(list(range(len(rows))))[0]))

print(json.dumps({"b1_tok_s": round(b1, 1), "b8_tok_s": round(b8, 1), "threads": threads, "torch": torch.__version__,
                  "match": True, "tokens": sum(map(len, want)), "max_new_tokens": data["max_new_tokens"], "stop_at_eos": True,
                  "logit_max_diff": max(d1, d8)}))
