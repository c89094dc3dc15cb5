"""Golden values for the Newton–Schulz tests: PyTorch 2.11's own Muon iteration in bf16.

Run with the provisioned venv: `$PISA_PYTHON pisa-core/tests/golden/newton_schulz.py`
(writes newton_schulz.json beside this file).
"""
import json
import pathlib

import torch
from torch.optim._muon import _zeropower_via_newtonschulz

assert torch.__version__.startswith("2.11.0"), torch.__version__
G = torch.tensor([[1, 2, 0, -1, 0.5], [0, 1, 3, 1, -2], [2, -1, 1, 0, 1]], dtype=torch.float32)
out = _zeropower_via_newtonschulz(G, (3.4445, -4.7750, 2.0315), 5, 1e-7).float()
path = pathlib.Path(__file__).with_suffix(".json")
path.write_text(json.dumps({"torch": torch.__version__, "t7_bf16": out.flatten().tolist()}, indent=1) + "\n")
print(f"wrote {path}")
