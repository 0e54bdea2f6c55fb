"""The pretrained pose model of the built-in dancer that ships in the package: small, loads, dances to a song
at once, and never lets anything be written into the package."""

import json

import numpy as np
import pytest

from deepdance.pretrained import FILES, FOLDER, MAX_BYTES, pretrained_run
from deepdance.video import probe

from helpers import assert_one_line_error, run_cli, song


def test_the_shipped_model_is_small_and_whole():
    folder = pretrained_run()
    names = {f.name for f in folder.iterdir() if f.is_file()}
    music = json.loads((folder / "music.json").read_text())["audio"]
    assert names >= set(FILES) | {music}
    assert sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) <= MAX_BYTES
    config = json.loads((folder / "config.json").read_text())
    assert config["train"]["represent"] == "pose" and "data" not in config   # no store to point at


@pytest.mark.slow
def test_generate_pretrained_dances_to_a_song(tmp_path):
    out = tmp_path / "dance"
    done = run_cli("generate", "--pretrained", "--music", str(song(tmp_path / "song.wav", 3.0, bpm=120.0)),
                   "--out", str(out), "--seed", "1")
    assert done.returncode == 0, done.stderr
    info = probe(out / "dance.mp4")
    assert info["has_audio"] and abs(info["duration"] - 3.0) < 0.5 and (info["width"], info["height"]) == (800, 480)
    assert (out / "dance.bvh").is_file() and (out / "dance_keypoints.npz").is_file()
    assert not (FOLDER / "dance.mp4").exists()   # the package stays as shipped
    keypoints = np.load(out / "dance_keypoints.npz")["keypoints2d"]
    assert keypoints.shape[0] == 1 and np.ptp(keypoints[0, :, :, 0], axis=0).mean() > 1   # it moves


def test_pretrained_refusals(tmp_path):
    from deepdance.errors import UserError
    from deepdance.generate import GenerateConfig
    from deepdance.pipeline import generate_run

    assert_one_line_error(run_cli("generate", str(tmp_path), "--pretrained"), "one of them")
    assert_one_line_error(run_cli("generate"), "one of them")
    assert_one_line_error(run_cli("run", "--pretrained", "--video", str(tmp_path / "x.mp4")), "not allowed")
    with pytest.raises(UserError, match="output folder"):
        generate_run(pretrained_run(), None, cfg=GenerateConfig(frames=5))


@pytest.mark.slow
def test_run_pretrained_makes_a_run_folder_that_generates_again(tmp_path):
    from deepdance.generate import GenerateConfig
    from deepdance.pipeline import RunConfig, generate_run, run
    from deepdance.train import TrainConfig

    folder = run(None, tmp_path / "first", cfg=RunConfig(frames=24), train_cfg=TrainConfig(), pretrained=True,
                 progress=False)
    assert (folder / "seq.safetensors").is_file() and (folder / "dance.mp4").is_file()
    again = generate_run(folder, tmp_path / "again", cfg=GenerateConfig(bpm=100.0, seconds=2.0, seed=2))
    assert abs(probe(again["video"])["duration"] - 2.0) < 0.5
