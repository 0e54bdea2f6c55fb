"""Outside motion fitted to the built-in figure: its yardsticks, and the dance stood on the stage.

What the BVH and keypoint readers share. Sizes are measured against the built-in figure at rest
(`REST`): `chain_length` is a bend-proof measure of a figure's size, `HEAD_LEN` and the foot give the
parts no source provides directly. `stage` centres a dance's travel, turns it and puts it on the floor.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import percentile_filter, uniform_filter1d

from ..errors import UserError
from .body import JOINTS, Body, J, rotate_y
from .kinematics import rest_pose

# the built-in figure at rest is the yardstick: proportions of the joints no source gives directly
REST = rest_pose(Body())
_CHAIN = (("shoulder", "hip"), ("hip", "knee"), ("knee", "ankle"))
HEAD_LEN = float(np.linalg.norm(REST[J["head"]] - REST[J["neck"]]))
# how far each joint sits above the floor at its lowest (feet from the rest pose, the rest ~ a limb's radius)
_CLEARANCE = np.full(len(JOINTS), 0.03)
for _j in ("l_ankle", "r_ankle", "l_toe", "r_toe"):
    _CLEARANCE[J[_j]] = REST[J[_j], 1]
_FOOT = REST[J["l_toe"]] - REST[J["l_ankle"]]
FOOT_REACH, FOOT_DROP = float(np.hypot(_FOOT[0], _FOOT[2])), float(_FOOT[1])
_FLOOR_PERCENTILE = 5


def chain_length(p: np.ndarray) -> np.ndarray:
    """Shoulder -> hip -> knee -> ankle, averaged over both sides: a bend-proof measure of size."""
    total = 0.0
    for side in "lr":
        for a, b in _CHAIN:
            total = total + np.linalg.norm(p[..., J[f"{side}_{b}"], :] - p[..., J[f"{side}_{a}"], :], axis=-1)
    return total / 2


REST_CHAIN = float(chain_length(REST))


def frame_rate(fps) -> float:
    """`fps` as a float, or a UserError unless it is a number in (0, 1000]."""
    try:
        value = float(fps)
    except (TypeError, ValueError):
        value = float("nan")
    if not (np.isfinite(value) and 0 < value <= 1000):
        raise UserError(f"motion fps must be a number between 0 and 1000, got {fps!r}")
    return value


def unit(v: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Vectors (..., 3) scaled to length 1; where one is too short to have a direction, `fallback`'s."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    fb = np.broadcast_to(np.asarray(fallback, np.float64), v.shape)
    fb = fb / np.maximum(np.linalg.norm(fb, axis=-1, keepdims=True), 1e-12)
    return np.where(n > 1e-9, v / np.maximum(n, 1e-12), fb)


def stage(poses: np.ndarray, *, turn: float, window: int | None) -> np.ndarray:
    """Centre the travel on its mean, turn about the vertical by `turn` (rad), stand the dance on the floor.

    The floor is a low percentile of each frame's lowest point, over the clip (window None) or a running
    window of `window` frames, smoothed: a few frames below it (a foot rolled on its side, a bad detection)
    sink a little instead of lifting the whole dance off the floor.
    """
    p = poses.copy()
    p[..., [0, 2]] -= p[:, J["pelvis"], [0, 2]].mean(0)
    if turn:
        p = rotate_y(p, turn)
    low = (p[..., 1] - _CLEARANCE).min(1)
    if window is None or window >= len(p):
        floor = np.full(len(p), np.percentile(low, _FLOOR_PERCENTILE))
    else:
        floor = uniform_filter1d(percentile_filter(low, _FLOOR_PERCENTILE, size=window, mode="nearest"), window,
                                 mode="nearest")
    p[..., 1] -= floor[:, None]
    return p
