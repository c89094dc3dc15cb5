"""nanoGPT-style GPT-2 training steps in PyTorch eager: the baseline of `cargo xtask bench llm`.

The same architecture as the `llm` crate (Hugging Face GPT-2: learned positions, LayerNorm with
bias, GELU-tanh, biases everywhere, tied head, fused causal attention), the same presets, batch,
sequence length, synthetic token stream, thread count and device. One JSON line per optimizer:

    {"impl": "pytorch", "optimizer": "adamw", "tokens_per_s": ..., "step_ms": ..., "opt_ms": ...}

AdamW: torch.optim.AdamW (betas 0.9/0.95, wd 0.1; `fused=True` on CUDA, foreach on CPU).
Muon: torch.optim.Muon (lr 0.02, momentum 0.95) on the 2-D hidden matrices, AdamW on the rest
(embeddings, biases, LayerNorms), as the `llm` crate's groups.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {
    "test": dict(n_positions=64, n_embd=32, n_layer=2, n_head=2),
    "tiny": dict(n_positions=128, n_embd=128, n_layer=4, n_head=4),
    "nano": dict(n_positions=1024, n_embd=768, n_layer=12, n_head=6),
    "gpt2": dict(n_positions=1024, n_embd=768, n_layer=12, n_head=12),
    "gpt2-medium": dict(n_positions=1024, n_embd=1024, n_layer=24, n_head=16),
}
VOCAB = 50257


class Block(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.h, d // self.h).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.c_proj(y.transpose(1, 2).contiguous().view(b, t, d))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, n_positions, n_embd, n_layer, n_head):
        super().__init__()
        self.wte = nn.Embedding(VOCAB, n_embd)
        self.wpe = nn.Embedding(n_positions, n_embd)
        self.h = nn.ModuleList(Block(n_embd, n_head) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, idx, targets):
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.view(-1, VOCAB), targets.reshape(-1))


def optimizers(name, model, device):
    fused = device.startswith("cuda")
    kw = dict(betas=(0.9, 0.95), fused=True) if fused else dict(betas=(0.9, 0.95), foreach=True)
    if name == "adamw":
        return [torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1, **kw)]
    if name == "muon":
        hidden = [p for n, p in model.named_parameters() if n.startswith("h.") and p.dim() == 2]
        rest = [p for n, p in model.named_parameters() if not (n.startswith("h.") and p.dim() == 2)]
        return [
            torch.optim.Muon(hidden, lr=0.02, momentum=0.95, weight_decay=0.0),
            torch.optim.AdamW(rest, lr=3.6e-3, weight_decay=0.0, **kw),
        ]
    raise SystemExit(f"unknown optimizer {name}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--optimizers", default="adamw,muon")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    device = "cuda" if a.device == "cuda" else "cpu"
    torch.manual_seed(0)
    stream = torch.tensor([(i * 7919) % VOCAB for i in range(200_000)], dtype=torch.int64)
    gen = torch.Generator().manual_seed(0)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for name in a.optimizers.split(","):
        model = GPT(**PRESETS[a.preset]).to(device)
        opts = optimizers(name, model, device)
        params = sum(p.numel() for p in model.parameters())
        steps, opt_times = [], []
        for step in range(a.steps + 2):
            starts = torch.randint(0, len(stream) - a.seq - 1, (a.batch,), generator=gen)
            win = torch.stack([stream[s : s + a.seq + 1] for s in starts.tolist()]).to(device)
            sync()
            t0 = time.perf_counter()
            for o in opts:
                o.zero_grad(set_to_none=True)
            with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=a.bf16):
                loss = model(win[:, :-1], win[:, 1:])
            loss.backward()
            sync()
            t1 = time.perf_counter()
            for o in opts:
                o.step()
            sync()
            t2 = time.perf_counter()
            if step >= 2:
                steps.append(t2 - t0)
                opt_times.append(t2 - t1)
        steps.sort()
        opt_times.sort()
        s, o = steps[len(steps) // 2], opt_times[len(opt_times) // 2]
        state = sum(
            t.numel() * t.element_size()
            for opt in opts
            for st in opt.state.values()
            for t in st.values()
            if torch.is_tensor(t) and t.dim() > 0
        )
        pbytes = sum(p.numel() * p.element_size() for p in model.parameters())
        print(json.dumps({
            "impl": "pytorch", "optimizer": name, "nodes": 1, "preset": a.preset, "params": params,
            "batch": a.batch, "seq": a.seq, "device": device, "step_ms": s * 1e3, "opt_ms": o * 1e3,
            "opt_share": o / s, "tokens_per_s": a.batch * a.seq / s,
            "state_bytes": state, "state_buffers": state / pbytes, "loss": float(loss.detach()),
        }), flush=True)
        assert math.isfinite(float(loss.detach()))


if __name__ == "__main__":
    main()
