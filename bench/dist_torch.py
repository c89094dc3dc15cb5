"""The MNIST CNN's data-parallel iteration in PyTorch DDP (gloo), the baseline of
`cargo xtask bench dist`: the same model, batch and thread count as pisa-rs's `mnist-dist`.

    python -m torch.distributed.run --standalone --nproc_per_node 2 bench/dist_torch.py --batch 256

Every rank builds the same batch from --seed and takes its slice of batch / world examples; DDP
all-reduces the gradients (gloo), AdamW steps. Rank 0 prints one JSON line.
"""

import argparse
import json
import os
import time

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F


class Cnn(nn.Module):
    """conv(1→16, 5) → ReLU → pool → conv(16→32, 5) → ReLU → pool → fc(512→64) → ReLU → fc(64→10)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5)
        self.conv2 = nn.Conv2d(16, 32, 5)
        self.fc1 = nn.Linear(512, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        dist.init_process_group("gloo")
    torch.manual_seed(args.seed)
    x = torch.randn(args.batch, 1, 28, 28)
    y = torch.randint(10, (args.batch,))
    model = Cnn()
    params = sum(p.numel() for p in model.parameters())
    if world > 1:
        model = nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    per = args.batch // world
    xs, ys = x[rank * per:(rank + 1) * per], y[rank * per:(rank + 1) * per]

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xs), ys)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    if world > 1:
        dist.barrier()
    start = time.perf_counter()
    for _ in range(args.iters):
        loss = step()
    if world > 1:
        dist.barrier()
    seconds = time.perf_counter() - start
    if rank == 0:
        print(json.dumps({
            "side": "pytorch-ddp",
            "optimizer": "adamw",
            "ranks": world,
            "batch": args.batch,
            "threads": args.threads,
            "iters": args.iters,
            "s_per_iter": seconds / args.iters,
            "iters_per_s": args.iters / seconds,
            "params": params,
            "payload_bytes_per_iter": 4 * params if world > 1 else 0,
            "loss": loss,
        }))
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
