"""Cut frames -> the store: batching, clip boundaries, gaps, tracking, each frame's pose, the check, previews.

Every stored frame goes in with its pose mapped into the store's pixels (`Geometry.to_store`), and the
skeleton check (`cut.Tally`) is added up over the stored frames themselves. The previews: `preview.png`
(raw frames above their cut) and `preview.mp4` (the first PREVIEW_FRAMES stored frames, the skeleton
drawn over the cut).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .. import video
from ..cut import Tally
from ..pose.skeleton import JOINTS
from ..pose.track import draw_skeleton
from ..store import StoreWriter
from .framing import Geometry, Tracker

PREVIEW = 8              # frames in preview.png
PREVIEW_FRAMES = 1200    # frames in preview.mp4 (100 s at 12 fps): enough to judge the cut, small to keep
PREVIEW_SIDE = 360       # preview.mp4's shorter side at least: the store's frames are small


class Sink:
    """Frames -> store: batching, clip boundaries, gaps, tracking, poses, the check and the previews."""

    def __init__(self, writer: StoreWriter, geo: Geometry, fps: float, *, poses: bool):
        self.w = writer
        self.geo = geo
        self.fps = fps
        self.track = Tracker(geo, max(1, round(fps / 4))) if geo.track else None  # +-1/4 s
        self.with_poses = poses
        self.batch: list[np.ndarray] = []
        self.batch_poses: list[np.ndarray] = []
        self.gaps: list[dict] = []
        self.clip_starts: list[dict] = []
        self.open = False             # a clip is open: the next frame continues it
        self.input = 0
        self.emitted = 0
        self.preview: list[tuple[int, np.ndarray, np.ndarray]] = []
        self.movie: list[tuple[np.ndarray, np.ndarray]] = []
        self.stride = 1
        self.gap: list | None = None  # [from_s, to_s, frames] of the frames without a dancer so far
        self.kept = 0                 # frames kept from the current input
        self.tally = Tally()          # the skeleton check over the stored frames (all inputs)

    def start_input(self, index: int, geo: Geometry) -> None:
        self.end_clip()
        self.input, self.geo, self.kept = index, geo, 0
        if self.track:
            self.track = Tracker(geo, self.track.half)

    def add(self, t: float, result, raw: np.ndarray, pose: np.ndarray | None) -> None:
        """One sampled frame: `result` from `cut.clean` (None: no dancer), the working picture, the pose
        (J, 3, source pixels)."""
        if result is None:
            self.gap = [t, t, 0] if self.gap is None else self.gap
            self.gap[1:] = t, self.gap[2] + 1
            return
        self._close_gap()
        if not self.open:
            self.clip_starts.append({"input": self.input, "start_s": round(t, 3)})
            self.open = True
        self.kept += 1
        mask, bbox = result
        if self.track:
            for payload, box in self.track.push((mask, raw, pose), bbox):
                self._emit(*payload, box)
        else:
            self._emit(mask, raw, pose, None)

    def end_input(self) -> int:
        self._close_gap()
        self.end_clip()
        return self.kept

    def _close_gap(self) -> None:
        if self.gap is not None:
            self.end_clip()
            start, end, frames = self.gap
            self.gaps.append({"input": self.input, "at_frame": self.w.manifest.frames,
                              "from_s": round(start, 3), "to_s": round(end, 3), "dropped": frames})
            self.gap = None

    def end_clip(self) -> None:
        if self.track:
            for payload, box in self.track.flush():
                self._emit(*payload, box)
        self._write()
        self.w.end_clip()
        self.open = False

    def _emit(self, mask: np.ndarray, raw: np.ndarray, pose: np.ndarray | None, box) -> None:
        frame = 255 - self.geo.frame(mask, box, 0)
        self.batch.append(frame)
        stored = None
        if self.with_poses:
            stored = self.geo.to_store(pose, box)
            self.batch_poses.append(stored)
            self.tally.add(frame < 128, stored if stored[:17, 2].mean() > 0 else None)
        if len(self.movie) < PREVIEW_FRAMES:
            self.movie.append((frame, stored))
        if self.emitted % self.stride == 0:
            self.preview.append((self.emitted, self.geo.frame(raw, box, 255), frame))
            if len(self.preview) >= 4 * PREVIEW:  # keep it small: every other one, twice the stride
                self.stride *= 2
                self.preview = [p for p in self.preview if p[0] % self.stride == 0]
        self.emitted += 1
        if len(self.batch) >= 64:
            self._write()

    def _write(self) -> None:
        if self.batch:
            poses = np.stack(self.batch_poses) if self.with_poses else None
            self.w.append(np.stack(self.batch), poses=poses, joints=JOINTS if self.with_poses else None)
            self.batch, self.batch_poses = [], []

    def write_preview(self, path: Path) -> bool:
        """preview.png: raw frames above their cut."""
        if not self.preview:
            return False
        picks = [self.preview[i] for i in np.linspace(0, len(self.preview) - 1,
                                                      min(PREVIEW, len(self.preview))).round().astype(int)]
        gap = 4
        ow, oh = self.geo.out
        sheet = np.full((2 * oh + gap, len(picks) * (ow + gap) - gap, 3), 128, np.uint8)
        for j, (_, raw, cut) in enumerate(picks):
            x = j * (ow + gap)
            sheet[:oh, x:x + ow] = raw
            sheet[oh + gap:, x:x + ow] = cut[..., None]
        return bool(cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR)))

    def write_movie(self, path: Path) -> bool:
        """preview.mp4: the stored frames (the first PREVIEW_FRAMES), the skeleton drawn over the cut."""
        if not self.movie:
            return False
        ow, oh = self.geo.out
        scale = max(1, int(np.ceil(PREVIEW_SIDE / min(ow, oh))))
        if scale % 2 and (ow % 2 or oh % 2):   # H.264 wants even sides
            scale += 1

        def frames():
            for frame, pose in self.movie:
                big = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
                rgb = np.repeat(big[..., None], 3, axis=-1)
                yield rgb if pose is None else draw_skeleton(rgb, pose, scale=scale)

        video.write_video(path, frames(), fps=self.fps, crf=26, preset=video.PREVIEW_PRESET)
        return True
