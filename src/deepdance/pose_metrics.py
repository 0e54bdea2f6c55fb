"""Figures of a dance's poses beside the real dancer's: is it a person, how it moves, where it pauses.

    human_found    share of frames in which an independent pose estimator (BlazePose, each frame on its own)
                   finds a person: generated silhouettes beside the real ones
    kinetic_fd     Fréchet distance of kinetic features (FID_k-style: per joint, over 1-s windows, the mean
                   squared velocity across and up and the mean acceleration) to each real half; the real
                   halves' distance to each other is the yardstick
    foot_sliding   how fast a planted foot slides (torso lengths per second): a foot near the floor that
                   hardly moves up or down is planted; its sideways speed then is sliding
    bas_joints     the Beat Align Score on joint speed: motion beats are the local minima of the mean joint
                   speed (as Bailando defines them), scored against the music's beats (`rhythm.py`)
Joints are (N, 21, 3) in the data's pixels with a confidence (the one skeleton format), at the data's rate;
figures are in units of the real dancer's median torso length, so they mean the same at any size.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from .metrics import frechet_distance, frames_in
from .pose.estimator import BlazePose, pose_estimator
from .pose.skeleton import FEET, planted, torso_length
from .rhythm import beat_align_score, motion_beats

HUMAN_SAMPLE = 240       # frames a side the estimator looks at, evenly spread
KINETIC_WINDOW_S, KINETIC_HOP_S = 1.0, 0.25
SEEN_SHARE = 0.9         # joints seen in at least this share of real frames are measured
_FEET = list(FEET)


def humans_found(sets: Sequence[np.ndarray], *, sample: int = HUMAN_SAMPLE) -> list[float]:
    """Per set of uint8 silhouettes, the share of `sample` of its frames (evenly spread) in which BlazePose finds
    a person. All sets' frames go through one estimator: from PARALLEL_FROM frames in all, BlazePose in one
    process per core; each frame is a picture on its own, so the answers are those of one process."""
    sets = [np.asarray(frames) for frames in sets]
    items = [(k, int(i)) for k, frames in enumerate(sets) if len(frames)
             for i in np.linspace(0, len(frames) - 1, min(sample, len(frames))).round()]
    found: list[list[bool]] = [[] for _ in sets]

    def picture(item: tuple[int, int]) -> np.ndarray:
        return cv2.cvtColor(sets[item[0]][item[1]], cv2.COLOR_GRAY2RGB)

    with pose_estimator(video=False, frames=len(items)) as judge:
        for (k, _), pose in judge.stream(items, frame=picture):
            found[k].append(bool(np.isfinite(pose.joints2d[:, :2]).any()))
    return [float(np.mean(f)) if f else 0.0 for f in found]


def estimate_joints(frames: np.ndarray) -> np.ndarray:
    """Joints (N, 21, 3) BlazePose finds in silhouette frames, in order (for a dance that has no joints)."""
    with BlazePose(video=True) as judge:
        return np.stack([judge.estimate(cv2.cvtColor(f, cv2.COLOR_GRAY2RGB)).joints2d for f in frames])


def _measured(real: np.ndarray) -> np.ndarray:
    seen = np.isfinite(real[..., :2]).all(-1) & (np.nan_to_num(real[..., 2]) > 0)
    return np.flatnonzero(seen.mean(0) >= SEEN_SHARE)


def _filled(joints: np.ndarray, idx: np.ndarray, scale: float) -> np.ndarray:
    """The measured joints' positions (N, K, 2) in torso lengths, unknown ones interpolated over time."""
    j = np.asarray(joints, np.float64)[:, idx, :2] / scale
    seen = np.isfinite(j).all(-1) & (np.nan_to_num(np.asarray(joints)[:, idx, 2]) > 0)
    t = np.arange(len(j))
    for k in range(j.shape[1]):
        ok = seen[:, k]
        for d in range(2):
            j[:, k, d] = np.interp(t, t[ok], j[ok, k, d]) if ok.any() else 0.0
    return j


def kinetic_features(pos: np.ndarray, fps: float) -> np.ndarray:
    """Per 1-s window (hop 1/4 s): per joint mean squared velocity across and up, mean |acceleration|."""
    w, hop = max(2, frames_in(KINETIC_WINDOW_S, fps)), frames_in(KINETIC_HOP_S, fps)
    if len(pos) < w + 2:
        return np.zeros((0, 3 * pos.shape[1]))
    v = np.diff(pos, axis=0) * fps
    a = np.linalg.norm(np.diff(v, axis=0), axis=-1) * fps
    per = np.concatenate([v[1:] ** 2, a[..., None]], -1).reshape(len(a), -1)
    win = np.lib.stride_tricks.sliding_window_view(per, w, axis=0)[::hop]
    return win.mean(axis=2)


def joint_speed(pos: np.ndarray, fps: float) -> np.ndarray:
    """Mean joint speed (torso lengths / s) at each frame's own time (central differences)."""
    if len(pos) < 2:
        return np.zeros(len(pos))
    return np.linalg.norm(np.gradient(pos, axis=0) * fps, axis=-1).mean(1)


def foot_sliding(joints: np.ndarray, fps: float, scale: float) -> float | None:
    """Mean sideways speed (torso lengths / s) of feet while planted; None when no foot is ever planted."""
    on_floor = planted(joints, fps, scale)   # a foot near the floor that hardly moves up or down
    if on_floor is None:
        return None
    vx = np.gradient(np.asarray(joints, np.float64)[:, _FEET, 0] / scale, axis=0) * fps
    slides = np.abs(vx[on_floor])
    return float(slides.mean()) if slides.size else None


def _bas(speed: np.ndarray, fps: float, beats) -> float | None:
    if beats is None:
        return None
    beats = np.asarray(beats, np.float64)
    beats = beats[(beats >= 0) & (beats <= (len(speed) - 1) / fps)]
    return beat_align_score(motion_beats(speed, fps), beats) if len(beats) else None


def pose_figures(generated: np.ndarray, real: np.ndarray, fps: float, *, beats=None,
                 real_beats=None) -> dict[str, float | None]:
    """Pose figures of generated joints beside the real joints' (both (N, 21, 3) at `fps`, data pixels)."""
    real = np.asarray(real, np.float64)
    torso = torso_length(real)
    scale = float(np.median(torso[np.isfinite(torso) & (torso > 0)]))
    idx = _measured(real)
    g, r = _filled(generated, idx, scale), _filled(real, idx, scale)
    half = len(r) // 2
    kg, k1, k2 = kinetic_features(g, fps), kinetic_features(r[:half], fps), kinetic_features(r[half:], fps)
    kfd = kfd_real = None
    if min(len(k1), len(k2)) >= 2:
        ref = np.concatenate([k1, k2])
        kfd_real = frechet_distance(k1, k2, ref=ref)
        if len(kg) >= 2:
            kfd = float(np.mean([frechet_distance(kg, k, ref=ref) for k in (k1, k2)]))
    gj = np.asarray(generated, np.float64).copy()
    gj[:, _FEET, :2] = g[:, [list(idx).index(f) for f in _FEET]] * scale if set(_FEET) <= set(idx) else np.nan
    rj = real.copy()
    rj[:, _FEET, :2] = r[:, [list(idx).index(f) for f in _FEET]] * scale if set(_FEET) <= set(idx) else np.nan
    return {"kinetic_fd": kfd, "kinetic_fd_real": kfd_real,
            "foot_sliding": foot_sliding(gj, fps, scale), "foot_sliding_real": foot_sliding(rj, fps, scale),
            "joint_speed": float(joint_speed(g, fps).mean()), "joint_speed_real": float(joint_speed(r, fps).mean()),
            "bas_joints": _bas(joint_speed(g, fps), fps, beats),
            "bas_joints_real": _bas(joint_speed(r, fps), fps, real_beats)}
