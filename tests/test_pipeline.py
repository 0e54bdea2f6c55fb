"""The whole pipeline at tiny size: built-in dancer -> train -> generate -> render -> metrics, plus bad input."""

import json

import pytest

from deepdance.cli import main
from deepdance.errors import UserError
from deepdance.generate import GenerateConfig
from deepdance.pipeline import RunConfig, generate_run, run, train_run
from deepdance.store import FrameStore
from deepdance.synth import SynthConfig, synthesize
from deepdance.train import TrainConfig
from deepdance.video import probe, read_frames

from conftest import TINY

TINY = TrainConfig(**TINY)


@pytest.mark.slow
def test_run_end_to_end(tmp_path):
    out = tmp_path / "run"
    cfg = RunConfig(seconds=20, fps=12, width=80, height=48, frames=40, evaluate_frames=24)
    assert run(out=out, cfg=cfg, train_cfg=TINY) == out
    for name in ("config.json", "store.json", "ae.safetensors", "ae.json", "seq.safetensors", "seq.json",
                 "latents.npy", "dance.mp4", "dance.gif", "contact_sheet.png", "metrics.json",
                 "plots/ae_loss.png", "plots/ae_recon.png", "plots/seq_loss.png"):
        assert (out / name).is_file(), name
    info = probe(out / "dance.mp4")
    assert info["has_audio"] and len(list(read_frames(out / "dance.mp4"))) == 40
    m = json.loads((out / "metrics.json").read_text())
    # most of a frame is background, so even a barely trained autoencoder gets most pixels right; IoU counts
    # the dancer's pixels only and can never beat the pixel accuracy
    assert m["ae"]["val_iou"] <= m["ae"]["val_pixel_acc"] and m["ae"]["val_pixel_acc"] > 0.5
    assert m["seq"]["val_loss"] is not None
    assert m["generation"]["frames"] == 40
    assert {"motion", "motion_first_third", "motion_last_third", "area_in_range"} <= set(m["generation"])
    assert m["generation"]["fragments"] <= 1  # projection keeps one body a frame
    assert m["data"]["motion"] > 0 and m["data"]["frames"] == 240
    assert {"data", "train_all", "generate", "render"} <= set(m["timing"])
    conf = json.loads((out / "config.json").read_text())
    assert {"run", "synth", "data", "train", "generate"} <= set(conf)  # every stage's config
    assert conf["synth"]["seconds"] == 20 and conf["data"]["source"]["kind"] == "builtin-dancer"
    evaluation = json.loads((out / "evaluation" / "evaluation.json").read_text())
    assert evaluation["verdict"]["text"][0].startswith("verdict: the dance passed")
    assert json.loads((out / "evaluation" / "evaluation.json").read_text())["run"] == str(out)
    for f in [*out.rglob("*.json"), *out.rglob("*.html")]:  # the run was built in a temporary folder
        assert f".{out.name}." not in f.read_text(), f
    # the run folder alone regenerates, deterministically for a seed
    assert main(["generate", str(out), "--frames", "12", "--seed", "3", "--out", str(tmp_path / "g1")]) == 0
    assert main(["generate", str(out), "--frames", "12", "--seed", "3", "--out", str(tmp_path / "g2")]) == 0
    a = [f for _, f in read_frames(tmp_path / "g1" / "dance.mp4", fmt="gray")]
    b = [f for _, f in read_frames(tmp_path / "g2" / "dance.mp4", fmt="gray")]
    assert len(a) == 12 and all((x == y).all() for x, y in zip(a, b))
    # an existing run folder is never overwritten without --force
    with pytest.raises(UserError, match="--force"):
        run(out=out, cfg=cfg, train_cfg=TINY)


def test_generate_on_untrained_run_is_a_clear_error(tmp_path, capsys):
    synthesize(tmp_path / "store", cfg=SynthConfig(seconds=4, width=80, height=48, preview=False), progress=False)
    (tmp_path / "empty").mkdir()
    assert main(["generate", str(tmp_path / "empty")]) == 2
    assert "no trained sequence model" in capsys.readouterr().err
    with pytest.raises(UserError):
        generate_run(tmp_path / "empty", cfg=GenerateConfig(frames=5))
    assert main(["generate", str(tmp_path / "missing")]) == 2


@pytest.mark.slow
def test_train_refuses_to_clobber_and_checks_inputs(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nostore"), "--run", str(tmp_path / "r")]) == 2
    assert "no frame store" in capsys.readouterr().err
    store = synthesize(tmp_path / "store", cfg=SynthConfig(seconds=8, width=80, height=48, preview=False), progress=False)
    train_run(store.path, tmp_path / "r", cfg=TINY)
    with pytest.raises(UserError, match="--resume"):
        train_run(store.path, tmp_path / "r", cfg=TINY)
    assert FrameStore.open(tmp_path / "store")  # untouched


def test_run_on_a_store_and_bad_video(tmp_path, capsys):
    bad = tmp_path / "clip.mp4"
    bad.write_text("not a video")
    assert main(["run", "--video", str(bad), "--out", str(tmp_path / "r1")]) == 2
    assert "not a readable video" in capsys.readouterr().err
    assert not (tmp_path / "r1").exists()
    assert main(["run", "--store", str(tmp_path / "none"), "--out", str(tmp_path / "r2")]) == 2


def test_an_output_that_is_or_lies_inside_the_store_is_refused(tmp_path, capsys):
    store = synthesize(tmp_path / "S", cfg=SynthConfig(seconds=2, width=40, height=24, preview=False), progress=False)
    before = sorted(p.name for p in store.path.iterdir())
    for argv in (["run", "--store", str(store.path), "--out", str(store.path), "--force"],
                 ["train", str(store.path), "--run", str(store.path)],
                 ["train", str(store.path), "--run", str(store.path / "inner")]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "apart from the inputs" in err[0], err
    assert sorted(p.name for p in store.path.iterdir()) == before  # nothing deleted, nothing written
    assert FrameStore.open(store.path)
