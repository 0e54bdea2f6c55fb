"""The pose of every source frame: the estimator over a stream of frames, kept as a full-rate `PoseTrack`.

Videos go through the estimator in tracking mode, every frame in order, at the video's own frame rate;
image folders in static mode (each image a new picture). Frames larger than POSE_SIDE on their longer side
are shrunk first (the estimator works at 256 pixels anyway) and the joints scaled back to source pixels.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Sequence

import cv2
import numpy as np

from ..cut.segment import SegmentCutter
from ..pose.estimator import BlazePose, PoseEstimator, pose_estimator
from ..pose.skeleton import JOINTS, PoseTrack

POSE_SIDE = 640      # pixels: the longer side of what the estimator sees


def shrink(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """(the picture at most POSE_SIDE on its longer side, the factor back to source pixels)."""
    side = max(rgb.shape[:2])
    if side <= POSE_SIDE:
        return rgb, 1.0
    s = POSE_SIDE / side
    return cv2.resize(rgb, (round(rgb.shape[1] * s), round(rgb.shape[0] * s)), interpolation=cv2.INTER_AREA), 1 / s


Window = tuple[int, int, int, int]   # x, y, w, h of the source the estimator looks at (one person in it)


def looked_at(rgb: np.ndarray, window: Window | None) -> tuple[np.ndarray, float, tuple[int, int]]:
    """What the estimator sees of a frame: (the window, shrunk; the factor back; the window's corner)."""
    x, y, w, h = window or (0, 0, rgb.shape[1], rgb.shape[0])
    small, back = shrink(np.ascontiguousarray(rgb[y:y + h, x:x + w]))
    return small, back, (x, y)


def in_source(pose, back: float, corner: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A pose of what the estimator saw -> (joints2d in source pixels, joints3d)."""
    j2 = pose.joints2d.copy()
    j2[:, :2] = j2[:, :2] * back + corner
    return j2, pose.joints3d


def estimate(est: PoseEstimator, rgb: np.ndarray, window: Window | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One frame's (joints2d in source pixels, joints3d); with `window`, of that part of the frame only."""
    small, back, corner = looked_at(rgb, window)
    return in_source(est.estimate(small), back, corner)


def sample_poses(samples: Sequence[np.ndarray], window: Window | None = None) -> list[np.ndarray | None]:
    """Each sample frame's joints2d (source pixels) in static mode, None where nobody is found."""
    out = []
    with BlazePose(video=False) as est:
        for s in samples:
            j2, _ = estimate(est, s, window)
            out.append(j2 if j2[:17, 2].mean() > 0 else None)
    return out


SEVERAL = 0.3          # share of samples with more than one person before the dancer is chosen among them
PERSON_SHARE = 0.3     # a region is a person when at least this share of the largest one's area
WINDOW_MARGIN = 0.3    # of the chosen person's box, added on every side (arms swing out, feet step)
AGREE = 0.15           # of the frame's width: how far a sample's choice may lie from the median choice


def choose_dancer(samples: Sequence[np.ndarray]) -> tuple[Window | None, int, str]:
    """With several people in the samples (person segmentation), the dancer: in each sample the person
    whose area times closeness to the centre is largest, and the window (source pixels) that holds her
    in every sample, so the estimator sees her alone. Returns (window or None, most people seen, why)."""
    seg, boxes, counts, h, w = None, [], [], *samples[0].shape[:2]
    for s in samples:
        small, back = shrink(s)
        seg = seg or SegmentCutter(portrait=small.shape[0] > small.shape[1])
        mask = (seg.score(small) >= 128).astype(np.uint8)
        n, _, stats, centres = cv2.connectedComponentsWithStats(mask, connectivity=8)
        areas = stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
        big = np.flatnonzero(areas >= max(PERSON_SHARE * areas.max(), 0.005 * mask.size)) if len(areas) else []
        counts.append(len(big))
        if len(big):
            closeness = 1.0 - np.abs(centres[1 + big, 0] / small.shape[1] - 0.5)
            best = big[int(np.argmax(areas[big] * closeness))]
            boxes.append(stats[1 + best, :4] * back)
    several = sum(c > 1 for c in counts)
    if not boxes or several < SEVERAL * len(samples):
        return None, max(counts, default=0), ""
    window = _holding(boxes, w, h)
    x0, y0, ww, wh = window
    return window, max(counts), \
        f"{several} of {len(samples)} samples show more than one person; the dancer is the largest, most central " \
        f"one, at the {_where(window, w)} of the picture (the pose estimator looks at x {x0}-{x0 + ww}, " \
        f"y {y0}-{y0 + wh} only)"


def _holding(boxes: Sequence, w: int, h: int) -> Window:
    """The window (source pixels) that holds the boxes (x, y, w, h) near the median one's centre, WINDOW_MARGIN
    added: a sample that found someone else (a missed person, a poster) is left out."""
    b = np.asarray(boxes, np.float64)
    cx = b[:, 0] + b[:, 2] / 2
    b = b[np.abs(cx - np.median(cx)) <= AGREE * w]
    x0, y0 = b[:, 0].min(), b[:, 1].min()
    x1, y1 = (b[:, 0] + b[:, 2]).max(), (b[:, 1] + b[:, 3]).max()
    mx, my = WINDOW_MARGIN * (x1 - x0), WINDOW_MARGIN * (y1 - y0)
    x0, y0 = int(max(0, x0 - mx)), int(max(0, y0 - my))
    x1, y1 = int(min(w, x1 + mx)), int(min(h, y1 + my))
    return x0, y0, x1 - x0, y1 - y0


def _where(window: Window, width: int) -> str:
    centre = (window[0] + window[2] / 2) / width
    return "left" if centre < 0.4 else "right" if centre > 0.6 else "centre"


# BlazePose's detector sees the picture at 224 pixels: a dancer under ~1/5 of its height is nobody to it (the
# built-in dancer at 0.17 of a 640x360 room: 0 of 24 samples; in a window half the picture's size: 24 of 24)
CLOSER_BELOW = 0.5   # found in under half the samples: look again, closer
CLOSER_TILE = 0.5    # at windows of this share of the picture's sides,
CLOSER_STEPS = 3     # this many across and down (overlapping by half)
CLOSER_GLANCE = 4    # every this many samples are looked at first: nobody in any window of them, nobody to find


def look_closer(samples: Sequence[np.ndarray], poses: list) -> tuple[Window, list, str] | None:
    """Where the whole picture shows the dancer in few samples: each sample's pose in overlapping windows of
    half the picture, and the window that holds her in all of them (None where that window finds her in no
    more samples, or in under half of them). Returns (window, the samples' poses in it, why)."""
    h, w = samples[0].shape[:2]
    tw, th = round(CLOSER_TILE * w), round(CLOSER_TILE * h)
    tiles = [(int(x), int(y), tw, th) for y in np.linspace(0, h - th, CLOSER_STEPS)
             for x in np.linspace(0, w - tw, CLOSER_STEPS)]
    found = sum(p is not None for p in poses)
    # a glance at every CLOSER_GLANCE-th sample first: a clip with nobody in it (9 windows of 24 samples,
    # 4.7 s) is given up on in a quarter of the time; where she is, the other samples are looked at too
    with BlazePose(video=False) as est:
        boxes = [b for b in (_box_in_tiles(est, s, tiles) for s in samples[::CLOSER_GLANCE]) if b]
        if not boxes:
            return None
        rest = (s for i, s in enumerate(samples) if i % CLOSER_GLANCE)
        boxes += [b for b in (_box_in_tiles(est, s, tiles) for s in rest) if b]
    if len(boxes) <= found:
        return None
    window = _holding(boxes, w, h)
    closer = sample_poses(samples, window)
    # in half the samples at least: a poster or a shadow that looks like someone in a window or two is not her
    if sum(p is not None for p in closer) < max(found + 1, CLOSER_BELOW * len(samples)):
        return None
    x0, y0, ww, wh = window
    return window, closer, (f"the dancer is small in the picture (the pose estimator found her in {found} of "
                            f"{len(samples)} samples, {sum(p is not None for p in closer)} when it looks at x "
                            f"{x0}-{x0 + ww}, y {y0}-{y0 + wh} only, at the {_where(window, w)}): it looks there")


def _box_in_tiles(est: PoseEstimator, rgb: np.ndarray, tiles: Sequence[Window]) -> tuple | None:
    """The box (x, y, w, h, source pixels) of the joints seen in the tile that sees most of them, or None."""
    best = max((estimate(est, rgb, tile)[0] for tile in tiles), key=lambda j: j[:17, 2].mean())
    seen = best[best[:, 2] > 0, :2]
    if not len(seen):
        return None
    (x0, y0), (x1, y1) = seen.min(0), seen.max(0)
    return x0, y0, x1 - x0, y1 - y0


class Recorder:
    """Runs the estimator on every frame passing through `run`, in order; `track()` gives the result."""

    def __init__(self, fps: float, size: tuple[int, int], *, video: bool, source: dict, window: Window | None = None,
                 frames: int | None = None):
        self.fps, self.size, self.source, self.window = fps, size, source, window
        self.est = pose_estimator(video=video, frames=frames)
        self.j2: list[np.ndarray] = []
        self.j3: list[np.ndarray] = []
        self.stamps: list[int] = []

    def run(self, frames: Iterable[tuple[float, np.ndarray]]) -> Iterator[tuple[float, np.ndarray]]:
        """Pass (time, rgb) frames through, estimating each one's pose on the way."""
        seen = ((t, rgb, *looked_at(rgb, self.window)) for t, rgb in frames)
        for (t, rgb, _, back, corner), pose in self.est.stream(seen, frame=lambda item: item[2]):
            j2, j3 = in_source(pose, back, corner)
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
