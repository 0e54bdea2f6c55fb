"""The dancer's music: a synthesized drum-and-bass loop on the choreography's beat grid.

Beat k sounds at k * 60 / bpm seconds, like the dance's beats. Per bar of 4 beats: a kick on every
beat, a snare on beats 2 and 4, closed hats on the off-beats (and some 16th ghost notes), an octave
bass line following a seeded chord progression; each 8-bar phrase (the dance's phrase) opens with a
crash and closes with a snare fill. Every hit is a precomputed waveform mixed in at its sample
position, so any sample range renders on its own and chunked rendering is exact.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from .choreo import BEATS_PER_BAR, BEATS_PER_PHRASE

SAMPLE_RATE = 22050
_BARS_PER_PHRASE = BEATS_PER_PHRASE // BEATS_PER_BAR
_PROGRESSIONS = ((0, -4, 3, -2), (0, 5, -2, 3), (0, -2, -4, -5), (0, 3, 5, -2))  # semitones from the key


def _env(n: int, sr: int, decay: float, attack: float = 0.002) -> np.ndarray:
    t = np.arange(n) / sr
    return np.exp(-t / decay) * np.minimum(1.0, t / attack)


class DrumTrack:
    """The music of one tempo and seed; `render(start, stop)` gives samples [start, stop) as float32."""

    def __init__(self, bpm: float, *, seed: int = 0, sr: int = SAMPLE_RATE):
        self.bpm = float(bpm)
        self.seed = int(seed)
        self.sr = int(sr)
        self.beat_samples = 60.0 / self.bpm * self.sr
        rng = np.random.default_rng([0xD2A7, self.seed % 2**63])
        sr = self.sr

        def noise(seconds):
            return rng.standard_normal(int(seconds * sr))

        t = np.arange(int(0.4 * sr)) / sr
        low = rng.uniform(45, 55)
        phase = 2 * np.pi * np.cumsum(low + 90 * np.exp(-t / 0.025)) / sr  # pitch drops: the thump
        kick = np.sin(phase) * _env(len(t), sr, 0.13, 0.001)
        kick[: int(0.004 * sr)] += 0.5 * noise(0.004) * np.linspace(1, 0, int(0.004 * sr))
        n = noise(0.25)
        t = np.arange(len(n)) / sr
        snare = 0.7 * np.diff(n, prepend=0) / 2 * _env(len(n), sr, 0.07) + \
            0.5 * np.sin(2 * np.pi * 185 * t) * _env(len(n), sr, 0.05)
        hat_decay = rng.uniform(0.012, 0.02)
        hat = np.diff(noise(0.08), prepend=0) / 2 * _env(int(0.08 * sr), sr, hat_decay, 0.0005)
        open_hat = np.diff(noise(0.3), prepend=0) / 2 * _env(int(0.3 * sr), sr, 0.09, 0.0005)
        crash = np.diff(noise(1.6), prepend=0) / 2 * _env(int(1.6 * sr), sr, 0.45, 0.001)
        self._waves = {"kick": 0.75 * kick, "snare": 0.45 * snare, "hat": 0.22 * hat,
                       "open_hat": 0.16 * open_hat, "crash": 0.16 * crash}
        self._key = int(rng.integers(-5, 3))                      # bass root around A1 (55 Hz)
        self._progression = _PROGRESSIONS[int(rng.integers(len(_PROGRESSIONS)))]
        self._bass: dict[int, np.ndarray] = {}
        self._bars: dict[int, list[tuple[int, np.ndarray, float]]] = {}
        self._longest = max(len(w) for w in self._waves.values())

    def _bass_note(self, semitone: int) -> np.ndarray:
        if semitone not in self._bass:
            n = int(0.9 * self.beat_samples / 2)
            t = np.arange(n) / self.sr
            f = 55.0 * 2 ** (semitone / 12)
            tone = np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t) + 0.12 * np.sin(6 * np.pi * f * t)
            fade = np.minimum(1.0, (n - np.arange(n)) / (0.01 * self.sr))
            self._bass[semitone] = 0.28 * tone * _env(n, self.sr, 0.18, 0.004) * fade
        return self._bass[semitone]

    def _at(self, beat: float) -> int:
        return int(round(beat * self.beat_samples))

    def bar_events(self, bar: int) -> list[tuple[int, np.ndarray, float]]:
        """(sample offset, waveform, gain) of every hit in bar `bar`, in a fixed order."""
        if bar in self._bars:
            return self._bars[bar]
        rng = np.random.default_rng([0xBA5, self.seed % 2**63, bar])
        w = self._waves
        b0 = bar * BEATS_PER_BAR
        in_phrase = bar % _BARS_PER_PHRASE
        ev = []
        if in_phrase == 0:
            ev.append((self._at(b0), w["crash"], 1.0))
        for k in range(BEATS_PER_BAR):
            ev.append((self._at(b0 + k), w["kick"], 1.0))
            if k % 2 == 1:
                ev.append((self._at(b0 + k), w["snare"], 1.0))
            last = k == BEATS_PER_BAR - 1
            ev.append((self._at(b0 + k + 0.5), w["open_hat" if last and rng.random() < 0.3 else "hat"],
                       float(rng.uniform(0.85, 1.0))))
            if rng.random() < 0.35:
                ev.append((self._at(b0 + k + 0.75), w["hat"], float(rng.uniform(0.3, 0.45))))
        if in_phrase == _BARS_PER_PHRASE - 1:   # a snare fill leads into the next phrase
            for j, g in enumerate((0.5, 0.6, 0.75, 0.9)):
                ev.append((self._at(b0 + 3 + j / 4), w["snare"], g))
        root = self._key + self._progression[(bar // 2) % len(self._progression)]
        for k in range(2 * BEATS_PER_BAR):      # octave bass: root on the beat, octave up between
            ev.append((self._at(b0 + k / 2), self._bass_note(root + 12 * (k % 2)), 1.0 if k % 2 == 0 else 0.8))
        if len(self._bars) > 64:
            self._bars.clear()
        self._bars[bar] = ev
        return ev

    def render(self, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop) as float32 in [-1, 1]."""
        out = np.zeros(max(0, stop - start), np.float64)
        if stop <= start:
            return out.astype(np.float32)
        bar_len = BEATS_PER_BAR * self.beat_samples
        first = max(0, int(np.floor((start - self._longest) / bar_len)))
        last = int(np.floor((stop - 1) / bar_len))
        for bar in range(first, last + 1):
            for offset, wave, gain in self.bar_events(bar):
                a, b = max(offset, start), min(offset + len(wave), stop)
                if a < b:
                    out[a - start:b - start] += gain * wave[a - offset:b - offset]
        return np.tanh(out).astype(np.float32)   # soft limit: loud coincidences bend instead of clipping


def write_music(path: str | os.PathLike, bpm: float, samples: int, *, seed: int = 0,
                sr: int = SAMPLE_RATE, chunk: int = 1 << 18) -> Path:
    """Write `samples` samples of the track as a mono PCM_16 WAV, a chunk at a time."""
    return write_medley(path, [(bpm, samples)], seed=seed, sr=sr, chunk=chunk)


def write_medley(path: str | os.PathLike, parts: Sequence[tuple[float, int]], *, seed: int = 0,
                 sr: int = SAMPLE_RATE, chunk: int = 1 << 18) -> Path:
    """Write one track per (bpm, samples) part, one after another, as a mono PCM_16 WAV, a chunk at a time.

    Each part starts from its own beat 0, like the dance clip it goes with.
    """
    import soundfile as sf

    with sf.SoundFile(str(path), "w", samplerate=sr, channels=1, subtype="PCM_16", format="WAV") as f:
        for bpm, samples in parts:
            track = DrumTrack(bpm, seed=seed, sr=sr)
            for a in range(0, samples, chunk):
                x = track.render(a, min(samples, a + chunk))
                f.write(np.round(x * 32767).astype(np.int16))
    return Path(path)
