"""Golden trajectories of Gymnasium 1.4's v5 MuJoCo tasks on MuJoCo 3.17.0, for tests/mujoco_parity.rs.

Run once through the provisioned venv, with the pinned MuJoCo installed next to Gymnasium:

    $PISA_PYTHON -m pip install mujoco==3.17.0 imageio==2.38.1   # imageio: imported by gymnasium.envs.mujoco
    $PISA_PYTHON envs/tests/golden/mujoco_v5.py > envs/tests/golden/mujoco_v5.json

For each task: `gym.make(id)` with the default kwargs, `reset(seed=SEED)`, then a fixed float32 action
sequence (a formula of the step and the actuator index, inside the action box) until the episode
terminates or STEPS[id] steps are done. Recorded: the initial observation, and per step the observation,
reward and terminated flag; the actions themselves are stored too, so the Rust test replays exactly them.
Also recorded: numpy's `default_rng(seed).standard_normal(n)`, the draws Gymnasium's reset noise uses.
"""

import json
import os
import sys
import tempfile

import gymnasium as gym
import mujoco
import numpy as np

SEED = 7
STEPS = {
    "HalfCheetah-v5": 100,
    "Hopper-v5": 100,
    "Walker2d-v5": 100,
    "Ant-v5": 50,
    "Humanoid-v5": 25,
    "InvertedPendulum-v5": 100,
    "InvertedDoublePendulum-v5": 100,
}
# Fraction of the action box the sine sweeps: full-ish for the robots that cannot fall, small for the
# balancing tasks and the hoppers, so that their episodes last long enough to compare many steps.
AMPLITUDE = {"Hopper-v5": 0.1, "Walker2d-v5": 0.1, "InvertedPendulum-v5": 0.01, "InvertedDoublePendulum-v5": 0.01}


def action(env_id, space, t):
    """Smooth, actuator-dependent actions: mid + amplitude * (high - low) * sin(0.37 t (i + 1) + 1.3 i)."""
    low, high = space.low.astype(np.float64), space.high.astype(np.float64)
    i = np.arange(low.size, dtype=np.float64)
    amp = AMPLITUDE.get(env_id, 0.45)
    return (0.5 * (low + high) + amp * (high - low) * np.sin(0.37 * t * (i + 1.0) + 1.3 * i)).astype(np.float32)


def trajectory(env_id):
    env = gym.make(env_id)
    obs, _ = env.reset(seed=SEED)
    record = {"id": env_id, "seed": SEED, "initial_obs": obs.tolist(), "actions": [], "obs": [], "rewards": [], "terminated": []}
    for t in range(STEPS[env_id]):
        a = action(env_id, env.action_space, t)
        obs, reward, terminated, truncated, _ = env.step(a)
        record["actions"].append([float(x) for x in a])
        record["obs"].append(obs.tolist())
        record["rewards"].append(float(reward))
        record["terminated"].append(bool(terminated))
        if terminated or truncated:
            break
    env.close()
    return record


def main():
    # MuJoCo logs Humanoid's deprecated `settotalmass` warning to ./MUJOCO_LOG.TXT: keep it out of the repo.
    os.chdir(tempfile.gettempdir())
    out = {
        "source": "envs/tests/golden/mujoco_v5.py",
        "gymnasium": gym.__version__,
        "mujoco": mujoco.__version__,
        "numpy": np.__version__,
        "tasks": [trajectory(env_id) for env_id in STEPS],
        "standard_normal": [
            {"seed": s, "draws": np.random.default_rng(s).standard_normal(2000).tolist()} for s in (0, 7, 12345)
        ],
    }
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
