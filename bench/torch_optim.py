#!/usr/bin/env python3
"""PyTorch baseline for `cargo xtask bench optim`: time torch.optim.AdamW step().

For each shape set in the shapes file (bench/shapes.json) this creates float32 parameters on the
device (torch.manual_seed(0), randn * 0.02) with fixed gradients (randn * 1e-3), then times
`AdamW(lr=1e-3, foreach=True)` and `AdamW(lr=1e-3, fused=True)`: warm-up steps, then timed
steps, each measured with time.perf_counter (with torch.cuda.synchronize on CUDA).

Prints one JSON line per (shape set, optimizer) in the schema that pisa-core's `bench_optim`
example also prints:
  {"impl": "pytorch", "optimizer": "adamw-foreach", "nodes": 1, "shape_set": "cnn",
   "device": "cpu", "params": ..., "ms_per_step": <median>, "ms_min": ..., "state_bytes": ...,
   "steps": ...}
state_bytes counts the optimizer's persistent state tensors, without the scalar `step`.

Shape sets: "cnn" is a small ResNet-style CIFAR-10 network (3x3 stem conv with 64 channels,
one basic block per stage at 64/128/256 channels with 1x1 projection shortcuts, BatchNorm gains
and biases, Linear 256 -> 10; 1,227,594 parameters); "gpt2-124m" is GPT-2 small in PyTorch
(Hugging Face) layout with the tied head counted once (124,439,808 parameters).

Usage: python bench/torch_optim.py --shapes bench/shapes.json --device cpu [--quick]
"""

import argparse
import json
import math
import os
import statistics
import sys
import time
import warnings

# torch warns at import when numpy is missing; this script does not need numpy.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402

# Steps per (shape set, device): (warm-up, timed). GPT-2 on CPU is ~0.5 GB of parameters, so
# it gets few steps; CUDA steps are cheap.
STEPS = {
    ("cnn", "cpu"): (5, 50),
    ("cnn", "cuda"): (10, 200),
    ("gpt2-124m", "cpu"): (2, 10),
    ("gpt2-124m", "cuda"): (10, 100),
}
QUICK_STEPS = {
    ("cnn", "cpu"): (2, 10),
    ("cnn", "cuda"): (3, 20),
    ("gpt2-124m", "cpu"): (1, 3),
    ("gpt2-124m", "cuda"): (3, 10),
}
DEFAULT_STEPS = (3, 20)
QUICK_DEFAULT_STEPS = (1, 3)

VARIANTS = {
    "adamw-foreach": {"foreach": True},
    "adamw-fused": {"fused": True},
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", required=True, help="JSON file: {shape_set: [[dims], ...]}")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--quick", action="store_true", help="a few steps only (rough timings)")
    return parser.parse_args()


def cpu_cores():
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def make_params(shapes, device):
    """float32 parameters (randn * 0.02) with fixed gradients (randn * 1e-3), seed 0."""
    torch.manual_seed(0)
    params = []
    for shape in shapes:
        p = (torch.randn(shape) * 0.02).to(device).requires_grad_(True)
        p.grad = (torch.randn(shape) * 1e-3).to(device)
        params.append(p)
    return params


def state_bytes(optimizer):
    """Bytes of the optimizer's persistent state tensors, the scalar `step` excluded."""
    total = 0
    for state in optimizer.state.values():
        for key, value in state.items():
            if key != "step" and torch.is_tensor(value):
                total += value.numel() * value.element_size()
    return total


def time_steps(optimizer, device, warmup, steps):
    """Per-step wall times in milliseconds for `steps` timed calls after `warmup` untimed ones."""
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for _ in range(warmup):
        optimizer.step()
    sync()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        optimizer.step()
        sync()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def main():
    args = parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("torch_optim.py: --device cuda asked for, but torch.cuda.is_available() is False")
    torch.set_num_threads(cpu_cores())
    with open(args.shapes) as f:
        shape_sets = json.load(f)

    for shape_set, shapes in shape_sets.items():
        table = QUICK_STEPS if args.quick else STEPS
        default = QUICK_DEFAULT_STEPS if args.quick else DEFAULT_STEPS
        warmup, steps = table.get((shape_set, args.device), default)
        params = make_params(shapes, args.device)
        n_params = sum(math.prod(s) for s in shapes)
        for name, flags in VARIANTS.items():
            optimizer = torch.optim.AdamW(params, lr=1e-3, **flags)
            times = time_steps(optimizer, args.device, warmup, steps)
            record = {
                "impl": "pytorch",
                "optimizer": name,
                "nodes": 1,
                "shape_set": shape_set,
                "device": args.device,
                "params": n_params,
                "ms_per_step": statistics.median(times),
                "ms_min": min(times),
                "state_bytes": state_bytes(optimizer),
                "steps": steps,
            }
            print(json.dumps(record), flush=True)
            del optimizer
        del params
        if args.device == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
