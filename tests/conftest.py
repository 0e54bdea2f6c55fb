"""Shared test helpers: everything is small, seeded and on the CPU.

The data makers live in helpers.py (bench/cut_iou.py uses them too) and are re-exported here: a test module
writes `from conftest import dancer, make_store` and never imports another test module.
Tests marked `slow` (seconds to minutes each) are left out by `make test-fast`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

from helpers import (FPS, TINY, assert_one_line_error, blob_frames, bw_clip, dancer, dancer_clip,  # noqa: E402,F401
                     figure_mask, iou, make_run, make_store, output_masks, room_clip, run_cli, screen_clip, song)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_file(*parts: str) -> Path:
    """A file from ../shared/data, or a clean skip when ../shared is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path
