"""Dancing to music: a tiny music-conditioned run, generate --music / --bpm, and bad music."""

import json

import numpy as np
import pytest
import soundfile as sf

from deepdance.audio import SR, click_track
from deepdance.cli import main
from deepdance.errors import UserError
from deepdance.generate import GenerateConfig, generate
from deepdance.pipeline import generate_run, train_run
from deepdance.synth import SynthConfig, synthesize
from deepdance.train import TrainConfig
from deepdance.video import probe, read_audio, read_frames

from conftest import TINY, song

@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A run trained with its music (two tempos) and one trained without."""
    tmp = tmp_path_factory.mktemp("music")
    store = synthesize(tmp / "store", cfg=SynthConfig(seconds=24, width=80, height=48, tempos=(100.0, 130.0), preview=False), progress=False)
    train_run(store.path, tmp / "music", cfg=TrainConfig(**TINY), progress=False)
    train_run(store.path, tmp / "silent", cfg=TrainConfig(**TINY, music_input="off"), progress=False)
    return tmp


@pytest.mark.slow  # the module fixture trains two runs
def test_the_sequence_model_hears_music_only_when_trained_with_it(runs):
    meta = json.loads((runs / "music" / "seq.json").read_text())
    assert meta["model"]["music_features"] > 0 and meta["music"]["steps_per_beat"] > 0
    assert json.loads((runs / "silent" / "seq.json").read_text())["model"]["music_features"] == 0


@pytest.mark.slow  # the module fixture trains two runs
def test_dance_to_a_song_is_as_long_as_the_song_and_carries_it(runs, tmp_path):
    path = song(tmp_path / "song.wav", 5.0)
    out = tmp_path / "out"
    generate_run(runs / "music", out, cfg=GenerateConfig(song=str(path), seed=1))
    info = probe(out / "dance.mp4")
    assert info["has_audio"]
    assert len(list(read_frames(out / "dance.mp4"))) == 60  # 5 s at the data's 12 fps
    sound = read_audio(out / "dance.mp4")
    assert abs(len(sound) / 22050 - 5.0) < 0.1
    # the song's clicks are in the video's sound
    assert np.corrcoef(np.abs(sound[:SR * 4]), np.abs(click_track(110.0, 4.0)))[0, 1] > 0.5
    before = (runs / "music" / "metrics.json").read_bytes()
    metrics = json.loads((out / "metrics.json").read_text())
    # scored against the song's beats (a 1-epoch model may well not move on them: the score's own known
    # answers are in test_rhythm.py)
    assert isinstance(metrics["generation"]["bas"], float) and 0 <= metrics["generation"]["bas"] <= 1
    assert json.loads((out / "config.json").read_text())["generate"]["song"] == str(path)
    assert (runs / "music" / "metrics.json").read_bytes() == before  # a dance made elsewhere leaves the run be


@pytest.mark.slow  # the module fixture trains two runs
def test_seconds_bpm_and_determinism(runs):
    a = generate(runs / "music", GenerateConfig(bpm=100.0, seconds=4.0, seed=2))
    b = generate(runs / "music", GenerateConfig(bpm=100.0, seconds=4.0, seed=2))
    assert len(a.frames) == 48 and np.array_equal(a.frames, b.frames)
    assert a.audio is not None and a.audio.is_file()
    assert np.allclose(np.diff(a.beats), 0.6, atol=0.03)  # the beat of the drum track
    own = generate(runs / "music", GenerateConfig(frames=30, seed=2))  # its own music
    assert own.audio.name == "music.wav" and len(own.frames) == 30
    longer = generate(runs / "music", GenerateConfig(seconds=30.0, seed=2, size="80x48"))  # the song is 24 s
    assert len(longer.frames) == 360 and abs(len(read_audio(longer.audio)) / 22050 - 30.0) < 0.05
    assert longer.beats[-1] > 28.0   # it dances on the looped song's beats to the end


@pytest.mark.slow  # the module fixture trains two runs
def test_a_song_without_beat_falls_back_to_a_grid_and_says_so(runs, tmp_path, capsys):
    rng = np.random.default_rng(0)
    sf.write(str(tmp_path / "noise.wav"), (0.3 * rng.standard_normal(SR * 3)).astype(np.float32), SR)
    assert main(["generate", str(runs / "music"), "--music", str(tmp_path / "noise.wav"),
                 "--out", str(tmp_path / "o")]) == 0
    assert "no clear beat" in capsys.readouterr().err
    assert len(list(read_frames(tmp_path / "o" / "dance.mp4"))) == 36


@pytest.mark.slow  # the module fixture trains two runs
@pytest.mark.parametrize("case", ["missing", "text", "silent", "short"])
def test_bad_music_is_one_line_and_exit_2(runs, tmp_path, capsys, case):
    path = tmp_path / "bad.wav"
    if case == "text":
        path.write_text("not audio at all\n" * 100)
    elif case == "silent":
        sf.write(str(path), np.zeros(SR * 3, np.float32), SR)
    elif case == "short":
        song(path, 1.0)
    assert main(["generate", str(runs / "music"), "--music", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "o" / "dance.mp4").exists()


@pytest.mark.slow  # the module fixture trains two runs
def test_music_on_a_run_trained_without_it_is_refused(runs, tmp_path, capsys):
    path = song(tmp_path / "song.wav", 3.0)
    assert main(["generate", str(runs / "silent"), "--music", str(path)]) == 2
    assert "trained without music" in capsys.readouterr().err
    with pytest.raises(UserError, match="trained without music"):
        generate(runs / "silent", GenerateConfig(bpm=120.0))
    # without music it dances as before, to its data's sound
    assert len(generate(runs / "silent", GenerateConfig(frames=10)).frames) == 10


def test_music_on_needs_music(tmp_path):
    store = synthesize(tmp_path / "s", cfg=SynthConfig(seconds=6, width=80, height=48, preview=False), progress=False)
    (store.path / "music.wav").unlink()
    manifest = json.loads((store.path / "manifest.json").read_text())
    manifest["audio"] = None
    (store.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match="no music"):
        train_run(store.path, tmp_path / "run", cfg=TrainConfig(**TINY, music_input="on"), progress=False)


@pytest.mark.slow  # the module fixture trains two runs
def test_a_run_folder_generates_alone_once_its_store_is_gone(runs, tmp_path):
    import shutil

    moved = tmp_path / "moved"
    shutil.copytree(runs / "music", moved)
    store = runs / "store"
    hidden = runs / "store-away"
    store.rename(hidden)  # the store the run learnt from is gone
    try:
        before = generate(runs / "music", GenerateConfig(frames=30, seed=2))
        after = generate(moved, GenerateConfig(frames=30, seed=2))  # a copy elsewhere: the same dance
        outputs = generate_run(moved, tmp_path / "out", cfg=GenerateConfig(frames=30, seed=2))
    finally:
        hidden.rename(store)
    assert np.array_equal(before.frames, after.frames)
    assert after.audio is not None and after.audio.parent == moved  # its own music, kept in the run
    assert probe(outputs["video"])["has_audio"]
