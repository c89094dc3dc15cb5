"""Golden values for the baseline optimizers (`pisa-core/tests/baselines.rs`).

Run with the provisioned venv, with the reference packages installed beside it (`--no-deps`:
they run on the venv's torch; pytorch-ranger, tabulate and colorama are only import-time
dependencies of torch-optimizer and adabelief-pytorch):
    $PISA_PYTHON -m pip install --target /tmp/refopt --no-deps adabelief-pytorch==0.2.1 \
        adabound==0.0.5 torch-optimizer==0.3.0 timm==1.0.31 pytorch-ranger==0.1.1 tabulate colorama
    git clone https://github.com/juntang-zhuang/Adabelief-Optimizer /tmp/adabelief-repo
    git -C /tmp/adabelief-repo checkout 2855178eff6776762793f915ce2c615f776a1e4b
    ADABELIEF_REPO=/tmp/adabelief-repo PYTHONPATH=/tmp/refopt $PISA_PYTHON pisa-core/tests/golden/baselines.py
(writes baselines.json beside this file). The committed values were made with
ATEN_CPU_CAPABILITY=avx2 (see `tolerance` in baselines.rs).

References, one per optimizer:
  sgd, rmsprop, adam, adamw, muon   torch.optim of PyTorch 2.11.0 (CPU, single-tensor path)
  adabelief                         adabelief_pytorch.AdaBelief 0.2.1 (the authors' package)
  radam                             torch.optim.RAdam of PyTorch 2.11.0
  adabound                          adabound.AdaBound 0.0.5 (the authors' package)
  yogi                              torch_optimizer.Yogi 0.3.0
  adan                              timm.optim.adan.Adan 1.0.31 (the authors' code; its module
                                    is loaded alone, without importing the rest of timm)
  msvag, fromage                    MSVAG.py and Fromage.py of the AdaBelief repository's CIFAR
                                    experiments (PyTorch_Experiments/classification_cifar10/
                                    optimizers/ at the commit above; not on PyPI)
  lamb                              `LambReference` below: a float64 transcription of
                                    You et al. 2019, Algorithm 2 (PyTorch has no LAMB)
  muon's non-matrix parameters      torch.optim.AdamW with the `adamw_*` settings

A case's `schedule` (the Rust learning-rate multiplier r_t, from iteration 0) is applied to the
reference the way a PyTorch scheduler does: `group["lr"] = lr * r_t` before step t.

Each case starts from fixed parameters and takes STEPS steps. The gradient at each step is that
of a fixed quartic loss at the reference's current parameters plus fixed noise, rounded to 10
significant digits (to keep the file small); it is stored, so the Rust test feeds exactly the
same gradients and compares the parameters after every step.

Numbers are stored as strings (Python's shortest round-trip `repr`): Rust's `str::parse` reads
them back exactly, while serde_json's default float parsing may be off by one ulp.
"""
import contextlib
import importlib.metadata
import io
import json
import pathlib
import sys
import types

import torch

assert torch.__version__.startswith("2.11.0"), torch.__version__
with contextlib.redirect_stdout(io.StringIO()):  # adabelief prints a banner on import/use
    from adabelief_pytorch import AdaBelief
import adabound
import torch_optimizer

VERSIONS = {pkg: importlib.metadata.version(pkg)
            for pkg in ("adabelief-pytorch", "adabound", "torch-optimizer", "timm")}
assert VERSIONS == {"adabelief-pytorch": "0.2.1", "adabound": "0.0.5", "torch-optimizer": "0.3.0",
                    "timm": "1.0.31"}, VERSIONS


def _timm_adan():
    """`timm.optim.adan.Adan` without `timm/__init__.py` (which imports the models and
    torchvision): `timm/optim` as a bare package holding only `adan` and its `_helpers`."""
    import importlib.util
    spec = importlib.util.find_spec("timm")
    optim_dir = pathlib.Path(spec.submodule_search_locations[0]) / "optim"
    package = types.ModuleType("timm_optim")
    package.__path__ = [str(optim_dir)]
    sys.modules["timm_optim"] = package
    return importlib.import_module("timm_optim.adan").Adan


Adan = _timm_adan()


def _adabelief_repo(name):
    """Class `name` from the AdaBelief repository's CIFAR optimizers (`$ADABELIEF_REPO`)."""
    import importlib.util
    import os
    path = (pathlib.Path(os.environ["ADABELIEF_REPO"]) / "PyTorch_Experiments" / "classification_cifar10"
            / "optimizers" / f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"adabelief_repo_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


MSVAG, Fromage = _adabelief_repo("MSVAG"), _adabelief_repo("Fromage")

STEPS = 7  # AdaBelief's rectification switches from SGD to adaptive steps at t = 6
SHAPES = {"a": [4, 3], "b": [3], "c": [2, 3, 2]}
SHAPES_0D = {"a": [4, 3], "b": [3], "s": [], "c": [2, 3, 2]}  # with a 0-dim (scalar) parameter
MUON_SHAPES = {"w": [4, 3], "v": [3, 5], "b": [3], "k": [2, 3, 2]}


class LambReference:
    """LAMB, You et al. (2019) "Large Batch Optimization for Deep Learning", Algorithm 2, with
    φ(z) = z, transcribed line by line in float64. Per variable x⁽ⁱ⁾:
        m_t = β₁ m_{t−1} + (1 − β₁) g_t
        v_t = β₂ v_{t−1} + (1 − β₂) g_t²
        m̂_t = m_t / (1 − β₁ᵗ);  v̂_t = v_t / (1 − β₂ᵗ)
        r_t = m̂_t / (√v̂_t + ε)
        x_{t+1} = x_t − η ‖x_t‖ / ‖r_t + λ x_t‖ · (r_t + λ x_t)
    with the trust ratio taken as 1 when either norm is zero."""

    def __init__(self, params, lr, betas, eps, weight_decay):
        self.params, self.lr, self.betas, self.eps, self.wd = list(params), lr, betas, eps, weight_decay
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    @torch.no_grad()
    def step(self):
        self.t += 1
        b1, b2 = self.betas
        for x, m, v in zip(self.params, self.m, self.v):
            g = x.grad
            m.copy_(b1 * m + (1 - b1) * g)
            v.copy_(b2 * v + (1 - b2) * g * g)
            m_hat = m / (1 - b1**self.t)
            v_hat = v / (1 - b2**self.t)
            r = m_hat / (v_hat.sqrt() + self.eps)
            u = r + self.wd * x
            x_norm, u_norm = x.norm().item(), u.norm().item()
            ratio = x_norm / u_norm if x_norm > 0 and u_norm > 0 else 1.0
            x.sub_(self.lr * ratio * u)


class MuonWithAdamW:
    """torch.optim.Muon on the matrices (a >2-D parameter as its [shape₀, rest] matrix, which
    is how pisa-core defines Muon there) and torch.optim.AdamW on everything else."""

    def __init__(self, named, cfg):
        self.named = named
        self.mats = {n: torch.nn.Parameter(p.detach().reshape(p.shape[0], -1).clone())
                     for n, p in named.items() if p.dim() >= 2}
        others = [p for p in named.values() if p.dim() < 2]
        self.muon = torch.optim.Muon(
            list(self.mats.values()), lr=cfg["lr"], momentum=cfg["momentum"], nesterov=cfg["nesterov"],
            weight_decay=cfg["weight_decay"], adjust_lr_fn=cfg["adjust_lr_fn"])
        self.adamw = torch.optim.AdamW(others, lr=cfg["adamw_lr"], betas=tuple(cfg["adamw_betas"]),
                                       eps=cfg["adamw_eps"], weight_decay=cfg["adamw_weight_decay"])

    @torch.no_grad()
    def step(self):
        for n, m in self.mats.items():
            m.grad = self.named[n].grad.reshape(m.shape).clone()
        self.muon.step()
        self.adamw.step()
        for n, m in self.mats.items():
            self.named[n].copy_(m.reshape(self.named[n].shape))


def build(cfg, named):
    c = dict(cfg)
    name = c.pop("name")
    params = list(named.values())
    if name == "sgd":
        return torch.optim.SGD(params, **c)
    if name == "rmsprop":
        if "smoothing" in c:  # pisa-core's name for PyTorch's `alpha` (which holds node weights)
            c["alpha"] = c.pop("smoothing")
        return torch.optim.RMSprop(params, **c)
    if name in ("adam", "adamw"):
        c["betas"] = tuple(c.get("betas", (0.9, 0.999)))
        return (torch.optim.Adam if name == "adam" else torch.optim.AdamW)(params, **c)
    if name == "adabelief":
        c["betas"] = tuple(c.get("betas", (0.9, 0.999)))
        with contextlib.redirect_stdout(io.StringIO()):
            return AdaBelief(params, print_change_log=False, **c)
    if name == "lamb":
        return LambReference(params, c["lr"], tuple(c["betas"]), c["eps"], c["weight_decay"])
    if name == "muon":
        return MuonWithAdamW(named, c)
    if name == "radam":
        c["betas"] = tuple(c.get("betas", (0.9, 0.999)))
        return torch.optim.RAdam(params, foreach=False, **c)
    if name == "adabound":
        c["betas"] = tuple(c.get("betas", (0.9, 0.999)))
        return adabound.AdaBound(params, **c)
    if name == "yogi":
        c["betas"] = tuple(c.get("betas", (0.9, 0.999)))
        return torch_optimizer.Yogi(params, **c)
    if name == "adan":
        c["betas"] = tuple(c.get("betas", (0.98, 0.92, 0.99)))
        return Adan(params, foreach=False, **c)
    if name == "msvag":
        c["betas"] = tuple(c.get("betas", (0.9, 0.999)))
        return MSVAG(params, **c)
    if name == "fromage":
        return Fromage(params, **c)
    raise ValueError(name)


def short(t):
    """`t` rounded to 10 significant digits (in float64, before the cast to the case's dtype)."""
    values = [float(f"{x:.10g}") for x in t.flatten().tolist()]
    return torch.tensor(values, dtype=torch.float64).reshape(t.shape)


def text(t):
    """Exact decimal strings of a tensor's values, flattened."""
    return [repr(x) for x in t.double().flatten().tolist()]


def lr_factor(schedule, t):
    """r_t of pisa-core's `piecewise` schedule at iteration t (from 0), multiplied in the same
    order as Rust's `Iterator::product` (from 1.0)."""
    if schedule is None:
        return 1.0
    assert schedule["kind"] == "piecewise", schedule
    r = 1.0
    for m, f in zip(schedule["milestones"], schedule["factors"]):
        if m <= t:
            r *= f
    return r


def run_case(case_id, cfg, dtype, shapes, seed):
    gen = torch.Generator().manual_seed(seed)
    rand = lambda shape: torch.randn(shape, generator=gen, dtype=torch.float64)
    init = {n: short(rand(s)) for n, s in shapes.items()}
    # Loss Σ_n Σ h ⊙ (x − c)² / 2 + 0.05 Σ x⁴ with fixed curvature h > 0 and centre c.
    curv = {n: 0.5 + rand(s).abs() for n, s in shapes.items()}
    centre = {n: rand(s) for n, s in shapes.items()}
    named = {n: torch.nn.Parameter(p.clone().to(dtype)) for n, p in init.items()}
    schedule = cfg.get("schedule")
    opt = build({k: v for k, v in cfg.items() if k != "schedule"}, named)
    grads, expected = [], []
    for t in range(STEPS):
        if schedule is not None:
            for group in opt.param_groups:
                group["lr"] = cfg["lr"] * lr_factor(schedule, t)
        with torch.no_grad():
            step_grads = {}
            for n, p in named.items():
                x = p.double()
                g = curv[n] * (x - centre[n]) + 0.2 * x**3 + 0.3 * rand(x.shape)
                step_grads[n] = short(g).to(dtype)
        for n, p in named.items():
            p.grad = step_grads[n].clone()
        with contextlib.redirect_stdout(io.StringIO()):
            opt.step()
        grads.append([text(step_grads[n]) for n in named])
        expected.append([text(p.detach()) for p in named.values()])
    return {
        "id": case_id,
        "config": cfg,
        "dtype": {torch.float64: "f64", torch.float32: "f32"}[dtype],
        "params": [{"name": n, "shape": s, "init": text(init[n].to(dtype))}
                   for n, s in shapes.items()],
        "grads": grads,
        "expected": expected,
    }


F64, F32 = torch.float64, torch.float32
CASES = [
    # (id, Rust config, dtype, shapes)
    ("sgd_plain", {"name": "sgd", "lr": 0.05}, F64, SHAPES),
    ("sgd_momentum_wd", {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}, F64, SHAPES),
    ("sgd_nesterov", {"name": "sgd", "lr": 0.03, "momentum": 0.8, "nesterov": True}, F64, SHAPES),
    ("sgd_dampening", {"name": "sgd", "lr": 0.03, "momentum": 0.7, "dampening": 0.3, "weight_decay": 0.1},
     F64, SHAPES),
    ("rmsprop_plain", {"name": "rmsprop", "lr": 0.01}, F64, SHAPES),
    ("rmsprop_momentum_wd", {"name": "rmsprop", "lr": 0.01, "smoothing": 0.9, "momentum": 0.5,
                             "weight_decay": 0.05, "eps": 1e-6}, F64, SHAPES),
    ("rmsprop_centered", {"name": "rmsprop", "lr": 0.005, "centered": True}, F64, SHAPES),
    ("rmsprop_centered_momentum", {"name": "rmsprop", "lr": 0.005, "centered": True, "momentum": 0.9,
                                   "smoothing": 0.95}, F64, SHAPES),
    ("adam", {"name": "adam", "lr": 0.01}, F64, SHAPES),
    ("adam_wd", {"name": "adam", "lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.1},
     F64, SHAPES),
    ("adamw", {"name": "adamw", "lr": 0.01, "weight_decay": 0.1}, F64, SHAPES),
    ("adamw_f32", {"name": "adamw", "lr": 0.01, "weight_decay": 0.1}, F32, SHAPES),
    ("adabelief_default", {"name": "adabelief", "lr": 0.01}, F64, SHAPES),
    ("adabelief_plain", {"name": "adabelief", "lr": 0.01, "rectify": False, "weight_decouple": False,
                         "eps": 1e-8}, F64, SHAPES),
    ("adabelief_decoupled", {"name": "adabelief", "lr": 0.01, "rectify": False, "weight_decay": 0.1},
     F64, SHAPES),
    ("adabelief_fixed_decay", {"name": "adabelief", "lr": 0.01, "weight_decay": 0.01,
                               "fixed_decay": True, "betas": [0.9, 0.99]}, F64, SHAPES),
    ("adabelief_coupled_rectify", {"name": "adabelief", "lr": 0.01, "weight_decay": 0.05,
                                   "weight_decouple": False}, F64, SHAPES),
    ("adabelief_no_sgd_warmup", {"name": "adabelief", "lr": 0.01, "degenerated_to_sgd": False,
                                 "betas": [0.8, 0.99]}, F64, SHAPES),
    ("lamb", {"name": "lamb", "lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-6, "weight_decay": 0.0},
     F64, SHAPES),
    ("lamb_wd", {"name": "lamb", "lr": 0.02, "betas": [0.8, 0.99], "eps": 1e-8, "weight_decay": 0.05},
     F64, SHAPES),
    ("muon_original", {"name": "muon", "lr": 0.02, "momentum": 0.95, "nesterov": True, "weight_decay": 0.1,
                       "adjust_lr_fn": "original", "adamw_lr": 0.003, "adamw_betas": [0.9, 0.95],
                       "adamw_eps": 1e-10, "adamw_weight_decay": 0.0}, F32, MUON_SHAPES),
    ("muon_rms_adamw", {"name": "muon", "lr": 0.01, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0,
                        "adjust_lr_fn": "match_rms_adamw", "adamw_lr": 0.001, "adamw_betas": [0.8, 0.99],
                        "adamw_eps": 1e-8, "adamw_weight_decay": 0.01}, F32, MUON_SHAPES),
    # The baselines added later, after the others so that those keep their seeds.
    ("radam", {"name": "radam", "lr": 0.01}, F64, SHAPES_0D),
    ("radam_wd", {"name": "radam", "lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.1},
     F64, SHAPES_0D),
    ("radam_decoupled", {"name": "radam", "lr": 0.01, "weight_decay": 0.1,
                         "decoupled_weight_decay": True}, F64, SHAPES_0D),
    ("radam_f32", {"name": "radam", "lr": 0.01, "weight_decay": 0.05}, F32, SHAPES_0D),
    ("adabound", {"name": "adabound", "lr": 0.01}, F64, SHAPES_0D),
    ("adabound_wd", {"name": "adabound", "lr": 0.01, "betas": [0.8, 0.99], "final_lr": 0.05,
                     "gamma": 0.1, "weight_decay": 0.1}, F64, SHAPES_0D),
    ("adabound_schedule", {"name": "adabound", "lr": 0.05, "final_lr": 0.02, "gamma": 0.5,
                           "schedule": {"kind": "piecewise", "milestones": [2, 4], "factors": [0.3, 0.5]}},
     F64, SHAPES_0D),
    ("amsbound", {"name": "adabound", "lr": 0.01, "final_lr": 0.05, "gamma": 0.2, "amsbound": True,
                  "weight_decay": 0.01}, F64, SHAPES_0D),
    ("adabound_f32", {"name": "adabound", "lr": 0.01, "gamma": 0.1, "weight_decay": 0.05}, F32, SHAPES_0D),
    ("yogi", {"name": "yogi", "lr": 0.01}, F64, SHAPES_0D),
    ("yogi_wd", {"name": "yogi", "lr": 0.02, "betas": [0.8, 0.99], "eps": 1e-4, "initial_accumulator": 0.1,
                 "weight_decay": 0.1}, F64, SHAPES_0D),
    ("yogi_f32", {"name": "yogi", "lr": 0.01, "weight_decay": 0.05}, F32, SHAPES_0D),
    ("adan", {"name": "adan", "lr": 0.01}, F64, SHAPES_0D),
    ("adan_wd", {"name": "adan", "lr": 0.01, "betas": [0.9, 0.8, 0.95], "eps": 1e-6, "weight_decay": 0.1},
     F64, SHAPES_0D),
    ("adan_no_prox", {"name": "adan", "lr": 0.01, "weight_decay": 0.1, "no_prox": True}, F64, SHAPES_0D),
    ("adan_schedule", {"name": "adan", "lr": 0.02, "weight_decay": 0.05,
                       "schedule": {"kind": "piecewise", "milestones": [3], "factors": [0.1]}}, F64, SHAPES_0D),
    ("adan_f32", {"name": "adan", "lr": 0.01, "weight_decay": 0.05}, F32, SHAPES_0D),
    ("msvag", {"name": "msvag", "lr": 0.05}, F64, SHAPES_0D),
    ("msvag_wd", {"name": "msvag", "lr": 0.1, "betas": [0.8, 0.99], "weight_decay": 0.05}, F64, SHAPES_0D),
    ("msvag_one_beta", {"name": "msvag", "lr": 0.05, "betas": [0.9, 0.9]}, F64, SHAPES_0D),
    ("msvag_f32", {"name": "msvag", "lr": 0.05, "weight_decay": 0.01}, F32, SHAPES_0D),
    ("fromage", {"name": "fromage", "lr": 0.01}, F64, SHAPES_0D),
    ("fromage_schedule", {"name": "fromage", "lr": 0.05,
                          "schedule": {"kind": "piecewise", "milestones": [2, 5], "factors": [0.5, 0.1]}},
     F64, SHAPES_0D),
    ("fromage_f32", {"name": "fromage", "lr": 0.02}, F32, SHAPES_0D),
]

cases = [run_case(cid, cfg, dtype, shapes, seed) for seed, (cid, cfg, dtype, shapes) in enumerate(CASES)]
path = pathlib.Path(__file__).with_suffix(".json")
golden = {
    "torch": torch.__version__,
    "adabelief_pytorch": VERSIONS["adabelief-pytorch"],
    "adabound": VERSIONS["adabound"],
    "torch_optimizer": VERSIONS["torch-optimizer"],
    "timm": VERSIONS["timm"],
    "adabelief_repository": "juntang-zhuang/Adabelief-Optimizer@2855178eff6776762793f915ce2c615f776a1e4b",
    "steps": STEPS,
    "cases": cases,
}
path.write_text(json.dumps(golden, separators=(",", ":")) + "\n")
print(f"wrote {path} ({path.stat().st_size} bytes, {len(cases)} cases)")
