"""Real motion in: a file of motion capture or keypoints as a `Motion`, poses for the built-in dancer's body.

`load_motion` turns a file into a `Motion`: poses (N, J, 3) in the convention of `body.py` at the
file's own frame rate, read by `bvh.py` (.bvh motion capture) or `keypoints.py` (COCO-17 2-D
keypoints, .npz / .npy). Both sources end up alike (`staging.py`): the figure scaled to about 1.0
body-height tall, its travel centred on its mean position and its lowest point on the floor.
`Motion.resample` brings it to the stage's frame rate and `motion_frames` renders any frame range
with `draw_poses`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import UserError
from .body import Body, Camera, J, draw_poses
from .bvh import read_bvh
from .keypoints import read_keypoints
from .staging import frame_rate

_SUFFIXES = (".bvh", ".npz", ".npy")


@dataclass
class Motion:
    """Poses (N, J, 3) float64 in the convention of `body.py`, `fps` frames a second, where they came from."""

    poses: np.ndarray
    fps: float
    source: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.poses)

    @property
    def seconds(self) -> float:
        return len(self.poses) / self.fps

    def resample(self, fps: float) -> "Motion":
        """The same motion at `fps`, each joint interpolated linearly between the source frames."""
        fps = frame_rate(fps)
        n = len(self.poses)
        count = max(1, int(round(n * fps / self.fps)))
        t = np.minimum(np.arange(count) * (self.fps / fps), n - 1)
        i = np.minimum(np.floor(t).astype(np.int64), max(n - 2, 0))
        u = (t - i)[:, None, None]
        nxt = np.minimum(i + 1, n - 1)
        poses = self.poses[i] * (1 - u) + self.poses[nxt] * u
        return replace(self, poses=poses, fps=fps)


def motion_poses(motion: Motion, camera: Camera, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Poses [start, stop) of the motion as the stage shows them (N, J, 3).

    The travel is shrunk (feet slide a little) so the pelvis stays within `camera.travel` of centre stage;
    the factor comes from the whole clip, so poses taken in chunks equal poses taken at once.
    """
    stop = len(motion.poses) if stop is None else stop
    x = motion.poses[:, J["pelvis"], 0]
    reach = float(np.abs(x).max()) if len(x) else 0.0
    k = min(1.0, camera.travel / reach) if reach > 0 else 1.0
    poses = motion.poses[start:stop].copy()
    poses[..., 0] += (k - 1.0) * poses[:, J["pelvis"], 0][:, None]
    return poses


def motion_frames(motion: Motion, body: Body, camera: Camera, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Frames [start, stop) of the motion as uint8 (N, H, W) silhouettes, dancer 0 on 255."""
    return draw_poses(motion_poses(motion, camera, start, stop), body, camera)


def load_motion(path, *, fps: float | None = None, view: str | int | None = None) -> Motion:
    """Read a .bvh motion capture or COCO-17 keypoints (.npz / .npy) as a `Motion` at the file's frame rate.

    `fps` overrides the file's frame rate (some BVH files state it wrongly). `view`: for BVH the camera's
    angle around the dancer in degrees, positive toward the dancer's left, or one of front / left / side /
    back / right (0 faces the dancer's average facing); for keypoints the index of the camera view.
    """
    path = Path(path)
    if fps is not None:
        fps = frame_rate(fps)
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        raise UserError(f"{path.name}: not a motion file (expected one of {', '.join(_SUFFIXES)})")
    if not path.is_file():
        raise UserError(f"{path}: no such motion file")
    read = read_bvh if suffix == ".bvh" else read_keypoints
    return Motion(*read(path, fps, view))
