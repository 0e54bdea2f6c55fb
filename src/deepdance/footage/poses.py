"""The pose of every source frame: the estimator over a stream of frames, kept as a full-rate `PoseTrack`.

Videos go through the estimator in tracking mode, every frame in order, at the video's own frame rate;
image folders in static mode (each image a new picture). Frames larger than POSE_SIDE on their longer side
are shrunk first (the estimator works at 256 pixels anyway) and the joints scaled back to source pixels.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Sequence

import cv2
import numpy as np

from ..pose.estimator import BlazePose, PoseEstimator
from ..pose.skeleton import JOINTS, PoseTrack

POSE_SIDE = 640      # pixels: the longer side of what the estimator sees


def shrink(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """(the picture at most POSE_SIDE on its longer side, the factor back to source pixels)."""
    side = max(rgb.shape[:2])
    if side <= POSE_SIDE:
        return rgb, 1.0
    s = POSE_SIDE / side
    return cv2.resize(rgb, (round(rgb.shape[1] * s), round(rgb.shape[0] * s)), interpolation=cv2.INTER_AREA), 1 / s


def estimate(est: PoseEstimator, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One frame's (joints2d in source pixels, joints3d)."""
    small, back = shrink(rgb)
    pose = est.estimate(small)
    j2 = pose.joints2d.copy()
    j2[:, :2] *= back
    return j2, pose.joints3d


def sample_poses(samples: Sequence[np.ndarray]) -> list[np.ndarray | None]:
    """Each sample frame's joints2d (source pixels) in static mode, None where nobody is found."""
    out = []
    with BlazePose(video=False) as est:
        for s in samples:
            j2, _ = estimate(est, s)
            out.append(j2 if j2[:17, 2].mean() > 0 else None)
    return out


class Recorder:
    """Runs the estimator on every frame passing through `run`, in order; `track()` gives the result."""

    def __init__(self, fps: float, size: tuple[int, int], *, video: bool, source: dict):
        self.fps, self.size, self.source = fps, size, source
        self.est = BlazePose(video=video)
        self.j2: list[np.ndarray] = []
        self.j3: list[np.ndarray] = []
        self.stamps: list[int] = []

    def run(self, frames: Iterable[tuple[float, np.ndarray]]) -> Iterator[tuple[float, np.ndarray]]:
        """Pass (time, rgb) frames through, estimating each one's pose on the way."""
        for t, rgb in frames:
            j2, j3 = estimate(self.est, rgb)
            self.j2.append(j2)
            self.j3.append(j3)
            self.stamps.append(int(round(t * 1e6)))
            yield t, rgb

    def pose(self, index: int) -> np.ndarray:
        """joints2d (J, 3) of source frame `index` (already passed through `run`)."""
        return self.j2[index]

    def track(self) -> PoseTrack:
        empty = np.zeros((0, len(JOINTS), 3), np.float32)
        self.est.close()
        return PoseTrack(np.stack(self.j2) if self.j2 else empty, self.fps, self.size,
                         np.stack(self.j3) if self.j3 else empty, timestamps=np.array(self.stamps, np.int64),
                         source={**self.source, "estimator": self.est.name})
