"""One input of ingest, a video or a folder of images: its facts, and its frames decoded once, in order."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import av
import cv2
import numpy as np

from .. import limits, video
from ..errors import UserError

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
# a video that decodes to fewer frames than its container declares, by more than this share and a few
# frames, is truncated (a partial download or copy): said on stderr and recorded in the manifest
TRUNCATED = 0.1
TRIM_EVERY = 50   # decoded frames between handing freed pictures' memory back (`video.give_back_freed_memory`)


def _natural_key(p: Path):
    return [int(s) if s.isdigit() else s.lower() for s in re.split(r"(\d+)", p.name)]


class Input:
    """One video or image folder: its facts, and its frames as lazily converted handles."""

    def __init__(self, path: Path, fps: float):
        self.path = path
        if path.is_dir():
            self.kind = "images"
            self.files = sorted((p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS
                                 and p.is_file()), key=_natural_key)
            if not self.files:
                raise UserError(f"{path} holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
            first = self._read(self.files[0])
            self.height, self.width = first.shape[:2]
            self.fps, self.frames, self.audio, self.rotation = float(fps), len(self.files), False, 0
        else:
            if path.suffix.lower() in IMAGE_EXTENSIONS and path.exists():
                raise UserError(f"{path} is a single image: pass the folder of images instead")
            info = video.probe(path)
            if info["frames"] == 0 or info["duration"] == 0:
                raise UserError(f"{path} has no video frames (zero length)")
            self.kind = "video"
            self.width, self.height = info["width"], info["height"]
            self.fps, self.frames, self.audio = info["fps"], info["frames"], info["has_audio"]
            self.duration, self.rotation = info["duration"], info["rotation"]
        for name, side in (("width", self.width), ("height", self.height)):
            # before any picture is held: ingest keeps sample frames at full size, 24 of 16384 x 16384 are 19 GB
            limits.check_side(f"{path}: the picture's {name}", side)
        self.decoded: int | None = None     # frames of a whole decoding pass, once one has run
        self.stopped: str | None = None     # why decoding stopped before the end, if it did

    def facts(self) -> dict:
        # width and height as shown; `rotation`: the display rotation applied to every frame (a phone's
        # portrait clip), 0 for none
        return {"path": str(self.path), "kind": self.kind, "width": self.width, "height": self.height,
                "fps": round(self.fps, 3), "frames": self.frames, "audio": self.audio, "rotation": self.rotation}

    def _read(self, file: Path) -> np.ndarray:
        img = cv2.imread(str(file), cv2.IMREAD_COLOR)
        if img is None:
            raise UserError(f"{file} is not a readable image")
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

    def handles(self) -> Iterator[tuple[float, Any]]:
        """(time in s, handle) for every source frame; `rgb(handle)` decodes one to a picture."""
        if self.kind == "images":
            for i, f in enumerate(self.files):
                yield i / self.fps, f
            return
        with video.open_container(self.path) as c:
            vs = c.streams.video[0]
            vs.thread_type = "AUTO"
            t0 = None
            count = 0
            stopped = None
            try:
                for frame in c.decode(vs):
                    t = float(frame.pts * vs.time_base) if frame.pts is not None else count / self.fps
                    t0 = t if t0 is None else t0
                    count += 1
                    if count % TRIM_EVERY == 0:
                        video.give_back_freed_memory()
                    yield t - t0, frame
            except av.error.FFmpegError as e:
                if count == 0:
                    raise UserError(f"{self.path}: decoding failed ({e.__class__.__name__}: {e})") from None
                stopped = f"{e.__class__.__name__}: {e}"  # a cut-off file: what came before it is kept
            if count == 0:
                raise UserError(f"{self.path} has no video frames (zero length)")
            self.decoded, self.stopped = count, stopped

    def pictures(self) -> Iterator[tuple[float, np.ndarray]]:
        """(time in s, RGB picture) of every source frame, decoded once, in order."""
        for t, handle in self.handles():
            yield t, self.rgb(handle)

    def truncation(self) -> str | None:
        """After a whole decoding pass: a note when the video gave far fewer frames than it declares
        (a partial download or copy), else None."""
        if self.kind != "video" or self.decoded is None:
            return None
        declared = self.frames or 0
        if self.stopped is None and not self.decoded < declared * (1 - TRUNCATED) - 2:
            return None
        seconds = f" of {self.duration:.3g} s" if self.duration else ""
        why = f" (decoding stopped: {self.stopped})" if self.stopped else ""
        return (f"{self.path} looks truncated: it declares {declared} frames{seconds} but only "
                f"{self.decoded} decode{why}; the store holds those")

    def rgb(self, handle) -> np.ndarray:
        img = self._read(handle) if self.kind == "images" else video.upright(handle)
        if img.shape[:2] != (self.height, self.width):
            if self.kind == "images":
                raise UserError(f"{handle} is {img.shape[1]}x{img.shape[0]} but the folder's first image is "
                                f"{self.width}x{self.height}: all images must have one size")
            img = cv2.resize(img, (self.width, self.height), interpolation=cv2.INTER_AREA)
        return img

    def samples(self, n: int) -> list[np.ndarray]:
        """About n frames spread evenly over the input (decoding all, converting only those)."""
        total = self.frames or sum(1 for _ in self.handles())
        want = set(np.linspace(0, total - 1, min(n, total)).round().astype(int).tolist())
        out = []
        for i, (_, h) in enumerate(self.handles()):
            if i in want:
                out.append(self.rgb(h))
            if i >= max(want):
                break
        if not out:
            raise UserError(f"{self.path} has no video frames (zero length)")
        return out
