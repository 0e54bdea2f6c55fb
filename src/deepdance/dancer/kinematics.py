"""Pose parameters and the forward kinematics that turn them into joints of the built-in figure.

A pose of the built-in dancer is a vector of joint angles and offsets (`PARAMS`); `forward_kinematics`
places the joints of `body.py` from it: the torso as a chain of rotations, the arms by elevation and
azimuth, the legs by two-bone inverse kinematics down to where the feet should be.
"""

from __future__ import annotations

import numpy as np

from .body import JOINTS, Body, J

# Arm angles, each relative to the chest: `el` elevation (0 down, pi/2 horizontal, pi up) and `az`
# azimuth (0 out to the side, pi/2 forward, pi across the body, -pi/2 back), for the upper arm and
# for the forearm (`fel`, `faz`). Feet: `fx` outward from the resting stance, `fy` up, `fz` forward,
# `fp` toe pointing down (rad). Root: `px`/`pz` hips offset over the feet, `py` hips height change,
# `yaw` facing (+ turns the front toward +x), `roll` hip tilt (+ lifts the left hip), `pitch` forward
# lean; `chest_*` and `head_*` likewise for the upper body. `x` is the position on stage (body units).
PARAMS = ("x", "px", "py", "pz", "yaw", "roll", "pitch", "chest_roll", "chest_yaw", "head_roll", "head_pitch",
          "l_el", "l_az", "l_fel", "l_faz", "r_el", "r_az", "r_fel", "r_faz",
          "l_fx", "l_fy", "l_fz", "l_fp", "r_fx", "r_fy", "r_fz", "r_fp")
P = {name: i for i, name in enumerate(PARAMS)}
NEUTRAL = dict(x=0.0, px=0.0, py=-0.005, pz=0.0, yaw=0.0, roll=0.0, pitch=0.02, chest_roll=0.0, chest_yaw=0.0,
               head_roll=0.0, head_pitch=0.0, l_el=0.12, l_az=0.5, l_fel=0.3, l_faz=1.3,
               r_el=0.12, r_az=0.5, r_fel=0.3, r_faz=1.3,
               l_fx=0.0, l_fy=0.0, l_fz=0.0, l_fp=0.0, r_fx=0.0, r_fy=0.0, r_fz=0.0, r_fp=0.0)
NEUTRAL_VEC = np.array([NEUTRAL[k] for k in PARAMS])


def _rot(v, a, axis):
    """Rotate vectors (n, 3) by angles (n,) about a coordinate axis, elementwise."""
    c, s = np.cos(a), np.sin(a)
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    if axis == 0:
        return np.stack([x, c * y - s * z, s * y + c * z], -1)
    if axis == 1:
        return np.stack([c * x + s * z, y, c * z - s * x], -1)
    return np.stack([c * x - s * y, s * x + c * y, z], -1)


def _orient(v, twist, pitch, roll):
    return _rot(_rot(_rot(v, twist, 1), pitch, 0), roll, 2)


def _direction(el, az, side):
    return np.stack([side * np.sin(el) * np.cos(az), -np.cos(el), np.sin(el) * np.sin(az)], -1)


def _leg(hip, target, thigh, shin, pole):
    """Two-bone IK: knee and (reachable) ankle for a hip and an ankle target, knee bent toward `pole`."""
    d = target - hip
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    u = d / np.maximum(dist, 1e-9)
    reach = np.clip(dist, 1e-6, (thigh + shin) * 0.9999)
    along = (thigh**2 - shin**2 + reach**2) / (2 * reach)
    h = np.sqrt(np.maximum(thigh**2 - along**2, 0.0))
    v = pole - (pole * u).sum(-1, keepdims=True) * u
    v = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)
    return hip + u * along + v * h, hip + u * reach


def forward_kinematics(params: np.ndarray, body: Body) -> np.ndarray:
    """Move parameters (n, len(PARAMS)) -> poses (n, J, 3) in the world frame of `body.py`."""
    q = {k: params[:, i] for i, k in enumerate(PARAMS)}
    n = len(params)
    zero = np.zeros(n)
    pose = np.zeros((n, len(JOINTS), 3))

    def vec(x, y, z):
        return np.stack(np.broadcast_arrays(x, y, z, zero)[:3], -1)

    hip_c = vec(q["px"], body.hip_height + q["py"], q["pz"])
    pelvis_rot = (zero, zero, q["roll"])
    spine_rot = (0.5 * q["chest_yaw"], 0.5 * q["pitch"], 0.5 * (q["roll"] + q["chest_roll"]))
    chest_rot = (q["chest_yaw"], q["pitch"], q["chest_roll"])
    head_rot = (q["chest_yaw"], q["pitch"] + q["head_pitch"], q["chest_roll"] + q["head_roll"])
    pose[:, J["pelvis"]] = hip_c + _orient(vec(0, body.pelvis_up, 0), *pelvis_rot)
    pose[:, J["spine"]] = pose[:, J["pelvis"]] + _orient(vec(0, body.spine, 0), *spine_rot)
    pose[:, J["chest"]] = pose[:, J["spine"]] + _orient(vec(0, body.chest, 0), *chest_rot)
    neck = pose[:, J["chest"]] + _orient(vec(0, body.neck_base, 0), *chest_rot)
    pose[:, J["neck"]] = neck
    pose[:, J["head"]] = neck + _orient(vec(0, body.neck, 0.012), *head_rot)
    for side, sx in (("l", 1.0), ("r", -1.0)):
        sh = neck + _orient(vec(sx * body.shoulder_w / 2, -body.shoulder_drop, 0), *chest_rot)
        elbow = sh + _orient(_direction(q[f"{side}_el"], q[f"{side}_az"], sx), *chest_rot) * body.upper_arm
        wrist = elbow + _orient(_direction(q[f"{side}_fel"], q[f"{side}_faz"], sx), *chest_rot) * body.forearm
        pose[:, J[f"{side}_shoulder"]], pose[:, J[f"{side}_elbow"]], pose[:, J[f"{side}_wrist"]] = sh, elbow, wrist
        hip = hip_c + _orient(vec(sx * body.hip_w / 2, 0, 0), *pelvis_rot)
        # feet turned out a little; the toe drops as the foot points, and on the floor that lifts the heel
        rest = np.arcsin(np.clip((body.ankle_h - body.toe_r) / body.foot, 0, 1))
        tilt = rest + q[f"{side}_fp"]
        lift = np.maximum(body.ankle_h + q[f"{side}_fy"], body.toe_r + body.foot * np.sin(tilt))
        target = vec(sx * (body.stance + q[f"{side}_fx"]), lift, q[f"{side}_fz"])
        knee, ankle = _leg(hip, target, body.thigh, body.shin, vec(sx * 0.35, 0, 1.0))
        turnout = 0.25
        toe = ankle + body.foot * vec(sx * np.sin(turnout) * np.cos(tilt), -np.sin(tilt),
                                      np.cos(turnout) * np.cos(tilt))
        pose[:, J[f"{side}_hip"]], pose[:, J[f"{side}_knee"]] = hip, knee
        pose[:, J[f"{side}_ankle"]], pose[:, J[f"{side}_toe"]] = ankle, toe
    world = _rot(pose, q["yaw"][:, None], 1)
    world[..., 0] += q["x"][:, None]
    return world


def rest_pose(body: Body) -> np.ndarray:
    """Standing at rest facing the camera: a (J, 3) pose, e.g. to scale outside motion to this body."""
    return forward_kinematics(NEUTRAL_VEC[None], body)[0]

