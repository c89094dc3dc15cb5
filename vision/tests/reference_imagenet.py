"""Writes `reference_imagenet.json` for `tests/imagenet.rs`: torchvision's ImageNet transforms on
small images, to check `vision::imagenet` against (run from the repository root):

    PYTHONPATH=<torchvision> /root/.cache/pisa-rs/venv/bin/python vision/tests/reference_imagenet.py

(torch 2.11, torchvision 0.26 — `pip install --target <dir> --no-deps torchvision==0.26.0` —
and Pillow 13). Every image is a deterministic pattern given in the file (HWC bytes).

- `eval`: `v2.Resize(resize, antialias=False)` + `v2.CenterCrop(crop)` on the uint8 tensor
  (`output`, CHW bytes: torch's CPU uint8 kernel), the same on the image as float32 rounded back
  to bytes (`float`, the path of GPU or float tensors), and on the PIL image (`pil`, which
  antialiases when downscaling) for comparison.
- `resized_crop`: `v2.functional.resized_crop(..., antialias=False)` of a box, uint8 (`output`)
  and float32 rounded (`float`).
- `fallback`: `RandomResizedCrop.get_params` for images where no random box fits, so the
  ten attempts fail and the centre-crop fallback is returned (checked to be the same 20 times).
- `sizes`: the size after `Resize(256)` and the `CenterCrop(224)` offsets, for common shapes.
"""

import json
import pathlib

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

HERE = pathlib.Path(__file__).resolve().parent


def pattern(h, w, seed):
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([(x * 37 + y * 11 + seed) % 256, (y * 53 + seed * 3) % 256, ((x * y * 7) ^ seed) % 256], -1)
    return rgb.astype(np.uint8)


def chw(hwc):
    return torch.from_numpy(np.array(hwc)).permute(2, 0, 1).contiguous()


out = {
    "torch": torch.__version__,
    "torchvision": torchvision.__version__,
    "pillow": PIL.__version__,
    "eval": [],
    "resized_crop": [],
    "fallback": [],
    "sizes": [],
}

for h, w, resize, crop, seed in [(11, 17, 8, 7, 1), (5, 4, 9, 8, 2), (9, 30, 4, 3, 3), (24, 20, 13, 12, 4)]:
    image = pattern(h, w, seed)
    t = v2.Compose([v2.Resize(resize, antialias=False), v2.CenterCrop(crop)])
    got = t(chw(image))
    pil = v2.Compose([v2.Resize(resize), v2.CenterCrop(crop)])(Image.fromarray(image))
    out["eval"].append(
        {
            "height": h,
            "width": w,
            "resize": resize,
            "crop": crop,
            "input": image.flatten().tolist(),
            "output": got.flatten().tolist(),
            "float": t(chw(image).float()).round().to(torch.uint8).flatten().tolist(),
            "pil": chw(np.asarray(pil)).flatten().tolist(),
        }
    )

for h, w, box, size, seed in [(13, 19, (2, 3, 9, 7), 6, 5), (13, 19, (0, 0, 13, 19), 24, 6), (8, 8, (1, 2, 3, 5), 10, 7)]:
    image = pattern(h, w, seed)
    got = F.resized_crop(chw(image), *box, size=[size, size], antialias=False)
    out["resized_crop"].append(
        {
            "height": h,
            "width": w,
            "box": list(box),
            "size": size,
            "input": image.flatten().tolist(),
            "output": got.flatten().tolist(),
            "float": F.resized_crop(chw(image).float(), *box, size=[size, size], antialias=False)
            .round()
            .to(torch.uint8)
            .flatten()
            .tolist(),
        }
    )

torch.manual_seed(0)
for h, w in [(200, 10), (10, 200), (100, 3), (3, 100), (1, 50)]:
    image = torch.zeros(1, h, w)
    boxes = {v2.RandomResizedCrop.get_params(image, [0.08, 1.0], [3 / 4, 4 / 3]) for _ in range(20)}
    assert len(boxes) == 1, (h, w, boxes)
    out["fallback"].append({"height": h, "width": w, "box": list(boxes.pop())})

for h, w in [(375, 500), (500, 375), (333, 500), (480, 640), (257, 1023), (224, 224), (100, 299), (300, 257)]:
    coords = (torch.arange(h)[:, None] * 10000 + torch.arange(w)[None, :]).double()[None]
    resized = v2.Resize(256, antialias=False)(torch.zeros(1, h, w))
    rh, rw = resized.shape[1:]
    coords = (torch.arange(rh)[:, None] * 10000 + torch.arange(rw)[None, :]).double()[None]
    first = int(v2.CenterCrop(224)(coords)[0, 0, 0])
    out["sizes"].append({"height": h, "width": w, "resized": [rh, rw], "center": [first // 10000, first % 10000]})

(HERE / "reference_imagenet.json").write_text(json.dumps(out) + "\n")
print({k: (v if isinstance(v, str) else len(v)) for k, v in out.items()})
