"""One skeleton format for the whole project: per frame, 2-D image joints with a confidence, 3-D joints where known.

The joint set, `JOINTS` (21): COCO-17 in COCO's order, so `joints[:, :17]` *is* COCO-17 (the mapping is
the identity, `COCO17_INDEX`), then four joints COCO lacks that keep hands and feet in view:

    0 nose  1 l_eye  2 r_eye  3 l_ear  4 r_ear  5 l_shoulder  6 r_shoulder  7 l_elbow  8 r_elbow
    9 l_wrist  10 r_wrist  11 l_hip  12 r_hip  13 l_knee  14 r_knee  15 l_ankle  16 r_ankle
    17 l_hand  18 r_hand  (the middle of the knuckles)   19 l_toe  20 r_toe  (the tip of the foot)

Left and right are the dancer's own. Arrays (N frames):
  joints2d  float32 (N, J, 3): x, y in source pixels (x right, y down) and a confidence in [0, 1].
            Confidence 0 = not seen in the picture; x = y = NaN = position unknown (never invented: a joint
            an estimator puts outside the picture, a joint a source does not have).
  joints3d  float32 (N, J, 3) or None: metres, in the axes of `dancer/body.py` (x the viewer's right,
            y up, z toward the camera), origin at the mid-hip of each frame; NaN where unknown.
  root3d    float32 (N, 3) or None: the mid-hip in metres in the world, where a source knows it (travel).
The built-in dancer and BVH motion are about 1.0 body height tall; they become `DANCER_HEIGHT_M` tall.

Sources: `from_blazepose` (33 landmarks, image + world), `from_dancer` (the built-in dancer's exact joints
and its camera), `from_motion` (BVH through `dancer.motion.load_motion`), `from_coco17` (keypoint files).
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.ndimage import maximum_filter1d

from ..dancer.body import Body, Camera, J as DJ, face_points, rotate_y
from ..errors import UserError
from ..files import atomic_path


# COCO's keypoint order (AIST++ uses it); dancer/motion.py reads keypoint files in the same order
COCO17 = ("nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_shoulder", "r_shoulder", "l_elbow", "r_elbow",
          "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle")
JOINTS = COCO17 + ("l_hand", "r_hand", "l_toe", "r_toe")
INDEX = {name: i for i, name in enumerate(JOINTS)}
COCO17_INDEX = tuple(range(17))   # JOINTS index of each COCO-17 keypoint, in COCO order
DANCER_HEIGHT_M = 1.70
HAND_AT = 0.6   # the knuckles' middle, as a fraction of the built-in dancer's hand (wrist -> hand end)
# bones for drawing and sizing: pairs of JOINTS names
BONES = (("l_shoulder", "r_shoulder"), ("l_hip", "r_hip"), ("nose", "l_eye"), ("nose", "r_eye"),
         ("l_eye", "l_ear"), ("r_eye", "r_ear")) + tuple(
    (f"{s}_{a}", f"{s}_{b}") for s in "lr" for a, b in (("shoulder", "elbow"), ("elbow", "wrist"),
                                                         ("wrist", "hand"), ("shoulder", "hip"), ("hip", "knee"),
                                                         ("knee", "ankle"), ("ankle", "toe")))

# BlazePose's 33 landmarks -> ours: one landmark, or the mean of two (the hand: index and pinky knuckles)
BLAZEPOSE = {"nose": (0,), "l_eye": (2,), "r_eye": (5,), "l_ear": (7,), "r_ear": (8,),
             "l_shoulder": (11,), "r_shoulder": (12,), "l_elbow": (13,), "r_elbow": (14,),
             "l_wrist": (15,), "r_wrist": (16,), "l_hip": (23,), "r_hip": (24,), "l_knee": (25,),
             "r_knee": (26,), "l_ankle": (27,), "r_ankle": (28,), "l_hand": (17, 19), "r_hand": (18, 20),
             "l_toe": (31,), "r_toe": (32,)}
_BP_A = np.array([BLAZEPOSE[n][0] for n in JOINTS])
_BP_B = np.array([BLAZEPOSE[n][-1] for n in JOINTS])
_FACE = ("nose", "l_eye", "r_eye", "l_ear", "r_ear")   # the order of `body.face_points`
_LIMBS = tuple(n for n in JOINTS[5:] if not n.endswith("_hand"))   # joints the built-in skeleton has as such


@dataclass
class PoseTrack:
    """A pose per frame in the one format (see the module docstring), `fps` frames a second."""

    joints2d: np.ndarray
    fps: float
    size: tuple[int, int]                 # source picture (width, height)
    joints3d: np.ndarray | None = None
    root3d: np.ndarray | None = None
    timestamps: np.ndarray | None = None  # int64 microseconds; None = frame index / fps
    source: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.joints2d)

    @property
    def score(self) -> np.ndarray:
        """Per frame: mean confidence of the 17 COCO joints; 0 where nobody was found."""
        return self.joints2d[:, :17, 2].mean(1).astype(np.float32)

    @property
    def found(self) -> np.ndarray:
        return self.score > 0

    def micros(self) -> np.ndarray:
        if self.timestamps is not None:
            return np.asarray(self.timestamps, np.int64)
        return np.round(np.arange(len(self)) * (1e6 / self.fps)).astype(np.int64)

    def coco17(self) -> np.ndarray:
        """(N, 17, 3) keypoints in COCO's convention: an unknown keypoint is (0, 0, 0)."""
        kp = self.joints2d[:, COCO17_INDEX].copy()
        kp[~np.isfinite(kp[..., :2]).all(-1)] = 0.0
        return kp

    def save(self, path: str | os.PathLike) -> Path:
        """Write an .npz atomically: the AIST++ keypoints2d layout (read by `synth --motion`) plus our arrays."""
        arrays = {"keypoints2d": self.coco17()[None].astype(np.float32), "det_scores": self.score[None],
                  "timestamps": self.micros(), "joints2d": self.joints2d.astype(np.float32),
                  "joint_names": np.array(JOINTS), "fps": np.float64(self.fps),
                  "size": np.array(self.size, np.int64), "source": np.array(json.dumps(self.source))}
        for key in ("joints3d", "root3d"):
            if getattr(self, key) is not None:
                arrays[key] = getattr(self, key).astype(np.float32)
        path = Path(path)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "PoseTrack":
        """Read a file written by `save`."""
        try:
            with np.load(path, allow_pickle=False) as data:
                if "joints2d" not in data.files:
                    raise UserError(f"{path}: not a deepdance pose track (no 'joints2d')")
                names = tuple(str(n) for n in data["joint_names"])
                if names != JOINTS:
                    raise UserError(f"{path}: joints {names} are not this version's {JOINTS}")
                get = {k: data[k] for k in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise UserError(f"{path}: not a readable pose track ({e})") from None
        return cls(get["joints2d"], float(get["fps"]), tuple(int(v) for v in get["size"]),
                   get.get("joints3d"), get.get("root3d"), get["timestamps"], json.loads(str(get["source"])))


def from_blazepose(image: np.ndarray | None, world: np.ndarray | None, width: int, height: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """One frame of BlazePose landmarks -> (joints2d (J, 3), joints3d (J, 3)).

    `image`: (33, 4) normalised x, y, z and visibility (None: nobody found); `world`: (33, 4) metres with
    the origin between the hips, y down and z away from the camera. A joint placed outside the picture is
    unknown (NaN), not invented; the confidence is the landmark's visibility.
    """
    j2 = np.full((len(JOINTS), 3), np.nan, np.float32)
    j2[:, 2] = 0.0
    j3 = np.full((len(JOINTS), 3), np.nan, np.float32)
    if image is None:
        return j2, j3
    img = np.asarray(image, np.float64)
    xy = (img[_BP_A, :2] + img[_BP_B, :2]) / 2 * [width, height]
    vis = np.minimum(img[_BP_A, 3], img[_BP_B, 3])
    inside = (xy >= 0).all(-1) & (xy[:, 0] < width) & (xy[:, 1] < height)
    j2[inside, :2] = xy[inside]
    j2[inside, 2] = np.clip(vis[inside], 0, 1)
    if world is not None:
        w = np.asarray(world, np.float64)
        j3[:] = (w[_BP_A, :3] + w[_BP_B, :3]) / 2 * [1.0, -1.0, -1.0]   # y up, z toward the camera
    return j2, j3


def from_dancer(poses3d: np.ndarray, body: Body, camera: Camera, fps: float, *, yaw=0.0,
                known: tuple[str, ...] = JOINTS, source: dict | None = None) -> PoseTrack:
    """The built-in figure's exact joints (N, 19, 3), as `draw_poses(poses3d, body, camera, yaw=yaw)` draws them.

    Hands are `HAND_AT` along the drawn hand; the face is `body.face_points`. `known` names the joints the
    poses really carry (others are NaN). A joint outside the picture, or a face point on the far side of the
    head, gets confidence 0: its position is known, it is not seen.
    """
    n = len(poses3d)
    yaws = np.broadcast_to(np.asarray(yaw, np.float64), (n,))
    p = rotate_y(np.asarray(poses3d, np.float64), yaws[:, None])
    world = np.full((n, len(JOINTS), 3), np.nan)
    for name in _LIMBS:
        world[:, INDEX[name]] = p[:, DJ[name]]
    for s in "lr":
        wrist, elbow = p[:, DJ[f"{s}_wrist"]], p[:, DJ[f"{s}_elbow"]]
        along = wrist - elbow
        along /= np.maximum(np.linalg.norm(along, axis=-1, keepdims=True), 1e-9)
        world[:, INDEX[f"{s}_hand"]] = wrist + along * (HAND_AT * body.hand)
    face = face_points(p, body)
    world[:, [INDEX[f] for f in _FACE]] = face
    unknown = [INDEX[n] for n in JOINTS if n not in known]
    world[:, unknown] = np.nan

    xy = world[..., :2] * [camera.scale, -camera.scale] + camera.origin
    conf = ((xy >= 0).all(-1) & (xy[..., 0] < camera.width) & (xy[..., 1] < camera.height)).astype(np.float64)
    # a face point is hidden once it is behind the head's outline, seen from the camera
    depth = face[..., 2] - p[:, DJ["head"], None, 2]
    conf[:, :5] *= depth > -0.25 * body.head_size[0]
    j2 = np.concatenate([xy, conf[..., None]], -1)
    j2[~np.isfinite(world).all(-1)] = [np.nan, np.nan, 0.0]
    mid_hip = (p[:, DJ["l_hip"]] + p[:, DJ["r_hip"]]) / 2
    j3 = (world - mid_hip[:, None]) * DANCER_HEIGHT_M
    return PoseTrack(j2.astype(np.float32), float(fps), (camera.width, camera.height), j3.astype(np.float32),
                     (mid_hip * DANCER_HEIGHT_M).astype(np.float32), None,
                     source or {"kind": "builtin-dancer"})


def carried(source: dict) -> tuple[str, ...]:
    """The joints a motion file's poses really carry (`Motion.source`): BVH has no face and no knuckles, and
    toes only where it names them; COCO-17 keypoints have the face and limbs, not hands or toes (the built-in
    figure fills those in to draw them, they are not seen)."""
    mapping = source.get("joints", {})
    if source.get("kind") == "bvh":
        return tuple(n for n in _LIMBS if not (n.endswith("_toe") and "extrapolated" in str(mapping.get(n, ""))))
    return tuple(n for n in _LIMBS if not n.endswith("_toe"))


def from_motion(motion, camera: Camera) -> PoseTrack:
    """A BVH `dancer.motion.Motion` (from `load_motion`) seen by `camera`: the joints the file has, nothing more.

    BVH files carry no face and no knuckles, and toes only when the file names them; the rest is unknown.
    """
    if motion.source.get("kind") != "bvh":
        raise ValueError("from_motion takes BVH motion; read keypoint files with from_coco17")
    return from_dancer(motion.poses, Body(), camera, motion.fps, known=carried(motion.source),
                       source={k: motion.source[k] for k in ("kind", "file", "view") if k in motion.source})


def from_coco17(keypoints: np.ndarray, fps: float, size: tuple[int, int], *, timestamps=None,
                source: dict | None = None) -> PoseTrack:
    """COCO-17 keypoints (N, 17, 2|3) in pixels -> a track; hands and toes unknown.

    A keypoint with confidence 0 or a non-finite position is unknown (COCO writes unlabelled ones as 0, 0, 0).
    """
    kp = np.asarray(keypoints, np.float64)
    if kp.ndim != 3 or kp.shape[1:] not in ((17, 2), (17, 3)):
        raise UserError(f"COCO-17 keypoints must be (frames, 17, 2|3), got {kp.shape}")
    j2 = np.full((len(kp), len(JOINTS), 3), np.nan)
    j2[..., 2] = 0.0
    conf = kp[..., 2] if kp.shape[-1] == 3 else np.ones(kp.shape[:2])
    ok = np.isfinite(kp[..., :2]).all(-1) & (conf > 0)
    j2[:, :17][ok] = np.concatenate([kp[..., :2], np.clip(conf, 0, 1)[..., None]], -1)[ok]
    return PoseTrack(j2.astype(np.float32), float(fps), tuple(size), timestamps=timestamps,
                     source=source or {"kind": "coco17"})


def torso_length(joints2d: np.ndarray) -> np.ndarray:
    """Per frame: pixels from the mid-hip to the mid-shoulder (NaN where one of the four is unknown)."""
    j = np.asarray(joints2d, np.float64)[..., :2]
    sh = (j[..., INDEX["l_shoulder"], :] + j[..., INDEX["r_shoulder"], :]) / 2
    hip = (j[..., INDEX["l_hip"], :] + j[..., INDEX["r_hip"], :]) / 2
    return np.linalg.norm(sh - hip, axis=-1)


def pck(pred: np.ndarray, truth: np.ndarray, *, threshold: float = 0.2, min_conf: float = 0.5,
        joints=None) -> tuple[float, int]:
    """PCK: share of joints within `threshold` x the true torso length of the truth, and how many were scored.

    Scored: joints (names, default all) that both arrays see (confidence >= `min_conf`, finite), in frames
    whose true torso length is known.
    """
    idx = [INDEX[n] for n in (joints or JOINTS)]
    p, t = np.asarray(pred, np.float64)[:, idx], np.asarray(truth, np.float64)[:, idx]
    torso = torso_length(truth)[:, None]
    seen = (p[..., 2] >= min_conf) & (t[..., 2] >= min_conf) & np.isfinite(p[..., :2]).all(-1) \
        & np.isfinite(t[..., :2]).all(-1) & np.isfinite(torso) & (torso > 0)
    if not seen.any():
        return float("nan"), 0
    dist = np.linalg.norm(p[..., :2] - t[..., :2], axis=-1)
    return float(np.mean(dist[seen] <= threshold * np.broadcast_to(torso, dist.shape)[seen])), int(seen.sum())


# A foot is planted when it is near the floor (the lowest it has been within FLOOR_WINDOW_S, per foot pair) and
# hardly moves up or down; its sideways speed then is sliding (`pose_metrics.foot_sliding`, `Poses.plant_feet`)
FLOOR_WINDOW_S = 2.0
PLANTED_HEIGHT = 0.15    # torso lengths above the floor
PLANTED_SPEED = 0.5      # torso lengths a second up or down
FEET = (INDEX["l_ankle"], INDEX["r_ankle"])


def planted(joints2d: np.ndarray, fps: float, scale: float) -> np.ndarray | None:
    """(N, 2) whether each ankle is planted in each frame; None where the ankles are not all known.
    `scale`: the dancer's torso length in the joints' units."""
    feet = np.asarray(joints2d, np.float64)[:, list(FEET), :2] / scale
    if not np.isfinite(feet).all() or len(feet) < 2:
        return None
    floor = maximum_filter1d(feet[..., 1].max(1), max(1, int(round(FLOOR_WINDOW_S * fps))), mode="nearest")
    vy = np.gradient(feet[..., 1], axis=0) * fps
    return ((floor[:, None] - feet[..., 1]) < PLANTED_HEIGHT) & (np.abs(vy) < PLANTED_SPEED)
