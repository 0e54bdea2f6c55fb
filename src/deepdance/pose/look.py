"""The dancer's own look (`models/look.py`) around the fitted body: the training pairs and the drawing.

Training pairs: the body drawn at each real pose, at the store's own size, beside the real silhouette of that
frame. Drawing a pose: the body at the store's size through the network, the logits scaled to the output
size (the source's framing, centred, as `figure.draw_figure` places it) and only then turned into ink, so the
outline is smooth at any size instead of a small picture's pixels blown up.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from ..files import atomic_path
from ..store import FrameStore
from .figure import Figure, draw_figure

MAX_PAIRS = 4000     # frames a look trains on (evenly spread over longer footage)
# logits are sharpened by this before the sigmoid: crisp, still anti-aliased edges. The portrait clip's dance at
# the store's size: sharpness 0.965 with 2, 0.983 with 4 (her silhouettes 0.978); its flicker 0.109 with both
EDGE = 4.0


def ink(pictures: np.ndarray) -> torch.Tensor:
    """uint8 pictures (N, H, W), 0 = dancer -> ink maps (N, 1, H, W), 1 = dancer."""
    return 1.0 - torch.from_numpy(np.ascontiguousarray(pictures)).float()[:, None] / 255.0


def pair_frames(store: FrameStore) -> np.ndarray:
    """The store frames a look trains on: those with a seen joint, at most MAX_PAIRS of them, spread evenly."""
    poses = store.poses()
    seen = np.flatnonzero((np.asarray(poses)[..., 2] > 0).any(1)) if poses is not None else np.zeros(0, int)
    if len(seen) > MAX_PAIRS:
        seen = seen[np.linspace(0, len(seen) - 1, MAX_PAIRS).round().astype(int)]
    return seen


def bodies(joints: np.ndarray, figure: Figure, batch: int = 256) -> np.ndarray:
    """The fitted body at each pose (N, 21, 3) at the source's own size: uint8 (N, H, W), 0 = body."""
    return np.concatenate([draw_figure(joints[i:i + batch], figure, figure.source)
                           for i in range(0, len(joints), batch)] or [np.zeros((0, *figure.source[::-1]), np.uint8)])


# frames whose full-size logits are turned into ink at a time, in place: the work per pixel is memory-bound, and
# a few frames' worth stays in the caches and in reused memory (512 frames at 854x480: 5.4 s all at once with a
# new tensor per step, 1.9-2.2 s so; at 288x480 2.5 -> 1.0-1.3 s; the same bytes)
DRAW_CHUNK = 16


def _ink_bytes(logits: torch.Tensor) -> np.ndarray:
    """Logits of ink -> uint8 pictures (0 = dancer), in place: 255 (1 - sigmoid(EDGE x)), rounded."""
    return logits.mul_(EDGE).sigmoid_().neg_().add_(1.0).mul_(255.0).round_().to(torch.uint8).numpy()


@torch.no_grad()
def draw_look(net: torch.nn.Module, joints: np.ndarray, figure: Figure, size: tuple[int, int]) -> np.ndarray:
    """The dancer's look at each pose (N, 21, 3), as uint8 silhouettes (N, H, W) of `size` (W, H), 0 = dancer."""
    w, h = size
    sw, sh = figure.source
    k = min(w / sw, h / sh)
    tw, th = max(1, round(k * sw)), max(1, round(k * sh))
    x0, y0 = (w - tw) // 2, (h - th) // 2
    logits = net(ink(bodies(joints, figure)))
    # a 3x3 mean first: the outline of one source pixel's steps, not its stair, is what gets scaled up
    logits = F.avg_pool2d(logits, 3, stride=1, padding=1, count_include_pad=False)
    pictures = np.empty((len(joints), h, w), np.uint8)
    if (tw, th) != (w, h):   # paper around the source's framing: the network's prior far from the body, as ink
        pictures[:] = _ink_bytes(torch.tensor([-net.prior]))[0]
    for i in range(0, len(joints), DRAW_CHUNK):
        big = F.interpolate(logits[i:i + DRAW_CHUNK], size=(th, tw), mode="bilinear", align_corners=False)
        pictures[i:i + DRAW_CHUNK, y0:y0 + th, x0:x0 + tw] = _ink_bytes(big[:, 0])
    nobody = ~(np.asarray(joints)[..., 2] > 0).any(1)
    pictures[nobody] = 255
    return pictures


LOOK_SHEET = "plots/look.png"   # in the run folder: real frames, the body at their poses, the learned look


def write_look_sheet(path: Path, real: np.ndarray, body: np.ndarray, learned: np.ndarray) -> None:
    """Three rows of held-out frames (uint8 (N, H, W), the same size): the real silhouettes, the fitted body
    at their poses and the learned look at them, so a person sees what each look gives."""
    rows = [np.concatenate(list(a), 1) for a in (real, body, learned)]
    sep = np.full((2, rows[0].shape[1]), 160, np.uint8)
    sheet = np.concatenate([rows[0], sep, rows[1], sep, rows[2]], 0)
    ok, png = cv2.imencode(".png", sheet)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_bytes(png.tobytes())
