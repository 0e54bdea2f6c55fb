"""Turn generated frames into the files a person looks at: dance.mp4, dance.gif, contact_sheet.png."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from .files import atomic_path
from .video import write_video

GIF_MAX_FRAMES = 240  # a GIF is a preview; past ~20 s it only grows big


def contact_sheet(frames: np.ndarray, path: str | os.PathLike, *, count: int = 24, columns: int = 6,
                  labels: bool = True) -> Path:
    """A grid of `count` frames spread evenly over the sequence, each labelled with its index."""
    frames = np.asarray(frames)
    idx = np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int)
    h, w = frames.shape[1:3]
    rows = -(-len(idx) // columns)
    sheet = np.full((rows * (h + 2) + 2, columns * (w + 2) + 2), 160, np.uint8)
    for k, i in enumerate(idx):
        r, c = divmod(k, columns)
        tile = frames[i].copy()
        if labels:
            cv2.putText(tile, str(i), (2, 10), cv2.FONT_HERSHEY_PLAIN, 0.7, 128, 1, cv2.LINE_AA)
        sheet[2 + r * (h + 2):2 + r * (h + 2) + h, 2 + c * (w + 2):2 + c * (w + 2) + w] = tile
    path = Path(path)
    with atomic_path(path) as tmp:
        ok, buf = cv2.imencode(".png", sheet)
        tmp.write_bytes(buf.tobytes())
    return path


def render_dance(frames: np.ndarray, out_dir: str | os.PathLike, *, fps: float,
                 audio: str | os.PathLike | None = None, name: str = "dance") -> dict[str, Path]:
    """Write NAME.mp4 (with `audio` cut to the dance), NAME.gif and contact_sheet.png into `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = np.asarray(frames)
    batches = (frames[i:i + 256] for i in range(0, len(frames), 256))
    outputs = {"video": out_dir / f"{name}.mp4", "gif": out_dir / f"{name}.gif",
               "contact_sheet": out_dir / "contact_sheet.png"}
    write_video(outputs["video"], batches, fps=fps, audio=audio)
    write_video(outputs["gif"], frames[:GIF_MAX_FRAMES], fps=fps)
    contact_sheet(frames, outputs["contact_sheet"])
    return outputs
