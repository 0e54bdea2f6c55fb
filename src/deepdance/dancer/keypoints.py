"""COCO-17 2-D keypoints read as poses of the built-in figure: one camera view, flat (z = 0).

AIST++ style .npz (`keypoints2d`, `det_scores`, `timestamps`) or a plain array. Joints or frames the
detector was unsure of are filled by interpolation over time; the trunk joints COCO lacks sit along
the hips -> shoulders line as in the built-in figure.
"""

from __future__ import annotations

import operator
import zipfile
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..pose.skeleton import COCO17
from .body import JOINTS, J
from .staging import FOOT_DROP, HEAD_LEN, REST, REST_CHAIN, chain_length, frame_rate, stage, unit

_C = {n: i for i, n in enumerate(COCO17)}
_LIMBS = COCO17[5:]
_MIN_SCORE = 0.2           # keypoints less sure than this are filled in from neighbouring frames
_MIN_DETECTION = 0.1       # a frame whose person detection is this weak is filled in as a whole
_FLOOR_WINDOW_S = 2.0      # keypoint floors drift with perspective; a jump is much shorter than this


def read_keypoints(path: Path, fps: float | None, view) -> tuple[np.ndarray, float, dict]:
    """A .npz / .npy of keypoints -> (poses (N, J, 3) staged, frames a second, where they came from)."""
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise UserError(f"{path.name}: not a readable numpy file ({e})") from None
    det = stamps = None
    if isinstance(data, np.ndarray):
        kp = data
    else:
        with data:
            keys = list(data.files)
            if "keypoints2d" in keys:
                kp = data["keypoints2d"]
                det = data["det_scores"] if "det_scores" in keys else None
                stamps = data["timestamps"] if "timestamps" in keys else None
            elif len(keys) == 1:
                kp = data[keys[0]]
            else:
                raise UserError(f"{path.name}: expected a 'keypoints2d' array or a single array, found {keys}")
    expected = "(frames, 17, 2|3) or (views, frames, 17, 2|3)"
    if kp.ndim not in (3, 4) or kp.shape[-2] != 17 or kp.shape[-1] not in (2, 3) or kp.shape[-3] < 1 \
            or not np.issubdtype(kp.dtype, np.number):
        raise UserError(f"{path.name}: keypoints of shape {kp.shape} ({kp.dtype}), expected {expected}")
    views = kp.shape[0] if kp.ndim == 4 else 1
    try:
        if isinstance(view, bool):
            raise TypeError
        v = 0 if view is None else int(view) if isinstance(view, str) else operator.index(view)
    except (TypeError, ValueError):
        raise UserError(f"{path.name}: view must be a camera index, got {view!r}") from None
    if not 0 <= v < views:
        raise UserError(f"{path.name}: view {v} out of range: the file has {views} camera view(s), 0..{views - 1}")
    if kp.ndim == 4:
        kp = kp[v]
        det = det[v] if det is not None and det.ndim == 2 and det.shape[0] == views else None
    if fps is None:
        if stamps is None or len(stamps) < 2:
            raise UserError(f"{path.name}: no timestamps to read the frame rate from; give the frame rate")
        step = float(np.median(np.diff(np.asarray(stamps, np.float64))))
        if not step > 0:
            raise UserError(f"{path.name}: timestamps do not increase; give the frame rate")
        fps = frame_rate(1e6 / step)   # AIST++ timestamps are microseconds
    poses, mapping = _coco_poses(np.asarray(kp, np.float64), det, path.name)
    window = max(2, int(round(_FLOOR_WINDOW_S * fps)))
    poses = stage(poses, turn=0.0, window=window)
    return poses, fps, {"kind": "coco17", "file": path.name, "fps": fps, "view": v, "views": views,
                         "joints": mapping}


def _fill(track: np.ndarray) -> np.ndarray:
    """Fill NaN frames of (F, 2) by linear interpolation over time (held at the ends)."""
    ok = np.isfinite(track).all(-1)
    if ok.all():
        return track
    t = np.arange(len(track))
    return np.stack([np.interp(t, t[ok], track[ok, d]) for d in range(track.shape[1])], -1)


def flat_poses(limbs: np.ndarray, face: np.ndarray | None, scale: float) -> np.ndarray:
    """COCO-17's limb keypoints (F, 12, 2) (shoulders to ankles, x right, y up) and the middle of the face
    (F, 2, NaN in a frame with no face keypoint, or None) -> flat poses (F, J, 3) in body units (`scale`
    body units a keypoint unit). The trunk joints COCO lacks sit along the hips -> shoulders line, the head
    leans toward the face (along the trunk without one), a short foot continues the shin."""
    n_frames = len(limbs)
    flat = np.zeros((n_frames, len(JOINTS), 3))
    for i, n in enumerate(_LIMBS):
        flat[:, J[n], :2] = limbs[:, i]
    flat *= scale
    hip_mid = (flat[:, J["l_hip"]] + flat[:, J["r_hip"]]) / 2
    sh_mid = (flat[:, J["l_shoulder"]] + flat[:, J["r_shoulder"]]) / 2
    trunk = sh_mid - hip_mid
    # the pelvis, spine, chest and neck sit along the trunk as in the built-in figure
    top = REST[J["l_shoulder"], 1] - REST[J["l_hip"], 1]
    for n in ("pelvis", "spine", "chest", "neck"):
        flat[:, J[n]] = hip_mid + trunk * ((REST[J[n], 1] - REST[J["l_hip"], 1]) / top)
    neck = flat[:, J["neck"]]
    toward = trunk
    if face is not None:
        to_face = np.concatenate([np.asarray(face, np.float64) * scale, np.zeros((n_frames, 1))], 1) - neck
        toward = np.where(np.isfinite(to_face).all(-1, keepdims=True), to_face, trunk)
    flat[:, J["head"]] = neck + unit(toward, trunk) * HEAD_LEN
    for s in "lr":   # a short foot continuing the shin (seen from the front, a foot points at the camera)
        shin = flat[:, J[f"{s}_ankle"]] - flat[:, J[f"{s}_knee"]]
        flat[:, J[f"{s}_toe"]] = flat[:, J[f"{s}_ankle"]] + unit(shin, [0.0, -1.0, 0.0]) * -FOOT_DROP
    return flat


def _coco_poses(kp: np.ndarray, det: np.ndarray | None, name: str) -> tuple[np.ndarray, dict]:
    """Keypoints (F, 17, 2|3) in picture pixels (y down) -> flat poses (F, J, 3) scaled to body units."""
    xy = kp[..., :2] * [1.0, -1.0]
    ok = np.isfinite(xy).all(-1)
    if kp.shape[-1] == 3:
        ok &= kp[..., 2] >= _MIN_SCORE
    if det is not None and len(det) == len(kp):
        ok &= (np.asarray(det) >= _MIN_DETECTION)[:, None]
    xy = np.where(ok[..., None], xy, np.nan)
    never = [COCO17[i] for i in range(5, 17) if not ok[:, i].any()]
    if never:
        raise UserError(f"{name}: keypoints never found with confidence for: {', '.join(never)}")
    pts = {n: _fill(xy[:, _C[n]]) for n in _LIMBS}
    face_ok = ok[:, :5]
    # the head points toward the middle of whatever face keypoints are visible
    with np.errstate(invalid="ignore"):
        face = np.nansum(xy[:, :5], 1) / face_ok.sum(1)[:, None]
    face = _fill(face) if face_ok.any() else None

    flat = np.zeros((len(kp), len(JOINTS), 3))
    for n in _LIMBS:
        flat[:, J[n], :2] = pts[n]
    scale = REST_CHAIN / max(float(np.median(chain_length(flat))), 1e-12)
    flat = flat_poses(np.stack([pts[n] for n in _LIMBS], 1), face, scale)
    mapping = {n: n for n in _LIMBS}
    mapping.update(pelvis="mid-hips", spine="mid-hips -> mid-shoulders", chest="mid-hips -> mid-shoulders",
                   neck="mid-shoulders, raised", head="neck -> face (nose, eyes, ears)",
                   l_toe="extrapolated knee -> ankle", r_toe="extrapolated knee -> ankle")
    return flat, mapping
