"""Shared test helpers: everything is small, seeded and on the CPU."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_file(*parts: str) -> Path:
    """A file from ../shared/data, or a clean skip when ../shared is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path


def blob_frames(n: int = 20, h: int = 48, w: int = 80, seed: int = 0) -> np.ndarray:
    """A dark ellipse wandering over white: simple silhouette frames with a known shape."""
    import cv2

    rng = np.random.default_rng(seed)
    out = np.full((n, h, w), 255, np.uint8)
    for i in range(n):
        cx = int(w / 2 + w / 4 * np.sin(i / 3)) + int(rng.integers(-1, 2))
        cv2.ellipse(out[i], (cx, h // 2), (w // 10, h // 3), 0, 0, 360, 0, -1, cv2.LINE_AA)
    return out
