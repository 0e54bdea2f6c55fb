"""The music side: reading songs, beat tracking and per-frame music features.

Music features describe the song once per video frame (row i = the music at time i / fps), so they can be
stored beside the frames and fed to the sequence model. Columns, in `FEATURE_NAMES` order:

    onset            onset strength (spectral flux), the largest within the frame's 1/fps window, / song max
    beat_sin/_cos    sin, cos of 2*pi*(beat phase): phase in [0, 1) since the last beat (beat = (0, 1))
    bar_sin/_cos     the same for the bar phase (4 beats a bar, starting where bass and harmony change)
    tempo            the song's tempo in BPM / 120
    loudness         RMS in dB relative to the loudest moment, (dB + 60) / 60 clipped to [0, 1]
    mel_0 .. mel_7   log power in 8 mel bands, low to high, (dB + 80) / 80 clipped to [0, 1]

Beats come from librosa's dynamic-programming beat tracker. A song without a clear pulse (noise, a held
tone, ambient music) falls back to a steady grid and says so in `Beats.reason`. A frame store of several
clips (each maybe at its own tempo) is analysed clip by clip; `lead_in` gives rows for the frames before
the music starts.

One file (~520 lines) on purpose: beat tracking and the features come from one spectrogram pass
(`_spectra` feeds both `_track` and `compute_features`) and are cached together.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import UserError
from .files import atomic_path, read_json, write_json

SR = 22050
HOP = 512
N_FFT = 2048
N_MELS = 8
BEATS_PER_BAR = 4
MIN_SECONDS = 2.0
SILENT_PEAK = 1e-4  # -80 dBFS: quieter than 16-bit dither, so nothing audible is called silent
FALLBACK_BPM = 120.0
MIN_CLARITY = 0.25  # white noise stays below ~0.22 even on 2-s clips; clicks and drums score ~0.9
FEATURE_NAMES = ("onset", "beat_sin", "beat_cos", "bar_sin", "bar_cos", "tempo", "loudness",
                 *(f"mel_{i}" for i in range(N_MELS)))
FEATURES_VERSION = 2  # bump when the computation changes, so old caches are not reused (2: exact beat times)


# --- librosa, with its numba cache made to work ------------------------------------------------------
def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "deepdance"


def _librosa():
    """Import librosa lazily (a cache hit never pays for it), with numba's cache in ~/.cache/deepdance/numba.

    librosa's first beat tracking compiles ~18 s of numba code. numba would cache it beside librosa's
    sources or, when those are read-only, in a per-user folder; one known writable folder (that CI can keep
    between runs) is simpler to reason about. A NUMBA_CACHE_DIR set by the user wins.
    """
    if "NUMBA_CACHE_DIR" not in os.environ:
        folder = cache_root() / "numba"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if os.access(folder, os.W_OK):
                os.environ["NUMBA_CACHE_DIR"] = str(folder)
        except OSError:
            pass
    import librosa

    return librosa


def warm_up() -> None:
    """Compile librosa's numba code into its cache now (`make install` calls this), so that a user's first
    dance to a song does not wait ~18 s for it."""
    compute_features(click_track(120.0, 4.0), SR, fps=12.0)


# --- reading music ---------------------------------------------------------------------------------
def check_audio(y: np.ndarray, sr: int, name: str = "the music") -> np.ndarray:
    """Samples (n,) or (n, channels) as mono float32 fit for analysis, or UserError (empty, short, silent)."""
    y = np.asarray(y, np.float32)
    if y.ndim > 1:
        y = y.mean(axis=-1)
    y = np.nan_to_num(y)
    if len(y) == 0:
        raise UserError(f"{name} holds no audio samples")
    if len(y) / sr < MIN_SECONDS:
        raise UserError(f"{name} is only {len(y) / sr:.1f} s long; music needs at least {MIN_SECONDS:g} s")
    if np.abs(y).max() < SILENT_PEAK:
        raise UserError(f"{name} is silent")
    return y


def _check_file(path: Path) -> None:
    if not path.exists():
        raise UserError(f"no such music file: {path}")
    if not path.is_file():
        raise UserError(f"{path} is not a file")
    if path.stat().st_size == 0:
        raise UserError(f"{path} is empty (0 bytes)")


def load_audio(path: str | os.PathLike, sr: int = SR) -> np.ndarray:
    """Mono float32 samples at `sr` from any audio or video file (wav, mp3, ogg, m4a, flac, mp4 ...).

    PyAV reads nearly everything and resamples; soundfile is the fallback for what PyAV cannot open.
    Raises UserError for a missing, empty, non-media, silent or shorter-than-2-s file.
    """
    import av

    from . import video

    path = Path(path)
    _check_file(path)
    try:
        y = video.read_audio(path, sr=sr) if video.has_audio(path) else None
    except (UserError, av.error.FFmpegError):
        y = _read_soundfile(path, sr)
    if y is None:
        raise UserError(f"{path} has no audio track")
    return check_audio(y, sr, str(path))


def _read_soundfile(path: Path, sr: int) -> np.ndarray:
    import soundfile as sf

    try:
        y, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError):
        raise UserError(f"{path} is not a readable audio file") from None
    y = y.mean(axis=1)
    return _librosa().resample(y, orig_sr=file_sr, target_sr=sr) if file_sr != sr and len(y) else y


# --- beats -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Beats:
    """Beat times (s, increasing, at least 2), the tempo (BPM), which of the first 4 beats starts a bar,
    and whether these came from the steady fallback grid (then `reason` is one line the CLI can print)."""

    times: np.ndarray
    tempo: float
    first_downbeat: int = 0
    fallback: bool = False
    reason: str = ""

    @property
    def downbeats(self) -> np.ndarray:
        return self.times[self.first_downbeat::BEATS_PER_BAR]

    def to_dict(self) -> dict:
        # full precision (JSON keeps every bit of a float), so cached beats read back exactly
        return {"times": [float(t) for t in self.times], "tempo": float(self.tempo),
                "first_downbeat": self.first_downbeat, "fallback": self.fallback, "reason": self.reason}

    @classmethod
    def from_dict(cls, d: dict) -> "Beats":
        return cls(np.asarray(d["times"], np.float64), float(d["tempo"]), int(d["first_downbeat"]),
                   bool(d["fallback"]), str(d["reason"]))


def steady_beats(bpm: float, seconds: float, *, reason: str = "") -> Beats:
    """A steady grid from t = 0 covering `seconds`; `reason` set means it stands in for tracked beats."""
    if not bpm > 0:
        raise UserError(f"tempo must be positive, got {bpm} BPM")
    period = 60.0 / bpm
    times = np.arange(max(2, math.floor(seconds / period) + 1)) * period
    return Beats(times, float(bpm), 0, bool(reason), reason)


def pulse_clarity(onset_env: np.ndarray, sr: int = SR) -> float:
    """Highest normalised autocorrelation of the onset envelope over lags 0.25-2 s (at most half its
    length): near 1 for a steady beat, ~0.1 for noise."""
    e = np.asarray(onset_env, np.float64) - np.mean(onset_env)
    power = float(e @ e)
    lo, hi = int(0.25 * sr / HOP), min(int(2.0 * sr / HOP), len(e) // 2)
    if power <= 0 or hi <= lo:
        return 0.0
    ac = np.fft.irfft(np.abs(np.fft.rfft(e, 2 * len(e))) ** 2)[lo:hi + 1]
    return float(ac.max() / power)


SPECTRUM_CHUNK = 4096  # analysis frames (~95 s) handled at once where a whole song's spectrogram is not needed


def power_spectrogram(y: np.ndarray, *, chunk: int = SPECTRUM_CHUNK) -> np.ndarray:
    """|STFT|² (1 + N_FFT/2, 1 + len(y)//HOP) float32, as librosa's centred, zero-padded stft gives it,
    computed `chunk` frames at a time: the whole complex STFT of a 20-minute song is 424 MB, and with its
    magnitude and square it held 1.7 GB at once, more than training on 14,401 frames needs."""
    lr = _librosa()
    padded = np.pad(np.asarray(y, np.float32), N_FFT // 2)
    n = 1 + len(y) // HOP
    power = np.empty((1 + N_FFT // 2, n), np.float32)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        part = lr.stft(padded[a * HOP:(b - 1) * HOP + N_FFT], n_fft=N_FFT, hop_length=HOP, center=False)
        np.square(np.abs(part), out=power[:, a:b])
    return power


def _spectra(y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Power spectrogram, 128-band log-mel and onset envelope, all at HOP."""
    lr = _librosa()
    power = power_spectrogram(y)
    mel_db = lr.power_to_db(lr.feature.melspectrogram(S=power, sr=sr))
    return power, mel_db, lr.onset.onset_strength(S=mel_db, sr=sr, hop_length=HOP, n_fft=N_FFT)


def _downbeat(power: np.ndarray, mel_db: np.ndarray, frames: np.ndarray, sr: int) -> int:
    """Which of the first 4 beats starts a bar: the one where, every 4 beats, the harmony changes most
    (chroma of the stretch from this beat to the next vs the stretch before) and the bass hits hardest
    (onsets below 150 Hz), each cue scored relative to its best position.

    Overall onset strength would pick the snare's backbeat (2 and 4) in most drum patterns.
    """
    lr = _librosa()
    low_band = lr.mel_frequencies(mel_db.shape[0] + 2, fmax=sr / 2)[1:-1] < 150
    low = lr.onset.onset_strength(S=mel_db[low_band], sr=sr, hop_length=HOP, n_fft=N_FFT)[frames]
    # stretches start 2 hops before each tracked beat, which lags the note onsets by about that much
    stretches = lr.util.sync(power, np.maximum(frames - 2, 0), pad=False)
    chroma = lr.feature.chroma_stft(S=stretches, sr=sr, tuning=0.0)
    chroma /= np.linalg.norm(chroma, axis=0, keepdims=True) + 1e-9
    change = np.r_[0, 1 - (chroma[:, 1:] * chroma[:, :-1]).sum(axis=0), 0]
    score = np.zeros(BEATS_PER_BAR)
    for cue in (low, change):
        per = np.array([cue[k::BEATS_PER_BAR].mean() for k in range(BEATS_PER_BAR)])
        score += per / max(per.max(), 1e-12)
    return int(np.argmax(score))


def _tempo(onset_env: np.ndarray, sr: int) -> float:
    """librosa's tempo estimate, as beat_track makes it, for a song of up to SPECTRUM_CHUNK onset frames;
    for a longer one the median of the estimates of its ~95-s parts. (The tempogram of a whole 20-min song
    held 1 GB at once, more than training on 14,401 frames needs.)"""
    lr = _librosa()
    starts = list(range(0, max(1, len(onset_env) - SPECTRUM_CHUNK // 2), SPECTRUM_CHUNK))
    parts = [onset_env[a:b] for a, b in zip(starts, starts[1:] + [len(onset_env)])]
    return float(np.median([lr.feature.tempo(onset_envelope=p, sr=sr, hop_length=HOP)[0] for p in parts]))


def _track(power: np.ndarray, mel_db: np.ndarray, onset_env: np.ndarray, sr: int, seconds: float,
           fallback_bpm: float, min_clarity: float) -> Beats:
    lr = _librosa()
    clarity = pulse_clarity(onset_env, sr)
    grid = f"using a steady {fallback_bpm:g} BPM grid"
    if clarity < min_clarity:
        why = f"no clear beat in the music (pulse clarity {clarity:.2f} < {min_clarity:g}); {grid}"
        return steady_beats(fallback_bpm, seconds, reason=why)
    _, frames = lr.beat.beat_track(onset_envelope=onset_env, sr=sr, hop_length=HOP, bpm=_tempo(onset_env, sr))
    if len(frames) < BEATS_PER_BAR:
        return steady_beats(fallback_bpm, seconds, reason=f"beat tracking found {len(frames)} beats; {grid}")
    times = lr.frames_to_time(frames, sr=sr, hop_length=HOP)
    # librosa's tempo is quantised to whole autocorrelation lags (~2% at 120 BPM); a line through the
    # beats is far finer. Number them interval by interval, so a skipped beat counts as two.
    gaps = np.diff(times)
    number = np.r_[0, np.cumsum(np.maximum(1, np.round(gaps / np.median(gaps))))]
    tempo = 60.0 / float(np.polyfit(number, times, 1)[0])
    return Beats(times, tempo, _downbeat(power, mel_db, frames, sr))


def beat_times(audio: np.ndarray, sr: int = SR, *, fallback_bpm: float = FALLBACK_BPM,
               min_clarity: float = MIN_CLARITY) -> Beats:
    """Track the beats of mono samples with librosa.beat.beat_track.

    Without a clear pulse (see `pulse_clarity`) or with fewer than 4 beats found, returns a steady
    `fallback_bpm` grid with `fallback=True` and a one-line `reason`.
    """
    y = check_audio(audio, sr)
    return _track(*_spectra(y, sr), sr, len(y) / sr, fallback_bpm, min_clarity)


def click_track(bpm: float, seconds: float, sr: int = SR) -> np.ndarray:
    """A steady metronome (float32 mono) with beat k at k * 60 / bpm s: a 1 kHz click per beat, and on
    the first of each 4 a 1.5 kHz click over a 60 Hz thump (the bass that marks a bar, see `_downbeat`)."""
    t = np.arange(int(0.1 * sr)) / sr
    tick = 0.5 * np.sin(2 * np.pi * 1000 * t) * np.exp(-t / 0.006)
    thump = 0.4 * np.sin(2 * np.pi * 60 * t) * np.exp(-t / 0.03)
    down = 0.5 * np.sin(2 * np.pi * 1500 * t) * np.exp(-t / 0.006) + thump
    y = np.zeros(int(round(seconds * sr)), np.float32)
    for k, b in enumerate(steady_beats(bpm, seconds).times):
        i = int(round(b * sr))
        y[i:i + len(t)] += (down if k % BEATS_PER_BAR == 0 else tick)[:max(0, len(y) - i)]
    return y


# --- per-frame features ----------------------------------------------------------------------------
@dataclass(frozen=True)
class MusicFeatures:
    """`features` (n_frames, len(FEATURE_NAMES)) float32, row i = the music at i / fps; `cached` tells
    whether they came from the cache."""

    features: np.ndarray
    fps: float
    beats: Beats
    seconds: float
    cached: bool = field(default=False, compare=False)


def _phases(beats: Beats, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Beat and bar phase in [0, 1) at times `t`, the beat grid continued at the tempo beyond its ends."""
    b, period = beats.times, 60.0 / beats.tempo
    n_head = int(np.ceil(max(0.0, b[0] - t.min()) / period)) + 1
    n_tail = int(np.ceil(max(0.0, t.max() - b[-1]) / period)) + 1
    grid = np.concatenate([b[0] - period * np.arange(n_head, 0, -1), b,
                           b[-1] + period * np.arange(1, n_tail + 1)])
    k = np.searchsorted(grid, t, side="right") - 1
    beat = (t - grid[k]) / (grid[k + 1] - grid[k])
    bar = (((k - n_head - beats.first_downbeat) % BEATS_PER_BAR) + beat) / BEATS_PER_BAR
    return beat, bar


def _phase_columns(beat: np.ndarray, bar: np.ndarray) -> np.ndarray:
    """The beat_sin, beat_cos, bar_sin, bar_cos columns of phases in [0, 1)."""
    return np.column_stack([np.sin(2 * np.pi * beat), np.cos(2 * np.pi * beat),
                            np.sin(2 * np.pi * bar), np.cos(2 * np.pi * bar)])


def compute_features(audio: np.ndarray, sr: int = SR, *, fps: float, n_frames: int | None = None,
                     beats: Beats | None = None, fallback_bpm: float = FALLBACK_BPM) -> MusicFeatures:
    """Music features for `n_frames` video frames (default: as many as the song lasts at `fps`).

    Pass `beats` (e.g. `steady_beats(bpm, s)` for a `click_track`) to skip beat tracking. Frames past the
    end of the song read as silence, with the beat grid continued.
    """
    lr = _librosa()
    y = check_audio(audio, sr)
    seconds = len(y) / sr
    n = int(n_frames) if n_frames is not None else max(1, math.ceil(seconds * fps - 1e-9))
    if n < 1:
        raise ValueError(f"n_frames must be at least 1, got {n_frames}")
    power, mel_db, onset = _spectra(y, sr)
    if beats is None:
        beats = _track(power, mel_db, onset, sr, seconds, fallback_bpm, MIN_CLARITY)
    rms = np.concatenate([lr.feature.rms(S=np.sqrt(power[:, a:a + SPECTRUM_CHUNK]), frame_length=N_FFT)[0]
                          for a in range(0, power.shape[1], SPECTRUM_CHUNK)])  # per frame, so in chunks
    loud = (lr.amplitude_to_db(rms, ref=max(float(rms.max()), 1e-10), top_db=None) + 60) / 60
    mel = lr.feature.melspectrogram(S=power, sr=sr, n_mels=N_MELS)
    bands = (lr.power_to_db(mel, ref=max(float(mel.max()), 1e-20), top_db=None) + 80) / 80
    src = np.vstack([onset / max(float(onset.max()), 1e-10), np.clip(loud, 0, 1), np.clip(bands, 0, 1)]).T
    src = np.vstack([src, np.zeros((1, src.shape[1]))])  # a silent row for frames past the song's end

    # each video frame pools the analysis frames centred within [t - 1/2fps, t + 1/2fps): max for onsets
    # (a 23 ms onset peak must not fall between 12-fps samples), mean for the rest
    last = len(src) - 1
    t = np.arange(n) / fps
    lo = np.clip(np.ceil((t - 0.5 / fps) * sr / HOP), 0, last).astype(int)
    hi = np.maximum(np.clip(np.ceil((t + 0.5 / fps) * sr / HOP), 0, last).astype(int), lo + 1)
    csum = np.vstack([np.zeros((1, src.shape[1])), np.cumsum(src, axis=0)])
    mean = (csum[hi] - csum[lo]) / (hi - lo)[:, None]
    peak = np.array([src[a:b, 0].max() for a, b in zip(lo, hi)])

    out = np.column_stack([peak, _phase_columns(*_phases(beats, t)), np.full(n, beats.tempo / 120.0), mean[:, 1:]])
    return MusicFeatures(out.astype(np.float32), float(fps), beats, seconds)


_PHASE = slice(FEATURE_NAMES.index("beat_sin"), FEATURE_NAMES.index("bar_cos") + 1)
_TEMPO = FEATURE_NAMES.index("tempo")


def with_beats(music: MusicFeatures, beats: Beats) -> MusicFeatures:
    """The same music heard on other beats (`conditioning.her_music`): its phase and tempo columns from `beats`."""
    out = music.features.copy()
    out[:, _PHASE] = _phase_columns(*_phases(beats, np.arange(len(out)) / music.fps))
    out[:, _TEMPO] = beats.tempo / 120.0
    return MusicFeatures(out, music.fps, beats, music.seconds, music.cached)


def lead_in(music: MusicFeatures, n: int) -> np.ndarray:
    """Feature rows (n, len(FEATURE_NAMES)) float32 for the n frames just before the music starts, at
    -n/fps ... -1/fps s: silence, with the tempo column of the music's first row and its beat and bar
    phases run backwards at that tempo, so they flow into row 0.

    For one song that is its beat grid continued backwards (the grid is steady before its first beat). For a
    store of clips it is the first clip's grid: `music.beats` there mixes the clips' tempos and bars.
    """
    if n < 0:
        raise ValueError(f"lead-in frames must be at least 0, got {n}")
    first = music.features[0].astype(np.float64)
    sin, cos = first[_PHASE][0::2], first[_PHASE][1::2]   # (beat, bar) each
    beat0, bar0 = np.mod(np.arctan2(sin, cos) / (2 * np.pi), 1.0)
    beats = np.arange(-n, 0) / music.fps * (first[_TEMPO] * 120.0 / 60.0)   # from row 0, in beats
    out = np.zeros((n, len(FEATURE_NAMES)), np.float32)
    out[:, _PHASE] = _phase_columns(np.mod(beat0 + beats, 1.0), np.mod(bar0 + beats / BEATS_PER_BAR, 1.0))
    out[:, _TEMPO] = music.features[0, _TEMPO]
    return out


# --- beat time ---------------------------------------------------------------------------------------
def beat_position(beat_times: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """Where times `t` (s) fall in beats: k at the k-th beat time, linear between beats, and continued at
    the pace of the first and last intervals before and after them. Needs at least 2 beat times."""
    b = np.asarray(beat_times, np.float64)
    t = np.atleast_1d(np.asarray(t, np.float64))
    pos = np.interp(t, b, np.arange(len(b)))
    before, after = t < b[0], t > b[-1]
    pos[before] = (t[before] - b[0]) / (b[1] - b[0])
    pos[after] = len(b) - 1 + (t[after] - b[-1]) / (b[-1] - b[-2])
    return pos


def beat_seconds(beat_times: np.ndarray, pos: np.ndarray | float) -> np.ndarray:
    """The inverse of `beat_position`: the time (s) of positions `pos` in beats."""
    b = np.asarray(beat_times, np.float64)
    pos = np.atleast_1d(np.asarray(pos, np.float64))
    t = np.interp(pos, np.arange(len(b)), b)
    before, after = pos < 0, pos > len(b) - 1
    t[before] = b[0] + pos[before] * (b[1] - b[0])
    t[after] = b[-1] + (pos[after] - (len(b) - 1)) * (b[-1] - b[-2])
    return t


def _file_hash(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _params(fps: float, **more) -> dict:
    return {"version": FEATURES_VERSION, "sr": SR, "hop": HOP, "n_fft": N_FFT, "fps": float(fps), **more,
            "min_clarity": MIN_CLARITY, "names": list(FEATURE_NAMES)}


def _cached(path: Path, params: dict, cache_dir: str | os.PathLike | None,
            compute: Callable[[], MusicFeatures], *, also_user_cache: bool = False) -> MusicFeatures:
    """`compute()`'s features of the music file `path`, cached in `cache_dir` (default ~/.cache/deepdance/music)
    as music-KEY.npy + music-KEY.json, KEY a hash of the file's bytes and `params`.

    `also_user_cache`: look in (and write to) ~/.cache/deepdance/music as well, after `cache_dir`, so that
    another folder holding the same song (a new run of the built-in dancer) finds its features there.
    """
    key = hashlib.blake2b((_file_hash(path) + json.dumps(params, sort_keys=True)).encode(),
                          digest_size=8).hexdigest()
    user = cache_root() / "music"
    folders = [Path(cache_dir) if cache_dir is not None else user]
    if also_user_cache and folders[0] != user:
        folders.append(user)
    found = None
    for k, folder in enumerate(folders):
        npy, meta = folder / f"music-{key}.npy", folder / f"music-{key}.json"
        if meta.is_file() and npy.is_file():
            info = read_json(meta)
            found = MusicFeatures(np.load(npy), params["fps"], Beats.from_dict(info["beats"]),
                                  float(info["seconds"]), cached=True)
            folders = folders[:k]  # the folders before it get a copy
            break
    music = found if found is not None else compute()
    for folder in folders:
        npy, meta = folder / f"music-{key}.npy", folder / f"music-{key}.json"
        try:
            with atomic_path(npy) as tmp:
                with open(tmp, "wb") as fh:
                    np.save(fh, music.features)
            # the .json goes last: its presence means the pair is complete
            write_json(meta, {"source": path.name, "columns": list(FEATURE_NAMES),
                              "shape": list(music.features.shape), "params": params, "seconds": music.seconds,
                              "beats": music.beats.to_dict()})
        except OSError:
            pass  # an unwritable cache folder only costs the next call the computation
    return music


def features_for_file(path: str | os.PathLike, *, fps: float, n_frames: int | None = None,
                      cache_dir: str | os.PathLike | None = None, fallback_bpm: float = FALLBACK_BPM,
                      also_user_cache: bool = False) -> MusicFeatures:
    """`compute_features` for a music file, cached in `cache_dir` (default ~/.cache/deepdance/music) as
    music-KEY.npy + music-KEY.json, KEY a hash of the file's bytes and the parameters."""
    path = Path(path)
    _check_file(path)

    def compute():
        return compute_features(load_audio(path), SR, fps=fps, n_frames=n_frames, fallback_bpm=fallback_bpm)

    return _cached(path, _params(fps, n_frames=n_frames, fallback_bpm=fallback_bpm), cache_dir, compute,
                   also_user_cache=also_user_cache)


def features_by_clip(path: str | os.PathLike, *, fps: float, clips: list[tuple[int, int]],
                     starts: list[float], cache_dir: str | os.PathLike | None = None,
                     also_user_cache: bool = False) -> MusicFeatures:
    """Features for frames [0, clips[-1][1]) cut into `clips` ([start, stop) frames), each from its own
    stretch of a music file (from `starts[k]` s, lasting its frames), with beats tracked clip by clip:
    clips may differ in tempo and need not follow each other in the music. Cached like `features_for_file`.

    A clip with less than MIN_SECONDS of music, or silent music, reads as silence on a steady grid at the
    median tempo of the clips with a clear beat (or FALLBACK_BPM). The result's `beats` are all clips'
    beats in the frames' timeline, its tempo the clips' tempos weighted by their frames, and it is a
    fallback only when every clip is one.
    """
    path = Path(path)
    _check_file(path)
    if len(starts) != len(clips):
        raise ValueError(f"{len(clips)} clips need as many starts, got {len(starts)}")
    params = _params(fps, clips=[[int(a), int(b)] for a, b in clips], starts=[float(s) for s in starts],
                     fallback_bpm=FALLBACK_BPM)
    return _cached(path, params, cache_dir, lambda: _by_clip(load_audio(path), fps, clips, starts),
                   also_user_cache=also_user_cache)


def _by_clip(y: np.ndarray, fps: float, clips: list[tuple[int, int]], starts: list[float]) -> MusicFeatures:
    out = np.zeros((clips[-1][1], len(FEATURE_NAMES)), np.float32)
    beats: dict[int, Beats] = {}
    short: dict[int, str] = {}
    for k, ((a, b), start) in enumerate(zip(clips, starts)):
        lo = max(0, int(round(start * SR)))
        piece = y[lo:lo + int(round((b - a) / fps * SR))]
        if len(piece) / SR < MIN_SECONDS:
            short[k] = f"clip {k} has only {len(piece) / SR:.1f} s of music"
        elif np.abs(piece).max() < SILENT_PEAK:
            short[k] = f"clip {k}'s music is silent"
        else:
            music = compute_features(piece, SR, fps=fps, n_frames=b - a)
            out[a:b], beats[k] = music.features, music.beats
    heard = [x.tempo for x in beats.values() if not x.fallback]
    bpm = float(np.median(heard)) if heard else FALLBACK_BPM
    for k, why in short.items():
        a, b = clips[k]
        beats[k] = steady_beats(bpm, (b - a) / fps, reason=f"{why}; using a steady {bpm:g} BPM grid")
        out[a:b, _PHASE] = _phase_columns(*_phases(beats[k], np.arange(b - a) / fps))
        out[a:b, _TEMPO] = bpm / 120.0
    per_clip = [beats[k] for k in range(len(clips))]
    # each clip's beats from its own start (a steady grid may reach its end: that beat is the next clip's)
    times = np.concatenate([a / fps + x.times[x.times < (b - a) / fps] for (a, b), x in zip(clips, per_clip)])
    tempo = float(np.average([x.tempo for x in per_clip], weights=[b - a for a, b in clips]))
    lost = all(x.fallback for x in per_clip)
    reason = f"no beat in any of the {len(clips)} clips' music ({per_clip[0].reason})" if lost else ""
    return MusicFeatures(out, float(fps), Beats(times, tempo, 0, lost, reason), len(out) / fps)


def features_for_store(store, music: str | os.PathLike | None = None) -> MusicFeatures:
    """Features for every frame of a FrameStore, from `music` or else the store's own audio, cached in
    the store folder and in the user cache (where another store of the same song, as each new run of the
    built-in dancer makes, finds them).

    With its own audio, a store of several clips is analysed clip by clip (`features_by_clip`): clip k's
    music starts at `manifest.extra["clip_starts"][k]["start_s"]` when the manifest has one per clip (as
    ingest writes), else at its first frame's time.
    """
    source = Path(music) if music is not None else store.audio_path
    if source is None:
        raise UserError(f"{store.path} has no music; give a music file with --music")
    folder = store.path if os.access(store.path, os.W_OK) else None
    clips = store.clips
    if music is not None or len(clips) == 1:
        return features_for_file(source, fps=store.fps, n_frames=len(store), cache_dir=folder, also_user_cache=True)
    starts = [a / store.fps for a, _ in clips]
    given = store.manifest.extra.get("clip_starts")
    if isinstance(given, list) and len(given) == len(clips):
        try:
            starts = [float(s["start_s"]) for s in given]
        except (KeyError, TypeError, ValueError):
            raise UserError(f"{store.path}: malformed clip_starts in its manifest") from None
    return features_by_clip(source, fps=store.fps, clips=clips, starts=starts, cache_dir=folder,
                            also_user_cache=True)
