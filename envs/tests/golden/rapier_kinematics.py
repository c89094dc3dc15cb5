"""Golden body positions and masses of Gymnasium's MuJoCo models, for envs/tests/rapier_kinematics.rs.

For each task model in envs/assets/: set qpos = qpos0 + 0.1·sin(i + 1) (the free joints' quaternion
normalized), qvel = 0, run mj_forward, and record each body's world position (xpos), orientation
(xquat, w x y z) and mass. Run once with the provisioned venv (mujoco==3.17.0):

    $PISA_PYTHON envs/tests/golden/rapier_kinematics.py > envs/tests/golden/rapier_kinematics.json
"""

import json
import math
import pathlib

import mujoco
import numpy as np

ASSETS = pathlib.Path(__file__).resolve().parents[2] / "assets"
TASKS = {
    "InvertedPendulum-v5": "inverted_pendulum.xml",
    "InvertedDoublePendulum-v5": "inverted_double_pendulum.xml",
    "HalfCheetah-v5": "half_cheetah.xml",
    "Hopper-v5": "hopper.xml",
    "Walker2d-v5": "walker2d_v5.xml",
    "Ant-v5": "ant.xml",
    "Humanoid-v5": "humanoid.xml",
}


def main() -> None:
    out = {"mujoco": mujoco.__version__, "tasks": {}}
    for task, xml in TASKS.items():
        model = mujoco.MjModel.from_xml_path(str(ASSETS / xml))
        data = mujoco.MjData(model)
        qpos = model.qpos0.copy() + np.array([0.1 * math.sin(i + 1) for i in range(model.nq)])
        for j in range(model.njnt):
            if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE:
                a = model.jnt_qposadr[j]
                qpos[a + 3 : a + 7] /= np.linalg.norm(qpos[a + 3 : a + 7])
        data.qpos[:] = qpos
        data.qvel[:] = 0
        mujoco.mj_forward(model, data)
        out["tasks"][task] = {
            "qpos": qpos.tolist(),
            "xpos": data.xpos[1:].tolist(),
            "xquat": data.xquat[1:].tolist(),
            "mass": model.body_mass[1:].tolist(),
        }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
