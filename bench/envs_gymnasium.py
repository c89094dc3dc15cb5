"""Gymnasium's MuJoCo environments, steps per second: the baseline of `cargo xtask bench envs`.

Same protocol as envs/examples/bench_envs.rs: gymnasium.make(id) (registered time limit included),
reset(seed=0), 100 untimed warm-up steps, then --steps timed steps of uniform random actions drawn
beforehand, resetting whenever an episode ends. Prints one JSON line per task with backend "gymnasium".
Needs gymnasium==1.4.0 and mujoco==3.17.0 (xtask installs them into the venv on demand).
"""

import argparse
import json
import time

import gymnasium as gym
import numpy as np

TASKS = [
    "HalfCheetah-v5",
    "Hopper-v5",
    "Walker2d-v5",
    "Ant-v5",
    "Humanoid-v5",
    "InvertedPendulum-v5",
    "InvertedDoublePendulum-v5",
]
WARMUP = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--tasks", default=",".join(TASKS))
    args = parser.parse_args()
    for task in args.tasks.split(","):
        env = gym.make(task)
        rng = np.random.default_rng(1)
        low, high = env.action_space.low, env.action_space.high
        actions = [rng.uniform(low, high).astype(np.float32) for _ in range(1000)]
        env.reset(seed=0)

        def run(n: int) -> None:
            for i in range(n):
                _, _, terminated, truncated, _ = env.step(actions[i % len(actions)])
                if terminated or truncated:
                    env.reset()

        run(WARMUP)
        t0 = time.perf_counter()
        run(args.steps)
        seconds = time.perf_counter() - t0
        print(
            json.dumps(
                {
                    "task": task,
                    "backend": "gymnasium",
                    "steps": args.steps,
                    "seconds": round(seconds, 6),
                    "steps_per_s": round(args.steps / seconds, 1),
                }
            ),
            flush=True,
        )
        env.close()


if __name__ == "__main__":
    main()
