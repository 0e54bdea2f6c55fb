"""Music features and beat tracking, on numpy-made clicks and noise.

The first librosa beat tracking in a fresh environment compiles numba code once (~20 s); later runs
load it from the cache.
"""

from __future__ import annotations

import av
import numpy as np
import pytest
import soundfile as sf

from deepdance import audio
from deepdance.audio import FEATURE_NAMES, SR
from deepdance.errors import UserError

FPS = 12


def clicks(bpm: float, seconds: float) -> np.ndarray:
    return audio.click_track(bpm, seconds, SR)


def true_beats(bpm: float, seconds: float) -> np.ndarray:
    return np.arange(0, seconds, 60 / bpm)


def phase(features: np.ndarray, name: str) -> np.ndarray:
    s, c = features[:, FEATURE_NAMES.index(f"{name}_sin")], features[:, FEATURE_NAMES.index(f"{name}_cos")]
    return np.mod(np.arctan2(s, c) / (2 * np.pi), 1.0)


def nearest(times: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Distance from each of `times` to the nearest of `targets`."""
    return np.abs(np.asarray(times)[:, None] - np.asarray(targets)[None, :]).min(axis=1)


def write_pyav(path, y: np.ndarray, sr: int, codec: str) -> None:
    try:
        av.codec.Codec(codec, "w")
    except av.codec.codec.UnknownCodecError:
        pytest.skip(f"this PyAV has no {codec} encoder")
    with av.open(str(path), "w") as c:
        stream = c.add_stream(codec, rate=sr, layout="mono")
        for i in range(0, len(y), 1024):
            chunk = y[None, i:i + 1024].astype(np.float32)
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate = sr
            for packet in stream.encode(frame):
                c.mux(packet)
        for packet in stream.encode(None):
            c.mux(packet)


# --- beats -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bpm", [100, 120, 87])
def test_beats_of_a_click_track(bpm):
    beats = audio.beat_times(clicks(bpm, 20), SR)
    assert not beats.fallback and beats.reason == ""
    assert len(beats.times) >= 0.8 * 20 * bpm / 60
    assert nearest(beats.times, true_beats(bpm, 20)).max() < 1 / FPS
    assert beats.tempo == pytest.approx(bpm, rel=0.02)
    # the accented clicks (every 4th from 0, over a bass thump) are the downbeats
    assert nearest(beats.downbeats, true_beats(bpm / 4, 20)).max() < 1 / FPS


def drum_loop(bpm: float, seconds: float, seed: int = 0) -> np.ndarray:
    """Kick on every beat, a snare on 2 and 4 (3x the kick's onset strength), hats between, and a bass note
    that changes each bar."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(0.25 * SR)) / SR
    kick = np.sin(2 * np.pi * np.cumsum(np.linspace(110, 40, len(t))) / SR) * np.exp(-t / 0.06)
    snare = rng.standard_normal(len(t)) * np.exp(-t / 0.05)
    hat = 0.2 * rng.standard_normal(len(t)) * np.exp(-t / 0.01)
    y = np.zeros(int(seconds * SR) + len(t))
    for k, start in enumerate(np.arange(0, seconds, 30 / bpm)):  # eighth notes: beat k // 2
        i = int(start * SR)
        y[i:i + len(t)] += hat if k % 2 else kick + (snare if (k // 2) % 2 else 0)
    bass_roots = [55.0, 73.4, 61.7, 49.0]
    tt = np.arange(len(y)) / SR
    bar_of = (tt // (4 * 60 / bpm)).astype(int) % len(bass_roots)
    y += 0.3 * np.sin(2 * np.pi * np.take(bass_roots, bar_of) * 2 * tt)
    return (0.5 * y[:int(seconds * SR)] / np.abs(y).max()).astype(np.float32)


@pytest.mark.parametrize("bpm", [104, 124])
def test_bars_start_where_the_bass_and_harmony_change_not_on_the_snare(bpm):
    beats = audio.beat_times(drum_loop(bpm, 20), SR)
    # (at some other tempos librosa counts this loop in half or double time, its own choice of level)
    assert beats.tempo == pytest.approx(bpm, rel=0.02)
    assert nearest(beats.downbeats, true_beats(bpm / 4, 20)).max() < 1 / FPS


@pytest.mark.parametrize("kind", ["noise", "tone"])
def test_no_beat_falls_back_to_a_steady_grid(kind):
    t = np.arange(10 * SR) / SR
    y = np.random.default_rng(0).standard_normal(len(t)) if kind == "noise" else np.sin(2 * np.pi * 440 * t)
    y = 0.3 * y
    beats = audio.beat_times(y, SR)
    assert beats.fallback and "no clear beat" in beats.reason and "120 BPM" in beats.reason
    assert beats.tempo == 120.0
    np.testing.assert_allclose(np.diff(beats.times), 0.5)
    music = audio.compute_features(y, SR, fps=FPS)
    assert music.beats.fallback


def test_steady_beats_and_click_track():
    y = clicks(100, 6)
    assert y.dtype == np.float32 and len(y) == 6 * SR
    starts = np.flatnonzero((np.abs(y[1:]) > 1e-3) & (np.abs(y[:-1]) <= 1e-3)) + 1
    loud = starts[np.r_[True, np.diff(starts) > SR // 10]] / SR  # the first sample of each click
    np.testing.assert_allclose(loud, true_beats(100, 6), atol=2 / SR)
    beats = audio.steady_beats(100, 6)
    np.testing.assert_allclose(beats.times, np.arange(11) * 0.6)
    assert not beats.fallback
    with pytest.raises(UserError):
        audio.steady_beats(0, 6)


# --- features ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def click_features():
    return audio.compute_features(clicks(100, 20), SR, fps=FPS)


def test_features_shape_and_ranges(click_features):
    f = click_features.features
    assert f.shape == (20 * FPS, len(FEATURE_NAMES)) and f.dtype == np.float32
    assert len(FEATURE_NAMES) == len(set(FEATURE_NAMES)) == 15
    assert np.isfinite(f).all()
    col = {name: f[:, i] for i, name in enumerate(FEATURE_NAMES)}
    for name in ["onset", "loudness", *(n for n in FEATURE_NAMES if n.startswith("mel_"))]:
        assert col[name].min() >= 0 and col[name].max() <= 1, name
    assert col["tempo"] == pytest.approx(np.full(len(f), 100 / 120), rel=0.02)
    # onsets: every click shows up in its frame or the next (spectral flux peaks up to ~30 ms late), and
    # frames between clicks are quiet
    t = np.arange(len(f)) / FPS
    rows = np.round(true_beats(100, 20)[1:] * FPS).astype(int)
    assert np.maximum(col["onset"][rows], col["onset"][rows + 1]).min() > 0.4
    far = nearest(t, true_beats(100, 20)) > 0.15
    assert col["onset"][far].max() < 0.1


def test_beat_and_bar_phase_reset_on_the_beats(click_features):
    f = click_features.features
    t = np.arange(len(f)) / FPS
    for name, period in [("beat", 0.6), ("bar", 2.4)]:
        p = phase(f, name)
        wraps = t[np.flatnonzero(np.diff(p) < 0) + 1]  # the first frame of each new beat / bar
        due = true_beats(60 / period, 20)
        # the reset comes in the first frame after the beat (librosa's beats may be a 23-ms hop off)
        late = wraps[:, None] - due[None, :]
        late = late[np.arange(len(wraps)), np.abs(late).argmin(axis=1)]
        assert late.min() >= -0.03 and late.max() <= 1 / FPS + 0.03, name
        inside = due[(due > 0.1) & (due < 19.9)]  # a beat at an end may reset outside the frames
        assert len(inside) <= len(wraps) <= len(due), name
        assert nearest(inside, wraps).max() <= 1 / FPS + 0.03, name
        # between resets the phase climbs steadily, one frame's worth at a time
        steps = np.diff(p)[np.diff(p) > 0]
        np.testing.assert_allclose(steps, 1 / FPS / period, rtol=0.15)


def test_features_are_deterministic_and_follow_n_frames(click_features):
    y = clicks(100, 20)
    again = audio.compute_features(y, SR, fps=FPS)
    np.testing.assert_array_equal(again.features, click_features.features)
    longer = audio.compute_features(y, SR, fps=FPS, n_frames=300)
    np.testing.assert_array_equal(longer.features[:240], click_features.features)
    past = longer.features[250:]
    for silent in ("onset", "loudness"):
        assert (past[:, FEATURE_NAMES.index(silent)] == 0).all()
    assert np.diff(phase(longer.features, "beat")[250:]).max() > 0  # the beat goes on


def test_given_beats_skip_tracking():
    music = audio.compute_features(clicks(90, 8), SR, fps=25, beats=audio.steady_beats(90, 8))
    p = phase(music.features, "beat")
    t = np.arange(len(p)) / 25
    np.testing.assert_allclose(p, np.mod(t / (60 / 90), 1.0), atol=1e-5)


def test_feature_cache_is_hit_the_second_time(tmp_path, monkeypatch):
    wav = tmp_path / "song.wav"
    sf.write(wav, clicks(100, 10), SR)
    cache = tmp_path / "cache"
    first = audio.features_for_file(wav, fps=FPS, cache_dir=cache)
    assert not first.cached
    assert len(list(cache.glob("music-*.npy"))) == len(list(cache.glob("music-*.json"))) == 1

    def boom(*a, **k):
        raise AssertionError("recomputed")

    monkeypatch.setattr(audio, "compute_features", boom)
    second = audio.features_for_file(wav, fps=FPS, cache_dir=cache)
    assert second.cached
    np.testing.assert_array_equal(second.features, first.features)
    np.testing.assert_array_equal(second.beats.times, first.beats.times)  # exactly, not to 6 decimals
    assert (second.beats.tempo, second.beats.first_downbeat, second.beats.fallback) == \
        (first.beats.tempo, first.beats.first_downbeat, first.beats.fallback)
    # other parameters or other content are other entries
    monkeypatch.undo()
    assert not audio.features_for_file(wav, fps=25, cache_dir=cache).cached
    sf.write(wav, clicks(110, 10), SR)
    assert not audio.features_for_file(wav, fps=FPS, cache_dir=cache).cached


def test_features_for_a_store_are_stored_beside_its_frames_and_found_by_another_store_of_the_song(
        tmp_path, monkeypatch):
    from deepdance.store import StoreWriter

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    wav = tmp_path / "music.wav"
    sf.write(wav, clicks(120, 5), SR)

    def store_of_the_song(name: str):
        with StoreWriter(tmp_path / name, width=8, height=6, fps=FPS) as w:
            w.append(np.full((50, 6, 8), 255, np.uint8))
            w.add_file("music.wav", wav)
            w.manifest.audio = "music.wav"
        return w.close()

    store = store_of_the_song("store")
    music = audio.features_for_store(store)
    assert music.features.shape == (50, len(FEATURE_NAMES)) and not music.cached
    assert list(store.path.glob("music-*.npy")) and audio.features_for_store(store).cached
    # a new store of the same song (each run of the built-in dancer makes one) finds them in the user cache
    assert len(list((tmp_path / "cache" / "deepdance" / "music").glob("music-*.json"))) == 1
    again = audio.features_for_store(store_of_the_song("again"))
    assert again.cached and np.array_equal(again.features, music.features)
    assert np.array_equal(again.beats.times, music.beats.times)
    assert list((tmp_path / "again").glob("music-*.npy"))  # and keeps a copy beside its frames

    with StoreWriter(tmp_path / "mute", width=8, height=6, fps=FPS) as w:
        w.append(np.full((5, 6, 8), 255, np.uint8))
    with pytest.raises(UserError, match="--music"):
        audio.features_for_store(w.close())


def test_her_beat_is_every_other_tracked_beat_where_she_pauses_on_every_other_one():
    from deepdance.conditioning import HALF_TIME, her_beat

    tracked = audio.Beats(np.arange(0.2, 20, 0.375), 160.0, first_downbeat=1)   # 160 BPM, as a tracker hears 80
    rng = np.random.default_rng(0)
    odd = tracked.times[1::2] + rng.normal(0, 0.03, len(tracked.times[1::2]))   # she pauses on every other beat
    half, why = her_beat(tracked, odd, 20.0)
    np.testing.assert_allclose(half.times, tracked.times[1::2])
    assert half.tempo == 80.0 and half.first_downbeat == 0 and "80 BPM, not the 160" in why
    # every beat, or no clear half: the tracked beats, untouched
    every = np.sort(np.r_[odd, tracked.times[::2]])
    assert her_beat(tracked, every, 20.0) == (tracked, "")
    some = np.r_[odd[::2], tracked.times[::4]]   # half as many pauses on each half
    assert her_beat(tracked, np.sort(some), 20.0)[0] is tracked
    assert her_beat(audio.steady_beats(160, 20, reason="no clear beat"), odd, 20.0)[1] == ""
    assert HALF_TIME > 0


def test_her_beat_is_twice_the_tracked_beats_where_she_pauses_on_them_and_halfway_between():
    from deepdance.conditioning import her_beat

    tracked = audio.Beats(np.arange(0.2, 20, 0.75), 80.0, first_downbeat=3)   # 80 BPM, as a tracker hears 160
    halfway = (tracked.times[:-1] + tracked.times[1:]) / 2
    rng = np.random.default_rng(0)
    both = np.sort(np.r_[tracked.times, halfway]) + rng.normal(0, 0.03, 2 * len(tracked.times) - 1)
    double, why = her_beat(tracked, both, 20.0)
    np.testing.assert_allclose(double.times, np.sort(np.r_[tracked.times, halfway]))
    assert double.tempo == 160.0 and double.first_downbeat == 2 and "160 BPM, not the 80" in why
    np.testing.assert_allclose(double.downbeats[:2], tracked.times[[1, 3]])   # the tracked bar is two of hers
    # on the beats only, or as often a quarter off: the tracked beats
    assert her_beat(tracked, tracked.times + rng.normal(0, 0.03, len(tracked.times)), 20.0) == (tracked, "")
    quarters = np.sort(np.r_[tracked.times, tracked.times + 0.1875, halfway, halfway + 0.1875])
    assert her_beat(tracked, quarters, 20.0) == (tracked, "")


def test_a_song_twice_her_tempo_is_danced_on_every_other_beat():
    from deepdance.conditioning import at_her_tempo

    beats = audio.Beats(np.arange(0.1, 20, 0.375), 160.0, first_downbeat=1)
    song = audio.MusicFeatures(np.zeros((240, len(FEATURE_NAMES)), np.float32), FPS, beats, 20.0)
    half, why = at_her_tempo(song, 80.0)
    np.testing.assert_allclose(half.beats.times, beats.times[1::2])   # the bars start on beat 1
    assert half.beats.tempo == 80.0 and half.beats.first_downbeat == 0 and "160 BPM" in why
    assert np.allclose(half.features[:, FEATURE_NAMES.index("tempo")], 80 / 120)
    assert at_her_tempo(song, 125.0) == (song, "")   # 160 is nearer than 80
    slow = audio.MusicFeatures(song.features, FPS, audio.Beats(np.arange(0.1, 20, 1.0), 60.0, first_downbeat=1), 20.0)
    double, why = at_her_tempo(slow, 110.0)   # 120 is nearer than 60
    np.testing.assert_allclose(double.beats.times, np.arange(0.1, 19.2, 0.5))
    assert double.beats.tempo == 120.0 and double.beats.first_downbeat == 2 and "halfway between" in why
    assert at_her_tempo(slow, 80.0) == (slow, "")   # 60 is nearer than 120
    assert at_her_tempo(audio.MusicFeatures(song.features, FPS, audio.steady_beats(160, 20, reason="x"), 20.0),
                        80.0)[1] == ""


def test_her_music_is_heard_on_the_beat_she_dances_to(tmp_path):
    from deepdance.conditioning import her_music
    from deepdance.store import StoreWriter

    from test_rhythm import swinging_blob

    def store(period: float, name: str):
        wav = tmp_path / f"{name}.wav"
        sf.write(wav, clicks(160, 20), SR)
        with StoreWriter(tmp_path / name, width=96, height=48, fps=FPS) as w:
            w.append(swinging_blob(period, 20, FPS))
            w.add_file("music.wav", wav)
            w.manifest.audio = "music.wav"
        return w.close()

    every = store(0.375, "every")
    tracked = audio.features_for_store(every)
    assert tracked.beats.tempo == pytest.approx(160, rel=0.02)
    music, why = her_music(every)   # she pauses on every click
    assert why == "" and music.beats.tempo == tracked.beats.tempo
    music, why = her_music(store(0.75, "half"))     # on every other one
    assert music.beats.tempo == pytest.approx(80, rel=0.02) and "every other beat" in why
    np.testing.assert_allclose(np.mod(music.beats.times + 0.1, 0.75), 0.1, atol=0.05)   # her pauses: 0, 0.75, ..
    # its beat phase restarts on her beats: the tracked music's every other time
    beat_sin, beat_cos = (FEATURE_NAMES.index(c) for c in ("beat_sin", "beat_cos"))
    at = np.rint(music.beats.times[music.beats.times < 19] * FPS).astype(int)
    phase = np.arctan2(music.features[at, beat_sin], music.features[at, beat_cos]) / (2 * np.pi)
    assert np.abs(circular(phase)).max() < 0.1
    assert np.allclose(music.features[:, FEATURE_NAMES.index("tempo")], music.beats.tempo / 120)
    others = [c for c in FEATURE_NAMES if c not in ("beat_sin", "beat_cos", "bar_sin", "bar_cos", "tempo")]
    np.testing.assert_array_equal(music.features[:, [FEATURE_NAMES.index(c) for c in others]],
                                  tracked.features[:, [FEATURE_NAMES.index(c) for c in others]])


def circular(x: np.ndarray) -> np.ndarray:
    """Phase differences folded into [-0.5, 0.5)."""
    return np.mod(np.asarray(x) + 0.5, 1.0) - 0.5


def test_a_store_of_clips_is_analysed_clip_by_clip(tmp_path, monkeypatch):
    from deepdance.store import StoreWriter

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))   # what it computes, not what an earlier run left
    # as ingest cuts one video: 8 s at 100 BPM, a 1-s clip (too short to track), then 2 s dropped (other
    # music, skipped through clip_starts) and 6 s at 140 BPM
    noise = 0.3 * np.random.default_rng(0).standard_normal(2 * SR).astype(np.float32)
    wav = tmp_path / "music.wav"
    sf.write(wav, np.concatenate([clicks(100, 8), clicks(100, 1), noise, clicks(140, 6)]), SR)
    with StoreWriter(tmp_path / "store", width=8, height=6, fps=FPS) as w:
        for n in (96, 12, 72):
            w.append(np.full((n, 6, 8), 255, np.uint8))
            w.end_clip()
        w.add_file("music.wav", wav)
        w.manifest.audio = "music.wav"
        w.manifest.extra["clip_starts"] = [{"input": 0, "start_s": s} for s in (0.0, 8.0, 11.0)]
    store = w.close()
    music = audio.features_for_store(store)
    f = music.features
    assert f.shape == (180, len(FEATURE_NAMES)) and music.fps == FPS and music.seconds == 15
    assert not music.beats.fallback and music.beats.first_downbeat == 0
    t = np.arange(len(f)) / FPS
    # the tracked clips: beats and phase resets on their own clicks, in the frames' timeline
    for (a, b), bpm in (((0, 96), 100), ((108, 180), 140)):
        due = a / FPS + true_beats(bpm, (b - a) / FPS)
        got = music.beats.times[(music.beats.times >= a / FPS) & (music.beats.times < b / FPS)]
        assert len(got) >= 0.6 * len(due) and nearest(got, due).max() < 1 / FPS
        p = phase(f[a:b], "beat")
        wraps = t[a:b][np.flatnonzero(np.diff(p) < 0) + 1]
        assert nearest(wraps, due).max() <= 1 / FPS + 0.03
        assert f[a:b, FEATURE_NAMES.index("tempo")] * 120 == pytest.approx(np.full(b - a, bpm), rel=0.02)
    # the short clip: silence on a steady grid at the median tempo of the others, from its first frame
    short = f[96:108]
    bpm = short[0, FEATURE_NAMES.index("tempo")] * 120
    assert bpm == pytest.approx(120, rel=0.02)
    assert (short[:, [i for i, n in enumerate(FEATURE_NAMES) if n == "onset" or n == "loudness"
                      or n.startswith("mel_")]] == 0).all()
    np.testing.assert_allclose(circular(phase(short, "beat") - np.arange(12) / FPS * bpm / 60), 0, atol=1e-4)
    assert music.beats.tempo == pytest.approx((96 * 100 + 12 * 120 + 72 * 140) / 180, rel=0.02)
    assert np.all(np.diff(music.beats.times) > 0)

    # the second time comes from the cache beside the frames, exactly
    with monkeypatch.context() as m:
        m.setattr(audio, "compute_features", lambda *a, **k: pytest.fail("recomputed"))
        again = audio.features_for_store(store)
    assert again.cached
    np.testing.assert_array_equal(again.features, f)
    np.testing.assert_array_equal(again.beats.times, music.beats.times)
    assert (again.beats.tempo, again.beats.fallback, again.seconds) == \
        (music.beats.tempo, music.beats.fallback, music.seconds)
    # an explicit song is the whole file, as for any store
    whole = audio.features_for_store(store, music=wav)
    assert not whole.cached and len(whole.features) == 180
    assert audio.features_for_file(wav, fps=FPS, n_frames=180, cache_dir=store.path).cached
    # the lead-in runs into the first clip at its own tempo (the mixed tempo of `beats` would jump)
    step = 1 / FPS * f[0, FEATURE_NAMES.index("tempo")] * 120 / 60
    np.testing.assert_allclose(circular(np.diff(phase(np.concatenate([audio.lead_in(music, 6), f[:1]]), "beat"))
                                        - step), 0, atol=1e-4)


def test_lead_in_runs_the_beat_grid_back_from_the_first_row(click_features):
    music = click_features
    rows = audio.lead_in(music, 10)
    assert rows.shape == (10, len(FEATURE_NAMES)) and rows.dtype == np.float32
    assert audio.lead_in(music, 0).shape == (0, len(FEATURE_NAMES))
    tempo = FEATURE_NAMES.index("tempo")
    assert (rows[:, tempo] == music.features[0, tempo]).all()
    others = [i for i, n in enumerate(FEATURE_NAMES) if not n.startswith(("beat_", "bar_", "tempo"))]
    assert (rows[:, others] == 0).all()
    both = np.concatenate([rows, music.features[:1]])
    for name, beats_per in (("beat", 1), ("bar", 4)):
        # one frame's phase step from row to row, and from the last lead-in row into the music's row 0
        step = 1 / FPS * music.beats.tempo / 60 / beats_per
        np.testing.assert_allclose(circular(np.diff(phase(both, name)) - step), 0, atol=1e-4)
    # which is the song's beat grid continued backwards
    beat, bar = audio._phases(music.beats, np.arange(-10, 0) / FPS)
    np.testing.assert_allclose(circular(phase(rows, "beat") - beat), 0, atol=1e-5)
    np.testing.assert_allclose(circular(phase(rows, "bar") - bar), 0, atol=1e-5)


# --- reading music -------------------------------------------------------------------------------------
@pytest.mark.parametrize("ext", ["flac", "ogg", "mp3", "m4a"])
def test_reads_compressed_formats(tmp_path, ext):
    y = clicks(120, 3) + 0.05 * np.sin(2 * np.pi * 220 * np.arange(3 * SR) / SR).astype(np.float32)
    path = tmp_path / f"song.{ext}"
    if ext in ("flac", "ogg"):
        sf.write(path, y, SR)
    else:
        write_pyav(path, y, SR, {"mp3": "libmp3lame", "m4a": "aac"}[ext])
    got = audio.load_audio(path)
    assert got.dtype == np.float32 and got.ndim == 1
    assert abs(len(got) - len(y)) < 0.1 * SR  # codecs pad by a frame or two
    assert np.abs(got).max() > 0.3


def test_reads_the_audio_track_of_a_video(tmp_path):
    from deepdance.video import write_video

    wav = tmp_path / "a.wav"
    sf.write(wav, clicks(120, 4), 44100 // 2)
    frames = np.full((3 * FPS, 32, 32), 255, np.uint8)
    write_video(tmp_path / "with.mp4", frames, fps=FPS, audio=wav)
    assert len(audio.load_audio(tmp_path / "with.mp4")) == pytest.approx(3 * SR, abs=0.1 * SR)
    write_video(tmp_path / "without.mp4", frames, fps=FPS)
    with pytest.raises(UserError, match="no audio track"):
        audio.load_audio(tmp_path / "without.mp4")


def test_resampled_by_soundfile_when_pyav_cannot_read(tmp_path, monkeypatch):
    from deepdance import video

    wav = tmp_path / "song.wav"
    sf.write(wav, audio.click_track(120, 3, 44100), 44100)

    def refuse(path):
        raise UserError(f"{path} is not a readable video")

    monkeypatch.setattr(video, "has_audio", refuse)
    assert len(audio.load_audio(wav)) == pytest.approx(3 * SR, abs=2)


@pytest.mark.parametrize("case,match", [
    ("text", "not a readable audio file"),
    ("silent", "silent"),
    ("short", "only 1.0 s"),
    ("missing", "no such music file"),
    ("empty", "empty"),
])
def test_bad_music_is_a_user_error(tmp_path, case, match):
    path = tmp_path / "song.wav"
    if case == "text":
        path.write_text("this is not a song\n" * 50)
    elif case == "silent":
        sf.write(path, np.zeros(5 * SR, np.float32), SR)
    elif case == "short":
        sf.write(path, clicks(120, 1), SR)
    elif case == "empty":
        path.touch()
    with pytest.raises(UserError, match=match) as info:
        audio.load_audio(path)
    assert "\n" not in str(info.value)
    with pytest.raises(UserError, match=match):
        audio.features_for_file(path, fps=FPS, cache_dir=tmp_path / "cache")


def test_power_spectrogram_in_chunks_is_librosas():
    import librosa

    from deepdance.audio import HOP, N_FFT, power_spectrogram

    y = np.random.default_rng(0).standard_normal(22050 * 3 + 123).astype(np.float32)
    whole = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP)) ** 2
    assert np.allclose(power_spectrogram(y, chunk=17), whole, rtol=1e-5, atol=1e-6)
