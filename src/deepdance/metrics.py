"""Figures computed on silhouette frames (uint8 pictures, 0 = dancer, 255 = background).

Each function takes plain arrays, so the same definitions serve training, `run` and `evaluate`.
"""

from __future__ import annotations

import cv2
import numpy as np


def masks(frames: np.ndarray) -> np.ndarray:
    """Binary dancer masks (N, H, W) bool from uint8 pictures: a pixel is dancer when darker than mid-grey."""
    return np.asarray(frames) < 128


def iou(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean per-frame intersection over union of two mask stacks (frames with both empty count as 1)."""
    pred, true = np.asarray(pred, bool), np.asarray(true, bool)
    axes = tuple(range(1, pred.ndim))
    inter = (pred & true).sum(axis=axes)
    union = (pred | true).sum(axis=axes)
    return float(np.where(union > 0, inter / np.maximum(union, 1), 1.0).mean())


def motion_per_frame(frames: np.ndarray) -> np.ndarray:
    """Fraction of pixels that change between consecutive frames (length N-1)."""
    m = masks(frames)
    if len(m) < 2:
        return np.zeros(0)
    return (m[1:] != m[:-1]).mean(axis=(1, 2))


def motion(frames: np.ndarray) -> float:
    per = motion_per_frame(frames)
    return float(per.mean()) if len(per) else 0.0


def motion_thirds(frames: np.ndarray) -> tuple[float, float]:
    """Mean motion of the first and the last third of a sequence."""
    per = motion_per_frame(frames)
    k = max(1, len(per) // 3)
    return float(per[:k].mean()), float(per[-k:].mean())


def fragments_per_frame(frames: np.ndarray, *, min_fraction: float = 0.001) -> np.ndarray:
    """Count of separate dark regions larger than `min_fraction` of the frame, per frame (a dancer is 1)."""
    m = masks(frames).astype(np.uint8)
    min_area = min_fraction * m.shape[1] * m.shape[2]
    out = np.empty(len(m), np.int32)
    for i, f in enumerate(m):
        n, _, stats, _ = cv2.connectedComponentsWithStats(f, connectivity=8)
        out[i] = int((stats[1:, cv2.CC_STAT_AREA] > min_area).sum())
    return out


def areas(frames: np.ndarray) -> np.ndarray:
    """Dancer area of each frame as a fraction of the frame."""
    return masks(frames).mean(axis=(1, 2))


def area_in_range(generated: np.ndarray, real_areas: np.ndarray) -> float:
    """Share of generated frames whose dancer area lies within the 1st-99th percentile of the real areas."""
    lo, hi = np.percentile(real_areas, [1, 99])
    a = areas(generated)
    return float(((a >= lo) & (a <= hi)).mean())


def generation_report(generated: np.ndarray, real: np.ndarray) -> dict[str, float]:
    """The generation figures of metrics.json: motion, motion in the last third, fragments, area in range."""
    first, last = motion_thirds(generated)
    return {
        "frames": int(len(generated)),
        "motion": motion(generated),
        "motion_first_third": first,
        "motion_last_third": last,
        "fragments": float(fragments_per_frame(generated).mean()),
        "area_in_range": area_in_range(generated, areas(real)),
    }
