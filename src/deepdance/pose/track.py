"""`deepdance pose`: the pose of every frame of a video, at its own frame rate, into an .npz and a preview.

The .npz holds the AIST++ keypoints2d layout that `synth --motion` reads (`keypoints2d` (1, frames, 17, 3)
in source pixels with the confidence, `det_scores` (1, frames), `timestamps` (frames) in microseconds)
and the whole joint set of `skeleton.py` (`joints2d`, `joints3d`, `joint_names`, ...). Beside it,
`NAME.preview.mp4` shows the skeleton drawn over the video.
"""

from __future__ import annotations

import os
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
from tqdm import tqdm

from .. import video as vid
from ..errors import UserError
from ..files import atomic_path, check_writable_dir
from .estimator import PoseEstimator, pose_estimator
from .skeleton import BONES, INDEX, PoseTrack

MAX_SIDE = 8192             # pixels: larger pictures are not video a phone or camera makes
MIN_SIDE = 32               # smaller and nobody can be found in them
MAX_FRAMES = 1_000_000      # ~4.6 h at 60 fps; the track itself stays small, the wait would not
PREVIEW_SIDE = 960          # the preview's longer side at most: the skeleton reads fine, encoding stays cheap
MIN_CONF = 0.5              # joints drawn in the preview
_LEFT, _RIGHT, _MIDDLE = (255, 140, 0), (0, 170, 255), (240, 240, 240)
_BONE_IDX = np.array([(INDEX[a], INDEX[b]) for a, b in BONES])
_BONE_COLOUR = [_LEFT if a.startswith("l_") and b.startswith("l_") else
                _RIGHT if a.startswith("r_") and b.startswith("r_") else _MIDDLE for a, b in BONES]


def preview_path(out: str | os.PathLike) -> Path:
    """Where the preview of the track `out` goes: NAME.preview.mp4 beside NAME.npz."""
    out = Path(out)
    return out.with_name(out.stem + ".preview.mp4")


def draw_skeleton(rgb: np.ndarray, joints2d: np.ndarray, *, scale: float = 1.0) -> np.ndarray:
    """Bones and joints seen with confidence >= MIN_CONF drawn on a copy of `rgb` (joints scaled by `scale`)."""
    img = np.ascontiguousarray(rgb).copy()
    xy, conf = joints2d[:, :2] * scale, joints2d[:, 2]
    ok = (conf >= MIN_CONF) & np.isfinite(xy).all(-1)
    thick = max(1, int(round(max(img.shape[:2]) / 300)))
    pts = np.where(ok[:, None], xy, 0).round().astype(np.int32)
    for (a, b), colour in zip(_BONE_IDX, _BONE_COLOUR):
        if ok[a] and ok[b]:
            cv2.line(img, tuple(pts[a].tolist()), tuple(pts[b].tolist()), colour, thick, cv2.LINE_AA)
    for i in np.flatnonzero(ok):
        cv2.circle(img, tuple(pts[i].tolist()), thick + 1, (255, 255, 255), -1, cv2.LINE_AA)
    return img


def _check(video: Path, out: Path, force: bool) -> dict:
    """Everything that can fail before any decoding: the output, the file, its size and length."""
    if out.suffix.lower() != ".npz":
        raise UserError(f"{out}: the pose track is an .npz file (e.g. --out pose.npz)")
    for path in (out, preview_path(out)):
        if path.exists() and not force:
            raise UserError(f"{path} already exists (use --force to replace it)")
        if path.is_dir():
            raise UserError(f"{path} is a folder")
    check_writable_dir(out.parent)
    info = vid.probe(video)   # missing, empty, unreadable, no video stream: UserError
    w, h = info["width"], info["height"]
    if not (w and h and MIN_SIDE <= min(w, h) and max(w, h) <= MAX_SIDE):
        raise UserError(f"{video}: a {w}x{h} picture; pose tracking takes {MIN_SIDE} to {MAX_SIDE} pixels a side")
    if info["frames"] and info["frames"] > MAX_FRAMES:
        raise UserError(f"{video}: about {info['frames']:,} frames; pose tracking takes at most {MAX_FRAMES:,}")
    return info


def track_video(video: str | os.PathLike, out: str | os.PathLike, *, preview: bool = True, force: bool = False,
                estimator: PoseEstimator | None = None, progress: bool = True) -> PoseTrack:
    """Track the dancer's pose in every frame of `video` into `out` (.npz) and `NAME.preview.mp4` beside it.

    Both files are written under temporary names and renamed only when the whole video is done; a video
    with nobody found in any frame is a `UserError` and leaves nothing behind.
    """
    video, out = Path(video), Path(out)
    info = _check(video, out, force)
    est = estimator or pose_estimator(video=True, frames=info["frames"] or None)
    j2: list[np.ndarray] = []
    j3: list[np.ndarray] = []
    stamps: list[int] = []
    scale = min(1.0, PREVIEW_SIDE / max(info["width"], info["height"]))
    bar = tqdm(total=info["frames"], unit="frame", desc="pose", disable=not progress, file=sys.stderr)

    def limited(frames: Iterator) -> Iterator:
        for n, item in enumerate(frames):
            if n >= MAX_FRAMES:
                raise UserError(f"{video}: more than {MAX_FRAMES:,} frames; pose tracking takes at most that")
            yield item

    def frames() -> Iterator[np.ndarray]:
        # the estimator runs here, in the preview writer's producer thread, while the writer encodes
        for (t, rgb), pose in est.stream(limited(vid.read_frames(video)), frame=lambda item: item[1]):
            j2.append(pose.joints2d)
            j3.append(pose.joints3d)
            stamps.append(int(round(t * 1e6)))
            bar.update()
            if preview:
                small = rgb if scale == 1.0 else cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                yield draw_skeleton(small, pose.joints2d, scale=scale)

    try:
        with atomic_path(preview_path(out)) if preview else nullcontext() as tmp_preview:
            if preview:
                vid.write_video(tmp_preview, frames(), fps=info["fps"], crf=23, preset=vid.PREVIEW_PRESET)
            else:
                for _ in frames():
                    pass
            if not j2:
                raise UserError(f"{video}: no frames could be decoded")
            track = PoseTrack(np.stack(j2), info["fps"], (info["width"], info["height"]), np.stack(j3),
                              timestamps=np.array(stamps, np.int64),
                              source={"kind": "video", "file": video.name, "estimator": est.name})
            if not track.found.any():
                raise UserError(f"{video}: nobody found in any of its {len(track)} frames")
            track.save(out)
    finally:
        bar.close()
        if estimator is None:
            est.close()
    if not preview:   # an old preview would not match the new track
        preview_path(out).unlink(missing_ok=True)
    return track
