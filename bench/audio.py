"""Time music feature extraction for a song: first call vs cached call.

The first call decodes, runs librosa and tracks the beats; the cached call (in this process and in a fresh
one) only reads the .npy and .json the first call left.

    python bench/audio.py                 # a 3-minute song at 12 fps
    python bench/audio.py --scale original  # the original project's 14,401 frames: 20 min at 12 fps

The song is synthesised (drums, bass and chords at --bpm, seeded) and written as WAV to a temporary folder.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import frames_for, parser, report, timed  # noqa: E402

from deepdance import audio  # noqa: E402


def song(bpm: float, seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    """Four-on-the-floor drums, a bass note per beat and a held chord per bar: enough texture for librosa."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    y = np.zeros(n, np.float32)
    beat = 60.0 / bpm
    t = np.arange(int(0.3 * sr)) / sr
    kick = np.sin(2 * np.pi * np.cumsum(np.linspace(110, 40, len(t))) / sr) * np.exp(-t / 0.08)
    hat = rng.standard_normal(len(t)) * np.exp(-t / 0.01)
    snare = rng.standard_normal(len(t)) * np.exp(-t / 0.06)
    roots = [55.0, 65.4, 49.0, 73.4]
    for k, start in enumerate(np.arange(0, seconds, beat / 2)):
        i = int(start * sr)
        part = slice(i, min(n, i + len(t)))
        m = part.stop - part.start
        y[part] += 0.15 * hat[:m]
        if k % 2 == 0:
            bass = np.sin(2 * np.pi * roots[(k // 8) % 4] * t[:m]) * np.exp(-t[:m] / 0.2)
            y[part] += 0.8 * kick[:m] + 0.3 * bass
        if k % 4 == 2:
            y[part] += 0.4 * snare[:m]
    time_axis = np.arange(n) / sr
    chord = roots[0] * 4 * np.array([1.0, 1.26, 1.5])
    y += 0.05 * np.sin(2 * np.pi * chord[:, None] * time_axis[None, :]).sum(axis=0)
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--fps", type=float, default=12.0)
    p.add_argument("--bpm", type=float, default=100.0)
    args = p.parse_args()
    seconds = 180.0 if args.scale == "small" else frames_for(args.scale, 0) / args.fps
    figures: dict = {"song_s": seconds, "fps": args.fps, "bpm": args.bpm}
    with tempfile.TemporaryDirectory(prefix="deepdance-bench-audio-") as tmp:
        tmp = Path(tmp)
        wav = tmp / "song.wav"
        sf.write(wav, song(args.bpm, seconds, audio.SR), audio.SR)
        with timed(figures, "decode_s"):
            audio.load_audio(wav)
        with timed(figures, "first_call_s"):  # includes importing librosa and its numba code
            music = audio.features_for_file(wav, fps=args.fps, cache_dir=tmp / "a")
        with timed(figures, "warm_compute_s"):
            audio.features_for_file(wav, fps=args.fps, cache_dir=tmp / "b")
        with timed(figures, "cached_call_s"):
            hit = audio.features_for_file(wav, fps=args.fps, cache_dir=tmp / "a")
        assert hit.cached
        code = (f"from deepdance import audio; import time; t = time.perf_counter(); "
                f"m = audio.features_for_file({str(wav)!r}, fps={args.fps}, cache_dir={str(tmp / 'a')!r}); "
                f"assert m.cached; print(time.perf_counter() - t)")
        start = time.perf_counter()
        inner = float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                     text=True).stdout)
        figures["cached_new_process_s"] = round(inner, 3)
        figures["cached_new_process_wall_s"] = round(time.perf_counter() - start, 3)
    figures.update({"frames": music.features.shape[0], "columns": music.features.shape[1],
                    "tempo_found": round(music.beats.tempo, 2), "fallback": music.beats.fallback})
    report("audio", figures, args.json)


if __name__ == "__main__":
    main()
