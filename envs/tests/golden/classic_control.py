"""Golden data for the `envs` crate's classic-control environments, wrappers and seeding.

Run once through the provisioned venv (gymnasium is needed only here, never by the Rust build):

    eval "$(cargo xtask env)"
    $PISA_PYTHON -m pip install gymnasium
    $PISA_PYTHON envs/tests/golden/classic_control.py

It writes envs/tests/golden/classic_control.json (checked in), which `envs/tests/golden.rs` reproduces.
Every float is a plain JSON number. float64 values (states, rewards) use Python's shortest round-trip repr;
the workspace's serde_json has `float_roundtrip`, so Rust reads back the very same f64. float32 values
(observations, Pendulum actions) use their shortest float32 repr, which keeps the file under 200 KB; Rust
reads an f64 and casts it to f32, and `f32s` below checks that this gives back the very same float32.

Sections
- seeding: numpy's SeedSequence -> PCG64 words, raw outputs and uniform doubles for a few seeds.
- cartpole / pendulum: `reset(seed)` observations and states, then trajectories that start from a fixed
  initial state (set on `env.unwrapped.state` after reset) under a stored action sequence: observation,
  reward, terminated, truncated and the internal float64 state after every step.
- vector: SyncVectorEnv of CartPole-v1 + RecordEpisodeStatistics, both autoreset modes.
- running_mean_std: RunningMeanStd (float64) after a known sequence of batch updates.
- normalize_reward / normalize_observation: the wrappers over a Pendulum trajectory.
"""

import json
import math
import pathlib
import platform
import sys

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.wrappers import NormalizeObservation, NormalizeReward, RecordEpisodeStatistics
from gymnasium.wrappers.utils import RunningMeanStd

OUT = pathlib.Path(__file__).with_suffix(".json")
SEEDS = [0, 1, 42, 123, 2**32 + 7, 2**64 - 1]


def floats(a):
    """float64 values: Python's shortest repr round-trips exactly."""
    return [float(x) for x in np.asarray(a, dtype=np.float64).ravel()]


def f32s(a):
    """float32 values as their shortest float32 repr (half the size). The Rust side parses an f64 and casts it to
    f32; that double rounding is checked here to give back the very same float32."""
    out = []
    for x in np.asarray(a).ravel():
        v = np.float32(x)
        assert v == x, "not a float32 value"
        short = float(str(v))
        assert np.float32(short) == v, (v, short)
        out.append(short)
    return out


def seeding():
    out = []
    for seed in SEEDS:
        ss = np.random.SeedSequence(seed)
        words = [int(w) for w in ss.generate_state(4, np.uint64)]
        raw = [int(w) for w in np.random.PCG64(seed).random_raw(6)]
        rng = np.random.Generator(np.random.PCG64(seed))
        doubles = floats(rng.random(6))
        out.append({"seed": seed, "state_words": words, "raw": raw, "doubles": doubles})
    return out


def resets(env_id):
    out = []
    env = gym.make(env_id)
    for seed in SEEDS:
        obs, _ = env.reset(seed=seed)
        state = floats(env.unwrapped.state)
        obs2, _ = env.reset()  # no seed: continues the generator's stream
        state2 = floats(env.unwrapped.state)
        out.append(
            {"seed": seed, "obs": f32s(obs), "state": state, "next_obs": f32s(obs2), "next_state": state2}
        )
    env.close()
    return out


def trajectory(env_id, init_state, actions, make_action):
    env = gym.make(env_id)
    env.reset(seed=0)
    env.unwrapped.state = np.array(init_state, dtype=np.float64)
    steps = []
    for a in actions:
        obs, reward, terminated, truncated, _ = env.step(make_action(a))
        steps.append(
            {
                "obs": f32s(obs),
                "reward": float(reward),
                "terminated": bool(terminated),
                "truncated": bool(truncated),
                "state": floats(env.unwrapped.state),
            }
        )
    env.close()
    return {"init_state": [float(x) for x in init_state], "actions": actions, "steps": steps}


def cartpole():
    rng = np.random.default_rng(2024)
    trajs = []
    inits = [
        [0.01, -0.02, 0.03, 0.04],
        [0.0, 0.0, 0.0, 0.0],
        [-0.04, 0.03, -0.01, 0.02],
        [2.3, 0.5, 0.1, 0.2],  # leaves the track within a few steps
    ]
    lengths = [50, 100, 120, 20]  # most keep stepping after termination (reward 0 then)
    for init, n in zip(inits, lengths):
        actions = [int(a) for a in rng.integers(0, 2, size=n)]
        trajs.append(trajectory("CartPole-v1", init, actions, lambda a: a))
    return {"resets": resets("CartPole-v1"), "trajectories": trajs}


def pendulum():
    rng = np.random.default_rng(7)
    trajs = []
    inits = [
        [math.pi, 0.0],  # hanging down, at rest
        [0.1, -0.5],
        [-2.5, 6.0],
        [3.0, -7.9],
    ]
    for init, n in zip(inits, [200, 60, 60, 30]):  # the first reaches the 200-step truncation
        # float32 torques in [-2.5, 2.5]: some are clipped to the action bounds [-2, 2].
        actions = [f32s([np.float32(a)])[0] for a in rng.uniform(-2.5, 2.5, size=n)]
        trajs.append(trajectory("Pendulum-v1", init, actions, lambda a: np.array([a], dtype=np.float32)))
    return {"resets": resets("Pendulum-v1"), "trajectories": trajs}


def vector(mode):
    n, steps = 3, 60
    envs = gym.vector.SyncVectorEnv(
        [lambda: RecordEpisodeStatistics(gym.make("CartPole-v1")) for _ in range(n)], autoreset_mode=mode
    )
    rng = np.random.default_rng(11)
    actions = rng.integers(0, 2, size=(steps, n))
    obs, _ = envs.reset(seed=42)
    out = {"num_envs": n, "seed": 42, "reset_obs": [f32s(o) for o in obs], "actions": actions.tolist(), "steps": []}
    for t in range(steps):
        obs, rewards, terms, truncs, infos = envs.step(actions[t])
        rec = {
            "obs": [f32s(o) for o in obs],
            "rewards": floats(rewards),
            "terminated": [bool(x) for x in terms],
            "truncated": [bool(x) for x in truncs],
            "final_obs": [None] * n,
            "episode_r": [None] * n,
            "episode_l": [None] * n,
        }
        ep_src = infos
        if mode == AutoresetMode.SAME_STEP and "final_obs" in infos:
            for i in range(n):
                if infos["_final_obs"][i]:
                    rec["final_obs"][i] = f32s(infos["final_obs"][i])
            ep_src = infos.get("final_info", {})
        if "episode" in ep_src:
            for i in range(n):
                if ep_src["episode"]["_r"][i]:
                    rec["episode_r"][i] = float(ep_src["episode"]["r"][i])
                    rec["episode_l"][i] = int(ep_src["episode"]["l"][i])
        out["steps"].append(rec)
    envs.close()
    return out


def running_mean_std():
    rng = np.random.default_rng(3)
    rms = RunningMeanStd(shape=(3,))
    batches = []
    for size in [1, 5, 2, 17, 1, 8]:
        b = rng.normal(loc=[1.0, -2.0, 0.5], scale=[0.5, 3.0, 10.0], size=(size, 3))
        rms.update(b)
        batches.append({"rows": [floats(r) for r in b], "mean": floats(rms.mean), "var": floats(rms.var), "count": float(rms.count)})
    return batches


def normalize_wrappers():
    """NormalizeReward is float64 throughout, so it is compared as is. Gymnasium >= 1.0's NormalizeObservation keeps
    its statistics in float32 (its observation space became float32); ours are float64, like RunningMeanStd's default,
    so the float64 reference is computed here with the wrapper's own formula and the float32 wrapper's output is kept
    beside it to measure the difference."""
    rng = np.random.default_rng(5)
    actions = [f32s([np.float32(a)])[0] for a in rng.uniform(-2.0, 2.0, size=250)]  # 250 > 200: crosses a truncation

    env = NormalizeReward(gym.make("Pendulum-v1"), gamma=0.99, epsilon=1e-8)
    env.reset(seed=0)
    env.unwrapped.state = np.array([1.0, 0.0])
    rewards, raw_var = [], []
    for a in actions:
        _, r, term, trunc, _ = env.step(np.array([a], dtype=np.float32))
        rewards.append(float(r))  # float64
        raw_var.append(float(env.return_rms.var))
        if term or trunc:
            env.reset(seed=1)
            env.unwrapped.state = np.array([1.0, 0.0])

    env = NormalizeObservation(gym.make("Pendulum-v1"), epsilon=1e-8)
    env.reset(seed=0)
    env.unwrapped.state = np.array([1.0, 0.0])
    # The reset observation (from the random state) went into the wrapper's statistics: start both from scratch.
    env.obs_rms = RunningMeanStd(shape=(3,), dtype=np.float32)
    rms = RunningMeanStd(shape=(3,), dtype=np.float64)
    gym_obs, ref_obs = [], []
    for a in actions[:200]:
        o, _, _, _, _ = env.step(np.array([a], dtype=np.float32))
        raw = env.unwrapped._get_obs()
        rms.update(np.array([raw]))
        ref = np.float32((raw - rms.mean) / np.sqrt(rms.var + 1e-8))
        gym_obs.append(f32s(o))
        ref_obs.append(f32s(ref))
    return {
        "actions": actions,
        "normalize_reward": {"init_state": [1.0, 0.0], "gamma": 0.99, "epsilon": 1e-8, "rewards": rewards, "return_var": raw_var},
        "normalize_observation": {
            "init_state": [1.0, 0.0],
            "epsilon": 1e-8,
            "reference_f64_stats": ref_obs,
            "gymnasium_f32_stats": gym_obs,
            "final_mean": floats(rms.mean),
            "final_var": floats(rms.var),
            "final_count": float(rms.count),
        },
    }


def main():
    data = {
        "meta": {
            "gymnasium": gym.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "script": "envs/tests/golden/classic_control.py",
        },
        "seeding": seeding(),
        "cartpole": cartpole(),
        "pendulum": pendulum(),
        "vector_next_step": vector(AutoresetMode.NEXT_STEP),
        "vector_same_step": vector(AutoresetMode.SAME_STEP),
        "running_mean_std": running_mean_std(),
        "wrappers": normalize_wrappers(),
    }
    text = json.dumps(data, separators=(",", ":"))
    OUT.write_text(text + "\n")
    print(f"wrote {OUT} ({len(text) / 1024:.0f} KiB) with gymnasium {gym.__version__}, numpy {np.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
