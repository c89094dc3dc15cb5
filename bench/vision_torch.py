"""PyTorch baseline of `cargo xtask bench vision`: training images per second of the same vision
model, batch, augmentation and optimizer as pisa-rs's `vision-bench`, data loading included.

    python bench/vision_torch.py --images cifar10-train.bin --model resnet18 --steps 6 --warmup 2 --threads 2

- Data: CIFAR-10 binary records (one label byte, then 3×32×32 pixel bytes, R, G, B planes), as
  `vision-bench --dump FILE` writes the images pisa-rs trains on (no PIL or torchvision here).
- Augmentation, per item in the Dataset's __getitem__ with torch ops, as torchvision's
  `RandomCrop(32, padding=4)`, `RandomHorizontalFlip()`, `ToTensor()` and
  `Normalize(CIFAR-10 mean, std)` do it on a uint8 image: zero padding 4, a uniform crop
  offset in [0, 8]², a flip with probability ½, /255, per-channel standardization.
- Loading: `torch.utils.data.DataLoader(batch_size, shuffle=True, drop_last=True,
  num_workers=2, persistent_workers=True)`, default prefetch (2 batches per worker) and no
  pinned memory; each worker sets `torch.set_num_threads(1)` (worker_init_fn), the training
  process `torch.set_num_threads(--threads)`.
- Model: the definitions of `vision/tests/reference_models.py` (pytorch-cifar's VGG-11,
  ResNet-18/34, DenseNet-121 and torchvision's ResNet-18), checked there to equal pisa-rs's;
  10 classes; training mode.
- Optimizer: `torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=5e-4)` (defaults otherwise),
  cross-entropy loss.

Timing: --warmup untimed steps (they include starting the workers), then --steps steps timed
whole, from the wait for the step's batch to the update; the loss is read (`item()`) right after
the forward pass, as pisa-rs's optimizer protocol reads it. Prints one JSON line.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vision", "tests"))
from reference_models import MODELS  # noqa: E402

# CIFAR10_NORMALIZE of vision::data (pytorch-cifar's values).
MEAN = torch.tensor([0.4914, 0.4822, 0.4465]).view(3, 1, 1)
STD = torch.tensor([0.2023, 0.1994, 0.2010]).view(3, 1, 1)
RECORD = 1 + 3 * 32 * 32
PAD = 4


class Cifar10Records(torch.utils.data.Dataset):
    """CIFAR-10 binary records with the training augmentation applied per item."""

    def __init__(self, path):
        records = np.fromfile(path, dtype=np.uint8)
        if records.size == 0 or records.size % RECORD:
            raise ValueError(f"{path}: {records.size} bytes is not a whole number of {RECORD}-byte records")
        records = records.reshape(-1, RECORD)
        self.labels = torch.from_numpy(records[:, 0].astype(np.int64))
        self.images = torch.from_numpy(np.ascontiguousarray(records[:, 1:])).view(-1, 3, 32, 32)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, j):
        image = self.images[j]
        side = image.shape[-1]
        # RandomCrop(32, padding=4): zero-pad, then a crop at a uniform offset of the padded image
        padded = F.pad(image, (PAD, PAD, PAD, PAD))
        top, left = torch.randint(0, 2 * PAD + 1, (2,)).tolist()
        image = padded[:, top:top + side, left:left + side]
        # RandomHorizontalFlip()
        if torch.rand(1).item() < 0.5:
            image = image.flip(-1)
        # ToTensor(), Normalize(mean, std)
        x = image.float().div_(255.0).sub_(MEAN).div_(STD)
        return x, self.labels[j]


def one_thread(_worker_id):
    """worker_init_fn: one torch thread per loader process."""
    torch.set_num_threads(1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--images", required=True, help="CIFAR-10 binary records (vision-bench --dump)")
    p.add_argument("--model", default="resnet18", choices=sorted(MODELS))
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    dev = torch.device(a.device)

    data = Cifar10Records(a.images)
    if len(data) < a.batch:
        raise SystemExit(f"--images: {len(data)} images is less than one batch of {a.batch}")
    loader = torch.utils.data.DataLoader(
        data, batch_size=a.batch, shuffle=True, drop_last=True, num_workers=a.workers,
        persistent_workers=a.workers > 0, worker_init_fn=one_thread)
    make, _, _, _ = MODELS[a.model]
    model = make(10).to(dev).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)

    def batches():
        while True:  # epoch after epoch; the workers persist
            yield from loader

    def step(x, y):
        x, y = x.to(dev), y.to(dev)
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        value = loss.item()
        loss.backward()
        opt.step()
        return value

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    stream = batches()
    for _ in range(a.warmup):
        step(*next(stream))
    sync()
    start, wait_s, loss = time.perf_counter(), 0.0, float("nan")
    for _ in range(a.steps):
        waiting = time.perf_counter()
        x, y = next(stream)
        wait_s += time.perf_counter() - waiting
        loss = step(x, y)
    sync()
    seconds = time.perf_counter() - start
    print(json.dumps({
        "side": "pytorch",
        "torch": torch.__version__,
        "model": a.model,
        "optimizer": "sgd",
        "nodes": 1,
        "device": a.device,
        "threads": torch.get_num_threads(),
        "loader_threads": a.workers,
        "batch": a.batch,
        "examples": len(data),
        "warmup": a.warmup,
        "steps": a.steps,
        "seconds": seconds,
        "wait_s": wait_s,
        "images_per_s": a.steps * a.batch / seconds,
        "loss": loss,
    }))


if __name__ == "__main__":
    main()
