"""Golden FID for gan/src/fid.rs, computed ONCE with scipy (the pytorch-fid / TTUR formula).

Run from the repository root with the project's venv python:

    $PISA_PYTHON -m pip install scipy==1.16.3
    $PISA_PYTHON gan/tests/golden/fid_golden.py

Writes fid_features.bin (two float64 little-endian sets [200, 24], set A then set B) and
fid.json (the FID between them) next to this script.
"""
import json
import os

import numpy as np
import scipy
from scipy import linalg

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20250214)
a = rng.standard_normal((200, 24)) @ rng.standard_normal((24, 24)) * 0.3 + 0.1
b = rng.standard_normal((200, 24)) @ rng.standard_normal((24, 24)) * 0.25 - 0.2
np.stack([a, b]).astype("<f8").tofile(os.path.join(here, "fid_features.bin"))

mu1, mu2 = a.mean(0), b.mean(0)
s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
covmean = covmean.real
fid = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))
with open(os.path.join(here, "fid.json"), "w") as f:
    json.dump({"fid": fid, "scipy": scipy.__version__, "numpy": np.__version__}, f, indent=1)
print(fid)
