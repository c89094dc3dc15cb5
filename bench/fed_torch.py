"""Federated rounds on MNIST in PyTorch, the baseline of `cargo xtask bench fed`: the rounds of
pisa-rs's `fed train --dataset mnist --partition label:1 --clients 10` (SISA with one step per
round from the clients' full local gradients, and FedAvg), on the same data, model and batches.

    python bench/fed_torch.py --algorithm sisa --rounds 5 --threads 1

- Data: the MNIST IDX files of --data, pixels / 255; client i holds every training sample of
  digit i (`label:1` with 10 clients), α_i = n_i / n.
- Model: NIID-Bench's SimpleCNNMNIST (conv 1→6 k5, pool, conv 6→16 k5, pool, fc 256→120→84→10).
- SISA (spec §3.3, §6; the `[fed.sisa]` preset): client i's full local gradient is
  (1/B) Σ ∇ℓ_j over the first ⌊n_i/B⌋·B samples of the round's shuffle, in chunks of 256, at the
  global weights w; then e = g + π_i, v_i ← βv_i + (1−β)e², D = σ + ρ(√(v_i/(1−β)) + ε),
  w_i = w − e/D, π_i += σ(w_i − w), acc += α_i(σw_i + π_i); after all clients w = acc/(σ + λ).
  The bias correction is frozen at 1/(1−β) as in the authors' federated code; σ/0.997 every
  10 rounds.
- FedAvg (NIID-Bench's `train_net`): each client starts from the global weights and runs one
  epoch of mini-batch SGD (fresh torch.optim.SGD: lr, momentum, coupled weight decay; batches
  of B from a shuffle, the last partial batch dropped); then w = Σ α_i w_i.

Subnormal floats are computed as such unless --flush-denormal (libtorch's default, which
pisa-rs keeps); a run whose activations or gradients pass through subnormals can be several
times slower in those rounds.

Every round is timed whole (shuffles, clients, aggregation); nothing is evaluated. Prints one
JSON line with the seconds of every round; the caller drops the warm-up round.
"""

import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class SimpleCNNMNIST(nn.Module):
    """NIID-Bench's `SimpleCNNMNIST(input_dim=16*4*4, hidden_dims=[120, 84], output_dim=10)`."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 4 * 4, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 4 * 4)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def read_idx(path, offset):
    with open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load_clients(data, clients):
    """Client i: every training sample of digit i, inputs in [0, 1], as contiguous tensors."""
    images = read_idx(os.path.join(data, "train-images-idx3-ubyte"), 16)
    labels = read_idx(os.path.join(data, "train-labels-idx1-ubyte"), 8)
    x = torch.from_numpy(images.copy()).float().div_(255.0).view(-1, 1, 28, 28)
    y = torch.from_numpy(labels.astype(np.int64))
    return [(x[y == i].contiguous(), y[y == i].contiguous()) for i in range(clients)]


def covered(n, batch):
    """Samples the round's mini-batches cover: ⌊n/B⌋·B (drop_last), or n when n < B."""
    return (n // batch) * batch or n


class SisaRound:
    """SISA with the clients as nodes: per-client π_i and v_i as flat tensors."""

    def __init__(self, model, alpha, args):
        self.model, self.alpha, self.args = model, alpha, args
        self.params = [p for p in model.parameters() if p.requires_grad]
        size = sum(p.numel() for p in self.params)
        self.pi = [torch.zeros(size) for _ in alpha]
        self.v = [torch.zeros(size) for _ in alpha]

    @torch.no_grad()
    def node_step(self, i, w, g, acc, sigma):
        a = self.args
        e = g.add_(self.pi[i])
        self.v[i].mul_(a.beta).addcmul_(e, e, value=1.0 - a.beta)
        d = self.v[i].div(1.0 - a.beta).sqrt_().add_(a.eps).mul_(a.rho).add_(sigma)
        w_i = w.sub(e.div_(d))
        self.pi[i].add_(w_i.sub(w).mul_(sigma))
        acc.add_(w_i.mul_(sigma).add_(self.pi[i]), alpha=self.alpha[i])

    def run(self, clients, round_):
        a = self.args
        sigma = a.sigma / 0.997 ** (round_ // 10)
        with torch.no_grad():
            w = nn.utils.parameters_to_vector(self.params)
        acc = torch.zeros_like(w)
        losses = []
        for i, (x, y) in enumerate(clients):
            n = covered(len(y), a.batch)
            order = torch.randperm(len(y))[:n]
            self.model.zero_grad(set_to_none=True)
            total = 0.0
            for start in range(0, n, a.chunk):
                ids = order[start:start + a.chunk]
                loss = F.cross_entropy(self.model(x[ids]), y[ids], reduction="sum")
                total += loss.item()
                (loss / min(a.batch, n)).backward()
            g = torch.cat([p.grad.reshape(-1) for p in self.params])
            self.node_step(i, w, g, acc, sigma)
            losses.append(total / n)
        with torch.no_grad():
            nn.utils.vector_to_parameters(acc.div_(sigma + a.lam), self.params)
        return sum(al * l for al, l in zip(self.alpha, losses))


class FedAvgRound:
    """NIID-Bench's FedAvg round: local SGD per client from the global weights, then the average."""

    def __init__(self, model, alpha, args):
        self.model, self.alpha, self.args = model, alpha, args
        self.params = [p for p in model.parameters() if p.requires_grad]

    def run(self, clients, round_):
        a = self.args
        with torch.no_grad():
            w = [p.detach().clone() for p in self.params]
            acc = [torch.zeros_like(p) for p in self.params]
        losses = []
        for i, (x, y) in enumerate(clients):
            with torch.no_grad():
                for p, g in zip(self.params, w):
                    p.copy_(g)
            opt = torch.optim.SGD(self.params, lr=a.lr, momentum=a.momentum, weight_decay=a.weight_decay)
            n = covered(len(y), a.batch)
            order = torch.randperm(len(y))
            total, steps = 0.0, 0
            for start in range(0, n, a.batch):
                ids = order[start:start + a.batch]
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(self.model(x[ids]), y[ids])
                loss.backward()
                opt.step()
                total, steps = total + loss.item(), steps + 1
            with torch.no_grad():
                torch._foreach_add_(acc, self.params, alpha=self.alpha[i])
            losses.append(total / max(steps, 1))
        with torch.no_grad():
            for p, s in zip(self.params, acc):
                p.copy_(s)
        return sum(al * l for al, l in zip(self.alpha, losses))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--algorithm", choices=["sisa", "fedavg"], required=True)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data", default="data/mnist")
    p.add_argument("--clients", type=int, default=10)
    p.add_argument("--batch", type=int, default=64, help="clients' mini-batch size B")
    p.add_argument("--chunk", type=int, default=256, help="samples per forward pass of SISA's full gradient")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=1e-5)
    p.add_argument("--sigma", type=float, default=1e3)
    p.add_argument("--rho", type=float, default=1e2)
    p.add_argument("--lam", type=float, default=5e-3)
    p.add_argument("--beta", type=float, default=0.999)
    p.add_argument("--eps", type=float, default=1e-8)
    p.add_argument("--flush-denormal", action="store_true",
                   help="treat subnormal floats as zero (torch.set_flush_denormal); off by default, as in pisa-rs")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(args.flush_denormal)
    torch.manual_seed(args.seed)

    clients = load_clients(args.data, args.clients)
    sizes = [len(y) for _, y in clients]
    alpha = [n / sum(sizes) for n in sizes]
    model = SimpleCNNMNIST()
    params = sum(p.numel() for p in model.parameters())
    algorithm = (SisaRound if args.algorithm == "sisa" else FedAvgRound)(model, alpha, args)

    round_s, loss = [], float("nan")
    for r in range(args.rounds):
        start = time.perf_counter()
        loss = algorithm.run(clients, r)
        round_s.append(time.perf_counter() - start)
    print(json.dumps({
        "side": "pytorch",
        "algorithm": args.algorithm,
        "torch": torch.__version__,
        "threads": args.threads,
        "flush_denormal": args.flush_denormal,
        "clients": args.clients,
        "samples": sum(sizes),
        "params": params,
        "round_s": round_s,
        "train_loss": loss,
    }))


if __name__ == "__main__":
    main()
