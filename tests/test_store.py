import json
import multiprocessing as mp

import numpy as np
import pytest

from deepdance.errors import UserError
from deepdance.store import FrameStore, StoreWriter

from conftest import blob_frames


@pytest.mark.parametrize("packed", [False, True])
def test_round_trip_in_chunks(tmp_path, packed):
    frames = blob_frames(25)
    with StoreWriter(tmp_path / "s", width=80, height=48, fps=12, packed=packed,
                     source={"kind": "test"}) as w:
        for chunk in (frames[:7], frames[7:20], frames[20:]):
            w.append(chunk)
    store = FrameStore.open(tmp_path / "s")
    assert len(store) == 25 and (store.width, store.height, store.fps) == (80, 48, 12)
    back = store.frames()
    if packed:  # bits keep the shape, not the grey anti-aliased edge
        assert np.array_equal(back < 128, frames < 128)
    else:
        assert np.array_equal(back, frames)
    assert np.array_equal(store.frames(5, 9), back[5:9])
    assert np.array_equal(store[3:20:4], back[3:20:4])
    assert np.array_equal(store.take([24, 0, 3]), back[[24, 0, 3]])
    ink = store.ink([0])
    assert ink.dtype == np.float32 and np.allclose(ink, 1 - back[:1] / 255.0)  # 1 = dancer


def test_packed_is_eight_times_smaller(tmp_path):
    frames = blob_frames(16)
    for name, packed in (("u8", False), ("bits", True)):
        with StoreWriter(tmp_path / name, width=80, height=48, fps=12, packed=packed) as w:
            w.append(frames)
    assert (tmp_path / "u8" / "frames.bin").stat().st_size == 8 * (tmp_path / "bits" / "frames.bin").stat().st_size


def test_clips_are_recorded(tmp_path):
    frames = blob_frames(10)
    with StoreWriter(tmp_path / "s", width=80, height=48, fps=12) as w:
        w.append(frames[:4])
        w.end_clip()
        w.append(frames[4:])
    assert FrameStore.open(tmp_path / "s").clips == [(0, 4), (4, 10)]


def test_truncated_store_is_a_clear_error(tmp_path):
    with StoreWriter(tmp_path / "s", width=80, height=48, fps=12) as w:
        w.append(blob_frames(5))
    data = tmp_path / "s" / "frames.bin"
    data.write_bytes(data.read_bytes()[:-100])
    with pytest.raises(UserError, match="truncated"):
        FrameStore.open(tmp_path / "s")


def test_manifest_mismatch_and_missing(tmp_path):
    with pytest.raises(UserError, match="no frame store"):
        FrameStore.open(tmp_path / "nothing")
    with StoreWriter(tmp_path / "s", width=80, height=48, fps=12) as w:
        w.append(blob_frames(5))
    m = json.loads((tmp_path / "s" / "manifest.json").read_text())
    m["width"] = 81
    (tmp_path / "s" / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(UserError, match="manifest says"):
        FrameStore.open(tmp_path / "s")
    (tmp_path / "s" / "manifest.json").write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        FrameStore.open(tmp_path / "s")


def test_failed_write_leaves_old_store_intact(tmp_path):
    with StoreWriter(tmp_path / "s", width=80, height=48, fps=12) as w:
        w.append(blob_frames(5))
    with pytest.raises(UserError, match="already exists"):
        StoreWriter(tmp_path / "s", width=80, height=48, fps=12)
    with pytest.raises(RuntimeError):
        with StoreWriter(tmp_path / "s", width=80, height=48, fps=12, force=True) as w:
            w.append(blob_frames(3))
            raise RuntimeError("interrupted")
    assert len(FrameStore.open(tmp_path / "s")) == 5
    assert [p.name for p in tmp_path.iterdir()] == ["s"]


def _sum_in_child(path, q):
    store = FrameStore.open(path)
    q.put(int(store.frames(0, len(store)).astype(np.int64).sum()))


def test_many_processes_read_one_store(tmp_path):
    frames = blob_frames(30)
    with StoreWriter(tmp_path / "s", width=80, height=48, fps=12) as w:
        w.append(frames)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_sum_in_child, args=(tmp_path / "s", q)) for _ in range(3)]
    for p in procs:
        p.start()
    results = [q.get(timeout=60) for _ in procs]
    for p in procs:
        p.join()
    assert results == [int(frames.astype(np.int64).sum())] * 3


def test_poses_are_kept_beside_their_frames(tmp_path):
    names = ("a", "b")
    poses = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)
    poses[1, 0, :2] = np.nan  # an unknown joint stays unknown
    with StoreWriter(tmp_path / "s", width=8, height=8, fps=12) as w:
        w.append(np.full((3, 8, 8), 255, np.uint8), poses=poses[:3], poses3d=-poses[:3], joints=names)
        w.append(np.full((2, 8, 8), 255, np.uint8), poses=poses[3:], poses3d=-poses[3:], joints=names)
    store = FrameStore.open(tmp_path / "s")
    assert store.manifest.joints == list(names) and store.manifest.poses3d
    got = store.poses(1, 4)
    assert np.isnan(got[0, 0, :2]).all() and np.array_equal(got[1:], poses[2:4])
    assert np.array_equal(store.poses(three_d=True)[4], -poses[4])
    # a store without poses says so; a half-posed store is refused while it is written
    with StoreWriter(tmp_path / "plain", width=8, height=8, fps=12) as w:
        w.append(np.full((2, 8, 8), 255, np.uint8))
    assert FrameStore.open(tmp_path / "plain").poses() is None
    with pytest.raises(ValueError, match="same kind of poses"):
        with StoreWriter(tmp_path / "half", width=8, height=8, fps=12) as w:
            w.append(np.full((2, 8, 8), 255, np.uint8), poses=poses[:2], joints=names)
            w.append(np.full((2, 8, 8), 255, np.uint8))
    assert not (tmp_path / "half").exists()
    # poses.bin cut short: one line naming the file
    (tmp_path / "s" / "poses.bin").write_bytes(b"\0" * 12)
    with pytest.raises(UserError, match="poses.bin has 12 bytes"):
        FrameStore.open(tmp_path / "s")
