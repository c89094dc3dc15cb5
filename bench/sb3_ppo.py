#!/usr/bin/env python3
"""Stable-Baselines3 baseline for `cargo xtask bench rl`: PPO until a task is solved.

Trains SB3's PPO (stable-baselines3 2.9.2, CPU, one torch thread) with rl-zoo's tuned
hyperparameters, the same ones pisa-rs's `RlConfig::for_task(Ppo, id)` uses:

  CartPole-v1: 8 envs x 32 steps, batch 256, 20 epochs, gamma 0.98, GAE 0.8, ent 0,
               lr linear from 1e-3, clip range linear from 0.2
  Pendulum-v1: 4 envs x 1024 steps, batch 64, 10 epochs, gamma 0.9, GAE 0.95, ent 0,
               lr 1e-3, clip 0.2 (rl-zoo also uses gSDE; neither side does here)

Both: MlpPolicy (separate 64-64 tanh actor and critic, orthogonal init, log-std 0), advantage
normalization, no value clipping, vf_coef 0.5 on mean((V - R)^2) (pisa-rs: 1.0 on its
1/2 mean((V - R)^2)), max_grad_norm 0.5, Adam eps 1e-5 (SB3's default for PPO).

"Solved": after a rollout, the mean return of the last 100 finished training episodes reaches the
threshold (SB3's `ep_info_buffer`, full with 100 episodes). The clock starts before the model
and environments are built. Prints one JSON line:
  {"impl": "stable-baselines3", "env": ..., "seed": ..., "solved": ..., "steps": ...,
   "wall_s": ..., "mean100": ..., "episodes": ...}

Usage: python bench/sb3_ppo.py --env CartPole-v1 --threshold 475 --max-steps 100000 --seed 0
"""

import argparse
import json
import time

import torch


def hyperparameters(env_id: str, max_steps: int) -> dict:
    if env_id == "CartPole-v1":
        def linear(start):
            return lambda progress_remaining: progress_remaining * start

        return dict(n_envs=8, n_steps=32, batch_size=256, n_epochs=20, gamma=0.98, gae_lambda=0.8,
                    ent_coef=0.0, learning_rate=linear(1e-3), clip_range=linear(0.2))
    if env_id == "Pendulum-v1":
        return dict(n_envs=4, n_steps=1024, batch_size=64, n_epochs=10, gamma=0.9, gae_lambda=0.95,
                    ent_coef=0.0, learning_rate=1e-3, clip_range=0.2)
    raise SystemExit(f"sb3_ppo.py: no hyperparameters for {env_id}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--threshold", type=float, default=475.0)
    parser.add_argument("--max-steps", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(1)
    start = time.perf_counter()
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    hp = hyperparameters(args.env, args.max_steps)
    n_envs = hp.pop("n_envs")
    env = make_vec_env(args.env, n_envs=n_envs, seed=args.seed)
    solved = {"at": None, "mean100": float("nan")}

    class StopWhenSolved(BaseCallback):
        def _on_step(self) -> bool:
            return True

        def _on_rollout_end(self) -> None:
            buf = self.model.ep_info_buffer
            if len(buf) >= 100:
                solved["mean100"] = sum(e["r"] for e in buf) / len(buf)
                if solved["mean100"] >= args.threshold and solved["at"] is None:
                    solved["at"] = self.model.num_timesteps
                    self.model._stop = True

    class StoppablePPO(PPO):
        _stop = False

        def train(self) -> None:
            if not self._stop:
                super().train()

    model = StoppablePPO("MlpPolicy", env, seed=args.seed, device="cpu", vf_coef=0.5, max_grad_norm=0.5,
                         normalize_advantage=True, verbose=0, **hp)
    callback = StopWhenSolved()

    # `learn` has no early stop from `_on_rollout_end`; stop through `_on_step` after it is set.
    class Stop(BaseCallback):
        def _on_step(self) -> bool:
            return not model._stop

    model.learn(total_timesteps=args.max_steps, callback=[callback, Stop()])
    wall = time.perf_counter() - start
    print(json.dumps({
        "impl": "stable-baselines3",
        "env": args.env,
        "seed": args.seed,
        "optimizer": "adam",
        "solved": solved["at"] is not None,
        "steps": solved["at"] if solved["at"] is not None else model.num_timesteps,
        "wall_s": wall,
        "mean100": solved["mean100"],
        "episodes": len(model.ep_info_buffer),
    }))


if __name__ == "__main__":
    main()
