"""Writes the JPEG golden files of `tests/formats.rs` (run from the repository root):

    /root/.cache/pisa-rs/venv/bin/python adapters/datasets/tests/data/make_jpeg_golden.py

For each case, a small deterministic image is encoded with Pillow's JPEG encoder (libjpeg-turbo)
into `<name>.jpg`, and the same file decoded by Pillow (libjpeg-turbo, its default "fancy"
chroma upsampling and islow IDCT) is written as raw bytes, row-major, channels interleaved,
into `<name>.raw`. `golden.json` records the shapes and the library versions.
"""

import json
import pathlib

import numpy as np
from PIL import Image, features

HERE = pathlib.Path(__file__).resolve().parent


def pattern(h, w):
    """Smooth gradients plus a sharp-edged square: exercises the IDCT and chroma upsampling."""
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 255 // max(w - 1, 1)).astype(np.uint8)
    g = (y * 255 // max(h - 1, 1)).astype(np.uint8)
    b = ((x * 7 + y * 13) % 256).astype(np.uint8)
    rgb = np.stack([r, g, b], axis=-1)
    rgb[h // 4 : h // 2, w // 4 : w // 2] = [250, 20, 60]
    return rgb


def noise(h, w):
    """Uniform noise blurred a little: every frequency, as in a photograph's texture."""
    rgb = np.random.default_rng(0).integers(0, 256, size=(h, w, 3)).astype(np.float64)
    rgb = (rgb + np.roll(rgb, 1, axis=0) + np.roll(rgb, 1, axis=1)) / 3
    return rgb.round().astype(np.uint8)


CASES = [
    # name, height, width, mode, subsampling (0 = 4:4:4, 2 = 4:2:0), quality
    ("rgb_420", 15, 23, "RGB", 2, 90),
    ("rgb_444", 16, 24, "RGB", 0, 95),
    ("gray", 13, 17, "L", 0, 90),
    ("noise_420", 40, 48, "RGB", 2, 75),
]

meta = {
    "pillow": Image.__version__ if hasattr(Image, "__version__") else None,
    "libjpeg_turbo": features.version("libjpeg_turbo"),
    "cases": [],
}
for name, h, w, mode, subsampling, quality in CASES:
    image = Image.fromarray(noise(h, w) if name.startswith("noise") else pattern(h, w))
    if mode == "L":
        image = image.convert("L")
    jpg = HERE / f"{name}.jpg"
    image.save(jpg, quality=quality, subsampling=subsampling)
    decoded = np.asarray(Image.open(jpg))
    (HERE / f"{name}.raw").write_bytes(decoded.tobytes())
    channels = 1 if decoded.ndim == 2 else decoded.shape[2]
    meta["cases"].append({"name": name, "height": h, "width": w, "channels": channels})
(HERE / "golden.json").write_text(json.dumps(meta, indent=1) + "\n")
print(json.dumps(meta))
