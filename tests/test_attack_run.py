"""The run side under attack (issue 16): absurd requests, corrupt run folders, flags Lightning would choke on,
outputs that are inputs, read-only and full disks, signals, and same seed -> same bytes.

Every refusal is checked the same way: exit code 2 (or 130/143 for signals), exactly one line on stderr and
no traceback, and a listing of the folder before and after: nothing lost, nothing left half-made, no temp.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from deepdance.cli import main

TINY_STORE = ["--seconds", "6", "--size", "40x24"]
TINY_TRAIN = ["--represent", "pixels", "--ae-epochs", "1", "--seq-epochs", "1", "--latent", "8", "--window", "3"]


# --- helpers -----------------------------------------------------------------------------------------
def listing(root: Path) -> dict[str, int]:
    """Every file and folder under `root` (hidden ones too) with its size: the disk before and after."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            out[str(p.relative_to(root))] = -1 if p.is_dir() else p.stat().st_size
    return out


def temps(root: Path) -> list[str]:
    """Hidden temporary names (`.NAME.xxxx.tmp`, `.NAME.partial`, `.NAME.old`) anywhere under `root`."""
    return [k for k in listing(root) if any(part.startswith(".") for part in Path(k).parts)]


def refused(capsys, args: list, needle: str = "", *, code: int = 2) -> str:
    """Run the CLI in-process; assert the exit code and exactly one line on stderr without a traceback."""
    got = main([str(a) for a in args])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert got == code, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert needle.lower() in lines[0].lower(), lines[0]
    return lines[0]


def assert_refused_untouched(capsys, root: Path, args: list, needle: str = "") -> str:
    before = listing(root)
    line = refused(capsys, args, needle)
    assert listing(root) == before
    assert not temps(root)
    return line


@contextmanager
def small_disk(path: Path, size: str = "1m", *, readonly: bool = False):
    """A tmpfs mounted at `path` (root only; skipped elsewhere)."""
    path.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                      capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        if readonly:
            subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True, capture_output=True)
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


# --- shared data: one tiny store, one tiny trained run (with music), copied per test ---------------------
@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("attack")
    assert main(["synth", "--out", str(root / "store"), *TINY_STORE, "--no-preview"]) == 0
    assert main(["train", str(root / "store"), "--run", str(root / "run"), *TINY_TRAIN]) == 0
    return root


@pytest.fixture
def work(base, tmp_path) -> Path:
    """A fresh copy of the store and the run (the run's store.json points at the copy)."""
    shutil.copytree(base / "store", tmp_path / "store")
    shutil.copytree(base / "run", tmp_path / "run")
    (tmp_path / "run" / "store.json").write_text(json.dumps({"path": str(tmp_path / "store")}))
    return tmp_path


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


# --- 9: flags Lightning would reject with a traceback ----------------------------------------------------
@pytest.mark.parametrize("flags, needle", [
    (["--devices", "foo"], "devices"), (["--devices", "-5"], "devices"), (["--devices", "0"], "devices"),
    (["--accelerator", "tpu"], "accelerator"), (["--precision", "bogus"], "precision"),
])
def test_bad_hardware_flags(capsys, work, flags, needle):
    assert_refused_untouched(capsys, work, ["train", work / "store", "--run", work / "new", *TINY_TRAIN, *flags], needle)
    assert not (work / "new").exists()


def test_gpu_without_one(capsys, work):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert_refused_untouched(capsys, work, ["train", work / "store", "--run", work / "new", "--accelerator", "gpu"],
                             "no GPU")


# --- 9: an existing file where a folder goes; read-only and full disks ---------------------------------
@pytest.mark.parametrize("command", ["train", "generate", "evaluate", "run"])
def test_output_is_a_file(capsys, work, command):
    blocker = work / "file"
    blocker.write_text("not a folder")
    args = {"train": ["train", work / "store", "--run", blocker, *TINY_TRAIN],
            "generate": ["generate", work / "run", "--frames", "4", "--out", blocker],
            "evaluate": ["evaluate", work / "run", "--frames", "4", "--seeds", "1", "--out", blocker],
            "run": ["run", "--store", work / "store", "--out", blocker, "--force", *TINY_TRAIN]}[command]
    assert_refused_untouched(capsys, work, args, "not a folder")
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("command", ["train", "generate", "evaluate"])
def test_read_only_output(capsys, work, command):
    with small_disk(work / "ro", readonly=True) as ro:
        args = {"train": ["train", work / "store", "--run", ro / "run", *TINY_TRAIN],
                "generate": ["generate", work / "run", "--frames", "4", "--out", ro / "dance"],
                "evaluate": ["evaluate", work / "run", "--frames", "4", "--seeds", "1", "--out", ro / "eval"]}[command]
        before = listing(work / "run")
        refused(capsys, args, "cannot")
        assert listing(work / "run") == before and not temps(work)


def test_full_disk_during_generate(capsys, work):
    with small_disk(work / "full", "256k") as full:
        try:  # fill it to the last byte
            with open(full / "filler", "wb") as fh:
                while True:
                    fh.write(b"\0" * 4096)
                    fh.flush()
        except OSError as e:
            assert e.errno == errno.ENOSPC
        before = listing(work)
        refused(capsys, ["generate", work / "run", "--frames", "40", "--out", full / "dance"], "no space left")
        after = listing(work)
        assert not temps(work)
        assert {k for k in after if k not in before} <= {"full/dance"}  # at most the empty output folder
        assert not list((full / "dance").glob("*")) if (full / "dance").exists() else True


def test_malicious_checkpoint_on_resume(capsys, work, tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    ckpt = work / "run" / "checkpoints" / "ae.ckpt"
    ckpt.write_bytes(pickle.dumps({"state_dict": Payload()}))
    before, planted = listing(work), ckpt.read_bytes()
    refused(capsys, ["train", work / "store", "--run", work / "run", "--stage", "ae", "--resume",
                     "--ae-epochs", "2", "--latent", "8", "--window", "3"], "refused")
    assert not marker.exists()
    assert set(listing(work)) == set(before) and not temps(work)  # (config.json records the new settings)
    assert ckpt.read_bytes() == planted


# --- 10: corrupt run folders ----------------------------------------------------------------------
@pytest.mark.parametrize("field, value", [("fold", 0), ("latent", 1e9), ("latent", 10**9), ("channels", [10**6])])
def test_corrupt_ae_json(capsys, work, field, value):
    edit_json(work / "run" / "ae.json", lambda d: d["model"].__setitem__(field, value))
    line = assert_refused_untouched(capsys, work, ["generate", work / "run", "--frames", "4", "--out", work / "g"], field)
    assert "ae.json" in line


def test_latents_of_the_wrong_shape(capsys, work):
    run = work / "run"
    latents = np.load(run / "latents.npy")
    np.save(run / "latents.npy", np.zeros((len(latents), 5), np.float32))
    line = assert_refused_untouched(capsys, work, ["generate", run, "--frames", "4", "--out", work / "g"], "latent")
    assert "latents" in line
    edit_json(run / "latents.json", lambda d: d.__setitem__("latent", 5))  # consistent with the array, not the models
    line = assert_refused_untouched(capsys, work, ["generate", run, "--frames", "4", "--out", work / "g"], "latent")
    assert "latents.json" in line


def test_latents_json_without_clips(capsys, work):
    edit_json(work / "run" / "latents.json", lambda d: d.pop("clips"))
    line = assert_refused_untouched(capsys, work, ["generate", work / "run", "--frames", "4", "--out", work / "g"],
                                    "clips")
    assert "latents.json" in line


def test_music_null_in_a_music_run(capsys, work):
    assert json.loads((work / "run" / "seq.json").read_text())["music"] is not None  # it is a music run
    edit_json(work / "run" / "seq.json", lambda d: d.__setitem__("music", None))
    line = assert_refused_untouched(capsys, work, ["generate", work / "run", "--frames", "4", "--out", work / "g"],
                                    "music")
    assert "seq.json" in line


@pytest.mark.parametrize("content", ["{}", "[1]", '{"path": 5}', '{"path": ""}'])
def test_corrupt_store_json(capsys, work, content):
    (work / "run" / "store.json").write_text(content)
    line = assert_refused_untouched(capsys, work, ["evaluate", work / "run", "--frames", "4", "--seeds", "1"], "path")
    assert "store.json" in line


@pytest.mark.parametrize("flags, needle", [
    (["--temperature", "nan"], "temperature"), (["--temperature", "inf"], "temperature"),
    (["--start", "-1"], "start"),
])
def test_bad_generation_settings(capsys, work, flags, needle):
    assert_refused_untouched(capsys, work, ["generate", work / "run", "--frames", "4", "--out", work / "g", *flags],
                             needle)


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_bad_evaluation_temperature(capsys, work, value):
    assert_refused_untouched(capsys, work, ["evaluate", work / "run", "--frames", "4", "--seeds", "1",
                                            "--temperature", value], "temperature")


# --- 7: absurd requests, refused up front with the limit and the estimate -------------------------------
@pytest.mark.parametrize("flags, needle", [
    (["--interpolate", "1000000", "--frames", "3"], "limit"),
    (["--interpolate", "100", "--frames", "100000"], "limit"),
    (["--frames", "100000000"], "limit"),
    (["--seconds", "1e308"], "limit"), (["--seconds", "inf"], "finite"), (["--seconds", "nan"], "positive"),
])
def test_absurd_generation(capsys, work, flags, needle):
    started = time.perf_counter()
    assert_refused_untouched(capsys, work, ["generate", work / "run", "--out", work / "g", *flags], needle)
    assert time.perf_counter() - started < 30


@pytest.mark.parametrize("flags, needle", [
    (["--latent", "100000000"], "limit"), (["--window", "1000000"], "limit"),
])
def test_absurd_training(capsys, work, flags, needle):
    args = ["train", work / "store", "--run", work / "new", "--ae-epochs", "1", "--seq-epochs", "1", *flags]
    assert_refused_untouched(capsys, work, args, needle)


@pytest.mark.parametrize("flags", [["--seconds", "inf"], ["--seconds", "1e308"], ["--frames", "100000000"]])
def test_absurd_run(capsys, work, flags):
    assert_refused_untouched(capsys, work, ["run", "--out", work / "r", *flags], "limit" if "1" in flags[1] else "")


# --- 8: validate before the expensive part ------------------------------------------------------------
@pytest.mark.parametrize("music", ["off", "on"])
def test_too_few_frames_refused_before_the_autoencoder(capsys, work, monkeypatch, music):
    import deepdance.train as T

    def never(*a, **k):
        raise AssertionError("the autoencoder started training")

    monkeypatch.setattr(T, "train_autoencoder", never)
    line = assert_refused_untouched(capsys, work, ["train", work / "store", "--run", work / "new", "--window", "100",
                                                   "--music-input", music, *TINY_TRAIN[:4]], "too few")
    assert ("beat steps" in line) == (music == "on")
    assert not (work / "new").exists()


def test_window_that_fits_still_trains(work):
    """The up-front check never refuses what would have trained (both for frames and for beat steps)."""
    for music in ("off", "on"):
        out = work / f"fits-{music}"
        assert main(["train", str(work / "store"), "--run", str(out), "--window", "8", "--music-input", music,
                     *TINY_TRAIN[:6]]) == 0
        assert (out / "seq.safetensors").is_file()


def test_run_evaluate_frames_refused_before_any_work(capsys, tmp_path):
    started = time.perf_counter()
    assert_refused_untouched(capsys, tmp_path, ["run", "--out", tmp_path / "r", "--evaluate-frames", "1",
                                                *TINY_STORE, *TINY_TRAIN], "2 frames")
    assert time.perf_counter() - started < 10


# --- 1: an output that is, contains or lies inside an input -------------------------------------------
def test_run_out_is_the_store(capsys, work):
    store = work / "store"
    assert_refused_untouched(capsys, work, ["run", "--store", store, "--out", store, "--force", *TINY_TRAIN], "input")
    assert_refused_untouched(capsys, work, ["run", "--store", store, "--out", store / "inner", *TINY_TRAIN], "inside")
    assert_refused_untouched(capsys, work, ["run", "--store", store, "--out", work, "--force", *TINY_TRAIN], "contains")
    (work / "link").symlink_to(store)
    assert_refused_untouched(capsys, work, ["run", "--store", work / "link", "--out", store, "--force", *TINY_TRAIN],
                             "input")


def test_train_run_is_the_store(capsys, work):
    assert_refused_untouched(capsys, work, ["train", work / "store", "--run", work / "store", *TINY_TRAIN], "input")
    assert_refused_untouched(capsys, work, ["train", work / "store", "--run", work / "store" / "r", *TINY_TRAIN],
                             "inside")


# --- 5: a resumed run reaches the weights of the run that went straight through ----------------------
def test_resume_replays_the_interrupted_epochs(work, monkeypatch):
    from safetensors.numpy import load_file

    from lightning.pytorch.callbacks import ModelCheckpoint

    from deepdance.errors import Interrupted

    args = ["train", str(work / "store"), "--run", None, "--represent", "pixels", "--ae-epochs", "2", "--seq-epochs",
            "2", "--latent", "8", "--window", "3", "--music-input", "off"]
    straight, resumed = work / "straight", work / "resumed"
    assert main([a or str(straight) for a in args]) == 0

    original = ModelCheckpoint.on_train_epoch_end

    def stop_after_first_epoch(self, trainer, pl_module):  # as a SIGTERM early in the second epoch would
        original(self, trainer, pl_module)
        if self.filename == "ae" and trainer.current_epoch == 0:
            raise Interrupted(signal.SIGTERM)

    monkeypatch.setattr(ModelCheckpoint, "on_train_epoch_end", stop_after_first_epoch)
    assert main([a or str(resumed) for a in args]) == 143
    assert (resumed / "checkpoints" / "ae.ckpt").is_file() and not (resumed / "ae.safetensors").exists()
    monkeypatch.setattr(ModelCheckpoint, "on_train_epoch_end", original)
    assert main([a or str(resumed) for a in args] + ["--resume"]) == 0
    for name in ("ae", "seq"):
        a, b = load_file(str(straight / f"{name}.safetensors")), load_file(str(resumed / f"{name}.safetensors"))
        assert a.keys() == b.keys()
        for key in a:
            assert np.array_equal(a[key], b[key]), f"{name}: {key}"
    assert np.array_equal(np.load(straight / "latents.npy"), np.load(resumed / "latents.npy"))


# --- 4: signals (a real process, a real signal) -----------------------------------------------------------
def _spawn(args: list, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "deepdance", *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 400) -> None:
    deadline = time.time() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.2)


def _signal_case(tmp_path: Path, command: str, sig: int):
    store = tmp_path / "store"
    assert main(["synth", "--out", str(store), *TINY_STORE, "--no-preview"]) == 0
    before = listing(tmp_path)
    out = tmp_path / "out"
    slow = ["--represent", "pixels", "--ae-epochs", "200", "--seq-epochs", "1", "--latent", "8", "--window", "3",
            "--music-input", "off"]
    args = ["train", store, "--run", out, *slow] if command == "train" else \
        ["run", "--store", store, "--out", out, *slow, "--evaluate-frames", "0"]
    proc = _spawn(args, tmp_path)
    # training is under way once the first epoch is checkpointed (train writes straight into the run folder;
    # run builds it under a temporary name)
    if command == "train":
        _wait_for(out / "checkpoints" / "ae.ckpt", proc)
    else:
        deadline = time.time() + 400
        while not list(tmp_path.glob(".out.*/checkpoints/ae.ckpt")):
            assert proc.poll() is None and time.time() < deadline, proc.communicate()
            time.sleep(0.2)
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"{command} went on training after {signal.Signals(sig).name}")
    return proc.returncode, err, before, out


@pytest.mark.slow
@pytest.mark.parametrize("command", ["train", "run"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_training(tmp_path, command, sig):
    code, err, before, out = _signal_case(tmp_path, command, sig)
    # stderr also carries the progress bars and Lightning's notes; the error itself is one line, the last
    lines = [line for line in err.strip().splitlines() if line.startswith("deepdance:")]
    assert code == 128 + sig, err
    assert len(lines) == 1 and "Traceback" not in err and err.strip().endswith(lines[0]), err
    assert signal.Signals(sig).name in lines[0], err
    assert not [k for k in listing(tmp_path) if Path(k).name.startswith(".")], listing(tmp_path)
    if command == "run":
        assert listing(tmp_path) == before  # no run folder, no temp
    else:  # train keeps what --resume continues from, and says so
        assert "--resume" in lines[0]
        assert (out / "checkpoints" / "ae.ckpt").is_file() and not (out / "ae.safetensors").exists()


# --- 5: same seed, same bytes, even with the machine under load -------------------------------------------
RUN_FILES = ("ae.safetensors", "seq.safetensors", "latents.npy", "dance.mp4")


@pytest.mark.slow
def test_same_seed_same_bytes_under_load(tmp_path):
    args = ["run", "--represent", "pixels", "--seconds", "10", "--ae-epochs", "2", "--seq-epochs", "2",
            "--evaluate-frames", "0", "--frames", "24", "--size", "40x24", "--seed", "3"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0   # here, quietly; then a new process under load
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        loaded = subprocess.run([sys.executable, "-m", "deepdance", *args, "--out", "b"], cwd=tmp_path,
                                capture_output=True, text=True, timeout=1800)
    finally:
        for p in burners:
            p.kill()
            p.wait()
    assert loaded.returncode == 0, loaded.stderr
    for name in RUN_FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    precision = [json.loads((tmp_path / r / "metrics.json").read_text())["ae"]["precision"] for r in "ab"]
    assert precision[0] == precision[1]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_ddp_children_do_not_survive_the_parent(tmp_path, sig):
    store = tmp_path / "store"
    assert main(["synth", "--out", str(store), *TINY_STORE, "--no-preview"]) == 0
    proc = _spawn(["train", store, "--run", tmp_path / "out", "--represent", "pixels", "--devices", "2",
                   "--accelerator", "cpu", "--ae-epochs", "5000", "--seq-epochs", "1", "--latent", "8", "--window", "3",
                   "--music-input", "off"], tmp_path)
    deadline = time.time() + 600
    while len(_session(proc.pid)) < 3:  # the parent and its two spawned trainers
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.5)
    time.sleep(5)  # well into training (5000 epochs ahead)
    proc.send_signal(sig)  # to the parent only, as `kill` does (Ctrl-C would reach the whole group)
    try:
        _, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the parent did not stop")
    assert proc.returncode == 128 + sig, err
    time.sleep(2)
    left = _session(proc.pid)
    if left:
        os.killpg(proc.pid, signal.SIGKILL)
    assert not left, left


def _session(sid: int) -> list[str]:
    """The processes of a session (the command was started as the leader of a new one)."""
    out = subprocess.run(["ps", "-o", "pid=,args=", "-s", str(sid)], capture_output=True, text=True).stdout
    return [line for line in out.strip().splitlines() if line.strip()]
