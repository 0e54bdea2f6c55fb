"""Issue 16, probed as an attacker and a careless user would: every case gives exit code 2 and one line
(no traceback), and a listing of the disk before and after shows nothing lost and no temporary left.

The cases that need the real command run `python -m deepdance` in a subprocess (marked slow: a second or
two each); the rest call the functions. Numbers in the test names are the items of issue 16.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from deepdance import limits
from deepdance.errors import UserError
from deepdance.files import (FolderOutput, atomic_path, check_not_overlapping, clean_leftovers, inside, new_folder,
                             write_json)
from deepdance.store import FrameStore, StoreWriter

from conftest import blob_frames

TINY = ["--seconds", "2", "--size", "40x24", "--no-preview"]
CHATTER = re.compile(r"\d+/\d+ \[|: cut '")


# --- helpers ------------------------------------------------------------------------------------------------
def cli(*args, cwd=None, **popen) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deepdance", *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=cwd, **popen)


def listing(folder: Path) -> dict[str, str]:
    """Every file and folder below `folder` (hidden ones too): relative path -> content hash (or 'dir')."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(root) / name
            rel = str(p.relative_to(folder))
            out[rel] = "dir" if p.is_dir() and not p.is_symlink() else \
                hashlib.sha1(p.read_bytes() if not p.is_symlink() else os.readlink(p).encode()).hexdigest()
    return out


def one_line_error(result: subprocess.CompletedProcess, needle: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr
    # what a command says while it works (progress bars, ingest's choice of cut) may come before the error
    lines = [line for line in result.stderr.strip().splitlines() if line.strip() and not CHATTER.search(line)]
    assert len(lines) == 1, result.stderr
    assert needle in lines[0], lines[0]
    return lines[0]


def attack(folder: Path, needle: str, *args, cwd=None) -> str:
    """Run the command; it must fail with one line holding `needle` and leave `folder` exactly as it was."""
    before = listing(folder)
    line = one_line_error(cli(*args, cwd=cwd), needle)
    assert listing(folder) == before
    return line


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.fixture(scope="module")
def made_store(tmp_path_factory) -> Path:
    """A tiny valid store with music (built once; tests work on copies)."""
    from deepdance.synth import SynthConfig, synthesize

    path = tmp_path_factory.mktemp("made") / "store"
    synthesize(path, cfg=SynthConfig(seconds=2, width=40, height=24, preview=False), progress=False)
    return path


@pytest.fixture
def store(made_store, tmp_path) -> Path:
    path = tmp_path / "store"
    shutil.copytree(made_store, path)
    return path


@pytest.fixture
def images(tmp_path) -> Path:
    import cv2

    folder = tmp_path / "images"
    folder.mkdir()
    for i, frame in enumerate(blob_frames(6)):
        cv2.imwrite(str(folder / f"frame{i}.png"), frame)
    return folder


def set_manifest(store: Path, **changes) -> None:
    m = json.loads((store / "manifest.json").read_text())
    m.update(changes)
    (store / "manifest.json").write_text(json.dumps(m))


# --- 1. an output that is, contains or lies inside an input -----------------------------------------------------
def test_1_overlap_check(tmp_path):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (tmp_path / "link").symlink_to(data)
    for out, how in ((data, " is "), (data / "sub" / "store", "lies inside"), (tmp_path, "contains"),
                     (tmp_path / "link", " is "), (tmp_path / "link" / "x", "lies inside")):
        with pytest.raises(UserError, match=how):
            check_not_overlapping(out, [tmp_path / "elsewhere", data])
    check_not_overlapping(tmp_path / "data2", [data, None])  # a sibling with a common prefix is apart


@pytest.mark.slow
@pytest.mark.parametrize("out", ["images", "images/store", ".", "link"])
def test_1_ingest_force_onto_its_input_keeps_the_images(images, tmp_path, out):
    (tmp_path / "link").symlink_to(images)
    attack(tmp_path, "the input", "ingest", images, "--out", tmp_path / out, "--force", cwd=tmp_path)


@pytest.mark.slow
def test_1_synth_force_onto_its_motion_file(store, tmp_path):
    (store / "dance.bvh").write_text("HIERARCHY\n")
    attack(tmp_path, "contains the input", "synth", "--motion", store / "dance.bvh", "--out", store, "--force", *TINY)


# --- 3. two processes, one output -------------------------------------------------------------------------------
def test_3_second_writer_is_told_the_output_is_in_use(tmp_path):
    first = FolderOutput(tmp_path / "s")
    with pytest.raises(UserError, match=rf"s is in use by another deepdance process \(pid {os.getpid()}\)"):
        StoreWriter(tmp_path / "s", width=8, height=8, fps=12)
    assert first.tmp.name.startswith(f".s.{os.getpid()}.") and first.tmp.name.endswith(".tmp")
    first.abort()
    with StoreWriter(tmp_path / "s", width=8, height=8, fps=12) as w:  # free again
        w.append(np.zeros((2, 8, 8), np.uint8))
    assert sorted(os.listdir(tmp_path)) == ["s"]  # no temporary, no lock file


@pytest.mark.slow
def test_3_4_concurrent_synth_then_kill_then_rerun(tmp_path):
    """A long synth holds `s`; a second one is refused in one line; SIGKILL leaves a temporary behind (the
    kernel gives no chance to clean up); the next synth of `s` removes it and succeeds."""
    args = ["synth", "--out", tmp_path / "s", "--seconds", "1200", "--size", "40x24", "--no-preview"]
    first = subprocess.Popen([sys.executable, "-m", "deepdance", *map(str, args)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not any(n.endswith(".tmp") for n in os.listdir(tmp_path)):
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        one_line_error(cli(*args), f"is in use by another deepdance process (pid {first.pid})")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    left = [n for n in os.listdir(tmp_path) if n.startswith(f".s.{first.pid}.")]
    assert left, os.listdir(tmp_path)
    result = cli("synth", "--out", tmp_path / "s", *TINY)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path)) == ["s"]
    assert len(FrameStore.open(tmp_path / "s")) == 24


# --- 4. leftovers of killed runs ---------------------------------------------------------------------------------
def test_4_stale_temporaries_are_removed_next_time(tmp_path):
    dead = dead_pid()
    stale = tmp_path / f".s.{dead}.k2j_x9.tmp"
    (stale / "sub").mkdir(parents=True)
    (stale / "frames.bin").write_bytes(b"x" * 1000)
    live = tmp_path / f".s.{os.getpid()}.abc.tmp"  # a process still running: kept
    live.mkdir()
    other = tmp_path / f".t.{dead}.abc.tmp"  # another output's: not ours to judge
    other.mkdir()
    with new_folder(tmp_path / "s") as tmp:
        (tmp / "a").write_text("a")
    assert sorted(os.listdir(tmp_path)) == sorted(["s", live.name, other.name])
    # files: .NAME.<pid>.<random>.tmp.SUFFIX
    stale_file = tmp_path / f".m.json.{dead}.q1.tmp.json"
    stale_file.write_text("{")
    write_json(tmp_path / "m.json", {"a": 1})
    assert not stale_file.exists() and json.loads((tmp_path / "m.json").read_text()) == {"a": 1}


def test_4_a_set_aside_folder_is_put_back(tmp_path, capsys):
    """Killed between the two renames of a --force swap: the old result waits under .NAME.<pid>.<random>.old."""
    old = tmp_path / f".s.{dead_pid()}.zz.old"
    old.mkdir()
    (old / "manifest.json").write_text("{}")
    with pytest.raises(UserError, match="already exists"):
        StoreWriter(tmp_path / "s", width=8, height=8, fps=12)
    assert (tmp_path / "s" / "manifest.json").read_text() == "{}" and not old.exists()
    assert "put back" in capsys.readouterr().err


def test_4_legacy_leftovers_are_reported(tmp_path, capsys):
    (tmp_path / ".s.partial").mkdir()
    clean_leftovers(tmp_path / "s")
    assert ".s.partial" in capsys.readouterr().err and (tmp_path / ".s.partial").exists()


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit, RuntimeError])
def test_4_an_interrupted_writer_removes_its_temporary(tmp_path, stop):
    """What a signal handler raises (KeyboardInterrupt, SystemExit) cleans up as an error does."""
    with pytest.raises(stop):
        with StoreWriter(tmp_path / "s", width=8, height=8, fps=12) as w:
            w.append(np.zeros((2, 8, 8), np.uint8))
            raise stop()
    with pytest.raises(stop):
        with new_folder(tmp_path / "r") as tmp:
            with atomic_path(tmp / "x.json") as t:
                t.write_text("{")
                raise stop()
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_4_sigterm_mid_synth_cleans_up_and_exits_143(tmp_path):
    p = subprocess.Popen([sys.executable, "-m", "deepdance", "synth", "--out", str(tmp_path / "s"),
                          "--seconds", "120", "--size", "40x24"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(n.endswith(".tmp") for n in os.listdir(tmp_path)):
        assert p.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 143 and len(err.strip().splitlines()) == 1
    assert os.listdir(tmp_path) == []


# --- 6. a store's files stay inside the store --------------------------------------------------------------------
@pytest.mark.parametrize("audio", ["/etc/passwd", "../secret.wav", "a/../../secret.wav", "link.wav", 5, ""])
def test_6_manifest_audio_outside_the_store_is_refused(store, tmp_path, audio):
    (tmp_path / "secret.wav").write_bytes((store / "music.wav").read_bytes())
    (store / "link.wav").symlink_to(tmp_path / "secret.wav")
    set_manifest(store, audio=audio)
    with pytest.raises(UserError, match=r"manifest.json field 'audio'") as e:
        FrameStore.open(store)
    assert "\n" not in str(e.value)


def test_6_inside(tmp_path):
    (tmp_path / "sub").mkdir()
    assert inside(tmp_path, "sub/a.wav", where="x") == tmp_path / "sub" / "a.wav"
    (tmp_path / "sub" / "up").symlink_to(tmp_path)  # a link that stays inside is fine
    assert inside(tmp_path, "sub/up/a.wav", where="x")
    for bad in ("/etc/passwd", "..", "sub/../../x", None, ["a"]):
        with pytest.raises(UserError, match="store.json field 'path'"):
            inside(tmp_path, bad, where="store.json field 'path'")


@pytest.mark.slow
def test_6_run_refuses_a_store_whose_audio_is_elsewhere(store, tmp_path):
    set_manifest(store, audio="/etc/passwd")
    attack(tmp_path, "field 'audio'", "run", "--store", store, "--out", tmp_path / "r")


# --- 10. corrupt manifests ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("changes, field", [
    ({"clips": [[0, 999]]}, "clips"),
    ({"clips": [[3, 3]]}, "clips"),
    ({"clips": [[-4, 2]]}, "clips"),
    ({"clips": "all"}, "clips"),
    ({"clips": [[0, 10], [5, 24]]}, "clips"),
    ({"clips": [[0, 1.5]]}, "clips"),
    ({"fps": 0}, "fps"),
    ({"fps": float("nan")}, "fps"),
    ({"fps": "12"}, "fps"),
    ({"fps": -12}, "fps"),
    ({"width": -40, "frames": -24}, "width"),
    ({"width": 40.0}, "width"),
    ({"height": True}, "height"),
    ({"frames": "24"}, "frames"),
    ({"packed": "no"}, "packed"),
    ({"extra": []}, "extra"),
    ({"colour": "red"}, "colour"),
])
def test_10_corrupt_manifest_names_file_and_field(store, changes, field):
    set_manifest(store, **changes)
    with pytest.raises(UserError, match=rf"manifest.json: (unknown )?field '{field}'"):
        FrameStore.open(store)


def test_10_manifest_that_is_not_an_object(store):
    (store / "manifest.json").write_text("[1, 2]")
    with pytest.raises(UserError, match="manifest.json: expected a JSON object, got list"):
        FrameStore.open(store)


@pytest.mark.slow
def test_10_run_on_a_corrupt_manifest(store, tmp_path):
    set_manifest(store, fps=float("nan"))
    attack(tmp_path, "field 'fps'", "run", "--store", store, "--out", tmp_path / "r")


def _truncated_mkv(path: Path, keep: float) -> None:
    """A Matroska file cut short, as a partial download: it decodes without an error, to where it stops."""
    from fractions import Fraction

    import av

    frames = np.repeat(blob_frames(36, 48, 80)[..., None], 3, axis=3)
    whole = path.with_name("whole.mkv")
    with av.open(str(whole), "w", format="matroska") as out:
        vs = out.add_stream("libx264", rate=12)
        vs.width, vs.height, vs.pix_fmt = 80, 48, "yuv420p"
        vs.codec_context.gop_size = 1  # every frame a key frame: the part before the cut decodes
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts, vf.time_base = i, Fraction(1, 12)
            for p in vs.encode(vf):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
    data = whole.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


@pytest.mark.slow
def test_10_truncated_video_is_said(tmp_path, capsys):
    from deepdance.ingest import IngestConfig, ingest

    _truncated_mkv(tmp_path / "cut.mkv", 0.5)
    store = ingest([tmp_path / "cut.mkv"], tmp_path / "s", cfg=IngestConfig(fps=12, cut="threshold"), progress=False)
    assert "looks truncated: it declares 36 frames" in capsys.readouterr().err
    assert len(store) < 30 and any("looks truncated" in n for n in store.manifest.extra["notes"])
    assert store.manifest.source["inputs"][0]["truncated"] is True
    _truncated_mkv(tmp_path / "whole-copy.mkv", 1.0)
    store = ingest([tmp_path / "whole-copy.mkv"], tmp_path / "w", cfg=IngestConfig(fps=12, cut="threshold"),
                   progress=False)
    assert len(store) == 36 and not any("truncated" in n for n in store.manifest.extra.get("notes", []))


@pytest.mark.slow
@pytest.mark.parametrize("args, needle", [
    (["ingest", "{images}", "--out", "{tmp}/s", "--fps", "1e-300"], "ingest fps must be between 0.1 and 1000"),
    (["ingest", "{images}", "--out", "{tmp}/s", "--fps", "inf"], "ingest fps must be between 0.1 and 1000"),
    (["synth", "--out", "{tmp}/s", "--view", "99", *TINY], "give --motion FILE"),
    (["synth", "--out", "{tmp}/s", "--motion-fps", "30", *TINY], "give --motion FILE"),
])
def test_10_refused_flags(images, tmp_path, args, needle):
    attack(tmp_path, needle, *[a.format(images=images, tmp=tmp_path) for a in args])


# --- 9. one line, not a traceback --------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("crop", ["0,0,1,1", "0,0,3,3", "0,0,8,40"])
def test_9_tiny_crop(images, tmp_path, crop):
    attack(tmp_path, "too small", "ingest", images, "--out", tmp_path / "s", "--crop", crop)


@pytest.mark.slow
@pytest.mark.parametrize("force", [[], ["--force"]])
@pytest.mark.parametrize("command", ["synth", "ingest"])
def test_9_existing_file_as_out(images, tmp_path, command, force):
    (tmp_path / "notes.txt").write_text("mine")
    args = TINY if command == "synth" else [images]
    attack(tmp_path, "is a file, not a folder", command, *args, "--out", tmp_path / "notes.txt", *force)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["synth", "ingest"])
def test_9_not_a_store_with_force(images, tmp_path, command):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.tex").write_text("years of work")
    args = TINY if command == "synth" else [images]
    attack(tmp_path, "without manifest.json", command, *args, "--out", tmp_path / "docs", "--force")


@pytest.fixture
def small_disk(tmp_path):
    """A 300 KiB tmpfs (needs root and mount); skipped where it cannot be made."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["synth-music", "synth-frames", "ingest"])
def test_9_full_disk(small_disk, images, command):
    (small_disk / "keep.txt").write_text("mine")
    args = {"synth-music": ["synth", "--seconds", "20", "--size", "40x24"],  # the music alone does not fit
            "synth-frames": ["synth", "--seconds", "4", "--size", "400x240", "--no-preview"],
            "ingest": ["ingest", images, "--size", "800x480"]}[command]
    attack(small_disk, "no space left on the disk", *args, "--out", small_disk / "s")


def test_9_disk_errors_become_one_line(tmp_path):
    for code, needle in ((errno.ENOSPC, "no space left"), (errno.EROFS, "cannot write")):
        with pytest.raises(UserError, match=needle):
            with StoreWriter(tmp_path / "s", width=8, height=8, fps=12):
                raise OSError(code, os.strerror(code), str(tmp_path / "s" / "frames.bin"))
        with pytest.raises(UserError, match=needle):
            with new_folder(tmp_path / "r") as tmp:
                with atomic_path(tmp / "x.json"):
                    raise OSError(code, os.strerror(code))
    with pytest.raises(OSError, match="unrelated"):  # other errors stay what they are
        with new_folder(tmp_path / "r"):
            raise OSError(errno.ENOENT, "unrelated")
    assert os.listdir(tmp_path) == []


# --- 7. absurd sizes, refused up front ---------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("seconds, needle", [
    ("1e20", "the length would be 1e+20 s, over the limit of 21600 s"),
    ("1e308", "the length would be 1e+308 s, over the limit of 21600 s"),
    ("inf", "the length would be inf s, over the limit of 21600 s"),
])
def test_7_synth_seconds_over_the_limit(tmp_path, seconds, needle):
    start = time.monotonic()
    attack(tmp_path, needle, "synth", "--out", tmp_path / "s", "--seconds", seconds)
    assert time.monotonic() - start < 30


def test_7_a_picture_too_large_is_refused_before_it_is_decoded(tmp_path):
    import av

    from deepdance.ingest import IngestConfig, ingest

    with av.open(str(tmp_path / "wide.mp4"), "w") as c:   # 16384 pixels wide, 64 high: small to make
        vs = c.add_stream("libx264", rate=12)
        vs.width, vs.height, vs.pix_fmt = 16384, 64, "yuv420p"
        c.mux(vs.encode(av.VideoFrame.from_ndarray(np.full((64, 16384, 3), 200, np.uint8), format="rgb24")))
        c.mux(vs.encode())
    with pytest.raises(UserError, match="wide.mp4: the picture's width must be between 8 and 8192, got 16384"):
        ingest([tmp_path / "wide.mp4"], tmp_path / "s", cfg=IngestConfig(fps=12), progress=False)
    assert not (tmp_path / "s").exists()


def test_7_limits_name_the_estimate():
    from deepdance.synth import SynthConfig

    with pytest.raises(UserError, match=r"18000 s at 1000 fps would be 1.8e\+07 frames, over the limit of 1e\+06"):
        SynthConfig(seconds=18000, fps=1000)
    with pytest.raises(UserError, match=r"frames of 67108864 bytes would be 2.64 TiB, over the limit of 64 GiB"):
        SynthConfig(seconds=3600, width=8192, height=8192)
    assert limits.MAX_SECONDS == 6 * 3600
