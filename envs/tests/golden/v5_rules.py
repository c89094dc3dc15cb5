"""Golden rewards, terminations and reward terms of Gymnasium 1.4's v5 MuJoCo task rules, for the unit
tests of envs/src/v5 (`src/v5/tests.rs`), computed by Gymnasium's own code.

Run once through the provisioned venv (needs the pinned MuJoCo next to Gymnasium, as mujoco_v5.py):

    $PISA_PYTHON -m pip install mujoco==3.17.0 imageio==2.38.1
    $PISA_PYTHON envs/tests/golden/v5_rules.py > envs/tests/golden/v5_rules.json

No physics is stepped: each case writes a state (and, where the rules read them, `cfrc_ext`, `ctrl`
or the tip site) into the env's `MjData` and asks Gymnasium for the rules' verdict. Locomotion tasks:
`_get_rew(x_velocity, action)` and `(not is_healthy) and _terminate_when_unhealthy` (the v5 step's own
expressions); the pendulums: `step(action)` with `do_simulation` replaced by a no-op. Every float is written as Python's
`repr` string, so it parses back to the same double; float32 actions are written as their exact double.
"""

import json

import gymnasium as gym
import numpy as np

rng = np.random.default_rng(20250214)


def floats(a):
    return [repr(float(x)) for x in np.asarray(a, dtype=np.float64).ravel()]


def locomotion(task_id, cases):
    env = gym.make(task_id).unwrapped
    env.reset(seed=0)
    m, d = env.model, env.data
    out = []
    for edit in cases:
        qpos = env.init_qpos + rng.uniform(-0.05, 0.05, m.nq)
        qvel = rng.uniform(-2.0, 2.0, m.nv)
        cfrc = rng.uniform(-3.0, 3.0, (m.nbody, 6))
        cfrc[0] = 0.0  # the world body
        action = rng.uniform(-1.0, 1.0, m.nu).astype(np.float32)
        # numpy float64 scalars, as the v5 step's `(after - before) / dt` gives them (a Python float
        # would be "weak" under NEP 50 and turn the reward into float32 next to the float32 control cost).
        x_velocity, y_velocity = rng.uniform(-3.0, 3.0, 2)
        edit(qpos, qvel, cfrc)
        d.qpos[:] = qpos
        d.qvel[:] = qvel
        d.cfrc_ext[:] = cfrc
        d.ctrl[:] = action
        reward, terms = env._get_rew(x_velocity, action)
        # HalfCheetah has no healthy state and never terminates.
        terminated = hasattr(env, "is_healthy") and (not env.is_healthy) and env._terminate_when_unhealthy
        out.append(
            {
                "id": task_id,
                "qpos": floats(qpos),
                "qvel": floats(qvel),
                "cfrc_ext": floats(cfrc),
                "action": floats(action),
                "velocity": floats([x_velocity, y_velocity]),
                "reward": repr(float(reward)),
                "terminated": bool(terminated),
                "info": {k: repr(float(v)) for k, v in terms.items()},
            }
        )
    return out


def pendulum(task_id, cases):
    env = gym.make(task_id).unwrapped
    env.reset(seed=0)
    m, d = env.model, env.data
    env.do_simulation = lambda action, n_frames: None
    out = []
    for edit in cases:
        qpos = env.init_qpos + rng.uniform(-0.15, 0.15, m.nq)
        qvel = rng.uniform(-5.0, 5.0, m.nv)
        tip = np.array([rng.uniform(-1.0, 1.0), 0.0, rng.uniform(1.05, 1.2)])
        edit(qpos, qvel, tip)
        d.qpos[:] = qpos
        d.qvel[:] = qvel
        if m.nsite:  # InvertedDoublePendulum's tip; InvertedPendulum has no site
            d.site_xpos[0] = tip
        action = np.zeros(m.nu, dtype=np.float32)
        _, reward, terminated, _, info = env.step(action)
        out.append(
            {
                "id": task_id,
                "qpos": floats(qpos),
                "qvel": floats(qvel),
                "tip": floats(tip),
                "reward": repr(float(reward)),
                "terminated": bool(terminated),
                "info": {k: repr(float(v)) for k, v in info.items()},
            }
        )
    return out


def keep(*_):
    pass


def put(array, index, value):
    def edit(qpos, qvel, extra):
        {"qpos": qpos, "qvel": qvel, "extra": extra}[array][index] = value

    return edit


def big_contacts(qpos, qvel, cfrc):
    cfrc[1:] *= 2e3  # Humanoid's contact cost above its 10.0 cap


cases = []
cases += locomotion("HalfCheetah-v5", [keep, keep, keep])
cases += locomotion(
    "Hopper-v5",
    [
        keep,
        keep,
        put("qpos", 1, 0.7),
        put("qpos", 1, 0.7000001),
        put("qpos", 2, 0.2),
        put("qvel", 3, 100.0),
        put("qvel", 0, float("nan")),
    ],
)
cases += locomotion(
    "Walker2d-v5",
    [keep, keep, put("qpos", 1, 2.0), put("qpos", 2, -1.0), put("qpos", 2, -0.999), put("qvel", 4, 1e3)],
)
cases += locomotion(
    "Ant-v5",
    [
        keep,
        keep,
        put("qpos", 2, 0.2),
        put("qpos", 2, 1.0),
        put("qpos", 2, 1.0000001),
        put("qvel", 5, float("inf")),
    ],
)
cases += locomotion(
    "Humanoid-v5", [keep, keep, big_contacts, put("qpos", 2, 1.0), put("qpos", 2, 2.0), put("qpos", 2, 1.999)]
)
cases += pendulum(
    "InvertedPendulum-v5",
    [
        keep,
        put("qpos", 1, 0.2),
        put("qpos", 1, -0.2000001),
        put("qvel", 0, float("inf")),
        put("qpos", 0, float("nan")),
    ],
)
cases += pendulum(
    "InvertedDoublePendulum-v5",
    [keep, keep, put("extra", 2, 1.0), put("extra", 2, 1.0000001), put("extra", 2, 0.5)],
)
print(json.dumps({"cases": cases}, indent=1))
