import json

import numpy as np
import pytest
import torch

from deepdance import train as T
from deepdance.errors import UserError
from deepdance import hardware
from deepdance.checkpoint import load_model
from deepdance.datasets import split_clips, window_starts
from deepdance.train import TrainConfig, encode_store, train

from conftest import TINY, make_store

TINY = {**TINY, "ae_epochs": 2, "seq_epochs": 2, "batch_size": 16}  # two epochs: something to resume


@pytest.fixture
def store(tmp_path):
    return make_store(tmp_path / "store")


def test_split_holds_out_the_end_of_every_clip():
    parts = split_clips([(0, 40), (40, 100)], 0.1)
    assert parts == [(0, 36, 40), (40, 94, 100)]
    train, val = window_starts(parts, window=3, span=5)
    for s in train:  # inside one clip's training part
        assert any(a <= s and s + 5 <= c for a, c, _ in parts)
    for s in val:  # targets held out, context may reach back, never across a clip
        assert any(a <= s and c <= s + 3 and s + 5 <= b for a, c, b in parts)
    assert len(val) > 0


def test_config_checks():
    assert TrainConfig(devices="2").devices == 2
    with pytest.raises(UserError, match="recipe"):
        TrainConfig(recipe="nope")
    with pytest.raises(UserError, match="val_fraction"):
        TrainConfig(val_fraction=0.7)
    cfg = TrainConfig(**TINY)
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


@pytest.mark.slow
def test_train_all_writes_models_that_reload_identically(store, tmp_path, monkeypatch):
    saved = {}
    real_save = T.save_model
    monkeypatch.setattr(T, "save_model", lambda run_dir, name, model, meta: (
        saved.__setitem__(name, model), real_save(run_dir, name, model, meta)))
    run = tmp_path / "run"
    figures = train(store, run, TrainConfig(**TINY), progress=False)
    for name in ("ae.safetensors", "ae.json", "seq.safetensors", "seq.json", "latents.npy", "latents.json",
                 "plots/ae_loss.png", "plots/ae_recon.png", "plots/seq_loss.png", "logs/ae.csv", "logs/seq.csv",
                 "checkpoints/ae.ckpt", "checkpoints/seq.ckpt"):
        assert (run / name).is_file(), name
    assert figures["ae.val_iou"] <= figures["ae.val_pixel_acc"] and figures["ae.val_pixel_acc"] > 0.5
    assert np.isfinite(figures["seq.val_loss"]) and figures["ae.seconds"] > 0
    meta = json.loads((run / "ae.json").read_text())
    assert meta["model"]["latent"] == 8 and meta["train"]["window"] == 3

    ae, seq = load_model(run, "ae"), load_model(run, "seq")
    x = torch.from_numpy(store.ink(np.arange(6)))[:, None]
    saved["ae"].eval().to(memory_format=torch.contiguous_format)  # same weights, same kernels
    assert torch.equal(ae.encode(x), saved["ae"].encode(x))
    latents = np.load(run / "latents.npy")
    assert latents.shape == (80, 8)
    assert np.allclose(latents[:6], ae.encode(x).detach().numpy(), atol=1e-5)
    window = torch.from_numpy(latents[:3])[None]
    saved["seq"].eval()
    assert torch.equal(seq.roll_out(window, 4, temperature=0.0), saved["seq"].roll_out(window, 4, temperature=0.0))
    rows = (run / "logs" / "ae.csv").read_text().splitlines()
    assert len(rows) == 1 + TINY["ae_epochs"] and "val_iou" in rows[0]


@pytest.mark.slow
def test_resume_continues_an_interrupted_run(store, tmp_path, monkeypatch):
    run = tmp_path / "run"
    cfg = TrainConfig(**{**TINY, "ae_epochs": 3})

    class Interrupted(Exception):
        pass

    def stop_at_second_epoch(self):
        if self.current_epoch == 1:
            raise Interrupted

    with monkeypatch.context() as m:
        m.setattr(T.AEModule, "on_train_epoch_start", stop_at_second_epoch, raising=False)
        with pytest.raises(Interrupted):
            train(store, run, cfg, stage="ae", progress=False)
    assert (run / "checkpoints" / "ae.ckpt").is_file() and not (run / "ae.safetensors").exists()
    first = (run / "logs" / "ae.csv").read_text().splitlines()
    assert len(first) == 2  # header + epoch 1

    starts = []
    real_fit = T.L.Trainer.fit
    monkeypatch.setattr(T.L.Trainer, "fit", lambda self, *a, **k: (starts.append(k.get("ckpt_path")),
                                                                     real_fit(self, *a, **k))[1])
    train(store, run, cfg, stage="ae", resume=True, progress=False)
    assert starts == [run / "checkpoints" / "ae.ckpt"]
    rows = (run / "logs" / "ae.csv").read_text().splitlines()
    assert rows[:2] == first and [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3"]
    assert (run / "ae.safetensors").is_file() and (run / "latents.npy").is_file()

    # a finished stage is skipped on resume; different settings cannot resume a checkpoint
    starts.clear()
    train(store, run, cfg, stage="ae", resume=True, progress=False)
    assert starts == []
    (run / "latents.npy").unlink()
    with pytest.raises(UserError, match="cannot resume"):
        train(store, run, cfg.replace(latent=4), stage="ae", resume=True, progress=False)


@pytest.mark.slow
def test_checkpoint_config_mismatch_is_a_user_error(store, tmp_path):
    run = tmp_path / "run"
    train(store, run, TrainConfig(**{**TINY, "ae_epochs": 1}), stage="ae", progress=False)
    meta = json.loads((run / "ae.json").read_text())
    meta["model"]["latent"] = 16
    (run / "ae.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="does not match"):
        load_model(run, "ae")
    meta["model"]["latent"] = 8
    meta["model"]["bogus"] = 1
    (run / "ae.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="cannot build"):
        load_model(run, "ae")
    del meta["model"]["bogus"]
    (run / "ae.json").write_text(json.dumps(meta))
    load_model(run, "ae")
    (run / "ae.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(UserError, match="safetensors"):
        load_model(run, "ae")
    with pytest.raises(UserError, match="no trained sequence model"):
        load_model(run, "seq")


@pytest.mark.slow
def test_store_size_must_match_the_autoencoder(store, tmp_path):
    run = tmp_path / "run"
    train(store, run, TrainConfig(**{**TINY, "ae_epochs": 1}), stage="ae", progress=False)
    other = make_store(tmp_path / "other", clips=(10,), w=64, h=48)
    with pytest.raises(UserError, match="80x48"):
        encode_store(other, run)


@pytest.mark.slow
def test_original_recipe_trains_one_step(tmp_path):
    store = make_store(tmp_path / "big", clips=(16,), w=200, h=120)
    cfg = TrainConfig(recipe="original", window=3, ae_epochs=1, seq_epochs=1, batch_size=16,
                      precision="32-true", accelerator="cpu", val_fraction=0.25)
    figures = train(store, tmp_path / "run", cfg, progress=False)
    assert "ae.val_iou" in figures and "seq.val_loss" in figures
    assert load_model(tmp_path / "run", "ae").recipe == "original"
    assert load_model(tmp_path / "run", "seq").recipe == "original"


def test_original_recipe_needs_200x120(store, tmp_path):
    with pytest.raises(UserError, match="200x120"):
        train(store, tmp_path / "run", TrainConfig(**{**TINY, "recipe": "original"}), progress=False)


@pytest.mark.slow
def test_too_short_clips_for_the_window(tmp_path):
    store = make_store(tmp_path / "s", clips=(6, 6))
    with pytest.raises(UserError, match="too few frames"):
        train(store, tmp_path / "run", TrainConfig(**{**TINY, "window": 8, "ae_epochs": 1}), progress=False)


def test_auto_precision_is_a_lightning_precision():
    expected = "bf16-mixed" if hardware.native_bf16_cpu() else "32-true"
    assert TrainConfig(accelerator="cpu").precision_for() == expected
    assert TrainConfig(precision="32-true").precision_for() == "32-true"


@pytest.mark.slow
def test_ddp_two_cpu_processes(store, tmp_path):
    run = tmp_path / "run"
    cfg = TrainConfig(**{**TINY, "ae_epochs": 1, "devices": 2})
    figures = train(store, run, cfg, stage="ae", progress=False)
    assert (run / "ae.safetensors").is_file() and (run / "checkpoints" / "ae.ckpt").is_file()
    assert figures["ae.val_iou"] <= figures["ae.val_pixel_acc"] and figures["ae.val_pixel_acc"] > 0.5
    load_model(run, "ae")
