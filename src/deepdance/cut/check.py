"""How well a silhouette holds the skeleton: the check every cut gets, and what `auto` chooses by.

Two figures, from a mask and the pose found in the same frame (in the mask's pixels):

* joints inside: the share of the visible joints (confidence >= MIN_CONF) that lie on the silhouette,
  allowing SLACK pixels; reported for all joints and for the ones a bad cut loses first (head, wrists,
  ankles: `KEY`). A cut that keeps the clothes but not the skin loses these.
* near the skeleton: the share of silhouette pixels within a body width of a bone. A cut that keeps the
  backdrop has most of its pixels far from every bone.

`Tally` adds frames up; `summary()` gives the figures the manifest and the terminal report.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..pose.skeleton import BONES, INDEX, torso_length

MIN_CONF = 0.5
SLACK = 2            # pixels a joint may lie outside the silhouette (its blurred edge, rounding)
HEAD = ("nose", "l_eye", "r_eye", "l_ear", "r_ear")
KEY = HEAD + ("l_wrist", "r_wrist", "l_ankle", "r_ankle")
_KEY = np.array([INDEX[n] for n in KEY])
_BONES = np.array([(INDEX[a], INDEX[b]) for a, b in BONES])
# a cut is rejected below these (on frames where both a skeleton and the cut's dancer are found)
MIN_INSIDE = 0.7     # of the head, wrist and ankle joints
MIN_NEAR = 0.6       # of the silhouette's pixels
MIN_FOUND = 0.5      # of the frames with a skeleton, the share where the cut finds a dancer


def body_width(joints2d: np.ndarray) -> float:
    """Pixels: the wider of shoulders and hips, at least 0.45 of the torso (a dancer seen from the side)."""
    j = joints2d
    widths = [np.linalg.norm(j[INDEX[f"l_{p}"], :2] - j[INDEX[f"r_{p}"], :2]) for p in ("shoulder", "hip")]
    widths.append(0.45 * float(torso_length(j[None])[0]))
    finite = [w for w in widths if np.isfinite(w)]
    return float(max(finite)) if finite else float("nan")


def frame_fit(mask: np.ndarray, joints2d: np.ndarray) -> dict | None:
    """Figures of one frame: `mask` bool (H, W) = dancer, `joints2d` (J, 3) in its pixels. None without a skeleton."""
    j = np.asarray(joints2d, np.float64)
    seen = (j[:, 2] >= MIN_CONF) & np.isfinite(j[:, :2]).all(-1)
    if seen.sum() < 4:
        return None
    h, w = mask.shape
    grown = cv2.dilate(mask.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                                                          (2 * SLACK + 1, 2 * SLACK + 1)))
    xy = np.round(np.where(seen[:, None], j[:, :2], -1)).astype(np.int64)
    on = np.zeros(len(j), bool)
    ok = seen & (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
    on[ok] = grown[xy[ok, 1], xy[ok, 0]] > 0
    key_seen = seen[_KEY]
    out = {"joints": int(seen.sum()), "inside": int(on[seen].sum()), "key": int(key_seen.sum()),
           "key_inside": int(on[_KEY][key_seen].sum()), "pixels": int(mask.sum()), "near": 0}
    if out["pixels"]:
        width = body_width(j)
        if np.isfinite(width):
            zone = np.zeros((h, w), np.uint8)
            thick = max(1, int(round(2 * width)))
            pts = np.round(np.where(seen[:, None], j[:, :2], 0)).astype(np.int32)
            for a, b in _BONES:
                if seen[a] and seen[b]:
                    cv2.line(zone, tuple(pts[a].tolist()), tuple(pts[b].tolist()), 1, thick)
            for i in np.flatnonzero(seen):
                cv2.circle(zone, tuple(pts[i].tolist()), max(1, int(round(width))), 1, -1)
            out["near"] = int(np.count_nonzero(zone.astype(bool) & mask))
    return out


class Tally:
    """Figures added up over frames: `add(mask or None, joints2d)` per frame, then `summary()`."""

    def __init__(self):
        self.frames = self.skeletons = self.cut_found = self.all_key_inside = self.key_frames = 0
        self.sums = {"joints": 0, "inside": 0, "key": 0, "key_inside": 0, "pixels": 0, "near": 0}

    def add(self, mask: np.ndarray | None, joints2d: np.ndarray | None) -> None:
        self.frames += 1
        fit = None if joints2d is None else frame_fit(mask if mask is not None else np.zeros((1, 1), bool), joints2d)
        if fit is None:
            return
        self.skeletons += 1
        if mask is None or not fit["pixels"]:
            return
        self.cut_found += 1
        for k, v in fit.items():
            self.sums[k] += v
        if fit["key"]:
            self.key_frames += 1
            self.all_key_inside += fit["key"] == fit["key_inside"]

    def summary(self) -> dict:
        s = self.sums
        share = (lambda a, b: round(a / b, 4) if b else None)
        return {"frames": self.frames, "with_skeleton": self.skeletons,
                "found": share(self.cut_found, self.skeletons),
                "joints_inside": share(s["inside"], s["joints"]),
                "key_joints_inside": share(s["key_inside"], s["key"]),
                "frames_key_joints_inside": share(self.all_key_inside, self.key_frames),
                "near_skeleton": share(s["near"], s["pixels"])}


def verdict(fig: dict) -> str | None:
    """Why a cut with these figures is rejected, or None when it holds the skeleton."""
    if not fig["with_skeleton"]:
        return None
    if fig["found"] is None or fig["found"] < MIN_FOUND:
        return f"finds the dancer in only {fig['found'] or 0:.0%} of the frames with a skeleton"
    if fig["key_joints_inside"] is not None and fig["key_joints_inside"] < MIN_INSIDE:
        return (f"cuts the clothes but not the skin: only {fig['key_joints_inside']:.0%} of head, wrist and "
                f"ankle joints inside the silhouette")
    if fig["near_skeleton"] is not None and fig["near_skeleton"] < MIN_NEAR:
        return f"keeps the backdrop: only {fig['near_skeleton']:.0%} of the silhouette lies near the skeleton"
    return None


def quality(fig: dict) -> float:
    """One number to rank cuts that pass: joints held and backdrop left out, both count."""
    inside = fig["key_joints_inside"] if fig["key_joints_inside"] is not None else fig["joints_inside"] or 0.0
    return float(inside * (fig["near_skeleton"] or 0.0) * (fig["found"] or 0.0))


def describe(fig: dict) -> str:
    """The figures in words, for the terminal."""
    if not fig["with_skeleton"]:
        return "no skeleton found to check the cut against"
    parts = [f"dancer cut in {fig['found'] or 0:.0%} of {fig['with_skeleton']} frames with a skeleton"]
    if fig["key_joints_inside"] is not None:
        parts.append(f"{fig['key_joints_inside']:.0%} of head/wrist/ankle joints inside")
    if fig["near_skeleton"] is not None:
        parts.append(f"{fig['near_skeleton']:.0%} of the silhouette near the skeleton")
    return ", ".join(parts)
