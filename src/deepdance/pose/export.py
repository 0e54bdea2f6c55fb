"""A generated dance's poses written for other tools: dance.bvh, dance_keypoints.npz, dance_skeleton.mp4.

dance.bvh      a joint hierarchy with rotations (Blender, MotionBuilder, ... open it), centimetres, Y up,
               the dancer about 170 cm tall. The poses are 2-D: each bone keeps one length (its longest in
               the dance) and leans toward the camera by what its picture is shorter, so the file's joints
               seen from the front are the dance's joints exactly. Where a bone has several children a
               zero-length bone leads to each (`...Bone`), so every joint's rotation points one bone.
dance_keypoints.npz   the AIST++ keypoints2d layout `deepdance pose` writes (`synth --motion` reads it), in
               the pixels of the dance video, plus the whole joint set.
dance_skeleton.mp4    the skeleton drawn over the dance's silhouettes.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from ..files import atomic_path
from ..video import PREVIEW_PRESET, write_video
from .figure import REST_TORSO
from .skeleton import INDEX, PoseTrack, torso_length
from .track import draw_skeleton

BODY_CM = 170.0   # one body-height unit
# BVH joints: (name, parent, the point it sits at); a "...Bone" sits where its parent does
_TREE = [("Hips", None, "root"), ("Spine", "Hips", "root"), ("Neck", "Spine", "neck"),
         ("HeadBone", "Neck", "neck"), ("Head", "HeadBone", "nose")]
for _s, _side in (("l", "Left"), ("r", "Right")):
    _TREE += [(f"{_side}HipBone", "Hips", "root"), (f"{_side}UpLeg", f"{_side}HipBone", f"{_s}_hip"),
              (f"{_side}Leg", f"{_side}UpLeg", f"{_s}_knee"), (f"{_side}Foot", f"{_side}Leg", f"{_s}_ankle"),
              (f"{_side}ToeBase", f"{_side}Foot", f"{_s}_toe"),
              (f"{_side}Shoulder", "Neck", "neck"), (f"{_side}Arm", f"{_side}Shoulder", f"{_s}_shoulder"),
              (f"{_side}ForeArm", f"{_side}Arm", f"{_s}_elbow"), (f"{_side}Hand", f"{_side}ForeArm", f"{_s}_wrist"),
              (f"{_side}HandEnd", f"{_side}Hand", f"{_s}_hand"),
              (f"{_side}EyeBone", "Head", "nose"), (f"{_side}Eye", f"{_side}EyeBone", f"{_s}_eye"),
              (f"{_side}Ear", f"{_side}Eye", f"{_s}_ear")]
BVH_NAMES = [t[0] for t in _TREE]
BVH_POINT = {name: point for name, _, point in _TREE}   # which of our joints each BVH joint is
_PARENT = [None if p is None else BVH_NAMES.index(p) for _, p, _ in _TREE]
_CHILDREN = [[k for k, p in enumerate(_PARENT) if p == i] for i in range(len(_TREE))]


def _points(joints2d: np.ndarray, ppu: float, source: tuple[int, int]) -> dict[str, np.ndarray]:
    """Our joints (N, 21, 3) in source pixels -> points (N, 2) in cm, x right, y up (the picture's bottom
    at 0, its middle at x = 0), plus root (mid-hip) and neck (mid-shoulder)."""
    xy = (np.asarray(joints2d, np.float64)[..., :2] - [source[0] / 2, source[1]]) * [1.0, -1.0] * (BODY_CM / ppu)
    pts = {name: xy[:, i] for name, i in INDEX.items()}
    pts["root"] = (pts["l_hip"] + pts["r_hip"]) / 2
    pts["neck"] = (pts["l_shoulder"] + pts["r_shoulder"]) / 2
    return pts


def _swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotations (N, 3, 3) turning unit vectors a (3,) onto unit vectors b (N, 3) the shortest way."""
    a = np.broadcast_to(a, b.shape)
    axis = np.cross(a, b)
    s, c = np.linalg.norm(axis, axis=-1), (a * b).sum(-1)
    flip = s < 1e-9
    other = np.cross(a, np.where(np.abs(a[..., :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]]))
    axis = np.where(flip[:, None], other, axis)
    axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
    angle = np.arctan2(s, c)
    angle = np.where(flip & (c > 0), 0.0, angle)
    return Rotation.from_rotvec(axis * angle[:, None]).as_matrix()


def bvh_motion(joints2d: np.ndarray, ppu: float, source: tuple[int, int]):
    """(offsets (K, 3), root positions (N, 3), local rotations (N, K, 3, 3), 3-D positions (N, K, 3)) in cm."""
    pts = _points(joints2d, ppu, source)
    n, k = len(joints2d), len(_TREE)
    pos = np.zeros((n, k, 3))
    offsets = np.zeros((k, 3))
    pos[:, 0, :2] = pts["root"]
    for i in range(1, k):
        p = _PARENT[i]
        here, there = BVH_POINT[BVH_NAMES[p]], BVH_POINT[BVH_NAMES[i]]
        if here == there:
            pos[:, i] = pos[:, p]
            continue
        d = pts[there] - pts[here]
        flat = np.linalg.norm(d, axis=-1)
        length = max(float(flat.max()), 1e-3)
        pos[:, i, :2] = pos[:, p, :2] + d
        pos[:, i, 2] = pos[:, p, 2] + np.sqrt(np.maximum(length ** 2 - flat ** 2, 0.0))   # toward the camera
        mean = d.mean(0)
        rest = mean / np.linalg.norm(mean) if np.linalg.norm(mean) > 1e-6 else np.array([0.0, -1.0])
        offsets[i, :2] = rest * length
    glob = np.tile(np.eye(3), (n, k, 1, 1))
    local = glob.copy()
    for i in range(k):
        kids = [c for c in _CHILDREN[i] if np.linalg.norm(offsets[c]) > 0]
        if len(kids) == 1:
            c = kids[0]
            v = pos[:, c] - pos[:, i]
            glob[:, i] = _swing(offsets[c] / np.linalg.norm(offsets[c]),
                                v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9))
        elif not _CHILDREN[i] and _PARENT[i] is not None:
            glob[:, i] = glob[:, _PARENT[i]]
        if _PARENT[i] is not None:
            local[:, i] = np.swapaxes(glob[:, _PARENT[i]], -1, -2) @ glob[:, i]
        else:
            local[:, i] = glob[:, i]
    return offsets, pos[:, 0].copy(), local, pos


def write_bvh(path: str | os.PathLike, joints2d: np.ndarray, fps: float, *, ppu: float,
              source: tuple[int, int]) -> Path:
    """The dance's joints (N, 21, 3) in source pixels (positions finite) as a BVH file, written atomically."""
    offsets, root, local, _ = bvh_motion(joints2d, ppu, source)
    lines = ["HIERARCHY"]

    def joint(i: int, depth: int) -> None:
        pad = "  " * depth
        kind = "ROOT" if i == 0 else "JOINT"
        lines.append(f"{pad}{kind} {BVH_NAMES[i]}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {offsets[i][0]:.5f} {offsets[i][1]:.5f} {offsets[i][2]:.5f}")
        chans = "6 Xposition Yposition Zposition Zrotation Xrotation Yrotation" if i == 0 else \
            "3 Zrotation Xrotation Yrotation"
        lines.append(f"{pad}  CHANNELS {chans}")
        for c in _CHILDREN[i]:
            joint(c, depth + 1)
        if not _CHILDREN[i]:
            lines.extend([f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET 0.00000 -2.00000 0.00000", f"{pad}  }}"])
        lines.append(f"{pad}}}")

    joint(0, 0)
    n, k = local.shape[:2]
    with warnings.catch_warnings():   # a joint turned exactly 90 degrees: scipy sets its third angle to 0, as BVH allows
        warnings.filterwarnings("ignore", message="Gimbal lock detected")
        euler = Rotation.from_matrix(local.reshape(-1, 3, 3)).as_euler("ZXY", degrees=True).reshape(n, k, 3)
    order = []

    def walk(i):
        order.append(i)
        for c in _CHILDREN[i]:
            walk(c)

    walk(0)
    values = np.concatenate([root, euler[:, order].reshape(n, -1)], 1)
    lines += ["MOTION", f"Frames: {n}", f"Frame Time: {1.0 / fps:.8f}"]
    lines += [" ".join(f"{v:.5f}" for v in row) for row in values]
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return path


def dance_ppu(joints2d: np.ndarray) -> float:
    """Pixels per body-height unit of a dance's joints (its median torso length)."""
    torso = torso_length(joints2d)
    torso = torso[np.isfinite(torso) & (torso > 0)]
    return float(np.median(torso)) / REST_TORSO if len(torso) else 1.0


def to_picture(joints2d: np.ndarray, source: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """Joints in source pixels -> in the pixels of a dance drawn at `size` (as `figure.draw_figure` frames
    it); unseen joints become unknown (NaN, confidence 0), as in every pose track."""
    j = np.asarray(joints2d, np.float32).copy()
    k = min(size[0] / source[0], size[1] / source[1])
    origin = np.array([(size[0] - k * source[0]) / 2, (size[1] - k * source[1]) / 2], np.float32)
    j[..., :2] = j[..., :2] * k + origin
    j[j[..., 2] <= 0] = [np.nan, np.nan, 0.0]
    return j


def export_dance(out_dir: str | os.PathLike, joints2d: np.ndarray, fps: float, *, source: tuple[int, int],
                 frames: np.ndarray | None = None) -> dict[str, Path]:
    """dance.bvh, dance_keypoints.npz and (given the frames) dance_skeleton.mp4 of a dance into `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    size = (frames.shape[2], frames.shape[1]) if frames is not None else source
    picture = to_picture(joints2d, source, size)
    out = {"bvh": write_bvh(out_dir / "dance.bvh", joints2d, fps, ppu=dance_ppu(joints2d), source=source),
           "keypoints": PoseTrack(picture, float(fps), size, source={"kind": "deepdance-dance"}).save(
               out_dir / "dance_keypoints.npz")}
    if frames is not None:
        def overlays():
            for f, j in zip(frames, picture):
                yield draw_skeleton(cv2.cvtColor(f, cv2.COLOR_GRAY2RGB), j)
        write_video(out_dir / "dance_skeleton.mp4", overlays(), fps=fps, crf=23, preset=PREVIEW_PRESET)
        out["skeleton"] = out_dir / "dance_skeleton.mp4"
    return out
