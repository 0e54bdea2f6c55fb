"""Rhythm figures on silhouettes: motion beats, the Beat Align Score, the dominant period."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from deepdance import rhythm

FPS = 12


def swinging_blob(period: float, seconds: float, fps: float) -> np.ndarray:
    """A disc swinging left and right, pausing at each multiple of `period` (speed ~ |sin(pi t / period)|)."""
    t = np.arange(int(seconds * fps)) / fps
    x = 48 - 25 * np.cos(np.pi * t / period)
    frames = np.full((len(t), 48, 96), 255, np.uint8)
    for f, xi in zip(frames, x):
        cv2.circle(f, (int(round(xi)), 24), 10, 0, -1)
    return frames


def test_motion_at_frames_and_plateaus():
    frames = swinging_blob(0.6, 3, FPS)
    e = rhythm.motion_at_frames(frames)
    assert e.shape == (len(frames),) and e.max() > 0
    assert not rhythm.motion_at_frames(np.repeat(frames[:1], 6, axis=0)).any()  # a still pose does not move
    # the disc pauses at every multiple of the period (t = 0, 0.6, ... s): motion is least there
    assert e[round(0.6 * FPS)] < e[round(0.3 * FPS)] and e[round(1.2 * FPS)] < e[round(0.9 * FPS)]
    # a held pose is one motion beat, at its middle; the ends of the sequence never count
    energy = np.r_[np.linspace(1, 0, 6), np.zeros(5), np.linspace(0, 1, 6)]
    assert rhythm.motion_beats(energy, FPS, smooth=0) == pytest.approx([8 / FPS])  # zeros at 5..11
    assert len(rhythm.motion_beats(np.linspace(0, 1, 20), FPS)) == 0


def test_bas_on_hand_made_sequences():
    beats = np.arange(0.5, 20, 0.5)
    t = np.arange(20 * FPS) / FPS
    on_beat = rhythm.motion_beats(1 - np.cos(2 * np.pi * t / 0.5), FPS)
    assert rhythm.beat_align_score(on_beat, beats) > 0.99
    assert rhythm.beat_align_score(on_beat + 0.25, beats) < 0.05  # exactly off the beat
    rng = np.random.default_rng(0)
    random = [rhythm.beat_align_score(np.sort(rng.uniform(0, 20, len(beats))), beats) for _ in range(5)]
    assert max(random) < 0.6
    assert rhythm.beat_align_score([], beats) == 0.0
    with pytest.raises(ValueError):
        rhythm.beat_align_score(on_beat, [])
    # sigma sets the tolerance: a miss of 0.1 s scores exp(-1/2) with sigma = 0.1 s
    assert rhythm.beat_align_score([1.1], [1.0]) == pytest.approx(math.exp(-0.5))


def test_bas_of_silhouettes_pausing_on_the_beat():
    frames = swinging_blob(0.6, 12, FPS)
    beats = np.arange(0, 12, 60 / 100)   # 100 BPM
    assert rhythm.bas(frames, FPS, beats) > 0.85
    assert rhythm.bas(frames, FPS, beats + 0.3) < 0.1


@pytest.mark.parametrize("period", [0.6, 0.45, 1.2])
def test_dominant_period_of_a_known_rhythm(period):
    rng = np.random.default_rng(1)
    t = np.arange(30 * FPS) / FPS
    energy = np.abs(np.sin(np.pi * t / period)) + 0.2 * rng.standard_normal(len(t))
    assert rhythm.dominant_period(energy, FPS) == pytest.approx(period, rel=0.02)
    assert np.isnan(rhythm.dominant_period(np.ones(100), FPS))


def test_dance_to_100_bpm_moves_at_the_beat_period():
    period = rhythm.dominant_period(swinging_blob(0.6, 12, FPS), FPS)
    assert period == pytest.approx(0.6, rel=0.03)
    assert rhythm.matches_beat(period, 100) and rhythm.matches_beat(2 * period, 100)
    assert not rhythm.matches_beat(period, 130) and not rhythm.matches_beat(float("nan"), 100)
