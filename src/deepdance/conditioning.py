"""Music conditioning: what the sequence model hears of a song, and the beat steps it learns and dances in."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np

from .audio import (BEATS_PER_BAR, FEATURE_NAMES, Beats, MusicFeatures, beat_position, beat_seconds, cache_root,
                    features_for_store, with_beats)
from .dancer.music import SAMPLE_RATE, write_music
from .files import atomic_path
from .metrics import motion_per_frame
from .rhythm import beat_align_score, centred, motion_beats

# Rhythm and loudness. The spectral bands are left out: they describe the timbre of the training song more
# than how to move, and would not carry over to other songs.
MUSIC_COLUMNS = ("onset", "beat_sin", "beat_cos", "bar_sin", "bar_cos", "tempo", "loudness")
STEPS_PER_BEAT = 8  # a music run's sequence model takes this many steps a beat (12 fps at 90 BPM)
ON_BEAT_REACH = 0.5     # a dancer's pause is moved onto a beat when it lies within half a beat of it
ON_BEAT_STRETCH = 1.1   # and she need go no more than 1.1x faster or slower than she did to get there
HALF_TIME = 0.25        # she dances at half the tracked tempo where her pauses meet one half of the beats this
                        # much better (beat-align score) than the other half; at twice it where they meet the
                        # beats and the points halfway between them both this much better than the quarters
MOTION_CHUNK = 2048     # frames read at once for her motion


def heard(features: np.ndarray) -> np.ndarray:
    """The MUSIC_COLUMNS of per-frame music features (N, len(FEATURE_NAMES)): the rows the model reads."""
    return np.ascontiguousarray(features[:, [FEATURE_NAMES.index(c) for c in MUSIC_COLUMNS]], np.float32)


@dataclasses.dataclass
class BeatSteps:
    """Latents and music rows resampled to `steps_per_beat` steps a beat, clip by clip, and the (fractional)
    frame every step was taken at."""
    latents: np.ndarray
    music: np.ndarray
    clips: list[list[int]]
    frames: np.ndarray


def on_beat(latents: np.ndarray, a: int, b: int, beats: np.ndarray, fps: float, at: np.ndarray, *,
            stretch: float = ON_BEAT_STRETCH) -> np.ndarray:
    """The frames of clip [a, b) to show at frames `at` of its music so that the dancer's pauses (the minima
    of her speed in latent space, as `rhythm.motion_beats` finds them) land on the nearest beats, where one
    is within ON_BEAT_REACH of a beat and the time between them changes by at most `stretch` times.
    A dancer filmed to a song is near its beat, not on it: one cut of the 12-s portrait clip, its poses drawn,
    paused closer to another tempo than to its own (beat-align score 0.22, 0.27 at 1.3x the tempo); moved
    onto the beat, 0.41 against 0.24 (another cut, 0.51 against 0.31 as filmed: 0.47 against 0.34).
    A stretch of 1.25 instead of 1.1 made the built-in dancer's dances pause more (freeze 0.09, bar 0.089)."""
    z = np.asarray(latents[a:b], np.float64)
    if b - a < 3 or len(beats) < 2:
        return at
    speed = np.linalg.norm(np.diff(z, axis=0), axis=1)
    pauses = a + motion_beats(centred(speed), fps) * fps
    period = float(np.median(np.diff(beats))) * fps
    src, dst = [float(a)], [float(a)]
    for beat in np.asarray(beats) * fps:
        if not len(pauses) or not a < beat < b - 1:
            continue
        pause = float(pauses[np.argmin(np.abs(pauses - beat))])
        if abs(pause - beat) <= ON_BEAT_REACH * period and pause > src[-1] and beat > dst[-1] \
                and 1 / stretch <= (beat - dst[-1]) / (pause - src[-1]) <= stretch:
            src.append(pause)
            dst.append(beat)
    # and end where she ended (held there, the last frame would show for up to half a beat)
    while len(src) > 1 and not 1 / stretch <= (b - 1 - dst[-1]) / (b - 1 - src[-1]) <= stretch:
        src.pop()
        dst.pop()
    return np.interp(at, [*dst, b - 1], [*src, b - 1])


def every_other(beats: Beats, first: int) -> Beats:
    """Every other one of `beats`, from index `first`: half the tempo, its bars counted from the same downbeat."""
    return Beats(beats.times[first::2], beats.tempo / 2, ((beats.first_downbeat - first) // 2) % BEATS_PER_BAR)


def twice(beats: Beats) -> Beats:
    """`beats` and one halfway between each two: twice the tempo, its bars counted from the same downbeat."""
    t = beats.times
    times = np.empty(2 * len(t) - 1)
    times[0::2], times[1::2] = t, (t[:-1] + t[1:]) / 2
    return Beats(times, beats.tempo * 2, (2 * beats.first_downbeat) % BEATS_PER_BAR)


def her_beat(beats: Beats, pauses: np.ndarray, seconds: float) -> tuple[Beats, str]:
    """The beats the dancer moves to: the tracked `beats`, every other one where her pauses (times, s)
    keep to one half of them, or those and one halfway between each two where her pauses keep to both and
    not to the quarters between; with one line saying so ("" where the beats stay).

    A beat tracker hears a slow song's eighth notes as its beat as readily as its quarter notes: to a
    song of 80 BPM it gave 160, and the real dancer (AIST++ basic break, danced to 80 BPM) paused on every
    other one of those beats, as close to her song's beat as to a beat at another tempo (beat-align score
    0.42 against 0.37). Her pauses met one half 0.62, the other 0.21; on the built-in dancer, who pauses on
    every beat, the halves differ by 0.06 or less (0.15 on a 70-s clip of her in a room); the real portrait
    dancer's by 0.07."""
    t = beats.times[(beats.times >= 0) & (beats.times <= seconds)]
    if beats.fallback or len(t) < 2 * BEATS_PER_BAR:
        return beats, ""
    halves = [beat_align_score(pauses, t[o::2]) for o in (0, 1)]
    o = int(np.argmax(halves))
    if halves[o] - halves[1 - o] >= HALF_TIME:
        half = every_other(beats, int(np.searchsorted(beats.times, t[o])))
        return half, (f"the dancer pauses on every other beat of her song (beat-align score {halves[o]:.2f} "
                      f"against {halves[1 - o]:.2f}): she dances at {half.tempo:.0f} BPM, not the "
                      f"{beats.tempo:.0f} BPM the beat tracker heard")
    # a tracker can as well hear half the tempo: on the built-in dancer (pauses on every beat) the beats and the
    # halfway points scored 0.20 below the quarters, on the real portrait dancer 0.03 below
    at = {q: beat_align_score(pauses, t[:-1] + q * np.diff(t)) for q in (0.0, 0.25, 0.5, 0.75)}
    on, off = min(at[0.0], at[0.5]), max(at[0.25], at[0.75])
    if on - off < HALF_TIME:
        return beats, ""
    double = twice(beats)
    return double, (f"the dancer pauses on her song's beats and halfway between them (beat-align score "
                    f"{on:.2f}, {off:.2f} at the quarters): she dances at {double.tempo:.0f} BPM, not the "
                    f"{beats.tempo:.0f} BPM the beat tracker heard")


def her_music(store) -> tuple[MusicFeatures, str]:
    """A frame store's music (`audio.features_for_store`) on the beats its dancer moves to (`her_beat`, her
    pauses from her silhouettes' motion, as `rhythm.bas` finds them), and the line `her_beat` says."""
    music = features_for_store(store)
    step = np.concatenate([motion_per_frame(store.frames(a, min(a + MOTION_CHUNK + 1, len(store))))
                           for a in range(0, max(1, len(store) - 1), MOTION_CHUNK)])
    pauses = motion_beats(centred(step), store.fps) if len(step) else np.zeros(0)
    beats, why = her_beat(music.beats, pauses, (len(store) - 1) / store.fps)
    return (music if beats is music.beats else with_beats(music, beats)), why


def at_her_tempo(music: MusicFeatures, tempo: float) -> tuple[MusicFeatures, str]:
    """A song's music on every other tracked beat (the ones its bars start on) where half its tracked tempo
    is nearer the dancer's `tempo` (the beats of her own music, `her_music`), or on its beats and halfway
    between them where twice it is: a dancer of an 80 BPM song, given the same song again, was laid on the
    tracker's 160 BPM and danced twice as fast. One line says so ("" where the beats stay). A tempo asked for
    (`--bpm`) is danced as asked."""
    b = music.beats
    if b.fallback or len(b.times) < 2 * BEATS_PER_BAR:
        return music, ""
    far = {k: abs(np.log(b.tempo * k / tempo)) for k in (1.0, 0.5, 2.0)}   # a tie keeps the tracked beats
    k = min(far, key=far.get)
    if k == 1.0:
        return music, ""
    beats = every_other(b, b.first_downbeat % 2) if k == 0.5 else twice(b)
    how = "on every other beat" if k == 0.5 else "on its beats and halfway between them"
    return with_beats(music, beats), (f"the song's beat ({b.tempo:.0f} BPM) is danced {how}, "
                                      f"{beats.tempo:.0f} BPM, nearer the dancer's {tempo:.0f}")


def beat_steps(latents: np.ndarray, music: np.ndarray, clips, beats: np.ndarray, fps: float, *,
               steps_per_beat: int = STEPS_PER_BEAT, between: bool = False) -> BeatSteps:
    """A music run's sequence model learns and dances in beats, not frames: the same move takes as many
    steps at 90 BPM as at 135, and the dance keeps any song's tempo when its steps are laid on that song's
    beats. Latents are taken at the nearest frame, as are the music rows; with `between`, latents are
    interpolated between the two nearest frames (the real steps a dance is made of: at more steps a second
    than frames, the nearest frame would show some frames twice, and the motion would stop and go), and
    taken `on_beat`: her pauses moved onto the beats (`frames` stays the music's)."""
    out_z, out_m, out_f, out_clips, n = [], [], [], [], 0
    for a, b in clips:
        p0, p1 = beat_position(beats, [a / fps, (b - 1) / fps])
        pos = p0 + np.arange(int(np.floor((p1 - p0) * steps_per_beat)) + 1) / steps_per_beat
        f = np.clip(beat_seconds(beats, pos) * fps, a, b - 1)
        near = np.rint(f).astype(int)
        if between:
            g = on_beat(latents, a, b, beats, fps, f)
            lo = np.floor(g).astype(int)
            hi, w = np.minimum(lo + 1, b - 1), (g - lo)[:, None]
            out_z.append(((1 - w) * latents[lo] + w * latents[hi]).astype(np.float32))
        else:
            out_z.append(np.asarray(latents[near], np.float32))
        out_m.append(music[near])
        out_f.append(f)
        out_clips.append([n, n + len(f)])
        n += len(f)
    return BeatSteps(np.concatenate(out_z), np.concatenate(out_m), out_clips, np.concatenate(out_f))


def looped(music: MusicFeatures, audio: Path, steps: int, fps: float) -> tuple[np.ndarray, np.ndarray, Path]:
    """The data's own music for a dance of `steps` frames at `fps`: which of its feature rows sounds at each
    frame, the beat times, and the audio file. Longer than the song, the dance goes on to the song looped
    from its first beat to its last (a WAV in the user cache), so the beat goes on steadily across each join.
    Looped whole, a song leaves a gap at each join where no beat falls: 1.6 s (3.2 beats) for the 12-s
    portrait clip, and a dance laid on those beats moved through the gap at a third of its pace."""
    b, n = music.beats.times, len(music.features)
    if steps <= n:
        return np.arange(steps), b, audio
    t0, t1 = float(b[0]), float(b[-1])
    t = np.arange(steps) / fps
    at = np.where(t < t1, t, t0 + np.mod(t - t1, t1 - t0))
    rounds = int(np.ceil((t[-1] - t1) / (t1 - t0))) + 1
    beats = np.concatenate([b, *(b[1:] - t0 + t1 + k * (t1 - t0) for k in range(rounds))])
    return np.minimum(np.rint(at * fps).astype(int), n - 1), beats[beats <= t[-1] + 1e-9], \
        _looped_audio(audio, t0, t1, steps / fps)


def _looped_audio(audio: Path, t0: float, t1: float, seconds: float) -> Path:
    """`audio` up to t1 s, then its part from t0 to t1 again and again, `seconds` long, as a WAV in the user
    cache (made once). Each join fades over 5 ms, so it does not click."""
    import soundfile as sf

    stat = audio.stat()
    key = hashlib.blake2b(f"{audio.resolve()}|{stat.st_mtime_ns}|{stat.st_size}|{t0:.6f}|{t1:.6f}|{seconds:.6f}"
                          .encode(), digest_size=12).hexdigest()
    path = cache_root() / "loops" / f"{key}.wav"
    if path.is_file():
        return path
    y, sr = sf.read(audio, dtype="float32", always_2d=True)
    a, b, total = round(t0 * sr), min(round(t1 * sr), len(y)), round(seconds * sr)
    fade = min(round(0.005 * sr), (b - a) // 2)
    part = y[a:b].copy()
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)[:, None]
    part[:fade] *= ramp
    part[-fade:] *= ramp[::-1]
    head = y[:b].copy()
    head[-fade:] *= ramp[::-1]
    out = np.concatenate([head, *[part] * (int(np.ceil(max(0, total - len(head)) / len(part))))])[:total]
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        sf.write(tmp, out, sr, format="WAV", subtype="PCM_16")
    return path


def drum_beat(bpm: float, seconds: float) -> Path:
    """A drum track at `bpm` lasting `seconds`, as a WAV in the user cache (made once per tempo and length)."""
    path = cache_root() / "beats" / f"drums-{bpm:g}bpm-{seconds:.3f}s.wav"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            write_music(tmp, bpm, int(round(seconds * SAMPLE_RATE)))
    return path
