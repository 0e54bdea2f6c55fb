"""Rhythm figures of a dance: when the dancer pauses, how the pauses meet the music's beats, its period.

The Beat Align Score (BAS, Li et al. 2021 "AI Choreographer"/AIST++, as computed in Bailando), adapted
to silhouettes:
    motion at frames  per frame i, the fraction of pixels whose dancer/background label changes between
                      neighbouring frames (mean of the change into and out of frame i, so it sits at i / fps)
    motion beats      strict local minima of that motion after Gaussian smoothing with sigma = 1/12 s
                      (Bailando's 5 frames at 60 fps; one frame at 12 fps): the moments the dancer pauses
    BAS               mean over music beats of exp(-d^2 / (2 sigma^2)), d = seconds to the nearest motion beat,
                      sigma = 0.1 s (see `beat_align_score` for why not the field's 0.05 s)

Music beats come from `audio.py`; these figures need nothing but silhouettes and times.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .metrics import motion_per_frame

BAS_SIGMA = 0.1
MOTION_SMOOTH = 1 / 12


def motion_at_frames(frames: np.ndarray) -> np.ndarray:
    """Motion at each frame (N,) of uint8 silhouettes (N, H, W), 0 = dancer: the fraction of pixels whose
    dancer/background label changes, averaged over the step into and the step out of the frame (unlike
    `motion_per_frame`, N-1 steps between frames), so it sits at the frame's own time."""
    step = motion_per_frame(frames)
    return centred(step) if len(step) else np.zeros(len(frames))


def centred(step: np.ndarray) -> np.ndarray:
    """Per-frame values (N,) from per-step ones (N-1,), N >= 2: the mean of the step into and the step out of
    each frame (the first and last frames take their one step)."""
    return np.concatenate([step[:1], (step[:-1] + step[1:]) / 2, step[-1:]])


def _motion(frames_or_motion: np.ndarray) -> np.ndarray:
    a = np.asarray(frames_or_motion)
    return motion_at_frames(a) if a.ndim == 3 else a.astype(np.float64).reshape(-1)


def motion_beats(frames_or_motion: np.ndarray, fps: float, *, smooth: float = MOTION_SMOOTH) -> np.ndarray:
    """Times (s) of the strict local minima of the motion at frames after Gaussian smoothing (sigma `smooth`
    seconds). A flat stretch (a held pose) counts once, at its middle; the two ends never count."""
    e = _motion(frames_or_motion)
    if smooth > 0 and len(e):
        e = gaussian_filter1d(e, smooth * fps, mode="nearest")
    starts = np.flatnonzero(np.r_[True, np.diff(e) != 0])
    ends = np.r_[starts[1:], len(e)]
    v = e[starts]
    low = np.flatnonzero((v[1:-1] < v[:-2]) & (v[1:-1] < v[2:])) + 1
    return (starts[low] + ends[low] - 1) / 2 / fps


def beat_align_score(motion_beat_times: np.ndarray, music_beat_times: np.ndarray,
                     sigma: float = BAS_SIGMA) -> float:
    """Beat Align Score: mean over music beats of exp(-d^2 / 2 sigma^2), d = seconds to the nearest motion
    beat (0 without motion beats). 1 = a pause on every beat.

    The field (Bailando's AIST++ code) uses 2 sigma^2 = 9 with time in 60-fps frames, sigma = 0.05 s. Our
    dances are 12-25 fps, where a beat can miss the nearest frame by up to half a frame (42 ms at 12 fps),
    which sigma = 0.05 s would punish as much as a real miss; sigma = 0.1 s keeps a half-frame miss at 0.92
    and a one-frame miss at 0.71, while a pause half a beat away at dance tempos (>= 0.2 s) scores < 0.14.
    """
    music = np.asarray(music_beat_times, np.float64).reshape(-1)
    motion = np.sort(np.asarray(motion_beat_times, np.float64).reshape(-1))
    if len(music) == 0:
        raise ValueError("no music beats to align to")
    if len(motion) == 0:
        return 0.0
    i = np.searchsorted(motion, music)
    before, after = motion[np.maximum(i - 1, 0)], motion[np.minimum(i, len(motion) - 1)]
    d = np.minimum(np.abs(music - before), np.abs(music - after))
    return float(np.mean(np.exp(-d ** 2 / (2 * sigma ** 2))))


def bas(frames: np.ndarray, fps: float, music_beat_times: np.ndarray, sigma: float = BAS_SIGMA) -> float:
    """Beat Align Score of silhouette frames against music beats, counting only beats inside the dance."""
    beats = np.asarray(music_beat_times, np.float64)
    beats = beats[(beats >= 0) & (beats <= (len(frames) - 1) / fps)]
    return beat_align_score(motion_beats(frames, fps), beats, sigma)


def dominant_period(motion: np.ndarray, fps: float, *, min_period: float = 0.25,
                    max_period: float = 4.0) -> float:
    """Dominant period (s) of a motion curve (or of silhouette frames): the frequency of the highest
    peak of its periodogram between 1/`max_period` and 1/`min_period` Hz (Hann window, zero-padded 16x,
    refined by a parabola through the log power around the peak). NaN for a flat curve.

    Not the autocorrelation read at whole-frame lags: at 12 fps a 130 BPM beat is 5.5 frames, and on a
    dance locked to that beat the autocorrelation peak came out 6% short, where the periodogram peak was
    within 0.3% of the beat."""
    e = _motion(motion)
    e = e - e.mean()
    n = len(e)
    if n < 4 or not np.any(np.abs(e) > 1e-12):
        return float("nan")
    pad = 16 * n
    power = np.abs(np.fft.rfft(e * np.hanning(n), pad)) ** 2
    freq = np.fft.rfftfreq(pad, 1 / fps)
    band = np.flatnonzero((freq >= 1 / max_period) & (freq <= 1 / min_period))
    if len(band) < 3:
        return float("nan")
    k = int(band[np.argmax(power[band])])
    shift = 0.0
    if 0 < k < len(power) - 1:
        a, b, c = np.log(power[k - 1:k + 2] + 1e-30)
        shift = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c < 0 else 0.0
    return float(1 / (freq[k] + shift * (freq[1] - freq[0])))


def matches_beat(period: float, bpm: float, *, tolerance: float = 0.08,
                 multiples: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)) -> bool:
    """Whether a motion period (s) is the beat period at `bpm`, or one of `multiples` of it, within
    `tolerance` (relative)."""
    beat = 60.0 / bpm
    return bool(np.isfinite(period) and any(abs(period / (m * beat) - 1) <= tolerance for m in multiples))
